# A shift fixture with constant target probabilities and shifts, so every
# plotted value is known: g1 and g3 are targeted (g1 more probably).
dose_fit <- function(intervention = "shift") {
  fit <- make_test_gim(d = 4, p = 3, intervention = intervention,
                       mechanism = "linear")
  fit <- set_target_probabilities(fit, c(0.7, 0.2, 0.9, 0.1))
  name <- if (intervention == "shift") "shift" else "mean"
  set_psi_constant(fit, name, c(1, 2, 3, 4))
}

dose_rows <- function(fit) {
  new <- fit$features[1:3, ]
  rownames(new) <- c("d2", "d0.5", "d1")
  new
}

test_that("shift effects and target probabilities are drawn against dose", {
  fit <- dose_fit()
  p <- plot_dose_response(fit, dose_rows(fit), dose = c(2, 0.5, 1))
  expect_s3_class(p, "ggplot")
  panels <- plot_panels(p)
  # Targeted genes, most probable first; effect on top, probability below.
  expect_identical(levels(panels$gene), c("g3", "g1"))
  expect_identical(nrow(panels), 4L)
  lines <- plot_layer_data(p, "GeomLine")
  top_g3 <- lines[lines$PANEL == panels$PANEL[panels$gene == "g3" &
                                                 panels$quantity == "effect"], ]
  expect_equal(top_g3$x, c(0.5, 1, 2)) # sorted by dose
  expect_equal(top_g3$y, c(3, 3, 3))
  low_g1 <- lines[lines$PANEL == panels$PANEL[panels$gene == "g1" &
                                                 panels$quantity != "effect"], ]
  expect_equal(low_g1$y, rep(0.7, 3))
  # The 1/2 line only in the probability panels.
  hline <- plot_layer_data(p, "GeomHline")
  expect_setequal(as.integer(hline$PANEL),
                  as.integer(panels$PANEL[panels$quantity != "effect"]))
  expect_equal(unique(hline$yintercept), 0.5)
  expect_plot_saves(p)
})

test_that("hard effects are the intervened mean minus the reference", {
  fit <- dose_fit("hard")
  ref <- c(g1 = 0.5, g2 = 0, g3 = -1, g4 = 0)
  p <- plot_dose_response(fit, dose_rows(fit), dose = c(2, 0.5, 1),
                          genes = c("g1", "g2"), reference = ref[4:1])
  panels <- plot_panels(p)
  expect_identical(levels(panels$gene), c("g1", "g2"))
  lines <- plot_layer_data(p, "GeomLine")
  effect <- lines[lines$PANEL %in% panels$PANEL[panels$quantity == "effect"], ]
  expect_equal(sort(unique(effect$y)), c(0.5, 2)) # 1 - 0.5 and 2 - 0
  # Without a reference, the fitted observational mean (Monte Carlo).
  p1 <- withr::with_seed(4, plot_dose_response(fit, dose_rows(fit), c(2, 0.5, 1),
                                                genes = 3))
  obs_mean <- withr::with_seed(4, predict(fit, NULL, n = 2000, type = "mean"))
  lines <- plot_layer_data(p1, "GeomLine")
  expect_equal(lines$y[1], 3 - obs_mean[1, "g3"])
})

test_that("training data appear as per-context means at their doses", {
  fit <- dose_fit()
  x <- matrix(c(1, 3, 10, 20, 5, 7,      # g1
                0, 0, 0, 0, 0, 0,
                2, 2, 4, 4, 6, 6,        # g3
                0, 0, 0, 0, 0, 0), 6, 4, dimnames = list(NULL, fit$nodes))
  context <- c("a", "a", "b", "b", "ctrl", "ctrl")
  observed <- list(x = x, context = context,
                   dose = c(a = 0.5, b = 1.5, ctrl = NA))
  ref <- c(0, 0, 1, 0)
  p <- plot_dose_response(fit, dose_rows(fit), c(2, 0.5, 1), observed = observed,
                          reference = ref)
  pts <- plot_layer_data(p, "GeomPoint")
  panels <- plot_panels(p)
  g1 <- pts[pts$PANEL == panels$PANEL[panels$gene == "g1" & panels$quantity == "effect"], ]
  expect_equal(g1$x, c(0.5, 1.5))
  expect_equal(g1$y, c(2, 15))
  g3 <- pts[pts$PANEL == panels$PANEL[panels$gene == "g3" & panels$quantity == "effect"], ]
  expect_equal(g3$y, c(1, 3)) # means 2 and 4 minus the reference 1
  # Points only in effect panels; a dose per cell works the same.
  expect_true(all(pts$PANEL %in% panels$PANEL[panels$quantity == "effect"]))
  observed$dose <- c(0.5, 0.5, 1.5, 1.5, NA, NA)
  p2 <- plot_dose_response(fit, dose_rows(fit), c(2, 0.5, 1), observed = observed,
                           reference = ref)
  expect_equal(plot_layer_data(p2, "GeomPoint")$y, pts$y)
  expect_plot_saves(p)
})

test_that("plot_dose_response() works on a real fit with benchmark data", {
  tiny <- plots_tiny_fit()
  bench <- tiny$bench
  new <- rbind(bench$train$features, bench$test_partly_ood$features)
  new <- new[startsWith(rownames(new), "P1_"), ]
  observed <- c(bench$train, list(dose = bench$truth$dosage))
  observed$context[!startsWith(observed$context, "P1_")] <- NA
  ctrl <- bench$train$x[bench$train$context == "observational", ]
  p <- plot_dose_response(tiny$fit, new, bench$truth$dosage[rownames(new)],
                          observed = observed, reference = colMeans(ctrl))
  n_genes <- nlevels(plot_panels(p)$gene)
  expect_gte(n_genes, 1L)
  # Four training dosages of P1, one point each per gene.
  expect_identical(nrow(plot_layer_data(p, "GeomPoint")), 4L * n_genes)
  expect_identical(nrow(plot_layer_data(p, "GeomLine")), 2L * 9L * n_genes)
  expect_plot_saves(p)
})

test_that("plot_dose_response() rejects bad input clearly", {
  fit <- dose_fit()
  new <- dose_rows(fit)
  obs <- list(x = matrix(0, 2, 4), context = c("a", "b"), dose = c(1, 2, 3))
  expect_snapshot(error = TRUE, {
    plot_dose_response(fit, new, dose = c(1, 2))
    plot_dose_response(fit, new, dose = c(1, NA, 2))
    plot_dose_response(fit, new, dose = "high")
    plot_dose_response(fit, new[, 1:2], dose = 1:3)
    plot_dose_response(fit, new, 1:3, genes = "g9")
    plot_dose_response(fit, new, 1:3, reference = c(1, 2))
    plot_dose_response(fit, new, 1:3, reference = c(a = 1, b = 2, c = 3, d = 4))
    plot_dose_response(fit, new, 1:3, observed = matrix(0, 2, 4))
    plot_dose_response(fit, new, 1:3, observed = obs, reference = rep(0, 4))
    plot_dose_response(fit, new, 1:3, observed = list(x = matrix(0, 2, 3),
      context = c("a", "b"), dose = c(1, 2)), reference = rep(0, 4))
    plot_dose_response(fit, new, 1:3, observed = list(x = matrix(0, 2, 4),
      context = c("a", "b"), dose = c(c = 1)), reference = rep(0, 4))
  })
})
