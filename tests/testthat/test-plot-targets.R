test_that("plot_targets() draws the target probabilities, contexts x genes", {
  prob <- c(0.9, 0.2, 0.7, 0.1)
  fit <- set_target_probabilities(make_test_gim(d = 4, n_contexts = 3), prob)
  p <- plot_targets(fit)
  expect_s3_class(p, "ggplot")
  tiles <- plot_layer_data(p, "GeomTile")
  expect_identical(nrow(tiles), 12L)
  expect_equal(sort(p$data$probability), sort(rep(prob, each = 3)))
  # First context on top: the highest y position.
  top <- p$data[as.integer(p$data$row) == 3L, ]
  expect_identical(unique(as.character(top$row)), "c1")
  # Dots on the predicted targets: genes g1 and g3 of every context.
  dots <- plot_layer_data(p, "GeomPoint")
  expect_identical(nrow(dots), 6L)
  expect_setequal(as.character(p$data$col[p$data$mark]), c("g1", "g3"))
  expect_plot_saves(p)
})

test_that("plot_targets() takes new features", {
  fit <- make_test_gim(d = 4, p = 3, n_contexts = 3)
  new <- matrix(c(0, 1, 2, 3, 4, 5), 2, 3, dimnames = list(c("a", "b"), fit$feature_names))
  p <- plot_targets(fit, new)
  expect_identical(levels(p$data$row), c("b", "a"))
  # Tiles are listed column by column of the probability matrix.
  expect_equal(matrix(p$data$probability, 2, 4),
               unname(intervention_targets(fit, new)))
  expect_identical(as.character(p$data$row[1:2]), c("a", "b"))
  # Unnamed or repeated rows still get one row each.
  new2 <- rbind(new, new)
  expect_identical(nlevels(plot_targets(fit, new2)$data$row), 4L)
})

test_that("plot_targets() works on a real fit", {
  tiny <- plots_tiny_fit()
  p <- plot_targets(tiny$fit, tiny$bench$test_fully_ood$features)
  expect_identical(nrow(plot_layer_data(p, "GeomTile")),
                   nrow(tiny$bench$test_fully_ood$features) * 5L)
  expect_plot_saves(plot_targets(tiny$fit))
})

test_that("plot_targets() rejects bad input clearly", {
  fit <- make_test_gim()
  no_features <- fit
  no_features$features <- NULL
  expect_snapshot(error = TRUE, {
    plot_targets(list())
    plot_targets(fit, matrix(1, 2, 5))
    plot_targets(fit, fit$features[0, ])
    plot_targets(no_features)
  })
})
