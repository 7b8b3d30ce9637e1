#' Kernel density negative log-likelihood
#'
#' Fits a Gaussian kernel density estimate (KDE) to the `predicted` samples
#' and returns the mean negative log-likelihood of the `observed` samples
#' under it. Lower is better. With the default Scott bandwidth the value is
#' the one of `scipy.stats.gaussian_kde(predicted.T).logpdf(observed.T)`,
#' negated and averaged, as used in the evaluation of Schneider et al. (2025).
#'
#' @param predicted Predicted samples (the kernel centres): a numeric matrix,
#'   a data frame of numbers or a sparse `Matrix` (e.g. `dgCMatrix`), samples
#'   in rows and variables in columns.
#' @param observed Observed samples at which the density is evaluated, with
#'   the same columns as `predicted`.
#' @param bandwidth How the kernel covariance `H` is chosen: `"scott"`
#'   (default) or `"silverman"`, the rules of `scipy.stats.gaussian_kde`, or a
#'   single positive number `h` for the isotropic kernel `H = h^2 I`.
#' @param ridge Regularisation of a singular kernel covariance, relative to
#'   its mean diagonal (see Details). `0` turns regularisation off, so that a
#'   singular covariance is an error, as in scipy.
#' @param n_threads Number of threads. The result does not depend on it.
#' @return A single number,
#'   `-mean_i log( mean_j N(observed_i; predicted_j, H) )`.
#' @details
#' With `m` predicted samples in `d` variables and `S` their covariance
#' (unbiased, divisor `m - 1`), the kernel covariance is
#' * `"scott"`: `H = m^(-2 / (d + 4)) S`;
#' * `"silverman"`: `H = (m (d + 2) / 4)^(-2 / (d + 4)) S`;
#' * a number `h`: `H = h^2 I`, whatever the spread of the data.
#'
#' The two rules need `m >= 2`. The density of each observed point is
#' computed in log space (log-sum-exp over the predicted samples), so a point
#' far from every predicted one gives a large but finite value, never `Inf`.
#'
#' **Singular covariance.** Constant variables (common in single-cell data),
#' fewer predicted samples than variables (`m <= d`) or exactly collinear
#' variables make `S` singular, and scipy then fails. Here `H` counts as
#' singular when its Cholesky factorisation fails or a pivot falls below
#' `1e-7` of the square root of its diagonal entry (a variable equal to a
#' linear function of the others up to `1e-7` of its own standard deviation,
#' the tolerance of [qr()]). Such an `H` is regularised: the rows and columns
#' of constant variables are set to zero, and `lambda = ridge * mean(diag(H))`
#' (`lambda = ridge` when every variable is constant) is added to the
#' diagonal. A warning of class `perturbgim_singular_bandwidth` says which
#' columns are constant and how large `lambda` is. A constant predicted
#' variable thus gets a narrow kernel: observed values equal to the constant
#' score well, any other value is penalised heavily. A non-singular `H` is
#' used as it is, so results agree with scipy whenever scipy gives one.
#'
#' **Computation.** Both sample sets are centred and whitened with the
#' Cholesky factor of `H`; the `m x n` cross products come from BLAS
#' (`dgemm`) in tiles of bounded memory, and the log-sum-exp over predicted
#' samples runs in parallel over observed samples. Time is `O(m n d)`, memory
#' `O((m + n) d)`.
#' @references
#' Schneider, N., Lorch, L., Kilbertus, N., Schölkopf, B. and Krause, A.
#' (2025). Generative intervention models for causal perturbation modeling.
#' *Proceedings of the 42nd International Conference on Machine Learning*.
#' \doi{10.48550/arXiv.2503.19149}
#'
#' Scott, D. W. (1992). *Multivariate Density Estimation: Theory, Practice,
#' and Visualization*. Wiley.
#'
#' Silverman, B. W. (1986). *Density Estimation for Statistics and Data
#' Analysis*. Chapman and Hall.
#'
#' Virtanen, P. et al. (2020). SciPy 1.0: fundamental algorithms for
#' scientific computing in Python. *Nature Methods*, 17, 261--272
#' (`scipy.stats.gaussian_kde`).
#' @family metrics
#' @examples
#' set.seed(1)
#' observed <- matrix(rnorm(300), 100, 3)
#' good <- matrix(rnorm(300), 100, 3)
#' shifted <- good + 1
#' kde_nll(good, observed)
#' kde_nll(shifted, observed)
#' kde_nll(good, observed, bandwidth = 0.5)
#'
#' # A constant variable: regularised, with a warning. Its narrow kernel
#' # rewards observed values equal to the constant.
#' constant <- cbind(good[, 1:2], 0)
#' suppressWarnings(kde_nll(constant, cbind(observed[, 1:2], 0)))
#' @export
kde_nll <- function(predicted, observed, bandwidth = "scott", ridge = 1e-6,
                    n_threads = default_threads()) {
  predicted <- as_sample_matrix(predicted)
  observed <- as_sample_matrix(observed)
  check_metric_scale(predicted)
  check_metric_scale(observed)
  check_same_variables(predicted, observed, "predicted", "observed")
  rule <- check_kde_bandwidth(bandwidth)
  if (!is.numeric(ridge) || length(ridge) != 1L || !is.finite(ridge) ||
      ridge < 0) {
    cli::cli_abort(paste("{.arg ridge} must be a single number >= 0, not",
                         kde_describe(ridge)))
  }
  ridge <- as.double(ridge)
  n_threads <- resolve_threads(n_threads)

  m <- nrow(predicted)
  d <- ncol(predicted)
  if (is.character(rule)) {
    if (m < 2L) {
      cli::cli_abort(c(
        paste("{.arg predicted} must have at least 2 rows (samples) for the",
              "{rule} bandwidth, which needs a covariance; it has {m}."),
        "i" = "Use a numeric {.arg bandwidth} for a single predicted sample."
      ))
    }
    H <- kde_factor(rule, m, d)^2 * kde_covariance(predicted)
  } else {
    H <- diag(rule^2, d)
  }
  dimnames(H) <- NULL

  res <- .Call(pg_kde_nll, predicted, observed, H, n_threads)
  if (!res$ok) {
    if (!is.character(rule)) {
      cli::cli_abort("{.arg bandwidth} = {rule} is too small for a kernel.")
    }
    H <- kde_regularise(H, predicted, ridge)
    res <- .Call(pg_kde_nll, predicted, observed, H, n_threads)
    if (!res$ok) {
      cli::cli_abort(c(
        "The kernel covariance is still singular after regularisation.",
        "i" = "Increase {.arg ridge} (now {ridge})."
      ))
    }
  }
  -mean(res$log_density)
}

