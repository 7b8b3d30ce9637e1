# The stopping rule (R/fit-stopping.R) and the annealing length.

test_that("early_stop_update() stops after `stop_patience` flat checks with an acyclic graph", {
  control <- gim_control(steps = 5000, anneal_steps = 300, stop_patience = 2,
                         check_every = 100, convergence_tol = 0.01)
  d <- 4
  state <- list(step = 0L)
  run <- function(state, step, heldout, cyclic) {
    state$step <- step
    early_stop_update(state, heldout, cyclic, d, control)
  }
  # Before the annealing ends nothing is tracked.
  s <- run(state, 200L, -10, FALSE)
  expect_false(s$done)
  expect_null(s$best_heldout)
  s <- run(s, 300L, -10, FALSE)
  expect_equal(s$best_step, 300L)
  s <- run(s, 400L, -9.5, FALSE)           # improved by 0.125 per gene > 0.01
  expect_equal(s$best_step, 400L)
  s <- run(s, 500L, -9.47, FALSE)          # 0.0075 per gene: not an improvement
  expect_equal(s$best_step, 400L)
  expect_false(s$done)                     # one flat check of two
  s <- run(s, 600L, -9.6, FALSE)
  expect_true(s$done)                      # flat for two checks
  # A cyclic graph resets the record: counting starts again once acyclic.
  s <- run(s, 700L, -5, TRUE)
  expect_false(s$done)
  expect_null(s$best_heldout)
  s <- run(s, 800L, -9.6, FALSE)
  expect_equal(s$best_step, 800L)
  s <- run(s, 900L, -9.6, FALSE)
  expect_false(s$done)
  expect_true(run(s, 1000L, -9.6, FALSE)$done)
  # Without stop_patience the rule never fires.
  control$stop_patience <- NULL
  expect_false(run(s, 5000L, -9.6, FALSE)$done)
})

test_that("anneal_steps shortens the alpha ramp, capped by steps", {
  expect_equal(anneal_length(gim_control(steps = 1000)), 1000)
  expect_equal(anneal_length(gim_control(steps = 1000, anneal_steps = 200)), 200)
  expect_equal(anneal_length(gim_control(steps = 100, anneal_steps = 200)), 100)
  set.seed(3)
  bench <- simulate_gim_benchmark(d = 4, n_perturbations = 3, n_test_perturbations = 0,
                                  n_cells = 10, n_observational = 40, n_components = 2,
                                  expected_edges = 4)
  fit <- gim_fit(bench$train$x, bench$train$context, bench$train$features,
                 mechanism = "linear",
                 control = gim_control(steps = 400, anneal_steps = 200, n_mc = 4,
                                       gim_hidden = 4, alpha_start = 1, alpha = 10,
                                       check_every = 100),
                 verbose = FALSE)
  expect_equal(fit$trace$alpha[fit$trace$step >= 300], c(10, 10))
  expect_lt(fit$trace$alpha[1], 10)
})

test_that("the annealed target sparsity ends the annealing on the paper's term", {
  b <- small_bench()
  fit_with <- function(steps, sparsity, init = NULL) {
    set.seed(8)
    gim_fit(b$train$x, b$train$context, b$train$features, mechanism = "mlp",
            control = quick_control(steps, anneal_steps = 40, target_sparsity = sparsity),
            init = init, verbose = FALSE)
  }
  annealed <- fit_with(80, "annealed")
  # Past anneal_steps the term is the paper's to the bit: training on from
  # step 40 under "probability" gives the same fit.
  first <- fit_with(40, "annealed")
  expect_identical(fit_with(80, "probability", init = first)$state$par, annealed$state$par)
  # While annealing it is neither term.
  expect_false(identical(fit_with(40, "probability")$state$par, first$state$par))
  expect_false(identical(fit_with(40, "softplus")$state$par, first$state$par))
})

test_that("a fit with stop_patience stops early, says so, and is reproducible and resumable", {
  set.seed(4)
  bench <- simulate_gim_benchmark(d = 3, n_perturbations = 3, n_test_perturbations = 0,
                                  n_cells = 20, n_observational = 60, n_components = 2,
                                  expected_edges = 2)
  # A loose tolerance and a strong acyclicity penalty make the rule fire in
  # a few hundred steps on this tiny problem.
  control <- gim_control(steps = 4000, anneal_steps = 200, stop_patience = 2, n_mc = 4,
                         gim_hidden = 4, check_every = 50, convergence_tol = 0.05,
                         mu_init = 100)
  fit_once <- function() {
    set.seed(5)
    gim_fit(bench$train$x, bench$train$context, bench$train$features, mechanism = "linear",
            control = control, verbose = FALSE)
  }
  fit <- fit_once()
  expect_identical(fit$state$stop_reason, "converged")
  expect_lt(fit$state$step, 4000)
  expect_gte(fit$state$step, 200 + 2 * 50)
  expect_match(paste(utils::capture.output(print(fit)), collapse = "\n"), "stopped early")
  expect_identical(fit_once()$state$par, fit$state$par)
  # Cut short and resumed: the same fit, stopped at the same step.
  short <- control
  short$steps <- 250L
  set.seed(5)
  part <- gim_fit(bench$train$x, bench$train$context, bench$train$features,
                  mechanism = "linear", control = short, verbose = FALSE)
  expect_identical(part$state$stop_reason, "max_steps")
  resumed <- gim_fit(bench$train$x, bench$train$context, bench$train$features,
                     control = control, init = part, verbose = FALSE)
  expect_identical(resumed$state$step, fit$state$step)
  expect_identical(resumed$state$par, fit$state$par)
})
