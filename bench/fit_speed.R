# Speed and memory of gim_fit() at the paper's size: d = 20, 8,800 training
# cells in 161 contexts (simulate_gim_benchmark() defaults, train split),
# 128 Monte Carlo samples, 30,000 steps, for the engine at the start of issue
# 15 (commit b214a21) and the installed one, side by side in the same run.
# Goal (issue 15): a whole fit in at most 3 minutes, under 1 GiB.
#
# By default a full fit is not run: each configuration times a short fit and
# a longer one (after a warm-up fit), takes the per-step cost from their
# difference and extrapolates setup + 30,000 steps. The first steps are the
# dearest (every parent set differs; later, repeated parent sets are
# evaluated once), so this overestimates, and the ratio of the two engines
# is the ratio early in a fit. PERTURBGIM_BENCH_FULL=1 times one whole
# default 30,000-step fit per configuration instead. Each configuration runs
# in a fresh Rscript whose library path (R_LIBS) holds the engine it times,
# so its peak resident memory (VmHWM) is its own; the two engines run one
# after the other for each configuration, so that a change in the load of
# the machine hits both.
#   Rscript bench/fit_speed.R
#   PERTURBGIM_BENCH_STEPS=1000 Rscript bench/fit_speed.R   # measure 1,000 steps
#   PERTURBGIM_BENCH_FULL=1 PERTURBGIM_BENCH_THREADS=2 Rscript bench/fit_speed.R
# Environment: PERTURBGIM_BENCH_STEPS (steps measured, default 500; the short
# fit has a fifth of them), PERTURBGIM_BENCH_FULL ("1": whole fits),
# PERTURBGIM_BENCH_MECHANISMS ("mlp,linear"), PERTURBGIM_BENCH_THREADS
# ("1,2"), PERTURBGIM_BENCH_BASELINE (a library holding the starting engine;
# unset: commit b214a21 of the git checkout this script is in is installed
# into a temporary library; "none": time the installed engine only),
# PERTURBGIM_BENCH_LIB (the library of the new engine; unset: where
# perturbgim is loaded from).
suppressPackageStartupMessages(library(perturbgim))
options(width = 160)

paper_steps <- 30000L
goal_seconds <- 180
goal_mib <- 1024
baseline_commit <- "b214a21"

# Peak and current resident memory of this process, in MiB (Linux only).
memory_mib <- function() {
  path <- "/proc/self/status"
  if (!file.exists(path)) return(c(peak = NA_real_, current = NA_real_))
  status <- readLines(path)
  kib <- function(key) {
    line <- grep(paste0("^", key, ":"), status, value = TRUE)
    if (!length(line)) return(NA_real_)
    as.numeric(gsub("[^0-9]", "", line)) / 1024
  }
  c(peak = kib("VmHWM"), current = kib("VmRSS"))
}

elapsed <- function(expr) {
  t0 <- proc.time()[["elapsed"]]
  force(expr)
  proc.time()[["elapsed"]] - t0
}

# One configuration, in its own process: results go to an RDS file.
run_child <- function(mechanism, threads, steps, out) {
  set.seed(1)
  bench <- simulate_gim_benchmark("er", mechanism, "hard")
  tr <- bench$train
  data_mib <- memory_mib()[["peak"]]
  # The first n steps of a paper-size fit: the schedules run over 30,000
  # steps, so alpha (which sets how often parent sets repeat, hence the cost
  # of a step) must follow that run's ramp, not one compressed into n steps.
  defaults <- gim_control()
  fit_steps <- function(n) {
    set.seed(1)
    alpha_n <- defaults$alpha_start +
      (defaults$alpha - defaults$alpha_start) * n / paper_steps
    gim_fit(tr$x, tr$context, tr$features, mechanism = mechanism,
            intervention = "hard",
            control = gim_control(steps = n, n_mc = 128L, n_threads = threads,
                                  alpha = alpha_n),
            verbose = FALSE)
  }
  # Warm-up: first-call costs (lazy loading, page faults, BLAS start-up).
  invisible(fit_steps(10L))
  fit <- NULL
  if (steps >= paper_steps) {
    # A whole fit, timed: nothing extrapolated.
    short <- 0L
    t_short <- 0
    t_long <- elapsed(fit <- fit_steps(paper_steps))
    per_step <- t_long / paper_steps
    setup <- 0
  } else {
    short <- max(1L, steps %/% 5L)
    t_short <- elapsed(fit_steps(short))
    t_long <- elapsed(fit <- fit_steps(steps))
    per_step <- (t_long - t_short) / (steps - short)
    setup <- max(0, t_short - short * per_step)
  }
  last <- fit$trace[nrow(fit$trace), ]
  saveRDS(list(mechanism = mechanism, threads = threads, cells = nrow(tr$x),
               contexts = length(unique(tr$context)), steps = steps,
               short = short, t_short = t_short, t_long = t_long,
               per_step = per_step, setup = setup,
               chunk_steps = gim_control()$check_every,
               objective = last$objective, data_mib = data_mib,
               peak_mib = memory_mib()[["peak"]],
               par = fit$state$par, trace = fit$trace$objective,
               library = dirname(find.package("perturbgim"))), out)
}

