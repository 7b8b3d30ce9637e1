# The check gim_fit() makes before training (R/fit-cost-check.R): a fit
# that would not fit in memory stops at once with the estimate and the
# remedies, unless the user opts in; long fits say so. Memory limits are set
# by option or control, so that nothing depends on the machine's memory.

# A screen as a user would bring it: `n_genes` genes (Seurat's usual 2,000
# variable features), 400 cells of 11 guides, "NT" the control.
wide_screen <- function(n_genes = 2000, n_cells = 400) {
  withr::with_seed(1, {
    guide <- rep(c("NT", LETTERS[1:10]), length.out = n_cells)
    x <- matrix(stats::rpois(n_cells * n_genes, 2), n_cells, n_genes,
                dimnames = list(paste0("cell", seq_len(n_cells)), paste0("g", seq_len(n_genes))))
  })
  features <- diag(10)
  dimnames(features) <- list(LETTERS[1:10], paste0("guide", LETTERS[1:10]))
  list(x = log1p(x), context = guide, features = features)
}

test_that("a fit that would not fit in memory stops before training", {
  withr::local_options(perturbgim.memory_limit = 4 * 2^30)
  s <- wide_screen()
  path <- withr::local_tempfile(fileext = ".rds")
  expect_snapshot(error = TRUE, cnd_class = TRUE,
                  fit <- gim_fit(s$x, s$context, s$features, checkpoint = path))
  # Nothing was made: no fit, no checkpoint file.
  expect_false(exists("fit", inherits = FALSE))
  expect_false(file.exists(path))
})

test_that("the limit comes from the control, the option or the machine, in that order", {
  withr::local_options(perturbgim.memory_limit = 1e6)
  expect_equal(fit_memory_limit(gim_control())$bytes, 1e6)
  expect_equal(fit_memory_limit(gim_control(memory_limit = 2e9))$bytes, 2e9)
  withr::local_options(perturbgim.memory_limit = NULL)
  # MemAvailable moves between two reads on a shared machine: the source,
  # not the value, is what can be compared.
  machine <- fit_memory_limit(gim_control())
  expect_identical(machine$source, "available on this machine")
  expect_true(is.na(machine$bytes) || machine$bytes > 0)
  withr::local_options(perturbgim.memory_limit = "lots")
  expect_snapshot(error = TRUE, fit_memory_limit(gim_control()))
  expect_snapshot(error = TRUE, gim_control(memory_limit = -1))
})

test_that("available memory is read from MemAvailable, or is unknown", {
  meminfo <- withr::local_tempfile()
  writeLines(c("MemTotal:       24683772 kB", "MemFree:        24100144 kB",
               "MemAvailable:   2048 kB"), meminfo)
  expect_equal(available_memory(meminfo), 2048 * 1024)
  writeLines("MemTotal:       24683772 kB", meminfo)
  expect_identical(available_memory(meminfo), NA_real_)
  expect_identical(available_memory(file.path(tempdir(), "no-such-meminfo")), NA_real_)
  # Where nothing is known, nothing is checked.
  withr::local_options(perturbgim.memory_limit = NULL)
  ns <- asNamespace("perturbgim")
  real <- get("available_memory", envir = ns)
  unlockBinding("available_memory", ns)
  assign("available_memory", function(...) NA_real_, envir = ns)
  withr::defer({
    assign("available_memory", real, envir = ns)
    lockBinding("available_memory", ns)
  })
  bench <- small_bench()
  tr <- bench$train
  expect_s3_class(gim_fit(tr$x, tr$context, tr$features, mechanism = "linear",
                          control = quick_control(steps = 20), verbose = FALSE), "gim")
})

test_that("memory_limit = Inf starts the fit anyway", {
  withr::local_options(perturbgim.memory_limit = 1)
  bench <- small_bench()
  tr <- bench$train
  expect_error(gim_fit(tr$x, tr$context, tr$features, mechanism = "linear",
                       control = quick_control(steps = 20), verbose = FALSE),
               class = "perturbgim_fit_too_large")
  fit <- gim_fit(tr$x, tr$context, tr$features, mechanism = "linear",
                 control = quick_control(steps = 20, memory_limit = Inf), verbose = FALSE)
  expect_s3_class(fit, "gim")
  # A resumed fit keeps its control, and with it the opt-in.
  more <- fit$control
  more$steps <- 40L
  expect_equal(gim_fit(tr$x, tr$context, tr$features, init = fit, control = more,
                       verbose = FALSE)$state$step, 40)
})

