# gim_fit() and predict() for SingleCellExperiment (and SummarizedExperiment)
# objects: genes in rows, cells in columns, annotations in colData/rowData.
# The shared machinery is in interop-utils.R.

#' Fit a GIM to a SingleCellExperiment
#'
#' Fits a generative intervention model ([gim_fit()]) to the cells of a
#' `SingleCellExperiment` (or any `SummarizedExperiment`), reading the
#' expression from an assay, the contexts and perturbation features from
#' `colData` and the genes from `rowData`. [predict()][predict.gim_sce]
#' then returns predicted cells as a `SingleCellExperiment` too.
#'
#' @details
#' **Cells and genes.** Bioconductor objects hold genes in rows and cells in
#' columns; the assay is transposed to cells in rows (sparse assays stay
#' sparse) and passed to [gim_fit.default()] with the other arguments, so
#' `set.seed()` followed by the same call gives the same fit as the default
#' method on `t(assay(x, assay.type))[, genes]`.
#'
#' **Contexts.** A context is an experimental condition whose cells share
#' one distribution, e.g. a drug at a dose in one cell line. With
#' `context = c("drug", "dose_nM")` the labels are the columns' values
#' joined by `"_"` (`"Belinostat_10"`, `"control_0"`).
#'
#' **Features.** `features` gives each perturbed context its perturbation
#' features:
#' * `NULL` (the default): one indicator per perturbed context (a one-hot
#'   encoding of the perturbations, the observational contexts left out), the
#'   features of a screen whose perturbations share nothing the annotations
#'   tell, e.g. one guide per gene. Such features predict the training
#'   perturbations and their combinations (see [predict.gim_sce()]), not new
#'   perturbations, which have no indicator;
#' * names of `colData` columns, encoded by [perturbation_features()]
#'   (one-hot indicators for drugs, numeric columns scaled to `[0, 1]`) on
#'   one row per perturbed context; every column must be constant within a
#'   context;
#' * a function of the per-context table (a data frame of the `colData`
#'   columns that are constant within contexts, one row per perturbed
#'   context), returning a numeric matrix with one row per context, e.g.
#'   [sciplex_features] for the paper's 9 SciPlex3 features;
#' * a numeric matrix with one row per perturbed context, rownames the
#'   context labels, as for [gim_fit.default()].
#'
#' The encoding (levels and scales, or the function) is stored in the fit,
#' so that [predict()][predict.gim_sce] encodes new contexts, given as a
#' data frame or a `SingleCellExperiment`, exactly like the training ones.
#' Contexts whose cells are all `observational` (e.g. vehicle) get no
#' features: they inform the observational model only. With a feature
#' matrix, contexts without a row are observational, as in the default
#' method.
#'
#' **Screens.** A CRISPR or compound screen usually has one condition column
#' (a guide or perturbation per cell) with a control value among its
#' values, e.g. `"NT"` (non-targeting) or `"control"`, rather than a logical
#' control column. Then `context = "guide", control_level = "NT"` is all
#' that is needed: the cells of that context are observational, and the
#' default features give every other guide its own indicator. With several
#' context columns, `control_level` is matched against the first.
#'
#' **The fit.** The result is a `gim` fit with class `gim_sce` in front
#' and an element `source` recording the assay, the context and
#' observational columns, the feature encoding and the training contexts
#' (`context_table`, one row per context with the `colData` columns that are
#' constant within it). Every method for `gim` fits works on it. Store it in
#' the object with [gim_store()].
#'
#' @param x A `SingleCellExperiment` or `SummarizedExperiment`; for
#'   `print()`, a `gim_sce` fit.
#' @param context The context of every cell: names of `colData` columns
#'   (several are combined), or one label per cell.
#' @param features Perturbation features of the perturbed contexts: `NULL`
#'   (default; one indicator per perturbed context), names of `colData`
#'   columns, a function of the per-context table, or a numeric matrix (see
#'   Details).
#' @param assay.type The assay with the expression to model, usually
#'   log-normalised counts (see [preprocess_perturbation()]).
#' @param genes The genes (rows) to model: `NULL` for all, row names, the
#'   name of a logical `rowData` column (e.g. `"marker"` from
#'   [preprocess_perturbation()]), or one logical per row.
#' @param observational Which cells are observational (unperturbed): `NULL`
#'   (none; with a feature matrix, contexts without a row), the name of a
#'   logical `colData` column (e.g. `"control"`), or a logical vector.
#' @param ... Passed to [gim_fit.default()]: `mechanism`, `intervention`,
#'   `control` (a [gim_control()] list), `verbose`. Ignored by `print()`.
#' @param control_level Instead of `observational`: the value (or values)
#'   of the context that marks observational cells, e.g. `"NT"` or
#'   `"control"`, matched against the first `context` column (or the labels
#'   when `context` gives one per cell). Must be given by name. New contexts
#'   with this value are predicted from the observational distribution.
#' @return A `gim_sce` fit: a `gim` object (see [gim_fit()]) with `source`.
#' @family single-cell objects
#' @seealso [predict.gim_sce()], [gim_fit.Seurat()], [gim_store()].
#' @examplesIf requireNamespace("SingleCellExperiment", quietly = TRUE)
#' set.seed(1)
#' sce <- simulate_sciplex(n_cells = 15, n_control = 30, n_genes = 60,
#'                         n_module = 6, n_shared_targets = 1,
#'                         n_specific_targets = 1, cell_lines = "A549",
#'                         drugs = c("Belinostat", "Givinostat"))
#' sce <- preprocess_perturbation(sce, min_counts = 10, min_cells = 5,
#'                                n_hvg = 30, n_markers = 5)
#' # Hold out Givinostat at 10 uM.
#' held <- sce$drug == "Givinostat" & sce$dose_nM == 10000
#' fit <- gim_fit(sce[, !held], context = c("drug", "dose_nM"),
#'                features = c("drug", "dose_nM"), observational = "control",
#'                genes = "marker", mechanism = "linear",
#'                control = gim_control(steps = 200, n_mc = 4, gim_hidden = 10),
#'                verbose = FALSE)
#' fit
#' pred <- predict(fit, sce[, held])
#' pred
#' table(pred$drug, pred$dose_nM)
#' @export
gim_fit.SingleCellExperiment <- function(x, context, features = NULL,
                                         assay.type = "logcounts", genes = NULL,
                                         observational = NULL, ...,
                                         control_level = NULL) {
  call <- match.call()
  input <- sce_inputs(x, context, features, assay.type, genes, observational,
                      rlang::current_env(), control_level)
  interop_fit(input, "gim_sce", call, rlang::current_env(), ...)
}