# "scott", "silverman" or a single positive number whose square is a
# positive finite double. Returns the rule name or the number.
check_kde_bandwidth <- function(bandwidth, call = rlang::caller_env()) {
  if (is.character(bandwidth) && length(bandwidth) == 1L &&
      !is.na(bandwidth) && bandwidth %in% c("scott", "silverman")) {
    return(bandwidth)
  }
  if (is.numeric(bandwidth) && length(bandwidth) == 1L &&
      is.finite(bandwidth) && bandwidth > 0) {
    h2 <- as.double(bandwidth)^2
    if (h2 > 0 && is.finite(h2)) return(as.double(bandwidth))
  }
  cli::cli_abort(paste("{.arg bandwidth} must be {.val scott}, {.val silverman}",
                       "or a single positive number, not",
                       kde_describe(bandwidth, "bandwidth")),
                 call = call)
}

# cli markup naming a bad argument value: the value itself when it is a
# single atomic one, its type otherwise (e.g. "NULL", "a double vector").
kde_describe <- function(x, name = "ridge") {
  if (is.atomic(x) && length(x) == 1L) {
    sprintf("{.val {%s}}.", name)
  } else {
    sprintf("{.obj_type_friendly {%s}}.", name)
  }
}

# Unbiased sample covariance, centred first (as numpy.cov) and multiplied
# through BLAS (crossprod uses dsyrk and returns an exactly symmetric matrix):
# far faster than stats::cov() for many variables.
kde_covariance <- function(x) {
  centred <- x - rep(colMeans(x), each = nrow(x))
  crossprod(centred) / (nrow(x) - 1)
}

# Bandwidth factors of scipy.stats.gaussian_kde (Scott's and Silverman's
# rules); the kernel covariance is factor^2 times the sample covariance.
kde_factor <- function(rule, m, d) {
  switch(rule,
    scott = m^(-1 / (d + 4)),
    silverman = (m * (d + 2) / 4)^(-1 / (d + 4))
  )
}

# Regularises a singular kernel covariance as documented in kde_nll() and
# warns with class `perturbgim_singular_bandwidth` (an error when ridge = 0).
kde_regularise <- function(H, predicted, ridge, call = rlang::caller_env()) {
  m <- nrow(predicted)
  d <- ncol(predicted)
  constant <- which(vapply(seq_len(d), function(k) {
    all(predicted[, k] == predicted[1L, k])
  }, logical(1)))
  labels <- if (is.null(colnames(predicted))) {
    as.character(constant)
  } else {
    colnames(predicted)[constant]
  }
  why <- character()
  if (length(constant)) {
    why <- c(why, "i" = "Constant column{?s} of {.arg predicted}: {.val {labels}}.")
  }
  if (m <= d) {
    why <- c(why, "i" = paste("{.arg predicted} has {m} sample{?s} for {d}",
                              "variables, too few for a full-rank covariance."))
  }
  if (!length(why)) {
    why <- c("i" = paste("Some columns of {.arg predicted} are (nearly) linear",
                         "combinations of the others."))
  }
  if (ridge == 0) {
    cli::cli_abort(c("The kernel covariance of {.arg predicted} is singular.",
                     why, "i" = "Set {.arg ridge} > 0 to regularise it."),
                   class = "perturbgim_singular_bandwidth", call = call)
  }
  H[constant, ] <- 0
  H[, constant] <- 0
  scale <- mean(diag(H))
  lambda <- ridge * (if (scale > 0) scale else 1)
  lambda_text <- format(lambda, digits = 3)
  cli::cli_warn(c(
    paste("The kernel covariance of {.arg predicted} is singular; added",
          "{lambda_text} ({.arg ridge} x its mean variance) to its diagonal."),
    why
  ), class = "perturbgim_singular_bandwidth", call = call)
  diag(H) <- diag(H) + lambda
  H
}
