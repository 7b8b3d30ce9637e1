#' Read an AnnData `.h5ad` file into a SingleCellExperiment
#'
#' Reads the `.h5ad` files written by the Python package anndata (and so by
#' scanpy, scPerturb and perturbench) with the R package hdf5r, without
#' Python. Genes end up in rows and cells in columns, as everywhere in
#' Bioconductor.
#'
#' @param path Path to the `.h5ad` file.
#' @param x_name Name of the assay that receives `X`. AnnData does not say
#'   what `X` holds, so the default keeps the AnnData name `"X"`; pass
#'   `"counts"` or `"logcounts"` when you know.
#' @param layers Which `layers` to read as further assays: `TRUE` (all),
#'   `FALSE` (none) or a character vector of layer names.
#' @param reduced_dims Which `obsm` entries to read as reduced dimensions
#'   (`SingleCellExperiment::reducedDims()`): `TRUE` (all dense ones), `FALSE` or
#'   a character vector of names. Names are kept as they are (`"X_pca"`).
#' @param raw If `TRUE` and the file has a `raw` slot (`raw/X` and `raw/var`),
#'   read it as the alternative experiment `"raw"` (see
#'   [SingleCellExperiment::altExp()]); its genes may differ from those of `X`.
#' @param uns If `TRUE`, read `uns` (unstructured annotation) into
#'   `metadata(x)$uns` as nested lists. Elements that cannot be read are
#'   skipped with a warning.
#' @param cells Optional subset of cells (columns) to read, to save memory on
#'   large files: a logical or integer vector over the cells of the file, a
#'   character vector of cell names, or a function that takes the cell
#'   annotation (`obs`) as a data frame and returns such a vector. Only the
#'   selected rows of a CSR or dense `X` are read from disk.
#' @return A [SingleCellExperiment::SingleCellExperiment] with
#'   * assays: `X` (named by `x_name`) and the layers; sparse matrices stay
#'     sparse (`dgCMatrix`), dense ones are double matrices;
#'   * `colData` from `obs` and `rowData` from `var`, with the dataframe
#'     index as column and row names; categoricals become factors (code `-1`
#'     is `NA`), nullable integer and boolean columns become integer and
#'     logical vectors with `NA` where the mask is set;
#'   * `reducedDims` from the dense `obsm` entries, `altExp(x, "raw")` if
#'     asked for, and `metadata(x)$uns`.
#' @details
#' What is read:
#' * the current layout (anndata >= 0.8, every element tagged with an
#'   `encoding-type` attribute): `anndata`, `dataframe`, `array`,
#'   `csr_matrix`, `csc_matrix`, `categorical`, `string-array`,
#'   `nullable-integer`, `nullable-boolean`, `nullable-string-array`, `dict`,
#'   `string` and `numeric-scalar`;
#' * the anndata 0.7 layout: `obs` and `var` as groups whose categorical
#'   columns are integer codes with an attribute `categories` that references
#'   the categories in `__categories/<column>`;
#' * the anndata 0.6 layout: `obs`, `var` and `obsm` as compound datasets
#'   (the first field is the index), categorical columns as codes with the
#'   categories in `uns/<column>_categories`, sparse matrices tagged with
#'   `h5sparse_format` and `h5sparse_shape`, and `raw.X`/`raw.var`.
#'
#' Every layout above is checked by the tests on files written to its
#' specification with hdf5r, and the current one also on a file written by
#' anndata itself (the shipped `norman19_devel.h5ad`). Not read: `obsp`,
#' `varp` and `varm`, sparse or data-frame `obsm` entries (skipped with a
#' warning), `awkward-array` and other encodings (an error names the
#' encoding and the element), and zarr stores.
#'
#' A CSR `X` (cells in rows) is, as stored, a `dgCMatrix` with genes in
#' rows, so it needs no transpose; a CSC `X` is transposed. Matrices with more
#' than \eqn{2^{31} - 1} non-zero values do not fit a `dgCMatrix`: read a
#' subset with `cells`.
#'
#' hdf5r and SingleCellExperiment are suggested packages: install them with
#' `install.packages("hdf5r")` (Debian: `apt install r-cran-hdf5r`) and
#' `BiocManager::install("SingleCellExperiment")`.
#' @references Virshup I, Rybakov S, Theis FJ, Angerer P, Wolf FA (2024).
#'   anndata: Access and store annotated data matrices. *Journal of Open
#'   Source Software* 9(101), 4371. \doi{10.21105/joss.04371}. The on-disk
#'   format is specified in the anndata documentation ("On-disk format").
#' @family readers
#' @examplesIf requireNamespace("hdf5r", quietly = TRUE) && requireNamespace("SingleCellExperiment", quietly = TRUE)
#' path <- system.file("extdata", "norman19_devel.h5ad", package = "perturbgim")
#' sce <- read_h5ad(path, x_name = "logcounts")
#' sce
#' table(sce$cell_type)
#' \donttest{
#' # Only the K562 cells, without reading the others from disk
#' k562 <- read_h5ad(path, cells = function(obs) obs$cell_type == "k562")
#' dim(k562)
#' }
#' @export
read_h5ad <- function(path, x_name = "X", layers = TRUE, reduced_dims = TRUE,
                      raw = FALSE, uns = TRUE, cells = NULL) {
  call <- rlang::current_env()
  check_reader_packages(c("hdf5r", "SingleCellExperiment", "S4Vectors"),
                        call = call)
  if (!is.character(x_name) || length(x_name) != 1L || is.na(x_name) ||
      !nzchar(x_name)) {
    cli::cli_abort("{.arg x_name} must be a single non-empty string.",
                   call = call)
  }
  check_selection(layers, "layers", call)
  check_selection(reduced_dims, "reduced_dims", call)
  check_flag(raw)
  check_flag(uns)
  h5 <- h5ad_open(path, call)
  ctx <- h5_context(path, call, h5)
  on.exit(h5_close(h5, ctx), add = TRUE)
  obs <- h5ad_read_axis(h5, "obs", ctx)
  if (!is.null(cells)) {
    cells <- h5ad_resolve_cells(cells, obs, ctx)
  }
  h5ad_read_sce(h5, obs, ctx, x_name = x_name, layers = layers,
                reduced_dims = reduced_dims, raw = raw, uns = uns,
                cells = cells)
}

