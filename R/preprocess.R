# Preprocessing of single-cell perturbation counts as in Schneider et al.
# (2025), appendix D.2, and SPEC section 5: filter cells and genes, scale to
# the median control library size, log1p, highly variable genes, marker genes.
# Everything works on the stored entries of a dgCMatrix, so sparse input is
# never densified.

#' Preprocess single-cell perturbation counts
#'
#' Turns raw counts into the log-normalised expression of a few informative
#' genes, as in Schneider et al. (2025, appendix D.2) for SciPlex3: filter
#' cells and genes, scale every cell to the median library size of the
#' control cells, `log1p`, keep the top highly variable genes and, among them,
#' the top marker genes of the perturbations. Every choice and count is
#' recorded.
#'
#' @param x The counts: a [SingleCellExperiment::SingleCellExperiment] or
#'   [SummarizedExperiment::SummarizedExperiment] (genes in rows, cells in
#'   columns, as in Bioconductor), or a matrix, `dgCMatrix` or other `Matrix`
#'   with **cells in rows and genes in columns** (the statistical convention).
#'   Counts must be finite and non-negative; they need not be whole numbers.
#' @param condition The perturbation of each cell. For a
#'   `SummarizedExperiment`: names of `colData` columns whose combination is
#'   the condition (default `c("drug", "dose_nM")`, as [read_sciplex3()]
#'   writes them). For a matrix: a vector with one entry per row.
#' @param control Which cells are the unperturbed (vehicle) reference. For a
#'   `SummarizedExperiment`: the name of a logical `colData` column (default
#'   `"control"`). For a matrix: a logical vector with one entry per row.
#' @param group Optional grouping, e.g. the cell line: markers compare each
#'   condition with the control cells of the same group. For a
#'   `SummarizedExperiment`: `NULL` or the name of a `colData` column
#'   (e.g. `"cell_line"`); for a matrix: `NULL` or a vector with one entry
#'   per row.
#' @param min_counts Keep cells with at least this many counts (paper: 200).
#' @param min_cells Keep genes with a non-zero count in at least this many of
#'   the kept cells (paper: 20).
#' @param n_hvg Number of highly variable genes (paper: 1000).
#' @param n_markers Number of marker genes kept among the highly variable
#'   ones (paper: 50); at most `n_hvg`.
#' @param hvg_method How highly variable genes are ranked: `"seurat"`
#'   (default; the dispersion rule of scanpy's `highly_variable_genes(flavor =
#'   "seurat")`) or `"variance"` (variance of the log values). See Details.
#' @param subset Which genes the result keeps: `"markers"` (default), `"hvg"`
#'   (all highly variable genes) or `"none"` (every gene that passed the
#'   filter). Flags and scores tell them apart in every case.
#' @param assay.type For a `SummarizedExperiment`: the assay with the raw
#'   counts.
#' @param control_level Instead of `control`: the value (or values) of the
#'   condition that marks control cells, e.g. `"NT"` for the non-targeting
#'   guides of a CRISPR screen or `"control"`. For a `SummarizedExperiment`
#'   it is matched against the first `condition` column, so a screen with a
#'   guide column needs `condition = "guide", control_level = "NT"` and no
#'   logical column. Give `control` or `control_level`, not both.
#' @param verbose Whether to report, as a message, how many cells and genes
#'   each filter removed. Whatever `verbose` says, a warning (class
#'   `perturbgim_filter_warning`) tells when the filters removed more than
#'   half of the cells.
#' @param ... Passed on to methods.
#' @return For a `SummarizedExperiment` (or `SingleCellExperiment`): the
#'   object restricted to the kept cells and the `subset` genes, with
#'   * a new assay `logcounts` (sparse when the counts are sparse), next to
#'     the original assays (subset);
#'   * `colData` columns `total_counts` (counts of the cell over the genes
#'     that passed the filter) and `scale_factor` (what the counts were
#'     multiplied by);
#'   * `rowData` columns `n_cells` (kept cells expressing the gene), `mean`
#'     and `variance` (of the scaled counts with `hvg_method = "seurat"`, of
#'     the log values with `"variance"`), `dispersion_norm` (`NA` with
#'     `"variance"`),
#'     `highly_variable`, `hvg_rank`, `marker_score`, `marker_condition`,
#'     `marker`, `marker_rank` (see Details; marker columns are `NA` for
#'     genes that are not highly variable);
#'   * `metadata(x)$perturbgim_preprocess`: the record described below.
#'
#'   For a matrix: a list with `x` (cells x genes log-normalised values of the
#'   kept cells and `subset` genes; a `dgCMatrix` if the input was sparse),
#'   `genes` (a data frame with the `rowData` columns above plus `gene`, one
#'   row per gene that passed the filter), `cells` (row indices of the kept
#'   cells in the input), `condition`, `control` and `group` of the kept
#'   cells, `total_counts`, `scale_factor` and `record`.
#'
#'   The record is a list with the arguments (`min_counts`, `min_cells`,
#'   `n_hvg`, `n_markers`, `hvg_method`, `subset`, and for objects
#'   `assay.type` and the column names), `target_sum` (the median control
#'   library size), cell and gene counts at every step (`n_cells_input`,
#'   `n_cells_min_counts`, `n_cells_zero_after_gene_filter`, `n_cells`,
#'   `n_genes_input`, `n_genes`, `n_hvg_selected`, `n_markers_selected`),
#'   `markers` (marker genes by decreasing score), `control_level` (or
#'   `NULL`), `conditions` (a data
#'   frame of the compared conditions with their cell numbers and whether
#'   they were scored), `marker_statistic` and `hvg_statistic` (one-line
#'   descriptions), and the package version.
#' @details
#' The steps, in this order:
#' 1. **Cells.** Keep cells whose total count is at least `min_counts`.
#' 2. **Genes.** Keep genes with a non-zero count in at least `min_cells` of
#'    the kept cells.
#' 3. **Scaling.** Every kept cell is multiplied by `target_sum / total`,
#'    where `total` is its count over the kept genes and `target_sum` is the
#'    median of `total` over the kept control cells, so that every cell ends
#'    with the library size of a typical control cell. Cells whose `total`
#'    is 0 after the gene filter (possible only with a small `min_counts`)
#'    cannot be scaled and are dropped with a warning.
#' 4. **Log.** `log1p` of the scaled values (natural logarithm).
#' 5. **Highly variable genes.** With `"seurat"`, as scanpy's
#'    `highly_variable_genes(flavor = "seurat", n_bins = 20)`: on the scaled
#'    values (before the log) compute per gene the mean and the variance
#'    (denominator `n - 1`), the dispersion `log(variance / mean)` (`NA` for
#'    a zero variance), and bin genes into 20 equal-width bins of
#'    `log1p(mean)` (R's [cut()], the same bins as pandas' `cut`); the
#'    normalised dispersion is the dispersion minus the mean of its bin,
#'    divided by the standard deviation of its bin (a bin with a single gene
#'    gets normalised dispersion 1, as in scanpy). Genes are ranked by
#'    normalised dispersion, `NA` last. With `"variance"`, genes are ranked
#'    by the variance of their log values. The first `n_hvg` genes are highly
#'    variable (scores are compared to 12 significant digits and ties are
#'    broken by gene order, so exactly `n_hvg` are chosen, or all genes when
#'    fewer are left, and dense and sparse input choose the same genes).
#' 6. **Marker genes.** For every perturbed condition (within its group, when
#'    `group` is given) and every highly variable gene, Welch's t statistic
#'    of the log values against the control cells (of the same group):
#'    \deqn{t = (\bar x_c - \bar x_0) / \sqrt{s_c^2 / n_c + s_0^2 / n_0}}{t = (mean_c - mean_0) / sqrt(var_c / n_c + var_0 / n_0)}
#'    with sample variances (denominator `n - 1`), as in scanpy's
#'    `rank_genes_groups(method = "t-test", reference = control)`; `0 / 0`
#'    is 0 (a gene constant and equal in both). The `marker_score` of a gene
#'    is its largest absolute t over all conditions and `marker_condition`
#'    the condition where it is reached; the `n_markers` genes with the
#'    largest scores are the markers (ties by gene order, as above). Conditions with
#'    fewer than 2 cells are not scored (warning); a group whose control has
#'    fewer than 2 cells is an error.
#'
#' With `verbose = TRUE` (the default) a message tells how many cells and
#' genes were kept and what each filter removed, with the median library
#' size to judge `min_counts` by; the counts are also in the record. The
#' paper's `min_counts = 200` suits SciPlex3's deep libraries but can remove
#' most cells of a shallower screen: then a warning says so.
#'
#' The paper lists scaling before the cell filter; since every scaled cell
#' has the same total, a count threshold is only meaningful on the raw
#' counts, so cells are filtered first, as in scanpy workflows.
#'
#' For sparse input only the stored entries are touched (scaling and `log1p`
#' keep zeros at zero); memory stays a small multiple of the input.
#' @references Schneider N, et al. (2025). Generative intervention models for
#'   causal perturbation modeling. *ICML 2025*, appendix D.2.
#'   \doi{10.48550/arXiv.2503.19149}.
#'
#'   Wolf FA, Angerer P, Theis FJ (2018). SCANPY: large-scale single-cell gene
#'   expression data analysis. *Genome Biology* 19, 15.
#'   \doi{10.1186/s13059-017-1382-0}.
#'
#'   Satija R, Farrell JA, Gennert D, Schier AF, Regev A (2015). Spatial
#'   reconstruction of single-cell gene expression data. *Nature
#'   Biotechnology* 33, 495-502. \doi{10.1038/nbt.3192}.
#' @family preprocessing
#' @examples
#' set.seed(1)
#' n <- 300
#' counts <- matrix(rpois(n * 60, 5), n, 60,
#'                  dimnames = list(NULL, paste0("g", 1:60)))
#' drug <- rep(c("control", "A", "B"), each = 100)
#' counts[drug == "A", 1:3] <- counts[drug == "A", 1:3] + 10
#' res <- preprocess_perturbation(counts, condition = drug,
#'                                control = drug == "control",
#'                                n_hvg = 20, n_markers = 5)
#' res$record$markers
#' dim(res$x)
#' # The same, with the control cells named by their condition.
#' res <- preprocess_perturbation(counts, condition = drug,
#'                                control_level = "control",
#'                                n_hvg = 20, n_markers = 5, verbose = FALSE)
#' @export
preprocess_perturbation <- function(x, ...) {
  UseMethod("preprocess_perturbation")
}

