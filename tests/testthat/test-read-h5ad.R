fixture_path <- function() {
  system.file("extdata", "norman19_devel.h5ad", package = "perturbgim")
}

dense <- function(m) {
  m <- as.matrix(m)
  dimnames(m) <- NULL
  m
}

test_that("the shipped Norman fixture reads with the values hdf5r sees", {
  skip_if_no_h5ad_deps()
  path <- fixture_path()
  sce <- read_h5ad(path, x_name = "logcounts")
  expect_s4_class(sce, "SingleCellExperiment")
  expect_identical(dim(sce), c(500L, 5961L))
  x <- SummarizedExperiment::assay(sce, "logcounts")
  expect_s4_class(x, "dgCMatrix")
  expect_identical(SummarizedExperiment::assayNames(sce), "logcounts")
  expect_true(is.factor(sce$condition))
  expect_true(is.factor(sce$cell_type))
  expect_setequal(levels(sce$cell_type), c("k562", "A172", "T98G", "U87MG"))
  expect_true(is.integer(sce$ngenes))
  expect_true(is.logical(SummarizedExperiment::rowData(sce)$highly_variable))

  # Direct reads of a few entries with hdf5r: cells are CSR rows.
  h5 <- hdf5r::H5File$new(path, mode = "r")
  on.exit(h5$close_all())
  indptr <- h5[["X/indptr"]][]
  for (cell in c(1L, 2L, 1000L, 5961L)) {
    from <- indptr[cell] + 1
    to <- indptr[cell + 1]
    genes <- h5[["X/indices"]][from:to] + 1L
    expect_equal(unname(x[genes, cell]), h5[["X/data"]][from:to])
    expect_equal(sum(x[, cell] != 0), length(genes))
  }
  expect_identical(colnames(sce)[c(1, 5961)], h5[["obs/_index"]][c(1, 5961)])
  expect_identical(rownames(sce), h5[["var/gene_symbol"]][])
  codes <- h5[["obs/condition/codes"]][]
  cats <- h5[["obs/condition/categories"]][]
  expect_identical(as.character(sce$condition), cats[codes + 1L])
  expect_identical(levels(sce$condition), cats)
  expect_equal(sce$ncounts, h5[["obs/ncounts"]][])
  expect_identical(names(SummarizedExperiment::colData(sce)),
                   hdf5r::h5attr(h5[["obs"]], "column-order"))
  expect_identical(S4Vectors::metadata(sce)$uns$hvg$flavor, "seurat")
})

test_that("the fixture agrees with the shipped norman19_k562.rds", {
  skip_if_no_h5ad_deps()
  k562 <- read_h5ad(fixture_path(),
                    cells = function(obs) obs$cell_type == "k562" &
                      obs$dataset == "norman19")
  ref <- readRDS(system.file("extdata", "norman19_k562.rds",
                             package = "perturbgim"))
  expect_identical(colnames(k562), ref$cells$cell)
  expect_equal(dense(Matrix::t(SummarizedExperiment::assay(k562))),
               dense(ref$expression))
})

test_that("dense, CSR and CSC X, layers, obsm and uns round-trip", {
  skip_if_no_h5ad_deps()
  toy <- toy_anndata()
  obs <- cbind(toy$obs, toy$nullable)
  for (format in c("dense", "csr", "csc")) {
    path <- withr::local_tempfile(fileext = ".h5ad")
    write_h5ad_modern(
      path, toy$X, obs, toy$var, format = format,
      layers = list(counts = round(toy$X)),
      obsm = list(X_pca = toy$pca),
      uns = list(title = "toy", n = 2.5, ids = 1:3,
                 nested = list(tags = c("p", "q")))
    )
    sce <- read_h5ad(path, x_name = "logcounts")
    x <- SummarizedExperiment::assay(sce, "logcounts")
    if (format == "dense") {
      expect_true(is.matrix(x) && is.double(x))
    } else {
      expect_s4_class(x, "dgCMatrix")
    }
    expect_equal(as.matrix(x), t(toy$X))
    expect_equal(as.matrix(SummarizedExperiment::assay(sce, "counts")),
                 t(round(toy$X)))
    expect_identical(colnames(sce), rownames(toy$X))
    expect_identical(rownames(sce), colnames(toy$X))
    cd <- as.data.frame(SummarizedExperiment::colData(sce), optional = TRUE)
    expect_identical(names(cd), names(obs))
    for (col in names(obs)) {
      expect_identical(cd[[col]], obs[[col]], label = paste(format, col))
    }
    expect_true(is.ordered(sce$dose))
    expect_true(is.na(sce$condition[3]))
    expect_identical(levels(sce$condition), c("MAP2K6", "ctrl", "KLF1"))
    expect_identical(Encoding(sce$label[2]), "UTF-8")
    rd <- as.data.frame(SummarizedExperiment::rowData(sce), optional = TRUE)
    expect_identical(rd$highly_variable, toy$var$highly_variable)
    expect_identical(rd$means, toy$var$means)
    pca <- SingleCellExperiment::reducedDim(sce, "X_pca")
    expect_equal(unname(pca), toy$pca)
    expect_identical(rownames(pca), rownames(toy$X))
    uns <- S4Vectors::metadata(sce)$uns
    expect_identical(uns$title, "toy")
    expect_identical(uns$n, 2.5)
    expect_identical(uns$ids, 1:3)
    expect_identical(uns$nested$tags, c("p", "q"))
  }
})

