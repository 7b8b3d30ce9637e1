# Time and peak memory of gim_fit() against the number of cells and genes.
#
# For d = 20, 50, 100, 200 genes and 10,000 to 200,000 cells (160 perturbed
# contexts of simulate_gim_benchmark() data, linear mechanisms), each
# configuration runs in a fresh R process that
#   * reads the cells from an HDF5 file (HDF5Array, on disk), a dgCMatrix or
#     a dense matrix,
#   * fits a few training steps, either exact (all training cells every step,
#     the default estimator) or with gim_control(minibatch = 2000),
# and reports the setup time (checks, reading, first held-out block), the
# time per step and the process's peak resident memory (VmHWM). The data are
# written by a separate process, so they do not count towards the fit's
# memory. The first steps of a fit are its most expensive (parent sets differ
# across all Monte Carlo samples), so seconds per step here are an upper
# bound for a whole fit.
#
#   Rscript bench/scale.R
# Environment: PERTURBGIM_SCALE_STEPS (steps timed, default 10),
# PERTURBGIM_SCALE_MAX_CELLS (largest cell count, default 200000),
# PERTURBGIM_SCALE_THREADS (default 2).
suppressPackageStartupMessages(library(perturbgim))
options(width = 160)

memory_mib <- function() {
  status <- readLines("/proc/self/status")
  kib <- function(key) as.numeric(gsub("[^0-9]", "", grep(paste0("^", key, ":"), status,
                                                          value = TRUE))) / 1024
  c(peak = kib("VmHWM"), current = kib("VmRSS"))
}

# simulate_gim_benchmark() training data with about n cells in 161 contexts,
# written as an HDF5 file and an RDS (dense or sparse) for the fitting process.
make_data <- function(d, n, dir) {
  set.seed(d + n)
  per_context <- max(2L, round(n / 161))
  bench <- simulate_gim_benchmark("er", "linear", "hard", d = d, n_perturbations = 40,
                                  n_test_perturbations = 1, n_cells = per_context,
                                  n_observational = per_context, n_components = 15)
  tr <- bench$train
  x <- tr$x
  # A sparse version: values below each gene's 70th percentile set to 0.
  cut <- apply(x, 2, stats::quantile, probs = 0.7)
  sparse <- Matrix::Matrix(sweep(x, 2, cut, pmax) - rep(cut, each = nrow(x)), sparse = TRUE)
  h5 <- file.path(dir, sprintf("x_%d_%d.h5", d, n))
  unlink(h5)
  HDF5Array::writeHDF5Array(x, h5, name = "x", chunkdim = c(min(nrow(x), 4096L), ncol(x)))
  stem <- file.path(dir, sprintf("%%s_%d_%d.rds", d, n))
  saveRDS(list(context = tr$context, features = tr$features, h5 = h5), sprintf(stem, "meta"))
  saveRDS(x, sprintf(stem, "dense"))
  saveRDS(sparse, sprintf(stem, "sparse"))
}

run_child <- function(d, n, source, mode, steps, threads, dir, out) {
  stem <- file.path(dir, sprintf("%%s_%d_%d.rds", d, n))
  keep <- readRDS(sprintf(stem, "meta"))
  x <- if (source == "hdf5") HDF5Array::HDF5Array(keep$h5, "x") else readRDS(sprintf(stem, source))
  base <- memory_mib()[["peak"]]
  control <- function(s) {
    gim_control(steps = s, n_mc = 128L, check_every = s, n_threads = threads,
                minibatch = if (mode == "minibatch") 2000L)
  }
  # Warm-up: loading namespaces and first-call costs stay out of the timings.
  invisible(gim_fit(x, keep$context, keep$features, mechanism = "linear",
                    control = control(1L), verbose = FALSE))
  t1 <- system.time(gim_fit(x, keep$context, keep$features, mechanism = "linear",
                            control = control(1L), verbose = FALSE))[["elapsed"]]
  t2 <- system.time(fit <- gim_fit(x, keep$context, keep$features, mechanism = "linear",
                                   control = control(1L + steps), verbose = FALSE))[["elapsed"]]
  per_step <- (t2 - t1) / steps
  saveRDS(list(cells = nrow(x), per_step = per_step, setup = max(0, t1 - per_step),
               peak = memory_mib()[["peak"]], before_fit = base,
               configs = mean(fit$trace$configs)), out)
}