#' @rdname preprocess_perturbation
#' @export
preprocess_perturbation.default <- function(x, ...) {
  cli::cli_abort(c(
    paste("{.arg x} must be a SingleCellExperiment, SummarizedExperiment,",
          "matrix or sparse Matrix of counts, not {.obj_type_friendly {x}}."),
    "i" = "A data frame of counts can be passed as {.code as.matrix(x)}."
  ))
}

#' @rdname preprocess_perturbation
#' @export
preprocess_perturbation.matrix <- function(x, condition, control, group = NULL,
                                           min_counts = 200, min_cells = 20,
                                           n_hvg = 1000, n_markers = 50,
                                           hvg_method = c("seurat", "variance"),
                                           subset = c("markers", "hvg", "none"),
                                           control_level = NULL, verbose = TRUE,
                                           ...) {
  call <- rlang::current_env()
  check_dots_empty_pp(..., call = call)
  if (missing(condition) || (missing(control) && is.null(control_level))) {
    cli::cli_abort(paste("For a matrix, give {.arg condition} and {.arg control}",
                         "(or {.arg control_level}) with one entry per cell (row)."),
                   call = call)
  }
  if (!is.null(control_level)) {
    if (!missing(control)) {
      cli::cli_abort("Give {.arg control} or {.arg control_level}, not both.", call = call)
    }
    if (!is.atomic(condition)) {
      cli::cli_abort("{.arg condition} must be a vector with one entry per cell.", call = call)
    }
    control <- control_level_cells(control_level, condition, "condition", call = call)
  }
  check_flag(verbose, call = call)
  hvg_method <- arg_match_checked(hvg_method)
  subset <- arg_match_checked(subset)
  x <- as_count_matrix(x, "x", call)
  labels <- check_cell_labels(condition, control, group, nrow(x), call)
  args <- check_pp_args(min_counts, min_cells, n_hvg, n_markers, call)
  res <- preprocess_core(x, labels, args, hvg_method, call, verbose)
  genes <- res$genes
  keep <- pp_subset_genes(genes, subset)
  record <- c(res$record, list(subset = subset, control_level = control_level))
  list(x = res$y[, keep, drop = FALSE],
       genes = cbind(gene = rownames(genes), genes, stringsAsFactors = FALSE),
       cells = res$cells, condition = labels$condition[res$cells],
       control = labels$control[res$cells],
       group = if (is.null(labels$group)) NULL else labels$group[res$cells],
       total_counts = res$total_counts, scale_factor = res$scale_factor,
       record = record)
}

