# gim_fit() and predict() on Seurat objects (R/interop-seurat.R), for
# SeuratObject 4 (assay slots) and 5 (layers): same fit as the default
# method, predicted Seurat objects, storage in Misc() and bad inputs.

skip_if_not_installed("SeuratObject")
skip_if_not_installed("SingleCellExperiment")

seurat_major <- function() as.character(utils::packageVersion("SeuratObject")$major)

# Log-normalised values into the "data" slot (v4) or layer (v5).
set_data <- function(seu, m) {
  if (utils::packageVersion("SeuratObject") >= "5.0.0") {
    SeuratObject::LayerData(seu, layer = "data") <- m
    seu
  } else {
    SeuratObject::SetAssayData(seu, slot = "data", new.data = m)
  }
}

# The tiny screen of test-interop-sce.R as a Seurat object; Givinostat at
# 10 uM is held out.
seurat_fixture <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      withr::with_seed(1, {
        sce <- simulate_sciplex(n_cells = 20, n_control = 40, n_genes = 40,
                                n_module = 5, n_shared_targets = 1,
                                n_specific_targets = 1, cell_lines = "A549",
                                drugs = c("Belinostat", "Givinostat"))
      })
      counts <- SummarizedExperiment::assay(sce, "counts")
      meta <- as.data.frame(SummarizedExperiment::colData(sce))
      raw <- SeuratObject::CreateSeuratObject(counts, meta.data = meta)
      seu <- set_data(raw, log1p(counts))
      held <- seu$drug == "Givinostat" & seu$dose_nM == 10000
      # Subset before seeding: subsetting a Seurat object draws random numbers.
      cache <<- list(raw = raw, seu = seu, counts = counts, train = seu[, !held],
                     test = seu[, held], held = held,
                     genes = rownames(sce)[SummarizedExperiment::rowData(sce)$module])
    }
    cache
  }
})

tiny_control <- function() {
  gim_control(steps = 100, n_mc = 8, n_threads = 1, holdout = 1, gim_hidden = 5)
}

fit_seurat <- function(x, genes, ..., seed = 2) {
  withr::with_seed(seed, gim_fit(x, context = c("drug", "dose_nM"),
                                 features = c("drug", "dose_nM"),
                                 observational = "control", genes = genes,
                                 mechanism = "linear", control = tiny_control(),
                                 verbose = FALSE, ...))
}

quiet_cycles <- function(expr) {
  withCallingHandlers(expr, warning = function(w) {
    if (grepl("cycles", conditionMessage(w))) invokeRestart("muffleWarning")
  })
}

seurat_fit_fixture <- local({
  cache <- NULL
  function() {
    d <- seurat_fixture()
    if (is.null(cache)) cache <<- fit_seurat(d$train, d$genes)
    cache
  }
})

test_that("the Seurat method gives the fit of the default method", {
  d <- seurat_fixture()
  fit <- seurat_fit_fixture()
  x <- Matrix::t(log1p(d$counts)[d$genes, !d$held])
  labels <- paste(d$train$drug, d$train$dose_nM, sep = "_")
  ref <- withr::with_seed(2, gim_fit(x, labels, fit$features, mechanism = "linear",
                                     control = tiny_control(), verbose = FALSE))
  expect_s3_class(fit, c("gim_seurat", "gim"), exact = TRUE)
  expect_identical(fit$nodes, d$genes)
  expect_equal(fit$theta, ref$theta)
  expect_equal(fit$phi, ref$phi)
  expect_identical(fit$contexts, ref$contexts)
  src <- fit$source
  expect_identical(src$class, "Seurat")
  expect_identical(src$assay, "RNA")
  expect_identical(src$layer, "data")
  expect_identical(src$assay_version,
                   if (inherits(d$seu[["RNA"]], "Assay5")) "v5" else "v3")
  expect_output(print(fit), "Seurat, assay \"RNA\", layer \"data\"")
  # The counts layer is another matrix, so another fit.
  counts_fit <- fit_seurat(d$train, d$genes, layer = "counts")
  expect_false(isTRUE(all.equal(counts_fit$theta, fit$theta)))
})

test_that("genes can come from a logical column of the feature metadata", {
  d <- seurat_fixture()
  seu <- d$train
  seu[["RNA"]][["chosen"]] <- stats::setNames(rownames(seu) %in% d$genes[2:3], rownames(seu))
  fit <- fit_seurat(seu, "chosen")
  expect_identical(fit$nodes, d$genes[2:3])
})

