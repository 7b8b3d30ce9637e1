# The cost model of gim_fit() (R/fit-cost.R) against measurements.
#
# Each case runs in a fresh Rscript process on one thread. It makes random
# cells (the cost of a step depends on the sizes, not on the values), runs a
# small warm-up fit (loading and first-call costs), then two fits of `a` and
# `a + b` steps with alpha held at alpha_start (the schedule of the first
# steps of a default fit, when parent sets repeat least and steps cost most).
# Seconds per step are (t_long - t_short) / b, which leaves out the set-up,
# counted as processor time (user and system) of the one-thread process, so
# that other work on a shared machine does not inflate them;
# peak memory is the rise of VmHWM over the resident memory before the
# first fit of the case's size (the high-water mark is reset through
# /proc/self/clear_refs), so the input cells, which exist before gim_fit()
# is called, do not count.
#
# The script prints each case measured beside the model's prediction
# (estimate_fit_cost() of the installed package), the constants of the
# model fitted by least squares to these measurements (what R/fit-cost.R
# holds), and the model's predictions at sizes too large to measure here.
#
#   Rscript bench/cost_model.R
# Environment: PERTURBGIM_COST_CACHE (an RDS file of measurements: cases
# found in it are not measured again, new ones are added to it),
# PERTURBGIM_COST_MEASURE ("0": only analyse the cached measurements),
# PERTURBGIM_COST_SECONDS (aim for the long fit's timed steps, default 20).
suppressPackageStartupMessages(library(perturbgim))
options(width = 160)

memory_bytes <- function(key) {
  status <- readLines("/proc/self/status")
  line <- grep(paste0("^", key, ":"), status, value = TRUE)
  as.numeric(gsub("[^0-9]", "", line)) * 1024
}

cpu_seconds <- function(expr) {
  t <- system.time(expr)
  t[["user.self"]] + t[["sys.self"]]
}

# Random cells of `n_contexts` equal contexts, the first `n_perturbed` of
# them perturbed (shifted on a few genes) with `n_features` random features.
case_data <- function(g) {
  set.seed(1)
  ctx <- rep(sprintf("c%03d", seq_len(g$contexts)), length.out = g$cells)
  x <- matrix(stats::rnorm(g$cells * g$genes), g$cells, g$genes)
  pert <- sprintf("c%03d", seq_len(g$perturbed))
  for (k in seq_along(pert)) {
    rows <- ctx == pert[k]
    genes <- (k - 1L) %% g$genes + 1L
    x[rows, genes] <- x[rows, genes] + 2
  }
  if (g$mechanism == "zilognormal") x <- exp(x) * (x > 0)
  colnames(x) <- sprintf("g%d", seq_len(g$genes))
  features <- matrix(stats::rnorm(g$perturbed * g$features), g$perturbed, g$features,
                     dimnames = list(pert, NULL))
  list(x = x, context = ctx, features = features)
}

case_control <- function(g, steps) {
  args <- list(steps = steps, n_mc = g$n_mc, mechanism_hidden = g$hidden,
               alpha = 1, alpha_start = 1, check_every = 20L, n_threads = 1L,
               power_iterations = g$power,
               minibatch = if (g$minibatch > 0) g$minibatch)
  # No memory check in the measurements (engines before the check have none).
  if ("memory_limit" %in% names(formals(gim_control))) args$memory_limit <- Inf
  do.call(gim_control, args)
}

# The tiny warm-up fit: loading and first calls stay out of the timings.
warm_up <- function(g) {
  warm <- g
  warm$genes <- 5L
  warm$cells <- 200L
  warm$contexts <- min(g$contexts, 11L)
  warm$perturbed <- min(g$perturbed, 10L)
  warm_data <- case_data(warm)
  invisible(gim_fit(warm_data$x, warm_data$context, warm_data$features,
                    mechanism = g$mechanism, intervention = g$intervention,
                    control = case_control(warm, 20L), verbose = FALSE))
}

case_fit <- function(g, data, steps) {
  set.seed(2)
  gim_fit(data$x, data$context, data$features, mechanism = g$mechanism,
          intervention = g$intervention, control = case_control(g, steps),
          verbose = FALSE)
}