# ---------------------------------------------------------------------------
# Packages and arguments

check_reader_packages <- function(pkgs, call = rlang::caller_env()) {
  missing <- pkgs[!vapply(pkgs, requireNamespace, logical(1), quietly = TRUE)]
  if (length(missing)) {
    hints <- c(
      hdf5r = "install.packages(\"hdf5r\") (Debian: apt install r-cran-hdf5r)",
      SingleCellExperiment = paste(
        "BiocManager::install(\"SingleCellExperiment\")",
        "(Debian: apt install r-bioc-singlecellexperiment)"),
      S4Vectors = "BiocManager::install(\"S4Vectors\")"
    )
    cli::cli_abort(c(
      "This reader needs the suggested package{?s} {.pkg {missing}}.",
      stats::setNames(paste("Install with", hints[missing]),
                      rep("i", length(missing)))
    ), call = call)
  }
  invisible(TRUE)
}

check_selection <- function(x, arg, call) {
  ok <- (is.logical(x) && length(x) == 1L && !is.na(x)) ||
    (is.character(x) && !anyNA(x))
  if (!ok) {
    cli::cli_abort(paste("{.arg {arg}} must be {.code TRUE}, {.code FALSE} or",
                         "a character vector of names."), call = call)
  }
  invisible(TRUE)
}

# Which of the available names a TRUE/FALSE/character selection asks for.
select_names <- function(selection, available, what, ctx) {
  if (isTRUE(selection)) return(available)
  if (isFALSE(selection)) return(character(0))
  unknown <- setdiff(selection, available)
  if (length(unknown)) {
    cli::cli_abort(c(
      "{.file {ctx$file}} has no {what} {.val {unknown}}.",
      "i" = if (length(available)) "Available: {.val {available}}." else
        "It has none."
    ), call = ctx$call)
  }
  selection
}

# ---------------------------------------------------------------------------
# Opening the file

h5ad_open <- function(path, call) {
  if (!is.character(path) || length(path) != 1L || is.na(path)) {
    cli::cli_abort("{.arg path} must be a single file path.", call = call)
  }
  if (!file.exists(path)) {
    cli::cli_abort("{.arg path}: file {.file {path}} does not exist.", call = call)
  }
  if (dir.exists(path)) {
    cli::cli_abort(paste("{.file {path}} is a directory, not an {.file .h5ad}",
                         "file (zarr stores are not supported)."), call = call)
  }
  is_hdf5 <- tryCatch(isTRUE(hdf5r::is.h5file(path)), error = function(e) FALSE)
  if (!is_hdf5) {
    cli::cli_abort(c("{.file {path}} is not an HDF5 file, so not an {.file .h5ad} file.",
                     "i" = "It may be a text file, or a zarr or loom export."),
                   call = call)
  }
  h5 <- tryCatch(hdf5r::H5File$new(path, mode = "r"), error = function(e) e)
  if (inherits(h5, "error")) {
    msg <- conditionMessage(h5)
    if (grepl("truncated", msg, fixed = TRUE)) {
      cli::cli_abort(c(
        "{.file {path}} is truncated: it is shorter than its HDF5 header says.",
        "i" = "Download or copy it again."
      ), call = call)
    }
    cli::cli_abort(c("Could not open {.file {path}} as an HDF5 file.",
                     "x" = h5_error_summary(msg)), call = call)
  }
  top <- tryCatch(names(h5), error = function(e) character(0))
  if (!"X" %in% top) {
    h5$close()
    if (!any(c("obs", "var") %in% top)) {
      cli::cli_abort(c(
        "{.file {path}} is an HDF5 file but not an AnnData file.",
        "x" = "It has no {.field X}, {.field obs} or {.field var}.",
        "i" = if (length(top)) "Top-level elements: {.val {top}}." else
          "It is empty."
      ), call = call)
    }
    cli::cli_abort(c("{.file {path}} has no {.field X} matrix.",
                     "i" = "AnnData files without {.field X} are not supported."),
                   call = call)
  }
  h5
}

