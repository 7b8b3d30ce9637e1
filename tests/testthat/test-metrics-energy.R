test_that("energy_distance agrees with energy::eqdist.e after its scaling", {
  skip_if_not_installed("energy")
  set.seed(3)
  for (case in list(c(10, 15, 3), c(40, 25, 1), c(60, 60, 7))) {
    n <- case[1]; m <- case[2]; d <- case[3]
    x <- matrix(rnorm(n * d), n, d)
    y <- matrix(rnorm(m * d, mean = 0.4), m, d)
    e <- energy::eqdist.e(rbind(x, y), c(n, m))
    expect_equal(energy_distance(x, y) * n * m / (n + m), unname(e),
                 tolerance = 1e-12)
  }
})

test_that("energy_distance matches the definition and its properties", {
  set.seed(4)
  x <- matrix(rnorm(40), 20, 2)
  y <- matrix(rnorm(30, 1), 15, 2)
  D <- as.matrix(dist(rbind(x, y)))
  ref <- 2 * mean(D[1:20, 21:35]) - mean(D[1:20, 1:20]) - mean(D[21:35, 21:35])
  expect_equal(energy_distance(x, y), ref, tolerance = 1e-13)
  expect_equal(energy_distance(x, x), 0)
  expect_equal(energy_distance(x, y), energy_distance(y, x), tolerance = 1e-14)
  far <- energy_distance(x, y + 1e6)
  expect_true(is.finite(far) && far > 1e6)
})

test_that("energy_distance is identical with one and two threads", {
  set.seed(5)
  x <- matrix(rnorm(3000), 600, 5)
  y <- matrix(rnorm(2500), 500, 5)
  expect_identical(energy_distance(x, y, n_threads = 1),
                   energy_distance(x, y, n_threads = 2))
})

test_that("energy_distance rejects bad input", {
  x <- matrix(rnorm(20), 10, 2)
  expect_error(energy_distance(x, matrix(1, 3, 3)), "same number of columns")
  expect_error(energy_distance(x, x, n_threads = 0), "`n_threads` must be")
  expect_error(energy_distance(x, x, n_threads = NA), "`n_threads` must be")
  e <- function(...) .Call(perturbgim:::pg_energy_distance, ...)
  expect_error(e(NULL, x, 1L), "`predicted` must be a double matrix")
  expect_error(e(x, matrix(NaN, 2, 2), 1L), "`observed` must not contain NA")
  expect_error(e(x, x, 1), "`n_threads` must be a single non-missing integer")
  expect_error(e(x, x, 0L), "`n_threads` must be at least 1")
  expect_error(e(x, matrix(0, 2, 3), 1L), "same number of columns")
})