test_that("predictions are Seurat objects with the contexts' metadata", {
  d <- seurat_fixture()
  fit <- seurat_fit_fixture()
  pred <- quiet_cycles(withr::with_seed(4, predict(fit, d$test)))
  expect_s4_class(pred, "Seurat")
  expect_identical(SeuratObject::DefaultAssay(pred), "RNA")
  expect_identical(rownames(pred), fit$nodes)
  expect_identical(ncol(pred), ncol(d$test))
  meta <- pred[[]]
  expect_true(all(meta$predicted))
  expect_true(all(meta$drug == "Givinostat" & meta$dose_nM == 10000))
  expect_true(all(meta$context == "Givinostat_10000"))
  mat <- quiet_cycles(withr::with_seed(4, predict(fit, d$test, output = "matrix")))
  data <- if (utils::packageVersion("SeuratObject") >= "5.0.0") {
    SeuratObject::LayerData(pred, layer = "data")
  } else {
    SeuratObject::GetAssayData(pred, slot = "data")
  }
  expect_equal(unname(as.matrix(data)), unname(t(unclass(mat))), ignore_attr = TRUE)
  obs <- quiet_cycles(predict(fit, NULL, n = 3))
  expect_identical(unname(obs$context), rep("observational", 3))
})

test_that("bind_predictions() merges observed and predicted cells", {
  d <- seurat_fixture()
  fit <- seurat_fit_fixture()
  pred <- quiet_cycles(predict(fit, d$test, n = 4))
  both <- bind_predictions(d$test, pred)
  expect_s4_class(both, "Seurat")
  expect_identical(ncol(both), ncol(d$test) + 4L)
  expect_identical(both$predicted, stats::setNames(rep(c(FALSE, TRUE), c(ncol(d$test), 4)),
                                                   colnames(both)))
  expect_identical(unname(both$drug), rep("Givinostat", ncol(both)))
  # A fit on counts binds the observed counts.
  counts_fit <- fit_seurat(d$train, d$genes, layer = "counts")
  pred <- quiet_cycles(predict(counts_fit, d$test, n = 2))
  both <- bind_predictions(d$test, pred)
  expect_equal(unname(as.matrix(context_cells(both, counts_fit)[[1]][1:ncol(d$test), ])),
               unname(as.matrix(Matrix::t(d$counts[d$genes, d$held]))))
})

test_that("context_cells() reads the fitted layer by context", {
  d <- seurat_fixture()
  fit <- seurat_fit_fixture()
  obs <- context_cells(d$test, fit)
  expect_identical(names(obs), "Givinostat_10000")
  expect_equal(obs[[1]], as.matrix(Matrix::t(log1p(d$counts)[d$genes, d$held])))
})

test_that("a fit is stored in and retrieved from Misc()", {
  d <- seurat_fixture()
  fit <- seurat_fit_fixture()
  seu <- gim_store(d$train, fit)
  expect_identical(SeuratObject::Misc(seu, "gim"), fit)
  expect_identical(gim_stored(seu), fit)
  expect_no_warning(seu <- gim_store(seu, fit)) # overwriting is quiet
  expect_identical(gim_stored(seu), fit)
  expect_snapshot(error = TRUE, gim_stored(d$train, "other"))
})

test_that("errors about arguments passed on name the call the user made", {
  seu <- seurat_fixture()$train
  err <- expect_error(gim_fit(seu, context = "drug", features = "drug", observational = "control",
                              control = list(steps = 3)), "control", class = "rlang_error")
  expect_identical(err$call[[1L]], quote(gim_fit))
})

test_that("bad inputs give clear errors", {
  d <- seurat_fixture()
  seu <- d$train
  g <- function(...) gim_fit(seu, context = "drug", features = "drug",
                             observational = "control", verbose = FALSE, ...)
  expect_snapshot(error = TRUE, {
    g(assay = "ADT")
    g(layer = "scale.data")
    g(genes = c("GENE1", d$genes))
    gim_fit(seu, context = "condition", features = "drug")
    gim_fit(seu, features = "drug")
    gim_fit(seu, context = "drug", features = "concentration")
  }, variant = paste0("SeuratObject", seurat_major()))
  # A layer that is missing: "data" before normalisation on SeuratObject 5;
  # on 4 the data slot always exists, but counts are absent from an object
  # made from normalised values.
  if (utils::packageVersion("SeuratObject") >= "5.0.0") {
    expect_snapshot(error = TRUE,
                    gim_fit(d$raw, context = "drug", features = "drug"),
                    variant = "SeuratObject5")
  } else {
    a <- SeuratObject::CreateAssayObject(data = log1p(d$counts))
    SeuratObject::Key(a) <- "rna_"
    only_data <- SeuratObject::CreateSeuratObject(a)
    expect_snapshot(error = TRUE,
                    gim_fit(only_data, context = rep("a", ncol(only_data)),
                            features = "drug", layer = "counts"),
                    variant = "SeuratObject4")
  }
  fit <- seurat_fit_fixture()
  pred <- quiet_cycles(predict(fit, d$test, n = 1))
  expect_snapshot(error = TRUE, {
    predict(fit, d$test[, 1:2], output = "sce")
    bind_predictions(matrix(1), pred)
    bind_predictions(d$test[setdiff(rownames(d$test), d$genes[1]), ], pred)
  })
})