#' @rdname preprocess_perturbation
#' @export
preprocess_perturbation.Matrix <- preprocess_perturbation.matrix

#' @rdname preprocess_perturbation
#' @export
preprocess_perturbation.SummarizedExperiment <- function(
    x, condition = c("drug", "dose_nM"), control = "control", group = NULL,
    min_counts = 200, min_cells = 20, n_hvg = 1000, n_markers = 50,
    hvg_method = c("seurat", "variance"),
    subset = c("markers", "hvg", "none"), assay.type = "counts",
    control_level = NULL, verbose = TRUE, ...) {
  call <- rlang::current_env()
  check_dots_empty_pp(..., call = call)
  rlang::check_installed(c("SummarizedExperiment", "S4Vectors"), call = call)
  check_flag(verbose, call = call)
  if (!is.null(control_level) && !missing(control)) {
    cli::cli_abort(c(
      "Give {.arg control} or {.arg control_level}, not both.",
      "i" = "{.arg control} names a logical column; {.arg control_level} is the value of {.arg condition} that marks control cells."
    ), call = call)
  }
  hvg_method <- arg_match_checked(hvg_method)
  subset <- arg_match_checked(subset)
  if (!is.character(assay.type) || length(assay.type) != 1L ||
      is.na(assay.type)) {
    cli::cli_abort("{.arg assay.type} must be a single assay name.", call = call)
  }
  available <- SummarizedExperiment::assayNames(x)
  if (!assay.type %in% available) {
    cli::cli_abort(c("{.arg x} has no assay {.val {assay.type}}.",
                     "i" = "Assays: {.val {available}}."), call = call)
  }
  cd <- SummarizedExperiment::colData(x)
  cond_cols <- check_coldata_columns(condition, cd, "condition", call)
  group_col <- if (is.null(group)) NULL else
    check_coldata_columns(group, cd, "group", call, single = TRUE)
  if (is.null(control_level)) {
    ctrl_col <- check_coldata_columns(control, cd, "control", call, single = TRUE)
    ctrl <- cd[[ctrl_col]]
    if (!is.logical(ctrl)) {
      hint <- if (is.character(ctrl) || is.factor(ctrl)) {
        c("i" = "To take the cells with a condition such as {.val NT} as controls, give {.arg control_level}.")
      }
      cli::cli_abort(c(
        "{.code colData(x)${ctrl_col}} must be logical ({.code TRUE} for control cells).",
        "x" = "It is {.obj_type_friendly {ctrl}}.", hint
      ), call = call)
    }
  } else {
    # The control cells are those whose (first) condition column takes a
    # control value, e.g. "NT" in a guide column.
    ctrl_col <- NULL
    ctrl <- control_level_cells(control_level, cd[[cond_cols[1]]],
                                paste0("colData(x)$", cond_cols[1]), call = call)
  }
  cond <- condition_labels(lapply(cond_cols, function(col) cd[[col]]),
                           !ctrl %in% FALSE)
  grp <- if (is.null(group_col)) NULL else cd[[group_col]]
  counts <- SummarizedExperiment::assay(x, assay.type, withDimnames = TRUE)
  # Bioconductor stores genes in rows; the core works on cells in rows.
  counts <- as_count_matrix(counts, paste0("assay(x, \"", assay.type, "\")"),
                            call, transpose = TRUE)
  labels <- check_cell_labels(cond, ctrl, grp, nrow(counts), call,
                              names = c(paste(cond_cols, collapse = ", "),
                                        ctrl_col %||% "control_level",
                                        group_col %||% "group"))
  args <- check_pp_args(min_counts, min_cells, n_hvg, n_markers, call)
  res <- preprocess_core(counts, labels, args, hvg_method, call, verbose)
  genes <- res$genes
  keep <- pp_subset_genes(genes, subset)
  gene_rows <- res$gene_index[keep]
  out <- x[gene_rows, res$cells]
  logcounts <- transpose_matrix(res$y[, keep, drop = FALSE])
  dimnames(logcounts) <- dimnames(out)
  SummarizedExperiment::assay(out, "logcounts", withDimnames = FALSE) <- logcounts
  rd <- SummarizedExperiment::rowData(out)
  for (col in names(genes)) rd[[col]] <- genes[[col]][keep]
  SummarizedExperiment::rowData(out) <- rd
  out$total_counts <- res$total_counts
  out$scale_factor <- res$scale_factor
  record <- c(res$record,
              list(subset = subset, assay.type = assay.type,
                   condition = cond_cols, control = ctrl_col,
                   control_level = control_level, group = group_col))
  S4Vectors::metadata(out)$perturbgim_preprocess <- record
  out
}

