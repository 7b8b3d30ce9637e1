# The SciPlex3 protocol of Schneider et al. (2025, section 5.2 and appendix
# D.2, D.4) on the SciPlex3-like simulator (simulate_sciplex()), whose causal
# truth is known: all 12 hold-out settings (3 cell lines x 4 drugs, the drug
# held out at 10 uM), 50 marker genes, GIM with zero-inflated log-normal
# mechanisms and hard interventions trained for 100,000 steps with 128 Monte
# Carlo samples, against the observational, naive, MLP mean-shift and
# additive baselines. Prints, per setting and as medians over settings, mean
# distance, Pearson delta, KDE-NLL, energy distance and W2 of the predicted
# held-out cells, and Target-F1 of the GIM's inferred targets (held-out
# context, and pooled over the training contexts) against the truth.
#
#   Rscript bench/sciplex_like.R                        # the full protocol: many hours
#   PERTURBGIM_BENCH_STEPS=200 PERTURBGIM_BENCH_SETTINGS=A549_Givinostat \
#     PERTURBGIM_BENCH_CELLS=50 PERTURBGIM_BENCH_MC=16 Rscript bench/sciplex_like.R
# Environment:
#   PERTURBGIM_BENCH_STEPS     GIM training steps (default 100000, the paper's)
#   PERTURBGIM_BENCH_MC        Monte Carlo samples per step (default 128)
#   PERTURBGIM_BENCH_SETTINGS  settings, e.g. "A549_Givinostat,K562_Dacinostat", or
#                              positions "1:3" in sciplex_splits() order (default all 12)
#   PERTURBGIM_BENCH_CELLS     simulated cells per condition (default 200; vehicle: twice)
#   PERTURBGIM_BENCH_MARKERS   marker genes modelled (default 50, of 1000 HVGs)
#   PERTURBGIM_BENCH_SEED      seed of the simulated data set (default 1)
#   PERTURBGIM_BENCH_THREADS   threads per GIM fit (default: gim_control()'s)
#   PERTURBGIM_BENCH_OUT       directory for the CSV table and the fits (default "bench-results")
#
# GIM fits are saved under <out>/fits/ and checkpointed every 1,000 steps, so
# an interrupted run continues where it stopped. Sparsity weights are the
# centre of the paper's SciPlex3 grid (beta_M = beta_I = 1, gim_grid("sciplex"))
# and mechanism MLPs have 20 hidden units; the paper tuned them per setting.
suppressPackageStartupMessages(library(perturbgim))
options(width = 160)
for (pkg in c("SingleCellExperiment", "SummarizedExperiment", "S4Vectors")) {
  if (!requireNamespace(pkg, quietly = TRUE)) {
    stop(sprintf("this benchmark needs the Bioconductor package %s", pkg), call. = FALSE)
  }
}

bench_dir <- local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(file_arg)) dirname(normalizePath(file_arg)) else "bench"
})
source(file.path(bench_dir, "harness.R"))  # env_count()
steps <- env_count("PERTURBGIM_BENCH_STEPS", 100000L)
n_mc <- env_count("PERTURBGIM_BENCH_MC", 128L)
n_cells <- env_count("PERTURBGIM_BENCH_CELLS", 200L)
n_markers <- env_count("PERTURBGIM_BENCH_MARKERS", 50L)
seed <- env_count("PERTURBGIM_BENCH_SEED", 1L)
threads <- env_count("PERTURBGIM_BENCH_THREADS", gim_control()$n_threads)
out_dir <- Sys.getenv("PERTURBGIM_BENCH_OUT", "bench-results")
fit_dir <- file.path(out_dir, "fits")
dir.create(fit_dir, recursive = TRUE, showWarnings = FALSE)

elapsed <- function(expr) {
  t0 <- proc.time()[["elapsed"]]
  force(expr)
  proc.time()[["elapsed"]] - t0
}
quiet_cycles <- function(expr) {
  withCallingHandlers(expr, perturbgim_cyclic_graph = function(w) invokeRestart("muffleWarning"))
}