args <- commandArgs(trailingOnly = TRUE)
if (length(args) && args[1] == "--child") {
  run_child(as.integer(args[2]), as.integer(args[3]), args[4], args[5], as.integer(args[6]),
            as.integer(args[7]), args[8], args[9])
  quit(save = "no")
}
if (length(args) && args[1] == "--data") {
  make_data(as.integer(args[2]), as.integer(args[3]), args[4])
  quit(save = "no")
}

for (pkg in c("HDF5Array", "Matrix")) {
  if (!requireNamespace(pkg, quietly = TRUE)) stop("bench/scale.R needs ", pkg, call. = FALSE)
}
steps <- as.integer(Sys.getenv("PERTURBGIM_SCALE_STEPS", "10"))
max_cells <- as.integer(Sys.getenv("PERTURBGIM_SCALE_MAX_CELLS", "200000"))
threads <- as.integer(Sys.getenv("PERTURBGIM_SCALE_THREADS", "2"))
script <- local({
  file_arg <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(file_arg)) normalizePath(file_arg) else "bench/scale.R"
})
rscript <- file.path(R.home("bin"), "Rscript")
dir <- tempfile("perturbgim-scale-")
dir.create(dir)
on.exit(unlink(dir, recursive = TRUE), add = TRUE)

# Exact fits evaluate every Monte Carlo parent set over every cell: at d = 100
# and beyond their first steps take minutes, so only minibatches run there.
grid <- rbind(
  expand.grid(d = 20L, n = c(10000L, 50000L, 200000L), source = "hdf5",
              mode = c("exact", "minibatch"), stringsAsFactors = FALSE),
  expand.grid(d = 20L, n = 200000L, source = c("sparse", "dense"),
              mode = c("exact", "minibatch"), stringsAsFactors = FALSE),
  expand.grid(d = 50L, n = c(10000L, 50000L), source = "hdf5", mode = "exact",
              stringsAsFactors = FALSE),
  expand.grid(d = c(50L, 100L, 200L), n = 200000L, source = "hdf5", mode = "minibatch",
              stringsAsFactors = FALSE)
)
grid <- grid[grid$n <= max_cells, ]

cat(sprintf("perturbgim %s, %s; %d timed steps per configuration, %d threads, n_mc = 128\n",
            utils::packageVersion("perturbgim"), R.version.string, steps, threads))
rows <- list()
for (key in unique(paste(grid$d, grid$n))) {
  dn <- as.integer(strsplit(key, " ")[[1]])
  t_data <- system.time(system2(rscript, c(shQuote(script), "--data", dn[1], dn[2],
                                           shQuote(dir))))[["elapsed"]]
  cat(sprintf("  data d = %d, %s cells: written in %.0f s\n", dn[1],
              format(dn[2], big.mark = ","), t_data))
  for (i in which(grid$d == dn[1] & grid$n == dn[2])) {
    g <- grid[i, ]
    out <- tempfile(fileext = ".rds")
    log <- system2(rscript, c(shQuote(script), "--child", g$d, g$n, g$source, g$mode,
                              steps, threads, shQuote(dir), shQuote(out)),
                   stdout = TRUE, stderr = TRUE)
    if (!file.exists(out)) {
      cat(sprintf("  d = %d, n = %d, %s, %s FAILED:\n%s\n", g$d, g$n, g$source, g$mode,
                  paste(utils::tail(log, 5), collapse = "\n")))
      next
    }
    r <- readRDS(out)
    unlink(out)
    rows[[length(rows) + 1L]] <- data.frame(
      genes = g$d, cells = r$cells, input = g$source, estimator = g$mode,
      setup_s = round(r$setup, 1), s_per_step = signif(r$per_step, 3),
      configs = round(r$configs), input_mib = round(r$before_fit), peak_mib = round(r$peak),
      dense_data_mib = round(r$cells * g$d * 8 / 2^20))
    cat(sprintf("  d = %d, %s cells, %s, %s: %.3g s/step, peak %.0f MiB\n", g$d,
                format(r$cells, big.mark = ","), g$source, g$mode, r$per_step, r$peak))
  }
  unlink(Sys.glob(file.path(dir, sprintf("*_%d_%d.*", dn[1], dn[2]))))
}
table <- do.call(rbind, rows)
cat("\nTime per step: the first steps of a fit (every Monte Carlo parent set distinct), an upper",
    "\nbound for later steps. minibatch: gim_control(minibatch = 2000). dense_data_mib: the size",
    "\nof all cells as a dense double matrix, which exact fits hold and minibatch fits never do;",
    "\ninput_mib: the process's peak after reading its input, before fitting.\n\n")
print(table, row.names = FALSE, right = FALSE)
