# gim_fit() and predict() for Seurat objects (SeuratObject 4 and 5). Version
# 4 keeps an assay's matrices in slots ("counts", "data", "scale.data") read
# with GetAssayData(slot =); version 5 keeps them in named layers read with
# LayerData(). Both are called "layer" here. The shared machinery is in
# interop-utils.R.

#' Fit a GIM to a Seurat object
#'
#' Fits a generative intervention model ([gim_fit()]) to the cells of a
#' `Seurat` object, reading the expression from one layer of an assay, the
#' contexts and perturbation features from the cell metadata and the genes
#' from the feature metadata. [predict()][predict.gim_seurat] returns
#' predicted cells as a `Seurat` object too.
#'
#' @details
#' Works with SeuratObject 4 (assay slots, read with `GetAssayData()`) and
#' SeuratObject 5 (layers, read with `LayerData()`); `layer` names the slot
#' or layer. On SeuratObject 5, a layer split by sample (`"data.1"`,
#' `"data.2"`, ... after `split()`) is read part by part and joined in the
#' object's cell order, as `SeuratObject::JoinLayers()` would join it; the
#' object itself is not changed. One part can be named instead (e.g.
#' `layer = "data.1"`). Note that Seurat turns `_` in gene names into `-`.
#'
#' Contexts, features and observational cells work as for
#' [gim_fit.SingleCellExperiment()], with the cell metadata (`x[[]]`) in
#' place of `colData`. `genes` may name a logical column of the assay's
#' feature metadata (e.g. `"vst.variable"` after
#' `Seurat::FindVariableFeatures()` on SeuratObject 4), or be gene names such
#' as `SeuratObject::VariableFeatures(x)`. The fit has class `gim_seurat` in
#' front and records its source (assay, layer, columns, encoding) in
#' `source`; store it in the object with [gim_store()].
#'
#' @param x A `Seurat` object; for `print()`, a `gim_seurat` fit.
#' @param context The context of every cell: names of cell metadata columns
#'   (several are combined), or one label per cell.
#' @param features Perturbation features: `NULL` (default; one indicator
#'   per perturbed context), names of cell metadata columns, a function of
#'   the per-context table, or a numeric matrix (see
#'   [gim_fit.SingleCellExperiment()]).
#' @param assay The assay; `NULL` for the default assay.
#' @param layer The layer (SeuratObject 5) or slot (SeuratObject 4) with the
#'   expression, usually `"data"` (log-normalised, from
#'   `Seurat::NormalizeData()`).
#' @param genes The genes to model: `NULL` for all genes of the layer, gene
#'   names, the name of a logical column of the assay's feature metadata, or
#'   one logical per gene.
#' @param observational Which cells are observational: `NULL`, the name of
#'   a logical metadata column, or a logical vector.
#' @param ... Passed to [gim_fit.default()]: `mechanism`, `intervention`,
#'   `control`, `verbose`. Ignored by `print()`.
#' @param control_level Instead of `observational`: the value(s) of the
#'   context that mark observational cells, e.g. `"NT"` (see
#'   [gim_fit.SingleCellExperiment()]). Must be given by name.
#' @return A `gim_seurat` fit: a `gim` object (see [gim_fit()]) with
#'   `source`.
#' @family single-cell objects
#' @seealso [predict.gim_seurat()], [gim_store()], [bind_predictions()].
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
#' held <- seu$drug == "Givinostat" & seu$dose_nM == 10000
#' fit <- gim_fit(seu[, !held], context = c("drug", "dose_nM"),
#'                features = c("drug", "dose_nM"), observational = "control",
#'                genes = rownames(sce)[1:6], mechanism = "linear",
#'                control = gim_control(steps = 200, n_mc = 4, gim_hidden = 10),
#'                verbose = FALSE)
#' fit
#' pred <- predict(fit, seu[, held])
#' pred
#' head(pred[[]])
#' seu <- gim_store(seu, fit)
#' @export
gim_fit.Seurat <- function(x, context, features = NULL, assay = NULL, layer = "data",
                           genes = NULL, observational = NULL, ...,
                           control_level = NULL) {
  call <- match.call()
  input <- seurat_inputs(x, context, features, assay, layer, genes, observational,
                         rlang::current_env(), control_level)
  interop_fit(input, "gim_seurat", call, rlang::current_env(), ...)
}