# The data: the simulator's default design at the paper's sizes.
set.seed(seed)
data_s <- elapsed({
  sce <- simulate_sciplex(n_cells = n_cells, n_control = 2L * n_cells, n_genes = 2000)
  sce <- preprocess_perturbation(sce, group = "cell_line", n_hvg = 1000,
                                 n_markers = n_markers)
})
splits <- sciplex_splits(sce)
wanted <- trimws(strsplit(Sys.getenv("PERTURBGIM_BENCH_SETTINGS", ""), ",", fixed = TRUE)[[1]])
settings <- splits$settings
if (length(wanted) == 1L && grepl("^[0-9]+(:[0-9]+)?$", wanted)) {
  ends <- as.integer(strsplit(wanted, ":", fixed = TRUE)[[1]])
  settings <- settings[seq(ends[1], ends[length(ends)]), ]
} else if (length(wanted)) {
  unknown <- setdiff(wanted, settings$setting)
  if (length(unknown)) {
    stop(sprintf("unknown settings %s; settings are %s", paste(unknown, collapse = ", "),
                 paste(settings$setting, collapse = ", ")), call. = FALSE)
  }
  settings <- settings[match(wanted, settings$setting), ]
}
if (anyNA(settings$setting) || !nrow(settings)) {
  stop("PERTURBGIM_BENCH_SETTINGS selects no setting", call. = FALSE)
}
control <- gim_control(steps = steps, n_mc = n_mc, beta_M = 1, beta_I = 1,
                       mechanism_hidden = 20L, n_threads = threads)
cat(sprintf(paste("SciPlex-like protocol: data seed %d, %d cells x %d marker genes (%.0f s);",
                  "GIM zilognormal/hard, %d steps x %d Monte Carlo samples, %d thread%s\n"),
            seed, ncol(sce), nrow(sce), data_s, steps, n_mc, threads,
            if (threads == 1L) "" else "s"))
cat(sprintf("Settings (%d): %s\n\n", nrow(settings), paste(settings$setting, collapse = ", ")))

dose_label <- c(`10` = "10nM", `100` = "100nM", `1000` = "1uM", `10000` = "10uM")
truth <- S4Vectors::metadata(sce)$truth
# True targets of contexts "<drug>_<dose>" of a cell line, over `genes`
# (genes outside the simulated module are never targets).
true_targets <- function(cell_line, labels, genes) {
  do.call(rbind, lapply(labels, function(k) {
    parts <- strsplit(k, "_", fixed = TRUE)[[1]]
    t <- truth$targets[[cell_line]][paste0(parts[1], "_", dose_label[parts[2]]), ]
    stats::setNames(as.numeric(genes %in% names(t)[t == 1]), genes)
  }))
}

# The GIM of a setting: read when finished, resumed from its checkpoint when
# interrupted, fitted otherwise.
gim_for <- function(train, setting) {
  stem <- file.path(fit_dir, sprintf("sciplex_%s_seed%d_steps%d_mc%d_m%d_c%d", setting,
                                     seed, steps, n_mc, n_markers, n_cells))
  done <- paste0(stem, ".rds")
  checkpoint <- paste0(stem, "_checkpoint.rds")
  if (file.exists(done)) return(readRDS(done))
  init <- if (file.exists(checkpoint)) readRDS(checkpoint)
  fit <- gim_fit(train, context = c("drug", "dose_nM"), features = sciplex_features,
                 observational = "control", genes = "marker", mechanism = "zilognormal",
                 intervention = "hard", control = control, verbose = interactive(),
                 init = init, checkpoint = checkpoint)
  if (isTRUE(fit$state$interrupted)) {
    cat(sprintf("  %s: interrupted at step %d; run again to resume\n", setting, fit$state$step))
    quit(save = "no", status = 130)
  }
  saveRDS(fit, done)
  unlink(checkpoint)
  fit
}

