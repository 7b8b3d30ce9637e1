# gim_fit(): inputs, reproducibility, thread independence, the trace and
# the fit object, on small synthetic problems.

test_that("set.seed reproduces a fit exactly", {
  b <- small_bench()
  fit_once <- function() {
    set.seed(3)
    gim_fit(b$train$x, b$train$context, b$train$features, mechanism = "mlp",
            control = quick_control(), verbose = FALSE)
  }
  f1 <- fit_once()
  f2 <- fit_once()
  expect_identical(f1$state$par, f2$state$par)
  expect_identical(f1$trace[names(f1$trace) != "seconds"], f2$trace[names(f2$trace) != "seconds"])
  set.seed(4)
  f3 <- gim_fit(b$train$x, b$train$context, b$train$features, mechanism = "mlp",
                control = quick_control(), verbose = FALSE)
  expect_false(identical(f1$state$par, f3$state$par))
})

test_that("one and two threads give the same fit", {
  skip_if(.Call(pg_openmp_threads) < 2L, "OpenMP with 2 threads is not available")
  withr::local_seed(5)
  # Big enough (cells x genes x samples > 1e6) to run on two threads.
  b <- simulate_gim_benchmark(d = 6, n_perturbations = 4, n_test_perturbations = 1,
                              n_cells = 100, n_observational = 1000, n_components = 3,
                              mechanism = "mlp")
  fits <- lapply(1:2, function(th) {
    set.seed(6)
    gim_fit(b$train$x, b$train$context, b$train$features, mechanism = "mlp",
            control = gim_control(steps = 20, n_mc = 128, gim_hidden = 6, check_every = 10,
                                  n_threads = th), verbose = FALSE)
  })
  expect_identical(fits[[1]]$state$par, fits[[2]]$state$par)
})

test_that("every mechanism and intervention trains and improves the likelihood", {
  for (mech in c("linear", "mlp", "zilognormal")) {
    for (iv in c("hard", "shift")) {
      b <- small_bench(if (mech == "zilognormal") "mlp" else mech, iv)
      x <- b$train$x
      if (mech == "zilognormal") x <- log1p(exp(x))   # positive data
      set.seed(7)
      fit <- gim_fit(x, b$train$context, b$train$features, mechanism = mech,
                     intervention = iv, control = quick_control(steps = 200),
                     verbose = FALSE)
      tr <- fit$trace
      expect_s3_class(fit, "gim")
      expect_true(all(is.finite(tr$objective)), info = paste(mech, iv))
      expect_gt(tail(tr$log_likelihood, 1), tr$log_likelihood[1])
      expect_equal(names(fit$phi$psi), psi_parameter_names(mech, iv))
      expect_identical(fit$state$step, 200L)
    }
  }
})

test_that("the fit object holds the training design", {
  b <- small_bench()
  set.seed(8)
  fit <- gim_fit(b$train$x, b$train$context, b$train$features, mechanism = "linear",
                 control = quick_control(), verbose = FALSE)
  expect_identical(fit$nodes, colnames(b$train$x))
  expect_identical(fit$feature_names, colnames(b$train$features))
  expect_setequal(fit$contexts$context, unique(b$train$context))
  expect_identical(fit$contexts$perturbed, fit$contexts$context != "observational")
  expect_equal(sum(fit$contexts$n_cells), nrow(b$train$x))
  n <- nrow(b$train$x)
  expect_equal(fit$n_obs, n - floor(n / 10))   # 100 held out, capped at a tenth
  expect_equal(dim(fit$theta$weights), c(5L, 5L))
  expect_named(fit$trace, c("step", "objective", "log_likelihood", "acyclicity", "heldout",
                            "lambda", "mu", "alpha", "beta_I", "ess", "configs", "cyclic",
                            "seconds"))
  expect_equal(fit$trace$step, c(20L, 40L, 60L))
  # The flat parameters round-trip through the named form.
  blocks <- engine_blocks("linear", "hard", 5, 5, fit$control$mechanism_hidden,
                          c(3L, 6L, 5L), fit$control$acyclicity)
  parts <- unflatten_parameters(fit$state$par, blocks, fit$nodes)
  expect_identical(flatten_parameters(parts, blocks), fit$state$par)
})

