# Writers of small .h5ad files in the layouts read_h5ad() supports, following
# the anndata on-disk specification element by element, so that the tests
# know every stored value. Matrices are given as in AnnData: cells in rows,
# genes in columns. hdf5r reverses dimensions (R is column-major, HDF5
# row-major), so an R matrix genes x cells is stored as (cells, genes), the
# shape h5py would see.

# Objects opened while writing, closed by h5_finish(): closing them one by
# one avoids the full gc() of hdf5r's close_all(), which dominates the run
# time of these tests once Bioconductor is loaded.
h5_opened <- new.env(parent = emptyenv())

h5_track <- function(obj) {
  h5_opened$objs <- c(h5_opened$objs, list(obj))
  obj
}

h5_finish <- function(f, gc = FALSE) {
  for (obj in rev(h5_opened$objs)) if (obj$is_valid) obj$close()
  h5_opened$objs <- NULL
  if (gc || length(f$get_obj_ids()) > 1L) f$close_all() else f$close()
}

# Opens an existing file read-write for `edit(get, f)`, where get(name) opens
# an element, and closes everything afterwards.
edit_h5 <- function(path, edit, mode = "r+") {
  f <- hdf5r::H5File$new(path, mode = mode)
  on.exit(h5_finish(f))
  edit(function(name) h5_track(f[[name]]), f)
  invisible(path)
}

# Attributes as h5py writes them: a string or a boolean is a scalar.
h5_scalar <- function() {
  if (is.null(h5_opened$scalar)) h5_opened$scalar <- hdf5r::H5S$new("scalar")
  h5_opened$scalar
}

h5_set_attr <- function(obj, name, value,
                        scalar = length(value) == 1L &&
                          (is.character(value) || is.logical(value))) {
  if (obj$attr_exists(name)) obj$attr_delete(name)
  dtype <- if (is.character(value)) h5_utf8() else if (is.logical(value))
    h5_bool() else NULL
  space <- if (scalar) h5_scalar() else NULL
  a <- if (is.null(dtype)) obj$create_attr(name, robj = value) else
    obj$create_attr(name, robj = value, dtype = dtype, space = space)
  a$close()
  # an object reference keeps the file open until it is closed
  if (inherits(value, "H5R")) value$close()
  invisible(obj)
}

h5_enc <- function(obj, type, version = "0.2.0") {
  h5_set_attr(obj, "encoding-type", type)
  h5_set_attr(obj, "encoding-version", version)
  invisible(obj)
}

h5_group <- function(parent, name) h5_track(parent$create_group(name))

# Datatypes are made once: building them is most of the cost of writing
# an attribute with hdf5r.
h5_utf8 <- function() {
  if (is.null(h5_opened$utf8)) {
    h5_opened$utf8 <- hdf5r::H5T_STRING$new(size = Inf)$set_cset(
      hdf5r::h5const$H5T_CSET_UTF8)
  }
  h5_opened$utf8
}

# h5py writes numpy booleans as an int8 enum FALSE = 0, TRUE = 1.
h5_bool <- function() {
  if (is.null(h5_opened$bool)) {
    h5_opened$bool <- hdf5r::H5T_LOGICAL$new(include_NA = FALSE)
  }
  h5_opened$bool
}

h5_write <- function(parent, name, x, dtype = NULL) {
  if (is.null(dtype)) {
    dtype <- if (is.character(x)) h5_utf8() else if (is.logical(x)) h5_bool() else
      if (is.integer(x)) hdf5r::h5types$H5T_NATIVE_INT32 else
        hdf5r::h5types$H5T_NATIVE_DOUBLE
  }
  h5_track(parent$create_dataset(name, robj = x, dtype = dtype,
                                  chunk_dims = NULL))
}

# Zero-length attribute, as h5py writes an empty column-order.
h5_empty_attr <- function(obj, name) {
  a <- obj$create_attr(name, dtype = hdf5r::h5types$H5T_NATIVE_DOUBLE,
                       space = hdf5r::H5S$new("simple", dims = 0, maxdims = 0))
  a$close()
  invisible(obj)
}

