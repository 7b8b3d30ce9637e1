# Small perturbation data, cells in rows: 4 conditions x 60 cells, 80 genes,
# genes 1-6 respond to A, gene 79 is never expressed, gene 80 is rare, and
# cells 1-3 have tiny libraries.
pp_toy <- function(seed = 1) {
  set.seed(seed)
  n <- 240
  p <- 80
  cond <- rep(c("control", "A", "B", "C"), each = 60)
  lam <- matrix(stats::rexp(p, 0.2), n, p, byrow = TRUE)
  lam[cond == "A", 1:6] <- lam[cond == "A", 1:6] * 5
  lam[cond == "B", 7:8] <- lam[cond == "B", 7:8] / 5
  x <- matrix(stats::rpois(n * p, lam), n, p,
              dimnames = list(paste0("cell", 1:n), paste0("g", 1:p)))
  x[, 79] <- 0
  x[, 80] <- 0
  x[c(5, 70, 130), 80] <- 3
  x[1:3, ] <- 0
  x[1:3, 1] <- c(0, 5, 2)
  list(x = x, cond = cond, control = cond == "control",
       line = rep(c("L1", "L2"), length.out = n))
}

# The reference pipeline, written out on dense matrices.
pp_reference <- function(x, cond, control, min_counts, min_cells, n_hvg) {
  cells <- which(rowSums(x) >= min_counts)
  x <- x[cells, , drop = FALSE]
  genes <- which(colSums(x > 0) >= min_cells)
  x <- x[, genes, drop = FALSE]
  tot <- rowSums(x)
  target <- stats::median(tot[control[cells]])
  norm <- x * (target / tot)
  y <- log1p(norm)
  m <- colMeans(norm)
  v <- apply(norm, 2, stats::var)
  m[m == 0] <- 1e-12
  disp <- v / m
  disp[disp == 0] <- NA
  disp <- log(disp)
  bins <- cut(log1p(m), 20)
  dn <- rep(NA_real_, length(disp))
  for (b in unique(bins)) {
    i <- which(bins == b)
    d <- disp[i]
    s <- stats::sd(d, na.rm = TRUE)
    mu <- mean(d, na.rm = TRUE)
    dn[i] <- if (sum(!is.na(d)) == 1L) d / mu else (d - mu) / s
  }
  hvg_order <- order(-ifelse(is.na(dn), -Inf, signif(dn, 12)))[seq_len(min(n_hvg, length(dn)))]
  list(cells = cells, genes = genes, target = target, y = y, mean = m,
       var = v, dispersion_norm = dn, hvg = sort(hvg_order))
}

welch_t <- function(a, b) {
  if (stats::var(a) + stats::var(b) == 0) return(if (mean(a) == mean(b)) 0 else Inf)
  unname(stats::t.test(a, b, var.equal = FALSE)$statistic)
}

test_that("every step of the matrix method matches a direct dense computation", {
  toy <- pp_toy()
  expect_warning(
    res <- preprocess_perturbation(toy$x, condition = toy$cond,
                                   control = toy$control, min_counts = 50,
                                   min_cells = 5, n_hvg = 30, n_markers = 8),
    NA)
  ref <- pp_reference(toy$x, toy$cond, toy$control, 50, 5, 30)
  expect_equal(res$cells, ref$cells)
  expect_equal(res$record$target_sum, ref$target)
  expect_equal(rownames(res$genes), colnames(toy$x)[ref$genes])
  expect_false(any(c("g79", "g80") %in% rownames(res$genes)))
  expect_equal(res$genes$mean, unname(ref$mean))
  expect_equal(res$genes$variance, unname(ref$var))
  expect_equal(res$genes$dispersion_norm, ref$dispersion_norm)
  expect_equal(which(res$genes$highly_variable), ref$hvg)
  # markers: max |Welch t| over conditions, among the highly variable genes
  y <- ref$y
  cond <- toy$cond[ref$cells]
  scores <- vapply(ref$hvg, function(j) {
    max(vapply(c("A", "B", "C"), function(k) {
      abs(welch_t(y[cond == k, j], y[cond == "control", j]))
    }, numeric(1)))
  }, numeric(1))
  expect_equal(res$genes$marker_score[ref$hvg], scores, tolerance = 1e-8)
  top <- ref$hvg[order(-scores)][1:8]
  expect_equal(which(res$genes$marker), sort(top))
  expect_equal(res$record$markers, colnames(y)[top])
  expect_true(all(paste0("g", 1:6) %in% res$record$markers))
  expect_equal(unname(res$x), unname(y[, sort(top)]), tolerance = 1e-12)
  expect_equal(colnames(res$x), colnames(y)[sort(top)])
  expect_equal(res$scale_factor, unname(ref$target / rowSums(toy$x[ref$cells, ref$genes])))
  expect_equal(res$record$n_cells_input, 240L)
  expect_equal(res$record$n_cells, length(ref$cells))
  expect_equal(res$record$n_genes, length(ref$genes))
  expect_equal(res$record$n_hvg_selected, 30L)
  expect_equal(res$record$n_markers_selected, 8L)
  expect_equal(res$record$conditions$condition, c("A", "B", "C"))
})