test_that("layer, obsm and uns selection and the raw slot", {
  skip_if_no_h5ad_deps()
  toy <- toy_anndata()
  path <- withr::local_tempfile(fileext = ".h5ad")
  raw_var <- data.frame(n = c(1, 2, 3, 4, 5))
  raw_x <- cbind(toy$X, extra = 1:5)
  write_h5ad_modern(path, toy$X, toy$obs, toy$var,
                    layers = list(a = toy$X * 2, b = toy$X * 3),
                    obsm = list(X_pca = toy$pca, X_umap = toy$pca[, 1:2],
                                X_sparse = Matrix::Matrix(toy$X, sparse = TRUE)),
                    raw = list(X = raw_x, var = raw_var,
                               var_names = colnames(raw_x)))
  expect_warning(sce <- read_h5ad(path, layers = "b", raw = TRUE),
                 "X_sparse")
  expect_identical(SummarizedExperiment::assayNames(sce), c("X", "b"))
  expect_identical(SingleCellExperiment::reducedDimNames(sce),
                   c("X_pca", "X_umap"))
  raw <- SingleCellExperiment::altExp(sce, "raw")
  expect_identical(rownames(raw), colnames(raw_x))
  expect_equal(as.matrix(SummarizedExperiment::assay(raw)), t(raw_x),
               ignore_attr = TRUE)
  expect_identical(SummarizedExperiment::rowData(raw)$n, raw_var$n)
  sce <- read_h5ad(path, layers = FALSE, reduced_dims = "X_umap", uns = FALSE)
  expect_identical(SummarizedExperiment::assayNames(sce), "X")
  expect_identical(SingleCellExperiment::reducedDimNames(sce), "X_umap")
  expect_null(S4Vectors::metadata(sce)$uns)
  expect_identical(SingleCellExperiment::altExpNames(sce), character(0))
  expect_error(read_h5ad(path, layers = "c"), "no layer")
  expect_error(read_h5ad(path, reduced_dims = "X_tsne"), "no obsm entry")
  expect_error(read_h5ad(path, x_name = "a"), "x_name")
})

test_that("cells selects columns without reading the others, in the asked order", {
  skip_if_no_h5ad_deps()
  toy <- toy_anndata()
  for (format in c("dense", "csr", "csc")) {
    path <- withr::local_tempfile(fileext = ".h5ad")
    write_h5ad_modern(path, toy$X, toy$obs, toy$var, format = format,
                      obsm = list(X_pca = toy$pca))
    full <- read_h5ad(path)
    for (cells in list(c(4L, 1L, 2L), c(TRUE, FALSE, FALSE, TRUE, TRUE),
                       c("cell5", "cell3"), 3L)) {
      sub <- read_h5ad(path, cells = cells)
      idx <- if (is.character(cells)) match(cells, colnames(full)) else
        seq_len(ncol(full))[cells]
      expect_equal(as.matrix(SummarizedExperiment::assay(sub)),
                   as.matrix(SummarizedExperiment::assay(full)[, idx, drop = FALSE]))
      expect_identical(colnames(sub), colnames(full)[idx])
      expect_identical(sub$condition, full$condition[idx])
      expect_equal(SingleCellExperiment::reducedDim(sub, "X_pca"),
                   SingleCellExperiment::reducedDim(full, "X_pca")[idx, , drop = FALSE])
    }
    sub <- read_h5ad(path, cells = function(obs) obs$n_counts > 3)
    expect_identical(colnames(sub), c("cell1", "cell4", "cell5"))
  }
  path <- withr::local_tempfile(fileext = ".h5ad")
  write_h5ad_modern(path, toy$X, toy$obs, toy$var)
  expect_error(read_h5ad(path, cells = c(1, 9)), "between 1 and 5")
  expect_error(read_h5ad(path, cells = "nope"), "not in the file")
  expect_error(read_h5ad(path, cells = c(TRUE, FALSE)), "one non-NA value per cell")
  expect_error(read_h5ad(path, cells = c(1, 1)), "more than once")
  expect_error(read_h5ad(path, cells = list(1)), "must be a logical")
  expect_error(read_h5ad(path, cells = function(obs) obs$n_counts > 100),
               "selects no cells")
})