# What gim_fit() and gim_compare() read from a Seurat object (as sce_inputs()).
seurat_inputs <- function(x, context, features, assay, layer, genes, observational, env,
                          control_level = NULL) {
  rlang::check_installed("SeuratObject", call = env)
  read <- seurat_layer(x, assay, layer, env)
  meta <- seurat_meta(x)
  ctx <- interop_context(context, meta, "x[[]]", env)
  obs <- interop_observational(observational, meta, "x[[]]", ctx, control_level, env)
  genes <- interop_genes(genes, rownames(read$matrix), read$features,
                         sprintf("x[[\"%s\"]][[]]", read$assay), env)
  tab <- context_table(meta, ctx$labels, obs$flag)
  feat <- interop_features(features, meta, tab, obs, "x[[]]", env)
  list(cells = transpose_matrix(read$matrix[genes, , drop = FALSE]), ctx = ctx, feat = feat,
       tab = tab, obs = obs,
       source = list(class = "Seurat", assay = read$assay, layer = layer,
                     genes = genes, assay_version = read$version))
}

#' Predict cells with a GIM fitted to a Seurat object
#'
#' Samples cells of new or training contexts from a fit made by
#' [gim_fit.Seurat()] and returns them as a `Seurat` object with the
#' predictions in the fitted assay and layer, the contexts' annotations in
#' the cell metadata and `predicted = TRUE`.
#'
#' @details `newdata` is a `Seurat` object (its contexts are predicted, by
#'   default with as many cells as it has in each), a data frame of
#'   contexts, a numeric feature matrix, a list of combinations or `NULL`,
#'   as described for [predict.gim_sce()]; `combine = TRUE` applies all its
#'   contexts together, as described there. The returned object has one assay, named like the
#'   fitted one, holding the predictions in the fitted layer (as `"data"`
#'   too when that was another layer, so that Seurat's tools find them);
#'   its class (`Assay` or `Assay5`) follows the fitted assay.
#' @inheritParams predict.gim_sce
#' @param object A `gim_seurat` fit from [gim_fit.Seurat()].
#' @param output For samples: `"object"` (a `Seurat` object) or `"matrix"`
#'   (cells x genes with attribute `"context"`, as from [predict.gim()]).
#' @return For samples with `output = "object"`: a `Seurat` object of the
#'   predicted cells (named `predicted_1`, ...). Otherwise as
#'   [predict.gim()].
#' @family single-cell objects
#' @inherit gim_fit.Seurat examples
#' @export
predict.gim_seurat <- function(object, newdata = NULL, n = NULL,
                               type = c("samples", "mean", "targets", "parameters"),
                               output = c("object", "matrix"), mixture = FALSE,
                               combine = FALSE, ...) {
  rlang::check_dots_empty()
  env <- rlang::current_env()
  type <- rlang::arg_match(type)
  output <- check_output(output, env)
  read <- function(nd) {
    if (methods::is(nd, "Seurat")) {
      object_contexts(object, seurat_meta(nd), "newdata[[]]", env)
    }
  }
  build <- function(x, cells) {
    seurat_from_samples(x, cells, object$source)
  }
  interop_predict(object, newdata, n, type, output, mixture, combine, read, build, env)
}

#' @rdname gim_fit.Seurat
#' @export
print.gim_seurat <- function(x, ...) {
  NextMethod()
  cat(source_line(x), sep = "\n")
  invisible(x)
}

# ---------------------------------------------------------------------------

# SeuratObject 5 reads layers with LayerData(); 4 has slots.
seurat_v5 <- function() {
  utils::packageVersion("SeuratObject") >= "5.0.0"
}

# Functions that exist in SeuratObject 5 only, looked up when used so that
# the package checks cleanly against SeuratObject 4 too.
seurat5_fn <- function(name) {
  getExportedValue("SeuratObject", name)
}

seurat_meta <- function(x) {
  x[[]]
}

