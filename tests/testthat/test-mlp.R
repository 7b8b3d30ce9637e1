test_that("mlp_forward() matches a hand-written net", {
  net <- list(list(weight = matrix(c(1, 2), 1, 2), bias = c(0.5, -0.5)),
              list(weight = matrix(c(1, -1), 2, 1), bias = 3))
  x <- matrix(c(0, 1, -2), 3, 1, dimnames = list(c("a", "b", "c"), NULL))
  expected <- tanh(0.5 + x) - tanh(-0.5 + 2 * x) + 3
  out <- perturbgim:::mlp_forward(net, x)
  expect_equal(out, expected)
  # A net without hidden layers is linear.
  expect_equal(perturbgim:::mlp_forward(net[2], cbind(x, x)),
               x - x + 3)
})

test_that("mlp_activations() keeps every layer, input first, output last", {
  net <- list(list(weight = matrix(c(1, 2), 1, 2), bias = c(0.5, -0.5)),
              list(weight = matrix(c(1, -1), 2, 1), bias = 3))
  x <- matrix(c(0, 1, -2), 3, 1)
  h <- perturbgim:::mlp_activations(net, x)
  expect_length(h, 3L)
  expect_identical(h[[1L]], x)
  expect_equal(h[[2L]], tanh(cbind(0.5 + x, -0.5 + 2 * x)))
  expect_equal(h[[3L]], perturbgim:::mlp_forward(net, x), ignore_attr = TRUE)
})

test_that("glorot_mlp() draws each layer's weights in order from R's stream", {
  set.seed(11)
  net <- perturbgim:::glorot_mlp(c(3, 4, 2))
  set.seed(11)
  w1 <- stats::rnorm(12, sd = sqrt(2 / 7))
  w2 <- stats::rnorm(8, sd = sqrt(2 / 6))
  expect_identical(net[[1L]]$weight, matrix(w1, 3, 4))
  expect_identical(net[[2L]]$weight, matrix(w2, 4, 2))
  expect_identical(net[[2L]]$bias, numeric(2))
})
