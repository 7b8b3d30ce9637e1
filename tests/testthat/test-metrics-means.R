test_that("mean_distance and pearson_delta match direct computations", {
  set.seed(1)
  ctl <- matrix(rnorm(300), 60, 5)
  obs <- matrix(rnorm(250, mean = 1:5), 50, 5, byrow = TRUE)
  pred <- matrix(rnorm(200, mean = 5:1), 40, 5, byrow = TRUE)
  expect_equal(mean_distance(pred, obs),
               sqrt(sum((colMeans(pred) - colMeans(obs))^2)), tolerance = 1e-14)
  expect_equal(pearson_delta(pred, obs, ctl),
               cor(colMeans(pred) - colMeans(ctl), colMeans(obs) - colMeans(ctl)),
               tolerance = 1e-14)
  expect_equal(pearson_delta(obs, obs, ctl), 1)
})

test_that("mean metrics accept data frames and sparse matrices", {
  x <- matrix(c(0, 1, 0, 2, 0, 0, 3, 0), 4, 2)
  y <- matrix(c(1, 1, 0, 0, 2, 0, 0, 1), 4, 2)
  ref <- mean_distance(x, y)
  expect_equal(mean_distance(as.data.frame(x), Matrix::Matrix(y, sparse = TRUE)), ref)
  expect_equal(mean_distance(x, y > 0), mean_distance(x, (y > 0) + 0))
})

test_that("pearson_delta is NA with a warning when a shift is constant", {
  ctl <- matrix(0, 3, 3)
  expect_warning(r <- pearson_delta(matrix(1, 3, 3), matrix(1:9, 3, 3), ctl),
                 "undefined")
  expect_identical(r, NA_real_)
})

test_that("mean metrics reject bad input naming the argument", {
  x <- matrix(rnorm(20), 10, 2)
  expect_error(mean_distance(x, matrix(rnorm(30), 10, 3)), "same number of columns")
  expect_error(mean_distance(NULL, x), "`predicted` must be a numeric matrix")
  expect_error(mean_distance(x, x[0, , drop = FALSE]), "`observed` must have at least 1 row")
  bad <- x; bad[3] <- NA
  expect_error(mean_distance(bad, x), "`predicted` must not contain NA")
  bad[3] <- Inf
  expect_error(mean_distance(x, bad), "`observed` must not contain NA")
  expect_error(mean_distance(letters, x), "`predicted` must be a numeric matrix")
  expect_error(mean_distance(1:3, x), "samples in rows")
  expect_error(mean_distance(data.frame(a = 1, b = "z"), x), "only numeric columns")
  named <- x; colnames(named) <- c("a", "b")
  other <- x; colnames(other) <- c("b", "a")
  expect_error(mean_distance(named, other), "same column names")
  expect_error(pearson_delta(x, x, matrix(1, 2, 3)), "`predicted` and `control`")
  expect_error(pearson_delta(x[, 1, drop = FALSE], x[, 1, drop = FALSE],
                             x[, 1, drop = FALSE]), "at least 2 variables")
})

test_that("mean metric entry points guard the .Call boundary", {
  x <- matrix(rnorm(20), 10, 2)
  md <- function(...) .Call(perturbgim:::pg_mean_distance, ...)
  pd <- function(...) .Call(perturbgim:::pg_pearson_delta, ...)
  expect_error(md(NULL, x), "`predicted` must be a double matrix")
  expect_error(md(x, 1:10), "`observed` must be a double matrix")
  expect_error(md(x, matrix(1L, 2, 2)), "`observed` must be a double matrix")
  expect_error(md(x, matrix(NA_real_, 2, 2)), "`observed` must not contain NA")
  expect_error(md(x, matrix(0, 0, 2)), "`observed` must have at least 1 row")
  expect_error(md(x, matrix(0, 3, 3)), "same number of columns")
  expect_error(pd(x, x, NULL), "`control` must be a double matrix")
  expect_error(pd(x[, 1, drop = FALSE], x[, 1, drop = FALSE], x[, 1, drop = FALSE]),
               "at least 2 columns")
})
