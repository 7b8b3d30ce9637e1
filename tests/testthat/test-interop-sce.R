# gim_fit() and predict() on SingleCellExperiment objects (R/interop-sce.R,
# R/interop-utils.R): same fit as the default method, the feature encodings,
# the predicted objects and every bad-input error.

skip_if_not_installed("SingleCellExperiment")
skip_if_not_installed("SummarizedExperiment")
skip_if_not_installed("S4Vectors")

# A tiny SciPlex-like screen: 5 module genes (rowData `module`), one cell
# line, two drugs at four doses plus vehicle; logcounts = log1p(counts).
# Givinostat at 10 uM is held out.
sce_fixture <- local({
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
      SummarizedExperiment::assay(sce, "logcounts") <- log1p(counts)
      held <- sce$drug == "Givinostat" & sce$dose_nM == 10000
      cache <<- list(sce = sce, train = sce[, !held], test = sce[, held])
    }
    cache
  }
})

tiny_control <- function() {
  gim_control(steps = 100, n_mc = 8, n_threads = 1, holdout = 1, gim_hidden = 5)
}

fit_sce <- function(x, ..., seed = 2, features = c("drug", "dose_nM"),
                    observational = "control", genes = "module") {
  withr::with_seed(seed, gim_fit(x, context = c("drug", "dose_nM"),
                                 features = features, observational = observational,
                                 genes = genes, mechanism = "linear",
                                 control = tiny_control(), verbose = FALSE, ...))
}

# Short fits may leave cycles in the point estimate; causal_graph() then
# warns at every prediction, which is not what these tests are about.
quiet_cycles <- function(expr) {
  withCallingHandlers(expr, warning = function(w) {
    if (grepl("cycles", conditionMessage(w))) invokeRestart("muffleWarning")
  })
}

sce_fit_fixture <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) cache <<- fit_sce(sce_fixture()$train)
    cache
  }
})

test_that("the SCE method gives the fit of the default method on the transposed assay", {
  d <- sce_fixture()
  fit <- sce_fit_fixture()
  train <- d$train
  module <- SummarizedExperiment::rowData(train)$module
  x <- Matrix::t(SummarizedExperiment::assay(train, "logcounts")[module, ])
  labels <- paste(train$drug, train$dose_nM, sep = "_")
  ref <- withr::with_seed(2, gim_fit(x, labels, fit$features, mechanism = "linear",
                                     control = tiny_control(), verbose = FALSE))
  expect_s3_class(fit, c("gim_sce", "gim"), exact = TRUE)
  expect_identical(fit$nodes, rownames(train)[module])
  expect_equal(fit$theta, ref$theta)
  expect_equal(fit$phi, ref$phi)
  expect_equal(fit$trace$objective, ref$trace$objective)
  expect_identical(fit$contexts, ref$contexts)
  # The default method's result for matrices is untouched.
  expect_s3_class(ref, "gim", exact = TRUE)
  expect_null(ref$source)
  # A dense assay gives the same fit as the sparse one.
  dense <- train
  SummarizedExperiment::assay(dense, "logcounts") <-
    as.matrix(SummarizedExperiment::assay(train, "logcounts"))
  expect_equal(fit_sce(dense)$theta, fit$theta)
})

test_that("the fit records its source and encodes contexts from colData columns", {
  fit <- sce_fit_fixture()
  src <- fit$source
  expect_identical(src$class, "SingleCellExperiment")
  expect_identical(src$assay.type, "logcounts")
  expect_identical(src$context, c("drug", "dose_nM"))
  expect_identical(src$observational, "control")
  expect_identical(src$encoder$kind, "columns")
  tab <- src$context_table
  expect_identical(tab$.context[tab$.observational], "control_0")
  expect_identical(tab$.n_cells[tab$.context == "Belinostat_100"], 20L)
  expect_false("n_umi" %in% names(tab)) # varies within contexts
  # Perturbed contexts only, encoded as perturbation_features() encodes
  # one row per context.
  ctx <- data.frame(drug = rep(c("Belinostat", "Givinostat"), c(4, 3)),
                    dose_nM = c(10, 100, 1000, 10000, 10, 100, 1000))
  expected <- perturbation_features(ctx, c("drug", "dose_nM"))
  expect_equal(unname(fit$features), unname(unclass(expected)[, ]),
               ignore_attr = TRUE)
  expect_identical(rownames(fit$features), paste(ctx$drug, ctx$dose_nM, sep = "_"))
  expect_output(print(fit), "assay \"logcounts\", 5 genes")
  expect_output(print(fit), "features from columns drug, dose_nM")
})

