# perturbgim demo: the SciPlex3 workflow of Schneider et al. (2025, section
# 5.2) end to end on the SciPlex3-like simulator, whose causal truth is known.
#
#   raw counts (simulate_sciplex(), laid out like read_sciplex3())
#   -> preprocess_perturbation() -> sciplex_splits(): per cell line, one drug
#   held out at 10 uM -> gim_compare(): GIM and the baselines fitted on the
#   training cells, the held-out cells predicted and scored -> Target-F1 of
#   the inferred targets against the truth -> the paper's plots as PNG files.
#
#   Rscript inst/scripts/demo.R                          # a few minutes on two cores
#   PERTURBGIM_DEMO_FULL=1 Rscript inst/scripts/demo.R   # the paper's protocol: hours
# Environment:
#   PERTURBGIM_DEMO_DIR      folder for the PNG files and the metric table (default demo-output)
#   PERTURBGIM_DEMO_FULL     "1": all 12 settings, 50 marker genes of 1000 HVGs, 200 cells
#                            per condition, 100,000 steps with 128 Monte Carlo samples
#   PERTURBGIM_DEMO_STEPS    GIM training steps (default 2000; full: 100000)
#   PERTURBGIM_DEMO_THREADS  threads per fit (default 2)
# By default: Givinostat held out in each of the 3 cell lines, 100 cells per
# condition, 25 marker genes of 500 HVGs, 2,000 steps with 16 Monte Carlo
# samples. Short fits are not the paper's numbers; the full protocol is.
suppressPackageStartupMessages(library(perturbgim))
for (pkg in c("SingleCellExperiment", "SummarizedExperiment", "S4Vectors")) {
  if (!requireNamespace(pkg, quietly = TRUE)) {
    stop(sprintf("the demo needs the Bioconductor package %s", pkg), call. = FALSE)
  }
}
options(width = 150)
t_start <- proc.time()[["elapsed"]]

env_count <- function(name, default) {
  value <- suppressWarnings(as.integer(Sys.getenv(name, as.character(default))))
  if (is.na(value) || value < 1L) {
    stop(sprintf("%s must be a positive whole number, not \"%s\"", name, Sys.getenv(name)),
         call. = FALSE)
  }
  value
}
full <- identical(Sys.getenv("PERTURBGIM_DEMO_FULL"), "1")
out_dir <- Sys.getenv("PERTURBGIM_DEMO_DIR", "demo-output")
steps <- env_count("PERTURBGIM_DEMO_STEPS", if (full) 100000L else 2000L)
threads <- env_count("PERTURBGIM_DEMO_THREADS", 2L)
sizes <- if (full) {
  list(n_cells = 200, n_control = 400, n_genes = 2000, n_hvg = 1000, n_markers = 50,
       n_mc = 128L, drugs = c("Belinostat", "Dacinostat", "Givinostat", "Quisinostat"))
} else {
  list(n_cells = 100, n_control = 200, n_genes = 1000, n_hvg = 500, n_markers = 25,
       n_mc = 16L, drugs = "Givinostat")
}
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

cat(sprintf("perturbgim %s demo: the SciPlex3 workflow on simulated data (%s run)\n\n",
            utils::packageVersion("perturbgim"), if (full) "full" else "short"))

# 1. Raw counts with a known truth, laid out like read_sciplex3()'s result.
set.seed(2020)
sce <- simulate_sciplex(n_cells = sizes$n_cells, n_control = sizes$n_control,
                        n_genes = sizes$n_genes)
cat(sprintf("Simulated %d cells x %d genes: 3 cell lines, 4 HDAC inhibitors at 4 doses + vehicle.\n",
            ncol(sce), nrow(sce)))

# 2. The paper's preprocessing (appendix D.2): filter, scale to the median
#    control library size, log1p, highly variable genes, then marker genes
#    against the vehicle cells of the same cell line.
sce <- preprocess_perturbation(sce, group = "cell_line", n_hvg = sizes$n_hvg,
                               n_markers = sizes$n_markers)
cat(sprintf("Preprocessed: %d cells, %d marker genes (assay \"logcounts\").\n\n",
            ncol(sce), nrow(sce)))

