# A tiny benchmark (5 genes, 4 training perturbations at 4 dosages) and tiny
# fits, so that a whole comparison takes about a second.
compare_bench <- function(seed = 1) {
  set.seed(seed)
  simulate_gim_benchmark(d = 5, n_perturbations = 4, n_test_perturbations = 1,
                         n_cells = 15, n_observational = 60, n_components = 3)$train
}
# One held-out cell: the fewest gim_control() allows.
tiny_gim <- gim_control(steps = 100, n_mc = 8, n_threads = 1, holdout = 1,
                        gim_hidden = 10)
tiny_mlp <- baseline_control(hidden = 5, steps = 50)
test_ctx <- c("P1_c2", "P3_c2")
# The benchmark's features have no dose column: the naive baseline predicts
# each perturbation at dosage 2 by its cells at 1.5.
test_ref <- c(P1_c2 = "P1_c1.5", P3_c2 = "P3_c1.5")

run_compare <- function(tr, ...) {
  suppressWarnings(
    gim_compare(tr$x, tr$context, tr$features, test = test_ctx,
                mechanism = "linear", control = tiny_gim,
                baseline_control = tiny_mlp, reference = test_ref,
                verbose = FALSE, ...),
    classes = "perturbgim_cyclic_graph"
  )
}

test_that("gim_compare() returns one row per method and test context", {
  tr <- compare_bench()
  set.seed(10)
  res <- run_compare(tr)
  expect_s3_class(res, c("perturbgim_comparison", "data.frame"), exact = TRUE)
  expect_identical(names(res), c("method", "context", "n_predicted", "n_observed",
                                 "w2", "mean_distance", "kde_nll",
                                 "energy_distance", "pearson_delta"))
  expect_identical(res$method, rep(c("gim", "observational", "naive", "mlp_shift",
                                     "additive"), each = 2))
  expect_identical(res$context, rep(test_ctx, 5))
  # By default as many cells are predicted as were observed.
  n_obs <- as.vector(table(tr$context)[test_ctx])
  expect_identical(res$n_observed, rep(n_obs, 5))
  expect_identical(res$n_predicted, rep(n_obs, 5))
  expect_false(anyNA(res[, -(1:4)]))
  expect_length(attr(res, "errors"), 0L)
  fits <- attr(res, "fits")
  expect_identical(names(fits), c("gim", "observational", "naive", "mlp_shift",
                                  "additive"))
  expect_s3_class(fits$gim, "gim")
  expect_s3_class(fits$additive, "perturbgim_baseline_additive")
  # The test contexts were held out of every fit.
  expect_false(any(test_ctx %in% fits$gim$contexts$context))
  expect_false(any(test_ctx %in% rownames(fits$mlp_shift$features)))
  expect_identical(fits$naive$n_obs, sum(!tr$context %in% test_ctx))
})

test_that("the scores are gim_evaluate() of the predictions, with observational controls", {
  tr <- compare_bench(2)
  set.seed(20)
  res <- gim_compare(tr$x, tr$context, tr$features, test = "P2_c1",
                     methods = c("naive", "additive"), n = 40,
                     reference = c(P2_c1 = "P2_c0.5"),
                     metrics = c("mean_distance", "pearson_delta"), verbose = FALSE)
  expect_identical(res$n_predicted, c(40L, 40L))
  # Redo the naive prediction by hand, from the same seed: the naive fit
  # draws no random numbers before predicting.
  train <- tr$context != "P2_c1"
  set.seed(20)
  fit <- fit_baseline(tr$x[train, ], tr$context[train],
                      tr$features[rownames(tr$features) != "P2_c1", ], method = "naive")
  pred <- predict(fit, tr$features["P2_c1", , drop = FALSE], n = 40,
                  reference = c(P2_c1 = "P2_c0.5"))
  attributes(pred) <- list(dim = dim(pred), dimnames = dimnames(pred))
  expected <- gim_evaluate(list(P2_c1 = pred),
                           list(P2_c1 = tr$x[tr$context == "P2_c1", ]),
                           control = tr$x[tr$context == "observational", ],
                           metrics = c("mean_distance", "pearson_delta"))
  expect_equal(as.data.frame(res)[1, -1], expected, ignore_attr = TRUE)
  # The control of pearson_delta is the observational training cells.
  expect_equal(res$pearson_delta[1],
               pearson_delta(pred, tr$x[tr$context == "P2_c1", ],
                             tr$x[tr$context == "observational", ]))
})

