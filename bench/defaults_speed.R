# Time per training step and peak memory of a default fit, under the
# gim_control() defaults of before issue 14's change (the paper's:
# acyclicity = "penalty", mc_estimator = "marginal", n_mc = 128, steps
# 30,000, standardise = FALSE) and under today's, on the paper's synthetic
# size (d = 20, 8,800 training cells in 161 contexts, MLP mechanisms, hard
# interventions), in one run. Issue 14 allows a new default at most 20% more
# time and memory per step; the whole fit is steps x time per step.
#
# Each configuration runs in a fresh Rscript (its own peak memory, VmHWM),
# the two alternating `rounds` times so that a change in the machine's load
# hits both; per-step time is the difference of a long and a short fit of
# the same start, divided by their difference in steps.
#   Rscript bench/defaults_speed.R
# Environment: PERTURBGIM_BENCH_STEPS (steps of the long fit, default 600;
# the short one has a third), PERTURBGIM_BENCH_ROUNDS (default 2),
# PERTURBGIM_BENCH_MECHANISMS ("mlp,linear").
suppressPackageStartupMessages(library(perturbgim))
options(width = 140)

paper <- list(acyclicity = "penalty", mc_estimator = "marginal", n_mc = 128L,
              steps = 30000L, standardise = FALSE)
today <- unclass(gim_control())[names(paper)]

child <- function() {
  args <- commandArgs(trailingOnly = TRUE)
  cfg <- readRDS(args[2])
  set.seed(1)
  bench <- simulate_gim_benchmark("er", cfg$mechanism, "hard")
  tr <- bench$train
  time_fit <- function(steps) {
    ctl <- do.call(gim_control, c(cfg$control[setdiff(names(cfg$control), "steps")],
                                  list(steps = steps, n_threads = 1L)))
    set.seed(2)
    t0 <- proc.time()[["elapsed"]]
    gim_fit(tr$x, tr$context, tr$features, mechanism = cfg$mechanism, control = ctl,
            verbose = FALSE)
    proc.time()[["elapsed"]] - t0
  }
  short <- time_fit(cfg$steps %/% 3L)
  long <- time_fit(cfg$steps)
  status <- readLines("/proc/self/status")
  peak <- as.numeric(gsub("[^0-9]", "", grep("^VmHWM:", status, value = TRUE))) / 1024
  saveRDS(list(per_step = (long - short) / (cfg$steps - cfg$steps %/% 3L), peak_mib = peak),
          args[3])
}

if (identical(commandArgs(trailingOnly = TRUE)[1], "child")) {
  child()
} else {
  steps <- as.integer(Sys.getenv("PERTURBGIM_BENCH_STEPS", "600"))
  rounds <- as.integer(Sys.getenv("PERTURBGIM_BENCH_ROUNDS", "2"))
  mechanisms <- strsplit(Sys.getenv("PERTURBGIM_BENCH_MECHANISMS", "mlp,linear"), ",")[[1]]
  script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  run <- function(mechanism, control) {
    cfg <- tempfile(fileext = ".rds")
    out <- tempfile(fileext = ".rds")
    saveRDS(list(mechanism = mechanism, control = control, steps = steps), cfg)
    status <- system2(file.path(R.home("bin"), "Rscript"), c(script, "child", cfg, out))
    if (status != 0L || !file.exists(out)) stop("the timing child failed", call. = FALSE)
    readRDS(out)
  }
  rows <- list()
  for (mechanism in mechanisms) {
    res <- list(paper = list(), today = list())
    for (r in seq_len(rounds)) {
      res$paper[[r]] <- run(mechanism, paper)
      res$today[[r]] <- run(mechanism, today)
    }
    med <- function(which, field) stats::median(vapply(res[[which]], `[[`, 0, field))
    rows[[mechanism]] <- data.frame(
      mechanism = mechanism,
      paper_ms_per_step = round(1000 * med("paper", "per_step"), 1),
      today_ms_per_step = round(1000 * med("today", "per_step"), 1),
      ratio_per_step = round(med("today", "per_step") / med("paper", "per_step"), 2),
      paper_fit_min = round(med("paper", "per_step") * paper$steps / 60, 1),
      today_fit_min = round(med("today", "per_step") * today$steps / 60, 1),
      paper_peak_mib = round(med("paper", "peak_mib")),
      today_peak_mib = round(med("today", "peak_mib")),
      ratio_peak = round(med("today", "peak_mib") / med("paper", "peak_mib"), 2))
  }
  cat(sprintf("perturbgim %s; %d rounds, per-step time from fits of %d and %d steps, 1 thread\n",
              utils::packageVersion("perturbgim"), rounds, steps, steps %/% 3L))
  cat(sprintf("paper: %s\ntoday: %s\n\n",
              paste(names(paper), vapply(paper, format, ""), sep = " = ", collapse = ", "),
              paste(names(today), vapply(today, format, ""), sep = " = ", collapse = ", ")))
  print(do.call(rbind, rows), row.names = FALSE)
  cat("\nfit_min: the whole fit (steps x time per step, early steps, so an upper bound).\n")
}
