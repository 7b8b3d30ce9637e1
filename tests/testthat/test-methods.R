test_that("print() describes the fit and returns it invisibly", {
  fit <- make_test_gim()
  expect_snapshot(print(fit))
  out <- capture.output(res <- withVisible(print(fit)))
  expect_false(res$visible)
  res <- res$value
  expect_identical(res, fit)
  expect_snapshot(print(make_test_gim(mechanism = "linear", intervention = "shift",
                                      d = 3, p = 1)))
  expect_snapshot(print(make_test_gim(mechanism = "zilognormal", n_hidden = 1)))
})

test_that("print() names the observational contexts, truncated", {
  fit <- make_test_gim()
  fit$contexts <- data.frame(context = c("ctrl1", "ctrl2", "ctrl3", "ctrl4", "c1"),
                             n_cells = 10L,
                             perturbed = c(FALSE, FALSE, FALSE, FALSE, TRUE))
  out <- capture.output(print(fit))
  expect_match(out, '4 observational: "ctrl1", "ctrl2", "ctrl3" and 1 more',
               all = FALSE, fixed = TRUE)
})

test_that("print() reports edges dropped from a cyclic point estimate", {
  fit <- make_test_gim(d = 3)
  s <- matrix(-1, 3, 3, dimnames = list(fit$nodes, fit$nodes))
  s["g1", "g2"] <- 2; s["g2", "g3"] <- 2; s["g3", "g1"] <- 0.5
  fit$graph_latent <- latent_from_scores(s)
  expect_no_warning(out <- capture.output(print(fit)))
  expect_match(out, "causal graph: 2 edges (1 dropped to break cycles)",
               all = FALSE, fixed = TRUE)
  expect_snapshot(summary(fit))
})

test_that("a fit without a trace prints its step count from the state", {
  fit <- make_test_gim()
  fit$trace <- fit$trace[0, ]
  out <- capture.output(print(fit))
  expect_match(out, "training: 200 steps$", all = FALSE)
  expect_false(any(grepl("acyclicity", out)))
})

test_that("summary() lists the likeliest edges and the predicted targets", {
  fit <- make_test_gim()
  s <- summary(fit)
  expect_s3_class(s, "summary.gim")
  expect_snapshot(print(s))
  prob <- edge_probabilities(fit)
  expect_identical(nrow(s$edges), 10L)
  expect_identical(s$edges$probability, sort(prob[row(prob) != col(prob)],
                                             decreasing = TRUE)[1:10])
  expect_identical(s$edges$in_graph,
                   causal_graph(fit)[cbind(s$edges$from, s$edges$to)] == 1L)
  expect_identical(nrow(summary(fit, n_edges = 3)$edges), 3L)
  # Targets per training context: observational has none.
  hit <- intervention_targets(fit) > 0.5
  expect_identical(s$contexts$context, fit$contexts$context)
  expect_identical(s$contexts$n_targets, c(0L, unname(as.integer(rowSums(hit)))))
  expect_identical(s$contexts$targets[2],
                   paste(fit$nodes[hit["c1", ]], collapse = ", "))
  expect_identical(s$trace, utils::tail(fit$trace, 5))
  expect_snapshot(error = TRUE, {
    summary(fit, n_edges = -1)
    summary(fit, typo = 1)
  })
})

test_that("coef() gathers the graph, probabilities and parameters", {
  fit <- make_test_gim(mechanism = "linear")
  cf <- coef(fit)
  expect_named(cf, c("graph", "edge_probabilities", "theta", "phi"))
  expect_identical(cf$graph, causal_graph(fit))
  expect_identical(cf$edge_probabilities, edge_probabilities(fit))
  expect_identical(cf$theta, fit$theta)
  expect_identical(cf$phi, fit$phi)
  # Ready for scm(): the fitted causal model.
  expect_s3_class(scm(cf$graph, fit$mechanism, cf$theta), "perturbgim_scm")
})

test_that("logLik() and nobs() report the stored likelihood and counts", {
  fit <- make_test_gim()
  ll <- logLik(fit)
  expect_s3_class(ll, "logLik")
  expect_identical(as.numeric(ll), -412.5)
  expect_identical(attr(ll, "df"), 123L)
  expect_identical(attr(ll, "nobs"), 120L)
  expect_identical(nobs(fit), 120L)
  expect_equal(AIC(fit), 2 * 123 + 2 * 412.5)
  expect_equal(BIC(fit), log(120) * 123 + 2 * 412.5)
  expect_error(logLik(fit, 1), class = "rlib_error_dots_nonempty")
})