test_that("set.seed() reproduces the whole table", {
  tr <- compare_bench(3)
  set.seed(30)
  a <- run_compare(tr)
  set.seed(30)
  b <- run_compare(tr)
  table <- function(res) structure(as.data.frame(res), fits = NULL)
  expect_identical(table(a), table(b))
  # The fits agree too, up to their timings.
  expect_identical(attr(a, "fits")$gim$theta, attr(b, "fits")$gim$theta)
  expect_identical(attr(a, "fits")$mlp_shift$network, attr(b, "fits")$mlp_shift$network)
  set.seed(31)
  c <- run_compare(tr)
  expect_false(identical(c$w2, a$w2))
})

test_that("a failing method leaves NA rows and a warning, or stops", {
  tr <- compare_bench(4)
  set.seed(40)
  # Without `reference`, the naive rule finds no dose column.
  expect_warning(
    res <- gim_compare(tr$x, tr$context, tr$features, test = test_ctx,
                       methods = c("observational", "naive", "additive"),
                       metrics = "mean_distance", verbose = FALSE),
    class = "perturbgim_compare_failed"
  )
  expect_identical(res$method, rep(c("observational", "naive", "additive"), each = 2))
  expect_true(all(is.na(res$mean_distance[res$method == "naive"])))
  expect_true(all(is.na(res$n_predicted[res$method == "naive"])))
  expect_false(anyNA(res$mean_distance[res$method != "naive"]))
  expect_identical(names(attr(res, "errors")), "naive")
  expect_match(attr(res, "errors")[["naive"]], "reference", fixed = TRUE)
  expect_null(attr(res, "fits")$naive)
  expect_snapshot(
    gim_compare(tr$x, tr$context, tr$features, test = test_ctx,
                methods = c("observational", "naive"), metrics = "mean_distance",
                verbose = FALSE)
  )
  expect_snapshot(error = TRUE,
    gim_compare(tr$x, tr$context, tr$features, test = test_ctx,
                methods = c("observational", "naive"), metrics = "mean_distance",
                on_error = "stop", verbose = FALSE)
  )
})

test_that("the print method shows medians by method", {
  tr <- compare_bench(5)
  set.seed(50)
  res <- gim_compare(tr$x, tr$context, tr$features, test = test_ctx,
                     methods = c("observational", "naive", "additive"),
                     reference = test_ref, metrics = c("mean_distance", "pearson_delta"),
                     verbose = FALSE)
  expect_snapshot(print(res))
  expect_s3_class(as.data.frame(res), "data.frame", exact = TRUE)
  expect_equal(nrow(as.data.frame(res)), 6L)
})

test_that("verbose reports each method", {
  tr <- compare_bench(6)
  set.seed(60)
  expect_message(
    res <- gim_compare(tr$x, tr$context, tr$features, test = "P1_c2",
                       methods = c("observational", "observational"),
                       metrics = "mean_distance"),
    "observational"
  )
  # A method named twice is run once.
  expect_identical(res$method, "observational")
})

test_that("bad input gives clear errors", {
  tr <- compare_bench(7)
  cmp <- function(...) {
    gim_compare(tr$x, tr$context, tr$features, metrics = "mean_distance",
                verbose = FALSE, ...)
  }
  expect_snapshot(error = TRUE, cmp(test = "P9_c1"))
  expect_snapshot(error = TRUE, cmp(test = "observational"))
  expect_snapshot(error = TRUE, cmp(test = c("P1_c2", NA)))
  expect_snapshot(error = TRUE, cmp(test = 3))
  expect_snapshot(error = TRUE, cmp(test = c("P1_c2", "P1_c2")))
  expect_snapshot(error = TRUE, cmp(test = rownames(tr$features)))
  expect_snapshot(error = TRUE, cmp(test = "P1_c2", methods = "condot"))
  expect_snapshot(error = TRUE, cmp(test = "P1_c2", methods = "observational",
                                    reference = c(P1_c2 = "P1_c1.5")))
  expect_snapshot(error = TRUE, cmp(test = "P1_c2", control = list(steps = 10)))
  expect_snapshot(error = TRUE, cmp(test = "P1_c2", baseline_control = list()))
  expect_snapshot(error = TRUE, cmp(test = test_ctx, n = c(1, 2, 3)))
  expect_snapshot(error = TRUE, cmp(test = "P1_c2", on_error = "ignore"))
  expect_snapshot(error = TRUE, cmp(test = "P1_c2", nonsense = 1))
  expect_snapshot(error = TRUE,
    gim_compare(tr$x, tr$context[-1], tr$features, test = "P1_c2", verbose = FALSE))
  expect_snapshot(error = TRUE,
    gim_compare(tr$x[tr$context != "observational", ],
                tr$context[tr$context != "observational"], tr$features,
                test = "P1_c2", verbose = FALSE))
})