# HDF5 error stacks are long; keep the innermost message.
h5_error_summary <- function(msg) {
  lines <- strsplit(msg, "\n", fixed = TRUE)[[1]]
  hits <- grep("error #[0-9]+:", lines, value = TRUE)
  if (!length(hits)) return(trimws(lines[1]))
  trimws(sub("^.*line [0-9]+: ", "", hits[length(hits)]))
}

# Evaluates `expr`; turns HDF5 errors into an error naming the element.
h5_try <- function(expr, where, ctx) {
  tryCatch(expr, error = function(e) {
    if (inherits(e, "rlang_error")) stop(e)
    cli::cli_abort(c("Could not read {.field {where}} from {.file {ctx$file}}.",
                     "x" = h5_error_summary(conditionMessage(e)),
                     "i" = "The file may be corrupt or truncated."),
                   call = ctx$call)
  })
}

# ---------------------------------------------------------------------------
# Elements and attributes

h5_is_group <- function(obj) inherits(obj, "H5Group")

h5_path <- function(obj) {
  sub("^/", "", obj$get_obj_name())
}

# Attribute value, or NULL when absent. Empty attributes (h5py writes an
# empty column-order as a zero-length array) cannot be read by hdf5r, so they
# are recognised from their dataspace.
h5_attr <- function(obj, name) {
  if (!obj$attr_exists(name)) return(NULL)
  a <- obj$attr_open(name)
  on.exit(a$close(), add = TRUE)
  if (a$get_space()$get_simple_extent_npoints() == 0) return(character(0))
  a$read()
}

h5_encoding <- function(obj) {
  enc <- h5_attr(obj, "encoding-type")
  if (length(enc)) return(as.character(enc[1]))
  fmt <- h5_attr(obj, "h5sparse_format")
  if (length(fmt)) return(paste0(as.character(fmt[1]), "_matrix"))
  NA_character_
}

h5_unsupported <- function(enc, where, ctx) {
  h5_abort(c(
    "uses the encoding {.val {enc}}, which is not supported.",
    "i" = paste("Supported: dense and CSR/CSC sparse matrices; data frames",
                "with numeric, string, boolean, categorical and nullable",
                "columns.")
  ), ctx)
}

# An error about one element: "<element> in '<file>' <message>". The
# message is interpolated in the caller, which defines `where`.
h5_abort <- function(message, ctx, .envir = parent.frame()) {
  message[1] <- paste("{.field {where}} in {.file {ctx$file}}", message[1])
  cli::cli_abort(message, call = ctx$call, .envir = .envir)
}

# Opens a member (NULL when absent) and records it in ctx$open, so that
# h5_close() can close every object without the full gc() that hdf5r's
# close_all() runs, which costs more than reading a small file.
h5_child <- function(group, name, ctx) {
  if (!group$exists(name)) return(NULL)
  obj <- group[[name]]
  if (!is.null(ctx$open)) ctx$open$objs[[length(ctx$open$objs) + 1L]] <- obj
  obj
}

# Follows a path given as components; NULL when any step is missing.
h5_child_path <- function(h5, parts, ctx) {
  obj <- h5
  for (part in parts) {
    if (is.null(obj) || !h5_is_group(obj)) return(NULL)
    obj <- h5_child(obj, part, ctx)
  }
  obj
}

h5_close_objects <- function(ctx) {
  for (obj in rev(ctx$open$objs)) if (obj$is_valid) obj$close()
  ctx$open$objs <- NULL
}

h5_close <- function(h5, ctx) {
  h5_close_objects(ctx)
  # the file's own id is among its open objects
  if (length(h5$get_obj_ids()) > 1L) h5$close_all() else h5$close()
}

h5_context <- function(path, call, h5 = NULL) {
  list(file = path, call = call, h5 = h5,
       open = new.env(parent = emptyenv()))
}

# Whole dataset as an R vector, matrix or data frame (compound types).
h5_read_dataset <- function(ds, ctx) {
  h5_try(ds$read(), h5_path(ds), ctx)
}

# ---------------------------------------------------------------------------
# obs and var

