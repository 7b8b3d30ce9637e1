# A small SciPlex-like data set shared by the tests: 3 cell lines x
# (vehicle + 4 drugs x 4 doses), 300 genes.
sim_small <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      cache <<- withr::with_seed(11, simulate_sciplex(
        n_cells = 40, n_control = 80, n_genes = 300, n_module = 30
      ))
    }
    cache
  }
})

# Mean log1p of the normalised counts (per 10,000) of `genes` in the cells
# `keep`.
mean_log_norm <- function(sce, genes, keep) {
  counts <- SingleCellExperiment::counts(sce)
  lib <- Matrix::colSums(counts)
  x <- as.matrix(counts[genes, keep, drop = FALSE])
  mean(log1p(sweep(x, 2L, lib[keep], "/") * 1e4))
}

test_that("dimensions, names and assay follow the settings", {
  skip_if_not_installed("SingleCellExperiment")
  sce <- sim_small()
  expect_s4_class(sce, "SingleCellExperiment")
  expect_identical(dim(sce), c(300L, 3L * (80L + 16L * 40L)))
  expect_identical(SummarizedExperiment::assayNames(sce), "counts")
  expect_false(anyDuplicated(rownames(sce)) > 0)
  expect_false(anyDuplicated(colnames(sce)) > 0)
  rd <- SummarizedExperiment::rowData(sce)
  expect_identical(names(rd), c("gene_id", "gene_symbol", "module"))
  expect_true(all(grepl("^ENSG[0-9]{11}$", rd$gene_id)))
  expect_identical(rd$gene_symbol, rownames(sce))
  expect_identical(sum(rd$module), 30L)
  # the module genes are real HDAC inhibitor response genes
  sig <- readRDS(system.file("extdata", "hdac_signatures.rds",
                             package = "perturbgim"))
  expect_true(all(rownames(sce)[rd$module] %in% unlist(sig$up)))
})

test_that("colData has the columns and types of read_sciplex3()", {
  skip_if_not_installed("SingleCellExperiment")
  sce <- sim_small()
  cd <- SummarizedExperiment::colData(sce)
  expect_identical(names(cd)[1:4], c("drug", "dose_nM", "cell_line", "control"))
  # the same classes as read_sciplex3() gives on the GEO files
  dir <- withr::local_tempdir()
  pdata <- data.frame(cell = c("c1", "c2"),
                      product_name = c("Vehicle", "Belinostat (PXD101)"),
                      dose = c(0, 10), cell_type = c("A549", "A549"),
                      vehicle = c(TRUE, FALSE))
  utils::write.table(pdata, file.path(dir, "GSM4150378_sciPlex3_pData.txt"))
  writeLines("ENSG00000116478.11\tHDAC1",
             file.path(dir, "sciPlex3_gene.annotations.txt"))
  writeLines(c("1\t1\t2", "1\t2\t3"), file.path(dir, "sciPlex3_UMI.count.matrix"))
  real <- read_sciplex3(dir)
  std <- c("drug", "dose_nM", "cell_line", "control")
  expect_identical(
    lapply(cd[std], class),
    lapply(SummarizedExperiment::colData(real)[std], class)
  )
  expect_identical(class(cd), class(SummarizedExperiment::colData(real)))
  expect_identical(names(SummarizedExperiment::rowData(real)),
                   c("gene_id", "gene_symbol"))
  # the conventions: "control" and dose 0 for vehicle cells
  expect_identical(cd$drug == "control", cd$control)
  expect_true(all(cd$dose_nM[cd$control] == 0))
  expect_setequal(unique(cd$drug), c("control", "Belinostat", "Dacinostat",
                                     "Givinostat", "Quisinostat"))
  expect_setequal(unique(cd$dose_nM[!cd$control]), c(10, 100, 1000, 10000))
  expect_setequal(unique(cd$cell_line), c("A549", "K562", "MCF7"))
  expect_identical(unique(cd$product_name[cd$drug == "Quisinostat"]),
                   "Quisinostat (JNJ-26481585) 2HCl")
  expect_identical(unique(cd$product_name[cd$control]), "Vehicle")
  per_condition <- table(cd$cell_line, cd$drug, cd$dose_nM)
  expect_true(all(per_condition[, "control", "0"] == 80))
  drugs <- setdiff(dimnames(per_condition)[[2]], "control")
  expect_true(all(per_condition[, drugs, -1] == 40))
  expect_true(all(per_condition[, drugs, "0"] == 0))
})

