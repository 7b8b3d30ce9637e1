# gim_compare() for SingleCellExperiment and Seurat objects: the data are
# read as gim_fit() reads them (interop-sce.R, interop-seurat.R,
# interop-utils.R), the comparison itself is gim_compare.default() on the
# extracted matrices, and the GIM fit comes back as a gim_sce / gim_seurat
# fit, so that predict() on it returns an object again.

#' Compare GIM with the baselines on held-out cells of a SingleCellExperiment
#'
#' Holds out the cells of some contexts of a `SingleCellExperiment` (e.g. a
#' drug at its highest dose), fits a GIM and the baselines on the other
#' cells, predicts the held-out contexts and scores the predictions with
#' [gim_evaluate()], as [gim_compare()] does for matrices.
#'
#' @details
#' The expression, contexts, features, genes and observational cells are
#' read exactly as by [gim_fit.SingleCellExperiment()], from all cells of
#' `x`; the feature encoding (drug levels, dose scaling, or the function
#' given as `features`) is therefore learnt on every perturbed context,
#' held-out ones included, as the features of a new perturbation are known
#' before its cells are. The comparison is then [gim_compare()]'s default
#' method on the cells x genes matrix, so `set.seed()` followed by the same
#' call reproduces the table, and gives the same table as the default method
#' on `t(assay(x, assay.type))[, genes]` with the same labels and features.
#'
#' `test` names the held-out contexts by their labels (with `context =
#' c("drug", "dose_nM")`, e.g. `"Givinostat_10000"`), or flags the held-out
#' cells with one logical per cell; flagged cells must make up whole
#' contexts. Held-out contexts must be perturbed ones.
#'
#' The GIM of the comparison (`attr(result, "fits")$gim`) is a `gim_sce`
#' fit, as from [gim_fit.SingleCellExperiment()] on the training cells:
#' `predict(fit, x[, test])` returns the predicted cells as a
#' `SingleCellExperiment`. The baselines are [fit_baseline()] fits, which
#' predict from feature rows: `attr(result, "features")` holds the feature
#' matrix of every perturbed context of `x`, e.g.
#' `predict(fits$mlp_shift, attr(result, "features")[test, , drop = FALSE])`.
#'
#' @param x A `SingleCellExperiment` or `SummarizedExperiment` with the
#'   training and the held-out cells.
#' @param context,features,assay.type,genes,observational,control_level As
#'   for [gim_fit.SingleCellExperiment()]. With the default features (one
#'   indicator per perturbed context), a held-out single perturbation has an
#'   indicator that training never sets; hold out combinations instead, or
#'   give features that describe the perturbations.
#' @param test The held-out contexts: context labels, or one logical per
#'   cell of `x` (see Details).
#' @param ... Passed to [gim_compare()]'s default method: `methods`,
#'   `mechanism`, `intervention`, `control`, `baseline_control`, `n`,
#'   `metrics`, `reference`, `on_error`, `verbose`.
#' @return A `perturbgim_comparison` table as from [gim_compare()], one row
#'   per method and held-out context, with attributes `"fits"` (the GIM as a
#'   `gim_sce` fit, the baselines as `perturbgim_baseline` fits), `"errors"`
#'   and `"features"` (the feature matrix of all perturbed contexts, one row
#'   per context label).
#' @family single-cell objects
#' @seealso [gim_compare()], [gim_fit.SingleCellExperiment()],
#'   [sciplex_splits()], [plot_metrics()].
#' @examplesIf requireNamespace("SingleCellExperiment", quietly = TRUE)
#' set.seed(1)
#' sce <- simulate_sciplex(n_cells = 15, n_control = 30, n_genes = 60,
#'                         n_module = 6, n_shared_targets = 1,
#'                         n_specific_targets = 1, cell_lines = "A549",
#'                         drugs = c("Belinostat", "Givinostat"))
#' sce <- preprocess_perturbation(sce, min_counts = 10, min_cells = 5,
#'                                n_hvg = 30, n_markers = 5)
#' # Hold out Givinostat at 10 uM; a short illustrative GIM run.
#' res <- gim_compare(sce, context = c("drug", "dose_nM"),
#'                    features = c("drug", "dose_nM"), observational = "control",
#'                    genes = "marker", test = "Givinostat_10000",
#'                    methods = c("gim", "observational", "naive", "additive"),
#'                    mechanism = "linear",
#'                    control = gim_control(steps = 100, n_mc = 4, gim_hidden = 10),
#'                    metrics = c("mean_distance", "pearson_delta"),
#'                    verbose = FALSE)
#' res
#' # The GIM predicts a SingleCellExperiment.
#' fit <- attr(res, "fits")$gim
#' predict(fit, sce[, sce$drug == "Givinostat" & sce$dose_nM == 10000])
#' @export
gim_compare.SingleCellExperiment <- function(x, context, features = NULL, test,
                                             assay.type = "logcounts", genes = NULL,
                                             observational = NULL, ...,
                                             control_level = NULL) {
  call <- match.call()
  env <- rlang::current_env()
  input <- sce_inputs(x, context, features, assay.type, genes, observational, env,
                      control_level)
  test <- compare_test_contexts(test, input$ctx$labels, env)
  compare_interop(input, test, "gim_sce", call, env, ...)
}

#' @rdname gim_compare.SingleCellExperiment
#' @export
gim_compare.SummarizedExperiment <- gim_compare.SingleCellExperiment

