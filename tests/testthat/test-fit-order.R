# acyclicity = "order": node potentials make every graph sample, and the
# point estimate, follow one order of the genes.

test_that("gradients with node potentials match finite differences", {
  for (mech in c("linear", "mlp")) {
    for (prior in c(1, 2)) {
      pr <- engine_problem(mech, "hard", "relaxed", acyclicity = "order")
      pr$settings$weight_prior <- prior
      idx <- engine_block_index(pr)
      expect_length(idx$graph_latent, 2 * 4 * 4 + 4)
      expect_relaxed_gradients(pr)
    }
  }
  pr <- engine_problem("mlp", "shift", "relaxed", acyclicity = "order")
  expect_relaxed_gradients(pr)
})

test_that("straight-through gradients with node potentials match finite differences", {
  pr <- engine_problem("linear", "hard", "straight_through", acyclicity = "order")
  expect_straight_through_gradients(pr)
})

test_that("the point estimate keeps only the edges that follow the potentials", {
  pr <- engine_problem("linear", "hard", "straight_through", acyclicity = "order")
  d <- pr$settings$d
  k <- pr$settings$k
  pen <- engine_problem("linear", "hard", "straight_through")
  # u . v > 0 exactly on the upper triangle: G* is the DAG 1 -> 2 -> ... -> d
  # with all shortcuts.
  u <- diag(d)
  v <- matrix(-1, d, d)
  v[upper.tri(v)] <- 1
  v <- t(v)
  set_latent <- function(par, u, v, order = NULL) {
    par[seq_len(d * k)] <- u
    par[d * k + seq_len(d * k)] <- v
    if (!is.null(order)) par[2 * d * k + seq_len(d)] <- order
    par
  }
  rest <- pen$par[-seq_len(2 * d * k)]
  forward <- c(set_latent(pen$par, u, v)[seq_len(2 * d * k)], seq_len(d), rest)
  backward <- c(set_latent(pen$par, u, v)[seq_len(2 * d * k)], rev(seq_len(d)), rest)
  point <- function(settings, par) .Call(pg_gim_point_loglik, pr$data, par, settings)
  # Potentials in the graph's order change nothing; reversed, they remove
  # every edge, as does a graph with no positive score.
  expect_identical(point(pr$settings, forward), point(pen$settings, set_latent(pen$par, u, v)))
  expect_identical(point(pr$settings, backward),
                   point(pen$settings, set_latent(pen$par, u, -abs(v))))
  expect_identical(point_graph(forward, pr$blocks) * 1, (upper.tri(diag(d))) * 1)
  expect_identical(sum(point_graph(backward, pr$blocks)), 0L)
})

test_that("a fit with node potentials is acyclic at every check and reproducible", {
  set.seed(1)
  bench <- simulate_gim_benchmark(d = 6, n_perturbations = 6, n_test_perturbations = 0,
                                  n_cells = 30, n_observational = 200, n_components = 3)
  tr <- bench$train
  control <- gim_control(steps = 300, n_mc = 8, gim_hidden = 10, acyclicity = "order",
                         check_every = 50, n_threads = 1)
  fit_once <- function(threads) {
    set.seed(2)
    control$n_threads <- threads
    gim_fit(tr$x, tr$context, tr$features, mechanism = "linear", control = control,
            verbose = FALSE)
  }
  fit <- fit_once(1L)
  expect_false(any(fit$trace$cyclic))
  expect_length(fit$graph_latent$order, 6)
  expect_named(fit$graph_latent$order, colnames(tr$x))
  lat <- fit$graph_latent
  gap <- outer(-lat$order, lat$order, `+`)
  prob <- stats::plogis(fit$alpha * lat$u %*% t(lat$v)) * stats::plogis(fit$alpha * gap)
  diag(prob) <- 0
  expect_equal(unname(edge_probabilities(fit)), unname(prob))
  g <- expect_silent(causal_graph(fit))
  expect_true(is_dag(g))
  expect_true(all(gap[g == 1L] > 0))
  # print() does not report the relaxed samples' c(G), which is not zero.
  expect_gt(fit$trace$acyclicity[nrow(fit$trace)], 0)
  expect_output(print(fit), "acyclic by construction", fixed = TRUE)
  expect_no_match(paste(utils::capture.output(print(fit)), collapse = "\n"), "c(G)",
                  fixed = TRUE)
  expect_identical(fit_once(2L)$graph_latent, fit$graph_latent)
  back <- unserialize(serialize(fit, NULL))
  expect_identical(edge_probabilities(back), edge_probabilities(fit))
})

test_that("the node potentials have their own prior variance", {
  pr <- engine_problem("linear", "hard", "relaxed", acyclicity = "order")
  p <- pr$par[engine_block_index(pr)$graph_latent][2 * 4 * 4 + 1:4]
  base <- engine_eval(pr)$log_prior
  pr$settings$var_order <- 2
  expect_equal(engine_eval(pr)$log_prior - base,
               sum(p^2) / (2 * pr$settings$var_z) - sum(p^2) / (2 * 2), tolerance = 1e-10)
  expect_relaxed_gradients(pr, "graph_latent")
  expect_identical(engine_settings(gim_control(prior_var_order = 3), "mlp", "hard", 5, 2)$var_order, 3)
  expect_identical(engine_settings(gim_control(), "mlp", "hard", 5, 2)$var_order, 1 / 5)
})

test_that("order_warmup holds the potentials at 0, then lets them learn, resumably", {
  set.seed(1)
  bench <- simulate_gim_benchmark(d = 5, n_perturbations = 4, n_test_perturbations = 0,
                                  n_cells = 20, n_observational = 100, n_components = 2)
  tr <- bench$train
  control <- gim_control(steps = 200, n_mc = 4, gim_hidden = 8, order_warmup = 0.5,
                         check_every = 50, n_threads = 1)
  expect_identical(engine_settings(control, "linear", "hard", 5, 2)$order_warmup, 100)
  # The default: 30% of the annealing, all 10,000 steps.
  expect_identical(engine_settings(gim_control(), "linear", "hard", 5, 2)$order_warmup, 3000)
  expect_identical(engine_settings(gim_control(order_warmup = 0), "linear", "hard", 5, 2)$order_warmup, 0)
  # Fits made before the option have no order_warmup in their control: none.
  old <- control
  old$order_warmup <- NULL
  expect_identical(engine_settings(old, "linear", "hard", 5, 2)$order_warmup, 0)
  fit_with <- function(control, init = NULL) {
    set.seed(3)
    gim_fit(tr$x, tr$context, tr$features, mechanism = "linear", control = control,
            init = init, verbose = FALSE)
  }
  whole <- fit_with(control)
  expect_true(any(whole$graph_latent$order != 0))
  # Interrupted at step 100, the end of the warm-up: the potentials have not
  # moved, the rest of the model has.
  local({
    local_interrupt_at_chunk(3L)
    expect_warning(part <<- fit_with(control), class = "perturbgim_interrupted")
  })
  expect_identical(part$state$step, 100L)
  expect_true(all(part$graph_latent$order == 0))
  expect_gt(diff(range(part$trace$log_likelihood)), 0)
  expect_identical(fit_with(control, part)$graph_latent, whole$graph_latent)
  expect_snapshot(gim_control(order_warmup = 1), error = TRUE)
})