# The expression matrix (genes x cells, in the order of the object's cells),
# the feature metadata of its assay and the assay name.
seurat_layer <- function(x, assay, layer, call) {
  assays <- SeuratObject::Assays(x)
  if (is.null(assay)) assay <- SeuratObject::DefaultAssay(x)
  if (!is.character(assay) || length(assay) != 1L || is.na(assay)) {
    cli::cli_abort("{.arg assay} must be NULL or a single assay name, not {describe_value(assay)}.",
                   call = call)
  }
  if (!assay %in% assays) {
    cli::cli_abort(c("{.arg x} has no assay {.val {assay}}.",
                     "i" = "Assays: {.val {assays}}."), call = call)
  }
  if (!is.character(layer) || length(layer) != 1L || is.na(layer)) {
    cli::cli_abort("{.arg layer} must be a single layer name, not {describe_value(layer)}.",
                   call = call)
  }
  a <- x[[assay]]
  v5 <- seurat_v5()
  if (v5) {
    layers <- seurat5_fn("Layers")(a)
    split <- layers[startsWith(layers, paste0(layer, "."))]
    m <- if (layer %in% layers) {
      seurat5_fn("LayerData")(a, layer = layer)
    } else if (length(split)) {
      seurat_join_split(a, split, assay, call)
    }
  } else {
    layers <- c("counts", "data", "scale.data")
    layers <- layers[vapply(layers, function(s) {
      length(dim(methods::slot(a, s))) == 2L && all(dim(methods::slot(a, s)) > 0L)
    }, logical(1))]
    m <- if (layer %in% layers) SeuratObject::GetAssayData(a, slot = layer) else NULL
  }
  if (is.null(m)) {
    what <- if (v5) "layer" else "slot"
    hint <- if (layer == "data") {
      c("i" = "Log-normalise the counts first, e.g. with {.fn Seurat::NormalizeData}.")
    }
    cli::cli_abort(c(
      "Assay {.val {assay}} of {.arg x} has no {what} {.val {layer}}.",
      "i" = if (length(layers)) "It has {.val {layers}}." else "It has none with data.",
      hint
    ), call = call)
  }
  cells <- colnames(x)
  if (!identical(colnames(m), cells)) {
    missing <- setdiff(cells, colnames(m))
    if (length(missing)) {
      cli::cli_abort("{what_layer(v5)} {.val {layer}} of assay {.val {assay}} lacks {length(missing)} cell{?s} of {.arg x}.",
                     call = call)
    }
    m <- m[, cells, drop = FALSE]
  }
  features <- a[[]]
  features <- if (is.data.frame(features) && nrow(features) == nrow(m)) {
    features
  } else {
    data.frame(row.names = rownames(m))
  }
  if (is.null(rownames(m))) {
    cli::cli_abort("The genes of assay {.val {assay}} must have names.", call = call)
  }
  list(matrix = m, features = features, assay = assay,
       version = if (inherits(a, "Assay5")) "v5" else "v3")
}

what_layer <- function(v5) if (v5) "Layer" else "Slot"

# A layer split by sample (SeuratObject 5 after split(): "data.1",
# "data.2", ...) read as one genes x cells matrix: each part with
# LayerData(), bound by cells; seurat_layer() puts them in the object's cell
# order. Parts must hold the same genes (in any order).
seurat_join_split <- function(a, split, assay, call) {
  parts <- lapply(split, function(l) seurat5_fn("LayerData")(a, layer = l))
  genes <- rownames(parts[[1]])
  parts <- lapply(seq_along(parts), function(i) {
    p <- parts[[i]]
    if (identical(rownames(p), genes)) return(p)
    if (!setequal(rownames(p), genes)) {
      cli::cli_abort(c(
        "The split layers {.val {split[c(1, i)]}} of assay {.val {assay}} hold different genes.",
        "i" = "Join them with {.fn SeuratObject::JoinLayers} and name the joined layer."
      ), call = call)
    }
    p[genes, , drop = FALSE]
  })
  if (any(vapply(parts, methods::is, logical(1), "Matrix"))) {
    parts <- lapply(parts, methods::as, "CsparseMatrix")
  }
  do.call(cbind, parts)
}