test_that("features can be a function of the context table or a matrix", {
  d <- sce_fixture()
  fit <- fit_sce(d$train, features = sciplex_features)
  expect_identical(fit$source$encoder$kind, "function")
  ann <- data.frame(drug = "Givinostat", dose_nM = 1000, control = FALSE)
  expect_equal(fit$features["Givinostat_1000", ], sciplex_features(ann)[1, ])
  expect_identical(colnames(fit$features), colnames(sciplex_features(ann)))

  # A feature matrix with labels per cell, as for the default method.
  f <- sciplex_features(unique(as.data.frame(
    SummarizedExperiment::colData(d$train)[!d$train$control, c("drug", "dose_nM", "control")])))
  rownames(f) <- paste(c(rep("Belinostat", 4), rep("Givinostat", 3)),
                       c(10, 100, 1000, 10000, 10, 100, 1000), sep = "_")
  labels <- paste(d$train$drug, d$train$dose_nM, sep = "_")
  m <- withr::with_seed(2, gim_fit(d$train, context = labels, features = f,
                                   genes = "module", mechanism = "linear",
                                   control = tiny_control(), verbose = FALSE))
  expect_equal(m$theta, fit$theta)
  expect_identical(m$source$encoder$kind, "matrix")
  expect_null(m$source$context)
  expect_identical(m$source$context_table$.context[m$source$context_table$.observational],
                   "control_0")
})

test_that("genes are chosen by rowData flag, names or logicals", {
  d <- sce_fixture()
  genes <- rownames(d$train)[c(7, 2, 30)]
  fit <- fit_sce(d$train, genes = genes)
  expect_identical(fit$nodes, genes)
  expect_identical(fit$source$genes, genes)
  flag <- seq_len(nrow(d$train)) %in% c(3, 4)
  expect_identical(fit_sce(d$train, genes = flag)$nodes, rownames(d$train)[3:4])
})

test_that("predictions are SingleCellExperiments with the contexts' colData", {
  d <- sce_fixture()
  fit <- sce_fit_fixture()
  pred <- quiet_cycles(predict(fit, d$test))
  expect_s4_class(pred, "SingleCellExperiment")
  expect_identical(SummarizedExperiment::assayNames(pred), "logcounts")
  expect_identical(rownames(pred), fit$nodes)
  expect_identical(ncol(pred), ncol(d$test)) # as many cells as observed
  cd <- SummarizedExperiment::colData(pred)
  expect_true(all(cd$predicted))
  expect_true(all(cd$drug == "Givinostat" & cd$dose_nM == 10000))
  expect_true(all(cd$context == "Givinostat_10000"))
  expect_identical(colnames(pred), paste0("predicted_", seq_len(ncol(pred))))
  expect_false("n_umi" %in% names(cd))

  # The same cells as predict.gim() on the encoded features.
  ann <- data.frame(drug = c("Givinostat", "Belinostat"), dose_nM = c(10000, 10))
  pred <- quiet_cycles(withr::with_seed(5, predict(fit, ann, n = c(4, 3))))
  enc <- perturbation_features(ann, reference = fit$source$encoder$reference)
  rownames(enc) <- c("Givinostat_10000", "Belinostat_10")
  ref <- quiet_cycles(withr::with_seed(5, predict.gim(fit, enc, n = c(4, 3))))
  expect_equal(unname(t(SummarizedExperiment::assay(pred, "logcounts"))),
               unname(unclass(ref)[, ]), ignore_attr = TRUE)
  expect_identical(pred$context, attr(ref, "context"))
  expect_identical(pred$drug, rep(c("Givinostat", "Belinostat"), c(4, 3)))
  mat <- quiet_cycles(withr::with_seed(5, predict(fit, ann, n = c(4, 3), output = "matrix")))
  expect_equal(mat, ref, ignore_attr = "seed")
  expect_identical(attr(mat, "context"), attr(ref, "context"))
})