# 3. The hold-out settings: per cell line, one drug at 10 uM is the test set.
splits <- sciplex_splits(sce)
settings <- splits$settings[splits$settings$drug %in% sizes$drugs, ]

# 4. GIM for log-normalised counts as in the paper: zero-inflated log-normal
#    mechanisms, hard interventions, sparsity weights at the centre of its
#    SciPlex3 grid (gim_grid("sciplex")).
control <- gim_control(steps = steps, n_mc = sizes$n_mc, beta_M = 1, beta_I = 1,
                       mechanism_hidden = if (full) 20L else 5L, n_threads = threads)
cat(sprintf("GIM: zilognormal mechanisms, hard interventions, %d steps x %d Monte Carlo samples%s.\n",
            steps, control$n_mc, if (full) "" else " (paper: 100,000 x 128)"))
cat(sprintf("Settings: %s\n\n", paste(settings$setting, collapse = ", ")))

dose_label <- c(`10` = "10nM", `100` = "100nM", `1000` = "1uM", `10000` = "10uM")
truth <- S4Vectors::metadata(sce)$truth

# True targets of a drug and dose in a cell line over the fitted genes
# (genes outside the simulated causal module are never targets).
true_targets <- function(cell_line, drug, dose, genes) {
  t <- truth$targets[[cell_line]][paste0(drug, "_", dose_label[as.character(dose)]), ]
  stats::setNames(as.numeric(genes %in% names(t)[t == 1]), genes)
}

# Target-F1 of the inferred targets of the held-out context, and pooled over
# the training contexts.
target_scores <- function(fit, features, s) {
  prob <- intervention_targets(fit, features)
  held <- paste0(s$drug, "_", s$dose_nM)
  train <- setdiff(rownames(fit$features), held)
  truth_of <- function(labels) {
    do.call(rbind, lapply(labels, function(k) {
      parts <- strsplit(k, "_", fixed = TRUE)[[1]]
      true_targets(s$cell_line, parts[1], parts[2], fit$nodes)
    }))
  }
  c(test = target_f1(truth_of(held), prob[held, , drop = FALSE] > 0.5),
    train = target_f1(truth_of(train), prob[train, , drop = FALSE] > 0.5))
}

quiet_cycles <- function(expr) {
  # Short fits may keep cycles in the graph's point estimate; they are
  # broken at the least probable edge, counted in the fit's print.
  withCallingHandlers(expr, perturbgim_cyclic_graph = function(w) invokeRestart("muffleWarning"))
}

results <- list()
tables <- list()
for (i in seq_len(nrow(settings))) {
  s <- settings[i, ]
  sp <- splits$splits[[s$setting]]
  cells <- sce[, c(sp$train, sp$test)]
  held_out <- rep(c(FALSE, TRUE), c(length(sp$train), length(sp$test)))
  t0 <- proc.time()[["elapsed"]]
  set.seed(i)
  res <- quiet_cycles(gim_compare(
    cells, context = c("drug", "dose_nM"), features = sciplex_features,
    observational = "control", genes = "marker", test = held_out,
    mechanism = "zilognormal", intervention = "hard", control = control,
    verbose = FALSE
  ))
  seconds <- proc.time()[["elapsed"]] - t0
  fit <- attr(res, "fits")$gim
  f1 <- if (is.null(fit)) c(test = NA, train = NA) else target_scores(fit, attr(res, "features"), s)
  tab <- as.data.frame(res)
  attributes(tab) <- attributes(tab)[c("names", "row.names", "class")]
  class(tab) <- "data.frame"
  tab$target_f1 <- ifelse(tab$method == "gim", f1[["test"]], NA_real_)
  tab <- cbind(setting = s$setting, tab)
  tables[[s$setting]] <- tab
  results[[s$setting]] <- list(res = res, cells = cells, held_out = held_out, f1 = f1)
  cat(sprintf("  %-18s %4d training cells, %3d held out: %5.0f s; GIM Target-F1 %.2f (training contexts %.2f)\n",
              s$setting, sum(!held_out), sum(held_out), seconds, f1[["test"]], f1[["train"]]))
}
table <- do.call(rbind, unname(tables))
rownames(table) <- NULL