# Resident memory now, with the high-water mark reset to it. Memory a fit
# frees stays in the process (malloc keeps it) and a later fit reuses it,
# so the baseline is taken before the first fit of the case's size.
memory_baseline <- function() {
  invisible(gc())
  before <- memory_bytes("VmRSS")
  writeLines("5", "/proc/self/clear_refs")
  before
}

run_child <- function(g, out) {
  data <- case_data(g)
  warm_up(g)
  before <- memory_baseline()
  short <- 20L
  t_short <- cpu_seconds(case_fit(g, data, short))
  aim <- as.numeric(Sys.getenv("PERTURBGIM_COST_SECONDS", "20"))
  rough <- max(t_short / short, 1e-4)   # set-up included: errs towards fewer steps
  extra <- as.integer(min(400, max(20, round(aim / rough / 20) * 20)))
  t_long <- cpu_seconds(f <- case_fit(g, data, short + extra))
  peak <- memory_bytes("VmHWM") - before
  saveRDS(list(per_step = (t_long - t_short) / extra, steps = extra, peak = peak,
               configs = mean(f$trace$configs), ess = mean(f$trace$ess)), out)
}

# Peak memory alone: two chunks, so that a training chunk follows a
# held-out check (whose arrays R may not have collected yet).
run_memory_child <- function(g, out) {
  data <- case_data(g)
  warm_up(g)
  before <- memory_baseline()
  invisible(case_fit(g, data, 21L))
  saveRDS(list(peak = memory_bytes("VmHWM") - before), out)
}

# One case per row: sizes varied one or two at a time around a base case.
cases <- function() {
  base <- data.frame(mechanism = "mlp", intervention = "hard", genes = 50L,
                     cells = 10000L, contexts = 161L, perturbed = 160L, features = 10L,
                     n_mc = 128L, hidden = 5L, power = 30L, minibatch = 0L)
  vary <- function(...) {
    changes <- list(...)
    n <- max(lengths(changes))
    rows <- lapply(seq_len(n), function(i) {
      r <- base
      for (nm in names(changes)) r[[nm]] <- rep_len(changes[[nm]], n)[i]
      r
    })
    do.call(rbind, rows)
  }
  # Beyond 100 genes, fewer cells keep exact fits to seconds per step.
  grid <- rbind(
    vary(genes = c(20L, 50L, 100L)),
    vary(genes = c(100L, 150L), cells = 4000L),
    vary(genes = c(20L, 50L, 100L), mechanism = "linear"),
    vary(genes = 200L, cells = 4000L, mechanism = "linear"),
    vary(genes = c(20L, 50L), mechanism = "zilognormal"),
    vary(cells = c(2000L, 50000L)),
    vary(cells = c(2000L, 50000L), mechanism = "linear"),
    vary(contexts = c(11L, 641L), perturbed = c(10L, 640L)),
    vary(n_mc = c(16L, 64L, 256L)),
    vary(hidden = c(2L, 10L)),
    vary(power = 5L, genes = 150L, cells = 4000L),
    vary(intervention = "shift"),
    vary(features = 200L, genes = 100L),
    vary(genes = 200L, cells = 50000L, minibatch = 2000L),
    vary(genes = 200L, cells = 50000L, minibatch = 2000L, mechanism = "linear"),
    # Where the graph samples dominate memory.
    vary(genes = 300L, cells = 1000L, mechanism = "linear")
  )
  grid[!duplicated(grid), ]
}

args <- commandArgs(trailingOnly = TRUE)
if (length(args) && args[1] %in% c("--child", "--memory")) {
  if (args[1] == "--child") run_child(readRDS(args[2]), args[3])
  else run_memory_child(readRDS(args[2]), args[3])
  quit(save = "no")
}

script <- local({
  file_arg <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(file_arg)) normalizePath(file_arg) else "bench/cost_model.R"
})
rscript <- file.path(R.home("bin"), "Rscript")
cache <- Sys.getenv("PERTURBGIM_COST_CACHE", "")
grid <- cases()