test_that("sparse input stays sparse and gives the dense result", {
  toy <- pp_toy()
  args <- list(condition = toy$cond, control = toy$control, min_counts = 50,
               min_cells = 5, n_hvg = 30, n_markers = 8)
  dense <- do.call(preprocess_perturbation, c(list(toy$x), args))
  sp <- Matrix::Matrix(toy$x, sparse = TRUE)
  sparse <- do.call(preprocess_perturbation, c(list(sp), args))
  expect_s4_class(sparse$x, "dgCMatrix")
  expect_equal(as.matrix(sparse$x), dense$x)
  expect_equal(sparse$genes, dense$genes)
  expect_equal(sparse$record, dense$record)
  # other sparse classes are converted, not densified
  tsp <- methods::as(sp, "TsparseMatrix")
  expect_s4_class(do.call(preprocess_perturbation, c(list(tsp), args))$x,
                  "dgCMatrix")
  # subset = "hvg" / "none"
  hv <- do.call(preprocess_perturbation, c(list(sp), args, subset = "hvg"))
  expect_equal(ncol(hv$x), 30L)
  all_genes <- do.call(preprocess_perturbation, c(list(sp), args, subset = "none"))
  expect_equal(ncol(all_genes$x), nrow(all_genes$genes))
})

test_that("the variance rule ranks genes by the variance of the log values", {
  toy <- pp_toy()
  res <- preprocess_perturbation(toy$x, condition = toy$cond,
                                 control = toy$control, min_counts = 50,
                                 min_cells = 5, n_hvg = 10, n_markers = 3,
                                 hvg_method = "variance")
  ref <- pp_reference(toy$x, toy$cond, toy$control, 50, 5, 10)
  v <- apply(ref$y, 2, stats::var)
  expect_equal(res$genes$variance, unname(v))
  expect_equal(which(res$genes$highly_variable), sort(order(-v)[1:10]))
  expect_true(all(is.na(res$genes$dispersion_norm)))
  expect_equal(res$genes$hvg_rank[order(-v)[1:10]], 1:10)
})

test_that("groups compare every condition with its own controls", {
  toy <- pp_toy()
  res <- preprocess_perturbation(toy$x, condition = toy$cond,
                                 control = toy$control, group = toy$line,
                                 min_counts = 50, min_cells = 5, n_hvg = 30,
                                 n_markers = 5)
  ref <- pp_reference(toy$x, toy$cond, toy$control, 50, 5, 30)
  cond <- toy$cond[ref$cells]
  line <- toy$line[ref$cells]
  j <- ref$hvg[1]
  expected <- max(vapply(c("A", "B", "C"), function(k) {
    vapply(c("L1", "L2"), function(l) {
      abs(welch_t(ref$y[cond == k & line == l, j],
                  ref$y[cond == "control" & line == l, j]))
    }, numeric(1))
  }, numeric(2)))
  expect_equal(res$genes$marker_score[j], expected, tolerance = 1e-8)
  expect_equal(nrow(res$record$conditions), 6L)
  expect_equal(res$group, line)
  expect_match(res$genes$marker_condition[res$genes$marker][1], "^L[12]: [ABC]$")
})

