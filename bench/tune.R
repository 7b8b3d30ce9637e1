# gim_tune() through BiocParallel: the same small grid on the same data,
# serially and on two workers (SnowParam: socket workers; MulticoreParam:
# forked workers), with each back-end's wall time and whether its table
# equals the serial one (it must: every grid row carries its own seed).
#
# Data: simulate_gim_benchmark() with d = 10, 10 perturbations x 4 dosages
# (50 cells each) and 400 observational cells; 8 of the 40 perturbed contexts
# are held out for validation. Grid: 4 rows of the paper's synthetic grid
# (Table 1: beta_M in {50, 500} x tau in {0.1, 1}, beta_I = 10). Fits are
# short (500 steps, 32 Monte Carlo samples): this shows the machinery, not
# the paper's selection. The default run takes 1 to 3 minutes on two cores.
#   Rscript bench/tune.R
#   PERTURBGIM_BENCH_STEPS=200 PERTURBGIM_BENCH_BACKENDS=serial,snow Rscript bench/tune.R
# Environment:
#   PERTURBGIM_BENCH_STEPS     training steps per fit (default 500)
#   PERTURBGIM_BENCH_BACKENDS  any of "serial", "snow", "multicore" (default all)
suppressPackageStartupMessages(library(perturbgim))
options(width = 160)

steps <- as.integer(Sys.getenv("PERTURBGIM_BENCH_STEPS", "500"))
backends <- trimws(strsplit(Sys.getenv("PERTURBGIM_BENCH_BACKENDS",
                                       "serial,snow,multicore"), ",")[[1]])
if (!requireNamespace("BiocParallel", quietly = TRUE)) {
  backends <- intersect(backends, "serial")
  message("BiocParallel is not installed: serial run only.")
}
if (.Platform$OS.type == "windows") backends <- setdiff(backends, "multicore")

set.seed(1)
bench <- simulate_gim_benchmark("er", "linear", "hard", d = 10,
                                n_perturbations = 10, n_test_perturbations = 2,
                                n_cells = 50, n_observational = 400,
                                n_components = 10)
tr <- bench$train
grid <- gim_grid("synthetic", beta_M = c(50, 500), tau = c(0.1, 1), beta_I = 10)
control <- gim_control(steps = steps, n_mc = 32L)

params <- list(
  serial = function() NULL,
  snow = function() BiocParallel::SnowParam(2),
  multicore = function() BiocParallel::MulticoreParam(2)
)

run <- function(backend) {
  set.seed(2)
  t0 <- proc.time()[["elapsed"]]
  tuned <- suppressWarnings(   # short fits: cyclic point estimates are expected
    gim_tune(tr$x, tr$context, tr$features, grid = grid, validation = 0.2,
             mechanism = "linear", intervention = "hard", control = control,
             n = 500L, metrics = c("kde_nll", "mean_distance", "w2"),
             BPPARAM = params[[backend]](), verbose = FALSE)
  )
  list(tuned = tuned, seconds = proc.time()[["elapsed"]] - t0)
}

cat(sprintf("gim_tune(): %d grid rows, %d steps x %d Monte Carlo samples per fit; %d cells, d = %d\n\n",
            nrow(grid), steps, control$n_mc, nrow(tr$x), ncol(tr$x)))
runs <- lapply(stats::setNames(backends, backends), run)

reference <- runs[[1]]$tuned
cat(sprintf("Table (%s back-end), validation contexts: %s\n", backends[[1]],
            paste(reference$validation, collapse = ", ")))
print(reference)

same <- function(a, b) {
  identical(a$results, b$results) && identical(a$scores, b$scores) &&
    identical(a$best, b$best) && identical(a$validation, b$validation)
}
summary <- data.frame(
  backend = backends,
  workers = ifelse(backends == "serial", 1L, 2L),
  wall_seconds = round(vapply(runs, `[[`, numeric(1), "seconds"), 1),
  sum_task_seconds = round(vapply(runs, function(r) sum(r$tuned$seconds), numeric(1)), 1),
  best_row = vapply(runs, function(r) r$tuned$best, integer(1)),
  identical_to_first = vapply(runs, function(r) same(r$tuned, reference), logical(1)),
  row.names = NULL
)
summary$speedup <- round(summary$wall_seconds[[1]] / summary$wall_seconds, 2)
cat("\nBack-ends (wall time includes starting the workers):\n")
print(summary)
cat(sprintf("\nAll tables identical: %s\n", if (all(summary$identical_to_first)) "PASS" else "MISS"))