# ---------------------------------------------------------------------------
# Argument checks

check_dots_empty_pp <- function(..., call) {
  if (...length()) {
    nms <- names(list(...))
    got <- if (is.null(nms)) "(unnamed)" else nms
    cli::cli_abort(c("{cli::qty(length(got))}Unknown argument{?s} in {.code ...}: {.val {got}}.",
                     "i" = "Check the spelling of the argument names."),
                   call = call)
  }
}

check_pp_args <- function(min_counts, min_cells, n_hvg, n_markers, call) {
  if (!is.numeric(min_counts) || length(min_counts) != 1L || is.na(min_counts) ||
      !is.finite(min_counts) || min_counts < 0) {
    cli::cli_abort("{.arg min_counts} must be a single number >= 0, not {describe_value(min_counts)}.",
                   call = call)
  }
  args <- list(min_counts = as.double(min_counts),
               min_cells = check_count(min_cells, "min_cells", min = 0L, call = call),
               n_hvg = check_count(n_hvg, "n_hvg", call = call),
               n_markers = check_count(n_markers, "n_markers", call = call))
  if (args$n_markers > args$n_hvg) {
    cli::cli_abort(c("{.arg n_markers} must be at most {.arg n_hvg}.",
                     "x" = "Got {.arg n_markers} = {args$n_markers} and {.arg n_hvg} = {args$n_hvg}."),
                   call = call)
  }
  args
}

