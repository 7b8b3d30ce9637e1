#' Energy distance between two samples
#'
#' The energy distance of Székely and Rizzo, `2 E|X - Y| - E|X - X'| - E|Y - Y'|`
#' with Euclidean norms, estimated by V-statistics (averages over all pairs,
#' including each point with itself). It is zero only when the two empirical
#' distributions are equal.
#'
#' `energy::eqdist.e()` reports the scaled statistic
#' `n m / (n + m) * energy_distance(x, y)` for samples of sizes `n` and `m`.
#'
#' @inheritParams mean_distance
#' @param n_threads Number of threads; results do not depend on it.
#' @return A single non-negative number.
#' @references Székely, G. J. and Rizzo, M. L. (2013). Energy statistics: a
#'   class of statistics based on distances. Journal of Statistical Planning
#'   and Inference 143(8), 1249–1272.
#' @family metrics
#' @examples
#' set.seed(1)
#' x <- matrix(rnorm(300), 100, 3)
#' y <- matrix(rnorm(300, mean = 0.5), 100, 3)
#' energy_distance(x, y)
#' @export
energy_distance <- function(predicted, observed, n_threads = default_threads()) {
  predicted <- as_sample_matrix(predicted)
  observed <- as_sample_matrix(observed)
  check_metric_scale(predicted)
  check_metric_scale(observed)
  check_same_variables(predicted, observed, "predicted", "observed")
  .Call(pg_energy_distance, predicted, observed, resolve_threads(n_threads))
}
