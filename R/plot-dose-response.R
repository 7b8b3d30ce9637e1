# The inferred intervention effect of one perturbation against its dose, per
# target gene, with the training data: Fig. 2C of the paper.

#' Plot the inferred intervention effect against dose
#'
#' For one perturbation at a grid of doses, shows what the fitted GIM infers
#' it does to each target gene: the effect of the intervention and the
#' probability that the gene is targeted, against the dose, with the means
#' of the training data at their doses, as in Fig. 2C of Schneider et al.
#' (2025).
#'
#' @details
#' **Effect.** From [predict.gim()] with `type = "parameters"`, for each row
#' of `newdata`: for shift interventions the shift \eqn{\psi_j}; for hard
#' interventions the mean the gene is set to, minus its observational mean
#' (`reference`), so that both read as "change of the gene's mean". The
#' network's output is drawn at every dose, also where the gene is not
#' predicted to be targeted: the panel below gives the target probability
#' (dashed line at 1/2, above which [predict.gim()] intervenes). For
#' `"zilognormal"` models the parameters act on the log scale of the
#' positive part, so the effect is on that scale, not on the data's.
#'
#' **Training data.** With `observed`, each context with a dose gives a
#' point: the mean of the gene over its cells minus `reference`. In the
#' paper's benchmark, these means can differ from the atomic effect because
#' an ancestor of the gene is targeted too.
#'
#' **Reference.** `reference` is the observational mean of every gene. By
#' default it is estimated from 2000 cells drawn from the fitted
#' observational distribution (`predict(fit, NULL, type = "mean")`), only
#' when needed (hard interventions, or `observed` given); `set.seed()` makes
#' it reproducible. Pass the mean of observed control cells to measure
#' effects against the data instead.
#'
#' **Genes.** With `genes = NULL`: the genes predicted to be targeted
#' (probability above 1/2) at some dose, at most six, most probable first;
#' if there is none, the gene with the highest target probability.
#'
#' @param fit A `gim` object from [gim_fit()].
#' @param newdata Features of one perturbation at several doses, one row per
#'   dose, as `newdata` of [predict.gim()] (a list of feature matrices gives
#'   combinations, one per dose).
#' @param dose The dose of every row (context) of `newdata`: a numeric vector.
#' @param genes `NULL` (see Details), or the genes to show: names or
#'   positions among the fit's variables.
#' @param observed `NULL`, or the training data of this perturbation: a list
#'   with `x` (cells x genes, the fit's genes by name or in order),
#'   `context` (the context of every cell) and `dose` (named by context, or
#'   one per cell). Contexts whose dose is `NA` (e.g. observational cells)
#'   are left out.
#' @param reference `NULL` (see Details), or the observational mean of every
#'   gene: a numeric vector, named by gene or in the order of the fit's
#'   variables.
#' @return A ggplot object: one column of panels per gene, the effect on top
#'   and the target probability below.
#' @family plots
#' @examples
#' set.seed(1)
#' bench <- simulate_gim_benchmark(d = 5, n_perturbations = 4,
#'                                 n_test_perturbations = 0, n_cells = 20,
#'                                 n_observational = 100, n_components = 3)
#' # A short illustrative run (real fits train for 10,000 steps).
#' fit <- gim_fit(bench$train$x, bench$train$context, bench$train$features,
#'                mechanism = "linear",
#'                control = gim_control(steps = 100, n_mc = 4, gim_hidden = 10),
#'                verbose = FALSE)
#' # Perturbation P1 at the training and the new test dosages.
#' new <- rbind(bench$train$features, bench$test_partly_ood$features)
#' new <- new[startsWith(rownames(new), "P1_"), ]
#' dose <- bench$truth$dosage[rownames(new)]
#' observed <- c(bench$train, list(dose = bench$truth$dosage))
#' observed$context[!startsWith(observed$context, "P1_")] <- NA
#' ctrl <- bench$train$x[bench$train$context == "observational", ]
#' plot_dose_response(fit, new, dose, observed = observed,
#'                    reference = colMeans(ctrl))
#' @export
plot_dose_response <- function(fit, newdata, dose, genes = NULL,
                               observed = NULL, reference = NULL) {
  validate_gim(fit)
  settings <- stats::predict(fit, newdata, type = "parameters")
  K <- length(settings$labels)
  if (!is.numeric(dose) || length(dose) != K || anyNA(dose) || any(!is.finite(dose))) {
    cli::cli_abort(paste("{.arg dose} must be {K} finite number{?s}, one per",
                         "context of {.arg newdata}, not {describe_numbers(dose)}."))
  }
  dose <- unname(as.double(dose))
  nodes <- fit$nodes
  prob <- settings$probabilities
  genes <- if (is.null(genes)) {
    dose_response_genes(prob)
  } else {
    check_gene_selection(genes, nodes, of = "{.arg fit}")
  }
  hard <- fit$intervention == "hard"
  points <- NULL
  if (hard || !is.null(observed) || !is.null(reference)) {
    reference <- check_reference(fit, reference)
  }
  if (!is.null(observed)) {
    points <- observed_dose_means(observed, nodes, genes)
    points$value <- points$value - reference[as.character(points$gene)]
  }

  effect <- if (hard) {
    sweep(settings$psi_raw$mean, 2L, reference, "-")
  } else {
    settings$psi_raw$shift
  }
  quantities <- c("effect", "target probability")
  order_k <- order(dose)
  curve <- function(m, quantity) {
    data.frame(dose = rep(dose[order_k], length(genes)),
               gene = rep(genes, each = K),
               quantity = quantity,
               value = as.vector(m[order_k, genes, drop = FALSE]))
  }
  curves <- rbind(curve(effect, quantities[1L]), curve(prob, quantities[2L]))
  as_levels <- function(df) {
    if (!is.null(df$gene)) df$gene <- factor(df$gene, levels = genes)
    df$quantity <- factor(df$quantity, levels = quantities)
    df
  }
  curves <- as_levels(curves)
  half <- as_levels(data.frame(quantity = quantities[2L], yintercept = 0.5))
  # Probabilities on their whole range, so panels of different genes and
  # plots of different fits read alike.
  unit_range <- as_levels(data.frame(quantity = quantities[2L], dose = dose[1L],
                                     value = c(0, 1)))

  p <- ggplot2::ggplot(curves, ggplot2::aes(x = .data$dose, y = .data$value)) +
    ggplot2::geom_hline(data = half, ggplot2::aes(yintercept = .data$yintercept),
                        linetype = "dashed", colour = "grey50") +
    ggplot2::geom_blank(data = unit_range) +
    ggplot2::geom_line(colour = "#08519c", linewidth = 0.8)
  if (!is.null(points)) {
    points$quantity <- quantities[1L]
    p <- p + ggplot2::geom_point(data = as_levels(points), colour = "grey20",
                                 alpha = 0.7)
  }
  p +
    ggplot2::facet_grid(rows = ggplot2::vars(.data$quantity),
                        cols = ggplot2::vars(.data$gene), scales = "free_y") +
    ggplot2::labs(x = "dose", y = NULL,
                  subtitle = if (hard) {
                    "effect: intervened mean minus observational mean"
                  } else {
                    "effect: shift of the intervened gene"
                  }) +
    ggplot2::theme_bw()
}

