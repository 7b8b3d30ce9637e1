# Polishing (gim_control(polish_steps)): Adam on the mechanisms and noise
# scales alone at the point estimate, after training.

polish_eval <- function(pr, par = pr$par, steps = 1L, settings = pr$settings) {
  zero <- numeric(length(par))
  .Call(pg_gim_polish, pr$data, par, list(m = zero, v = zero), settings, 0L, as.integer(steps))
}

test_that("the polishing gradient matches finite differences of its objective", {
  for (mech in c("linear", "mlp", "zilognormal")) {
    for (intv in c("hard", "shift")) {
      for (prior in c("all", "masked")) {
        pr <- engine_problem(mech, intv, "straight_through", acyclicity = "order",
                             mc_estimator = "expected")
        pr$settings$weight_prior <- engine_code("weight_prior", prior) + 0
        at <- polish_eval(pr)
        expect_identical(at$status, "")
        idx <- engine_block_index(pr)
        f <- function(p) polish_eval(pr, p)$objective[1]
        e <- idx[["theta"]]
        expect_gradient_close(at$gradient[e], central_difference(f, pr$par, e))
        # Nothing outside the mechanism block moves.
        expect_true(all(at$gradient[-e] == 0))
        moved <- polish_eval(pr, steps = 5L)$par != pr$par
        expect_false(any(moved[-e]))
        expect_true(any(moved[e]))
      }
    }
  }
})

test_that("polishing at the point estimate is the point log-likelihood plus the priors", {
  pr <- engine_problem("mlp", "hard", "straight_through", acyclicity = "order",
                       mc_estimator = "expected")
  at <- polish_eval(pr)
  th <- engine_block_index(pr)[["theta"]]
  d <- pr$settings$d
  log_sd <- th[seq(length(th) - d + 1L, length(th))]
  ll <- .Call(pg_gim_point_loglik, pr$data, pr$par, pr$settings) * nrow(pr$data$x)
  prior <- -sum(pr$par[setdiff(th, log_sd)]^2) / (2 * pr$settings$var_theta) -
    sum(pr$par[log_sd]^2) / (2 * pr$settings$var_sigma)
  expect_equal(at$objective[1], ll + prior, tolerance = 1e-10)
})

test_that("polishing raises the objective and the fit records it", {
  set.seed(1)
  bench <- simulate_gim_benchmark(d = 5, n_perturbations = 5, n_test_perturbations = 0,
                                  n_cells = 25, n_observational = 150, n_components = 3)
  tr <- bench$train
  fit_with <- function(polish_steps, threads = 1L) {
    set.seed(3)
    gim_fit(tr$x, tr$context, tr$features, mechanism = "mlp", intervention = "hard",
            control = gim_control(steps = 300, n_mc = 4, gim_hidden = 8,
                                  polish_steps = polish_steps, n_threads = threads),
            verbose = FALSE)
  }
  plain <- fit_with(0L)
  polished <- fit_with(400L)
  expect_null(plain$state$polish)
  expect_identical(polished$state$polish$steps, 400L)
  obj <- polished$state$polish$objective
  expect_length(obj, 400L)
  expect_gt(obj[400], obj[1])
  # Training is the same; only the mechanism block differs afterwards.
  untimed <- function(tr) tr[setdiff(names(tr), "seconds")]
  expect_identical(untimed(polished$trace), untimed(plain$trace))
  expect_identical(polished$graph_latent, plain$graph_latent)
  expect_identical(polished$phi, plain$phi)
  expect_false(identical(polished$theta, plain$theta))
  expect_gt(polished$log_likelihood, plain$log_likelihood)
  expect_identical(unname(polished$state$polish$heldout["before"]),
                   plain$trace$heldout[nrow(plain$trace)])
  expect_output(print(polished), "polished 400 steps")
  # Reproducible, whatever the thread count.
  expect_identical(fit_with(400L, threads = 2L)$state$par, polished$state$par)
  expect_identical(gim_control()$polish_steps, 5000L)
  expect_snapshot(error = TRUE, gim_control(polish_steps = -1))
})