# Reads a data frame element (obs, var, raw/var). Returns a list with
# `index` (character) and `columns` (named list of vectors).
h5ad_read_axis <- function(h5, name, ctx) {
  obj <- h5_child(h5, name, ctx)
  if (is.null(obj)) {
    cli::cli_abort("{.file {ctx$file}} has no {.field {name}}.", call = ctx$call)
  }
  df <- if (h5_is_group(obj)) {
    h5ad_read_dataframe_group(obj, ctx)
  } else {
    h5ad_read_dataframe_compound(obj, ctx)
  }
  # anndata 0.6 kept categories in uns/<column>_categories.
  converted <- h5ad_uns_categories(h5, df$columns, ctx)
  df$columns <- converted$columns
  df$uns_used <- converted$used
  df
}

h5ad_read_dataframe_group <- function(grp, ctx) {
  where <- h5_path(grp)
  enc <- h5_encoding(grp)
  if (!is.na(enc) && enc != "dataframe") h5_unsupported(enc, where, ctx)
  index_name <- h5_attr(grp, "_index")
  index_name <- if (length(index_name)) as.character(index_name[1]) else "_index"
  index_obj <- h5_child(grp, index_name, ctx)
  if (is.null(index_obj)) {
    h5_abort("has no index {.field {index_name}}.", ctx)
  }
  index <- as.character(h5ad_read_column(index_obj, NULL, ctx))
  order <- h5_attr(grp, "column-order")
  order <- if (is.null(order)) {
    setdiff(names(grp), c(index_name, "__categories"))
  } else {
    as.character(order)
  }
  columns <- lapply(order, function(col) {
    obj <- h5_child(grp, col, ctx)
    if (is.null(obj)) {
      h5_abort("lists column {.val {col}} but has no such element.", ctx)
    }
    h5ad_read_column(obj, length(index), ctx)
  })
  names(columns) <- order
  list(index = index, columns = columns)
}

# anndata 0.6: a compound dataset whose first field is the index.
h5ad_read_dataframe_compound <- function(ds, ctx) {
  where <- h5_path(ds)
  x <- h5_read_dataset(ds, ctx)
  if (!is.data.frame(x) || ncol(x) < 1L) {
    h5_abort("is neither a data frame group nor a compound dataset.", ctx)
  }
  columns <- lapply(as.list(x)[-1], function(col) {
    if (is.factor(col)) col else as.vector(col)
  })
  list(index = as.character(x[[1]]), columns = columns)
}

# One column of a data frame; `n` is the expected length (NULL: any).
h5ad_read_column <- function(obj, n, ctx) {
  where <- h5_path(obj)
  enc <- h5_encoding(obj)
  x <- if (h5_is_group(obj)) {
    switch(enc,
      "categorical" = h5ad_read_categorical(obj, ctx),
      "nullable-integer" = ,
      "nullable-boolean" = ,
      "nullable-string-array" = h5ad_read_nullable(obj, enc, ctx),
      h5_unsupported(if (is.na(enc)) "none (a group)" else enc, where, ctx)
    )
  } else {
    if (!is.na(enc) && !enc %in% c("array", "string-array")) {
      h5_unsupported(enc, where, ctx)
    }
    values <- h5_read_dataset(obj, ctx)
    if (obj$attr_exists("categories")) {
      h5ad_legacy_categorical(obj, values, ctx)
    } else {
      if (length(dim(values)) > 1L) {
        h5_abort("is a column but not one-dimensional.", ctx)
      }
      h5_vector(values)
    }
  }
  if (!is.null(n) && length(x) != n) {
    h5_abort("has {length(x)} values, not {n}.", ctx)
  }
  x
}

# hdf5r returns 1-D datasets as plain vectors: integers when the values fit
# an R integer (also for int64), doubles otherwise, logicals for h5py's
# boolean enum, factors for other enums.
h5_vector <- function(x) {
  if (is.factor(x)) x else as.vector(x)
}

make_factor <- function(codes, categories, ordered, where, ctx) {
  codes <- as.integer(codes)
  categories <- as.character(as.vector(categories))
  bad <- !is.na(codes) & (codes < -1L | codes >= length(categories))
  if (any(bad)) {
    h5_abort("has codes outside its {length(categories)} categor{?y/ies}.",
             ctx)
  }
  codes[!is.na(codes) & codes == -1L] <- NA_integer_
  structure(codes + 1L, levels = categories,
            class = if (isTRUE(ordered)) c("ordered", "factor") else "factor")
}

h5ad_read_categorical <- function(grp, ctx) {
  where <- h5_path(grp)
  codes <- h5_child(grp, "codes", ctx)
  cats <- h5_child(grp, "categories", ctx)
  if (is.null(codes) || is.null(cats)) {
    h5_abort("is categorical but lacks {.field codes} or {.field categories}.",
             ctx)
  }
  ordered <- h5_attr(grp, "ordered")
  make_factor(h5_read_dataset(codes, ctx), h5ad_read_column(cats, NULL, ctx),
              isTRUE(as.logical(ordered)), where, ctx)
}

