# Toy data with a known shift map: context k shifts the means of the three
# variables by features[k, ] %*% shift_map; cells of "ctrl" and "dmso" are
# observational.
toy_data <- function(n_contexts = 30, n_cells = 20, n_obs = 100, sd = 0.05) {
  shift_map <- rbind(c(1, -2, 0.5), c(0, 1.5, -1))
  features <- matrix(stats::runif(2 * n_contexts, -1, 1), n_contexts, 2,
                     dimnames = list(sprintf("k%02d", seq_len(n_contexts)),
                                     c("f1", "f2")))
  base <- c(a = 1, b = 0, c = -1)
  cells <- function(n, shift) {
    matrix(stats::rnorm(3 * n, sd = sd), n, 3) + rep(base + shift, each = n)
  }
  x <- rbind(cells(n_obs / 2, 0), cells(n_obs / 2, 0),
             do.call(rbind, lapply(seq_len(n_contexts), function(k) {
               cells(n_cells, drop(features[k, ] %*% shift_map))
             })))
  colnames(x) <- names(base)
  context <- c(rep(c("ctrl", "dmso"), each = n_obs / 2),
               rep(rownames(features), each = n_cells))
  list(x = x, context = context, features = features, shift_map = shift_map,
       base = base)
}

linear_control <- baseline_control(hidden = integer(0), learning_rate = 0.05,
                                   steps = 1500)

test_that("a linear baseline recovers a known linear shift map", {
  set.seed(1)
  toy <- toy_data()
  fit <- fit_baseline(toy$x, toy$context, toy$features, control = linear_control)
  expect_s3_class(fit, c("perturbgim_baseline_mlp_shift", "perturbgim_baseline"),
                  exact = TRUE)
  new <- matrix(c(0.3, -0.7, 0.9, 0.2), 2, 2, byrow = TRUE,
                dimnames = list(c("new1", "new2"), c("f1", "f2")))
  # Observational mean plus the true shift, up to the noise of ~20 cells.
  expected <- sweep(new %*% toy$shift_map, 2L, toy$base, "+")
  mean_pred <- predict(fit, new, type = "mean")
  expect_equal(dimnames(mean_pred), list(c("new1", "new2"), c("a", "b", "c")))
  expect_equal(unname(mean_pred), unname(expected), tolerance = 0.02)
  # The learnt network is the shift map in standardised feature units.
  w <- fit$network[[1]]$weight
  expect_equal(w / fit$feature_scale, toy$shift_map, tolerance = 0.02,
               ignore_attr = TRUE)
  expect_lt(fit$trace$loss[nrow(fit$trace)], 1e-3)
  expect_lt(fit$trace$loss[nrow(fit$trace)], fit$trace$loss[1] / 100)
})

test_that("the default MLP learns a linear shift map within the training range", {
  set.seed(2)
  toy <- toy_data()
  fit <- fit_baseline(toy$x, toy$context, toy$features,
                      control = baseline_control(steps = 1000))
  new <- matrix(stats::runif(20, -0.8, 0.8), 10, 2,
                dimnames = list(NULL, c("f1", "f2")))
  expected <- sweep(new %*% toy$shift_map, 2L, toy$base, "+")
  err <- sqrt(rowSums((predict(fit, new, type = "mean") - expected)^2))
  expect_lt(max(err), 0.15)
  # Predicting without the features keeps the observational mean: a large error.
  obs <- fit_baseline(toy$x, toy$context, toy$features, method = "observational")
  err_obs <- sqrt(rowSums((predict(obs, new, type = "mean") - expected)^2))
  expect_gt(stats::median(err_obs), 5 * stats::median(err))
})

