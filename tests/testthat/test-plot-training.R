test_that("plot_training() draws every recorded quantity against the step", {
  fit <- make_test_gim()
  p <- plot_training(fit)
  expect_s3_class(p, "ggplot")
  expect_identical(as.character(plot_panels(p)$quantity),
                   c("objective", "log_likelihood", "acyclicity", "heldout",
                     "lambda", "mu", "alpha", "beta_I"))
  lines <- plot_layer_data(p, "GeomLine")
  obj <- lines[lines$PANEL == 1, ]
  expect_equal(obj$x, fit$trace$step)
  expect_equal(obj$y, fit$trace$objective)
  expect_plot_saves(p)
})

test_that("plot_training() leaves out what the fit's settings make idle", {
  fit <- make_test_gim()
  fit$trace$ess <- 8
  fit$trace$cyclic <- FALSE
  fit$control$acyclicity <- "order"
  fit$control$mc_estimator <- "expected"
  p <- plot_training(fit)
  expect_identical(as.character(plot_panels(p)$quantity),
                   c("objective", "log_likelihood", "heldout", "alpha", "beta_I"))
  # Named, they are still drawn.
  p <- plot_training(fit, c("acyclicity", "ess"))
  expect_identical(as.character(plot_panels(p)$quantity), c("acyclicity", "ess"))
  # The paper's settings keep every panel.
  fit$control$acyclicity <- "penalty"
  fit$control$mc_estimator <- "marginal"
  expect_true(all(c("acyclicity", "lambda", "mu", "cyclic", "ess") %in%
                    plot_panels(plot_training(fit))$quantity))
})

test_that("plot_training() shows chosen quantities in the order given", {
  fit <- make_test_gim()
  fit$trace$heldout[1:3] <- NA # skipped steps without a held-out check
  p <- plot_training(fit, c("heldout", "objective"))
  expect_identical(as.character(plot_panels(p)$quantity), c("heldout", "objective"))
  pts <- plot_layer_data(p, "GeomPoint")
  expect_identical(sum(pts$PANEL == 1), 7L)
  # Logical columns are drawn as 0/1; all-NA columns are left out by default.
  fit$trace$cyclic <- fit$trace$step < 100
  fit$trace$ess <- NA_real_
  p <- plot_training(fit)
  expect_true("cyclic" %in% plot_panels(p)$quantity)
  expect_false("ess" %in% plot_panels(p)$quantity)
})

test_that("a trace of one chunk is drawn as points, quietly", {
  fit <- make_test_gim()
  fit$trace <- fit$trace[1, ]
  p <- plot_training(fit, c("objective", "alpha"))
  expect_no_message(pts <- plot_layer_data(p, "GeomPoint"))
  expect_equal(pts$y, c(fit$trace$objective, fit$trace$alpha))
  expect_null(plot_layer_data(p, "GeomLine"))
})

test_that("plot_training() works on a real fit", {
  fit <- plots_tiny_fit()$fit
  p <- plot_training(fit)
  expect_identical(nrow(plot_layer_data(p, "GeomPoint")) %% nrow(fit$trace), 0L)
  expect_true("objective" %in% plot_panels(p)$quantity)
  expect_plot_saves(p)
})

test_that("plot_training() rejects bad input clearly", {
  fit <- make_test_gim()
  untrained <- fit
  untrained$trace <- fit$trace[0, ]
  fit$trace$note <- "x"
  fit$trace$ess <- NA_real_
  expect_snapshot(error = TRUE, {
    plot_training(untrained)
    plot_training(fit, c("objective", "loss"))
    plot_training(fit, c("note", "ess"))
    plot_training(fit, 1)
  })
})