test_that("observational contexts come from the observational distribution", {
  d <- sce_fixture()
  fit <- sce_fit_fixture()
  controls <- d$train[, d$train$control][, 1:6]
  pred <- quiet_cycles(withr::with_seed(3, predict(fit, controls)))
  ref <- quiet_cycles(withr::with_seed(3, predict.gim(fit, NULL, n = 6)))
  expect_equal(unname(t(SummarizedExperiment::assay(pred, "logcounts"))),
               unname(unclass(ref)[, ]), ignore_attr = TRUE)
  expect_true(all(pred$context == "control_0" & pred$control))
  obs <- quiet_cycles(predict(fit, NULL, n = 3))
  expect_identical(obs$context, rep("observational", 3))
  # Mixed: contexts keep the order of newdata.
  sce <- d$sce
  mixed <- sce[, c(which(sce$control)[1:2], which(sce$drug == "Givinostat" & sce$dose_nM == 10000)[1:3])]
  both <- quiet_cycles(predict(fit, mixed))
  expect_identical(both$context, rep(c("control_0", "Givinostat_10000"), c(2, 3)))
})

test_that("other prediction types pass through to predict.gim()", {
  d <- sce_fixture()
  fit <- sce_fit_fixture()
  enc <- perturbation_features(data.frame(drug = "Givinostat", dose_nM = 10000),
                               reference = fit$source$encoder$reference)
  rownames(enc) <- "Givinostat_10000"
  expect_equal(predict(fit, d$test, type = "targets"),
               predict.gim(fit, enc, type = "targets"))
  m <- quiet_cycles(withr::with_seed(1, predict(fit, d$test, type = "mean", n = 50)))
  expect_identical(dim(m), c(1L, 5L))
})

test_that("bind_predictions() puts observed and predicted cells together", {
  d <- sce_fixture()
  fit <- sce_fit_fixture()
  pred <- quiet_cycles(predict(fit, d$test, n = 4))
  both <- bind_predictions(d$test, pred)
  expect_s4_class(both, "SingleCellExperiment")
  expect_identical(ncol(both), ncol(d$test) + 4L)
  expect_identical(rownames(both), fit$nodes)
  expect_identical(both$predicted, rep(c(FALSE, TRUE), c(ncol(d$test), 4)))
  expect_identical(colnames(both)[seq_len(ncol(d$test))], colnames(d$test))
  obs <- as.matrix(SummarizedExperiment::assay(d$test, "logcounts")[fit$nodes, ])
  expect_equal(as.matrix(SummarizedExperiment::assay(both, "logcounts"))[, seq_len(ncol(d$test))],
               obs)
  expect_identical(both$drug, rep("Givinostat", ncol(both)))
  expect_true(all(is.na(both$n_umi[both$predicted])))
  # Split by context again: observed cells first, then the predicted ones.
  split <- context_cells(both, fit)
  expect_identical(names(split), "Givinostat_10000")
  expect_equal(split[[1]][seq_len(ncol(d$test)), ], t(obs))
})

test_that("a fit is stored in and retrieved from metadata()", {
  d <- sce_fixture()
  fit <- sce_fit_fixture()
  sce <- gim_store(d$train, fit)
  expect_identical(S4Vectors::metadata(sce)$gim, fit)
  expect_identical(gim_stored(sce), fit)
  sce <- gim_store(sce, fit, name = "other")
  expect_identical(gim_stored(sce, "other"), fit)
  path <- withr::local_tempfile(fileext = ".rds")
  saveRDS(sce, path)
  expect_identical(gim_stored(readRDS(path)), fit)
})

test_that("errors about arguments passed on name the call the user made", {
  train <- sce_fixture()$train
  err <- expect_error(gim_fit(train, context = "drug", features = "drug", mechanism = "bogus"),
                      "mechanism", class = "rlang_error")
  expect_identical(err$call[[1L]], quote(gim_fit))
  expect_identical(err$call$mechanism, "bogus")
})