measure <- function(grid) {
  rows <- vector("list", nrow(grid))
  for (i in seq_len(nrow(grid))) {
    g <- grid[i, ]
    spec <- tempfile(fileext = ".rds")
    out <- tempfile(fileext = ".rds")
    saveRDS(g, spec)
    log <- system2(rscript, c(shQuote(script), "--child", shQuote(spec), shQuote(out)),
                   stdout = TRUE, stderr = TRUE)
    if (!file.exists(out)) {
      cat("case", i, "failed:\n", paste(utils::tail(log, 5), collapse = "\n"), "\n")
      next
    }
    r <- readRDS(out)
    unlink(c(spec, out))
    rows[[i]] <- cbind(g, per_step = r$per_step, timed_steps = r$steps, peak = r$peak,
                       configs = r$configs, ess = if (is.null(r$ess)) NA_real_ else r$ess)
    cat(sprintf("  %2d/%d %s d=%d n=%d K=%d M=%d H=%d: %.4f s/step, %.0f MiB\n", i,
                nrow(grid), g$mechanism, g$genes, g$cells, g$contexts, g$n_mc, g$hidden,
                r$per_step, r$peak / 2^20))
  }
  do.call(rbind, rows)
}

# Cases already in the cache are not measured again.
cached <- if (nzchar(cache) && file.exists(cache)) readRDS(cache)
keys <- names(grid)
key <- function(d) do.call(paste, d[keys])
todo <- grid[!key(grid) %in% (if (!is.null(cached)) key(cached)), , drop = FALSE]
measured <- cached
measuring <- Sys.getenv("PERTURBGIM_COST_MEASURE", "1") != "0"
if (nrow(todo) && measuring) {
  cat(sprintf("perturbgim %s, %s, one thread per fit\n", utils::packageVersion("perturbgim"),
              R.version.string))
  new <- measure(todo)
  new$probed <- TRUE
  if (!is.null(cached)) {
    if (is.null(cached$ess)) cached$ess <- NA_real_
    if (is.null(cached$probed)) cached$probed <- FALSE
  }
  measured <- rbind(cached, new)
  if (nzchar(cache)) saveRDS(measured, cache)
}
# Cases measured by an earlier version of this script, whose memory
# baseline came after a first fit of the same size (no `ess` recorded): their
# peak is measured again.
if (is.null(measured$probed)) measured$probed <- FALSE
stale <- which(is.na(measured$ess) & !measured$probed)
if (length(stale) && measuring) {
  cat("Peak memory again for", length(stale), "cases\n")
  for (i in stale) {
    spec <- tempfile(fileext = ".rds")
    out <- tempfile(fileext = ".rds")
    saveRDS(measured[i, names(grid)], spec)
    system2(rscript, c(shQuote(script), "--memory", shQuote(spec), shQuote(out)),
            stdout = FALSE, stderr = FALSE)
    if (file.exists(out)) {
      measured$peak[i] <- readRDS(out)$peak
      measured$probed[i] <- TRUE
      cat(sprintf("  %s d=%d n=%d: %.0f MiB\n", measured$mechanism[i], measured$genes[i],
                  measured$cells[i], measured$peak[i] / 2^20))
    }
    unlink(c(spec, out))
  }
  if (nzchar(cache)) saveRDS(measured, cache)
}

# The model's inputs for a measured case (held-out cells as gim_fit() holds
# them out: the default 100).
case_dims <- function(g) {
  list(n_genes = g$genes, n_cells = g$cells, n_contexts = g$contexts,
       n_perturbed = g$perturbed, n_features = g$features,
       mechanism = g$mechanism, intervention = g$intervention,
       control = case_control(g, 30000L))
}
estimate <- function(g) {
  d <- case_dims(g)
  estimate_fit_cost(n_genes = d$n_genes, n_cells = d$n_cells, n_contexts = d$n_contexts,
                    n_perturbed = d$n_perturbed, n_features = d$n_features,
                    mechanism = d$mechanism, intervention = d$intervention,
                    control = d$control)
}