test_that("CSR row blocks are stitched correctly across block boundaries", {
  skip_if_no_h5ad_deps()
  set.seed(3)
  x <- matrix(rpois(60 * 7, 0.7), 60, 7,
              dimnames = list(paste0("c", 1:60), paste0("g", 1:7)))
  path <- withr::local_tempfile(fileext = ".h5ad")
  write_h5ad_modern(path, x, data.frame(row.names = 1:60),
                    data.frame(row.names = 1:7))
  rows <- c(1:3, 10L, 30:41, 59L, 60L)
  edit_h5(path, mode = "r", function(get, f) {
    ctx <- perturbgim:::h5_context(path, environment())
    indptr <- get("X/indptr")[]
    for (block in c(1, 5, 2^24)) {
      m <- perturbgim:::h5ad_read_csr_rows(get("X"), indptr, rows, 7L, ctx,
                                           block = block)
      expect_equal(as.matrix(m), t(x[rows, ]), ignore_attr = TRUE)
    }
    perturbgim:::h5_close_objects(ctx)
  })
})

test_that("int64 indptr, integer counts and unsorted indices are read", {
  skip_if_no_h5ad_deps()
  toy <- toy_anndata()
  counts <- round(toy$X * 2)
  path <- withr::local_tempfile(fileext = ".h5ad")
  write_h5ad_modern(path, counts, toy$obs, toy$var, int64_indptr = TRUE)
  edit_h5(path, function(get, f) {
    indptr <- get("X/indptr")
    indices <- get("X/indices")
    data <- get("X/data")
    expect_identical(indptr$get_type()$get_size(), 8L)
    expect_true(is.integer(data[]))
    # scipy tolerates unsorted column indices within a row: reverse row 4.
    ptr <- indptr[]
    span <- (ptr[4] + 1):ptr[5]
    idx <- indices[]
    dat <- data[]
    indices[span] <- rev(idx[span])
    data[span] <- rev(dat[span])
  })
  x <- SummarizedExperiment::assay(read_h5ad(path))
  expect_s4_class(x, "dgCMatrix")
  expect_true(is.double(x@x))
  expect_equal(as.matrix(x), t(counts))
})

test_that("the anndata 0.7 layout is read", {
  skip_if_no_h5ad_deps()
  toy <- toy_anndata()
  for (format in c("dense", "csr", "csc")) {
    path <- withr::local_tempfile(fileext = ".h5ad")
    write_h5ad_07(path, toy$X, toy$obs, toy$var, format = format,
                  obsm = list(X_pca = toy$pca))
    sce <- read_h5ad(path)
    expect_equal(as.matrix(SummarizedExperiment::assay(sce)), t(toy$X))
    cd <- as.data.frame(SummarizedExperiment::colData(sce), optional = TRUE)
    for (col in names(toy$obs)) expect_identical(cd[[col]], toy$obs[[col]])
    expect_true(is.ordered(sce$dose))
    expect_equal(unname(SingleCellExperiment::reducedDim(sce, "X_pca")), toy$pca)
    expect_identical(SummarizedExperiment::rowData(sce)$highly_variable,
                     toy$var$highly_variable)
  }
})

test_that("0.7 categories are found through the object reference", {
  skip_if_no_h5ad_deps()
  toy <- toy_anndata()
  path <- withr::local_tempfile(fileext = ".h5ad")
  write_h5ad_07(path, toy$X, toy$obs, toy$var)
  # move the categories away from __categories/<column>: only the
  # reference in the codes' attribute still leads to them
  edit_h5(path, function(get, f) {
    f$link_move_from(f, "obs/__categories/condition", "moved_categories")
  })
  sce <- read_h5ad(path)
  expect_identical(sce$condition, toy$obs$condition)
})