test_that("bad inputs give clear errors", {
  d <- sce_fixture()
  train <- d$train
  fit <- sce_fit_fixture()
  g <- function(...) gim_fit(train, verbose = FALSE, ...)
  expect_snapshot(error = TRUE, {
    g(context = "drug", features = "drug", assay.type = "normcounts")
    g(context = "condition", features = "drug")
    g(features = "drug")
    g(context = c("drug", "dose"), features = "drug")
    g(context = "drug", features = c("drug", "concentration"))
    g(context = "drug", features = "dose_nM", observational = "control")
    g(context = "drug", features = "drug", observational = "vehicle")
    g(context = "drug", features = "drug", observational = "drug")
    g(context = "drug", features = "drug", genes = c("GENE1", "GENE2"))
    g(context = "drug", features = "drug", genes = "gene_id")
    g(context = "drug", features = matrix(1, 1, 1, dimnames = list("Panobinostat", "f")))
    g(context = "cell_line", features = "drug", observational = "control")
    g(context = 1:3, features = "drug")
  })
  empty <- train
  SummarizedExperiment::rowData(empty)$none <- FALSE
  expect_snapshot(error = TRUE, {
    gim_fit(empty, context = "drug", features = "drug", genes = "none")
  })
  expect_snapshot(error = TRUE, {
    predict(fit, data.frame(drug = "Quisinostat", dose_nM = 10))
    predict(fit, data.frame(drug = "Givinostat"))
    predict(fit, d$test[, 1:2][, integer()])
    predict(fit, SummarizedExperiment::SummarizedExperiment(
      list(logcounts = matrix(0, 1, 2)), colData = S4Vectors::DataFrame(x = 1:2)))
    predict(fit, d$train[, d$train$control][, 1:2], type = "targets")
    predict(fit, d$test, output = "seurat")
    predict(fit, d$test, n = -1)
    gim_stored(train)
    gim_store(train, list())
    gim_store(matrix(1), fit)
    bind_predictions(train, matrix(1))
  })
  labels <- paste(train$drug, train$dose_nM, sep = "_")
  f <- matrix(1:7, 7, 1, dimnames = list(unique(labels[!train$control]), "f"))
  mfit <- quiet_cycles(withr::with_seed(1, gim_fit(train, context = labels, features = f,
                                                   genes = "module", control = tiny_control(),
                                                   mechanism = "linear", verbose = FALSE)))
  expect_snapshot(error = TRUE, {
    predict(mfit, d$test)
    predict(mfit, data.frame(context = "Panobinostat_10"))
  })
})

test_that("context_cells() splits observed and predicted cells by context", {
  d <- sce_fixture()
  fit <- sce_fit_fixture()
  obs <- context_cells(d$train, fit)
  expect_identical(names(obs), fit$source$context_table$.context)
  expect_identical(nrow(obs$Belinostat_100), 20L)
  expect_identical(colnames(obs$control_0), fit$nodes)
  cells <- which(d$train$drug == "Belinostat" & d$train$dose_nM == 100)
  expect_equal(obs$Belinostat_100,
               t(as.matrix(SummarizedExperiment::assay(d$train, "logcounts")[fit$nodes, cells])))
  pred <- quiet_cycles(predict(fit, data.frame(drug = "Givinostat", dose_nM = c(10, 10000)),
                               n = c(3, 4)))
  split <- context_cells(pred, fit)
  expect_identical(vapply(split, nrow, integer(1)), c(Givinostat_10 = 3L, Givinostat_10000 = 4L))
  expect_equal(split$Givinostat_10000,
               t(as.matrix(SummarizedExperiment::assay(pred, "logcounts")))[4:7, ],
               ignore_attr = TRUE)
  res <- gim_evaluate(split, context_cells(d$test, fit), metrics = "mean_distance",
                      progress = FALSE)
  expect_identical(res$context, "Givinostat_10000")
  expect_snapshot(error = TRUE, {
    context_cells(d$train, unclass(fit))
    context_cells(d$train[1:2, ], fit)
  })
})

test_that("a DelayedArray assay stays lazy and gives the fit of the dense assay", {
  skip_if_not_installed("SingleCellExperiment")
  skip_if_not_installed("DelayedArray")
  set.seed(1)
  sce <- simulate_sciplex(n_cells = 15, n_control = 30, n_genes = 40, n_module = 5,
                          n_shared_targets = 1, n_specific_targets = 1,
                          cell_lines = "A549", drugs = c("Belinostat", "Givinostat"))
  SummarizedExperiment::assay(sce, "logcounts") <-
    log1p(as.matrix(SummarizedExperiment::assay(sce, "counts")))
  lazy <- sce
  SummarizedExperiment::assay(lazy, "logcounts") <-
    DelayedArray::DelayedArray(SummarizedExperiment::assay(sce, "logcounts"))
  fit_on <- function(object) {
    set.seed(2)
    gim_fit(object, context = c("drug", "dose_nM"), features = c("drug", "dose_nM"),
            observational = "control", mechanism = "linear",
            control = gim_control(steps = 20, n_mc = 4, gim_hidden = 4, n_threads = 1,
                                  minibatch = 50), verbose = FALSE)
  }
  expect_identical(fit_on(lazy)$theta, fit_on(sce)$theta)
})