# A cells x genes matrix in the current layout: "dense", "csr" or "csc".
write_matrix_modern <- function(parent, name, x, format, int64_indptr = FALSE,
                                legacy = FALSE) {
  if (format == "dense") {
    ds <- h5_write(parent, name, t(x))
    if (isFALSE(legacy)) h5_enc(ds, "array")
    return(invisible(ds))
  }
  m <- methods::as(if (format == "csr") Matrix::t(x) else x, "CsparseMatrix")
  grp <- h5_group(parent, name)
  counts <- all(m@x == round(m@x))
  h5_write(grp, "data", if (counts) as.integer(m@x) else m@x)
  h5_write(grp, "indices", m@i)
  h5_write(grp, "indptr", m@p, dtype = if (int64_indptr)
    hdf5r::h5types$H5T_NATIVE_INT64 else hdf5r::h5types$H5T_NATIVE_INT32)
  if (identical(legacy, "0.6")) {
    h5_set_attr(grp, "h5sparse_format", format)
    h5_set_attr(grp, "h5sparse_shape", dim(x))
  } else {
    h5_enc(grp, paste0(format, "_matrix"), "0.1.0")
    h5_set_attr(grp, "shape", dim(x))
  }
  invisible(grp)
}

# One data frame column in the current layout.
write_column_modern <- function(grp, name, x) {
  if (is.factor(x)) {
    g <- h5_group(grp, name)
    h5_enc(g, "categorical")
    h5_set_attr(g, "ordered", is.ordered(x))
    codes <- as.integer(x) - 1L
    codes[is.na(codes)] <- -1L
    # pandas picks the smallest integer type that holds the codes
    codes_ds <- h5_write(g, "codes", codes, dtype = if (nlevels(x) < 128L)
      hdf5r::h5types$H5T_NATIVE_INT8 else hdf5r::h5types$H5T_NATIVE_INT16)
    h5_enc(codes_ds, "array")
    h5_enc(h5_write(g, "categories", levels(x)), "string-array")
  } else if (anyNA(x) && (is.integer(x) || is.logical(x) || is.character(x))) {
    g <- h5_group(grp, name)
    enc <- if (is.integer(x)) "nullable-integer" else if (is.logical(x))
      "nullable-boolean" else "nullable-string-array"
    h5_enc(g, enc, "0.1.0")
    values <- x
    values[is.na(values)] <- if (is.integer(x)) 0L else if (is.logical(x))
      FALSE else ""
    h5_write(g, "values", values,
             dtype = if (is.integer(x)) hdf5r::h5types$H5T_NATIVE_INT64)
    h5_write(g, "mask", is.na(x))
  } else {
    ds <- h5_write(grp, name, x)
    h5_enc(ds, if (is.character(x)) "string-array" else "array")
  }
}

write_dataframe_modern <- function(parent, name, df, index, index_name = "_index") {
  grp <- h5_group(parent, name)
  h5_enc(grp, "dataframe")
  h5_set_attr(grp, "_index", index_name)
  if (ncol(df)) {
    h5_set_attr(grp, "column-order", names(df), scalar = FALSE)
  } else {
    h5_empty_attr(grp, "column-order")
  }
  h5_enc(h5_write(grp, index_name, index), "string-array")
  for (col in names(df)) write_column_modern(grp, col, df[[col]])
  invisible(grp)
}

write_uns_modern <- function(parent, name, x) {
  if (is.list(x)) {
    g <- h5_group(parent, name)
    h5_enc(g, "dict", "0.1.0")
    for (k in names(x)) write_uns_modern(g, k, x[[k]])
  } else if (length(x) == 1L) {
    dtype <- if (is.character(x)) h5_utf8() else hdf5r::h5types$H5T_NATIVE_DOUBLE
    ds <- h5_track(parent$create_dataset(name, robj = x, dtype = dtype,
      space = hdf5r::H5S$new("scalar"), chunk_dims = NULL))
    h5_enc(ds, if (is.character(x)) "string" else "numeric-scalar")
  } else {
    h5_enc(h5_write(parent, name, x), if (is.character(x)) "string-array" else "array")
  }
}