test_that("samples are the observational cells shifted by the predicted shift", {
  set.seed(3)
  toy <- toy_data(n_contexts = 8)
  fit <- fit_baseline(toy$x, toy$context, toy$features, control = linear_control)
  x0 <- toy$x[toy$context %in% c("ctrl", "dmso"), ]
  new <- toy$features[c(2, 5), ]
  s <- predict(fit, new)
  expect_equal(dim(s), c(2L * nrow(x0), 3L))
  expect_equal(colnames(s), c("a", "b", "c"))
  expect_identical(attr(s, "context"), rep(rownames(new), each = nrow(x0)))
  m <- predict(fit, new, type = "mean")
  first <- s[attr(s, "context") == rownames(new)[1], ]
  expect_equal(unname(first), unname(sweep(x0, 2L, m[1, ] - colMeans(x0), "+")))
  expect_equal(colMeans(first), m[1, ])
  # n cells per context, resampled with replacement from the shifted cells.
  r <- predict(fit, new, n = 7)
  expect_equal(dim(r), c(14L, 3L))
  expect_identical(attr(r, "context"), rep(rownames(new), each = 7))
  back <- sweep(r[8:14, ], 2L, m[2, ] - colMeans(x0))
  matched <- apply(back, 1L, function(v) any(colSums(abs(t(x0) - v)) < 1e-10))
  expect_true(all(matched))
})

test_that("the observational baseline returns the observational cells unchanged", {
  set.seed(4)
  toy <- toy_data(n_contexts = 5)
  fit <- fit_baseline(toy$x, toy$context, toy$features, method = "observational")
  expect_s3_class(fit, c("perturbgim_baseline_observational", "perturbgim_baseline"),
                  exact = TRUE)
  x0 <- toy$x[toy$context %in% c("ctrl", "dmso"), ]
  s <- predict(fit, toy$features[1:2, ])
  expect_equal(unname(s[1:nrow(x0), ]), unname(x0))
  expect_equal(unname(s[nrow(x0) + seq_len(nrow(x0)), ]), unname(x0))
  expect_equal(unname(predict(fit, toy$features[3, ], type = "mean")),
               matrix(colMeans(x0), 1L))
})

test_that("the context table and stored data describe the training set", {
  set.seed(5)
  toy <- toy_data(n_contexts = 4, n_cells = 10, n_obs = 40)
  fit <- fit_baseline(toy$x, factor(toy$context), toy$features,
                      control = linear_control)
  expect_equal(fit$contexts,
               data.frame(context = c("ctrl", "dmso", "k01", "k02", "k03", "k04"),
                          n_cells = c(20L, 20L, 10L, 10L, 10L, 10L),
                          perturbed = c(FALSE, FALSE, TRUE, TRUE, TRUE, TRUE)))
  expect_equal(fit$n_obs, 80L)
  expect_equal(dim(fit$observational), c(40L, 3L))
  expect_equal(fit$nodes, c("a", "b", "c"))
  expect_equal(fit$feature_names, c("f1", "f2"))
  x0_mean <- colMeans(toy$x[1:40, ])
  k3_mean <- colMeans(toy$x[toy$context == "k03", ])
  expect_equal(fit$shifts["k03", ], k3_mean - x0_mean)
  # No newdata: the observational distribution, as predict.gim() has it.
  expect_equal(predict(fit, type = "mean"),
               matrix(x0_mean, 1L, dimnames = list("observational", c("a", "b", "c"))))
  s <- predict(fit, n = 5)
  expect_identical(attr(s, "context"), rep("observational", 5))
  expect_equal(predict(fit, fit$features, type = "mean")["k03", ], k3_mean,
               tolerance = 0.05)
})

test_that("set.seed() reproduces a fit and other seeds differ", {
  toy <- local({ set.seed(6); toy_data(n_contexts = 10) })
  ctl <- baseline_control(hidden = c(8, 4), steps = 50)
  set.seed(10)
  a <- fit_baseline(toy$x, toy$context, toy$features, control = ctl)
  set.seed(10)
  b <- fit_baseline(toy$x, toy$context, toy$features, control = ctl)
  a$call <- b$call <- NULL
  expect_identical(a, b)
  set.seed(11)
  c <- fit_baseline(toy$x, toy$context, toy$features, control = ctl)
  expect_false(identical(a$network, c$network))
  set.seed(12)
  r1 <- predict(a, toy$features, n = 5)
  set.seed(12)
  expect_identical(predict(a, toy$features, n = 5), r1)
})

