# Observed against predicted marginal distributions of the most affected
# genes of one context: the right half of Fig. 5 of the paper.

#' Plot observed and predicted marginal distributions of top genes
#'
#' Draws the density of each of a few genes in the observed cells of one
#' context and in the cells predicted for it by one or more methods, one
#' panel per gene, as in the right half of Fig. 5 of Schneider et al. (2025).
#'
#' @details
#' **Which genes.** With `genes = NULL` the `n_genes` top genes are shown:
#' with `control` cells given, the genes whose observed mean moved most from
#' the control mean, \eqn{|\bar x^{obs}_j - \bar x^{ctl}_j|} (the marker
#' genes of the perturbation); without `control`, the genes with the largest
#' observed variance. Panels are in that order.
#'
#' Densities are Gaussian kernel estimates ([ggplot2::geom_density()]);
#' pass `adjust` or `bw` through `...` to change the bandwidth.
#' Quasi-discrete data (normalised counts with many zeros) give spiky
#' estimates; that is a property of the data, not of the prediction.
#'
#' @param predicted Predicted cells of the context: a sample matrix (cells in
#'   rows, genes in columns; e.g. from [predict.gim()]) or a named list of
#'   them, one per method (the names label the methods).
#' @param observed Observed cells of the context, a sample matrix with the
#'   same genes (columns) as the predictions.
#' @param genes `NULL` for the top genes (see Details), or the genes to show:
#'   column names or positions.
#' @param n_genes Number of top genes shown when `genes` is `NULL`.
#' @param control `NULL`, or control (unperturbed) cells with the same genes,
#'   used to rank the genes.
#' @param ... Passed to [ggplot2::geom_density()], e.g. `adjust = 2`.
#' @return A ggplot object: one panel per gene, one density per source
#'   (`"observed"` and each method).
#' @family plots
#' @examples
#' set.seed(1)
#' control <- matrix(rnorm(600), 200, 3, dimnames = list(NULL, c("a", "b", "c")))
#' observed <- sweep(control, 2, c(0, 2, -1), "+")
#' predicted <- list(GIM = sweep(control, 2, c(0, 1.8, -0.8), "+"),
#'                   naive = control)
#' plot_marginals(predicted, observed, n_genes = 2, control = control)
#' @export
plot_marginals <- function(predicted, observed, genes = NULL, n_genes = 6,
                           control = NULL, ...) {
  observed <- as_sample_matrix(observed)
  available <- variable_names(observed)
  predicted <- as_method_list(predicted, observed)
  if (!is.null(control)) {
    control <- as_sample_matrix(control)
    check_same_variables(control, observed, "control", "observed")
  }
  if (is.null(genes)) {
    n_genes <- check_count(n_genes)
    genes <- top_marginal_genes(observed, control, n_genes, available)
  } else {
    genes <- check_gene_selection(genes, available)
  }

  sources <- c(list(observed = observed), predicted)
  cols <- match(genes, available)
  long <- do.call(rbind, lapply(names(sources), function(src) {
    x <- sources[[src]][, cols, drop = FALSE]
    data.frame(source = src, gene = rep(genes, each = nrow(x)),
               value = as.vector(x))
  }))
  long$source <- factor(long$source, levels = names(sources))
  long$gene <- factor(long$gene, levels = genes)

  ggplot2::ggplot(long, ggplot2::aes(x = .data$value, colour = .data$source,
                                     fill = .data$source)) +
    ggplot2::geom_density(alpha = 0.15, ...) +
    ggplot2::facet_wrap(ggplot2::vars(.data$gene), scales = "free") +
    ggplot2::labs(x = "expression", y = "density", colour = NULL, fill = NULL) +
    ggplot2::theme_bw()
}

# Predictions as a named list of finite matrices with the genes of observed.
as_method_list <- function(predicted, observed, call = rlang::caller_env()) {
  single <- !is.list(predicted) || is.data.frame(predicted)
  if (single) {
    predicted <- list(predicted = predicted)
  } else {
    nm <- names(predicted)
    if (!length(predicted) || is.null(nm) || anyNA(nm) || any(nm == "")) {
      cli::cli_abort(paste("{.arg predicted} must be a sample matrix or a",
                           "non-empty list of them named by method."),
                     call = call)
    }
    if (anyDuplicated(nm)) {
      cli::cli_abort("{.arg predicted} names method{?s} {.val {unique(nm[duplicated(nm)])}} more than once.",
                     call = call)
    }
    if ("observed" %in% nm) {
      cli::cli_abort(paste("{.arg predicted} must not have a method named",
                           "{.val observed}; that label is the observed cells'."),
                     call = call)
    }
  }
  for (m in names(predicted)) {
    arg <- if (single) "predicted" else sprintf("predicted[[\"%s\"]]", m)
    predicted[[m]] <- as_sample_matrix(predicted[[m]], arg, call = call)
    check_same_variables(predicted[[m]], observed, arg, "observed", call = call)
  }
  predicted
}

# The n genes that moved most from control, or vary most without control.
top_marginal_genes <- function(observed, control, n, available) {
  score <- if (is.null(control)) {
    apply(observed, 2L, stats::var)
  } else {
    abs(colMeans(observed) - colMeans(control))
  }
  score[is.na(score)] <- 0 # one observed cell: no variance to rank by
  available[utils::head(order(-score, seq_along(score)), n)]
}