#' Compare GIM with the baselines on held-out cells of a Seurat object
#'
#' [gim_compare()] for a `Seurat` object: the cells of the `test` contexts
#' are held out, a GIM and the baselines are fitted on the other cells, and
#' their predictions of the held-out contexts are scored with
#' [gim_evaluate()].
#'
#' @details
#' The data are read as by [gim_fit.Seurat()] (one layer of one assay, the
#' cell metadata `x[[]]` for contexts and features), and compared as by
#' [gim_compare.SingleCellExperiment()], whose Details apply. The GIM of the
#' result is a `gim_seurat` fit: `predict()` on it returns a `Seurat`
#' object.
#'
#' @param x A `Seurat` object with the training and the held-out cells.
#' @param context,features,assay,layer,genes,observational,control_level As
#'   for [gim_fit.Seurat()].
#' @inheritParams gim_compare.SingleCellExperiment
#' @return As [gim_compare.SingleCellExperiment()], with the GIM as a
#'   `gim_seurat` fit.
#' @family single-cell objects
#' @seealso [gim_compare()], [gim_fit.Seurat()].
#' @examplesIf requireNamespace("SeuratObject", quietly = TRUE) && requireNamespace("SingleCellExperiment", quietly = TRUE)
#' set.seed(1)
#' sce <- simulate_sciplex(n_cells = 15, n_control = 30, n_genes = 60,
#'                         n_module = 6, n_shared_targets = 1,
#'                         n_specific_targets = 1, cell_lines = "A549",
#'                         drugs = c("Belinostat", "Givinostat"))
#' counts <- SummarizedExperiment::assay(sce, "counts")
#' seu <- SeuratObject::CreateSeuratObject(
#'   counts, meta.data = as.data.frame(SummarizedExperiment::colData(sce)))
#' # Log-normalised counts; Seurat::NormalizeData(seu) does the same.
#' seu <- SeuratObject::SetAssayData(seu, "data", log1p(counts))
#' res <- gim_compare(seu, context = c("drug", "dose_nM"),
#'                    features = c("drug", "dose_nM"), observational = "control",
#'                    genes = rownames(sce)[1:6], test = "Givinostat_10000",
#'                    methods = c("gim", "observational", "naive"),
#'                    mechanism = "linear",
#'                    control = gim_control(steps = 100, n_mc = 4, gim_hidden = 10),
#'                    metrics = c("mean_distance", "pearson_delta"),
#'                    verbose = FALSE)
#' res
#' @export
gim_compare.Seurat <- function(x, context, features = NULL, test, assay = NULL,
                               layer = "data", genes = NULL, observational = NULL,
                               ..., control_level = NULL) {
  call <- match.call()
  env <- rlang::current_env()
  input <- seurat_inputs(x, context, features, assay, layer, genes, observational, env,
                         control_level)
  test <- compare_test_contexts(test, input$ctx$labels, env)
  compare_interop(input, test, "gim_seurat", call, env, ...)
}

# ---------------------------------------------------------------------------

# The held-out contexts from `test`: context labels, or one logical per cell
# flagging whole contexts.
compare_test_contexts <- function(test, labels, call) {
  if (is.factor(test)) test <- as.character(test)
  if (is.logical(test)) {
    if (length(test) != length(labels)) {
      cli::cli_abort(paste("{.arg test} must be context labels or one logical per cell",
                           "({length(labels)}), not {length(test)} logical{?s}."),
                     call = call)
    }
    if (anyNA(test)) {
      cli::cli_abort("{.arg test} must not contain NA.", call = call)
    }
    if (!any(test)) {
      cli::cli_abort("{.arg test} flags no cell.", call = call)
    }
    held <- unique(labels[test])
    partial <- held[vapply(held, function(k) !all(test[labels == k]), logical(1))]
    if (length(partial)) {
      cli::cli_abort(c(
        "{.arg test} must flag whole contexts.",
        "x" = "{cli::qty(length(partial))}Context{?s} {.val {utils::head(partial, 5)}} {?is/are} only partly flagged.",
        "i" = "All cells of a held-out context are held out; flag them all, or give context labels."
      ), call = call)
    }
    return(held)
  }
  if (!is.character(test) || !length(test) || anyNA(test)) {
    cli::cli_abort(paste("{.arg test} must be context labels or one logical per cell,",
                         "not {describe_value(test)}."), call = call)
  }
  unknown <- setdiff(test, labels)
  if (length(unknown)) {
    cli::cli_abort(c(
      "{.arg test} must name contexts of {.arg x}: {.val {utils::head(unknown, 5)}} {?is/are} not one.",
      "i" = "Contexts: {.val {utils::head(unique(labels), 10)}}."
    ), call = call)
  }
  test
}

# gim_compare.default() on an object's extracted `input`; the GIM fit then
# gets the source of the data, as interop_fit() gives it, with the training
# contexts only (the held-out ones are not part of the fit).
compare_interop <- function(input, test, class, call, env, ...) {
  res <- with_user_call(
    gim_compare.default(input$cells, context = input$ctx$labels,
                        features = input$feat$matrix, test = test, ...),
    "gim_compare.default", env)
  fits <- attr(res, "fits")
  if (!is.null(fits$gim)) {
    train <- input
    train$tab <- input$tab[!input$tab$.context %in% test, , drop = FALSE]
    fits["gim"] <- list(interop_attach_source(fits$gim, train, class, call))
    attr(res, "fits") <- fits
  }
  attr(res, "features") <- input$feat$matrix
  res
}