test_that("the SingleCellExperiment method subsets, adds logcounts and records", {
  skip_if_not_installed("SingleCellExperiment")
  toy <- pp_toy()
  sce <- SingleCellExperiment::SingleCellExperiment(
    assays = list(counts = Matrix::t(Matrix::Matrix(toy$x, sparse = TRUE))),
    colData = S4Vectors::DataFrame(
      drug = ifelse(toy$control, "control", toy$cond),
      dose_nM = ifelse(toy$control, 0, 100), control = toy$control,
      cell_line = toy$line)
  )
  out <- preprocess_perturbation(sce, min_counts = 50, min_cells = 5,
                                 n_hvg = 30, n_markers = 8)
  mat <- preprocess_perturbation(toy$x, condition = paste0(toy$cond, "_100"),
                                 control = toy$control, min_counts = 50,
                                 min_cells = 5, n_hvg = 30, n_markers = 8)
  expect_s4_class(out, "SingleCellExperiment")
  expect_equal(dim(out), c(8L, length(mat$cells)))
  lc <- SummarizedExperiment::assay(out, "logcounts")
  expect_s4_class(lc, "dgCMatrix")
  expect_equal(as.matrix(Matrix::t(lc)), as.matrix(mat$x))
  expect_equal(colnames(out), rownames(toy$x)[mat$cells])
  expect_equal(as.matrix(SummarizedExperiment::assay(out, "counts")),
               t(toy$x[mat$cells, colnames(mat$x)]))
  rd <- SummarizedExperiment::rowData(out)
  expect_true(all(rd$marker & rd$highly_variable))
  expect_equal(rd$marker_score, mat$genes[rownames(out), "marker_score"])
  expect_equal(out$scale_factor, mat$scale_factor)
  rec <- S4Vectors::metadata(out)$perturbgim_preprocess
  expect_equal(rec$condition, c("drug", "dose_nM"))
  expect_equal(rec$control, "control")
  expect_equal(rec$assay.type, "counts")
  expect_equal(rec$markers, mat$record$markers)
  expect_equal(rec$conditions$condition, c("A_100", "B_100", "C_100"))
  for (field in c("min_counts", "min_cells", "n_hvg", "n_markers", "hvg_method",
                  "target_sum", "n_cells_input", "n_cells", "n_genes_input",
                  "n_genes", "n_hvg_selected", "n_markers_selected",
                  "marker_statistic", "hvg_statistic", "subset")) {
    expect_true(!is.null(rec[[field]]), label = field)
  }
  grouped <- preprocess_perturbation(sce, group = "cell_line", min_counts = 50,
                                     min_cells = 5, n_hvg = 30, n_markers = 8,
                                     subset = "hvg")
  expect_equal(nrow(grouped), 30L)
  expect_equal(S4Vectors::metadata(grouped)$perturbgim_preprocess$group,
               "cell_line")
  # a dense assay gives a dense logcounts
  dense_sce <- SingleCellExperiment::SingleCellExperiment(
    assays = list(counts = t(toy$x)), colData = SummarizedExperiment::colData(sce))
  lc2 <- SummarizedExperiment::assay(
    preprocess_perturbation(dense_sce, min_counts = 50, min_cells = 5,
                            n_hvg = 30, n_markers = 8), "logcounts")
  expect_true(is.matrix(lc2))
  expect_equal(lc2, as.matrix(lc))
})

test_that("bad objects and columns give clear errors", {
  skip_if_not_installed("SingleCellExperiment")
  toy <- pp_toy()
  sce <- SingleCellExperiment::SingleCellExperiment(
    assays = list(counts = t(toy$x)),
    colData = S4Vectors::DataFrame(drug = toy$cond, dose_nM = 1,
                                   control = toy$control,
                                   flag = as.integer(toy$control)))
  expect_error(preprocess_perturbation(sce, condition = "dose"),
               "no column.*dose")
  expect_error(preprocess_perturbation(sce, control = "vehicle"),
               "no column.*vehicle")
  expect_error(preprocess_perturbation(sce, control = "flag"), "must be logical")
  expect_error(preprocess_perturbation(sce, group = "line"), "no column.*line")
  expect_error(preprocess_perturbation(sce, assay.type = "raw"), "no assay")
  expect_error(preprocess_perturbation(sce, n_markers = 60, n_hvg = 50),
               "at most")
  expect_error(preprocess_perturbation(sce, mincounts = 3), "Unknown argument")
  sce$drug[100] <- NA
  expect_error(preprocess_perturbation(sce, min_counts = 50, min_cells = 5),
               "NA for 1 perturbed cell")
})