# What gim_fit() and gim_compare() read from a SummarizedExperiment: cells x
# genes, contexts, observational flags, the per-context table, features and
# the record of where they came from.
sce_inputs <- function(x, context, features, assay.type, genes, observational, env,
                       control_level = NULL) {
  rlang::check_installed(c("SummarizedExperiment", "S4Vectors"), call = env)
  m <- sce_assay(x, assay.type, env)
  meta <- sce_col_data(x)
  ctx <- interop_context(context, meta, "colData(x)", env)
  obs <- interop_observational(observational, meta, "colData(x)", ctx, control_level, env)
  genes <- interop_genes(genes, rownames(m),
                         as.data.frame(SummarizedExperiment::rowData(x)),
                         "rowData(x)", env)
  tab <- context_table(meta, ctx$labels, obs$flag)
  feat <- interop_features(features, meta, tab, obs, "colData(x)", env)
  # Genes in rows -> cells in rows; sparse and delayed matrices stay lazy.
  list(cells = transpose_matrix(m[genes, , drop = FALSE]), ctx = ctx, feat = feat, tab = tab,
       obs = obs,
       source = list(class = if (methods::is(x, "SingleCellExperiment"))
                       "SingleCellExperiment" else "SummarizedExperiment",
                     assay.type = assay.type, genes = genes))
}

#' @rdname gim_fit.SingleCellExperiment
#' @export
gim_fit.SummarizedExperiment <- gim_fit.SingleCellExperiment

