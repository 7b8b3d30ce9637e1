# The engine's own exp, log, tanh, sigmoid and sin/cos of a turn (vectorised,
# src/gim_vmath.h) against R's, and its counter-based random numbers against
# their distributions.

engine_math <- function(x, fn) {
  .Call(perturbgim:::pg_gim_math, as.double(x), match(fn, c("exp", "log", "tanh", "sigmoid",
                                                         "sin", "cos", "tanh_float")))
}

test_that("engine exp and log are accurate to a few ulps over their ranges", {
  x <- c(seq(-700, 700, length.out = 20001), -1e-300, 0, 1e-10, 0.5, 1, 2)
  expect_lt(max(abs(engine_math(x, "exp") / exp(x) - 1)), 1e-15)
  # Clamped beyond +-708: finite, never Inf or 0.
  expect_true(all(is.finite(engine_math(c(-1e5, 1e5), "exp"))))
  expect_gt(engine_math(-1e5, "exp"), 0)
  y <- c(10^seq(-300, 300, length.out = 20001), 1 - 1e-12, 1 + 1e-12, 0.5, 2^-53)
  err <- abs(engine_math(y, "log") - log(y)) / pmax(1, abs(log(y)))
  expect_lt(max(err), 1e-15)
  # Uniforms near 0 have logs near -9 or below, where one ulp is 1.8e-15:
  # relative error, as above, and a fixed draw.
  withr::local_seed(1)
  u <- runif(10000)
  expect_lt(max(abs(engine_math(u, "log") - log(u)) / pmax(1, abs(log(u)))), 1e-15)
})

test_that("engine tanh and sigmoid match R's", {
  a <- c(seq(-30, 30, length.out = 10001), -1e-8, 1e-8, 0)
  expect_lt(max(abs(engine_math(a, "tanh") - tanh(a))), 3e-15)
  expect_identical(sign(engine_math(a, "tanh")), sign(a))
  z <- c(seq(-800, 800, length.out = 10001))
  expect_lt(max(abs(engine_math(z, "sigmoid") - stats::plogis(z))), 1e-15)
  small <- seq(-700, -30, length.out = 101)
  expect_lt(max(abs(engine_math(small, "sigmoid") / stats::plogis(small) - 1)), 1e-13)
})

test_that("single-precision tanh stays within the error the screening assumes", {
  # Multiples of 2^-10 are exact in float, so the input is not rounded.
  a <- c(seq(-30, 30, by = 2^-10), -2^-20, 2^-20, 0)
  err <- abs(engine_math(a, "tanh_float") - tanh(a))
  # TANHF_ERROR in src/gim_screen.c.
  expect_lt(max(err), 1e-6)
  expect_identical(sign(engine_math(a, "tanh_float")), sign(a))
})

test_that("engine sin and cos of a fraction of a turn match R's in every quadrant", {
  u <- c(seq(0, 1 - 1e-9, length.out = 40001), 0.125, 0.25, 0.375, 0.5, 0.875, 0.999999)
  expect_lt(max(abs(engine_math(u, "sin") - sin(2 * pi * u))), 2e-15)
  expect_lt(max(abs(engine_math(u, "cos") - cos(2 * pi * u))), 2e-15)
  expect_equal(engine_math(0.25, "sin"), 1)
  expect_equal(engine_math(0.5, "cos"), -1)
})

engine_noise <- function(n, kind, seed = 12345, step = 7L, stream = 3L) {
  .Call(perturbgim:::pg_gim_noise, as.double(seed), as.integer(step), as.integer(stream),
        as.integer(n), match(kind, c("uniform", "logistic", "normal")))
}

test_that("engine noise has the right distributions and is a function of its key", {
  n <- 20000L
  u <- engine_noise(n, "uniform")
  expect_true(all(u > 0 & u < 1))
  expect_gt(stats::ks.test(u, "punif")$p.value, 1e-3)
  l <- engine_noise(n, "logistic")
  expect_equal(l, stats::qlogis(u), tolerance = 1e-12)
  z <- engine_noise(n, "normal")
  expect_gt(stats::ks.test(z, "pnorm")$p.value, 1e-3)
  # The two halves of a Box-Muller pair are uncorrelated normals.
  expect_lt(abs(stats::cor(z[c(TRUE, FALSE)], z[c(FALSE, TRUE)])), 4 / sqrt(n / 2))
  expect_identical(engine_noise(100, "normal"), engine_noise(100, "normal"))
  expect_false(identical(engine_noise(100, "uniform"),
                         engine_noise(100, "uniform", step = 8L)))
  expect_false(identical(engine_noise(100, "uniform"),
                         engine_noise(100, "uniform", stream = 4L)))
  expect_false(identical(engine_noise(100, "uniform"),
                         engine_noise(100, "uniform", seed = 12346)))
  # Prefixes agree: draw i does not depend on how many are drawn.
  expect_identical(engine_noise(10, "uniform"), engine_noise(1000, "uniform")[1:10])
})

test_that("engine math entry points reject bad input", {
  expect_error(.Call(perturbgim:::pg_gim_math, 1L, 1L), "double")
  expect_error(.Call(perturbgim:::pg_gim_math, 1, 9L), "`fn`")
  expect_error(engine_noise(-1, "uniform"), "`n`")
  expect_error(engine_noise(10, "uniform", seed = -1), "`seed`")
})