# Counts with cells in rows: a dgCMatrix or a double matrix, non-negative and
# finite. Sparse input of any Matrix class becomes a dgCMatrix, never dense.
as_count_matrix <- function(x, arg, call, transpose = FALSE) {
  if (methods::is(x, "Matrix")) {
    x <- tryCatch(methods::as(methods::as(x, "CsparseMatrix"), "generalMatrix"),
                  error = function(e) NULL)
    if (!is.null(x) && !methods::is(x, "dgCMatrix")) {
      x <- tryCatch(methods::as(x, "dMatrix"), error = function(e) NULL)
    }
    if (is.null(x) || !methods::is(x, "dgCMatrix")) {
      cli::cli_abort("{.arg {arg}} must be a numeric sparse matrix of counts.",
                     call = call)
    }
    values <- x@x
  } else if (is.matrix(x) && (is.numeric(x) || is.logical(x))) {
    storage.mode(x) <- "double"
    values <- x
  } else {
    cli::cli_abort(c(
      "{.arg {arg}} must be a numeric matrix or sparse Matrix of counts.",
      "x" = "It is {.obj_type_friendly {x}}."
    ), call = call)
  }
  if (nrow(x) < 1L || ncol(x) < 1L) {
    cli::cli_abort("{.arg {arg}} is empty ({nrow(x)} x {ncol(x)}).", call = call)
  }
  if (anyNA(values) || any(!is.finite(values))) {
    cli::cli_abort("{.arg {arg}} must not contain NA, NaN or infinite values.",
                   call = call)
  }
  if (any(values < 0)) {
    cli::cli_abort("{.arg {arg}} must contain counts, but has negative values.",
                   call = call)
  }
  if (transpose) x <- transpose_matrix(x)
  if (is.null(colnames(x))) colnames(x) <- paste0("gene", seq_len(ncol(x)))
  x
}

check_coldata_columns <- function(cols, cd, arg, call, single = FALSE) {
  ok <- is.character(cols) && length(cols) >= 1L && !anyNA(cols) &&
    (!single || length(cols) == 1L)
  if (!ok) {
    what <- if (single) "a single column name" else "a character vector of column names"
    cli::cli_abort("{.arg {arg}} must be {what} of {.code colData(x)}.",
                   call = call)
  }
  missing <- setdiff(cols, names(cd))
  if (length(missing)) {
    cli::cli_abort(c(
      "{cli::qty(length(missing))}{.code colData(x)} has no column{?s} {.field {missing}}.",
      "i" = "Given in {.arg {arg}}; columns: {.field {names(cd)}}."
    ), call = call)
  }
  cols
}

# One label per cell from one or more columns; control cells get "control"
# whatever their columns say, since only perturbed cells are compared.
condition_labels <- function(cols, is_control) {
  parts <- lapply(cols, function(col) {
    out <- as.character(col)
    if (is.numeric(col)) out <- format(col, trim = TRUE, scientific = FALSE,
                                       drop0trailing = TRUE)
    out[is.na(col)] <- NA_character_
    out
  })
  lab <- do.call(paste, c(parts, sep = "_"))
  any_na <- Reduce(`|`, lapply(parts, is.na))
  lab[any_na] <- NA_character_
  lab[is_control] <- "control"
  lab
}

check_cell_labels <- function(condition, control, group, n, call,
                              names = c("condition", "control", "group")) {
  if (!is.logical(control) || length(control) != n) {
    cli::cli_abort(c(
      "{.arg control} must be a logical vector with one entry per cell ({n}).",
      "x" = "It is {.obj_type_friendly {control}} of length {length(control)}."
    ), call = call)
  }
  if (anyNA(control)) {
    cli::cli_abort("{.arg control} ({.field {names[2]}}) must not contain NA.",
                   call = call)
  }
  if (!is.atomic(condition) || length(condition) != n) {
    cli::cli_abort(c(
      "{.arg condition} must be a vector with one entry per cell ({n}).",
      "x" = "It has length {length(condition)}."
    ), call = call)
  }
  condition <- as.character(condition)
  if (anyNA(condition[!control])) {
    cli::cli_abort(paste("{.arg condition} ({.field {names[1]}}) is NA for",
                         "{sum(is.na(condition[!control]))} perturbed cell{?s}."),
                   call = call)
  }
  condition[control] <- "control"
  if (!is.null(group)) {
    if (!is.atomic(group) || length(group) != n) {
      cli::cli_abort("{.arg group} must be NULL or a vector with one entry per cell ({n}).",
                     call = call)
    }
    group <- as.character(group)
    if (anyNA(group)) {
      cli::cli_abort("{.arg group} ({.field {names[3]}}) must not contain NA.",
                     call = call)
    }
  }
  if (!any(control)) {
    cli::cli_abort("No control cells: {.arg control} ({.field {names[2]}}) is never TRUE.",
                   call = call)
  }
  if (all(control)) {
    cli::cli_abort("No perturbed cells: {.arg control} ({.field {names[2]}}) is always TRUE.",
                   call = call)
  }
  list(condition = condition, control = control, group = group)
}