args <- commandArgs(trailingOnly = TRUE)
if (length(args) && args[1] == "--child") {
  run_child(args[2], as.integer(args[3]), as.integer(args[4]), args[5])
  quit(save = "no")
}

if (!exists("gim_fit", envir = asNamespace("perturbgim"), inherits = FALSE)) {
  stop("this perturbgim has no gim_fit(); install a version with the training engine",
       call. = FALSE)
}
full <- identical(Sys.getenv("PERTURBGIM_BENCH_FULL"), "1")
steps <- if (full) paper_steps else as.integer(Sys.getenv("PERTURBGIM_BENCH_STEPS", "500"))
if (is.na(steps) || steps < 10L || steps > paper_steps) {
  stop("PERTURBGIM_BENCH_STEPS must be a whole number from 10 to 30,000", call. = FALSE)
}
threads <- as.integer(strsplit(Sys.getenv("PERTURBGIM_BENCH_THREADS", "1,2"), ",", fixed = TRUE)[[1]])
if (anyNA(threads) || any(threads < 1L)) {
  stop("PERTURBGIM_BENCH_THREADS must be thread counts such as \"1,2\"", call. = FALSE)
}
script <- local({
  file_arg <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(file_arg)) normalizePath(file_arg) else normalizePath("bench/fit_speed.R")
})
rscript <- file.path(R.home("bin"), "Rscript")

# The two engines: the installed one, and the starting one of issue 15
# (commit b214a21, installed from this checkout's git history into a
# temporary library unless PERTURBGIM_BENCH_BASELINE names one).
new_lib <- Sys.getenv("PERTURBGIM_BENCH_LIB", dirname(find.package("perturbgim")))
baseline_lib <- function() {
  given <- Sys.getenv("PERTURBGIM_BENCH_BASELINE")
  if (identical(given, "none")) return(NULL)
  if (nzchar(given)) {
    if (!dir.exists(file.path(given, "perturbgim"))) {
      stop("PERTURBGIM_BENCH_BASELINE must be a library that holds perturbgim: ", given,
           call. = FALSE)
    }
    return(normalizePath(given))
  }
  repo <- dirname(dirname(script))
  git <- Sys.which("git")
  if (!nzchar(git) || system2(git, c("-C", shQuote(repo), "cat-file", "-e",
                                     paste0(baseline_commit, "^{commit}")),
                              stdout = FALSE, stderr = FALSE) != 0L) {
    stop("commit ", baseline_commit, " is not in a git checkout around ", script,
         "; set PERTURBGIM_BENCH_BASELINE to a library with that engine, or to \"none\"",
         call. = FALSE)
  }
  src <- tempfile("perturbgim-base-src")
  lib <- tempfile("perturbgim-base-lib")
  dir.create(src)
  dir.create(lib)
  cat(sprintf("Installing the starting engine (commit %s) into %s ...\n", baseline_commit, lib))
  archive <- system(sprintf("%s -C %s archive %s | tar -x -C %s", shQuote(git), shQuote(repo),
                            baseline_commit, shQuote(src)))
  log <- system2(file.path(R.home("bin"), "R"),
                 c("CMD", "INSTALL", "--preclean", "--no-docs", "--no-multiarch",
                   paste0("--library=", shQuote(lib)), shQuote(src)),
                 stdout = TRUE, stderr = TRUE)
  if (archive != 0L || !dir.exists(file.path(lib, "perturbgim"))) {
    stop("installing commit ", baseline_commit, " failed:\n", paste(log, collapse = "\n"),
         call. = FALSE)
  }
  lib
}
old_lib <- baseline_lib()
engines <- c(new = new_lib, old = old_lib)
baseline_label <- if (nzchar(Sys.getenv("PERTURBGIM_BENCH_BASELINE"))) {
  "the engine in PERTURBGIM_BENCH_BASELINE"
} else {
  paste("commit", baseline_commit)
}

version_in <- function(lib) {
  as.character(utils::packageVersion("perturbgim", lib.loc = lib))
}
cat(sprintf("perturbgim %s (new: %s)%s, %s, BLAS: %s\n", version_in(new_lib), new_lib,
            if (!is.null(old_lib)) sprintf(" against %s (old: %s, %s)", version_in(old_lib),
                                           baseline_label, old_lib) else "",
            R.version.string, basename(extSoftVersion()[["BLAS"]])))
if (full) {
  cat("Timing one whole default fit of 30,000 steps per configuration (after a 10-step warm-up).\n")
} else {
  cat(sprintf("Measuring %d steps per configuration (after a 10-step warm-up) and extrapolating to %s steps.\n",
              steps, format(paper_steps, big.mark = ",")))
}

