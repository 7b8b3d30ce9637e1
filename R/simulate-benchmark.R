# The synthetic benchmark of Schneider et al. (2025), appendix D.1 and SPEC
# section 5: a random SCM, perturbations with Hill-function dose responses,
# three splits (training, partly and fully out of distribution) and PCA
# features of the true interventions.

#' Simulate the synthetic perturbation benchmark of the GIM paper
#'
#' Draws a random structural causal model and perturbations with Hill-function
#' dose responses, and samples a training set and two out-of-distribution test
#' sets, as in Schneider et al. (2025, section 5.1 and appendix D.1). The
#' ground truth (graph, mechanisms, targets, intervention parameters) comes
#' along for evaluation.
#'
#' @details
#' **Graph.** `"er"`: Erdős–Rényi DAG; every pair of variables is joined with
#' probability `expected_edges / choose(d, 2)` and the edge points along a
#' random order of the variables. `"sf"`: scale-free (Barabási–Albert) graph
#' grown node by node, each new node attaching to `m`, `expected_edges / d`
#' rounded, existing nodes with probability proportional to their degree; every
#' edge then points along a random order of the variables, independent of the
#' growth order (so hubs can be causes, effects or both), and the variables
#' are relabelled at random. It has `m (d - m) + m (m - 1) / 2` edges (37 for
#' `d = 20`, `m = 2`).
#'
#' **Mechanisms.** [scm()] with parameters drawn as in the paper: linear
#' weights uniform on \eqn{[-3, -0.25] \cup [0.25, 3]}, or MLPs with one hidden
#' layer of 5 tanh units and standard normal weights; noise variance
#' `noise_var`. Variables are named `x1`, ..., `xd`.
#'
#' **Perturbations.** Each perturbation targets a set of one or two variables,
#' drawn uniformly from all such sets (as in the paper, so most have two
#' targets). The `n_perturbations + n_test_perturbations` sets are drawn
#' without replacement, so no two perturbations share their targets and the
#' fully out-of-distribution perturbations are new. Each target `j` has its
#' own Hill function \eqn{h_j(c) = \lambda_j / (1 + (0.75 / c)^4)} with
#' \eqn{\lambda_j} uniform on \eqn{[-6, -2] \cup [2, 6]}. At dosage `c`, a
#' hard intervention sets \eqn{x_j \sim N(h_j(c), \mathrm{intervention\_var})}
#' (`psi$mean = h_j(c)`, `psi$log_sd = log(intervention_var) / 2`); a shift
#' intervention adds \eqn{h_j(c)} to the value of \eqn{x_j}.
#'
#' **Splits.** `train`: `n_observational` observational cells (context
#' `"observational"`) and `n_cells` cells for each of the first
#' `n_perturbations` perturbations at each of `dosages`. `test_partly_ood`:
#' the same perturbations at `test_dosages` (new dosages). `test_fully_ood`:
#' `n_test_perturbations` new perturbations at `dosages`. A context is
#' labelled by perturbation and dosage, e.g. `"P07_c1.5"`.
#'
#' **Features.** For every perturbed context, the vector `(I, psi)` of its
#' targets (0/1) and Hill values (0 off the targets) is standardised with the
#' mean and the population standard deviation over the training contexts
#' (columns constant over training are only centred), and projected on its
#' first `n_components` principal components over the training contexts
#' (SVD; each component's sign is fixed so that its largest loading is
#' positive). Test contexts use the training transform, which is stored in
#' `truth$feature_transform`: `features = ((z - center) / scale) %*% rotation`.
#'
#' Everything is drawn from R's generator, so `set.seed()` reproduces the
#' benchmark exactly.
#'
#' @param graph `"er"` (Erdős–Rényi) or `"sf"` (scale-free) random DAGs.
#' @param mechanism `"linear"` or `"mlp"` mechanisms (see [scm()]).
#' @param intervention `"hard"` or `"shift"` interventions.
#' @param d Number of variables.
#' @param n_perturbations Number of training perturbations (paper: 40).
#' @param n_test_perturbations Number of new perturbations in the fully
#'   out-of-distribution test set (paper: 20); may be 0.
#' @param dosages Training dosages, positive (paper: 0.5, 1, 1.5, 2).
#' @param test_dosages Dosages of the partly out-of-distribution test set,
#'   positive and different from `dosages`.
#' @param n_cells Cells per perturbed context (paper: 50).
#' @param n_observational Observational cells in the training set (paper: 800).
#' @param expected_edges Expected number of edges of the graph (paper: `2 d`).
#' @param n_components Number of principal components kept as features
#'   (paper: 15).
#' @param noise_var Noise variance of every mechanism (paper: 0.1).
#' @param intervention_var Variance of a hard-intervened variable (paper: 0.5).
#' @param ... Passed to [scm()], e.g. `n_hidden`.
#' @return An object of class `perturbgim_benchmark`, a list with
#' * `train`, `test_partly_ood`, `test_fully_ood`: each a list with `x` (cells
#'   x `d` matrix), `context` (label of each cell) and `features` (one row per
#'   perturbed context, rownames the context labels, columns `PC1`, ...);
#' * `truth`: `scm` (the [scm()]), `targets` (0/1 matrix, one row per context
#'   of every split, the observational context included), `psi` (for hard
#'   interventions a list of matrices `mean` and `log_sd`, for shift a matrix,
#'   rows as in `targets`; ready for [sample_scm()]), `dosage`, `perturbation`
#'   and `split` (named by context), `hill` (one row per perturbation and
#'   target: `perturbation`, `target`, `lambda`, `split`) and
#'   `feature_transform` (`center`, `scale`, `rotation`, `sdev`);
#' * `settings`: the arguments used.
#' @references Schneider, N., Lorch, L., Kilbertus, N., Schölkopf, B. and
#'   Krause, A. (2025). Generative intervention models for causal perturbation
#'   modeling. *ICML*. \doi{10.48550/arXiv.2503.19149}
#'
#'   Barabási, A.-L. and Albert, R. (1999). Emergence of scaling in random
#'   networks. *Science* 286(5439), 509–512.
#' @family simulation
#' @examples
#' set.seed(1)
#' bench <- simulate_gim_benchmark(d = 6, n_perturbations = 8,
#'                                 n_test_perturbations = 3, n_cells = 20,
#'                                 n_observational = 100, n_components = 5)
#' bench
#' dim(bench$train$x)
#' head(bench$train$features)
#' bench$truth$hill[1:4, ]
#' @export
simulate_gim_benchmark <- function(graph = c("er", "sf"),
                                   mechanism = c("linear", "mlp"),
                                   intervention = c("hard", "shift"),
                                   d = 20, n_perturbations = 40,
                                   n_test_perturbations = 20,
                                   dosages = c(0.5, 1, 1.5, 2),
                                   test_dosages = c(0.25, 0.75, 1.25, 1.75, 2.25),
                                   n_cells = 50, n_observational = 800,
                                   expected_edges = 2 * d, n_components = 15,
                                   noise_var = 0.1, intervention_var = 0.5, ...) {
  graph <- arg_match_checked(graph)
  mechanism <- arg_match_checked(mechanism)
  intervention <- arg_match_checked(intervention)
  d <- check_count(d, min = 2L)
  n_perturbations <- check_count(n_perturbations)
  n_test_perturbations <- check_count(n_test_perturbations, min = 0L)
  dosages <- check_dosages(dosages)
  test_dosages <- check_dosages(test_dosages)
  if (any(test_dosages %in% dosages)) {
    cli::cli_abort(c("{.arg test_dosages} must differ from {.arg dosages}.",
                     "x" = "Both contain {.val {intersect(test_dosages, dosages)}}."))
  }
  n_cells <- check_count(n_cells)
  n_observational <- check_count(n_observational, min = 0L)
  expected_edges <- check_positive_number(expected_edges)
  n_components <- check_count(n_components)
  noise_var <- check_positive_number(noise_var)
  intervention_var <- check_positive_number(intervention_var)

  max_edges <- d * (d - 1) / 2
  if (graph == "er" && expected_edges > max_edges) {
    cli::cli_abort(paste("{.arg expected_edges} must be at most {max_edges}",
                         "(all pairs of {d} variables), not {expected_edges}."))
  }
  m_attach <- floor(expected_edges / d + 0.5)
  if (graph == "sf" && (m_attach < 1 || m_attach >= d)) {
    cli::cli_abort(paste("{.arg expected_edges} must be at least {d / 2} and",
                         "below {(d - 0.5) * d} for scale-free graphs on {d}",
                         "variables (1 to {d - 1} edges per new node), not",
                         "{expected_edges}."))
  }
  n_sets <- d + d * (d - 1) / 2
  n_total <- n_perturbations + n_test_perturbations
  if (n_total > n_sets) {
    cli::cli_abort(c(
      "Too many perturbations for {d} variables.",
      "x" = paste("{n_total} perturbations need distinct target sets, but only",
                  "{n_sets} sets of one or two variables exist.")
    ))
  }
  n_train_contexts <- n_perturbations * length(dosages)
  max_components <- min(n_train_contexts, 2L * d)
  if (n_components > max_components) {
    cli::cli_abort(paste("{.arg n_components} must be at most {max_components}",
                         "(training contexts and feature columns), not",
                         "{n_components}."))
  }
  n_all_cells <- n_observational + n_cells *
    (n_train_contexts + n_perturbations * length(test_dosages) +
       n_test_perturbations * length(dosages))
  if (n_all_cells > .Machine$integer.max) {
    cli::cli_abort("The benchmark would have {n_all_cells} cells, more than fit in one matrix.")
  }

  # Ground-truth model.
  nodes <- paste0("x", seq_len(d))
  g <- if (graph == "er") random_er_dag(d, expected_edges / max_edges) else
    random_sf_dag(d, m_attach)
  dimnames(g) <- list(nodes, nodes)
  model <- scm(g, mechanism, noise_var = noise_var, ...)

  # Perturbations: distinct target sets of one or two variables, a Hill
  # amplitude per target.
  pert_labels <- paste0("P", formatC(seq_len(n_total), width = nchar(n_total),
                                     flag = "0"))
  sets <- draw_target_sets(d, n_total)
  n_targets <- lengths(sets)
  hill <- data.frame(
    perturbation = rep(pert_labels, n_targets),
    target = nodes[unlist(sets)],
    lambda = sample(c(-1, 1), sum(n_targets), replace = TRUE) *
      stats::runif(sum(n_targets), 2, 6),
    split = rep(ifelse(seq_len(n_total) <= n_perturbations, "train",
                       "test_fully_ood"), n_targets),
    stringsAsFactors = FALSE
  )

  # Contexts of every split, in the order their cells are stacked.
  train_p <- seq_len(n_perturbations)
  test_p <- n_perturbations + seq_len(n_test_perturbations)
  grid <- function(p, doses, split) {
    data.frame(perturbation = rep(pert_labels[p], each = length(doses)),
               dosage = rep(doses, times = length(p)),
               split = rep(split, length(p) * length(doses)),
               stringsAsFactors = FALSE)
  }
  ctx <- rbind(
    data.frame(perturbation = NA_character_, dosage = NA_real_, split = "train",
               stringsAsFactors = FALSE),
    grid(train_p, dosages, "train"),
    grid(train_p, test_dosages, "test_partly_ood"),
    grid(test_p, dosages, "test_fully_ood")
  )
  labels <- ifelse(is.na(ctx$perturbation), "observational",
                   paste0(ctx$perturbation, "_c", as.character(ctx$dosage)))
  K <- nrow(ctx)
  targets <- matrix(0L, K, d, dimnames = list(labels, nodes))
  hill_value <- matrix(0, K, d, dimnames = list(labels, nodes))
  perturbed <- which(!is.na(ctx$perturbation))
  for (k in perturbed) {
    rows <- hill$perturbation == ctx$perturbation[k]
    j <- match(hill$target[rows], nodes)
    targets[k, j] <- 1L
    hill_value[k, j] <- hill_function(hill$lambda[rows], ctx$dosage[k])
  }
  psi <- if (intervention == "hard") {
    list(mean = hill_value,
         log_sd = targets * (log(intervention_var) / 2))
  } else {
    hill_value
  }

  # Cells of every context in one pass of the sampler.
  n <- ifelse(is.na(ctx$perturbation), n_observational, n_cells)
  x <- sample_scm(model, n, targets = targets, psi = psi,
                  intervention = intervention)
  attr(x, "context") <- NULL
  cell_split <- rep(ctx$split, n)
  cell_context <- rep(labels, n)

  # Features: standardised (I, psi) projected on training principal components.
  z <- cbind(targets, hill_value)
  colnames(z) <- c(paste0("I_", nodes), paste0("psi_", nodes))
  train_rows <- perturbed[ctx$split[perturbed] == "train"]
  transform <- fit_feature_transform(z[train_rows, , drop = FALSE], n_components)
  features <- apply_feature_transform(transform, z[perturbed, , drop = FALSE])

  make_split <- function(split) {
    keep <- cell_split == split
    list(x = x[keep, , drop = FALSE],
         context = cell_context[keep],
         features = features[ctx$split[perturbed] == split, , drop = FALSE])
  }
  structure(list(
    train = make_split("train"),
    test_partly_ood = make_split("test_partly_ood"),
    test_fully_ood = make_split("test_fully_ood"),
    truth = list(
      scm = model,
      targets = targets,
      psi = psi,
      dosage = stats::setNames(ctx$dosage, labels),
      perturbation = stats::setNames(ctx$perturbation, labels),
      split = stats::setNames(ctx$split, labels),
      hill = hill,
      feature_transform = transform
    ),
    settings = list(graph = graph, mechanism = mechanism,
                    intervention = intervention, d = d,
                    n_perturbations = n_perturbations,
                    n_test_perturbations = n_test_perturbations,
                    dosages = dosages, test_dosages = test_dosages,
                    n_cells = n_cells, n_observational = n_observational,
                    expected_edges = expected_edges,
                    n_components = n_components, noise_var = noise_var,
                    intervention_var = intervention_var)
  ), class = "perturbgim_benchmark")
}