test_that("counts are sparse non-negative integers with many zeros", {
  skip_if_not_installed("SingleCellExperiment")
  sce <- sim_small()
  counts <- SingleCellExperiment::counts(sce)
  expect_s4_class(counts, "dgCMatrix")
  expect_true(methods::validObject(counts))
  expect_true(all(counts@x > 0))
  expect_true(all(counts@x == round(counts@x)))
  zero_fraction <- 1 - Matrix::nnzero(counts) / length(counts)
  expect_gt(zero_fraction, 0.5)
  expect_lt(zero_fraction, 0.95)
  expect_equal(sce$n_umi, unname(Matrix::colSums(counts)))
  # library sizes span about an order of magnitude
  q <- stats::quantile(sce$n_umi, c(0.05, 0.95))
  expect_gt(q[[2]] / q[[1]], 5)
  expect_gt(max(sce$n_umi) / min(sce$n_umi), 10)
})

test_that("the truth describes module genes, graphs and targets", {
  skip_if_not_installed("SingleCellExperiment")
  sce <- sim_small()
  truth <- S4Vectors::metadata(sce)$truth
  module <- truth$module_genes
  expect_identical(module, rownames(sce)[SummarizedExperiment::rowData(sce)$module])
  expect_named(truth$scm, c("A549", "K562", "MCF7"))
  for (line in names(truth$scm)) {
    m <- truth$scm[[line]]
    expect_s3_class(m, "perturbgim_scm")
    expect_identical(rownames(m$graph), module)
    targets <- truth$targets[[line]]
    expect_identical(colnames(targets), module)
    expect_identical(rownames(targets)[1:3],
                     c("control", "Belinostat_10nM", "Belinostat_100nM"))
    expect_identical(unname(rowSums(targets)), c(0, rep(7, 16)))
    # psi is what sample_scm() takes with these targets
    expect_silent(sample_scm(m, 2, targets = targets, psi = truth$psi[[line]],
                             intervention = truth$intervention))
  }
  h <- truth$hill
  expect_true(all(h$gene %in% module))
  expect_identical(as.vector(table(h$role)), c(4L * 4L * 3L, 3L * 4L * 3L))
  # shared targets are the same for the four drugs of a line
  shared <- split(h$gene[h$role == "shared"],
                  paste(h$cell_line, h$drug)[h$role == "shared"])
  expect_true(all(vapply(shared[grepl("^A549", names(shared))],
                         function(g) setequal(g, shared[["A549 Belinostat"]]),
                         TRUE)))
  # potency follows the HDAC1 IC50 order
  p <- truth$potency
  expect_identical(p$drug[order(p$ec50_nM)],
                   c("Quisinostat", "Dacinostat", "Givinostat", "Belinostat"))
  expect_equal(p$ec50_nM, p$hdac1_ic50_nM * 10)
})

test_that("targets respond monotonically to dose, in the IC50 order", {
  skip_if_not_installed("SingleCellExperiment")
  sce <- sim_small()
  truth <- S4Vectors::metadata(sce)$truth
  h <- truth$hill
  doses <- c(10, 100, 1000, 10000)
  for (line in c("A549", "K562", "MCF7")) {
    in_line <- sce$cell_line == line
    base <- vapply(c("Belinostat", "Quisinostat"), function(k) {
      genes <- h$gene[h$cell_line == line & h$drug == k]
      mean_log_norm(sce, genes, in_line & sce$control)
    }, 0)
    for (k in unique(h$drug)) {
      rows <- h$cell_line == line & h$drug == k
      genes <- h$gene[rows]
      m <- c(mean_log_norm(sce, genes, in_line & sce$control),
             vapply(doses, function(dz) {
               mean_log_norm(sce, genes, in_line & sce$drug == k & sce$dose_nM == dz)
             }, 0))
      frac <- c(0, 1 / (1 + (h$ec50_nM[rows][1] / doses)^h$hill_n[1]))
      # wherever the Hill curve rises clearly, the targets' mean rises
      step <- diff(frac) > 0.2
      expect_true(all(diff(m)[step] > 0), label = paste(line, k))
      expect_gt(m[5] - m[1], 0.5)
    }
    # at 100 nM, Quisinostat (IC50 0.33 nM) acts far more than Belinostat (41 nM)
    at_100 <- vapply(c("Belinostat", "Quisinostat"), function(k) {
      genes <- h$gene[h$cell_line == line & h$drug == k]
      mean_log_norm(sce, genes, in_line & sce$drug == k & sce$dose_nM == 100)
    }, 0)
    effect <- at_100 - base
    expect_gt(effect[["Quisinostat"]], effect[["Belinostat"]] + 0.5)
  }
})

test_that("cell lines differ in graph and baseline expression", {
  skip_if_not_installed("SingleCellExperiment")
  sce <- sim_small()
  truth <- S4Vectors::metadata(sce)$truth
  g <- lapply(truth$scm, `[[`, "graph")
  expect_false(identical(g$A549, g$K562))
  expect_false(identical(g$A549, g$MCF7))
  # rewiring keeps most of the shared graph and the number of edges
  expect_equal(sum(g$A549 & truth$shared_graph) / sum(truth$shared_graph),
               0.8, tolerance = 0.05)
  expect_identical(sum(g$A549), sum(truth$shared_graph))
  counts <- SingleCellExperiment::counts(sce)
  profile <- function(line) {
    keep <- sce$cell_line == line & sce$control
    log1p(Matrix::rowSums(counts[, keep]) / sum(counts[, keep]) * 1e4)
  }
  expressed <- profile("A549") > 1
  expect_gt(stats::median(abs(profile("A549") - profile("K562"))[expressed]), 0.2)
})