# anndata 0.7: codes with an object reference to __categories/<column>.
# The categories are looked up at that path first: hdf5r's references open
# a second handle on the file that stays open until the next gc().
h5ad_legacy_categorical <- function(ds, codes, ctx) {
  where <- h5_path(ds)
  parts <- strsplit(where, "/", fixed = TRUE)[[1]]
  cats_path <- c(parts[-length(parts)], "__categories", parts[length(parts)])
  cats_ds <- h5_child_path(ctx$h5, cats_path, ctx)
  if (is.null(cats_ds)) {
    ref <- h5_attr(ds, "categories")
    if (inherits(ref, "H5R")) {
      on.exit(ref$close(), add = TRUE)
      cats_ds <- h5_try(ref$dereference(obj = ds)[[1]], where, ctx)
    }
  }
  if (is.null(cats_ds)) {
    h5_abort("has an invalid {.field categories} attribute.", ctx)
  }
  on.exit(cats_ds$close(), add = TRUE)
  make_factor(codes, h5_read_dataset(cats_ds, ctx),
              isTRUE(as.logical(h5_attr(cats_ds, "ordered"))), where, ctx)
}

h5ad_read_nullable <- function(grp, enc, ctx) {
  where <- h5_path(grp)
  values <- h5_child(grp, "values", ctx)
  mask <- h5_child(grp, "mask", ctx)
  if (is.null(values) || is.null(mask)) {
    h5_abort("is {.val {enc}} but lacks {.field values} or {.field mask}.", ctx)
  }
  x <- as.vector(h5_read_dataset(values, ctx))
  m <- as.logical(as.vector(h5_read_dataset(mask, ctx)))
  if (length(m) != length(x)) {
    h5_abort("has a mask that does not match its values.", ctx)
  }
  x <- switch(enc,
    "nullable-integer" = if (all(abs(x[!m]) <= .Machine$integer.max)) {
      as.integer(x)
    } else {
      as.double(x)
    },
    "nullable-boolean" = as.logical(x),
    as.character(x)
  )
  x[m] <- NA
  x
}

# anndata 0.6 stored the categories of column <c> in uns/<c>_categories;
# like anndata, only integer columns whose codes fit are converted.
h5ad_uns_categories <- function(h5, columns, ctx) {
  used <- character(0)
  uns <- h5_child(h5, "uns", ctx)
  if (is.null(uns) || !h5_is_group(uns)) {
    return(list(columns = columns, used = used))
  }
  keys <- grep("_categories$", names(uns), value = TRUE)
  for (key in keys) {
    col <- sub("_categories$", "", key)
    codes <- columns[[col]]
    if (is.null(codes) || !is.numeric(codes) || is.factor(codes) ||
        h5_is_group(h5_child(uns, key, ctx))) next
    cats <- as.vector(h5_read_dataset(h5_child(uns, key, ctx), ctx))
    if (any(codes >= length(cats), na.rm = TRUE)) next
    columns[[col]] <- make_factor(codes, cats, FALSE, paste0("uns/", key), ctx)
    used <- c(used, key)
  }
  list(columns = columns, used = used)
}

h5ad_as_dataframe <- function(df) {
  out <- S4Vectors::make_zero_col_DFrame(length(df$index))
  for (name in names(df$columns)) out[[name]] <- df$columns[[name]]
  rownames(out) <- df$index
  out
}

h5ad_resolve_cells <- function(cells, obs, ctx) {
  n <- length(obs$index)
  if (is.function(cells)) {
    frame <- as.data.frame(obs$columns, optional = TRUE,
                           stringsAsFactors = FALSE)
    if (!ncol(frame)) frame <- data.frame(row.names = seq_len(n))
    if (!anyDuplicated(obs$index)) rownames(frame) <- obs$index
    cells <- cells(frame)
  }
  idx <- if (is.logical(cells)) {
    if (length(cells) != n || anyNA(cells)) {
      cli::cli_abort("A logical {.arg cells} must have one non-NA value per cell ({n}).",
                     call = ctx$call)
    }
    which(cells)
  } else if (is.character(cells)) {
    i <- match(cells, obs$index)
    if (anyNA(i)) {
      cli::cli_abort("{.arg cells} names cell{?s} not in the file: {.val {cells[is.na(i)]}}.",
                     call = ctx$call)
    }
    i
  } else if (is.numeric(cells)) {
    if (anyNA(cells) || any(cells < 1 | cells > n) || any(cells != trunc(cells))) {
      cli::cli_abort("Integer {.arg cells} must lie between 1 and {n}.",
                     call = ctx$call)
    }
    as.integer(cells)
  } else {
    cli::cli_abort(paste("{.arg cells} must be a logical, integer or character",
                         "vector or a function, not {.obj_type_friendly {cells}}."),
                   call = ctx$call)
  }
  if (anyDuplicated(idx)) {
    cli::cli_abort("{.arg cells} selects some cells more than once.", call = ctx$call)
  }
  if (!length(idx)) {
    cli::cli_abort("{.arg cells} selects no cells.", call = ctx$call)
  }
  idx
}