test_that("a fit survives saveRDS/readRDS and predicts the same", {
  set.seed(7)
  toy <- toy_data(n_contexts = 6)
  fit <- fit_baseline(toy$x, toy$context, toy$features,
                      control = baseline_control(hidden = 5, steps = 30))
  path <- withr::local_tempfile(fileext = ".rds")
  saveRDS(fit, path)
  back <- readRDS(path)
  expect_identical(predict(back, toy$features), predict(fit, toy$features))
  expect_identical(predict(back, toy$features, type = "mean"),
                   predict(fit, toy$features, type = "mean"))
  # Plain data only: nothing that would come back empty.
  is_plain <- function(v) {
    if (is.list(v)) all(vapply(v, is_plain, logical(1))) else
      is.atomic(v) || is.null(v) || is.call(v) || is.name(v)
  }
  expect_true(is_plain(unclass(fit)))
})

test_that("sparse and dense cells give the same fit", {
  skip_if_not_installed("Matrix")
  toy <- local({ set.seed(8); toy_data(n_contexts = 6) })
  ctl <- baseline_control(hidden = 4, steps = 20)
  set.seed(1)
  dense <- fit_baseline(toy$x, toy$context, toy$features, control = ctl)
  set.seed(1)
  sparse <- fit_baseline(Matrix::Matrix(toy$x, sparse = TRUE), toy$context,
                         toy$features, control = ctl)
  expect_equal(sparse$network, dense$network)
  expect_equal(sparse$shifts, dense$shifts)
})

test_that("newdata columns are matched by name; a vector is one context", {
  set.seed(9)
  toy <- toy_data(n_contexts = 6)
  fit <- fit_baseline(toy$x, toy$context, toy$features, control = linear_control)
  new <- toy$features[1:2, ]
  expect_equal(predict(fit, new[, c("f2", "f1")], type = "mean"),
               predict(fit, new, type = "mean"))
  one <- predict(fit, c(f1 = 0.2, f2 = 0.1), type = "mean")
  expect_equal(rownames(one), "1")
  expect_equal(unname(one),
               unname(predict(fit, matrix(c(0.2, 0.1), 1, 2), type = "mean")))
})

test_that("baseline_control() checks its arguments", {
  ctl <- baseline_control(hidden = 50, learning_rate = 0.01, steps = 1000)
  expect_identical(ctl$hidden, 50L)
  expect_identical(ctl$steps, 1000L)
  expect_identical(baseline_control(hidden = integer(0))$hidden, integer(0))
  expect_snapshot(print(ctl))
  expect_snapshot(error = TRUE, baseline_control(hidden = c(10, 0)))
  expect_snapshot(error = TRUE, baseline_control(hidden = "big"))
  expect_snapshot(error = TRUE, baseline_control(learning_rate = -1))
  expect_snapshot(error = TRUE, baseline_control(steps = 2.5))
})

test_that("bad data give clear errors", {
  set.seed(10)
  toy <- toy_data(n_contexts = 4, n_cells = 5, n_obs = 10)
  expect_snapshot(error = TRUE, fit_baseline(toy$x, toy$context[-1], toy$features))
  expect_snapshot(error = TRUE, fit_baseline(toy$x, toy$context,
                                             unname(toy$features)))
  expect_snapshot(error = TRUE, fit_baseline(toy$x, toy$context,
                                             rbind(toy$features, k99 = c(0, 0))))
  expect_snapshot(error = TRUE, fit_baseline(toy$x, toy$context,
                                             toy$features[c(1, 1, 2), ]))
  all_perturbed <- toy$features[c(1, 1:4), ]
  rownames(all_perturbed) <- c("ctrl", rownames(toy$features))
  expect_snapshot(error = TRUE, fit_baseline(toy$x[toy$context != "dmso", ],
                                             toy$context[toy$context != "dmso"],
                                             all_perturbed))
  expect_snapshot(error = TRUE, fit_baseline(toy$x, toy$context, toy$features,
                                             method = "condot"))
  expect_snapshot(error = TRUE, fit_baseline(toy$x, toy$context, toy$features,
                                             control = list(steps = 10)))
  fit <- fit_baseline(toy$x, toy$context, toy$features, method = "observational")
  expect_snapshot(error = TRUE, predict(fit, toy$features[, 1, drop = FALSE]))
  wrong <- toy$features
  colnames(wrong) <- c("f1", "g2")
  expect_snapshot(error = TRUE, predict(fit, wrong))
  expect_snapshot(error = TRUE, predict(fit, c(1, 2, 3)))
  expect_snapshot(error = TRUE, predict(fit, toy$features, n = 0))
  expect_snapshot(error = TRUE, predict(fit, toy$features, type = "targets"))
})