# Genes targeted at some dose, at most six, most probable first; the most
# probable gene when none is.
dose_response_genes <- function(prob) {
  top <- apply(prob, 2L, max)
  ranked <- order(-top, seq_along(top))
  hit <- ranked[top[ranked] > 0.5]
  colnames(prob)[if (length(hit)) utils::head(hit, 6L) else ranked[1L]]
}

# The observational mean of every gene, named by the fit's variables.
check_reference <- function(fit, reference, call = rlang::caller_env()) {
  nodes <- fit$nodes
  if (is.null(reference)) {
    m <- stats::predict(fit, NULL, n = 2000L, type = "mean")
    return(stats::setNames(m[1L, ], nodes))
  }
  if (!is.numeric(reference) || length(reference) != length(nodes) ||
      anyNA(reference) || any(!is.finite(reference))) {
    cli::cli_abort(paste("{.arg reference} must be {length(nodes)} finite",
                         "number{?s}, one per gene, not {describe_numbers(reference)}."),
                   call = call)
  }
  if (!is.null(names(reference))) {
    if (!setequal(names(reference), nodes)) {
      cli::cli_abort(c("{.arg reference} must be named by the genes of {.arg fit}.",
                       "x" = "Not genes of the fit: {.val {setdiff(names(reference), nodes)}}."),
                     call = call)
    }
    reference <- reference[nodes]
  }
  stats::setNames(as.double(reference), nodes)
}

# Per-context means of the chosen genes at each context's dose: a data frame
# dose, gene, context, value.
observed_dose_means <- function(observed, nodes, genes, call = rlang::caller_env()) {
  if (!is.list(observed) || is.data.frame(observed) ||
      !all(c("x", "context", "dose") %in% names(observed))) {
    cli::cli_abort(paste("{.arg observed} must be a list with {.field x},",
                         "{.field context} and {.field dose}, not",
                         "{.obj_type_friendly {observed}}{if (is.list(observed)) ' without them' else ''}."),
                   call = call)
  }
  x <- as_sample_matrix(observed$x, "observed$x", call = call)
  if (is.null(colnames(x))) {
    if (ncol(x) != length(nodes)) {
      cli::cli_abort("{.arg observed$x} must have {length(nodes)} columns (the fit's genes), not {ncol(x)}.",
                     call = call)
    }
    colnames(x) <- nodes
  } else if (!all(genes %in% colnames(x))) {
    cli::cli_abort(c("{.arg observed$x} must have a column for every gene shown.",
                     "x" = "Missing: {.val {setdiff(genes, colnames(x))}}."), call = call)
  }
  context <- observed$context
  if (length(context) != nrow(x) || !(is.character(context) || is.factor(context))) {
    cli::cli_abort("{.arg observed$context} must give the context of each of the {nrow(x)} cells.",
                   call = call)
  }
  context <- as.character(context)
  dose <- observed$dose
  if (!is.numeric(dose)) {
    cli::cli_abort("{.arg observed$dose} must be numeric, not {.obj_type_friendly {dose}}.",
                   call = call)
  }
  cell_dose <- if (!is.null(names(dose))) {
    unname(dose[context])
  } else if (length(dose) == nrow(x)) {
    dose
  } else {
    cli::cli_abort(paste("{.arg observed$dose} must be named by context, or give",
                         "the dose of each of the {nrow(x)} cells."), call = call)
  }
  keep <- !is.na(context) & !is.na(cell_dose)
  if (!any(keep)) {
    cli::cli_abort("{.arg observed} has no cells with both a context and a dose.",
                   call = call)
  }
  ctx <- factor(context[keep], levels = unique(context[keep]))
  means <- rowsum(x[keep, genes, drop = FALSE], ctx, reorder = FALSE) /
    as.vector(table(ctx)[levels(ctx)])
  ctx_dose <- tapply(cell_dose[keep], ctx, mean)
  data.frame(dose = rep(as.vector(ctx_dose[rownames(means)]), length(genes)),
             gene = rep(genes, each = nrow(means)),
             context = rep(rownames(means), length(genes)),
             value = as.vector(means))
}
