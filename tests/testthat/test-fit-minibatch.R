# Sparse and on-disk expression, cell weights and minibatches.

test_that("a cell weight w counts every cell w times, in the objective and its gradient", {
  pr <- engine_problem("mlp", "hard", graph_gradient = "straight_through")
  twice <- pr$data
  o <- order(rep(seq_len(nrow(twice$x)), 2))
  twice$x <- rbind(twice$x, twice$x)[o, , drop = FALSE]   # each cell twice, in place
  twice$start <- 2L * twice$start
  weighted <- pr$data
  weighted$weight <- 2
  a <- engine_eval(pr, settings = pr$settings)
  b <- .Call(pg_gim_objective, twice, pr$par, pr$settings, 123, 7L, NULL, TRUE)
  w <- .Call(pg_gim_objective, weighted, pr$par, pr$settings, 123, 7L, NULL, TRUE)
  expect_equal(w$loglik, b$loglik, tolerance = 1e-12)
  expect_equal(w$gradient, b$gradient, tolerance = 1e-10)
  expect_false(isTRUE(all.equal(a$loglik, w$loglik)))
  weighted$weight <- 0
  expect_error(.Call(pg_gim_objective, weighted, pr$par, pr$settings, 123, 7L, NULL, TRUE),
               "weight")
})

test_that("sparse input gives the fit of the dense matrix", {
  b <- small_bench()
  sparse <- Matrix::Matrix(pmax(b$train$x, 0), sparse = TRUE)
  dense <- as.matrix(sparse)
  fit_with <- function(x) {
    set.seed(4)
    gim_fit(x, b$train$context, b$train$features, mechanism = "linear",
            control = quick_control(40), verbose = FALSE)
  }
  expect_s4_class(sparse, "dgCMatrix")
  expect_identical(fit_with(sparse)$state$par, fit_with(dense)$state$par)
})

test_that("minibatch fits are reproducible, resumable and use about that many cells", {
  b <- small_bench()
  fit_mb <- function(..., steps = 60) {
    gim_fit(b$train$x, b$train$context, b$train$features, mechanism = "mlp",
            control = quick_control(steps, minibatch = 80), verbose = FALSE, ...)
  }
  set.seed(6)
  one <- fit_mb()
  set.seed(6)
  two <- fit_mb()
  expect_identical(one$state$par, two$state$par)
  n <- nrow(b$train$x)
  expect_identical(one$n_obs, n - n %/% 10L)   # held out: 100 cells, at most a tenth
  set.seed(6)
  exact <- gim_fit(b$train$x, b$train$context, b$train$features, mechanism = "mlp",
                   control = quick_control(60), verbose = FALSE)
  expect_false(identical(exact$state$par, one$state$par))
  # Interrupted and resumed: the subsets are keyed by the step, not by R's RNG.
  set.seed(6)
  local({
    local_interrupt_at_chunk(2L)
    expect_warning(part <<- fit_mb(), class = "perturbgim_interrupted")
  })
  resumed <- gim_fit(b$train$x, b$train$context, b$train$features, init = part,
                     verbose = FALSE)
  expect_identical(resumed$state$par, one$state$par)
  # The minibatch itself: proportional per context, at least one cell each.
  design <- training_design(b$train$x, b$train$context,
                            check_features(b$train$features, b$train$context),
                            quick_control(minibatch = 80), held = integer())
  batch <- chunk_data(design, list(seed = 1, step = 0))
  sizes <- diff(batch$start)
  expect_true(all(sizes >= 1))
  expect_equal(sum(sizes), 80, tolerance = 0.1)
  expect_equal(batch$weight, nrow(b$train$x) / sum(sizes))
  expect_identical(chunk_data(design, list(seed = 1, step = 0)), batch)
  expect_false(identical(chunk_data(design, list(seed = 1, step = 20))$x, batch$x))
})

test_that("DelayedArray input is read in blocks and gives the dense fit", {
  skip_if_not_installed("DelayedArray")
  b <- small_bench()
  delayed <- DelayedArray::DelayedArray(b$train$x)
  fit_with <- function(x) {
    set.seed(9)
    gim_fit(x, b$train$context, b$train$features, mechanism = "linear",
            control = quick_control(40, minibatch = 60), verbose = FALSE)
  }
  expect_identical(fit_with(delayed)$state$par, fit_with(b$train$x)$state$par)
  bad <- b$train$x
  bad[3, 2] <- NA
  expect_snapshot(error = TRUE, {
    gim_fit(DelayedArray::DelayedArray(bad), b$train$context, b$train$features,
            verbose = FALSE)
    gim_fit(Matrix::Matrix(-abs(b$train$x), sparse = TRUE), b$train$context,
            b$train$features, mechanism = "zilognormal", verbose = FALSE)
    gim_control(minibatch = 1)
  })
})