# A tiny CRISPR-like screen: a guide per cell ("NT" the non-targeting
# control), no logical control column and no dose; logcounts = log1p(counts).
screen_sce <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      s <- screen_counts()
      cache <<- SingleCellExperiment::SingleCellExperiment(
        list(counts = s$counts, logcounts = log1p(s$counts)),
        colData = S4Vectors::DataFrame(guide = s$guide))
    }
    cache
  }
})

screen_fit <- function(x = screen_sce(), ...) {
  withr::with_seed(2, gim_fit(x, context = "guide", control_level = "NT",
                              mechanism = "linear", control = tiny_control(),
                              verbose = FALSE, ...))
}

test_that("a screen needs no features and no logical control column", {
  sce <- screen_sce()
  fit <- screen_fit()
  expect_identical(fit$source$encoder$kind, "context")
  expect_identical(fit$source$control_level, "NT")
  expect_equal(fit$features, matrix(diag(3), 3, 3, dimnames = list(c("A", "B", "C"),
                                                                     c("A", "B", "C"))))
  tab <- fit$source$context_table
  expect_identical(tab$.context[tab$.observational], "NT")
  # The default method on the one-hot features gives the same fit.
  x <- t(SummarizedExperiment::assay(sce, "logcounts"))
  ref <- withr::with_seed(2, gim_fit(x, sce$guide, fit$features, mechanism = "linear",
                                     control = tiny_control(), verbose = FALSE))
  expect_equal(fit$theta, ref$theta)
  # The same as a logical column marking the NT cells.
  flagged <- sce
  flagged$nt <- sce$guide == "NT"
  by_column <- withr::with_seed(2, gim_fit(flagged, context = "guide", observational = "nt",
                                           mechanism = "linear", control = tiny_control(),
                                           verbose = FALSE))
  expect_equal(by_column$theta, fit$theta)
  expect_output(print(fit), "one indicator per perturbation")
  # NT cells of new data are drawn from the observational distribution.
  nt <- sce[, sce$guide == "NT"][, 1:4]
  pred <- quiet_cycles(withr::with_seed(3, predict(fit, nt)))
  ref <- quiet_cycles(withr::with_seed(3, predict.gim(fit, NULL, n = 4)))
  expect_equal(unname(t(SummarizedExperiment::assay(pred, "logcounts"))),
               unname(unclass(ref)[, ]), ignore_attr = TRUE)
  # and so is a context named by the level in a data frame.
  expect_identical(quiet_cycles(predict(fit, data.frame(guide = "NT"), n = 2))$guide,
                   c("NT", "NT"))
  # gim_compare() takes the same arguments.
  res <- quiet_cycles(withr::with_seed(4, gim_compare(
    sce, context = "guide", control_level = "NT", test = "C",
    methods = c("gim", "observational"), mechanism = "linear",
    control = tiny_control(), metrics = "mean_distance", verbose = FALSE)))
  expect_identical(unique(res$context), "C")
  expect_identical(attr(res, "fits")$gim$source$control_level, "NT")
})