test_that("bad matrices and labels give clear errors", {
  toy <- pp_toy()
  x <- toy$x
  run <- function(x, cond = toy$cond, ctrl = toy$control, ...) {
    args <- utils::modifyList(list(min_counts = 50, min_cells = 5, n_hvg = 30,
                                   n_markers = 5), list(...))
    do.call(preprocess_perturbation,
            c(list(x, condition = cond, control = ctrl), args))
  }
  expect_error(preprocess_perturbation(as.data.frame(x)), "as.matrix")
  expect_error(preprocess_perturbation(list(1)), "must be a SingleCellExperiment")
  expect_error(preprocess_perturbation(x), "give `condition` and `control`")
  neg <- x
  neg[4, 4] <- -1
  expect_error(run(neg), "negative")
  na <- x
  na[4, 4] <- NA
  expect_error(run(na), "NA, NaN or infinite")
  expect_error(run(Matrix::Matrix(na, sparse = TRUE)), "NA, NaN or infinite")
  expect_error(run(x[0, ]), "empty")
  expect_error(run(x, ctrl = as.integer(toy$control)), "logical vector")
  expect_error(run(x, ctrl = toy$control[-1]), "one entry per cell")
  expect_error(run(x, cond = toy$cond[-1]), "one entry per cell")
  expect_error(run(x, ctrl = rep(FALSE, 240)), "No control cells")
  expect_error(run(x, ctrl = rep(TRUE, 240)), "No perturbed cells")
  expect_error(run(x, min_counts = 1e9), "No cell has at least")
  expect_error(run(x, min_cells = 1e6), "No gene is expressed")
  expect_error(run(x, min_counts = -1), "min_counts")
  expect_error(run(x, n_hvg = 0), "n_hvg")
  expect_error(run(x, hvg_method = "dispersion"), "hvg_method")
  # controls that all fail the cell filter
  low <- x
  low[toy$control, ] <- 0
  low[toy$control, 1] <- 1
  expect_error(run(low), "No control cell is left")
  # one group without controls
  expect_error(run(x, group = ifelse(toy$control, "L1", toy$line)),
               "Fewer than 2 control cells")
})

test_that("empty conditions and all-zero cells and genes are reported", {
  toy <- pp_toy()
  x <- toy$x
  cond <- toy$cond
  cond[1:3] <- "D" # only the tiny cells: lost in the cell filter
  ctrl <- toy$control
  ctrl[1:3] <- FALSE
  expect_warning(
    res <- preprocess_perturbation(x, condition = cond, control = ctrl,
                                   min_counts = 50, min_cells = 5, n_hvg = 30,
                                   n_markers = 5),
    "lost all")
  expect_false("D" %in% res$record$conditions$condition)
  # a condition with a single cell is not scored
  cond2 <- toy$cond
  cond2[200] <- "E"
  expect_warning(
    res2 <- preprocess_perturbation(x, condition = cond2, control = toy$control,
                                    min_counts = 50, min_cells = 5, n_hvg = 30,
                                    n_markers = 5),
    "fewer than 2 cells")
  expect_false(res2$record$conditions$scored[res2$record$conditions$condition == "E"])
  # min_counts = 0 keeps the empty cell 1 until scaling, then drops it
  expect_warning(
    res3 <- preprocess_perturbation(x, condition = toy$cond,
                                    control = toy$control, min_counts = 0,
                                    min_cells = 5, n_hvg = 30, n_markers = 5),
    "without counts")
  expect_false(1L %in% res3$cells)
  expect_equal(res3$record$n_cells_zero_after_gene_filter, 1L)
  expect_true(all(is.finite(res3$x)))
  # min_cells = 0 still drops the never-expressed gene 79
  res4 <- preprocess_perturbation(x, condition = toy$cond,
                                  control = toy$control, min_counts = 50,
                                  min_cells = 0, n_hvg = 30, n_markers = 5)
  expect_false("g79" %in% rownames(res4$genes))
  expect_true("g80" %in% rownames(res4$genes))
  # fewer genes than n_hvg: all of them, recorded
  res5 <- preprocess_perturbation(x[, 1:20], condition = toy$cond,
                                  control = toy$control, min_counts = 10,
                                  min_cells = 5, n_hvg = 1000, n_markers = 50)
  expect_equal(res5$record$n_hvg_selected, 20L)
  expect_equal(res5$record$n_markers_selected, 20L)
})