# Least-squares constants: time per step on the model's time terms, every
# case weighted alike in relative error. A term whose constant comes out
# negative (it barely moves at these sizes) is dropped and the rest refitted.
fit_constants <- function(terms, y, scale = y) {
  keep <- colSums(terms) > 0
  repeat {
    fit <- stats::lm.wfit(terms[, keep, drop = FALSE], y, w = 1 / scale^2)
    coef <- fit$coefficients
    coef[is.na(coef)] <- 0
    if (all(coef >= 0)) break
    keep[names(which.min(coef))] <- FALSE
  }
  out <- stats::setNames(numeric(ncol(terms)), colnames(terms))
  out[names(coef)] <- coef
  out
}
terms <- do.call(rbind, lapply(seq_len(nrow(measured)), function(i) {
  perturbgim:::fit_cost_terms(estimate(measured[i, ])$dims)$time
}))
constants <- fit_constants(terms, measured$per_step)
cat("\nFitted time constants (seconds per unit of each term), for R/fit-cost.R:\n")
dput(signif(constants, 3))

# Memory: how many of the graph-sample and per-context arrays are alive at
# the peak, and R's fixed growth, by least squares on the peak beyond the
# terms counted exactly (cells, their float copy, parameters).
memory_terms <- do.call(rbind, lapply(seq_len(nrow(measured)), function(i) {
  perturbgim:::fit_cost_terms(estimate(measured[i, ])$dims)$memory
}))
exact <- c("float_cells", "cells", "parameters")
rest <- measured$peak - rowSums(memory_terms[, exact, drop = FALSE])
memory_fit <- fit_constants(memory_terms[, c("graph", "contexts", "fixed")], rest,
                            scale = measured$peak)
cat("\nFitted memory constants (arrays alive at the peak; bytes for fixed):\n")
dput(signif(c(memory_fit, stats::setNames(rep(1, length(exact)), exact)), 3))

pred <- lapply(seq_len(nrow(measured)), function(i) estimate(measured[i, ]))
table <- data.frame(
  mechanism = measured$mechanism, genes = measured$genes, cells = measured$cells,
  minibatch = measured$minibatch, contexts = measured$contexts, n_mc = measured$n_mc,
  hidden = measured$hidden, power = measured$power, interv = measured$intervention,
  features = measured$features,
  s_step = signif(measured$per_step, 3),
  s_pred = signif(vapply(pred, function(p) p$seconds_per_step, 0), 3),
  mib = round(measured$peak / 2^20),
  mib_pred = round(vapply(pred, function(p) p$memory, 0) / 2^20),
  configs = round(measured$configs)
)
table$s_ratio <- round(table$s_pred / table$s_step, 2)
table$mib_ratio <- round(table$mib_pred / table$mib, 2)
cat("\nMeasured (one thread, first steps) and predicted by estimate_fit_cost():\n")
print(table, row.names = FALSE)

big <- list(
  "200 genes x 200,000 cells, minibatch 2,000, linear" =
    list(200, 200000, "linear", 2000L),
  "200 genes x 200,000 cells, minibatch 2,000, mlp" =
    list(200, 200000, "mlp", 2000L),
  "1,000 genes x 10,000 cells, mlp" = list(1000, 10000, "mlp", NULL),
  "1,000 genes x 10,000 cells, minibatch 2,000, mlp" = list(1000, 10000, "mlp", 2000L),
  "2,000 genes x 10,000 cells, mlp" = list(2000, 10000, "mlp", NULL),
  "2,000 genes x 10,000 cells, minibatch 2,000, n_mc 32, mlp" =
    list(2000, 10000, "mlp", 2000L, 32L)
)
cat("\nPredicted at sizes not measured here (161 contexts, default gim_control()):\n")
for (nm in names(big)) {
  b <- big[[nm]]
  control <- gim_control(minibatch = b[[4]], n_mc = if (length(b) > 4) b[[5]] else 128L)
  e <- estimate_fit_cost(n_genes = b[[1]], n_cells = b[[2]], n_contexts = 161,
                         mechanism = b[[3]], control = control)
  cat(sprintf("  %-58s %7.2f s/step %9.1f h per 30,000 steps %8.2f GiB\n", nm,
              e$seconds_per_step, e$seconds / 3600, e$memory / 2^30))
}
