test_that("autoplot() dispatches to the plot_*() functions", {
  fit <- make_test_gim()
  expect_equal(ggplot2::autoplot(fit)$data, plot_training(fit)$data)
  expect_equal(ggplot2::autoplot(fit, "graph", threshold = 0.2)$data,
               plot_graph(fit, threshold = 0.2)$data)
  net <- ggplot2::autoplot(fit, "network", layout = "layered")
  expect_equal(plot_layer_data(net, "GeomText"),
               plot_layer_data(plot_graph(fit, "network", layout = "layered"), "GeomText"))
  expect_equal(ggplot2::autoplot(fit, "targets")$data, plot_targets(fit)$data)
  expect_plot_saves(ggplot2::autoplot(fit, "targets"))
})

test_that("autoplot() rejects bad input clearly", {
  fit <- make_test_gim()
  expect_snapshot(error = TRUE, {
    ggplot2::autoplot(fit, "dose")
    ggplot2::autoplot(fit, "trace", quantities = "loss")
  })
})