hill_function <- function(lambda, dosage) lambda / (1 + (0.75 / dosage)^4)

check_dosages <- function(x, arg = rlang::caller_arg(x),
                          call = rlang::caller_env()) {
  if (!is.numeric(x) || length(x) < 1L || anyNA(x) || any(!is.finite(x)) ||
      any(x <= 0)) {
    cli::cli_abort("{.arg {arg}} must be a vector of positive numbers.",
                   call = call)
  }
  if (anyDuplicated(x)) {
    cli::cli_abort("{.arg {arg}} must not repeat a dosage.", call = call)
  }
  as.double(x)
}

# Erdős–Rényi DAG: each pair an edge with probability p, oriented along a
# random order of the nodes.
random_er_dag <- function(d, p) {
  upper <- matrix(0L, d, d)
  ut <- upper.tri(upper)
  upper[ut] <- as.integer(stats::runif(sum(ut)) < p)
  perm <- sample.int(d)
  g <- matrix(0L, d, d)
  g[perm, perm] <- upper
  g
}

# Barabási–Albert growth (attachment proportional to degree), then random
# labels and edges oriented along an independent random order.
random_sf_dag <- function(d, m) {
  und <- matrix(0L, d, d)
  deg <- numeric(d)
  for (t in 2:d) {
    old <- seq_len(t - 1L)
    k <- min(m, t - 1L)
    chosen <- if (k == t - 1L) old else sample(old, k, prob = deg[old])
    und[t, chosen] <- 1L
    und[chosen, t] <- 1L
    deg[chosen] <- deg[chosen] + 1
    deg[t] <- k
  }
  lab <- sample.int(d)
  relabelled <- matrix(0L, d, d)
  relabelled[lab, lab] <- und
  pos <- sample.int(d)
  relabelled * (outer(pos, pos, "<") + 0L)
}

