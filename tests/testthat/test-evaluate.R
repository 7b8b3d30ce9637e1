make_contexts <- function(seed = 1) {
  set.seed(seed)
  list(
    observed = list(a = matrix(rnorm(120, 1), 40, 3),
                    b = matrix(rnorm(150, -1), 50, 3)),
    predicted = list(b = matrix(rnorm(90, -0.5), 30, 3),
                     a = matrix(rnorm(135, 0.8), 45, 3),
                     unused = matrix(0, 2, 3)),
    control = matrix(rnorm(120), 40, 3)
  )
}

test_that("gim_evaluate gives one row per observed context with every metric", {
  s <- make_contexts()
  res <- gim_evaluate(s$predicted, s$observed, control = s$control, n_threads = 1)
  expect_s3_class(res, "data.frame")
  expect_identical(res$context, c("a", "b"))
  expect_identical(res$n_predicted, c(45L, 30L))
  expect_identical(res$n_observed, c(40L, 50L))
  expect_named(res, c("context", "n_predicted", "n_observed", "w2",
                      "mean_distance", "kde_nll", "energy_distance",
                      "pearson_delta"))
  for (ctx in c("a", "b")) {
    p <- s$predicted[[ctx]]; o <- s$observed[[ctx]]
    row <- res[res$context == ctx, ]
    expect_identical(row$w2, sinkhorn_w2(p, o))
    expect_identical(row$mean_distance, mean_distance(p, o))
    expect_identical(row$kde_nll, kde_nll(p, o))
    expect_identical(row$energy_distance, energy_distance(p, o))
    expect_identical(row$pearson_delta, pearson_delta(p, o, s$control))
  }
})

test_that("gim_evaluate skips pearson_delta without control and honours metrics", {
  s <- make_contexts()
  res <- gim_evaluate(s$predicted, s$observed)
  expect_false("pearson_delta" %in% names(res))
  res <- gim_evaluate(s$predicted, s$observed, metrics = c("mean_distance", "energy_distance"))
  expect_named(res, c("context", "n_predicted", "n_observed", "mean_distance",
                      "energy_distance"))
  expect_error(gim_evaluate(s$predicted, s$observed, metrics = "pearson_delta"),
               "`control` is needed")
  one <- gim_evaluate(s$predicted$a, s$observed$a, metrics = "mean_distance")
  expect_identical(one$context, "context")
})

test_that("gim_evaluate accepts per-context controls", {
  s <- make_contexts()
  ctl <- list(a = s$control, b = s$control[1:20, ])
  res <- gim_evaluate(s$predicted, s$observed, control = ctl, metrics = "pearson_delta")
  expect_equal(res$pearson_delta[2],
               pearson_delta(s$predicted$b, s$observed$b, s$control[1:20, ]))
  expect_error(gim_evaluate(s$predicted, s$observed, control = list(a = s$control),
                            metrics = "pearson_delta"),
               "no samples for some observed contexts")
})

test_that("gim_evaluate gathers per-context warnings into one", {
  s <- make_contexts()
  s$predicted$a[, 2] <- 5 # constant gene: singular KDE bandwidth
  expect_warning(res <- gim_evaluate(s$predicted, s$observed, metrics = "kde_nll"),
                 "Some metrics warned")
  expect_true(all(is.finite(res$kde_nll)))
})

test_that("gim_evaluate validates its inputs", {
  s <- make_contexts()
  expect_error(gim_evaluate(list(s$predicted$a), s$observed), "must be named")
  expect_error(gim_evaluate(s$predicted, list()), "non-empty named list")
  expect_error(gim_evaluate(s$predicted["a"], s$observed), "Missing: \"b\"")
  dup <- c(s$observed, s$observed["a"])
  expect_error(gim_evaluate(s$predicted, dup), "more than once")
  bad <- s$predicted; bad$a <- matrix(0, 4, 2)
  expect_error(gim_evaluate(bad, s$observed), "same number of columns")
  bad$a <- matrix(NA_real_, 4, 3)
  expect_error(gim_evaluate(bad, s$observed), "predicted\\[\\[\"a\"\\]\\]")
  expect_error(gim_evaluate(s$predicted, s$observed, epsilon = 0), "`epsilon`")
  expect_error(gim_evaluate(s$predicted, s$observed, metrics = "w3"), "metrics")
  expect_error(gim_evaluate(s$predicted, s$observed, progress = NA), "`progress`")
})