test_that("a control level of the condition takes the place of a logical column", {
  toy <- pp_toy()
  args <- list(min_counts = 50, min_cells = 5, n_hvg = 30, n_markers = 8,
               verbose = FALSE)
  by_flag <- do.call(preprocess_perturbation,
                     c(list(toy$x, condition = toy$cond, control = toy$control), args))
  by_level <- do.call(preprocess_perturbation,
                      c(list(toy$x, condition = toy$cond, control_level = "control"), args))
  expect_equal(by_level$x, by_flag$x)
  expect_identical(by_level$control, by_flag$control)
  expect_identical(by_level$record$control_level, "control")
  skip_if_not_installed("SingleCellExperiment")
  # A CRISPR-like screen: a guide per cell, "NT" among the guides, no
  # logical column and no dose.
  guide <- ifelse(toy$control, "NT", toy$cond)
  sce <- SingleCellExperiment::SingleCellExperiment(
    assays = list(counts = t(toy$x)), colData = S4Vectors::DataFrame(guide = guide))
  out <- do.call(preprocess_perturbation,
                 c(list(sce, condition = "guide", control_level = "NT"), args))
  expect_equal(as.matrix(Matrix::t(SummarizedExperiment::assay(out, "logcounts"))),
               by_flag$x)
  rec <- S4Vectors::metadata(out)$perturbgim_preprocess
  expect_identical(rec$control_level, "NT")
  expect_null(rec$control)
  expect_identical(rec$conditions$condition, c("A", "B", "C"))
  # Several control values.
  guide2 <- replace(guide, which(guide == "NT")[1:10], "safe")
  sce$guide <- guide2
  out2 <- do.call(preprocess_perturbation,
                  c(list(sce, condition = "guide", control_level = c("NT", "safe")), args))
  expect_equal(SummarizedExperiment::assay(out2, "logcounts"),
               SummarizedExperiment::assay(out, "logcounts"))
})

test_that("the filters say what they removed and warn when most cells go", {
  toy <- pp_toy()
  run <- function(...) {
    preprocess_perturbation(toy$x, condition = toy$cond, control = toy$control,
                            min_cells = 5, n_hvg = 30, n_markers = 5, ...)
  }
  expect_message(run(min_counts = 50),
                 "kept 237 of 240 cells and 78 of 80 genes",
                 class = "perturbgim_filter_message")
  expect_message(run(min_counts = 50), "`min_counts` = 50 removed 3 cells")
  expect_message(run(min_counts = 50), "`min_cells` = 5 removed 2 genes\\.")
  expect_no_message(run(min_counts = 50, verbose = FALSE))
  expect_no_warning(run(min_counts = 50, verbose = FALSE))
  totals <- rowSums(toy$x)
  high <- stats::quantile(totals, 0.6)
  expect_snapshot(res <- run(min_counts = high, verbose = FALSE),
                  transform = function(x) gsub("[0-9.]+ counts", "N counts", x))
  expect_warning(run(min_counts = high, verbose = FALSE), class = "perturbgim_filter_warning")
  expect_true(length(res$cells) < 120)
  expect_identical(res$record$n_cells_input, 240L)
})

test_that("bad control levels and verbose give clear errors", {
  toy <- pp_toy()
  x <- toy$x
  expect_snapshot(error = TRUE, {
    preprocess_perturbation(x, condition = toy$cond, control_level = "NT")
    preprocess_perturbation(x, condition = toy$cond, control_level = NA)
    preprocess_perturbation(x, condition = toy$cond, control_level = TRUE)
    preprocess_perturbation(x, condition = toy$cond, control = toy$control,
                            control_level = "control")
    preprocess_perturbation(x, condition = rep("A", 240), control_level = "A")
    preprocess_perturbation(x, condition = toy$cond, control = toy$control,
                            verbose = "yes")
  })
  skip_if_not_installed("SingleCellExperiment")
  sce <- SingleCellExperiment::SingleCellExperiment(
    assays = list(counts = t(x)),
    colData = S4Vectors::DataFrame(guide = toy$cond, control = toy$control))
  expect_snapshot(error = TRUE, {
    preprocess_perturbation(sce, condition = "guide", control = "control",
                            control_level = "control")
    preprocess_perturbation(sce, condition = "guide", control_level = "NT")
    preprocess_perturbation(sce, condition = "guide", control = "guide")
    preprocess_perturbation(sce, condition = "guide", control_level = list("NT"))
    preprocess_perturbation(sce, condition = "guide", control_level = "control",
                            verbose = NA)
  })
})