# n distinct target sets, uniform over all sets of one or two of d variables.
draw_target_sets <- function(d, n) {
  pairs <- which(upper.tri(matrix(FALSE, d, d)), arr.ind = TRUE)
  idx <- sample.int(d + nrow(pairs), n)
  lapply(idx, function(i) {
    if (i <= d) i else sort(unname(pairs[i - d, ]))
  })
}

fit_feature_transform <- function(z, n_components) {
  center <- colMeans(z)
  centred <- sweep(z, 2L, center)
  scale <- sqrt(colMeans(centred^2))
  # Columns constant over training (variables never targeted) carry no
  # information; dividing by 1 keeps them at 0 instead of NaN.
  scale[scale < 1e-12 * max(1, abs(center))] <- 1
  s <- sweep(centred, 2L, scale, "/")
  sv <- svd(s, nu = 0L, nv = n_components)
  rotation <- sv$v
  flip <- apply(rotation, 2L, function(v) sign(v[which.max(abs(v))]))
  rotation <- sweep(rotation, 2L, flip, "*")
  dimnames(rotation) <- list(colnames(z), paste0("PC", seq_len(n_components)))
  list(center = center, scale = scale, rotation = rotation,
       sdev = sv$d[seq_len(n_components)] / sqrt(max(1, nrow(z) - 1)))
}

