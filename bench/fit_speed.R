# Speed and memory of gim_fit() at the paper's size: d = 20, 8,800 training
# cells in 161 contexts (simulate_gim_benchmark() defaults, train split),
# 128 Monte Carlo samples, 30,000 steps. Goal: at most 10 minutes and under
# 1 GB on this two-core machine.
#
# By default a full fit is not run: each configuration times a short fit and
# a longer one (after a warm-up fit), takes the per-step cost from their
# difference and extrapolates setup + 30,000 steps. The first steps are the
# dearest (every parent set differs; later, repeated parent sets are
# evaluated once), so this overestimates. PERTURBGIM_BENCH_FULL=1 times one
# whole default 30,000-step fit per configuration instead. Each
# configuration runs in a fresh Rscript, so its peak resident memory (VmHWM)
# is its own.
#   Rscript bench/fit_speed.R
#   PERTURBGIM_BENCH_STEPS=1000 Rscript bench/fit_speed.R   # measure 1,000 steps
#   PERTURBGIM_BENCH_FULL=1 PERTURBGIM_BENCH_THREADS=2 Rscript bench/fit_speed.R
# Environment: PERTURBGIM_BENCH_STEPS (steps measured, default 500; the short
# fit has a fifth of them), PERTURBGIM_BENCH_FULL ("1": whole fits),
# PERTURBGIM_BENCH_MECHANISMS ("mlp,linear"), PERTURBGIM_BENCH_THREADS
# ("1,2").
suppressPackageStartupMessages(library(perturbgim))
options(width = 160)

paper_steps <- 30000L
goal_seconds <- 600
goal_mib <- 1024

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
               peak_mib = memory_mib()[["peak"]]), out)
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
  if (length(file_arg)) normalizePath(file_arg) else "bench/fit_speed.R"
})
rscript <- file.path(R.home("bin"), "Rscript")

cat(sprintf("perturbgim %s, %s, BLAS: %s\n", utils::packageVersion("perturbgim"),
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
rows <- lapply(seq_len(nrow(configs)), function(i) {
  cfg <- configs[i, ]
  out <- tempfile(fileext = ".rds")
  on.exit(unlink(out))
  cat(sprintf("  %s, %d thread%s ...\n", cfg$mechanism, cfg$threads,
              if (cfg$threads > 1L) "s" else ""))
  log <- system2(rscript, c(shQuote(script), "--child", cfg$mechanism,
                            cfg$threads, steps, shQuote(out)),
                 stdout = TRUE, stderr = TRUE)
  if (!file.exists(out)) {
    stop("configuration ", cfg$mechanism, "/", cfg$threads, " failed:\n",
         paste(log, collapse = "\n"), call. = FALSE)
  }
  r <- readRDS(out)
  extrapolated <- r$setup + paper_steps * r$per_step
  data.frame(
    mechanism = r$mechanism, threads = r$threads,
    cells = r$cells, contexts = r$contexts,
    measured_steps = if (r$short == 0L) sprintf("all %d", r$steps) else
      sprintf("%d-%d", r$short, r$steps),
    measured_s = round(r$t_long, 1),
    steps_per_s = round(1 / r$per_step, 1),
    chunk_s = round(r$chunk_steps * r$per_step, 2),
    setup_s = round(r$setup, 2),
    fit_30k_min = round(extrapolated / 60, 1),
    time_vs_goal = round(extrapolated / goal_seconds, 2),
    peak_mib = round(r$peak_mib),
    data_mib = round(r$data_mib),
    memory_vs_goal = round(r$peak_mib / goal_mib, 2),
    goal = if (extrapolated <= goal_seconds && r$peak_mib < goal_mib) "PASS" else "MISS",
    objective = r$objective,
    stringsAsFactors = FALSE
  )
})
table <- do.call(rbind, rows)

how <- if (full) {
  "fit_30k_min is MEASURED: one whole default fit; chunk_s is its mean chunk"
} else {
  sprintf(paste0("fit_30k_min is EXTRAPOLATED, not measured: setup + 30,000 x (time per step between\n",
                 "the %s-step and %d-step fits); chunk_s is one training chunk"),
          format(max(1L, steps %/% 5L)), steps)
}
cat(sprintf(paste0(
  "\nPaper-size fit: d = 20, %s cells, %d contexts, n_mc = 128, hard interventions.\n",
  "%s (%d steps, the\n",
  "held-out check interval). Goal: <= 10 min (time_vs_goal <= 1) and < 1 GiB\n",
  "peak resident memory (memory_vs_goal < 1); data_mib is the peak before fitting.\n\n"),
  format(table$cells[1], big.mark = ","), table$contexts[1], how, gim_control()$check_every))
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
