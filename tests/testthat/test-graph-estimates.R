# A fixture whose edge scores u v^T are `scores` exactly.
gim_with_scores <- function(scores, alpha = 2) {
  fit <- make_test_gim(d = nrow(scores), graph = test_gim_graph(nrow(scores)))
  fit$graph_latent <- latent_from_scores(scores)
  fit$alpha <- alpha
  fit
}

named_scores <- function(d, value = -1) {
  nodes <- paste0("g", seq_len(d))
  matrix(value, d, d, dimnames = list(nodes, nodes))
}

test_that("edge probabilities are sigmoid(alpha u v^T) with a zero diagonal", {
  fit <- make_test_gim(d = 5)
  fit$graph_latent$u <- matrix(rnorm(15), 5, 3, dimnames = list(fit$nodes, NULL))
  fit$graph_latent$v <- matrix(rnorm(15), 5, 3, dimnames = list(fit$nodes, NULL))
  fit$alpha <- 1.7
  u <- fit$graph_latent$u
  v <- fit$graph_latent$v
  expected <- matrix(0, 5, 5)
  for (i in 1:5) for (j in 1:5) {
    if (i != j) expected[i, j] <- 1 / (1 + exp(-1.7 * sum(u[i, ] * v[j, ])))
  }
  p <- edge_probabilities(fit)
  expect_equal(unname(p), expected)
  expect_identical(dimnames(p), list(fit$nodes, fit$nodes))
})

test_that("the point estimate of an acyclic fit is 1[u v^T > 0] without warning", {
  fit <- make_test_gim(d = 5)
  expect_no_warning(g <- causal_graph(fit))
  expect_identical(g, test_gim_graph(5))
  expect_type(g, "integer")
  # Probabilities above 1/2 are exactly the edges of G*.
  expect_identical(unname(edge_probabilities(fit) > 0.5), unname(g == 1L))
})

test_that("a positive diagonal score never becomes a self-loop", {
  s <- named_scores(3)
  diag(s) <- 5
  s["g1", "g2"] <- 1
  g <- causal_graph(gim_with_scores(s))
  expect_identical(sum(g), 1L)
  expect_identical(g["g1", "g2"], 1L)
})

test_that("a cycle loses its least probable edge, with a classed warning", {
  s <- named_scores(4)
  s["g1", "g2"] <- 2
  s["g2", "g3"] <- 1.5
  s["g3", "g1"] <- 0.3 # weakest edge of the cycle g1 -> g2 -> g3 -> g1
  s["g3", "g4"] <- 0.1 # weaker, but on no cycle: must stay
  fit <- gim_with_scores(s)
  w <- expect_warning(g <- causal_graph(fit), class = "perturbgim_cyclic_graph")
  expect_match(conditionMessage(w), "dropped 1 edge")
  expect_identical(w$dropped$from, "g3")
  expect_identical(w$dropped$to, "g1")
  expect_equal(w$dropped$probability, plogis(2 * 0.3))
  expected <- (s > 0) * 1L
  expected["g3", "g1"] <- 0L
  expect_identical(g, expected)
})

test_that("edges are ranked by score even when probabilities round to 1", {
  s <- named_scores(3)
  s["g1", "g2"] <- 3
  s["g2", "g3"] <- 2
  s["g3", "g1"] <- 2.5
  fit <- gim_with_scores(s, alpha = 1e4)
  expect_identical(unname(edge_probabilities(fit)[s > 0]), c(1, 1, 1))
  g <- suppressWarnings(causal_graph(fit))
  expect_identical(g["g2", "g3"], 0L)
  expect_identical(sum(g), 2L)
})

test_that("several cycles are all broken, deterministically", {
  s <- named_scores(6)
  # two-cycles g1 <-> g2 and g4 <-> g5, and a three-cycle g2 -> g3 -> g4 ... -> g2
  s["g1", "g2"] <- 1; s["g2", "g1"] <- 0.2
  s["g4", "g5"] <- 0.4; s["g5", "g4"] <- 1.2
  s["g2", "g3"] <- 2; s["g3", "g4"] <- 2; s["g4", "g2"] <- 0.7
  fit <- gim_with_scores(s)
  w <- expect_warning(g <- causal_graph(fit), class = "perturbgim_cyclic_graph")
  expect_match(conditionMessage(w), "dropped 3 edges")
  expect_setequal(paste(w$dropped$from, w$dropped$to),
                  c("g2 g1", "g4 g5", "g4 g2"))
  expect_false(is.null(perturbgim:::topological_order(g)))
  expect_identical(suppressWarnings(causal_graph(fit)), g)
})

test_that("random dense scores give a DAG inside G* with a warning", {
  set.seed(3)
  for (rep in 1:5) {
    s <- named_scores(8)
    s[] <- rnorm(64)
    fit <- gim_with_scores(s)
    g0 <- (s > 0) * 1L
    diag(g0) <- 0L
    w <- expect_warning(g <- causal_graph(fit), class = "perturbgim_cyclic_graph")
    expect_false(is.null(perturbgim:::topological_order(g)))
    expect_true(all(g <= g0))
    expect_identical(sum(g0 - g), nrow(w$dropped))
  }
})

test_that("intervention_targets() runs the targets net on standardised features", {
  fit <- make_test_gim(d = 4, p = 3)
  f <- fit$features
  z <- (f - matrix(fit$feature_center, nrow(f), 3, byrow = TRUE)) /
    matrix(fit$feature_scale, nrow(f), 3, byrow = TRUE)
  expected <- plogis(reference_mlp(fit$phi$targets, z))
  p <- intervention_targets(fit, f)
  expect_equal(unname(p), unname(expected))
  expect_identical(dimnames(p), list(rownames(f), fit$nodes))
  # Missing features: the training features.
  expect_identical(intervention_targets(fit), p)
})

test_that("features are matched by column name, or by position without names", {
  fit <- make_test_gim(d = 4, p = 3)
  f <- fit$features
  p <- intervention_targets(fit, f)
  expect_identical(intervention_targets(fit, f[, c(3, 1, 2)]), p)
  expect_identical(intervention_targets(fit, as.data.frame(f)), p)
  unnamed <- p
  rownames(unnamed) <- NULL
  expect_identical(intervention_targets(fit, unname(f)), unnamed)
  one <- intervention_targets(fit, f[2, ])
  expect_equal(unname(one[1, ]), unname(p[2, ]))
  expect_equal(dim(intervention_targets(fit, f[0, , drop = FALSE])), c(0L, 4L))
})

test_that("intervention_targets() rejects bad fits and features", {
  fit <- make_test_gim(d = 4, p = 3)
  f <- fit$features
  expect_snapshot(error = TRUE, {
    intervention_targets(list(), f)
    intervention_targets(unclass(fit), f)
    intervention_targets(structure(list(nodes = "a"), class = "gim"), f)
    intervention_targets(fit, NULL)
    intervention_targets(fit, "f1")
    intervention_targets(fit, f[, 1:2])
    intervention_targets(fit, unname(f[, 1:2]))
    intervention_targets(fit, cbind(f, extra = 1))
    intervention_targets(fit, c(1, 2))
    intervention_targets(fit, data.frame(f1 = 1, f2 = "a", f3 = 2))
    intervention_targets(fit, f * NA)
    edge_probabilities(42)
    causal_graph(NULL)
  })
  bad <- fit
  bad$alpha <- -1
  expect_error(edge_probabilities(bad), "alpha")
  bad <- fit
  bad$graph_latent$v <- bad$graph_latent$v[, 1:2]
  expect_error(causal_graph(bad), "graph_latent")
})
