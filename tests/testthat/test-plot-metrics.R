metrics_table <- function() {
  data.frame(
    method = rep(c("naive", "GIM"), each = 4),
    setting = rep(c("partly OOD", "fully OOD"), times = 4),
    context = paste0("c", 1:8),
    n_predicted = 100L,
    mean_distance = c(4, 5, 6, 7, 1, 2, 3, NA),
    pearson_delta = c(0.1, 0.2, 0.3, 0.4, 0.8, 0.7, 0.9, 0.6),
    w2 = NA_real_
  )
}

test_that("plot_metrics() puts methods on the x axis, a panel per metric", {
  tab <- metrics_table()
  tab$setting <- NULL
  p <- plot_metrics(tab)
  expect_s3_class(p, "ggplot")
  # w2 has no values, so it has no panel; the others keep the default order.
  panels <- plot_panels(p)
  expect_identical(as.character(panels$metric), c("Mean distance", "Pearson (delta)"))
  pts <- plot_layer_data(p, "GeomPoint")
  # 7 finite mean distances and 8 correlations.
  expect_identical(nrow(pts), 15L)
  md <- pts[pts$PANEL == panels$PANEL[panels$metric == "Mean distance"], ]
  # Methods in order of appearance: naive at x = 1, GIM at x = 2.
  expect_equal(sort(md$y[round(md$x) == 1]), c(4, 5, 6, 7))
  expect_equal(sort(md$y[round(md$x) == 2]), c(1, 2, 3))
  boxes <- plot_layer_data(p, "GeomBoxplot")
  expect_equal(boxes$middle[boxes$PANEL == 1], c(5.5, 2))
  expect_plot_saves(p)
})

test_that("with a setting column the settings are on the x axis", {
  p <- plot_metrics(metrics_table(), metrics = "pearson_delta")
  expect_identical(nrow(plot_panels(p)), 1L)
  expect_identical(levels(p$data$x), c("partly OOD", "fully OOD"))
  boxes <- plot_layer_data(p, "GeomBoxplot")
  # Two settings x two methods, dodged.
  expect_identical(nrow(boxes), 4L)
  expect_equal(sort(boxes$middle), sort(c(0.2, 0.3, 0.85, 0.65)))
  # Factor levels set the order.
  tab <- metrics_table()
  tab$method <- factor(tab$method, levels = c("GIM", "naive"))
  expect_identical(levels(plot_metrics(tab)$data$method), c("GIM", "naive"))
})

test_that("plot_metrics() takes other numeric columns when named", {
  p <- plot_metrics(metrics_table(), metrics = c("n_predicted", "mean_distance"))
  expect_identical(as.character(plot_panels(p)$metric), c("n_predicted", "Mean distance"))
})

test_that("plot_metrics() rejects bad input clearly", {
  tab <- metrics_table()
  expect_snapshot(error = TRUE, {
    plot_metrics(as.matrix(tab))
    plot_metrics(tab[names(tab) != "method"])
    plot_metrics(tab[c("method", "context")])
    plot_metrics(tab, metrics = c("mean_distance", "sid"))
    plot_metrics(tab, metrics = "context")
    plot_metrics(tab, metrics = 3)
    plot_metrics(tab, metrics = "w2")
  })
})
