# mc_estimator = "expected": the likelihood term is the mean of the Monte
# Carlo samples' log-likelihoods instead of the log of their mean likelihood.

expected_problem <- function(mech, intv, gradient, ...) {
  pr <- engine_problem(mech, intv, gradient, ...)
  pr$settings$mc_estimator <- engine_code("mc_estimator", "expected") + 0
  pr
}

test_that("gradients of the expected estimator match finite differences", {
  for (mech in c("linear", "mlp", "zilognormal")) {
    for (intv in c("hard", "shift")) {
      expect_relaxed_gradients(expected_problem(mech, intv, "relaxed"))
      expect_straight_through_gradients(expected_problem(mech, intv, "straight_through"))
    }
  }
  expect_relaxed_gradients(expected_problem("mlp", "hard", "relaxed", acyclicity = "order"))
})

test_that("the expected estimator is the mean of the samples' log-likelihoods", {
  # One sample: both estimators are its log-likelihood, to the bit. (The
  # expected estimator's backward pass also does the forward pass's work,
  # so this compares the two code paths of the likelihood.)
  for (mech in c("linear", "mlp", "zilognormal")) {
    for (intv in c("hard", "shift")) {
      for (gradient in c("relaxed", "straight_through")) {
        one <- engine_problem(mech, intv, gradient, n_mc = 1L)
        marginal <- engine_eval(one)
        one$settings$mc_estimator <- 2
        expect_identical(engine_eval(one)[c("loglik", "gradient")],
                         marginal[c("loglik", "gradient")])
      }
    }
  }
  # Several samples: every one weighs 1 / M, and the mean of the
  # log-likelihoods lies below the log of the mean likelihood (Jensen).
  pr <- engine_problem("mlp", "hard", "relaxed", n_mc = 5L)
  marginal <- engine_eval(pr)
  pr$settings$mc_estimator <- 2
  expected <- engine_eval(pr)
  expect_equal(expected$ess, 5)
  expect_lt(expected$loglik, marginal$loglik)
})

test_that("an expected-estimator fit is reproducible and scores held-out cells as before", {
  set.seed(1)
  bench <- simulate_gim_benchmark(d = 5, n_perturbations = 5, n_test_perturbations = 0,
                                  n_cells = 25, n_observational = 150, n_components = 3)
  tr <- bench$train
  control <- gim_control(steps = 200, n_mc = 6, gim_hidden = 8, mc_estimator = "expected",
                         acyclicity = "order", check_every = 50, n_threads = 1)
  fit_once <- function(threads) {
    set.seed(3)
    control$n_threads <- threads
    gim_fit(tr$x, tr$context, tr$features, mechanism = "mlp", control = control,
            verbose = FALSE)
  }
  fit <- fit_once(1L)
  expect_equal(fit$trace$ess, rep(6, nrow(fit$trace)))
  expect_identical(fit_once(2L)$state$par, fit$state$par)
  expect_identical(engine_settings(fit$control, "mlp", "hard", 5, 2)$mc_estimator, 2)
  # The held-out score is the marginal estimate whichever estimator trains.
  held <- fit$state$heldout_cells
  design <- training_design(tr$x, tr$context, tr$features, control)
  settings <- engine_settings(control, "mlp", "hard", 5, ncol(tr$features))
  last <- fit$trace[nrow(fit$trace), ]
  score <- function(est) {
    settings$mc_estimator <- est
    heldout_loglik(design$heldout, fit$state$par, settings, last, 9)
  }
  expect_identical(score(1), score(2))
})

test_that("gim_control() checks mc_estimator", {
  expect_identical(gim_control()$mc_estimator, "expected")
  expect_snapshot(error = TRUE, gim_control(mc_estimator = "mean"))
})