subset_axis <- function(df, idx) {
  if (is.null(idx)) return(df)
  df$index <- df$index[idx]
  df$columns <- lapply(df$columns, function(col) col[idx])
  df
}

# ---------------------------------------------------------------------------
# Matrices

# Reads a cells x genes AnnData matrix as a genes x cells R matrix or
# dgCMatrix, keeping the cells `cells` (sorted, NULL = all).
h5ad_read_matrix <- function(obj, n_obs, n_var, cells, ctx) {
  where <- h5_path(obj)
  enc <- h5_encoding(obj)
  if (h5_is_group(obj)) {
    if (!enc %in% c("csr_matrix", "csc_matrix")) {
      h5_unsupported(if (is.na(enc)) "none (a group)" else enc, where, ctx)
    }
    return(h5ad_read_sparse(obj, enc, n_obs, n_var, cells, ctx))
  }
  if (!is.na(enc) && enc != "array") h5_unsupported(enc, where, ctx)
  dims <- obj$dims
  if (length(dims) != 2L || dims[1] != n_var || dims[2] != n_obs) {
    found <- paste(rev(dims), collapse = " x ")
    h5_abort(c("does not match the cells and genes.",
               "x" = "Expected {n_obs} x {n_var} (cells x genes), found {found}."),
             ctx)
  }
  # hdf5r reverses the dimensions, so an h5py (cells, genes) array arrives
  # as a genes x cells R matrix: no transpose needed.
  x <- if (is.null(cells)) {
    h5_read_dataset(obj, ctx)
  } else {
    h5_try(obj[, cells, drop = FALSE], where, ctx)
  }
  x <- matrix(as.double(x), nrow = dims[1])
  x
}

h5ad_read_sparse <- function(grp, enc, n_obs, n_var, cells, ctx) {
  where <- h5_path(grp)
  shape <- h5_attr(grp, "shape")
  if (is.null(shape)) shape <- h5_attr(grp, "h5sparse_shape")
  parts <- c("data", "indices", "indptr")
  have <- vapply(parts, grp$exists, logical(1))
  if (!all(have) || length(shape) != 2L) {
    lacking <- c(parts[!have], if (length(shape) != 2L) "shape")
    h5_abort("is a sparse matrix but lacks {.field {lacking}}.", ctx)
  }
  shape <- as.numeric(shape)
  if (shape[1] != n_obs || shape[2] != n_var) {
    found <- paste(shape, collapse = " x ")
    h5_abort(c("does not match the cells and genes.",
               "x" = "Expected {n_obs} x {n_var} (cells x genes), found {found}."),
             ctx)
  }
  indptr <- as.numeric(h5_read_dataset(h5_child(grp, "indptr", ctx), ctx))
  csr <- enc == "csr_matrix"
  n_major <- if (csr) n_obs else n_var
  data_ds <- h5_child(grp, "data", ctx)
  indices_ds <- h5_child(grp, "indices", ctx)
  nnz <- data_ds$dims
  if (length(indptr) != n_major + 1L || indptr[1] != 0 ||
      any(diff(indptr) < 0) || indptr[length(indptr)] > nnz ||
      indices_ds$dims != nnz) {
    h5_abort("is a corrupt sparse matrix (inconsistent {.field indptr}).", ctx)
  }
  if (csr && !is.null(cells)) {
    return(h5ad_read_csr_rows(grp, indptr, cells, n_var, ctx))
  }
  if (indptr[length(indptr)] > .Machine$integer.max) {
    h5_abort(c("has more than 2^31 - 1 non-zero values.",
               "i" = "Read a subset of the cells with {.arg cells}."), ctx)
  }
  x <- as.double(h5_read_dataset(data_ds, ctx))
  i <- as.integer(h5_read_dataset(indices_ds, ctx))
  if (csr) {
    # CSR over (cells, genes) is CSC over (genes, cells): the dgCMatrix.
    return(make_dgc(i, as.integer(indptr), x, c(n_var, n_obs), where, ctx))
  }
  m <- make_dgc(i, as.integer(indptr), x, c(n_obs, n_var), where, ctx)
  m <- Matrix::t(m)
  if (!is.null(cells)) m <- m[, cells, drop = FALSE]
  m
}

make_dgc <- function(i, p, x, dims, where, ctx) {
  dims <- as.integer(dims)
  m <- tryCatch(methods::new("dgCMatrix", i = i, p = p, x = x, Dim = dims),
                error = function(e) NULL)
  if (!is.null(m)) return(m)
  # scipy allows unsorted or duplicated indices within a row; sparseMatrix()
  # sorts them and sums duplicates, as scipy's sum_duplicates() would.
  m <- tryCatch(
    Matrix::sparseMatrix(i = i, p = p, x = x, dims = dims, index1 = FALSE),
    error = function(e) NULL
  )
  if (is.null(m)) {
    h5_abort("is a corrupt sparse matrix (indices out of range).", ctx)
  }
  methods::as(m, "CsparseMatrix")
}

