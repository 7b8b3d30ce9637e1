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

test_that("genes with a known Ensembl ID are labelled by symbol", {
  known <- known_gene_symbols()
  expect_gt(length(known), 5000L)
  expect_true(all(grepl("^ENSG[0-9]{11}$", names(known))))
  ids <- names(known)[1:3]
  expect_identical(gene_labels(c(ids, "g9")), c(unname(known[1:3]), "g9"))
  # versioned IDs too; FALSE keeps the names; labels by name or one per gene
  expect_identical(gene_labels(paste0(ids[1], ".12")), unname(known[1]))
  expect_identical(gene_labels(ids, FALSE), ids)
  expect_identical(gene_labels(c("a", "b"), c(b = "B")), c("a", "B"))
  expect_identical(gene_labels(c("a", "b"), c("x", "x")), c("x", "x 1"))
  fit <- make_test_gim(d = 3)
  fit$nodes <- ids
  p <- plot_graph(fit, "network", layout = "layered")
  expect_setequal(plot_layer_data(p, "GeomText")$label, unname(known[1:3]))
  expect_identical(levels(plot_graph(fit)$data$col), unname(known[1:3]))
  expect_setequal(plot_layer_data(plot_graph(fit, "network", labels = FALSE), "GeomText")$label,
                  ids)
  expect_snapshot(error = TRUE, plot_graph(fit, labels = 1:3))
})

test_that("the network draws at most max_edges edges, the most probable", {
  fit <- make_test_gim(d = 4)
  prob <- edge_probabilities(fit)
  seg <- plot_layer_data(plot_graph(fit, "network", max_edges = 2), "GeomSegment")
  expect_identical(nrow(seg), 2L)
  expect_equal(sort(seg$alpha), 0.15 + 0.85 * sort(prob, decreasing = TRUE)[2:1])
  p <- plot_graph(fit, "network", max_edges = 2, layout = "layered")
  expect_match(p$labels$subtitle, "the 2 most probable of 4 edges")
  expect_snapshot(error = TRUE, {
    plot_graph(fit, max_edges = 0)
    plot_graph(fit, isolated = NA)
  })
})

test_that("the layered network sets genes without an edge aside, or leaves them out", {
  fit <- make_test_gim(d = 4) # g1 -> g2 -> g3 -> g4, g1 -> g3; g4 has P < 0.95
  p <- plot_graph(fit, "network", layout = "layered", threshold = 0.95)
  nodes <- plot_layer_data(p, "GeomText")
  # g1 -> g2 and g1 -> g3 stay: g1 on top, its children below, g4 aside at the bottom
  expect_equal(nodes$y, c(1, 0, 0, -1))
  expect_identical(nodes$colour[4], "grey50")
  expect_match(p$labels$caption, "without a drawn edge")
  p <- plot_graph(fit, "network", layout = "layered", threshold = 0.95, isolated = FALSE)
  expect_identical(nrow(plot_layer_data(p, "GeomText")), 3L)
  expect_plot_saves(p)
  # no edge at all: every gene aside on one row
  p <- plot_graph(fit, "network", layout = "layered", threshold = 0.999)
  expect_equal(plot_layer_data(p, "GeomText")$y, rep(0, 4))
  expect_plot_saves(p)
})

test_that("the layered layout keeps labels apart and arrows pointing down", {
  # A layer of 8 genes wraps onto rows of at most 6; long names, fewer.
  g <- matrix(0L, 9, 9, dimnames = list(paste0("g", 1:9), paste0("g", 1:9)))
  g[1, 2:9] <- 1L
  nodes <- layered_layout(g)
  expect_identical(as.vector(table(nodes$y)), c(2L, 6L, 1L))
  long <- g
  dimnames(long) <- list(sprintf("ENSG%011d", 1:9), sprintf("ENSG%011d", 1:9))
  expect_identical(as.vector(table(layered_layout(long)$y)), c(4L, 4L, 1L))
  # Children follow their parents' order, so the edges do not cross.
  chain <- matrix(0L, 4, 4, dimnames = list(c("a", "b", "c", "d"), c("a", "b", "c", "d")))
  chain["a", "d"] <- 1L
  chain["b", "c"] <- 1L
  nodes <- layered_layout(chain)
  expect_equal(nodes$x[nodes$node == "d"], -1)
  expect_equal(nodes$x[nodes$node == "c"], 1)
  # Edges against the order are dashed arcs; the others end below their start.
  fit <- make_test_gim(d = 3)
  edges <- rbind(c("g1", "g2"), c("g2", "g3"), c("g3", "g1"))
  s <- matrix(-2, 3, 3, dimnames = list(fit$nodes, fit$nodes))
  s[edges] <- c(2, 1.5, 1) # a cycle; g3 -> g1 the weakest
  fit$graph_latent <- latent_from_scores(s)
  p <- plot_graph(fit, "network", layout = "layered")
  seg <- plot_layer_data(p, "GeomSegment")
  expect_true(all(seg$yend < seg$y))
  dashed <- p$layers[[which(vapply(p$layers, function(l) identical(l$aes_params$linetype, "dashed"),
                                   logical(1)))]]
  expect_identical(nrow(dashed$data), 1L)
  expect_identical(c(dashed$data$from, dashed$data$to), c("g3", "g1"))
  expect_plot_saves(p)
})
