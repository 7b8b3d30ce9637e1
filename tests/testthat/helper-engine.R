# A tiny training problem for checking the engine's gradients against finite
# differences: every mechanism and intervention, a few cells per context.
# Larger `n_per` and `hidden` reach the register-tiled cell loops (whole
# tiles of 8 or 16 cells of a context, 4 hidden units).
engine_problem <- function(mechanism, intervention, graph_gradient = "relaxed",
                           d = 4L, n_mc = 3L, seed = 11, n_per = c(6L, 5L, 7L, 9L),
                           hidden = 2L, acyclicity = "penalty", mc_estimator = "marginal",
                           target_sparsity = "probability") {
  withr::local_seed(seed)
  contexts <- c("a", "b", "c", "obs")
  context <- rep(contexts, n_per)
  x <- matrix(stats::rnorm(length(context) * d, sd = 0.8), ncol = d)
  if (mechanism == "zilognormal") {
    x <- exp(x)
    x[stats::runif(length(x)) < 0.3] <- 0
  }
  colnames(x) <- paste0("g", seq_len(d))
  features <- matrix(stats::rnorm(6), 3, 2, dimnames = list(contexts[1:3], c("f1", "f2")))
  control <- gim_control(n_mc = n_mc, mechanism_hidden = hidden, gim_hidden = 3L, holdout = 1,
                         beta_M = 1.3, beta_I = 0.7, tau = 1.5, psi_sd = 0.2,
                         lambda_init = 0.4, mu_init = 0.3, graph_gradient = graph_gradient,
                         # alpha = 1 keeps the relaxed graphs far from 0/1, where power
                         # iteration converges and the NO-BEARS gradient is exact.
                         alpha = 1, alpha_start = NULL, acyclicity = acyclicity,
                         mc_estimator = mc_estimator, target_sparsity = target_sparsity,
                         n_threads = 1L)
  design <- training_design(x, context, features, control)
  settings <- engine_settings(control, mechanism, intervention, d, ncol(features))
  blocks <- engine_blocks(mechanism, intervention, d, settings$k, settings$H, settings$sizes,
                          acyclicity)
  par <- init_parameters(blocks, design$train$x, mechanism, colnames(x))
  # Move off the initial values so that no gradient is trivially zero.
  par <- par + stats::rnorm(length(par), sd = 0.3)
  list(data = design$train, design = design, settings = settings, blocks = blocks, par = par)
}

engine_eval <- function(pr, par = pr$par, override = NULL, settings = pr$settings,
                        seed = 123, step = 7L) {
  .Call(pg_gim_objective, pr$data, par, settings, seed, as.integer(step), override, TRUE)
}

# Which entries of the flat vector belong to which top-level block.
engine_block_index <- function(pr) {
  len <- vapply(pr$blocks, function(b) prod(b$dim), numeric(1))
  top <- vapply(pr$blocks, function(b) b$path[1], character(1))
  split(seq_len(sum(len)), rep(top, len))
}

central_difference <- function(f, par, idx, h = 1e-6) {
  vapply(idx, function(e) {
    up <- par; up[e] <- up[e] + h
    dn <- par; dn[e] <- dn[e] - h
    (f(up) - f(dn)) / (2 * h)
  }, numeric(1))
}

expect_gradient_close <- function(analytic, numeric, tol = 1e-5) {
  scale <- pmax(1, abs(numeric))
  expect_lt(max(abs(analytic - numeric) / scale), tol)
}

# The relaxed estimator's gradients against central differences: Z and phi
# (`relaxed_blocks`) through the relaxed objective, theta through the same
# objective with the discrete graphs, as the engine differentiates them.
expect_relaxed_gradients <- function(pr, relaxed_blocks = c("graph_latent", "phi")) {
  at <- engine_eval(pr)
  expect_identical(at$status, "")
  idx <- engine_block_index(pr)
  spread <- function(e, n) e[unique(round(seq(1, length(e), length.out = min(length(e), n))))]
  j_relaxed <- function(p) engine_eval(pr, p)$objective
  for (block in relaxed_blocks) {
    e <- spread(idx[[block]], 25)
    expect_gradient_close(at$gradient[e], central_difference(j_relaxed, pr$par, e))
  }
  j_hard <- function(p) {
    o <- engine_eval(pr, p)
    o$objective - o$loglik_relaxed + o$loglik
  }
  e <- spread(idx[["theta"]], 30)
  expect_gradient_close(at$gradient[e], central_difference(j_hard, pr$par, e))
}

# The straight-through estimator's gradients with respect to theta and phi
# (at fixed discrete graphs, where the objective is smooth in them) against
# central differences.
expect_straight_through_gradients <- function(pr) {
  at <- engine_eval(pr)
  idx <- engine_block_index(pr)
  j <- function(p) engine_eval(pr, p)$objective
  for (block in c("theta", "phi")) {
    e <- idx[[block]]
    e <- e[unique(round(seq(1, length(e), length.out = min(length(e), 30))))]
    expect_gradient_close(at$gradient[e], central_difference(j, pr$par, e))
  }
}
