#' Distances between mean expression profiles
#'
#' `mean_distance()` is the Euclidean distance between the mean of the
#' predicted and the mean of the observed samples. `pearson_delta()` is the
#' Pearson correlation, across variables (genes), of the predicted and the
#' observed mean shift from control: `mean(predicted) - mean(control)` against
#' `mean(observed) - mean(control)`, the usual score of differential
#' expression in single-cell perturbation studies.
#'
#' @param predicted Predicted samples: a numeric matrix, a data frame of
#'   numbers or a sparse `Matrix` (e.g. `dgCMatrix`), samples in rows and
#'   variables in columns.
#' @param observed Observed samples, with the same columns as `predicted`.
#' @param control Control (unperturbed) samples, with the same columns.
#' @return A single number. `pearson_delta()` returns `NA` with a warning when
#'   one of the two shifts is the same for every variable, since a correlation
#'   is then undefined.
#' @family metrics
#' @examples
#' set.seed(1)
#' control <- matrix(rnorm(200), 40, 5)
#' observed <- sweep(matrix(rnorm(200), 40, 5), 2, c(2, 0, -1, 0, 0), "+")
#' predicted <- sweep(matrix(rnorm(200), 40, 5), 2, c(1.5, 0, -1, 0.2, 0), "+")
#' mean_distance(predicted, observed)
#' pearson_delta(predicted, observed, control)
#' @export
mean_distance <- function(predicted, observed) {
  predicted <- as_sample_matrix(predicted)
  observed <- as_sample_matrix(observed)
  check_metric_scale(predicted)
  check_metric_scale(observed)
  check_same_variables(predicted, observed, "predicted", "observed")
  .Call(pg_mean_distance, predicted, observed)
}

#' @rdname mean_distance
#' @export
pearson_delta <- function(predicted, observed, control) {
  predicted <- as_sample_matrix(predicted)
  observed <- as_sample_matrix(observed)
  control <- as_sample_matrix(control)
  check_same_variables(predicted, observed, "predicted", "observed")
  check_same_variables(predicted, control, "predicted", "control")
  if (ncol(predicted) < 2L) {
    cli::cli_abort("{.arg predicted} must have at least 2 variables for a correlation.")
  }
  r <- .Call(pg_pearson_delta, predicted, observed, control)
  if (is.nan(r)) {
    cli::cli_warn(paste("The predicted or the observed shift from control is the",
                        "same for every variable; the correlation is undefined."))
    r <- NA_real_
  }
  r
}
