# Metrics of several methods side by side, one panel per metric: the left
# half of Fig. 5 of the paper, from the table of gim_evaluate().

#' Plot evaluation metrics by method
#'
#' Compares methods on the per-context metrics of [gim_evaluate()]: one panel
#' per metric (each with its own scale), a box and the individual contexts
#' per method, as in the left half of Fig. 5 of Schneider et al. (2025).
#'
#' @details
#' `table` is [gim_evaluate()]'s result for several methods stacked, with a
#' `method` column added (one row per method and context). With a `setting`
#' column (e.g. `"in distribution"`, `"partly OOD"`, `"fully OOD"`), the
#' settings are on the x axis and the methods side by side within each;
#' otherwise the methods are on the x axis. Methods and settings keep the
#' order of their factor levels, or of first appearance. Missing values (a
#' metric not computed for a method) are left out.
#'
#' Lower is better for every metric except `pearson_delta`,
#' `pearson_delta_perturbed`, `de_overlap`, `de_sign` and the rescaled
#' `*_scaled` scores. The metrics of current practice and the rescaled scores
#' are shown when named in `metrics`.
#'
#' @param table A data frame with a `method` column, metric columns and
#'   optionally a `setting` column.
#' @param metrics Metric columns to show. `NULL`: those of [gim_evaluate()]
#'   (`w2`, `mean_distance`, `kde_nll`, `energy_distance`, `pearson_delta`)
#'   that `table` has.
#' @return A ggplot object, one panel per metric.
#' @family plots
#' @examples
#' set.seed(1)
#' table <- data.frame(
#'   method = rep(c("GIM", "MLP", "naive"), each = 4),
#'   context = rep(paste0("drug", 1:4), 3),
#'   mean_distance = c(rexp(4, 4), rexp(4, 3), rexp(4, 1)),
#'   pearson_delta = c(runif(4, 0.6, 0.9), runif(4, 0.5, 0.9), runif(4, 0, 0.5))
#' )
#' plot_metrics(table)
#' @export
plot_metrics <- function(table, metrics = NULL) {
  if (!is.data.frame(table)) {
    cli::cli_abort("{.arg table} must be a data frame of metrics, not {.obj_type_friendly {table}}.")
  }
  if (!"method" %in% names(table)) {
    cli::cli_abort(c("{.arg table} must have a {.field method} column.",
                     "i" = "Add one to each method's {.fn gim_evaluate} table before stacking them."))
  }
  metrics <- metric_columns(table, metrics)
  has_setting <- "setting" %in% names(table)

  method <- as_ordered_factor(table$method)
  setting <- if (has_setting) as_ordered_factor(table$setting)
  long <- data.frame(
    method = rep(method, length(metrics)),
    metric = factor(rep(metric_label(metrics), each = nrow(table)),
                    levels = metric_label(metrics)),
    value = unlist(lapply(metrics, function(m) as.double(table[[m]])),
                   use.names = FALSE)
  )
  long$x <- if (has_setting) rep(setting, length(metrics)) else long$method
  long <- long[!is.na(long$value), , drop = FALSE]
  if (!nrow(long)) {
    cli::cli_abort("{.arg table} has no values for the metric{?s} {.val {metrics}}.")
  }

  dodge <- ggplot2::position_dodge(width = 0.75)
  ggplot2::ggplot(long, ggplot2::aes(x = .data$x, y = .data$value,
                                     colour = .data$method)) +
    ggplot2::geom_boxplot(outlier.shape = NA, position = dodge) +
    ggplot2::geom_point(position = dodge, size = 1.2, alpha = 0.7) +
    ggplot2::facet_wrap(ggplot2::vars(.data$metric), scales = "free_y") +
    ggplot2::labs(x = if (has_setting) "setting" else "method", y = NULL,
                  colour = "method") +
    ggplot2::theme_bw()
}

# The metric columns to plot: the gim_evaluate() ones present by default,
# otherwise the numeric columns asked for.
metric_columns <- function(table, metrics, call = rlang::caller_env()) {
  known <- c("w2", "mean_distance", "kde_nll", "energy_distance", "pearson_delta")
  if (is.null(metrics)) {
    metrics <- intersect(known, names(table))
    if (!length(metrics)) {
      cli::cli_abort(c("{.arg table} has none of the metric columns of {.fn gim_evaluate}.",
                       "i" = "Expected some of {.field {known}}; name others in {.arg metrics}."),
                     call = call)
    }
    return(metrics)
  }
  if (!is.character(metrics) || !length(metrics) || anyNA(metrics)) {
    cli::cli_abort("{.arg metrics} must be column names of {.arg table}, not {describe_value(metrics)}.",
                   call = call)
  }
  missing <- setdiff(metrics, names(table))
  if (length(missing)) {
    cli::cli_abort(c("{.arg metrics} must be columns of {.arg table}.",
                     "x" = "Not in {.arg table}: {.val {missing}}."), call = call)
  }
  numeric <- vapply(metrics, function(m) is.numeric(table[[m]]), logical(1))
  if (!all(numeric)) {
    cli::cli_abort("{.arg metrics} must be numeric columns; {.val {metrics[!numeric]}} {?is/are} not.",
                   call = call)
  }
  unique(metrics)
}

metric_label <- function(metrics) {
  labels <- c(w2 = "W2 (entropic)", mean_distance = "Mean distance",
              kde_nll = "KDE NLL", energy_distance = "Energy distance",
              pearson_delta = "Pearson (delta)",
              pearson_delta_perturbed = "Pearson (delta vs perturbed)",
              de_overlap = "DE overlap (top k)", de_sign = "DE sign agreement",
              discrimination = "Discrimination")
  ifelse(metrics %in% names(labels), labels[metrics], metrics)
}

# A factor keeping given levels, or the order of first appearance.
as_ordered_factor <- function(x) {
  if (is.factor(x)) droplevels(x) else factor(x, levels = unique(x))
}