apply_feature_transform <- function(transform, z) {
  s <- sweep(sweep(z, 2L, transform$center), 2L, transform$scale, "/")
  s %*% transform$rotation
}

#' @export
print.perturbgim_benchmark <- function(x, ...) {
  s <- x$settings
  g <- x$truth$scm$graph
  cat(sprintf("<perturbgim_benchmark> %s SCM on an %s graph: %d variables, %d edges; %s interventions\n",
              s$mechanism, toupper(s$graph), nrow(g), sum(g), s$intervention))
  describe <- function(split, what) {
    n_ctx <- nrow(split$features)
    n_obs <- sum(split$context == "observational")
    cat(sprintf("  %-16s %6d cells, %d perturbed contexts%s (%s)\n",
                paste0(what, ":"), nrow(split$x), n_ctx,
                if (n_obs > 0) sprintf(" + %d observational cells", n_obs) else "",
                switch(what, train = "training dosages",
                       test_partly_ood = "same perturbations, new dosages",
                       test_fully_ood = "new perturbations, training dosages")))
  }
  describe(x$train, "train")
  describe(x$test_partly_ood, "test_partly_ood")
  describe(x$test_fully_ood, "test_fully_ood")
  cat(sprintf("  features: %d principal components of standardised (I, psi)\n",
              s$n_components))
  invisible(x)
}
