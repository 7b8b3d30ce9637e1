# gim_compare() on SingleCellExperiment and Seurat objects (R/compare-interop.R):
# the same table as the default method on the extracted matrices, a GIM
# that predicts objects, the feature matrix for the baselines, `test` given
# as labels or cells, and bad `test` values.

skip_if_not_installed("SingleCellExperiment")
skip_if_not_installed("SummarizedExperiment")
skip_if_not_installed("S4Vectors")

# A tiny SciPlex-like screen (5 module genes, two drugs at four doses plus
# vehicle, one cell line); logcounts = log1p(counts).
cmp_fixture <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      withr::with_seed(1, {
        sce <- simulate_sciplex(n_cells = 15, n_control = 40, n_genes = 40,
                                n_module = 5, n_shared_targets = 1,
                                n_specific_targets = 1, cell_lines = "A549",
                                drugs = c("Belinostat", "Givinostat"))
      })
      SummarizedExperiment::assay(sce, "logcounts") <-
        log1p(SummarizedExperiment::assay(sce, "counts"))
      cache <<- sce
    }
    cache
  }
})

cmp_gim <- gim_control(steps = 100, n_mc = 8, n_threads = 1, holdout = 1, gim_hidden = 5)
cmp_mlp <- baseline_control(hidden = 5, steps = 50)
cmp_methods <- c("gim", "observational", "naive", "additive")
cmp_metrics <- c("mean_distance", "energy_distance", "pearson_delta")

# The table alone, without the fits and features attached to it.
cmp_table <- function(res) {
  df <- as.data.frame(res)
  attributes(df) <- attributes(df)[c("names", "row.names", "class")]
  class(df) <- "data.frame"
  df
}

# Short fits may leave cycles in the point estimate, which predict() reports.
cmp_quiet <- function(expr) {
  suppressWarnings(expr, classes = "perturbgim_cyclic_graph")
}

compare_sce <- function(x, test = "Givinostat_10000", seed = 3, ...) {
  withr::with_seed(seed, cmp_quiet(
    gim_compare(x, context = c("drug", "dose_nM"), features = sciplex_features,
                observational = "control", genes = "module", test = test,
                methods = cmp_methods, mechanism = "linear", control = cmp_gim,
                baseline_control = cmp_mlp, metrics = cmp_metrics,
                verbose = FALSE, ...)
  ))
}

test_that("the SCE method gives the table of the default method on the assay", {
  sce <- cmp_fixture()
  res <- compare_sce(sce)
  genes <- rownames(sce)[SummarizedExperiment::rowData(sce)$module]
  x <- t(as.matrix(SummarizedExperiment::assay(sce, "logcounts")))[, genes]
  context <- paste(sce$drug, sce$dose_nM, sep = "_")
  cd <- as.data.frame(SummarizedExperiment::colData(sce))
  perturbed <- cd[!cd$control & !duplicated(context), ]
  features <- sciplex_features(perturbed)
  rownames(features) <- paste(perturbed$drug, perturbed$dose_nM, sep = "_")
  ref <- withr::with_seed(3, cmp_quiet(
    gim_compare(x, context, features, test = "Givinostat_10000",
                methods = cmp_methods, mechanism = "linear", control = cmp_gim,
                baseline_control = cmp_mlp, metrics = cmp_metrics, verbose = FALSE)
  ))
  expect_s3_class(res, "perturbgim_comparison")
  expect_identical(res$method, cmp_methods)
  expect_identical(res$context, rep("Givinostat_10000", 4))
  expect_equal(cmp_table(res), cmp_table(ref))
  expect_false(anyNA(res$mean_distance))
  # The feature rows of every perturbed context, held-out one included.
  expect_equal(attr(res, "features"), features[rownames(attr(res, "features")), ])
  expect_true("Givinostat_10000" %in% rownames(attr(res, "features")))
  expect_identical(attr(res, "errors"), character(0))
})

test_that("the GIM of the comparison is a gim_sce fit of the training cells", {
  sce <- cmp_fixture()
  res <- compare_sce(sce)
  fit <- attr(res, "fits")$gim
  expect_s3_class(fit, c("gim_sce", "gim"), exact = TRUE)
  held <- sce$drug == "Givinostat" & sce$dose_nM == 10000
  expect_identical(sum(fit$contexts$n_cells), sum(!held))
  expect_false("Givinostat_10000" %in% fit$source$context_table$.context)
  expect_identical(fit$source$context, c("drug", "dose_nM"))
  expect_identical(fit$source$genes, fit$nodes)
  # It predicts the held-out context as a SingleCellExperiment.
  pred <- withr::with_seed(4, cmp_quiet(predict(fit, sce[, held])))
  expect_s4_class(pred, "SingleCellExperiment")
  expect_identical(ncol(pred), sum(held))
  expect_true(all(pred$predicted))
  expect_identical(unique(pred$drug), "Givinostat")
  expect_equal(unique(pred$dose_nM), 10000)
  # The baselines predict from the stored feature rows.
  f <- attr(res, "features")["Givinostat_10000", , drop = FALSE]
  add <- predict(attr(res, "fits")$additive, f, n = 7)
  expect_identical(dim(add), c(7L, length(fit$nodes)))
})