test_that("set.seed() reproduces the data exactly", {
  skip_if_not_installed("SingleCellExperiment")
  a <- withr::with_seed(3, simulate_sciplex(n_cells = 5, n_control = 5,
                                            n_genes = 80, n_module = 20,
                                            cell_lines = "K562"))
  b <- withr::with_seed(3, simulate_sciplex(n_cells = 5, n_control = 5,
                                            n_genes = 80, n_module = 20,
                                            cell_lines = "K562"))
  c <- withr::with_seed(4, simulate_sciplex(n_cells = 5, n_control = 5,
                                            n_genes = 80, n_module = 20,
                                            cell_lines = "K562"))
  expect_identical(a, b)
  expect_false(identical(SingleCellExperiment::counts(a),
                         SingleCellExperiment::counts(c)))
})

test_that("subsets, hard and zero-inflated variants work", {
  skip_if_not_installed("SingleCellExperiment")
  sce <- withr::with_seed(5, simulate_sciplex(
    n_cells = 10, n_control = 0, n_genes = 100, n_module = 20,
    cell_lines = "mcf7", drugs = c("Quisinostat", "belinostat"),
    doses_nM = c(50, 5000), mechanism = "zilognormal", intervention = "hard"
  ))
  expect_identical(ncol(sce), 2L * 2L * 10L)
  expect_identical(unique(sce$cell_line), "MCF7")
  expect_identical(unique(sce$drug), c("Quisinostat", "Belinostat"))
  truth <- S4Vectors::metadata(sce)$truth
  expect_named(truth$psi$MCF7, c("mean", "log_sd", "zero_logit"))
  expect_identical(rownames(truth$targets$MCF7),
                   c("control", "Quisinostat_50nM", "Quisinostat_5uM",
                     "Belinostat_50nM", "Belinostat_5uM"))
  # more genes than the shipped lists: made-up ids fill up
  big <- withr::with_seed(6, simulate_sciplex(n_cells = 1, n_control = 1,
                                              n_genes = 6500, n_module = 5,
                                              cell_lines = "A549",
                                              drugs = "Dacinostat",
                                              n_shared_targets = 1,
                                              n_specific_targets = 1))
  expect_identical(nrow(big), 6500L)
  expect_false(anyDuplicated(rownames(big)) > 0)
  expect_true(any(startsWith(rownames(big), "SIMG")))
})

test_that("bad arguments give clear errors", {
  skip_if_not_installed("SingleCellExperiment")
  expect_error(simulate_sciplex(n_cells = 0), "n_cells")
  expect_error(simulate_sciplex(n_cells = "a"), "n_cells")
  expect_error(simulate_sciplex(n_control = -1), "n_control")
  expect_error(simulate_sciplex(n_genes = 50, n_module = 50), "n_module")
  expect_error(simulate_sciplex(n_module = 1), "n_module")
  expect_error(simulate_sciplex(cell_lines = "HeLa"), "cell_lines")
  expect_error(simulate_sciplex(cell_lines = c("A549", "a549")), "cell_lines")
  expect_error(simulate_sciplex(drugs = "Panobinostat"), "drugs")
  expect_error(simulate_sciplex(drugs = character(0)), "drugs")
  expect_error(simulate_sciplex(doses_nM = c(10, -1)), "doses_nM")
  expect_error(simulate_sciplex(doses_nM = c(10, 10)), "doses_nM")
  expect_error(simulate_sciplex(mechanism = "linear"), "mechanism")
  expect_error(simulate_sciplex(intervention = "soft"), "intervention")
  expect_error(simulate_sciplex(n_module = 10, n_specific_targets = 3),
               "n_specific_targets")
  expect_error(simulate_sciplex(n_shared_targets = 0, n_specific_targets = 0),
               "n_shared_targets")
  expect_error(simulate_sciplex(effect_size = 0), "effect_size")
  expect_error(simulate_sciplex(hill_n = NA), "hill_n")
  expect_error(simulate_sciplex(ic50_scale = Inf), "ic50_scale")
  expect_error(simulate_sciplex(rewire = 1.5), "rewire")
  expect_error(simulate_sciplex(n_module = 20, expected_edges = 200),
               "expected_edges")
  expect_error(simulate_sciplex(library_size = -5), "library_size")
  expect_error(simulate_sciplex(library_sdlog = c(1, 2)), "library_sdlog")
  expect_error(simulate_sciplex(noise_var = 0), "noise_var")
})