test_that("the beta_I schedule and alpha schedule follow gim_control()", {
  b <- small_bench()
  set.seed(9)
  fit <- gim_fit(b$train$x, b$train$context, b$train$features, mechanism = "linear",
                 control = quick_control(alpha = 3, alpha_start = 1,
                                         beta_I_schedule = "cosine"),
                 verbose = FALSE)
  steps <- fit$trace$step - 1
  expect_equal(fit$trace$beta_I, 10 * (1 - cos(pi * steps / 60)) / 2)
  expect_equal(fit$trace$alpha, 1 + 2 * steps / 60)
  # The default keeps beta_I from the first step.
  set.seed(9)
  fit <- gim_fit(b$train$x, b$train$context, b$train$features, mechanism = "linear",
                 control = quick_control(), verbose = FALSE)
  expect_equal(fit$trace$beta_I, rep(10, 3))
  # "decreasing" falls from beta_I_start (default ten times beta_I).
  for (start in list(NULL, 25)) {
    set.seed(9)
    fit <- gim_fit(b$train$x, b$train$context, b$train$features, mechanism = "linear",
                   control = quick_control(beta_I_schedule = "decreasing",
                                           beta_I_start = start),
                   verbose = FALSE)
    from <- if (is.null(start)) 100 else start
    expect_equal(fit$trace$beta_I, from + (10 - from) * (1 - cos(pi * steps / 60)) / 2)
  }
})

test_that("a diverging fit stops with an error that names the term", {
  b <- small_bench()
  set.seed(10)
  expect_error(
    gim_fit(b$train$x, b$train$context, b$train$features, mechanism = "linear",
            control = quick_control(learning_rate = 1e6), verbose = FALSE),
    class = "perturbgim_nonfinite"
  )
})

test_that("bad inputs give clear errors", {
  b <- small_bench()
  x <- b$train$x
  ctx <- b$train$context
  f <- b$train$features
  expect_snapshot(error = TRUE, {
    gim_fit(x, ctx[-1], f)
    gim_fit(x, ctx, f[, 0])
    gim_fit(x, ctx, rbind(f, nowhere = 1))
    gim_fit(x, ctx, unname(f))
    gim_fit(x, ctx, rbind(f, f[1, , drop = FALSE]))
    gim_fit(x - 10, ctx, f, mechanism = "zilognormal")
    gim_fit(x, ctx, f, control = list(steps = 10))
    gim_fit(x, ctx, f, mechanism = "gaussian")
    gim_fit(x, ctx, f, verbose = NA)
  })
})

test_that("the engine's .Call boundary rejects malformed input", {
  b <- small_bench()
  control <- quick_control()
  design <- training_design(b$train$x, b$train$context, b$train$features, control)
  settings <- engine_settings(control, "linear", "hard", 5, 3)
  blocks <- engine_blocks("linear", "hard", 5, 5, 5, settings$sizes, control$acyclicity)
  par <- init_parameters(blocks, design$train$x, "linear", colnames(b$train$x))
  call_obj <- function(data = design$train, p = par, s = settings) {
    .Call(pg_gim_objective, data, p, s, 1, 1L, NULL, TRUE)
  }
  expect_error(call_obj(p = par[-1]), "par")
  expect_error(call_obj(p = replace(par, 1, NA)), "par")
  expect_error(call_obj(data = NULL), "data")
  expect_error(call_obj(data = within(design$train, start <- rev(start))), "start")
  expect_error(call_obj(data = within(design$train, x <- x[, -1])), "columns")
  expect_error(call_obj(s = within(settings, tau <- -1)), "positive")
  expect_error(call_obj(s = within(settings, sizes <- c(3L, 6L, 4L))), "sizes")
  expect_error(call_obj(s = settings[-1]), "mechanism")
  expect_error(.Call(pg_gim_objective, design$train, par, settings, -1, 1L, NULL, TRUE), "seed")
  expect_error(.Call(pg_gim_train, design$train, par, list(m = par), settings, 1, 0L, 1L),
               "adam")
})