test_that("the methods reject objects that are not gim fits", {
  fit <- make_test_gim()
  broken <- fit
  broken$theta <- NULL
  expect_snapshot(error = TRUE, {
    print(broken)
    summary(broken)
    coef(broken)
    perturbgim:::logLik.gim(list())
    perturbgim:::nobs.gim("fit")
    plot(broken)
  })
})

test_that("plot() draws every view and returns the fit invisibly", {
  fit <- make_test_gim()
  path <- withr::local_tempfile(fileext = ".pdf")
  grDevices::pdf(path)
  on.exit(grDevices::dev.off(), add = TRUE)
  expect_invisible(plot(fit))
  expect_identical(withVisible(plot(fit, which = "graph"))$value, fit)
  expect_no_error(plot(fit, which = "targets"))
  expect_no_error(plot(fit, which = c("trace", "graph", "targets")))
  expect_no_error(plot(fit, which = "graph", cex.axis = 0.5))
  # A trace without a held-out score draws the other panels.
  fit2 <- fit
  fit2$trace$heldout <- NA_real_
  expect_no_error(plot(fit2))
  untraced <- fit
  untraced$trace <- NULL
  expect_snapshot(error = TRUE, {
    plot(fit, which = "graf")
    plot(fit, which = 1)
    plot(untraced)
  })
  expect_no_error(plot(untraced, which = "graph"))
})

test_that("the heat maps put the first row on top", {
  fit <- make_test_gim(d = 3)
  prob <- edge_probabilities(fit)
  tiles <- ggplot2::autoplot(fit, "graph")$data
  # ggplot2 draws the tile of factor levels (x, y) at column x, height y
  # counted from the bottom.
  z <- function(x, y) {
    tiles$probability[as.integer(tiles$col) == x & as.integer(tiles$row) == y]
  }
  expect_equal(z(2, 3), prob["g1", "g2"])
  expect_equal(z(1, 2), prob["g2", "g1"])
  expect_equal(z(3, 1), prob["g3", "g3"])
  expect_identical(levels(tiles$col), colnames(prob))
})

test_that("a fit survives saveRDS() and readRDS() with every method", {
  fit <- make_test_gim(mechanism = "zilognormal")
  path <- withr::local_tempfile(fileext = ".rds")
  saveRDS(fit, path)
  back <- readRDS(path)
  expect_identical(back, fit)
  expect_identical(capture.output(print(back)), capture.output(print(fit)))
  expect_identical(summary(back), summary(fit))
  expect_identical(coef(back), coef(fit))
  expect_identical(logLik(back), logLik(fit))
})

test_that("the methods work on a real fit from gim_fit()", {
  real <- real_tiny_fit()
  fit <- real$fit
  out <- capture.output(print(fit))
  expect_match(out[2], "linear Gaussian mechanisms, hard interventions", fixed = TRUE)
  expect_match(out[3], "5 genes, 3 features", fixed = TRUE)
  expect_match(out[4], '17 contexts (1 observational: "observational")', fixed = TRUE)
  expect_match(out[5], "training: 100 steps, final objective", fixed = TRUE)
  s <- summary(fit)
  expect_identical(nrow(s$contexts), 17L)
  obs <- s$contexts$context == "observational"
  expect_identical(s$contexts$n_targets[obs], 0L)
  expect_true(all(s$edges$probability >= 0 & s$edges$probability <= 1))
  ll <- logLik(fit)
  expect_true(is.finite(ll))
  expect_identical(attr(ll, "df"), fit$n_parameters)
  expect_identical(nobs(fit), fit$n_obs)
  expect_lte(nobs(fit), nrow(real$bench$train$x))
  cf <- quietly_cyclic(coef(fit))
  expect_identical(dimnames(cf$graph), list(fit$nodes, fit$nodes))
  expect_s3_class(scm(cf$graph, "linear", cf$theta), "perturbgim_scm")
  path <- withr::local_tempfile(fileext = ".pdf")
  grDevices::pdf(path)
  on.exit(grDevices::dev.off(), add = TRUE)
  expect_no_error(plot(fit, which = c("trace", "graph", "targets")))
})