# ---------------------------------------------------------------------------
# The work, on cells x genes (dgCMatrix or double matrix)

preprocess_core <- function(x, labels, args, hvg_method, call, verbose = FALSE) {
  n_cells_input <- nrow(x)
  n_genes_input <- ncol(x)
  sparse <- methods::is(x, "dgCMatrix")

  # 1. cells by raw library size
  totals <- Matrix::rowSums(x)
  raw_totals <- totals
  cells <- which(totals >= args$min_counts)
  if (!length(cells)) {
    cli::cli_abort(c("No cell has at least {.arg min_counts} = {args$min_counts} counts.",
                     "i" = "The largest library size is {max(totals)}."),
                   call = call)
  }
  n_cells_min_counts <- length(cells)
  x <- x[cells, , drop = FALSE]

  # 2. genes by the number of kept cells expressing them
  n_expr <- count_nonzero_cols(x)
  gene_index <- which(n_expr >= args$min_cells & n_expr > 0)
  if (!length(gene_index)) {
    cli::cli_abort(c("No gene is expressed in at least {.arg min_cells} = {args$min_cells} of the kept cells.",
                     "i" = "{length(cells)} cell{?s} passed {.arg min_counts}."),
                   call = call)
  }
  x <- x[, gene_index, drop = FALSE]
  n_expr <- n_expr[gene_index]

  # 3. scaling to the median control library size
  totals <- Matrix::rowSums(x)
  zero <- totals <= 0
  if (any(zero)) {
    cli::cli_warn(paste("Dropped {sum(zero)} cell{?s} without counts in the",
                        "genes that passed {.arg min_cells}."))
    x <- x[!zero, , drop = FALSE]
    cells <- cells[!zero]
    totals <- totals[!zero]
  }
  report_filters(n_cells_input, n_cells_min_counts, sum(zero), n_genes_input,
                 length(gene_index), args, stats::median(raw_totals), verbose)
  control <- labels$control[cells]
  if (!any(control)) {
    cli::cli_abort(c("No control cell is left after filtering.",
                     "i" = "Lower {.arg min_counts} or check {.arg control}."),
                   call = call)
  }
  if (all(control)) {
    cli::cli_abort("No perturbed cell is left after filtering.", call = call)
  }
  target <- stats::median(totals[control])
  scale <- target / totals
  x <- scale_rows(x, scale)

  # 5. highly variable genes: the seurat rule looks at the scaled values
  # (scanpy undoes the log with expm1), the variance rule at the log values.
  if (hvg_method == "seurat") hvg <- select_hvg(x, args$n_hvg, "seurat")

  # 4. log1p, on the stored entries only
  if (sparse) x@x <- log1p(x@x) else x <- log1p(x)
  if (hvg_method == "variance") hvg <- select_hvg(x, args$n_hvg, "variance")

  # 6. marker genes among the highly variable ones
  cond <- labels$condition[cells]
  grp <- if (is.null(labels$group)) NULL else labels$group[cells]
  mk <- marker_scores(x[, hvg$selected, drop = FALSE], cond, control, grp,
                      labels, cells, call)
  n_mark <- min(args$n_markers, length(hvg$selected))
  mk_order <- order(-signif(mk$score, 12L), seq_along(mk$score))
  markers <- hvg$selected[mk_order[seq_len(n_mark)]]

  ng <- ncol(x)
  genes <- data.frame(
    n_cells = as.integer(n_expr), mean = hvg$mean, variance = hvg$var,
    dispersion_norm = hvg$dispersion_norm,
    highly_variable = seq_len(ng) %in% hvg$selected,
    hvg_rank = NA_integer_, marker_score = NA_real_,
    marker_condition = NA_character_, marker = seq_len(ng) %in% markers,
    marker_rank = NA_integer_, row.names = colnames(x),
    stringsAsFactors = FALSE)
  genes$hvg_rank[hvg$ranked] <- seq_along(hvg$ranked)
  genes$marker_score[hvg$selected] <- mk$score
  genes$marker_condition[hvg$selected] <- mk$condition
  genes$marker_rank[markers] <- seq_along(markers)

  record <- list(
    min_counts = args$min_counts, min_cells = args$min_cells,
    n_hvg = args$n_hvg, n_markers = args$n_markers, hvg_method = hvg_method,
    target_sum = target,
    n_cells_input = n_cells_input, n_cells_min_counts = n_cells_min_counts,
    n_cells_zero_after_gene_filter = sum(zero), n_cells = length(cells),
    n_genes_input = n_genes_input, n_genes = ng,
    n_hvg_selected = length(hvg$selected), n_markers_selected = n_mark,
    markers = colnames(x)[markers],
    conditions = mk$conditions,
    hvg_statistic = if (hvg_method == "seurat") {
      "normalised dispersion of the scaled counts in 20 mean bins (scanpy flavor 'seurat')"
    } else {
      "variance of the log1p values"
    },
    marker_statistic = paste("max over conditions of |Welch t| of log1p values",
                             "vs the control cells", if (!is.null(grp)) "of the same group"),
    version = as.character(utils::packageVersion("perturbgim"))
  )
  list(y = x, genes = genes, cells = cells, gene_index = gene_index,
       total_counts = unname(totals), scale_factor = unname(scale),
       record = record)
}