# anndata >= 0.8. `obs`, `var`: data frames; `layers`: named list of cells x
# genes matrices; `obsm`: named list of cells x k matrices; `raw`: list(X =,
# var =, var_names =).
write_h5ad_modern <- function(path, X, obs, var, obs_names = rownames(X),
                              var_names = colnames(X), format = "csr",
                              layers = list(), obsm = list(), uns = list(),
                              raw = NULL, var_index_name = "_index",
                              int64_indptr = FALSE) {
  f <- hdf5r::H5File$new(path, mode = "w")
  on.exit(h5_finish(f))
  h5_enc(f, "anndata", "0.1.0")
  write_matrix_modern(f, "X", X, format, int64_indptr)
  write_dataframe_modern(f, "obs", obs, obs_names)
  write_dataframe_modern(f, "var", var, var_names, var_index_name)
  lg <- h5_group(f, "layers")
  h5_enc(lg, "dict", "0.1.0")
  for (k in names(layers)) write_matrix_modern(lg, k, layers[[k]], format)
  og <- h5_group(f, "obsm")
  h5_enc(og, "dict", "0.1.0")
  for (k in names(obsm)) {
    if (methods::is(obsm[[k]], "sparseMatrix")) {
      write_matrix_modern(og, k, obsm[[k]], "csr")
    } else {
      h5_enc(h5_write(og, k, t(obsm[[k]])), "array")
    }
  }
  for (k in c("varm", "obsp", "varp")) h5_enc(h5_group(f, k), "dict", "0.1.0")
  ug <- h5_group(f, "uns")
  h5_enc(ug, "dict", "0.1.0")
  for (k in names(uns)) write_uns_modern(ug, k, uns[[k]])
  if (!is.null(raw)) {
    rg <- h5_group(f, "raw")
    h5_enc(rg, "raw", "0.1.0")
    write_matrix_modern(rg, "X", raw$X, format)
    write_dataframe_modern(rg, "var", raw$var, raw$var_names)
  }
  invisible(path)
}

# anndata 0.7: untagged columns; categoricals are codes with an object
# reference to __categories/<column>.
write_dataframe_07 <- function(parent, name, df, index) {
  grp <- h5_group(parent, name)
  h5_set_attr(grp, "encoding-type", "dataframe")
  h5_set_attr(grp, "encoding-version", "0.1.0")
  h5_set_attr(grp, "_index", "_index")
  h5_set_attr(grp, "column-order", names(df), scalar = FALSE)
  h5_write(grp, "_index", index)
  cats <- NULL
  for (col in names(df)) {
    x <- df[[col]]
    if (is.factor(x)) {
      if (is.null(cats)) cats <- h5_group(grp, "__categories")
      cds <- h5_write(cats, col, levels(x))
      h5_set_attr(cds, "ordered", is.ordered(x))
      codes <- as.integer(x) - 1L
      codes[is.na(codes)] <- -1L
      ds <- h5_write(grp, col, codes, dtype = hdf5r::h5types$H5T_NATIVE_INT8)
      h5_set_attr(ds, "categories", grp$create_reference(
        name = paste0("__categories/", col)))
    } else {
      h5_write(grp, col, x)
    }
  }
  invisible(grp)
}

write_h5ad_07 <- function(path, X, obs, var, format = "csr", obsm = list()) {
  f <- hdf5r::H5File$new(path, mode = "w")
  # hdf5r's object references open a second handle on the file that only
  # gc() releases
  on.exit(h5_finish(f, gc = TRUE))
  write_matrix_modern(f, "X", X, format, legacy = "0.7")
  write_dataframe_07(f, "obs", obs, rownames(X))
  write_dataframe_07(f, "var", var, colnames(X))
  og <- h5_group(f, "obsm")
  for (k in names(obsm)) h5_write(og, k, t(obsm[[k]]))
  h5_group(f, "uns")
  invisible(path)
}