test_that("predict() on a SingleCellExperiment fit takes combinations", {
  sce <- screen_sce()
  fit <- screen_fit()
  onehot <- fit$features
  # Rows of a data frame applied together, as predict.gim(combine = TRUE).
  pred <- quiet_cycles(withr::with_seed(5, predict(fit, data.frame(guide = c("A", "B")),
                                                  n = 6, combine = TRUE)))
  ref <- quiet_cycles(withr::with_seed(5, predict.gim(fit, onehot[c("A", "B"), ], n = 6,
                                                      combine = TRUE)))
  expect_s4_class(pred, "SingleCellExperiment")
  expect_equal(unname(t(SummarizedExperiment::assay(pred, "logcounts"))),
               unname(unclass(ref)[, ]), ignore_attr = TRUE)
  expect_identical(pred$guide, rep("A+B", 6))
  expect_identical(attr(ref, "context"), rep("A+B", 6))
  # The contexts of an object, applied together.
  ac <- sce[, sce$guide %in% c("A", "C")]
  expect_equal(predict(fit, ac, combine = TRUE, type = "targets"),
               predict.gim(fit, onehot[c("A", "C"), ], combine = TRUE, type = "targets"))
  # A list: one combination per element, labelled by its name.
  combos <- list(AB = data.frame(guide = c("A", "B")), data.frame(guide = c("A", "C")))
  pred <- quiet_cycles(withr::with_seed(6, predict(fit, combos, n = c(2, 3))))
  ref <- quiet_cycles(withr::with_seed(6, predict.gim(
    fit, list(AB = onehot[c("A", "B"), ], "A+C" = onehot[c("A", "C"), ]), n = c(2, 3))))
  expect_equal(unname(t(SummarizedExperiment::assay(pred, "logcounts"))),
               unname(unclass(ref)[, ]), ignore_attr = TRUE)
  expect_identical(pred$guide, rep(c("AB", "A+C"), c(2, 3)))
  mat <- quiet_cycles(withr::with_seed(6, predict(fit, combos, n = c(2, 3), output = "matrix")))
  expect_identical(attr(mat, "context"), rep(c("AB", "A+C"), c(2, 3)))
  m <- quiet_cycles(withr::with_seed(1, predict(fit, combos, type = "mean", n = 20)))
  expect_identical(rownames(m), c("AB", "A+C"))
  # Objects and feature matrices as list elements.
  targets <- predict(fit, list(sce[, sce$guide %in% c("A", "B")], onehot[c("B", "C"), ]),
                     type = "targets")
  expect_identical(rownames(targets), c("A+B", "B+C"))
  # Combinations split by context for gim_evaluate().
  split <- context_cells(pred, fit)
  expect_identical(names(split), c("AB", "A+C"))
})

test_that("combinations of columns-encoded contexts keep their annotations", {
  fit <- sce_fit_fixture()
  ann <- data.frame(drug = c("Belinostat", "Givinostat"), dose_nM = c(10, 100))
  pred <- quiet_cycles(withr::with_seed(5, predict(fit, ann, n = 3, combine = TRUE)))
  enc <- perturbation_features(ann, reference = fit$source$encoder$reference)
  rownames(enc) <- c("Belinostat_10", "Givinostat_100")
  ref <- quiet_cycles(withr::with_seed(5, predict.gim(fit, enc, n = 3, combine = TRUE)))
  expect_equal(unname(t(SummarizedExperiment::assay(pred, "logcounts"))),
               unname(unclass(ref)[, ]), ignore_attr = TRUE)
  expect_identical(pred$context, rep("Belinostat_10+Givinostat_100", 3))
  expect_identical(pred$drug, rep("Belinostat+Givinostat", 3))
  expect_identical(pred$dose_nM, rep("10+100", 3))
  same_dose <- quiet_cycles(predict(fit, data.frame(drug = ann$drug, dose_nM = 10),
                                    n = 1, combine = TRUE))
  expect_identical(same_dose$dose_nM, 10)
})

test_that("bad combinations, control levels and default features give clear errors", {
  sce <- screen_sce()
  fit <- screen_fit()
  g <- function(...) gim_fit(sce, context = "guide", verbose = FALSE, ...)
  expect_snapshot(error = TRUE, {
    g(control_level = "control")
    g(control_level = NA)
    g(control_level = c(TRUE, FALSE))
    g(control_level = c("NT", "A", "B", "C"))
    g(control_level = "NT", observational = "guide")
    g(observational = "NT")
    g(features = 1:3, control_level = "NT")
    gim_fit(sce[, sce$guide == "NT"], context = "guide", observational = rep(TRUE, 60),
            verbose = FALSE)
  })
  expect_snapshot(error = TRUE, {
    predict(fit, data.frame(guide = "D"))
    predict(fit, data.frame(guide = c("A", "B")), combine = NA)
    predict(fit, data.frame(guide = c("NT", "A")), combine = TRUE)
    predict(fit, list())
    predict(fit, list(NULL))
    predict(fit, list(x = data.frame(guide = "A"), x = data.frame(guide = "B")))
    predict(fit, list(data.frame(guide = c("A", "E"))))
  })
})