# A tiny CRISPR-like screen in a Seurat object: a guide per cell ("NT" the
# non-targeting control), two samples, no logical column and no dose.
screen_seurat <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      s <- screen_counts(n = c(40, 20, 20, 20))
      counts <- methods::as(s$counts, "CsparseMatrix")
      meta <- data.frame(guide = s$guide, sample = s$sample, row.names = colnames(counts))
      seu <- set_data(SeuratObject::CreateSeuratObject(counts, meta.data = meta),
                      log1p(counts))
      cache <<- list(seu = seu, counts = counts)
    }
    cache
  }
})

fit_screen_seurat <- function(x, ...) {
  withr::with_seed(2, gim_fit(x, context = "guide", control_level = "NT",
                              mechanism = "linear", control = tiny_control(),
                              verbose = FALSE, ...))
}

test_that("a Seurat screen is fitted without hand-made columns and predicts combinations", {
  d <- screen_seurat()
  fit <- fit_screen_seurat(d$seu)
  expect_s3_class(fit, "gim_seurat")
  expect_identical(rownames(fit$features), c("A", "B", "C"))
  expect_identical(fit$source$control_level, "NT")
  ref <- withr::with_seed(2, gim_fit(Matrix::t(log1p(d$counts)), d$seu$guide, fit$features,
                                     mechanism = "linear", control = tiny_control(),
                                     verbose = FALSE))
  expect_equal(fit$theta, ref$theta)
  pred <- quiet_cycles(withr::with_seed(5, predict(fit, data.frame(guide = c("A", "B")),
                                                  n = 4, combine = TRUE)))
  expect_s4_class(pred, "Seurat")
  expect_identical(unname(pred$guide), rep("A+B", 4))
  mat <- quiet_cycles(withr::with_seed(5, predict.gim(fit, fit$features[c("A", "B"), ],
                                                      n = 4, combine = TRUE)))
  data <- if (utils::packageVersion("SeuratObject") >= "5.0.0") {
    SeuratObject::LayerData(pred, layer = "data")
  } else {
    SeuratObject::GetAssayData(pred, slot = "data")
  }
  expect_equal(unname(as.matrix(data)), unname(t(unclass(mat))), ignore_attr = TRUE)
  # The contexts of a Seurat object applied together, and a list of them.
  ab <- d$seu[, d$seu$guide %in% c("A", "B")]
  expect_equal(predict(fit, ab, combine = TRUE, type = "targets"),
               predict.gim(fit, fit$features[c("A", "B"), ], combine = TRUE,
                           type = "targets"))
  both <- quiet_cycles(predict(fit, list(AB = ab, BC = data.frame(guide = c("B", "C"))),
                               n = 2))
  expect_identical(unname(both$guide), rep(c("AB", "BC"), each = 2))
  expect_snapshot(error = TRUE, {
    predict(fit, d$seu[, d$seu$guide %in% c("NT", "A")], combine = TRUE)
    predict(fit, ab, combine = "yes")
  })
})

test_that("layers split by sample are read without joining them first", {
  skip_if(utils::packageVersion("SeuratObject") < "5.0.0",
          "split layers need SeuratObject 5")
  d <- screen_seurat()
  seu <- d$seu
  split <- seu
  split[["RNA"]] <- split(split[["RNA"]], f = split$sample)
  layers <- SeuratObject::Layers(split[["RNA"]])
  expect_true(all(c("counts.s1", "counts.s2", "data.s1", "data.s2") %in% layers))
  expect_false("data" %in% layers)
  # The same fit as on the joined object, and the object is left split.
  fit <- fit_screen_seurat(split)
  expect_equal(fit$theta, fit_screen_seurat(seu)$theta)
  expect_equal(fit_screen_seurat(split, layer = "counts")$theta,
               fit_screen_seurat(seu, layer = "counts")$theta)
  # Predictions from a split object, its cells by context, and binding.
  pred <- quiet_cycles(predict(fit, split[, split$guide == "A"], n = 3))
  expect_identical(unname(pred$guide), rep("A", 3))
  obs <- context_cells(split, fit)
  expect_equal(obs$A, as.matrix(Matrix::t(log1p(d$counts)[, seu$guide == "A"])))
  bound <- bind_predictions(split[, split$guide == "A"], pred)
  expect_equal(ncol(bound), sum(seu$guide == "A") + 3)
  # One part can still be named.
  part <- fit_screen_seurat(split[, split$sample == "s1"], layer = "data.s1")
  expect_identical(part$nodes, rownames(seu))
})