metrics <- c("mean_distance", "pearson_delta", "kde_nll", "energy_distance", "w2", "target_f1")
cat("\nHeld-out drug at 10 uM, one row per method and setting:\n")
print(table[c("setting", "method", metrics)], digits = 3, row.names = FALSE)
# (the data frame method of aggregate() keeps rows with NA)
summary <- stats::aggregate(table[metrics], table["method"],
                            function(v) stats::median(v, na.rm = TRUE))
summary <- summary[match(unique(table$method), summary$method), ]
cat(sprintf("\nMedian over the %d setting%s (lower is better, except pearson_delta and target_f1;\n",
            nrow(settings), if (nrow(settings) == 1L) "" else "s"),
    "Target-F1 only for GIM, the one model that infers targets):\n", sep = "")
print(summary, digits = 3, row.names = FALSE)
utils::write.csv(table, file.path(out_dir, "metrics.csv"), row.names = FALSE)

# 5. The paper's plots for the first setting (Givinostat in A549 by
#    default, the paper's Fig. 5 example), and the metrics of all settings.
first <- results[[1]]
s <- settings[1, ]
fit <- attr(first$res, "fits")$gim
fits <- attr(first$res, "fits")
features <- attr(first$res, "features")
held_label <- paste0(s$drug, "_", s$dose_nM)
held <- first$cells[, first$held_out]
train <- first$cells[, !first$held_out]
vehicle <- context_cells(train[, train$control], fit)[[1]]
stem <- s$setting
png_files <- character()
save_png <- function(plot, name, width = 8, height = 5) {
  path <- file.path(out_dir, name)
  ggplot2::ggsave(path, plot, width = width, height = height, dpi = 100)
  png_files <<- c(png_files, name)
}

plot_table <- table
plot_table$setting <- sub("_.*", "", plot_table$setting)
save_png(plot_metrics(plot_table, metrics = c("mean_distance", "pearson_delta", "kde_nll",
                                              "energy_distance", "w2")),
         "metrics_by_method.png", width = 10)
quiet_cycles({
  set.seed(10)
  pred <- predict(fit, held)
  predicted <- list(GIM = context_cells(pred, fit)[[1]],
                    MLP = predict(fits$mlp_shift, features[held_label, , drop = FALSE], n = ncol(held)),
                    naive = predict(fits$naive, features[held_label, , drop = FALSE], n = ncol(held)))
  save_png(plot_marginals(predicted, context_cells(held, fit)[[1]], n_genes = 6,
                          control = vehicle),
           sprintf("marginals_%s.png", stem), width = 10, height = 6)
  save_png(plot_targets(fit, features), sprintf("targets_%s.png", stem), width = 10, height = 6)
  doses <- c(10, 100, 1000, 10000)
  drug_rows <- features[paste0(s$drug, "_", doses), ]
  x <- t(as.matrix(SummarizedExperiment::assay(train, "logcounts")[fit$nodes, ]))
  save_png(plot_dose_response(fit, drug_rows, dose = doses,
                              observed = list(x = x,
                                              context = ifelse(train$drug == s$drug,
                                                               paste0(train$drug, "_", train$dose_nM),
                                                               NA),
                                              dose = train$dose_nM),
                              reference = colMeans(vehicle)) +
             ggplot2::scale_x_log10(),
           sprintf("dose_response_%s.png", stem), width = 10, height = 6)
  save_png(plot_graph(fit, type = "heatmap"), sprintf("graph_%s.png", stem), width = 8, height = 7)
  # The network as a biologist reads it: parents above children, only the
  # confident edges (P > 0.9, at most the 30 most probable), gene symbols.
  save_png(plot_graph(fit, type = "network", layout = "layered", threshold = 0.9,
                      max_edges = 30),
           sprintf("network_%s.png", stem), width = 9, height = 8)
  save_png(plot_training(fit), sprintf("training_%s.png", stem))
})

cat(sprintf("\nPlots written to %s/:\n", normalizePath(out_dir)))
cat(paste0("  ", c(png_files, "metrics.csv (the table above)")), sep = "\n")
cat(sprintf("\nDone in %.1f minutes.%s\n", (proc.time()[["elapsed"]] - t_start) / 60,
            if (full) "" else " The full protocol: PERTURBGIM_DEMO_FULL=1 (hours)."))