test_that("the anndata 0.6 layout is read", {
  skip_if_no_h5ad_deps()
  toy <- toy_anndata()
  for (format in c("dense", "csr", "csc")) {
    path <- withr::local_tempfile(fileext = ".h5ad")
    write_h5ad_06(path, toy$X, toy$obs, toy$var, format = format,
                  obsm = list(X_pca = toy$pca, X_umap = toy$pca[, 1:2] * 10))
    sce <- read_h5ad(path)
    expect_equal(as.matrix(SummarizedExperiment::assay(sce)), t(toy$X))
    expect_identical(colnames(sce), rownames(toy$X))
    cd <- as.data.frame(SummarizedExperiment::colData(sce), optional = TRUE)
    # 0.6 did not store whether a categorical is ordered
    expect_identical(cd$dose, factor(toy$obs$dose, ordered = FALSE))
    for (col in setdiff(names(toy$obs), "dose")) {
      expect_identical(cd[[col]], toy$obs[[col]])
    }
    expect_equal(unname(SingleCellExperiment::reducedDim(sce, "X_pca")), toy$pca)
    expect_equal(unname(SingleCellExperiment::reducedDim(sce, "X_umap")),
                 toy$pca[, 1:2] * 10)
    # the categories moved into obs are not left in uns
    expect_null(S4Vectors::metadata(sce)$uns$condition_categories)
  }
})

test_that("an empty column-order and a var index with its own name are read", {
  skip_if_no_h5ad_deps()
  toy <- toy_anndata()
  path <- withr::local_tempfile(fileext = ".h5ad")
  write_h5ad_modern(path, toy$X, toy$obs, toy$var[, 0],
                    var_index_name = "gene_symbol")
  sce <- read_h5ad(path)
  expect_identical(rownames(sce), colnames(toy$X))
  expect_identical(ncol(SummarizedExperiment::rowData(sce)), 0L)
})

test_that("unsupported encodings are named in the error", {
  skip_if_no_h5ad_deps()
  toy <- toy_anndata()
  path <- withr::local_tempfile(fileext = ".h5ad")
  write_h5ad_modern(path, toy$X, toy$obs, toy$var)
  edit_h5(path, function(get, f) {
    h5_set_attr(get("obs/condition"), "encoding-type", "awkward-array")
  })
  expect_error(read_h5ad(path), "awkward-array")
  expect_error(read_h5ad(path), "obs/condition")

  path <- withr::local_tempfile(fileext = ".h5ad")
  write_h5ad_modern(path, toy$X, toy$obs, toy$var)
  edit_h5(path, function(get, f) {
    h5_set_attr(get("X"), "encoding-type", "coo_matrix")
  })
  expect_error(read_h5ad(path), "coo_matrix")
})

test_that("bad files get clear errors", {
  skip_if_no_h5ad_deps()
  expect_error(read_h5ad(file.path(tempdir(), "no-such-file.h5ad")),
               "does not exist")
  text <- withr::local_tempfile(fileext = ".h5ad")
  writeLines(c("cell,gene,count", "1,1,3"), text)
  expect_error(read_h5ad(text), "not an HDF5 file")
  expect_error(read_h5ad(tempdir()), "is a directory")

  other <- withr::local_tempfile(fileext = ".h5")
  edit_h5(other, function(get, f) h5_write(f, "weather", c(1, 2, 3)),
          mode = "w")
  expect_error(read_h5ad(other), "not an AnnData file")

  no_x <- withr::local_tempfile(fileext = ".h5ad")
  toy <- toy_anndata()
  write_h5ad_modern(no_x, toy$X, toy$obs, toy$var)
  edit_h5(no_x, function(get, f) f$link_delete("X"))
  expect_error(read_h5ad(no_x), "has no X matrix")

  truncated <- withr::local_tempfile(fileext = ".h5ad")
  bytes <- readBin(fixture_path(), "raw", file.size(fixture_path()))
  writeBin(bytes[seq_len(length(bytes) %/% 2)], truncated)
  expect_error(read_h5ad(truncated), "is truncated")

  expect_error(read_h5ad(fixture_path(), x_name = NA), "x_name")
  expect_error(read_h5ad(fixture_path(), layers = NA), "layers")
  expect_error(read_h5ad(fixture_path(), raw = "yes"), "raw")
  expect_error(read_h5ad(c("a", "b")), "single file path")
})

test_that("a corrupt sparse matrix is reported, not mis-read", {
  skip_if_no_h5ad_deps()
  toy <- toy_anndata()
  path <- withr::local_tempfile(fileext = ".h5ad")
  write_h5ad_modern(path, toy$X, toy$obs, toy$var)
  edit_h5(path, function(get, f) {
    indices <- get("X/indices")
    indices[1] <- 99L
  })
  expect_error(read_h5ad(path), "corrupt")
  path <- withr::local_tempfile(fileext = ".h5ad")
  write_h5ad_modern(path, toy$X, toy$obs, toy$var)
  edit_h5(path, function(get, f) {
    indptr <- get("X/indptr")
    indptr[2] <- 100L
  })
  expect_error(read_h5ad(path), "corrupt")
})

test_that("a missing suggested package gets an install hint", {
  expect_error(
    perturbgim:::check_reader_packages("surely.not.a.package.h5ad"),
    "surely.not.a.package.h5ad"
  )
})
