# A synthetic SciPlex3 in both forms users have it: 10 cells x 5 genes.
sciplex_toy <- function() {
  cells <- sprintf("A%02d_RT_BC_%d", 1:10, 10:19)
  products <- c("Vehicle", "Belinostat (PXD101)", "Belinostat (PXD101)",
                "Quisinostat (JNJ-26481585) 2HCl", "Vehicle",
                "Dacinostat (LAQ824)", "Givinostat (ITF2357)", "(+)-JQ1",
                "Vehicle", "Belinostat (PXD101)")
  dose <- c(0, 10, 10000, 100, 0, 1000, 10, 100, 0, 1000)
  line <- c("A549", "A549", "K562", "MCF7", "K562", "MCF7", "A549", "K562",
            "MCF7", "MCF7")
  counts <- matrix(0L, 5, 10)
  counts[cbind(c(1, 2, 3, 5, 1, 4, 2, 5, 3, 1, 2, 4),
               c(1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10))] <-
    c(3L, 1L, 4L, 1L, 5L, 9L, 2L, 6L, 5L, 3L, 5L, 8L)
  list(
    cells = cells, products = products, dose = dose, line = line,
    counts = counts,
    symbols = c("TP53", "HDAC1", "Y_RNA", "ACTB", "Y_RNA"),
    ids = c("ENSG00000141510.16", "ENSG00000116478.11", "ENSG00000201098.1",
            "ENSG00000075624.13", "ENSG00000199325.1"),
    drug = c("control", "Belinostat", "Belinostat", "Quisinostat", "control",
             "Dacinostat", "Givinostat", "(+)-JQ1", "control", "Belinostat"),
    control = products == "Vehicle"
  )
}

write_sciplex_h5ad <- function(path, toy, units = rep("nM", 10),
                               dose = toy$dose, drop = character(0)) {
  obs <- data.frame(
    perturbation = factor(ifelse(toy$control, "control", toy$products)),
    dose_value = dose,
    dose_unit = factor(units),
    cell_line = factor(toy$line),
    ncounts = colSums(toy$counts),
    stringsAsFactors = FALSE
  )
  obs <- obs[setdiff(names(obs), drop)]
  var <- data.frame(ensembl_id = sub("\\..*", "", toy$ids))
  x <- t(toy$counts)
  dimnames(x) <- list(toy$cells, toy$symbols)
  write_h5ad_modern(path, x, obs, var, format = "csr")
}

write_sciplex_geo <- function(dir, toy, matrix_market = FALSE,
                              transpose = FALSE, cell_file = TRUE) {
  dir.create(dir, showWarnings = FALSE)
  pdata <- data.frame(
    cell = toy$cells, sample = "sciPlex3", n.umi = colSums(toy$counts),
    cell_type = toy$line, dose = toy$dose, product_name = toy$products,
    vehicle = toy$control, replicate = "rep1", check.names = FALSE
  )
  # The GEO table is R's write.table() output: row names, quoted strings.
  rownames(pdata) <- toy$cells
  order <- if (cell_file) c(10, 3, 1:2, 4:9) else 1:10
  gz <- function(name) gzfile(file.path(dir, name), "w")
  con <- gz("GSM4150378_sciPlex3_pData.txt.gz")
  utils::write.table(pdata[order, ], con, sep = " ")
  close(con)
  con <- gz("GSM4150378_sciPlex3_A549_MCF7_K562_screen_gene.annotations.txt.gz")
  writeLines(paste(toy$ids, toy$symbols, sep = "\t"), con)
  close(con)
  if (cell_file) {
    # matrix column order, plus one cell the pData table does not know
    con <- gz("GSM4150378_sciPlex3_A549_MCF7_K562_screen_cell.annotations.txt.gz")
    writeLines(paste(c(toy$cells, "orphan"), "sciPlex3", sep = "\t"), con)
    close(con)
  }
  nz <- which(toy$counts != 0, arr.ind = TRUE)
  n_cells <- if (cell_file) 11L else 10L
  cell_index <- if (cell_file) nz[, 2] else match(nz[, 2], order)
  triplets <- cbind(nz[, 1], cell_index, toy$counts[nz])
  if (cell_file) triplets <- rbind(triplets, c(2, 11, 7))
  if (matrix_market) {
    if (transpose) triplets <- triplets[, c(2, 1, 3)]
    size <- if (transpose) c(n_cells, 5L) else c(5L, n_cells)
    con <- gz("sciPlex3_counts.mtx.gz")
    writeLines(c("%%MatrixMarket matrix coordinate integer general",
                 "% synthetic",
                 paste(size[1], size[2], nrow(triplets))), con)
  } else {
    con <- gz("GSM4150378_sciPlex3_A549_MCF7_K562_screen_UMI.count.matrix.gz")
  }
  utils::write.table(triplets, con, sep = "\t", row.names = FALSE,
                     col.names = FALSE)
  close(con)
  invisible(dir)
}