# What the filters removed: a message when `verbose`, and a warning
# whatever `verbose` says when more than half of the cells are gone.
report_filters <- function(n_in, n_min_counts, n_zero, g_in, g_kept, args,
                           median_counts, verbose) {
  n_kept <- n_min_counts - n_zero
  by_counts <- n_in - n_min_counts
  by_cells <- g_in - g_kept
  if (verbose) {
    cli::cli_inform(c(
      "i" = "{.fn preprocess_perturbation} kept {n_kept} of {n_in} cell{?s} and {g_kept} of {g_in} gene{?s}:",
      "*" = "{.arg min_counts} = {args$min_counts} removed {by_counts} cell{?s} (median library size {median_counts});",
      "*" = if (n_zero) "{n_zero} cell{?s} without counts in the kept genes {?was/were} removed;",
      "*" = "{.arg min_cells} = {args$min_cells} removed {by_cells} gene{?s}."
    ), class = "perturbgim_filter_message")
  }
  removed <- n_in - n_kept
  if (removed > n_in / 2) {
    cli::cli_warn(c(
      "{.fn preprocess_perturbation} removed {removed} of {n_in} cells ({round(100 * removed / n_in)}%); {n_kept} {?is/are} left.",
      "i" = "The median library size is {median_counts} counts and {.arg min_counts} is {args$min_counts}: lower {.arg min_counts} to keep more cells."
    ), class = "perturbgim_filter_warning")
  }
  invisible(NULL)
}

count_nonzero_cols <- function(x) {
  if (methods::is(x, "dgCMatrix")) {
    col <- rep.int(seq_len(ncol(x)), diff(x@p))
    tabulate(col[x@x != 0], ncol(x))
  } else {
    colSums(x != 0)
  }
}

scale_rows <- function(x, f) {
  if (methods::is(x, "dgCMatrix")) {
    x@x <- x@x * f[x@i + 1L]
    x
  } else {
    x * f
  }
}

# Column means and sample variances (denominator n - 1) without densifying.
col_mean_var <- function(x) {
  n <- nrow(x)
  if (methods::is(x, "dgCMatrix")) {
    s <- Matrix::colSums(x)
    x@x <- x@x^2
    ss <- Matrix::colSums(x)
  } else {
    s <- colSums(x)
    ss <- colSums(x^2)
  }
  mean <- s / n
  var <- if (n > 1L) pmax((ss - n * mean^2) / (n - 1), 0) else rep(NA_real_, length(s))
  list(mean = unname(mean), var = unname(var))
}

# The n genes with the largest score (NA last, ties by gene order).
select_by_score <- function(score, n, mv,
                            dispersion_norm = rep(NA_real_, length(score))) {
  # Compared to 12 significant digits: genes that tie in exact arithmetic
  # (e.g. the two genes of a two-gene bin) must not be reordered by rounding
  # differences between dense and sparse sums.
  key <- signif(score, 12L)
  ord <- order(ifelse(is.na(key), Inf, -key), seq_along(score))
  ranked <- ord[seq_len(min(n, length(score)))]
  list(selected = sort(ranked), ranked = ranked, mean = mv$mean, var = mv$var,
       dispersion_norm = dispersion_norm)
}

select_hvg <- function(x, n, method) {
  mv <- col_mean_var(x)
  if (method == "variance") return(select_by_score(mv$var, n, mv))
  mean <- mv$mean
  mean[mean == 0] <- 1e-12
  disp <- mv$var / mean
  disp[disp == 0] <- NA
  disp <- log(disp)
  bins <- cut(log1p(mean), breaks = 20L)
  bin_mean <- tapply(disp, bins, mean, na.rm = TRUE)
  bin_sd <- tapply(disp, bins, stats::sd, na.rm = TRUE)
  # A bin with one gene has no spread: scanpy then divides by the bin mean
  # after centring at 0, which gives that gene a normalised dispersion of 1.
  one <- is.na(bin_sd) & !is.na(bin_mean)
  bin_sd[one] <- bin_mean[one]
  bin_mean[one] <- 0
  b <- as.integer(bins)
  norm <- (disp - bin_mean[b]) / bin_sd[b]
  norm[!is.finite(norm)] <- NA
  select_by_score(unname(norm), n, mv, unname(norm))
}