mechanisms <- trimws(strsplit(Sys.getenv("PERTURBGIM_BENCH_MECHANISMS", "mlp,linear"),
                              ",", fixed = TRUE)[[1]])
stopifnot(all(mechanisms %in% c("mlp", "linear")))
configs <- expand.grid(threads = threads, mechanism = mechanisms,
                       stringsAsFactors = FALSE)

# One configuration with one engine, in a fresh Rscript whose R_LIBS puts
# that engine's library first.
run_config <- function(cfg, engine) {
  out <- tempfile(fileext = ".rds")
  on.exit(unlink(out))
  cat(sprintf("  %s, %d thread%s, %s engine ...\n", cfg$mechanism, cfg$threads,
              if (cfg$threads > 1L) "s" else "", engine))
  lib <- engines[[engine]]
  libs <- paste(c(lib, Sys.getenv("R_LIBS")), collapse = .Platform$path.sep)
  log <- system2(rscript, c(shQuote(script), "--child", cfg$mechanism,
                            cfg$threads, steps, shQuote(out)),
                 stdout = TRUE, stderr = TRUE, env = paste0("R_LIBS=", shQuote(libs)))
  if (!file.exists(out)) {
    stop("configuration ", cfg$mechanism, "/", cfg$threads, " (", engine, " engine) failed:\n",
         paste(log, collapse = "\n"), call. = FALSE)
  }
  r <- readRDS(out)
  if (!identical(normalizePath(r$library), normalizePath(lib))) {
    stop("the ", engine, " engine was loaded from ", r$library, ", not ", lib, call. = FALSE)
  }
  r$extrapolated <- r$setup + paper_steps * r$per_step
  r
}

results <- lapply(seq_len(nrow(configs)), function(i) {
  cfg <- configs[i, ]
  lapply(stats::setNames(names(engines), names(engines)), function(e) run_config(cfg, e))
})

table <- do.call(rbind, lapply(results, function(res) {
  r <- res$new
  o <- res$old
  data.frame(
    mechanism = r$mechanism, threads = r$threads,
    cells = r$cells, contexts = r$contexts,
    measured_steps = if (r$short == 0L) sprintf("all %d", r$steps) else
      sprintf("%d-%d", r$short, r$steps),
    old_min = if (is.null(o)) NA_real_ else round(o$extrapolated / 60, 2),
    new_min = round(r$extrapolated / 60, 2),
    speedup = if (is.null(o)) NA_real_ else round(o$extrapolated / r$extrapolated, 2),
    new_steps_per_s = round(1 / r$per_step, 1),
    new_chunk_s = round(r$chunk_steps * r$per_step, 2),
    new_setup_s = round(r$setup, 2),
    time_vs_goal = round(r$extrapolated / goal_seconds, 2),
    old_peak_mib = if (is.null(o)) NA_real_ else round(o$peak_mib),
    new_peak_mib = round(r$peak_mib),
    data_mib = round(r$data_mib),
    goal = if (r$extrapolated <= goal_seconds && r$peak_mib < goal_mib) "PASS" else "MISS",
    same_as_old = if (is.null(o)) NA else
      identical(o$par, r$par) && identical(o$trace, r$trace),
    objective = r$objective,
    stringsAsFactors = FALSE
  )
}))

how <- if (full) {
  "old_min and new_min are MEASURED: one whole default fit each; new_chunk_s is its mean chunk"
} else {
  sprintf(paste0("old_min and new_min are EXTRAPOLATED, not measured: setup + 30,000 x (time per step\n",
                 "between the %s-step and %d-step fits); new_chunk_s is one training chunk"),
          format(max(1L, steps %/% 5L)), steps)
}
cat(sprintf(paste0(
  "\nPaper-size fit: d = 20, %s cells, %d contexts, n_mc = 128, hard interventions.\n",
  "%s (%d steps, the\n",
  "held-out check interval). old = %s, new = the installed engine;\n",
  "speedup = old_min / new_min. Goal: a whole fit <= 3 min (time_vs_goal <= 1) and\n",
  "< 1 GiB peak resident memory; data_mib is the peak before fitting. same_as_old:\n",
  "the measured fit's parameters and objective trace are identical() to the old engine's.\n\n"),
  format(table$cells[1], big.mark = ","), table$contexts[1], how, gim_control()$check_every,
  baseline_label))
print(table[setdiff(names(table), c("cells", "contexts", "objective"))],
      row.names = FALSE, right = FALSE)

# Same seed, 1 and 2 threads: the engine promises identical results.
if (length(unique(table$threads)) > 1L) {
  same <- vapply(split(table$objective, table$mechanism), function(o) {
    isTRUE(all(o == o[1]))
  }, logical(1))
  cat(sprintf("\nFinal objective identical at %s threads: %s\n",
              paste(sort(unique(table$threads)), collapse = " and "),
              paste(sprintf("%s %s", names(same), ifelse(same, "yes", "NO")),
                    collapse = ", ")))
}