test_that("the remedies name what fits, and only what helps", {
  withr::local_options(perturbgim.memory_limit = 4 * 2^30)
  s <- wide_screen(n_cells = 5000)
  err <- expect_error(gim_fit(s$x, s$context, s$features), class = "perturbgim_fit_too_large")
  msg <- conditionMessage(err)
  expect_match(msg, "genes fit", fixed = TRUE)
  expect_match(msg, "n_mc = 32", fixed = TRUE)
  # The graph samples need the memory: minibatches would not help.
  expect_no_match(msg, "minibatch", fixed = TRUE)
  # The number of genes it names does fit, one more does not.
  d <- fit_dims(fit_sizes(s$x, s$context, s$features), "mlp", "hard", gim_control())
  g <- max_genes(d, 4 * 2^30)
  expect_lte(fit_cost(utils::modifyList(d, list(n_genes = g, latent_dim = g)))$memory,
             4 * 2^30)
  expect_gt(fit_cost(utils::modifyList(d, list(n_genes = g + 1, latent_dim = g + 1)))$memory,
            4 * 2^30)
  # Many cells of few genes: the cells need the memory, minibatches help.
  withr::local_options(perturbgim.memory_limit = 2^29)
  cells <- list(n_genes = 50, n_cells = 2e6, n_contexts = 11, n_perturbed = 10, n_features = 10)
  err <- expect_error(check_fit_cost(cells, "mlp", "hard", gim_control(), verbose = FALSE),
                      class = "perturbgim_fit_too_large")
  expect_match(conditionMessage(err), "minibatch = 2000", fixed = TRUE)
  expect_no_match(conditionMessage(err), "fewer Monte Carlo", fixed = TRUE)
})

test_that("a long fit says how long it may take, and only when verbose", {
  bench <- small_bench()
  tr <- bench$train
  sizes <- fit_sizes(tr$x, tr$context, tr$features)
  long <- gim_control(steps = 10^9, memory_limit = Inf)
  expect_message(check_fit_cost(sizes, "mlp", "hard", long, verbose = TRUE),
                 class = "perturbgim_long_fit")
  expect_silent(check_fit_cost(sizes, "mlp", "hard", long, verbose = FALSE))
  expect_silent(check_fit_cost(sizes, "mlp", "hard", gim_control(), verbose = TRUE))
})

test_that("the paper's synthetic fits pass the check silently", {
  # 20 genes, 8,800 cells in 161 contexts, default control: no error on a
  # machine with 1 GiB, no note about the time.
  withr::local_options(perturbgim.memory_limit = 2^30)
  sizes <- list(n_genes = 20, n_cells = 8800, n_contexts = 161, n_perturbed = 160,
                n_features = 15)
  for (mechanism in c("mlp", "linear")) {
    expect_silent(check_fit_cost(sizes, mechanism, "hard", gim_control(), verbose = TRUE))
  }
})

test_that("a 2,000-gene Seurat object without genes = fails at once", {
  skip_if_not_installed("SeuratObject")
  withr::local_options(perturbgim.memory_limit = 4 * 2^30)
  s <- wide_screen()
  counts <- Matrix::Matrix(t(round(expm1(s$x))), sparse = TRUE)
  seu <- SeuratObject::CreateSeuratObject(counts, meta.data = data.frame(
    guide = s$context, row.names = colnames(counts)))
  if (utils::packageVersion("SeuratObject") >= "5.0.0") {
    SeuratObject::LayerData(seu, layer = "data") <- log1p(counts)
  } else {
    seu <- SeuratObject::SetAssayData(seu, slot = "data", new.data = log1p(counts))
  }
  err <- expect_error(gim_fit(seu, context = "guide", control_level = "NT"),
                      class = "perturbgim_fit_too_large")
  expect_match(conditionMessage(err), "2,000 genes", fixed = TRUE)
  # With the marker genes it starts.
  fit <- gim_fit(seu, context = "guide", control_level = "NT", genes = rownames(seu)[1:5],
                 mechanism = "linear", control = quick_control(steps = 20), verbose = FALSE)
  expect_s3_class(fit, "gim_seurat")
})