# Welch t of every gene (column of y, log values) for every perturbed
# condition against the control cells of its group. Sums per condition come
# from one sparse indicator product, so y is never densified.
marker_scores <- function(y, cond, control, grp, labels, cells, call) {
  # Keys "<group>\r0" for controls and "<group>\r1<condition>" otherwise, so
  # that no condition name can pass for the control.
  make_key <- function(g, cond, ctrl) {
    paste0(g, "\r", ifelse(ctrl, "0", paste0("1", cond)))
  }
  g <- if (is.null(grp)) rep("", length(cond)) else grp
  key <- make_key(g, cond, control)
  keys <- unique(key)
  # Conditions present before filtering but left without cells.
  all_g <- if (is.null(labels$group)) rep("", length(labels$condition)) else labels$group
  lost <- setdiff(unique(make_key(all_g, labels$condition, labels$control)), keys)
  idx <- match(key, keys)
  ind <- Matrix::sparseMatrix(i = seq_along(key), j = idx, x = 1,
                              dims = c(length(key), length(keys)))
  n <- tabulate(idx, length(keys))
  sums <- as.matrix(Matrix::crossprod(ind, y))
  if (methods::is(y, "dgCMatrix")) y@x <- y@x^2 else y <- y^2
  sumsq <- as.matrix(Matrix::crossprod(ind, y))
  means <- sums / n
  vars <- pmax((sumsq - n * means^2) / pmax(n - 1, 1), 0)
  key_group <- sub("\r.*$", "", keys)
  is_ctrl <- endsWith(keys, "\r0")
  key_cond <- ifelse(is_ctrl, "control", sub("^[^\r]*\r1", "", keys))
  ctrl_of <- match(paste0(key_group, "\r0"), keys)
  pert <- which(!is_ctrl)
  conditions <- data.frame(
    group = if (is.null(grp)) NA_character_ else key_group[pert],
    condition = key_cond[pert], n_cells = n[pert],
    n_control = ifelse(is.na(ctrl_of[pert]), 0L, n[ctrl_of[pert]]),
    scored = FALSE, stringsAsFactors = FALSE)
  no_ctrl <- is.na(ctrl_of[pert]) | conditions$n_control < 2L
  if (any(no_ctrl)) {
    bad <- unique(conditions$group[no_ctrl])
    cli::cli_abort(c(
      if (is.null(grp)) "Fewer than 2 control cells left." else
        "{cli::qty(length(bad))}Fewer than 2 control cells left in group{?s} {.val {bad}}.",
      "i" = "Marker scores compare every condition with the control cells of its group."
    ), call = call)
  }
  few <- conditions$n_cells < 2L
  if (any(few)) {
    lab <- label_conditions(conditions[few, ], grp)
    cli::cli_warn(paste("{cli::qty(length(lab))}Condition{?s} {.val {lab}}",
                        "{?has/have} fewer than 2 cells after filtering and",
                        "{?is/are} not scored for markers."))
  }
  if (length(lost)) {
    lost_g <- sub("\r.*$", "", lost)
    lost_c <- sub("^[^\r]*\r[01]", "", lost)
    lost_c[endsWith(lost, "\r0")] <- "control"
    lab <- if (is.null(grp)) lost_c else paste0(lost_g, ": ", lost_c)
    cli::cli_warn(paste("{cli::qty(length(lab))}Condition{?s} {.val {lab}}",
                        "lost all {?its/their} cells in the filters."))
  }
  use <- pert[!few]
  if (!length(use)) {
    cli::cli_abort("No perturbed condition has 2 or more cells left to score markers.",
                   call = call)
  }
  conditions$scored <- !few
  c0 <- ctrl_of[use]
  diff <- means[use, , drop = FALSE] - means[c0, , drop = FALSE]
  se <- sqrt(vars[use, , drop = FALSE] / n[use] + vars[c0, , drop = FALSE] / n[c0])
  t <- diff / se
  t[diff == 0] <- 0
  a <- abs(t)
  best <- apply(a, 2L, which.max)  # first maximum: ties by condition order
  score <- a[cbind(best, seq_len(ncol(a)))]
  list(score = unname(score),
       condition = label_conditions(conditions[!few, ], grp)[best],
       conditions = conditions)
}

label_conditions <- function(conditions, grp) {
  if (is.null(grp)) conditions$condition else
    paste0(conditions$group, ": ", conditions$condition)
}

pp_subset_genes <- function(genes, subset) {
  switch(subset,
         markers = which(genes$marker),
         hvg = which(genes$highly_variable),
         none = seq_len(nrow(genes)))
}