test_that("test can flag whole contexts by cell", {
  sce <- cmp_fixture()
  held <- sce$drug == "Givinostat" & sce$dose_nM == 10000
  expect_equal(cmp_table(compare_sce(sce, test = held)), cmp_table(compare_sce(sce)))
  two <- held | (sce$drug == "Belinostat" & sce$dose_nM == 10000)
  res <- compare_sce(sce, test = two)
  expect_setequal(unique(res$context), c("Givinostat_10000", "Belinostat_10000"))
})

test_that("a SummarizedExperiment works and the GIM predicts one", {
  sce <- cmp_fixture()
  se <- SummarizedExperiment::SummarizedExperiment(
    assays = SummarizedExperiment::assays(sce),
    rowData = SummarizedExperiment::rowData(sce),
    colData = SummarizedExperiment::colData(sce)
  )
  res <- compare_sce(se)
  expect_equal(cmp_table(res), cmp_table(compare_sce(sce)))
  fit <- attr(res, "fits")$gim
  held <- se$drug == "Givinostat" & se$dose_nM == 10000
  pred <- withr::with_seed(4, cmp_quiet(predict(fit, se[, held])))
  expect_true(methods::is(pred, "SummarizedExperiment"))
  expect_false(methods::is(pred, "SingleCellExperiment"))
})

test_that("a failed GIM leaves the baselines and no fit", {
  sce <- cmp_fixture()
  # The zero-inflated mechanism needs non-negative data.
  SummarizedExperiment::assay(sce, "logcounts")[1, 1] <- -1
  expect_warning(
    res <- withr::with_seed(3, gim_compare(
      sce, context = c("drug", "dose_nM"), features = sciplex_features,
      observational = "control", genes = "module", test = "Givinostat_10000",
      methods = c("gim", "observational"), mechanism = "zilognormal",
      control = cmp_gim, metrics = "mean_distance", verbose = FALSE)),
    class = "perturbgim_compare_failed"
  )
  expect_null(attr(res, "fits")$gim)
  expect_true(is.na(res$mean_distance[res$method == "gim"]))
  expect_false(is.na(res$mean_distance[res$method == "observational"]))
})

test_that("errors about arguments passed on name the call the user made", {
  err <- expect_error(compare_sce(cmp_fixture(), intervention = "bogus"), "intervention",
                      class = "rlang_error")
  expect_identical(err$call[[1L]], quote(gim_compare))
})

test_that("bad test values are clear errors", {
  sce <- cmp_fixture()
  g <- function(test) {
    gim_compare(sce, context = c("drug", "dose_nM"), features = sciplex_features,
                observational = "control", genes = "module", test = test,
                methods = "observational", verbose = FALSE)
  }
  held <- sce$drug == "Givinostat" & sce$dose_nM == 10000
  part <- held
  part[which(held)[1]] <- FALSE
  expect_snapshot(error = TRUE, {
    g("Givinostat_5")
    g(held[-1])
    g(replace(held, 1, NA))
    g(rep(FALSE, ncol(sce)))
    g(part)
    g(NA_character_)
    g(list(1))
  })
  # An observational context cannot be held out (it has no features).
  expect_error(g("control_0"), "perturbed contexts")
  # Errors of reading the object come first, as in gim_fit().
  expect_error(
    gim_compare(sce, context = "drug_name", features = sciplex_features,
                test = "Givinostat_10000", verbose = FALSE),
    "no column"
  )
})

test_that("the Seurat method gives the table of the SCE method", {
  skip_if_not_installed("SeuratObject")
  sce <- cmp_fixture()
  counts <- SummarizedExperiment::assay(sce, "counts")
  meta <- as.data.frame(SummarizedExperiment::colData(sce))
  seu <- SeuratObject::CreateSeuratObject(counts, meta.data = meta)
  if (utils::packageVersion("SeuratObject") >= "5.0.0") {
    SeuratObject::LayerData(seu, layer = "data") <- log1p(counts)
  } else {
    seu <- SeuratObject::SetAssayData(seu, slot = "data", new.data = log1p(counts))
  }
  genes <- rownames(sce)[SummarizedExperiment::rowData(sce)$module]
  res <- withr::with_seed(3, cmp_quiet(
    gim_compare(seu, context = c("drug", "dose_nM"), features = sciplex_features,
                observational = "control", genes = genes, test = "Givinostat_10000",
                methods = cmp_methods, mechanism = "linear", control = cmp_gim,
                baseline_control = cmp_mlp, metrics = cmp_metrics, verbose = FALSE)
  ))
  expect_equal(cmp_table(res), cmp_table(compare_sce(sce)))
  fit <- attr(res, "fits")$gim
  expect_s3_class(fit, "gim_seurat")
  held <- seu$drug == "Givinostat" & seu$dose_nM == 10000
  pred <- withr::with_seed(4, cmp_quiet(predict(fit, seu[, held])))
  expect_s4_class(pred, "Seurat")
  expect_identical(ncol(pred), sum(held))
  expect_error(
    gim_compare(seu, context = c("drug", "dose_nM"), features = sciplex_features,
                test = "Givinostat_10000", layer = "scale.data", verbose = FALSE),
    "no slot|no layer"
  )
})
