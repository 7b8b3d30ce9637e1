# Contexts whose cells are the observational cells moved by an exactly
# linear shift of the features: shift_k = offset + features[k, ] %*% B.
# The shifts of means are then exactly linear, with no noise.
linear_shift_data <- function(n_contexts = 12, n_obs = 30, p = 3, d = 4) {
  x0 <- matrix(stats::rnorm(n_obs * d), n_obs, d,
               dimnames = list(NULL, paste0("g", seq_len(d))))
  features <- matrix(stats::rnorm(n_contexts * p, sd = c(1, 5, 0.2)[seq_len(p)]),
                     n_contexts, p, byrow = TRUE,
                     dimnames = list(sprintf("k%02d", seq_len(n_contexts)),
                                     paste0("f", seq_len(p))))
  B <- matrix(stats::runif(p * d, -2, 2), p, d)
  offset <- stats::runif(d, -1, 1)
  shifts <- sweep(features %*% B, 2L, offset, "+")
  x <- rbind(x0, do.call(rbind, lapply(seq_len(n_contexts), function(k) {
    sweep(x0, 2L, shifts[k, ], "+")
  })))
  context <- c(rep("control", n_obs), rep(rownames(features), each = n_obs))
  list(x = x, context = context, features = features, B = B, offset = offset,
       x0 = x0)
}

test_that("the additive model recovers an exactly linear shift", {
  set.seed(1)
  toy <- linear_shift_data()
  fit <- fit_baseline(toy$x, toy$context, toy$features, method = "additive")
  expect_s3_class(fit, c("perturbgim_baseline_additive", "perturbgim_baseline"),
                  exact = TRUE)
  # Cross-validation prefers no penalty on noise-free data.
  expect_identical(fit$lambda, 0)
  expect_equal(nrow(fit$cv), 14L)
  expect_equal(fit$cv$cv_error[1], 0, tolerance = 1e-12)
  # Coefficients are for standardised features: divide by the scale.
  expect_equal(unname(fit$coefficients / fit$feature_scale), toy$B, tolerance = 1e-10)
  new <- matrix(stats::rnorm(15), 5, 3, dimnames = list(paste0("new", 1:5),
                                                         c("f1", "f2", "f3")))
  expected <- sweep(new %*% toy$B, 2L, toy$offset + colMeans(toy$x0), "+")
  expect_equal(predict(fit, new, type = "mean"), expected, tolerance = 1e-10,
               ignore_attr = TRUE)
  expect_identical(dimnames(predict(fit, new, type = "mean")),
                   list(rownames(new), colnames(toy$x)))
  # Samples are the observational cells moved by the predicted shift.
  s <- predict(fit, new[2, , drop = FALSE])
  expect_identical(attr(s, "context"), rep("new2", nrow(toy$x0)))
  attributes(s) <- list(dim = dim(s))
  expect_equal(s, unname(sweep(toy$x0, 2L, drop(new[2, ] %*% toy$B) + toy$offset, "+")),
               tolerance = 1e-10)
})

test_that("a given penalty gives the closed-form ridge solution", {
  set.seed(2)
  toy <- linear_shift_data(n_contexts = 10)
  toy$x <- toy$x + stats::rnorm(length(toy$x), sd = 0.3)
  fit <- fit_baseline(toy$x, toy$context, toy$features, method = "additive",
                      control = baseline_control(lambda = 0.3))
  expect_null(fit$cv)
  expect_identical(fit$lambda, 0.3)
  z <- scale(toy$features)
  y <- fit$shifts
  K <- nrow(z)
  zc <- sweep(z, 2L, colMeans(z))
  yc <- sweep(y, 2L, colMeans(y))
  w <- solve(crossprod(zc) + K * 0.3 * diag(3), crossprod(zc, yc))
  expect_equal(unname(fit$coefficients), unname(w), tolerance = 1e-10)
  expect_equal(unname(fit$intercept), unname(colMeans(y)), tolerance = 1e-10)
  expect_identical(dimnames(fit$coefficients), list(c("f1", "f2", "f3"), colnames(toy$x)))
})

test_that("cross-validation shrinks shifts that the features do not explain", {
  set.seed(3)
  toy <- linear_shift_data(n_contexts = 15)
  # Shifts unrelated to the features: permute the context labels' features.
  toy$features <- toy$features[sample(nrow(toy$features)), ]
  rownames(toy$features) <- sprintf("k%02d", seq_len(15))
  fit <- fit_baseline(toy$x, toy$context, toy$features, method = "additive")
  expect_gte(fit$lambda, 1)
  expect_equal(min(fit$cv$cv_error), fit$cv$cv_error[fit$cv$lambda == fit$lambda])
  none <- fit_baseline(toy$x, toy$context, toy$features, method = "additive",
                       control = baseline_control(lambda = 0))
  expect_lt(sum(fit$coefficients^2), sum(none$coefficients^2) / 2)
})

test_that("collinear one-hot features and a single context work", {
  set.seed(4)
  x <- matrix(stats::rnorm(120), 60, 2, dimnames = list(NULL, c("a", "b")))
  context <- rep(c("ctrl", "A", "B", "C"), each = 15)
  x[context == "A", 1] <- x[context == "A", 1] + 3
  x[context == "C", 2] <- x[context == "C", 2] - 2
  # Three one-hot columns sum to 1: collinear with the intercept.
  features <- diag(3)
  dimnames(features) <- list(c("A", "B", "C"), c("is_A", "is_B", "is_C"))
  fit <- fit_baseline(x, context, features, method = "additive",
                      control = baseline_control(lambda = 0))
  means <- rowsum(x, context)[c("A", "B", "C"), ] / 15
  expect_equal(predict(fit, features, type = "mean"), means, ignore_attr = TRUE,
               tolerance = 1e-10)
  one <- fit_baseline(x[context %in% c("ctrl", "A"), ], context[context %in% c("ctrl", "A")],
                      features["A", , drop = FALSE], method = "additive")
  expect_identical(one$lambda, 0)
  expect_null(one$cv)
  expect_equal(predict(one, c(is_A = 0, is_B = 1, is_C = 0), type = "mean"),
               means["A", , drop = FALSE], ignore_attr = TRUE)
})

test_that("baseline_control() checks the penalty and the dose columns", {
  expect_snapshot(print(baseline_control(dose = c("dose_1uM", "dose_value"), lambda = 0.5)))
  expect_snapshot(error = TRUE, baseline_control(lambda = -1))
  expect_snapshot(error = TRUE, baseline_control(lambda = c(1, 2)))
  expect_snapshot(error = TRUE, baseline_control(lambda = NA))
  expect_snapshot(error = TRUE, baseline_control(dose = 3))
  expect_snapshot(error = TRUE, baseline_control(dose = c("a", "a")))
})

test_that("the print method shows the penalty", {
  set.seed(5)
  toy <- linear_shift_data(n_contexts = 5, n_obs = 6)
  expect_snapshot(print(fit_baseline(toy$x, toy$context, toy$features,
                                     method = "additive")))
  expect_snapshot(print(fit_baseline(toy$x, toy$context, toy$features,
                                     method = "additive",
                                     control = baseline_control(lambda = 2))))
})