test_that("an interrupt returns the fit of the last complete chunk, with a warning", {
  b <- small_bench()
  local_interrupt_at_chunk(3L)   # as if Ctrl-C arrived in chunk 3
  set.seed(11)
  expect_warning(
    fit <- gim_fit(b$train$x, b$train$context, b$train$features, mechanism = "linear",
                   control = quick_control(), verbose = FALSE),
    class = "perturbgim_interrupted"
  )
  expect_s3_class(fit, "gim")
  expect_identical(fit$state$step, 40L)
  expect_true(fit$state$interrupted)
  expect_equal(nrow(fit$trace), 2L)
  # The partial fit is usable.
  pred <- suppressWarnings(   # a 40-step graph may have cycles to break
    predict(fit, b$test_fully_ood$features[1, , drop = FALSE], n = 3)
  )
  expect_equal(dim(pred), c(3L, 5L))
})

test_that("standardise = TRUE fits in z-scores and reports in the data's units", {
  set.seed(6)
  bench <- simulate_gim_benchmark(d = 4, n_perturbations = 3, n_test_perturbations = 0,
                                  n_cells = 15, n_observational = 60, n_components = 2,
                                  expected_edges = 4)
  tr <- bench$train
  control <- gim_control(steps = 200, n_mc = 4, gim_hidden = 4, check_every = 100,
                         standardise = TRUE)
  fit_on <- function(x) {
    set.seed(7)
    gim_fit(x, tr$context, tr$features, mechanism = "mlp", control = control, verbose = FALSE)
  }
  a <- c(1, 30, 0.2, 5)
  b <- c(0, 200, -3, 50)
  fit1 <- fit_on(tr$x)
  fit2 <- fit_on(sweep(sweep(tr$x, 2, a, "*"), 2, b, "+"))
  # The same internal data up to rounding: the same model, and the data's
  # units everywhere the user looks.
  expect_equal(fit2$state$par, fit1$state$par, tolerance = 1e-6)
  expect_equal(fit2$x_scaling$scale / fit1$x_scaling$scale, a, tolerance = 1e-10)
  n <- nobs(fit1)
  expect_equal(as.numeric(logLik(fit2)), as.numeric(logLik(fit1)) - n * sum(log(a)),
               tolerance = 1e-6)
  expect_equal(fit2$trace$heldout, fit1$trace$heldout - sum(log(a)), tolerance = 1e-6)
  set.seed(8)
  p1 <- predict(fit1, tr$features[1:2, ], n = 50)
  set.seed(8)
  p2 <- predict(fit2, tr$features[1:2, ], n = 50)
  # (Polishing's Adam steps carry the rounding differences a little further.)
  expect_equal(unclass(p2)[, ], sweep(sweep(unclass(p1)[, ], 2, a, "*"), 2, b, "+"),
               tolerance = 1e-5, ignore_attr = TRUE)
  # zilognormal data are never standardised (zeros and a log scale).
  zl <- gim_fit(exp(tr$x), tr$context, tr$features, mechanism = "zilognormal",
                control = gim_control(steps = 2, n_mc = 2, gim_hidden = 3, standardise = TRUE),
                verbose = FALSE)
  expect_null(zl$x_scaling)
})

test_that("a chunk's trace comes from C with named columns, one row per step", {
  pr <- engine_problem("mlp", "hard")
  adam <- list(m = numeric(length(pr$par)), v = numeric(length(pr$par)))
  res <- .Call(pg_gim_train, pr$data, pr$par, adam, pr$settings, 1, 0L, 3L)
  expect_identical(dim(res$trace), c(3L, 7L))
  expect_identical(colnames(res$trace), c("objective", "loglik", "acyclicity", "ess",
                                          "beta_I", "alpha", "configs"))
  expect_null(rownames(res$trace))
  expect_identical(res$trace[, "beta_I"], rep(pr$settings$beta_I, 3))
  empty <- .Call(pg_gim_train, pr$data, pr$par, adam, pr$settings, 1, 0L, 0L)
  expect_identical(colnames(empty$trace), colnames(res$trace))
})

test_that("the objective returns its graph samples only when asked", {
  pr <- engine_problem("mlp", "hard")
  with <- .Call(pg_gim_objective, pr$data, pr$par, pr$settings, 123, 7L, NULL, TRUE)
  without <- .Call(pg_gim_objective, pr$data, pr$par, pr$settings, 123, 7L, NULL, FALSE)
  expect_length(with$dgraph, 3 * 4 * 4)
  expect_null(without$dgraph)
  expect_null(without$graph_relaxed)
  same <- setdiff(names(with), c("dgraph", "graph_relaxed"))
  expect_identical(without[same], with[same])
})