check_sciplex <- function(sce, toy, idx = seq_along(toy$cells)) {
  expect_s4_class(sce, "SingleCellExperiment")
  expect_identical(colnames(sce), toy$cells[idx])
  expect_identical(sce$drug, toy$drug[idx])
  expect_identical(sce$dose_nM, ifelse(toy$control, 0, toy$dose)[idx])
  expect_identical(sce$cell_line, toy$line[idx])
  expect_identical(sce$control, toy$control[idx])
  x <- SingleCellExperiment::counts(sce)
  expect_s4_class(x, "dgCMatrix")
  expect_equal(unname(as.matrix(x)), toy$counts[, idx, drop = FALSE] + 0)
  expect_identical(rownames(sce), c("TP53", "HDAC1", "Y_RNA", "ACTB", "Y_RNA.1"))
  rd <- SummarizedExperiment::rowData(sce)
  expect_identical(rd$gene_id, sub("\\..*", "", toy$ids))
  expect_identical(rd$gene_symbol, toy$symbols)
  expect_identical(names(SummarizedExperiment::colData(sce))[1:4],
                   c("drug", "dose_nM", "cell_line", "control"))
}

test_that("a scPerturb-style h5ad maps onto the standard columns", {
  skip_if_no_h5ad_deps()
  toy <- sciplex_toy()
  path <- withr::local_tempfile(fileext = ".h5ad")
  write_sciplex_h5ad(path, toy)
  sce <- read_sciplex3(path)
  check_sciplex(sce, toy)
  # originals are kept; cell_line says the same thing, so it is not doubled
  expect_identical(as.character(sce$perturbation)[2], "Belinostat (PXD101)")
  expect_true(all(c("perturbation", "dose_value", "dose_unit", "ncounts") %in%
                    names(SummarizedExperiment::colData(sce))))
  expect_false("cell_line_original" %in% names(SummarizedExperiment::colData(sce)))
  expect_identical(S4Vectors::metadata(sce)$source$format, "scPerturb h5ad")
})

test_that("an h5ad with a counts layer reads the counts from it", {
  skip_if_no_h5ad_deps()
  toy <- sciplex_toy()
  path <- withr::local_tempfile(fileext = ".h5ad")
  x <- t(toy$counts)
  dimnames(x) <- list(toy$cells, toy$symbols)
  obs <- data.frame(perturbation = ifelse(toy$control, "control", toy$products),
                    dose_value = toy$dose, dose_unit = "nM", cell_line = toy$line)
  write_h5ad_modern(path, log1p(x), obs,
                    data.frame(gene_id = toy$ids), format = "csc",
                    layers = list(counts = x))
  sce <- read_sciplex3(path, cell_lines = "MCF7")
  check_sciplex(sce, toy, c(4L, 6L, 9L, 10L))
  expect_equal(as.matrix(SummarizedExperiment::assay(sce, "X")),
               log1p(as.matrix(SingleCellExperiment::counts(sce))))
})

test_that("h5ad doses in other units become nM; unknown units are errors", {
  skip_if_no_h5ad_deps()
  toy <- sciplex_toy()
  path <- withr::local_tempfile(fileext = ".h5ad")
  units <- rep("nM", 10)
  units[c(3, 6)] <- c("\u00b5M", "uM")
  dose <- toy$dose
  dose[c(3, 6)] <- dose[c(3, 6)] / 1000
  write_sciplex_h5ad(path, toy, units = units, dose = dose)
  check_sciplex(read_sciplex3(path), toy)

  units[4] <- "mg/ml"
  path <- withr::local_tempfile(fileext = ".h5ad")
  write_sciplex_h5ad(path, toy, units = units, dose = dose)
  expect_error(read_sciplex3(path), "Unknown dose unit")
  expect_error(read_sciplex3(path), "mg/ml")
})

test_that("an h5ad without units needs dose_unit; missing columns are errors", {
  skip_if_no_h5ad_deps()
  toy <- sciplex_toy()
  path <- withr::local_tempfile(fileext = ".h5ad")
  write_sciplex_h5ad(path, toy, drop = "dose_unit")
  expect_error(read_sciplex3(path), "dose_unit")
  check_sciplex(read_sciplex3(path, dose_unit = "nM"), toy)
  expect_error(read_sciplex3(path, dose_unit = "furlongs"), "must be one of")

  path <- withr::local_tempfile(fileext = ".h5ad")
  write_sciplex_h5ad(path, toy, drop = "cell_line")
  expect_error(read_sciplex3(path), "no cell line column")
  path <- withr::local_tempfile(fileext = ".h5ad")
  write_sciplex_h5ad(path, toy, drop = "perturbation")
  expect_error(read_sciplex3(path), "no drug column")
})