# Predicted cells as a Seurat object with one assay (genes x cells).
seurat_from_samples <- function(x, cells, source) {
  rlang::check_installed("SeuratObject")
  m <- t(x)
  colnames(m) <- rownames(cells)
  # Seurat assays hold sparse matrices (Assay5 objects coerce with a warning).
  m <- methods::as(m, "CsparseMatrix")
  layer <- source$layer
  if (identical(source$assay_version, "v5") && seurat_v5()) {
    a <- if (layer == "counts") {
      seurat5_fn("CreateAssay5Object")(counts = m)
    } else {
      seurat5_fn("CreateAssay5Object")(data = m)
    }
    if (!layer %in% c("counts", "data")) {
      a <- seurat5_fn("LayerData<-")(a, layer = layer, value = m)
    }
  } else {
    # A v3/v4 Assay stores counts and data as sparse matrices; scale.data is
    # dense and needs data beside it.
    a <- if (layer == "counts") {
      SeuratObject::CreateAssayObject(counts = m)
    } else {
      SeuratObject::CreateAssayObject(data = m)
    }
    if (layer == "scale.data") a <- SeuratObject::SetAssayData(a, "scale.data", m)
  }
  # CreateSeuratObject() warns about the key it derives from the assay name
  # unless the assay has one.
  SeuratObject::Key(a) <- paste0(gsub("[^[:alnum:]]", "", tolower(source$assay)), "_")
  obj <- withCallingHandlers(
    SeuratObject::CreateSeuratObject(a, assay = source$assay, meta.data = cells),
    warning = function(w) {
      # SeuratObject 5 computes nCount_/nFeature_ from a counts layer and
      # warns when there is none, as for predicted log-expression.
      if (inherits(w, "missingLayerWarning") ||
          grepl("No layers found matching", conditionMessage(w), fixed = TRUE)) {
        invokeRestart("muffleWarning")
      }
    }
  )
  # bind_predictions() reads the observed cells from the same layer.
  misc <- methods::slot(obj, "misc")
  misc$perturbgim_layer <- layer
  methods::slot(obj, "misc") <- misc
  obj
}

# predicted and observed cells in one Seurat object, rebuilt from the fitted
# layer of both so that their assays match.
bind_predictions_seurat <- function(x, predicted, call = rlang::caller_env()) {
  if (!methods::is(x, "Seurat")) {
    cli::cli_abort("{.arg x} must be a Seurat object like {.arg predicted}, not {.obj_type_friendly {x}}.",
                   call = call)
  }
  assay <- SeuratObject::DefaultAssay(predicted)
  a <- predicted[[assay]]
  layer <- methods::slot(predicted, "misc")$perturbgim_layer %||% "data"
  read <- seurat_layer(x, assay, layer, call)
  pred <- seurat_layer(predicted, assay, layer, call)$matrix
  genes <- rownames(pred)
  absent <- setdiff(genes, rownames(read$matrix))
  if (length(absent)) {
    cli::cli_abort("{.arg x} lacks {length(absent)} predicted gene{?s}: {.val {utils::head(absent, 5)}}.",
                   call = call)
  }
  meta_obs <- seurat_meta(x)
  meta_obs$predicted <- rep(FALSE, nrow(meta_obs))
  meta_pred <- seurat_meta(predicted)
  meta <- union_annotations(meta_obs, meta_pred)
  names_pred <- unique_predicted_names(colnames(x), colnames(predicted))
  m <- cbind(as.matrix(read$matrix[genes, , drop = FALSE]), as.matrix(pred))
  colnames(m) <- c(colnames(x), names_pred)
  rownames(meta) <- colnames(m)
  # Seurat's own columns (orig.ident, nCount_*, ...) are recomputed.
  meta <- meta[, !names(meta) %in% c("orig.ident", paste0(c("nCount_", "nFeature_"), assay)),
               drop = FALSE]
  seurat_from_samples(t(m), meta, list(assay = assay, layer = layer,
                                       assay_version = if (inherits(a, "Assay5")) "v5" else "v3"))
}