# anndata 0.6: obs, var and obsm as compound datasets (index first),
# categoricals as codes with the categories in uns/<column>_categories,
# sparse matrices tagged h5sparse_format / h5sparse_shape.
write_h5ad_06 <- function(path, X, obs, var, obsm = list(), format = "csr") {
  f <- hdf5r::H5File$new(path, mode = "w")
  on.exit(h5_finish(f))
  write_matrix_modern(f, "X", X, format, legacy = "0.6")
  uns <- h5_group(f, "uns")
  compound <- function(name, df, index) {
    out <- data.frame(index = index, stringsAsFactors = FALSE)
    for (col in names(df)) {
      x <- df[[col]]
      if (is.factor(x)) {
        h5_write(uns, paste0(col, "_categories"), levels(x))
        x <- as.integer(x) - 1L
      }
      out[[col]] <- x
    }
    # Explicit member types: UTF-8 strings as h5py writes them.
    types <- lapply(out, function(x) {
      if (is.character(x)) h5_utf8() else if (is.logical(x)) h5_bool() else
        if (is.integer(x)) hdf5r::h5types$H5T_NATIVE_INT32 else
          hdf5r::h5types$H5T_NATIVE_DOUBLE
    })
    ds <- h5_track(f$create_dataset(name, chunk_dims = NULL,
      dtype = hdf5r::H5T_COMPOUND$new(names(out), dtypes = unname(types)),
      space = hdf5r::H5S$new("simple", dims = nrow(out), maxdims = nrow(out))))
    ds$write_low_level(out)
  }
  compound("obs", obs, rownames(X))
  compound("var", var, colnames(X))
  if (length(obsm)) {
    # One array field per embedding. hdf5r checks the row count on the first
    # field only, which fails for array fields, so the memory type leads
    # with a padding field that HDF5 drops when converting to the file type.
    arr <- function(k) hdf5r::H5T_ARRAY$new(dims = k,
      dtype_base = hdf5r::h5types$H5T_NATIVE_DOUBLE)
    widths <- vapply(obsm, ncol, integer(1))
    file_type <- hdf5r::H5T_COMPOUND$new(names(obsm), dtypes = lapply(widths, arr))
    mem_type <- hdf5r::H5T_COMPOUND$new(c("pad", names(obsm)),
      dtypes = c(list(hdf5r::h5types$H5T_NATIVE_INT), lapply(widths, arr)))
    ds <- h5_track(f$create_dataset("obsm", dtype = file_type, chunk_dims = NULL,
      space = hdf5r::H5S$new("simple", dims = nrow(X), maxdims = nrow(X))))
    frame <- data.frame(pad = seq_len(nrow(X)))
    for (k in names(obsm)) frame[[k]] <- obsm[[k]]
    ds$write_low_level(frame, mem_type = mem_type)
  }
  invisible(path)
}

# The small AnnData the round-trip tests use: 5 cells x 4 genes.
toy_anndata <- function() {
  X <- matrix(c(0, 1.5, 0, 2,
                3, 0, 0, 0,
                0, 0, 0, 0,
                0.25, 4, 5, 0,
                1, 0, 0, 7), nrow = 5, byrow = TRUE,
              dimnames = list(paste0("cell", 1:5), paste0("gene", 1:4)))
  obs <- data.frame(
    condition = factor(c("ctrl", "KLF1", NA, "ctrl", "MAP2K6"),
                       levels = c("MAP2K6", "ctrl", "KLF1")),
    dose = factor(c("low", "high", "low", "mid", "high"),
                  levels = c("low", "mid", "high"), ordered = TRUE),
    n_counts = c(3.5, 3, 0, 9.25, 8),
    n_genes = c(2L, 1L, 0L, 3L, 2L),
    label = c("a", "\u00b5M", "c", "d", "e"),
    passed = c(TRUE, FALSE, TRUE, TRUE, FALSE),
    stringsAsFactors = FALSE
  )
  var <- data.frame(
    highly_variable = c(TRUE, FALSE, TRUE, TRUE),
    means = c(0.1, 0.2, 0.3, 0.4),
    stringsAsFactors = FALSE
  )
  list(X = X, obs = obs, var = var,
       pca = matrix(seq(0.5, 7.5, by = 0.5), nrow = 5, ncol = 3),
       nullable = data.frame(
         n_guides = c(1L, NA, 2L, 0L, NA),
         targeted = c(TRUE, NA, FALSE, TRUE, NA),
         guide = c("g1", NA, "g3", "g4", NA),
         stringsAsFactors = FALSE
       ))
}

skip_if_no_h5ad_deps <- function() {
  testthat::skip_if_not_installed("hdf5r")
  testthat::skip_if_not_installed("SingleCellExperiment")
  testthat::skip_if_not_installed("S4Vectors")
}
