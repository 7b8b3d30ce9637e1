test_that("gim_control() returns validated settings with the documented defaults", {
  ctl <- gim_control()
  expect_s3_class(ctl, "gim_control")
  expect_identical(ctl$steps, 10000L)
  expect_identical(ctl$n_mc, 32L)
  expect_identical(ctl$acyclicity, "order")
  expect_identical(ctl$mc_estimator, "expected")
  expect_true(ctl$standardise)
  expect_identical(ctl$learning_rate, 1e-3)
  expect_identical(ctl$gim_hidden, c(100L, 100L))
  expect_identical(ctl$mechanism_hidden, 5L)
  expect_identical(ctl$power_iterations, 30L)
  expect_identical(ctl$graph_gradient, "straight_through")
  expect_identical(gim_control(graph_gradient = "relaxed")$graph_gradient, "relaxed")
})

test_that("engine settings fill the data-dependent defaults", {
  s <- engine_settings(gim_control(), "mlp", "hard", d = 20, p = 15)
  expect_equal(s$var_z, 1 / 20)
  expect_equal(s$k, 20)
  expect_identical(s$sizes, c(15L, 100L, 100L, 20L))
  s2 <- engine_settings(gim_control(latent_dim = 4, prior_var_z = 2, alpha = 5), "linear",
                        "shift", d = 20, p = 3)
  expect_equal(c(s2$k, s2$var_z, s2$alpha_start, s2$alpha), c(4, 2, 1, 5))
  s3 <- engine_settings(gim_control(alpha = 3, alpha_start = NULL), "mlp", "hard", 5, 2)
  expect_equal(c(s3$alpha_start, s3$alpha), c(3, 3))
})

test_that("gim_control() rejects bad settings by name", {
  expect_snapshot(error = TRUE, {
    gim_control(steps = 0)
    gim_control(n_mc = 1.5)
    gim_control(learning_rate = -1)
    gim_control(beta_M = NA)
    gim_control(gim_hidden = c(10, -1))
    gim_control(mechanism_hidden = 100)
    gim_control(holdout = 1.5)
    gim_control(graph_gradient = "exact")
  })
})

test_that("gim_control() prints its settings", {
  expect_snapshot(print(gim_control(steps = 10, n_threads = 1)))
})