# Elements offset + 1 to offset + count of a 1-D dataset, through an explicit
# hyperslab: indexing with `ds[a:b]` makes hdf5r analyse the whole index
# vector, which costs more than the read.
h5_read_range <- function(ds, offset, count, ctx) {
  h5_try({
    space <- ds$get_space()
    on.exit(space$close(), add = TRUE)
    space$select_hyperslab(start = offset + 1, count = count)
    mem <- hdf5r::H5S$new("simple", dims = count, maxdims = count)
    on.exit(mem$close(), add = TRUE)
    ds$read_low_level(file_space = space, mem_space = mem)
  }, h5_path(ds), ctx)
}

# Selected rows of a CSR matrix without reading the others: consecutive rows
# are merged into runs, and runs closer than `block` values into one read.
h5ad_read_csr_rows <- function(grp, indptr, rows, n_var, ctx,
                               block = 2^24) {
  where <- h5_path(grp)
  start_of_run <- c(TRUE, diff(rows) != 1L)
  first <- rows[start_of_run]
  last <- rows[c(start_of_run[-1], TRUE)]
  lo <- indptr[first]
  hi <- indptr[last + 1]
  lengths <- indptr[rows + 1] - indptr[rows]
  if (sum(lengths) > .Machine$integer.max) {
    h5_abort(c("has more than 2^31 - 1 non-zero values in the selected cells.",
               "i" = "Select fewer cells."), ctx)
  }
  which_block <- (lo - lo[1]) %/% block
  blocks <- split(seq_along(first), which_block)
  data_ds <- h5_child(grp, "data", ctx)
  indices_ds <- h5_child(grp, "indices", ctx)
  x <- vector("list", length(blocks))
  i <- vector("list", length(blocks))
  for (b in seq_along(blocks)) {
    runs <- blocks[[b]]
    from <- lo[runs[1]]
    to <- hi[runs[length(runs)]]
    if (to <= from) next
    pos <- sequence(hi[runs] - lo[runs], from = lo[runs] - from + 1)
    x[[b]] <- as.double(h5_read_range(data_ds, from, to - from, ctx))[pos]
    i[[b]] <- as.integer(h5_read_range(indices_ds, from, to - from, ctx))[pos]
  }
  p <- as.integer(c(0, cumsum(lengths)))
  make_dgc(unlist(i, use.names = FALSE) %||% integer(0), p,
           unlist(x, use.names = FALSE) %||% double(0),
           c(n_var, length(rows)), where, ctx)
}

# ---------------------------------------------------------------------------
# obsm, uns

h5ad_read_obsm <- function(h5, selection, n_obs, cells, ctx) {
  obsm <- h5_child(h5, "obsm", ctx)
  if (is.null(obsm)) {
    select_names(selection, character(0), "obsm entry", ctx)
    return(list())
  }
  if (!h5_is_group(obsm)) {
    # anndata 0.6: one compound dataset, one (array) field per embedding.
    frame <- h5_read_dataset(obsm, ctx)
    out <- lapply(as.list(frame), function(col) {
      matrix(as.double(col), nrow = n_obs)
    })
    out <- out[select_names(selection, names(out), "obsm entry", ctx)]
    if (!is.null(cells)) out <- lapply(out, function(m) m[cells, , drop = FALSE])
    return(out)
  }
  wanted <- select_names(selection, names(obsm), "obsm entry", ctx)
  out <- list()
  for (name in wanted) {
    obj <- h5_child(obsm, name, ctx)
    enc <- h5_encoding(obj)
    dense <- !h5_is_group(obj) && (is.na(enc) || enc == "array") &&
      length(obj$dims) == 2L && obj$dims[2] == n_obs
    if (!dense) {
      cli::cli_warn(paste("Skipped {.field obsm/{name}}: only dense",
                          "two-dimensional embeddings become reducedDims."))
      next
    }
    m <- t(matrix(as.double(h5_read_dataset(obj, ctx)), nrow = obj$dims[1]))
    if (!is.null(cells)) m <- m[cells, , drop = FALSE]
    out[[name]] <- m
  }
  out
}