test_that("drugs and cell_lines filter the h5ad, with or without controls", {
  skip_if_no_h5ad_deps()
  toy <- sciplex_toy()
  path <- withr::local_tempfile(fileext = ".h5ad")
  write_sciplex_h5ad(path, toy)
  sce <- read_sciplex3(path, drugs = c("belinostat", "Quisinostat"))
  check_sciplex(sce, toy, c(1:5, 9:10))
  sce <- read_sciplex3(path, drugs = "Quisinostat (JNJ-26481585) 2HCl",
                       cell_lines = c("mcf7", "A549"), keep_controls = FALSE)
  check_sciplex(sce, toy, 4L)
  sce <- read_sciplex3(path, cell_lines = "K562")
  check_sciplex(sce, toy, c(3L, 5L, 8L))
  expect_error(read_sciplex3(path, drugs = c("Belinostat", "Aspirin")),
               "Aspirin")
  expect_error(read_sciplex3(path, cell_lines = "HeLa"), "HeLa")
  expect_error(read_sciplex3(path, drugs = "(+)-JQ1", cell_lines = "A549",
                             keep_controls = FALSE), "No cells")
})

test_that("the GEO files map onto the standard columns", {
  skip_if_not_installed("SingleCellExperiment")
  toy <- sciplex_toy()
  dir <- withr::local_tempdir()
  write_sciplex_geo(dir, toy)
  expect_warning(sce <- read_sciplex3(dir), "Dropped 1 cell")
  check_sciplex(sce, toy)
  expect_identical(sce$product_name, toy$products)
  expect_equal(sce$n.umi, colSums(toy$counts))
  expect_identical(S4Vectors::metadata(sce)$source$format,
                   "GEO GSE139944 (GSM4150378)")
  expect_warning(
    sce <- read_sciplex3(dir, drugs = "Belinostat", cell_lines = "MCF7"),
    "Dropped"
  )
  check_sciplex(sce, toy, c(9L, 10L))
})

test_that("GEO pData rows in matrix order need no cell annotation file", {
  skip_if_not_installed("SingleCellExperiment")
  toy <- sciplex_toy()
  dir <- withr::local_tempdir()
  write_sciplex_geo(dir, toy, cell_file = FALSE)
  check_sciplex(read_sciplex3(dir), toy)
})

test_that("Matrix Market counts are read in either orientation", {
  skip_if_not_installed("SingleCellExperiment")
  toy <- sciplex_toy()
  for (transpose in c(FALSE, TRUE)) {
    dir <- withr::local_tempdir()
    write_sciplex_geo(dir, toy, matrix_market = TRUE, transpose = transpose)
    expect_warning(sce <- read_sciplex3(dir), "Dropped")
    check_sciplex(sce, toy)
  }
})

test_that("bad GEO file sets get clear errors", {
  skip_if_not_installed("SingleCellExperiment")
  toy <- sciplex_toy()
  expect_error(read_sciplex3(file.path(tempdir(), "nope")), "does not exist")
  expect_error(read_sciplex3(withr::local_tempdir()), "no cell annotation")

  dir <- withr::local_tempdir()
  write_sciplex_geo(dir, toy, cell_file = FALSE)
  file.remove(file.path(dir, "GSM4150378_sciPlex3_A549_MCF7_K562_screen_gene.annotations.txt.gz"))
  expect_error(read_sciplex3(dir), "no gene annotation")

  dir <- withr::local_tempdir()
  write_sciplex_geo(dir, toy, cell_file = FALSE)
  file.copy(file.path(dir, "GSM4150378_sciPlex3_pData.txt.gz"),
            file.path(dir, "other_sciPlex3_pData.txt.gz"))
  expect_error(read_sciplex3(dir), "several")

  # counts that point past the annotations
  dir <- withr::local_tempdir()
  write_sciplex_geo(dir, toy, cell_file = FALSE)
  writeLines(c("1\t1\t3", "6\t2\t1"),
             file.path(dir, "GSM4150378_sciPlex3_A549_MCF7_K562_screen_UMI.count.matrix.gz"))
  expect_error(read_sciplex3(dir), "indices outside")
  writeLines(c("1\t1\t3", "2\tx\t1"),
             file.path(dir, "GSM4150378_sciPlex3_A549_MCF7_K562_screen_UMI.count.matrix.gz"))
  expect_error(read_sciplex3(dir), "Could not parse")

  # a pData table without the dose column
  dir <- withr::local_tempdir()
  write_sciplex_geo(dir, toy, cell_file = FALSE)
  pdata <- utils::read.table(file.path(dir, "GSM4150378_sciPlex3_pData.txt.gz"),
                             header = TRUE)
  pdata$dose <- NULL
  utils::write.table(pdata, file.path(dir, "GSM4150378_sciPlex3_pData.txt.gz"))
  expect_error(read_sciplex3(dir), "no dose column")

  expect_error(read_sciplex3(dir, drugs = 1), "drugs")
  expect_error(read_sciplex3(dir, keep_controls = NA), "keep_controls")
})

test_that("product names lose their catalogue codes only", {
  expect_identical(
    perturbgim:::strip_product_code(c("Belinostat (PXD101)", "(+)-JQ1",
                                      "Quisinostat (JNJ-26481585) 2HCl",
                                      "Divalproex Sodium", " Vehicle ")),
    c("Belinostat", "(+)-JQ1", "Quisinostat", "Divalproex Sodium", "Vehicle")
  )
})
