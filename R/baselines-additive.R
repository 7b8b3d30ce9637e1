# The "additive" baseline of fit_baseline(): a ridge regression of the
# per-context mean shifts on the standardised features, with the penalty
# chosen by leave-one-context-out cross-validation. Motivated by
# Ahlmann-Eltze, Huber & Anders (2025, Nature Methods), who found such linear
# models as good as deep-learning predictors of perturbation effects.

# The grid of penalties tried by cross-validation (on the scale of one
# standardised feature's variance, see ?fit_baseline). 0 lets exactly linear
# effects be recovered exactly; 100 is close to predicting the mean shift.
additive_lambda_grid <- function() c(0, 10^seq(-4, 2, by = 0.5))

baseline_fit_additive <- function(data, control) {
  shifts <- baseline_training_shifts(data)
  std <- baseline_standardise(data$features)
  cv <- NULL
  lambda <- control$lambda
  if (is.null(lambda)) {
    if (nrow(std$z) >= 2L) {
      cv <- additive_cv(std$z, shifts, additive_lambda_grid())
      # The largest penalty whose error is the smallest up to rounding: on
      # data without noise several penalties fit equally well, and the
      # larger one is the more stable.
      best <- min(cv$cv_error)
      lambda <- max(cv$lambda[cv$cv_error <= best * (1 + 1e-8) + 1e-300])
    } else {
      # One perturbed context: the centred features are 0 and the model is
      # the constant shift whatever the penalty.
      lambda <- 0
    }
  }
  fit <- additive_ridge(std$z, shifts, lambda)
  dimnames(fit$weights) <- list(colnames(std$z), colnames(shifts))
  names(fit$intercept) <- colnames(shifts)
  list(shifts = shifts, feature_center = std$center, feature_scale = std$scale,
       coefficients = fit$weights, intercept = fit$intercept, lambda = lambda,
       cv = cv, control = control)
}

# Ridge regression with a free intercept, for every penalty in `lambda` at
# once: minimises (1/K) sum_k |y_k - b - t(W) z_k|^2 + lambda |W|^2. Through
# the SVD of the centred z, so that lambda = 0 gives the minimum-norm least
# squares fit even when z is rank deficient (one-hot columns are).
additive_ridge_path <- function(z, y, lambda) {
  K <- nrow(z)
  z_mean <- colMeans(z)
  y_mean <- colMeans(y)
  zc <- sweep(z, 2L, z_mean)
  yc <- sweep(y, 2L, y_mean)
  s <- svd(zc)
  keep <- s$d > max(dim(zc)) * max(s$d, 0) * .Machine$double.eps
  d <- s$d[keep]
  v <- s$v[, keep, drop = FALSE]
  uty <- crossprod(s$u[, keep, drop = FALSE], yc)
  lapply(lambda, function(l) {
    w <- v %*% ((d / (d^2 + K * l)) * uty)
    list(weights = w, intercept = drop(y_mean - z_mean %*% w))
  })
}

additive_ridge <- function(z, y, lambda) additive_ridge_path(z, y, lambda)[[1L]]

# Leave-one-context-out error of every penalty: mean over held-out contexts
# and variables of the squared error of the predicted shift.
additive_cv <- function(z, y, lambda) {
  K <- nrow(z)
  err <- numeric(length(lambda))
  for (k in seq_len(K)) {
    path <- additive_ridge_path(z[-k, , drop = FALSE], y[-k, , drop = FALSE], lambda)
    for (i in seq_along(lambda)) {
      pred <- drop(z[k, ] %*% path[[i]]$weights) + path[[i]]$intercept
      err[i] <- err[i] + sum((pred - y[k, ])^2)
    }
  }
  data.frame(lambda = lambda, cv_error = err / (K * ncol(y)))
}

# Predicted shifts for standardised features z (contexts x features).
additive_predict <- function(object, z) {
  out <- z %*% object$coefficients
  unname(out + rep(object$intercept, each = nrow(out)))
}
