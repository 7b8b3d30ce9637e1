# TEST FIXTURE BUILDER (not package code): a small, valid `gim` object made
# by hand, with random parameters in exactly the layout that gim_fit()
# returns (see the fit object contract), so that the tests of the methods,
# graph estimates and prediction do not need a real fit.

# The point-estimate graph of the fixture: g1 -> g2 -> g3 -> ... plus
# g1 -> g3 (when d >= 3).
test_gim_graph <- function(d) {
  nodes <- paste0("g", seq_len(d))
  g <- matrix(0L, d, d, dimnames = list(nodes, nodes))
  for (i in seq_len(d - 1L)) g[i, i + 1L] <- 1L
  if (d >= 3L) g[1L, 3L] <- 1L
  g
}

# Latent graph factors whose scores u v^T are exactly `scores` (v = I), so a
# test chooses the point estimate 1[u v^T > 0] and the edge probabilities.
latent_from_scores <- function(scores) {
  d <- nrow(scores)
  v <- diag(d)
  dimnames(v) <- list(rownames(scores), NULL)
  u <- unname(scores)
  rownames(u) <- rownames(scores)
  list(u = u, v = v)
}

# Edge scores with |score| in [0.5, 2]: positive on the edges of `graph`,
# negative elsewhere (diagonal included; it is ignored).
scores_for_graph <- function(graph) {
  d <- nrow(graph)
  s <- matrix(stats::runif(d * d, 0.5, 2), d, d)
  s <- ifelse(graph == 1L, s, -s)
  dimnames(s) <- dimnames(graph)
  s
}

# A tanh MLP in the fit's layout: list of layers list(weight = in x out,
# bias = out); the output layer is linear.
random_mlp <- function(sizes, scale = 0.7, out_bias = 0) {
  n <- length(sizes) - 1L
  lapply(seq_len(n), function(l) {
    w <- matrix(stats::rnorm(sizes[l] * sizes[l + 1L], sd = scale),
                sizes[l], sizes[l + 1L])
    b <- stats::rnorm(sizes[l + 1L], sd = 0.2)
    if (l == n) b <- b + out_bias
    list(weight = w, bias = b)
  })
}

random_theta <- function(d, mechanism, n_hidden, nodes) {
  H <- n_hidden
  theta <- if (mechanism == "linear") {
    # Entries off the graph are non-zero on purpose: they must be ignored.
    list(weights = matrix(stats::rnorm(d * d), d, d, dimnames = list(nodes, nodes)),
         bias = stats::setNames(stats::rnorm(d), nodes),
         log_sd = stats::setNames(stats::runif(d, -1.5, -0.5), nodes))
  } else {
    list(w1 = array(stats::rnorm(H * d * d), c(H, d, d),
                    dimnames = list(NULL, nodes, nodes)),
         b1 = matrix(stats::rnorm(H * d), H, d, dimnames = list(NULL, nodes)),
         w2 = matrix(stats::rnorm(H * d), H, d, dimnames = list(NULL, nodes)),
         b2 = stats::setNames(stats::rnorm(d), nodes),
         log_sd = stats::setNames(stats::runif(d, -1.5, -0.5), nodes))
  }
  if (mechanism == "zilognormal") {
    theta$zero_logit <- stats::setNames(stats::qlogis(stats::runif(d, 0.1, 0.4)), nodes)
  }
  theta
}

random_phi <- function(p, d, mechanism, intervention, gim_hidden) {
  sizes <- c(p, gim_hidden, d)
  psi <- if (intervention == "shift") {
    list(shift = random_mlp(sizes, out_bias = 2))
  } else {
    c(list(mean = random_mlp(sizes, out_bias = 3),
           log_sd = random_mlp(sizes, scale = 0.1, out_bias = -1)),
      if (mechanism == "zilognormal") {
        list(zero_logit = random_mlp(sizes, scale = 0.1, out_bias = -2))
      })
  }
  list(targets = random_mlp(sizes, scale = 1), psi = psi)
}

