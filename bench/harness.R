# Shared by the benchmark scripts: timing, the reference interpreter, the
# true model's log-likelihood of simulated cells and settings read from the
# environment.

# A positive whole number from the environment variable `name`.
env_count <- function(name, default) {
  value <- suppressWarnings(as.integer(Sys.getenv(name, as.character(default))))
  if (is.na(value) || value < 1L) {
    stop(sprintf("%s must be a positive whole number, not \"%s\"", name, Sys.getenv(name)),
         call. = FALSE)
  }
  value
}

# Median wall-clock seconds of `reps` evaluations of `expr` (after one warm-up
# run unless `warmup = FALSE`).
median_seconds <- function(expr, reps = 5L, warmup = TRUE) {
  f <- eval(call("function", NULL, substitute(expr)), parent.frame())
  if (warmup) f()
  times <- vapply(seq_len(reps), function(i) {
    t0 <- proc.time()[["elapsed"]]
    f()
    proc.time()[["elapsed"]] - t0
  }, numeric(1))
  stats::median(times)
}

# Debian's system python3 carries numpy, scipy and POT (python3-pot); the
# python3 first on PATH may be another one without them.
reference_python <- function() {
  py <- "/usr/bin/python3"
  if (!file.exists(py)) py <- Sys.which("python3")
  py
}

# Runs a python snippet that prints one JSON object on its last line and
# returns that object as a list. Inputs travel as files written by the caller.
run_python_json <- function(code) {
  script <- tempfile(fileext = ".py")
  writeLines(code, script)
  out <- system2(reference_python(), script, stdout = TRUE, stderr = TRUE)
  status <- attr(out, "status")
  if (!is.null(status) && status != 0) {
    stop("python reference failed:\n", paste(out, collapse = "\n"))
  }
  jsonlite::fromJSON(out[length(out)])
}

# Writes a numeric matrix as raw little-endian doubles (row-major) to a
# temporary file, so python reads it bit-exactly with
# numpy.fromfile(path, dtype="<f8").reshape(n, d). Returns the path; the
# caller unlinks it.
write_matrix_bin <- function(x) {
  path <- tempfile(fileext = ".bin")
  con <- file(path, "wb")
  on.exit(close(con))
  writeBin(as.double(t(x)), con, size = 8L, endian = "little")
  path
}

# One row of the benchmark table. `ours` and `reference` are median seconds.
bench_row <- function(metric, case, ours, reference_name, reference,
                      agreement = NA_character_) {
  data.frame(metric = metric, case = case, perturbgim_s = ours,
             reference = reference_name, reference_s = reference,
             speedup = reference / ours, agreement = agreement,
             stringsAsFactors = FALSE)
}

# Two rows for a threaded metric: at `threads` threads and at 1 thread,
# against the same reference time.
thread_rows <- function(metric, case, threads, ours, ours_1, reference_name,
                        reference, agreement) {
  rbind(
    bench_row(metric, paste0(case, ", ", threads, " threads"), ours,
              reference_name, reference, agreement),
    bench_row(metric, paste0(case, ", 1 thread"), ours_1,
              reference_name, reference, agreement)
  )
}

# Log-density of each cell (row) and gene (column) of `x`, contexts
# `context`, under a linear or mlp SCM (`graph`, `mechanism`, `parameters` as
# scm() holds them) with the interventions `targets` (0/1, a row per context)
# and `psi` (hard: a list of matrices `mean` and `log_sd`; shift: a matrix),
# the rows of both named by context.
gene_logdensity <- function(scm, targets, psi, x, context) {
  p <- scm$parameters
  g <- scm$graph
  d <- ncol(x)
  mean <- matrix(0, nrow(x), d)
  for (j in seq_len(d)) {
    if (scm$mechanism == "linear") {
      mean[, j] <- p$bias[j] + x %*% (g[, j] * p$weights[, j])
    } else {
      h <- sweep(x %*% (g[, j] * t(p$w1[, , j])), 2, p$b1[, j], `+`)
      mean[, j] <- p$b2[j] + tanh(h) %*% p$w2[, j]
    }
  }
  tg <- targets[context, , drop = FALSE] == 1
  sds <- matrix(exp(p$log_sd), nrow(x), d, byrow = TRUE)
  if (is.list(psi)) {
    mean[tg] <- psi$mean[context, ][tg]
    sds[tg] <- exp(psi$log_sd[context, ][tg])
  } else {
    mean[tg] <- mean[tg] + psi[context, ][tg]
  }
  stats::dnorm(x, mean, sds, log = TRUE)
}

# Per-cell log-density of the cells `x` (contexts `context`) under the true
# SCM with the true interventions of each context: `truth` is the `truth` of a
# simulate_gim_benchmark() data set (linear or mlp mechanisms, hard or shift
# interventions). Used by paper_synthetic.R and structure_ablation.R as the
# ceiling for a fit's held-out log-likelihood per cell.
true_loglik <- function(truth, x, context) {
  rowSums(gene_logdensity(truth$scm, truth$targets, truth$psi, x, context))
}

# The held-out cells' log-likelihood per cell at the fit's point estimate
# (G*, the targets with probability > 0.5 and the mean intervention
# parameters), in the data's units, by the engine's own routine. The trace's
# Monte Carlo score also averages over the uncertain edges and targets and
# the spread of psi, so the two differ by how much that uncertainty costs.
point_heldout_loglik <- function(fit, bench) {
  ns <- asNamespace("perturbgim")
  tr <- bench$train
  settings <- ns$engine_settings(fit$control, fit$mechanism, fit$intervention,
                                 ncol(tr$x), ncol(tr$features))
  settings$alpha <- fit$trace$alpha[nrow(fit$trace)]
  design <- ns$training_design(tr$x, tr$context, tr$features, fit$control,
                               held = fit$state$heldout_cells, scaling = fit$x_scaling)
  .Call(ns$pg_gim_point_loglik, design$heldout, fit$state$par, settings) - design$log_jacobian
}