#' Predict cells with a GIM fitted to a SingleCellExperiment
#'
#' Samples cells of new or training contexts from a fit made by
#' [gim_fit.SingleCellExperiment()] and returns them as a
#' `SingleCellExperiment`, with the contexts' annotations in `colData` and
#' `predicted = TRUE`, so that the usual tools (and [bind_predictions()]
#' with the observed cells) apply.
#'
#' @details
#' `newdata` gives the contexts to predict:
#' * a `SingleCellExperiment`/`SummarizedExperiment`, e.g. held-out cells:
#'   its contexts (by the fit's `context` columns) are predicted, by default
#'   with as many cells as it has in each;
#' * a data frame or `DataFrame` with one row per context and the columns
#'   the features were made from (and the `context` columns, which give the
#'   labels; otherwise the row names do);
#' * a numeric feature matrix, as for [predict.gim()];
#' * a list of combinations: each element (a data frame of contexts, an
#'   object or a feature matrix) holds contexts applied together, and its
#'   name is the combination's label (by default the labels of its parts
#'   joined with `"+"`);
#' * `NULL`: the observational distribution.
#'
#' **Combinations.** With `combine = TRUE`, all the contexts of `newdata`
#' (the rows of a data frame or feature matrix, or the contexts of an
#' object's cells) are applied together as one perturbation, labelled by
#' their labels joined with `"+"`, e.g. the single-guide contexts `"KLF1"`
#' and `"BAK1"` predict the double perturbation `"KLF1+BAK1"`. Their feature
#' rows are combined as by [predict.gim()] with `combine = TRUE`: the union
#' of their targets. A list gives several combinations at once. The
#' predicted cells carry the combination's label in the context column; an
#' annotation column keeps its value where the parts agree and joins their
#' values with `"+"` where they differ (e.g. `drug = "A+B"`). Combinations
#' are made of perturbed contexts only. Unless `n` is given, 1000 cells are
#' drawn per combination.
#'
#' Contexts are encoded as at fitting time (see
#' [gim_fit.SingleCellExperiment()]); contexts that were observational in
#' training, or whose `observational` column is `TRUE`, are drawn from the
#' fitted observational distribution. A fit made from a feature matrix can
#' predict new contexts from a feature matrix only (it has no encoding).
#'
#' @param object A `gim_sce` fit from [gim_fit.SingleCellExperiment()].
#' @param newdata The contexts to predict (see Details).
#' @param n Cells per context: one number or one per context. `NULL` (the
#'   default) takes the number of cells of each context in `newdata` when it
#'   is an object, and 1000 otherwise.
#' @param type `"samples"` (cells), or `"mean"`, `"targets"`,
#'   `"parameters"`, which return what [predict.gim()] returns.
#' @param output For samples: `"object"` (a `SingleCellExperiment`, or a
#'   `SummarizedExperiment` when the fit was made from one) or `"matrix"`
#'   (cells x genes with attribute `"context"`, as from [predict.gim()]).
#' @param mixture Passed to [predict.gim()].
#' @param combine Whether all contexts of `newdata` form one combined
#'   perturbation (see Details), as for [predict.gim()].
#' @param ... Must be empty.
#' @return For samples with `output = "object"`: a `SingleCellExperiment`
#'   with the fitted genes in rows and the predicted cells in columns
#'   (named `predicted_1`, ...), one assay named like the fit's `assay.type`,
#'   and `colData` with the annotations of each cell's context, its context
#'   label and `predicted = TRUE`. Otherwise as [predict.gim()].
#' @family single-cell objects
#' @inherit gim_fit.SingleCellExperiment examples
#' @export
predict.gim_sce <- function(object, newdata = NULL, n = NULL,
                            type = c("samples", "mean", "targets", "parameters"),
                            output = c("object", "matrix"), mixture = FALSE,
                            combine = FALSE, ...) {
  rlang::check_dots_empty()
  env <- rlang::current_env()
  type <- rlang::arg_match(type)
  output <- check_output(output, env)
  read <- function(nd) {
    if (methods::is(nd, "SummarizedExperiment")) {
      object_contexts(object, sce_col_data(nd), "colData(newdata)", env)
    }
  }
  build <- function(x, cells) {
    sce_from_samples(x, cells, object$source)
  }
  interop_predict(object, newdata, n, type, output, mixture, combine, read, build, env)
}

#' @rdname gim_fit.SingleCellExperiment
#' @export
print.gim_sce <- function(x, ...) {
  NextMethod()
  cat(source_line(x), sep = "\n")
  invisible(x)
}

# ---------------------------------------------------------------------------

# The assay of x, checked; genes in rows.
sce_assay <- function(x, assay.type, call) {
  if (!is.character(assay.type) || length(assay.type) != 1L || is.na(assay.type)) {
    cli::cli_abort("{.arg assay.type} must be a single assay name, not {describe_value(assay.type)}.",
                   call = call)
  }
  available <- SummarizedExperiment::assayNames(x)
  if (!assay.type %in% available) {
    hint <- if (assay.type == "logcounts") {
      c("i" = "Log-normalise the counts first, e.g. with {.fn preprocess_perturbation} or {.fn scuttle::logNormCounts}.")
    }
    cli::cli_abort(c("{.arg x} has no assay {.val {assay.type}}.",
                     "i" = "Assays: {.val {available}}.", hint), call = call)
  }
  m <- SummarizedExperiment::assay(x, assay.type, withDimnames = TRUE)
  if (is.null(rownames(m))) {
    cli::cli_abort("The genes (rows) of {.arg x} must have names.", call = call)
  }
  # Dense, sparse and DelayedArray (e.g. HDF5Array, on disk) assays stay
  # what they are: gim_fit() reads the cells of lazy ones in row blocks.
  if (!is.matrix(m) && !methods::is(m, "Matrix") && !methods::is(m, "DelayedMatrix")) {
    m <- as.matrix(m)
  }
  m
}

sce_col_data <- function(x) {
  cd <- SummarizedExperiment::colData(x)
  df <- as.data.frame(cd, optional = TRUE)
  names(df) <- names(cd)
  df
}