test_that("every data argument fails cleanly on values of the wrong kind", {
  set.seed(11)
  toy <- toy_data(n_contexts = 3, n_cells = 4, n_obs = 8)
  bad_values <- list("NULL" = NULL, string = "a", empty_list = list(), na = NA,
                     na_matrix = matrix(NA_real_, 3, 3),
                     inf_matrix = matrix(c(1, Inf, 0, 1, 2, 3, 1, 0, 1), 3, 3),
                     no_rows = matrix(numeric(0), 0, 3), fun = function() 1)
  args <- list(x = toy$x, context = toy$context, features = toy$features)
  for (arg in names(args)) {
    for (label in names(bad_values)) {
      bad <- args
      bad[arg] <- list(bad_values[[label]])
      err <- expect_error(do.call(fit_baseline, bad))
      expect_match(conditionMessage(err), arg, fixed = TRUE,
                   label = sprintf("the message for %s = <%s>", arg, label))
    }
  }
  fit <- fit_baseline(toy$x, toy$context, toy$features, method = "observational")
  for (label in setdiff(names(bad_values), "NULL")) {
    err <- expect_error(predict(fit, bad_values[[label]]))
    expect_match(conditionMessage(err), "newdata", fixed = TRUE,
                 label = sprintf("the message for newdata = <%s>", label))
  }
})

test_that("a diverging fit stops with an error that suggests a remedy", {
  set.seed(12)
  toy <- toy_data(n_contexts = 5)
  toy$x[toy$context == "k01", ] <- 1e300
  expect_error(
    fit_baseline(toy$x, toy$context, toy$features,
                 control = baseline_control(hidden = 3, steps = 5)),
    "learning_rate"
  )
})

test_that("the print method summarises the fit", {
  set.seed(13)
  toy <- toy_data(n_contexts = 4, n_cells = 5, n_obs = 10)
  fit <- fit_baseline(toy$x, toy$context, toy$features,
                      control = baseline_control(hidden = c(4, 3), steps = 10))
  out <- capture.output(print(fit))
  expect_match(out[1], "MLP mean-shift model: 3 variables, 2 features", fixed = TRUE)
  expect_match(out[2], "30 cells: 4 perturbed contexts, 10 observational cells (ctrl, dmso)",
               fixed = TRUE)
  expect_match(out[3], "hidden layers [4, 3], 10 Adam steps", fixed = TRUE)
  obs <- fit_baseline(toy$x, toy$context, toy$features, method = "observational")
  expect_snapshot(print(obs))
})

test_that("n may give one count per context", {
  set.seed(14)
  toy <- toy_data(n_contexts = 4, n_cells = 5, n_obs = 10)
  fit <- fit_baseline(toy$x, toy$context, toy$features, method = "observational")
  s <- predict(fit, toy$features[1:2, ], n = c(3, 6))
  expect_identical(attr(s, "context"), rep(rownames(toy$features)[1:2], c(3, 6)))
  x0 <- toy$x[toy$context %in% c("ctrl", "dmso"), ]
  expect_true(all(s[, "a"] %in% x0[, "a"]))
  # Equal counts draw as one count does.
  set.seed(15)
  a <- predict(fit, toy$features[1:2, ], n = c(4, 4))
  set.seed(15)
  expect_identical(a, predict(fit, toy$features[1:2, ], n = 4))
  expect_snapshot(error = TRUE, predict(fit, toy$features[1:2, ], n = c(1, 2, 3)))
  expect_snapshot(error = TRUE, predict(fit, toy$features[1:2, ], n = c(1, 0)))
})
