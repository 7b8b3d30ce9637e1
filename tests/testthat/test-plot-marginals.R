# Three genes with known means: gene b moved most from control, then c.
marginal_data <- function() {
  withr::with_seed(1, {
    genes <- c("a", "b", "c")
    control <- matrix(rnorm(300), 100, 3, dimnames = list(NULL, genes))
    # Standard deviations 2, 1, 4 (variance ranking: c, a, b), then means
    # shifted by 0, 3, -1.5 (ranking against control: b, c, a).
    observed <- sweep(matrix(rnorm(180), 60, 3, dimnames = list(NULL, genes)),
                      2, c(2, 1, 4), "*")
    observed <- sweep(observed, 2, c(0, 3, -1.5), "+")
    predicted <- list(GIM = observed[1:40, ] + 0.1, naive = control[1:50, ])
    list(control = control, observed = observed, predicted = predicted)
  })
}

test_that("plot_marginals() shows the genes that moved most from control", {
  dat <- marginal_data()
  p <- plot_marginals(dat$predicted, dat$observed, n_genes = 2, control = dat$control)
  expect_s3_class(p, "ggplot")
  panels <- plot_panels(p)
  expect_identical(as.character(panels$gene), c("b", "c"))
  # One density per source and panel: observed, GIM, naive.
  dens <- plot_layer_data(p, "GeomDensity")
  expect_setequal(unique(dens$group), 1:3)
  expect_identical(levels(p$data$source), c("observed", "GIM", "naive"))
  # The plotted values are the cells themselves.
  obs_b <- p$data$value[p$data$source == "observed" & p$data$gene == "b"]
  expect_identical(obs_b, unname(dat$observed[, "b"]))
  gim_c <- p$data$value[p$data$source == "GIM" & p$data$gene == "c"]
  expect_identical(gim_c, unname(dat$predicted$GIM[, "c"]))
  expect_plot_saves(p)
})

test_that("without control the genes are ranked by observed variance", {
  dat <- marginal_data()
  p <- plot_marginals(dat$predicted$GIM, dat$observed, n_genes = 2)
  expect_identical(as.character(plot_panels(p)$gene), c("c", "a"))
  expect_identical(levels(p$data$source), c("observed", "predicted"))
  # n_genes larger than the number of genes shows them all.
  expect_identical(nrow(plot_panels(plot_marginals(dat$predicted, dat$observed))), 3L)
})

test_that("genes can be chosen by name or position, in the order given", {
  dat <- marginal_data()
  p <- plot_marginals(dat$predicted, dat$observed, genes = c("c", "a"))
  expect_identical(as.character(plot_panels(p)$gene), c("c", "a"))
  p <- plot_marginals(dat$predicted, dat$observed, genes = 2)
  expect_identical(as.character(plot_panels(p)$gene), "b")
  # `...` reaches geom_density().
  p <- plot_marginals(dat$predicted, dat$observed, genes = "a", adjust = 3)
  expect_identical(p$layers[[1]]$stat_params$adjust, 3)
})

test_that("matrices without column names get V1, V2, ... labels", {
  dat <- marginal_data()
  obs <- unname(dat$observed)
  p <- plot_marginals(unname(dat$predicted$GIM), obs, n_genes = 1)
  expect_identical(as.character(plot_panels(p)$gene), "V3")
})

test_that("plot_marginals() rejects bad input clearly", {
  dat <- marginal_data()
  expect_snapshot(error = TRUE, {
    plot_marginals(unname(dat$predicted), dat$observed)
    plot_marginals(list(observed = dat$observed), dat$observed)
    plot_marginals(list(a = dat$observed, a = dat$observed), dat$observed)
    plot_marginals(list(GIM = dat$observed[, 1:2]), dat$observed)
    plot_marginals(dat$observed, "cells")
    plot_marginals(dat$observed, dat$observed, genes = c("b", "zz"))
    plot_marginals(dat$observed, dat$observed, genes = 4)
    plot_marginals(dat$observed, dat$observed, n_genes = 0)
    plot_marginals(dat$observed, dat$observed, control = dat$control[, 1:2])
  })
})