# The per-context table of an object's cells, labelled like the fit's
# training contexts.
object_contexts <- function(fit, meta, where, call) {
  src <- fit$source
  if (is.null(src$context)) {
    cli::cli_abort(c(
      "{.arg newdata} is an object, but the fit's contexts were given as labels, not columns.",
      "i" = "Give {.arg newdata} as a data frame of contexts or a feature matrix."
    ), call = call)
  }
  absent <- setdiff(src$context, names(meta))
  if (length(absent)) {
    cli::cli_abort(c(
      "{.code {where}} lacks {cli::qty(length(absent))}the context column{?s} {.field {absent}}.",
      "i" = "The model's contexts come from the column{?s} {.field {src$context}}."
    ), call = call)
  }
  labels <- context_labels(meta, src$context)
  if (!length(labels)) {
    cli::cli_abort("{.arg newdata} has no cells.", call = call)
  }
  if (anyNA(labels)) {
    cli::cli_abort("The context columns of {.code {where}} have missing values.", call = call)
  }
  obs <- if (!is.null(src$observational) && src$observational %in% names(meta)) {
    meta[[src$observational]] %in% TRUE
  } else {
    rep(FALSE, length(labels))
  }
  obs <- obs | control_level_flag(src, labels, meta)
  context_table(meta, labels, obs)
}

# Predicted cells as a SingleCellExperiment (or SummarizedExperiment).
sce_from_samples <- function(x, cells, source) {
  assays <- stats::setNames(list(t(x)), source$assay.type)
  colnames(assays[[1]]) <- rownames(cells)
  cd <- S4Vectors::DataFrame(cells, check.names = FALSE)
  if (identical(source$class, "SingleCellExperiment")) {
    rlang::check_installed("SingleCellExperiment")
    SingleCellExperiment::SingleCellExperiment(assays = assays, colData = cd)
  } else {
    SummarizedExperiment::SummarizedExperiment(assays = assays, colData = cd)
  }
}

# predicted and observed cells in one SingleCellExperiment.
bind_predictions_se <- function(x, predicted, call = rlang::caller_env()) {
  if (!methods::is(x, "SummarizedExperiment")) {
    cli::cli_abort("{.arg x} must be a SingleCellExperiment like {.arg predicted}, not {.obj_type_friendly {x}}.",
                   call = call)
  }
  assay <- SummarizedExperiment::assayNames(predicted)[1]
  if (!assay %in% SummarizedExperiment::assayNames(x)) {
    cli::cli_abort("{.arg x} has no assay {.val {assay}}, the assay of the predictions.",
                   call = call)
  }
  genes <- rownames(predicted)
  absent <- setdiff(genes, rownames(x))
  if (length(absent)) {
    cli::cli_abort("{.arg x} lacks {length(absent)} predicted gene{?s}: {.val {utils::head(absent, 5)}}.",
                   call = call)
  }
  obs <- SummarizedExperiment::assay(x, assay, withDimnames = TRUE)[genes, , drop = FALSE]
  pred <- SummarizedExperiment::assay(predicted, assay, withDimnames = TRUE)
  if (methods::is(obs, "Matrix")) obs <- as.matrix(obs)
  cd_obs <- sce_col_data(x)
  cd_obs$predicted <- rep(FALSE, nrow(cd_obs))
  cd <- union_annotations(cd_obs, sce_col_data(predicted))
  names_pred <- unique_predicted_names(colnames(x) %||% character(), colnames(predicted))
  m <- cbind(as.matrix(obs), as.matrix(pred))
  colnames(m) <- c(colnames(x) %||% rep("", ncol(x)), names_pred)
  rownames(cd) <- colnames(m)
  sce_from_samples(t(m), cd, list(assay.type = assay,
                                  class = if (methods::is(predicted, "SingleCellExperiment"))
                                    "SingleCellExperiment" else "SummarizedExperiment"))
}

# One line for print(): where the data came from.
source_line <- function(fit) {
  src <- fit$source
  where <- if (!is.null(src$assay.type)) {
    sprintf("assay \"%s\"", src$assay.type)
  } else {
    sprintf("assay \"%s\", layer \"%s\"", src$assay, src$layer)
  }
  ctx <- if (is.null(src$context)) "given labels" else
    paste0("columns ", paste(src$context, collapse = ", "))
  feat <- switch(src$encoder$kind,
                 matrix = "a feature matrix",
                 context = "the context labels (one indicator per perturbation)",
                 columns = paste0("columns ", paste(src$encoder$columns, collapse = ", ")),
                 `function` = "a function of the context table")
  c(sprintf("  data: %s, %s, %d gene%s", src$class, where, length(src$genes),
            plural_s(length(src$genes))),
    sprintf("  contexts from %s; features from %s", ctx, feat))
}