h5ad_read_uns <- function(obj, ctx) {
  where <- h5_path(obj)
  if (h5_is_group(obj)) {
    enc <- h5_encoding(obj)
    if (is.na(enc) || enc == "dict") {
      keys <- names(obj)
      out <- lapply(keys, function(k) {
        h5ad_read_uns(h5_child(obj, k, ctx), ctx)
      })
      names(out) <- keys
      return(Filter(Negate(is.null), out))
    }
  }
  tryCatch({
    enc <- h5_encoding(obj)
    if (enc %in% c("csr_matrix", "csc_matrix")) {
      shape <- as.numeric(h5_attr(obj, "shape") %||% h5_attr(obj, "h5sparse_shape"))
      return(Matrix::t(h5ad_read_matrix(obj, shape[1], shape[2], NULL, ctx)))
    }
    if (identical(enc, "dataframe")) {
      return(as.data.frame(h5ad_as_dataframe(h5ad_read_dataframe_group(obj, ctx))))
    }
    if (h5_is_group(obj)) return(h5ad_read_column(obj, NULL, ctx))
    x <- h5_read_dataset(obj, ctx)
    # numpy order: hdf5r reverses the dimensions
    if (length(dim(x)) >= 2L) x <- aperm(x)
    if (obj$attr_exists("categories")) h5ad_legacy_categorical(obj, x, ctx) else x
  }, error = function(e) {
    cli::cli_warn(c("Skipped {.field {where}}: it could not be read.",
                    "x" = conditionMessage(e)))
    NULL
  })
}

# ---------------------------------------------------------------------------
# Putting it together

h5ad_read_sce <- function(h5, obs, ctx, x_name, layers, reduced_dims, raw,
                          uns, cells, var = NULL, metadata = list()) {
  if (is.null(var)) var <- h5ad_read_axis(h5, "var", ctx)
  n_obs <- length(obs$index)
  n_var <- length(var$index)
  order <- NULL
  if (!is.null(cells)) {
    # Read in file order (contiguous reads), then restore the asked order.
    sorted <- sort(cells)
    order <- match(cells, sorted)
    cells <- sorted
  }
  reorder <- function(m) if (is.null(order)) m else m[, order, drop = FALSE]
  assays <- list()
  x <- h5ad_read_matrix(h5_child(h5, "X", ctx), n_obs, n_var, cells, ctx)
  assays[[x_name]] <- reorder(x)
  rm(x)
  layer_grp <- h5_child(h5, "layers", ctx)
  layer_names <- if (is.null(layer_grp)) character(0) else names(layer_grp)
  for (name in select_names(layers, layer_names, "layer", ctx)) {
    if (name == x_name) {
      cli::cli_abort(c("Layer {.val {name}} has the name given to {.field X}.",
                       "i" = "Choose another {.arg x_name}."), call = ctx$call)
    }
    layer <- h5_child(layer_grp, name, ctx)
    assays[[name]] <- reorder(h5ad_read_matrix(layer, n_obs, n_var, cells, ctx))
  }
  keep <- if (is.null(cells)) NULL else cells[order]
  obs <- subset_axis(obs, keep)
  assays <- lapply(assays, function(m) {
    dimnames(m) <- list(var$index, obs$index)
    m
  })
  dims <- h5ad_read_obsm(h5, reduced_dims, n_obs, keep, ctx)
  dims <- lapply(dims, function(m) {
    rownames(m) <- obs$index
    m
  })
  meta <- metadata
  if (uns && h5$exists("uns")) {
    meta$uns <- h5ad_read_uns(h5_child(h5, "uns", ctx), ctx)
    if (!is.list(meta$uns)) meta$uns <- list()
    # Categories moved into obs or var are not annotation any more.
    meta$uns[c(obs$uns_used, var$uns_used)] <- NULL
  }
  sce <- SingleCellExperiment::SingleCellExperiment(
    assays = assays,
    colData = h5ad_as_dataframe(obs),
    rowData = h5ad_as_dataframe(var),
    reducedDims = dims,
    metadata = meta
  )
  if (raw) {
    raw_sce <- h5ad_read_raw(h5, n_obs, keep, obs$index, ctx)
    if (!is.null(raw_sce)) SingleCellExperiment::altExp(sce, "raw") <- raw_sce
  }
  sce
}

h5ad_read_raw <- function(h5, n_obs, cells, cell_names, ctx) {
  raw <- h5_child(h5, "raw", ctx)
  if (!is.null(raw) && h5_is_group(raw)) {
    x_obj <- h5_child(raw, "X", ctx)
    var_name <- "raw/var"
  } else if (h5$exists("raw.X")) {
    x_obj <- h5_child(h5, "raw.X", ctx)
    var_name <- "raw.var"
  } else {
    return(NULL)
  }
  if (is.null(x_obj) || !h5$exists(var_name)) return(NULL)
  var <- h5ad_read_axis(h5, var_name, ctx)
  sorted <- if (is.null(cells)) NULL else sort(cells)
  m <- h5ad_read_matrix(x_obj, n_obs, length(var$index), sorted, ctx)
  if (!is.null(cells)) m <- m[, match(cells, sorted), drop = FALSE]
  dimnames(m) <- list(var$index, cell_names)
  SingleCellExperiment::SingleCellExperiment(
    assays = list(X = m), rowData = h5ad_as_dataframe(var)
  )
}
