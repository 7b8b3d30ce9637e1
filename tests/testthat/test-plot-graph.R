test_that("the heat map shows every edge probability, parents in rows", {
  fit <- make_test_gim(d = 4)
  prob <- edge_probabilities(fit)
  p <- plot_graph(fit)
  expect_s3_class(p, "ggplot")
  expect_identical(nrow(plot_layer_data(p, "GeomTile")), 16L)
  expect_equal(p$data$probability, as.vector(prob))
  expect_identical(as.character(p$data$row), rep(fit$nodes, 4))
  expect_identical(as.character(p$data$col), rep(fit$nodes, each = 4))
  # Dots on the 4 edges of the fixture's graph (all probabilities > 0.7).
  dots <- p$data[p$data$mark, ]
  expect_identical(nrow(plot_layer_data(p, "GeomPoint")), 4L)
  expect_setequal(paste(dots$row, dots$col),
                  c("g1 g2", "g2 g3", "g3 g4", "g1 g3"))
  # A lower threshold marks more.
  expect_gt(sum(plot_graph(fit, threshold = 0.01)$data$mark), 4L)
  expect_plot_saves(p)
})

test_that("the network draws the edges above the threshold as arrows", {
  fit <- make_test_gim(d = 4)
  p <- plot_graph(fit, "network")
  seg <- plot_layer_data(p, "GeomSegment")
  expect_identical(nrow(seg), 4L)
  expect_identical(nrow(plot_layer_data(p, "GeomCurve")), 0L)
  prob <- edge_probabilities(fit)
  # Opacity maps [0, 1] onto [0.15, 1].
  expect_equal(sort(seg$alpha), sort(0.15 + 0.85 * prob[prob > 0.5]))
  # Circle layout: g1 on top at (0, 1), g2 at (1, 0); the arrow g1 -> g2
  # runs from near g1 to near g2 and stops short of both centres.
  nodes <- plot_layer_data(p, "GeomText")
  expect_equal(nodes$x, c(0, 1, 0, -1))
  expect_equal(nodes$y, c(1, 0, -1, 0))
  g12 <- seg[seg$x < 0.5 & seg$y > 0.5 & seg$xend > 0.5, ]
  expect_identical(nrow(g12), 1L)
  expect_true(g12$x > 0 && g12$xend < 1 && g12$y < 1 && g12$yend > 0)
  expect_equal((g12$yend - g12$y) / (g12$xend - g12$x), -1)
  expect_plot_saves(p)
})

test_that("opposite edges are drawn as two arcs", {
  fit <- make_test_gim(d = 3)
  s <- matrix(-2, 3, 3, dimnames = list(fit$nodes, fit$nodes))
  s["g1", "g2"] <- 2
  s["g2", "g1"] <- 1
  s["g2", "g3"] <- 1.5
  fit$graph_latent <- latent_from_scores(s)
  p <- plot_graph(fit, "network")
  expect_identical(nrow(plot_layer_data(p, "GeomSegment")), 1L)
  curves <- plot_layer_data(p, "GeomCurve")
  expect_identical(nrow(curves), 2L)
  expect_equal(sort(curves$alpha), 0.15 + 0.85 * stats::plogis(fit$alpha * c(1, 2)))
  expect_plot_saves(p)
})

test_that("the layered layout puts every gene below its parents", {
  fit <- make_test_gim(d = 4) # g1 -> g2 -> g3 -> g4, g1 -> g3
  p <- plot_graph(fit, "network", layout = "layered")
  nodes <- plot_layer_data(p, "GeomText")
  expect_equal(nodes$y, c(1, 1 / 3, -1 / 3, -1))
  # Two genes on one layer are spread across it.
  fork <- matrix(0L, 3, 3, dimnames = list(paste0("g", 1:3), paste0("g", 1:3)))
  fork["g1", c("g2", "g3")] <- 1L
  fit <- make_test_gim(d = 3, graph = fork)
  nodes <- plot_layer_data(plot_graph(fit, "network", layout = "layered"), "GeomText")
  expect_equal(nodes$y, c(1, -1, -1))
  expect_equal(nodes$x, c(0, -1, 1))
})

test_that("a network with no edge above the threshold still draws the genes", {
  fit <- make_test_gim(d = 3)
  p <- plot_graph(fit, "network", threshold = 0.999)
  expect_identical(nrow(plot_layer_data(p, "GeomText")), 3L)
  expect_identical(nrow(plot_layer_data(p, "GeomSegment")), 0L)
  expect_plot_saves(p)
})

test_that("plot_graph() works on a real, possibly cyclic, fit without warning", {
  fit <- plots_tiny_fit()$fit
  expect_no_warning(p <- plot_graph(fit, "network", layout = "layered"))
  expect_identical(nrow(plot_layer_data(p, "GeomText")), 5L)
  expect_plot_saves(p)
  expect_plot_saves(plot_graph(fit))
})

test_that("plot_graph() rejects bad input clearly", {
  fit <- make_test_gim()
  expect_snapshot(error = TRUE, {
    plot_graph(NULL)
    plot_graph(fit, "tree")
    plot_graph(fit, threshold = 1)
    plot_graph(fit, threshold = c(0.1, 0.2))
    plot_graph(fit, "network", layout = "spring")
  })
})
