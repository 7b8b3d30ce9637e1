# The training trace of a fit, one panel per recorded quantity over steps.

#' Plot the training trace of a fitted GIM
#'
#' Draws the quantities [gim_fit()] records once per chunk of training
#' (`fit$trace`) against the training step, one panel per quantity with its
#' own scale.
#'
#' @details
#' By default every numeric column of the trace with at least one finite
#' value is shown, except `step`, `seconds` and `configs`: typically the
#' objective, the training and held-out log-likelihoods, the acyclicity
#' \eqn{c(G)}, the augmented Lagrangian's `lambda` and `mu`, the inverse
#' temperature `alpha`, the target sparsity weight `beta_I` and the
#' effective sample size `ess` (see [gim_control()]). Logical columns (such
#' as `cyclic`, whether the point estimate had a cycle) are shown as 0/1.
#' Columns that say nothing under the fit's settings are left out: with
#' `acyclicity = "order"` (every graph sample is a DAG) the acyclicity,
#' `lambda`, `mu` and `cyclic`, and with `mc_estimator = "expected"` the
#' `ess` (always `n_mc`); name them in `quantities` to see them anyway.
#'
#' @param fit A `gim` object from [gim_fit()].
#' @param quantities `NULL` (see Details), or names of trace columns to show,
#'   in that order.
#' @return A ggplot object.
#' @family plots
#' @examples
#' set.seed(1)
#' bench <- simulate_gim_benchmark(d = 5, n_perturbations = 4,
#'                                 n_test_perturbations = 0, n_cells = 20,
#'                                 n_observational = 100, n_components = 3)
#' fit <- gim_fit(bench$train$x, bench$train$context, bench$train$features,
#'                mechanism = "linear",
#'                control = gim_control(steps = 100, n_mc = 4, gim_hidden = 10,
#'                                      check_every = 20),
#'                verbose = FALSE)
#' plot_training(fit)
#' plot_training(fit, c("objective", "acyclicity"))
#' @export
plot_training <- function(fit, quantities = NULL) {
  validate_gim(fit)
  tr <- fit$trace
  if (!is.data.frame(tr) || !nrow(tr) || !is.numeric(tr$step)) {
    cli::cli_abort("{.arg fit} has no training trace to plot.")
  }
  plottable <- function(col) {
    (is.numeric(col) || is.logical(col)) && any(is.finite(as.double(col)))
  }
  if (is.null(quantities)) {
    quantities <- setdiff(names(tr)[vapply(tr, plottable, logical(1))],
                          c("step", "seconds", "configs", idle_trace_columns(fit$control)))
  } else {
    if (!is.character(quantities) || !length(quantities) || anyNA(quantities)) {
      cli::cli_abort("{.arg quantities} must be names of trace columns, not {describe_value(quantities)}.")
    }
    unknown <- setdiff(quantities, names(tr))
    if (length(unknown)) {
      cli::cli_abort(c("{.arg quantities} must be columns of the training trace.",
                       "x" = "Not in the trace: {.val {unknown}}.",
                       "i" = "The trace has {.val {names(tr)}}."))
    }
    bad <- quantities[!vapply(tr[quantities], plottable, logical(1))]
    if (length(bad)) {
      cli::cli_abort("{.arg quantities} must be numeric columns with finite values; {.val {bad}} {?is/are} not.")
    }
    quantities <- unique(quantities)
  }
  long <- data.frame(
    step = rep(tr$step, length(quantities)),
    quantity = factor(rep(quantities, each = nrow(tr)), levels = quantities),
    value = unlist(lapply(tr[quantities], as.double), use.names = FALSE)
  )
  long <- long[is.finite(long$value), , drop = FALSE]
  p <- ggplot2::ggplot(long, ggplot2::aes(x = .data$step, y = .data$value))
  # A single chunk of training has no line to draw (ggplot2 would say so
  # once per panel); its points still show.
  if (nrow(tr) > 1L) p <- p + ggplot2::geom_line(colour = "#08519c")
  p +
    ggplot2::geom_point(colour = "#08519c", size = 0.8) +
    ggplot2::facet_wrap(ggplot2::vars(.data$quantity), scales = "free_y") +
    ggplot2::labs(x = "training step", y = NULL, title = "Training trace") +
    ggplot2::theme_bw()
}
