# Intervention target probabilities of a fit as a contexts x genes heat map.

#' Plot intervention target probabilities
#'
#' A heat map of [intervention_targets()]: one row per perturbation
#' (context), one column per gene, filled with the probability that the
#' perturbation targets the gene; dots mark the predicted targets
#' (probability above 1/2), the ones [predict.gim()] intervenes on.
#'
#' @param fit A `gim` object from [gim_fit()].
#' @param newdata `NULL` for the training contexts, or perturbation features
#'   as `features` of [intervention_targets()] (rownames label the rows).
#' @return A ggplot object.
#' @family plots
#' @examples
#' set.seed(1)
#' bench <- simulate_gim_benchmark(d = 5, n_perturbations = 4,
#'                                 n_test_perturbations = 2, n_cells = 20,
#'                                 n_observational = 100, n_components = 3)
#' # A short illustrative run (real fits train for 10,000 steps).
#' fit <- gim_fit(bench$train$x, bench$train$context, bench$train$features,
#'                mechanism = "linear",
#'                control = gim_control(steps = 100, n_mc = 4, gim_hidden = 10),
#'                verbose = FALSE)
#' plot_targets(fit)
#' plot_targets(fit, bench$test_fully_ood$features)
#' @export
plot_targets <- function(fit, newdata = NULL) {
  validate_gim(fit)
  if (is.null(newdata)) {
    if (is.null(fit$features)) {
      cli::cli_abort(c("{.arg fit} keeps no training features to plot.",
                       "i" = "Give the features in {.arg newdata}."))
    }
    prob <- intervention_targets(fit, fit$features)
  } else {
    # As intervention_targets(), with errors that name `newdata`.
    prob <- target_probabilities(fit, standardise_features(fit, newdata, "newdata"))
  }
  if (!nrow(prob)) {
    cli::cli_abort("{.arg newdata} must have at least one row (perturbation).")
  }
  # Repeated labels would stack their tiles on one row.
  rownames(prob) <- make.unique(rownames(prob) %||% as.character(seq_len(nrow(prob))))
  probability_heatmap(prob, prob > 0.5, xlab = "gene", ylab = "context",
                      title = "Intervention targets",
                      fill_label = "P(target)")
}