# A complete `gim` object. `n_contexts` perturbed training contexts c1, ...
# plus one observational context, 20 cells each.
make_test_gim <- function(d = 4L, p = 3L, mechanism = "mlp",
                          intervention = "hard", n_contexts = 5L,
                          n_hidden = 3L, gim_hidden = c(6L, 6L),
                          graph = test_gim_graph(d), seed = 1L) {
  withr::with_seed(seed, {
    nodes <- rownames(graph)
    feature_names <- paste0("f", seq_len(p))
    contexts <- paste0("c", seq_len(n_contexts))
    features <- matrix(stats::rnorm(n_contexts * p, mean = 1, sd = 2),
                       n_contexts, p, dimnames = list(contexts, feature_names))
    steps <- seq(20L, 200L, by = 20L)
    trace <- data.frame(
      step = steps,
      objective = -2000 + 1500 * (1 - exp(-steps / 50)),
      log_likelihood = -1900 + 1500 * (1 - exp(-steps / 50)),
      acyclicity = 0.5 * exp(-steps / 40),
      heldout = -60 + 40 * (1 - exp(-steps / 60)),
      lambda = 0, mu = 1e-9, alpha = 1 + steps / 200, beta_I = 1
    )
    fit <- list(
      mechanism = mechanism,
      intervention = intervention,
      nodes = nodes,
      feature_names = feature_names,
      graph_latent = latent_from_scores(scores_for_graph(graph)),
      alpha = 2,
      theta = random_theta(d, mechanism, n_hidden, nodes),
      phi = random_phi(p, d, mechanism, intervention, gim_hidden),
      feature_center = unname(colMeans(features)),
      feature_scale = unname(apply(features, 2, stats::sd)),
      features = features,
      contexts = data.frame(context = c("observational", contexts),
                            n_cells = 20L,
                            perturbed = c(FALSE, rep(TRUE, n_contexts))),
      control = structure(list(steps = 200L, n_mc = 8L, n_threads = 1L),
                          class = "gim_control"),
      trace = trace,
      state = list(lambda = 0, mu = 1e-9, step = 200L),
      n_obs = 20L * (n_contexts + 1L),
      log_likelihood = -412.5,
      n_parameters = 123L,
      version = "0.0.0.9000",
      call = quote(gim_fit(x = x, context = context, features = features))
    )
    structure(fit, class = "gim")
  })
}

# Replace the targets net by one whose probabilities are `prob` (one row per
# row of the fixture's training features, or one vector for every row)
# whatever the features: zero weights into the output layer.
set_target_probabilities <- function(fit, prob) {
  net <- fit$phi$targets
  last <- length(net)
  net[[last]]$weight[] <- 0
  net[[last]]$bias <- stats::qlogis(prob)
  fit$phi$targets <- net
  fit
}

# Constant output `value` (a vector of length d) for one psi net.
set_psi_constant <- function(fit, name, value) {
  net <- fit$phi$psi[[name]]
  last <- length(net)
  net[[last]]$weight[] <- 0
  net[[last]]$bias <- value
  fit$phi$psi[[name]] <- net
  fit
}

# Reference forward pass written independently of the package's code.
reference_mlp <- function(net, x) {
  h <- x
  for (l in seq_along(net)) {
    h <- h %*% net[[l]]$weight + matrix(net[[l]]$bias, nrow(h),
                                        length(net[[l]]$bias), byrow = TRUE)
    if (l < length(net)) h <- tanh(h)
  }
  h
}

# A real tiny fit from gim_fit() (5 genes, linear mechanisms, 100 steps) with
# its benchmark, made on first use and then reused for the whole test run.
cached_tiny_fit <- function(seed, n_mc, check_every) {
  cache <- NULL
  function() {
    if (is.null(cache)) {
      cache <<- withr::with_seed(seed, {
        bench <- simulate_gim_benchmark(d = 5, n_perturbations = 4,
                                        n_test_perturbations = 2, n_cells = 20,
                                        n_observational = 100, n_components = 3)
        fit <- gim_fit(bench$train$x, bench$train$context, bench$train$features,
                       mechanism = "linear",
                       control = gim_control(steps = 100, n_mc = n_mc, gim_hidden = 10,
                                             check_every = check_every, n_threads = 1),
                       verbose = FALSE)
        list(bench = bench, fit = fit)
      })
    }
    cache
  }
}

# Shared by the test files. Short runs usually leave cycles in the point
# estimate; quietly_cyclic() silences that warning only.
real_tiny_fit <- cached_tiny_fit(seed = 1, n_mc = 4, check_every = 50)

quietly_cyclic <- function(expr) {
  withCallingHandlers(expr, perturbgim_cyclic_graph = function(w) {
    invokeRestart("muffleWarning")
  })
}