metrics <- c("mean_distance", "pearson_delta", "kde_nll", "energy_distance", "w2")
rows <- list()
f1_rows <- list()
for (i in seq_len(nrow(settings))) {
  s <- settings[i, ]
  sp <- splits$splits[[s$setting]]
  train <- sce[, sp$train]
  held <- sce[, sp$test]
  held_label <- paste0(s$drug, "_", s$dose_nM)
  set.seed(seed * 1000L + i)
  fit_s <- elapsed(fit <- quiet_cycles(gim_for(train, s$setting)))
  # GIM scored as gim_compare() scores it: as many cells as observed, the
  # vehicle cells of the training set as the control of pearson_delta.
  vehicle <- context_cells(train[, train$control], fit)[[1]]
  pred <- quiet_cycles(predict(fit, held))
  gim_tab <- gim_evaluate(context_cells(pred, fit), context_cells(held, fit),
                          control = vehicle, metrics = metrics, progress = FALSE)
  # The baselines on the same cells, through gim_compare().
  cells <- sce[, c(sp$train, sp$test)]
  base_s <- elapsed(base <- gim_compare(
    cells, context = c("drug", "dose_nM"), features = sciplex_features,
    observational = "control", genes = fit$nodes, test = held_label,
    methods = c("observational", "naive", "mlp_shift", "additive"), metrics = metrics,
    verbose = FALSE
  ))
  base <- as.data.frame(base)
  attributes(base) <- attributes(base)[c("names", "row.names")]
  class(base) <- "data.frame"
  tab <- rbind(cbind(method = "gim", gim_tab), base)
  rows[[s$setting]] <- cbind(setting = s$setting, tab[c("method", metrics)])
  train_labels <- setdiff(rownames(fit$features), held_label)
  features <- sciplex_features(data.frame(drug = s$drug, dose_nM = s$dose_nM, control = FALSE))
  prob_test <- intervention_targets(fit, features)
  prob_train <- intervention_targets(fit)[train_labels, , drop = FALSE]
  f1_rows[[s$setting]] <- data.frame(
    setting = s$setting,
    target_f1_test = target_f1(true_targets(s$cell_line, held_label, fit$nodes), prob_test > 0.5),
    target_f1_train = target_f1(true_targets(s$cell_line, train_labels, fit$nodes),
                                prob_train > 0.5),
    true_targets_test = sum(true_targets(s$cell_line, held_label, fit$nodes)),
    inferred_targets_test = sum(prob_test > 0.5),
    gim_fit_s = round(fit_s, 1), baselines_s = round(base_s, 1)
  )
  cat(sprintf("  %-18s GIM %6.0f s, baselines %4.0f s; GIM mean distance %.3f (MLP %.3f, naive %.3f)\n",
              s$setting, fit_s, base_s, gim_tab$mean_distance,
              tab$mean_distance[tab$method == "mlp_shift"], tab$mean_distance[tab$method == "naive"]))
}
table <- do.call(rbind, unname(rows))
rownames(table) <- NULL
f1 <- do.call(rbind, unname(f1_rows))
rownames(f1) <- NULL

cat("\nHeld-out drug at 10 uM: one row per setting and method\n")
print(table, digits = 3, row.names = FALSE)
cat("\nMedian over settings (lower is better, except pearson_delta)\n")
med <- stats::aggregate(table[metrics], table["method"], stats::median)
print(med[match(unique(table$method), med$method), ], digits = 3, row.names = FALSE)
cat("\nTarget-F1 of the GIM's inferred targets (probability > 1/2) against the simulator's truth\n")
print(f1, digits = 3, row.names = FALSE)
cat(sprintf("Median Target-F1: held-out contexts %.3f, training contexts %.3f\n",
            stats::median(f1$target_f1_test), stats::median(f1$target_f1_train)))
utils::write.csv(merge(table, f1, by = "setting"), file.path(out_dir, "sciplex_like.csv"),
                 row.names = FALSE)
cat(sprintf("\nTable written to %s\n", file.path(out_dir, "sciplex_like.csv")))
