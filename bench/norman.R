# Predicting CRISPRa combinations on real cells: the K562 part of the Norman
# et al. (2019) file shipped with the package (inst/extdata/norman19_devel.h5ad).
#
# Every two-gene combination whose two genes were also activated alone is held
# out (five in this file), all in one GIM fit, so that one fit serves every
# combination. The other cells (control, single genes, combinations with a
# gene never activated alone) are the training set. The held-out combinations
# are split in two fixed sets, alternating in alphabetical order: "report"
# (the first, third, ...), on which settings are judged, and "tuning" (the
# second, fourth, ...), on which they were chosen. Tables show both; the medians that count
# are those of the report set.
#
# Genes: the PERTURBGIM_NORMAN_GENES (default 30) genes whose means vary most
# across the training contexts (control included; held-out cells unused). A
# GIM models all pairs of its genes, so its cost grows with their square; 30
# keeps a fit at minutes on two cores and already covers the genes the
# perturbations move most (beyond them the spread of means falls off).
#
# Features: one 0/1 feature per perturbed gene (combination_features()). A
# held-out combination is predicted by GIM from its two single-gene rows
# (predict(combine = TRUE): the union of their targets) and from its own
# two-hot row, and by the additive (ridge) and MLP mean-shift baselines from
# the two-hot row. The observational prediction is the control cells. The
# noise floor is a split-half replicate: the observed cells of a combination
# are split at random, one half is what every method is scored against, the
# other half is scored as if it were a prediction. Every prediction has as
# many cells as that replicate half, since the energy distance estimate
# depends on the sample sizes.
#
# Metrics (gim_evaluate()): energy distance, W2, mean distance, Pearson delta
# (against control, and against the mean of all perturbed cells), DE
# agreement (top 10 of the modelled genes by change against control: overlap
# and sign) and perturbation discrimination among the held-out combinations;
# perturbed genes, where modelled, are left out. Scaled scores run from the
# "mean baseline" (a sample of all perturbed training cells, 0) to the
# replicate (1).
#
# The default GIM settings are those chosen on the tuning combinations among
# the few tried (NEWS.md lists them): hard interventions on standardised
# genes, 10,000 steps of 32 Monte Carlo samples; longer training (the paper's
# 30,000 steps) did not help there.
#
#   Rscript bench/norman.R
#   PERTURBGIM_NORMAN_INTERVENTION=shift PERTURBGIM_NORMAN_STANDARDISE=0 Rscript bench/norman.R
# Environment:
#   PERTURBGIM_NORMAN_STEPS         GIM training steps (default 10000)
#   PERTURBGIM_NORMAN_MC            Monte Carlo samples per step (default 32)
#   PERTURBGIM_NORMAN_GENES         modelled genes (default 30)
#   PERTURBGIM_NORMAN_MECHANISM     "mlp" (default), "linear", "zilognormal"
#   PERTURBGIM_NORMAN_INTERVENTION  "hard" (default), "shift"
#   PERTURBGIM_NORMAN_STANDARDISE   1 (default) to fit standardised genes, 0 not
#   PERTURBGIM_NORMAN_WEIGHT_PRIOR  "all" (default), "masked"
#   PERTURBGIM_NORMAN_ACYCLICITY    "penalty" (default), "order"
#   PERTURBGIM_NORMAN_BETA_I        target sparsity weight (default 10, gim_control()'s)
#   PERTURBGIM_NORMAN_TARGET_SPARSITY "probability" (default), "softplus", "annealed"
#   PERTURBGIM_NORMAN_BETA_M        graph sparsity weight (default 50, gim_control()'s)
#   PERTURBGIM_NORMAN_SEED          seed of the fit and of the split halves (default 1)
#   PERTURBGIM_NORMAN_REPEATS       split halves and draws the scores average (default 5)
#   PERTURBGIM_NORMAN_THREADS       threads of the GIM fit (default: gim_control()'s)
#   PERTURBGIM_NORMAN_OUT           directory for fits, tables and PNGs
#                                   (default "bench-results/norman")
# A finished fit is saved and read back when the script runs again with the
# same settings.
suppressPackageStartupMessages(library(perturbgim))
options(width = 160)
started <- proc.time()[["elapsed"]]
for (pkg in c("SingleCellExperiment", "SummarizedExperiment", "hdf5r")) {
  if (!requireNamespace(pkg, quietly = TRUE)) {
    stop(sprintf("this benchmark needs the package %s", pkg), call. = FALSE)
  }
}

bench_dir <- local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(file_arg)) dirname(normalizePath(file_arg)) else "bench"
})
source(file.path(bench_dir, "harness.R"))  # env_count()
env_choice <- function(name, choices) {
  value <- Sys.getenv(name, choices[[1]])
  if (!value %in% choices) {
    stop(sprintf("%s must be one of %s, not \"%s\"", name,
                 paste(choices, collapse = ", "), value), call. = FALSE)
  }
  value
}
steps <- env_count("PERTURBGIM_NORMAN_STEPS", 10000L)
n_mc <- env_count("PERTURBGIM_NORMAN_MC", 32L)
n_genes <- env_count("PERTURBGIM_NORMAN_GENES", 30L)
mechanism <- env_choice("PERTURBGIM_NORMAN_MECHANISM", c("mlp", "linear", "zilognormal"))
intervention <- env_choice("PERTURBGIM_NORMAN_INTERVENTION", c("hard", "shift"))
standardise <- env_choice("PERTURBGIM_NORMAN_STANDARDISE", c("1", "0")) == "1"
weight_prior <- env_choice("PERTURBGIM_NORMAN_WEIGHT_PRIOR", c("all", "masked"))
acyclicity <- env_choice("PERTURBGIM_NORMAN_ACYCLICITY", c("penalty", "order"))
target_sparsity <- env_choice("PERTURBGIM_NORMAN_TARGET_SPARSITY",
                              c("probability", "softplus", "annealed"))
env_number <- function(name, default) {
  value <- suppressWarnings(as.numeric(Sys.getenv(name, as.character(default))))
  if (is.na(value) || value < 0) {
    stop(sprintf("%s must be a number >= 0, not \"%s\"", name, Sys.getenv(name)), call. = FALSE)
  }
  value
}
beta_I <- env_number("PERTURBGIM_NORMAN_BETA_I", 10)
beta_M <- env_number("PERTURBGIM_NORMAN_BETA_M", 50)
seed <- env_count("PERTURBGIM_NORMAN_SEED", 1L)
n_repeats <- env_count("PERTURBGIM_NORMAN_REPEATS", 5L)
threads <- env_count("PERTURBGIM_NORMAN_THREADS", gim_control()$n_threads)
out_dir <- Sys.getenv("PERTURBGIM_NORMAN_OUT", file.path("bench-results", "norman"))
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)
top_k <- 10L

# ---------------------------------------------------------------------------
# Data: the Norman 2019 cells of the file (it also holds glioma cells of
# another screen), cells in rows.
sce <- read_h5ad(system.file("extdata", "norman19_devel.h5ad", package = "perturbgim"))
sce <- sce[, sce$dataset == "norman19"]
x <- t(as.matrix(SummarizedExperiment::assay(sce)))
condition <- as.character(sce$condition)
parts <- function(label) strsplit(label, "+", fixed = TRUE)[[1]]
labels <- setdiff(unique(condition), "control")
singles <- labels[!grepl("+", labels, fixed = TRUE)]
eligible <- sort(Filter(function(l) length(parts(l)) == 2L && all(parts(l) %in% singles),
                        labels))
if (length(eligible) < 2L) stop("fewer than two eligible combinations in the file", call. = FALSE)
combo_set <- rep_len(c("report", "tuning"), length(eligible))
train <- !condition %in% eligible

context_means <- rowsum(x[train, ], condition[train]) / as.vector(table(condition[train]))
spread <- apply(context_means, 2L, stats::var)
genes <- names(sort(spread, decreasing = TRUE))[seq_len(min(n_genes, ncol(x)))]
features <- combination_features(condition[train])
combo_rows <- combination_features(eligible, genes = colnames(features))

cat(sprintf("Norman 2019 K562 CRISPRa: %d cells, %d contexts; %d training cells (%d perturbed contexts, %d features)\n",
            nrow(x), length(unique(condition)), sum(train), nrow(features), ncol(features)))
cat(sprintf("Held out: %s (tuning) | %s (report)\n",
            paste(eligible[combo_set == "tuning"], collapse = ", "),
            paste(eligible[combo_set == "report"], collapse = ", ")))
cat(sprintf("Genes (%d of %d, largest variance of the training context means): %s\n",
            length(genes), ncol(x), paste(genes, collapse = ", ")))

# ---------------------------------------------------------------------------
# Fits.
control <- gim_control(steps = steps, n_mc = n_mc, standardise = standardise,
                       weight_prior = weight_prior, beta_I = beta_I, beta_M = beta_M,
                       acyclicity = acyclicity, target_sparsity = target_sparsity,
                       n_threads = threads)
stem <- sprintf("norman_%s_%s_g%d_steps%d_mc%d_std%d_%s_bI%g_bM%g_seed%d%s%s", mechanism,
                intervention, length(genes), steps, n_mc, standardise, weight_prior,
                beta_I, beta_M, seed, if (acyclicity == "order") "_order" else "",
                if (target_sparsity != "probability") paste0("_", target_sparsity) else "")
fit_path <- file.path(out_dir, paste0(stem, ".rds"))
fit_s <- NA_real_
if (file.exists(fit_path)) {
  fit <- readRDS(fit_path)
  cat(sprintf("GIM read from %s\n", fit_path))
} else {
  set.seed(seed)
  t0 <- proc.time()[["elapsed"]]
  fit <- gim_fit(x[train, genes], condition[train], features, mechanism = mechanism,
                 intervention = intervention, control = control, verbose = interactive())
  fit_s <- proc.time()[["elapsed"]] - t0
  saveRDS(fit, fit_path)
}
cat(sprintf("GIM: %d steps x %d MC samples, standardise = %s, weight_prior = %s, beta_I = %g (%s), beta_M = %g, acyclicity = %s%s\n",
            steps, n_mc, standardise, weight_prior, beta_I, target_sparsity, beta_M, acyclicity,
            if (is.na(fit_s)) "" else sprintf(", fitted in %.0f s", fit_s)))
print(fit)
set.seed(seed)
baselines <- lapply(c(additive = "additive", mlp_shift = "mlp_shift",
                      observational = "observational"), function(method) {
  fit_baseline(x[train, genes], condition[train], features, method = method)
})

# ---------------------------------------------------------------------------
# One repeat: observed halves, replicate halves and predictions, each a list
# named by combination, and the scores of every method. With some 50 cells a
# side one split is noisy enough to reorder methods that are close, so the
# tables average several repeats, each with its own split and draws.
control_cells <- x[condition == "control", genes, drop = FALSE]
perturbed_train <- x[train & condition != "control", genes, drop = FALSE]
part_rows <- lapply(stats::setNames(nm = eligible), function(l) features[parts(l), , drop = FALSE])
exclude <- lapply(stats::setNames(nm = eligible), function(l) intersect(parts(l), genes))
metrics <- c("energy_distance", "w2", "mean_distance", "pearson_delta",
             "pearson_delta_perturbed", "de_overlap", "de_sign", "discrimination")
higher_better <- c("pearson_delta", "pearson_delta_perturbed", "de_overlap", "de_sign")
unname_rows <- function(m) {
  attr(m, "context") <- NULL
  rownames(m) <- NULL
  m
}
by_context <- function(cells) {
  ctx <- factor(attr(cells, "context"), levels = unique(attr(cells, "context")))
  lapply(split(seq_len(nrow(cells)), ctx), function(i) unname_rows(cells[i, , drop = FALSE]))
}
quiet_cycles <- function(expr) {
  withCallingHandlers(expr, perturbgim_cyclic_graph = function(w) invokeRestart("muffleWarning"))
}
one_repeat <- function(r) {
  set.seed(seed * 1000L + 10L * r + 1L)
  halves <- lapply(stats::setNames(nm = eligible), function(l) {
    rows <- sample(which(condition == l))
    half <- floor(length(rows) / 2)
    list(observed = x[rows[seq_len(half)], genes, drop = FALSE],
         replicate = x[rows[-seq_len(half)], genes, drop = FALSE])
  })
  observed <- lapply(halves, `[[`, "observed")
  replicate <- lapply(halves, `[[`, "replicate")
  n_cells <- vapply(replicate, nrow, integer(1))
  # n_cells[l] cells of each combination drawn without replacement from a
  # baseline's prediction (the control cells, shifted).
  draw <- function(cells) {
    lapply(stats::setNames(nm = eligible), function(l) {
      m <- cells[[l]]
      m[sort(sample.int(nrow(m), min(nrow(m), n_cells[[l]]))), , drop = FALSE]
    })
  }
  # The baselines' cells come from their own seed, so that their scores are
  # the same whatever GIM settings are run.
  set.seed(seed * 1000L + 10L * r + 2L)
  predictions <- list(
    additive = draw(by_context(predict(baselines$additive, combo_rows))),
    mlp_shift = draw(by_context(predict(baselines$mlp_shift, combo_rows))),
    observational = draw(stats::setNames(rep(list(control_cells), length(eligible)), eligible))
  )
  mean_baseline <- perturbed_train[sample.int(nrow(perturbed_train), max(n_cells)), , drop = FALSE]
  set.seed(seed * 1000L + 10L * r + 3L)
  predictions <- c(list(
    gim_parts = by_context(quiet_cycles(predict(fit, part_rows, n = n_cells))),
    gim_row = by_context(quiet_cycles(predict(fit, combo_rows, n = n_cells)))
  ), predictions)
  # gim_evaluate() also scores the replicate and the mean baseline; its
  # rescaled columns are not used (see `scaled` below), nor their warnings.
  scores <- lapply(predictions, function(p) {
    suppressWarnings(gim_evaluate(
      p, observed, control = control_cells, metrics = metrics, exclude_genes = exclude,
      top_k = top_k, baseline = mean_baseline, replicate = replicate,
      n_threads = threads, progress = FALSE))
  })
  scores$replicate <- attr(scores[[1]], "replicate")
  scores$mean_baseline <- attr(scores[[1]], "baseline")
  list(scores = scores, predictions = predictions, observed = observed)
}
repeats <- lapply(seq_len(n_repeats), one_repeat)
methods <- names(repeats[[1]]$scores)
# value[[metric]]: combinations x methods, the mean over repeats.
value <- lapply(stats::setNames(nm = metrics), function(metric) {
  per <- lapply(repeats, function(rp) {
    sapply(methods, function(m) {
      s <- rp$scores[[m]]
      s[[metric]][match(eligible, s$context)]
    })
  })
  out <- Reduce(`+`, per) / length(per)
  rownames(out) <- eligible
  out
})

metric_table <- function(metric) {
  tab <- data.frame(combination = eligible, set = combo_set, value[[metric]],
                    check.names = FALSE)
  medians <- lapply(c("report", "tuning"), function(s) {
    data.frame(combination = "median", set = s,
               t(apply(value[[metric]][combo_set == s, , drop = FALSE], 2, stats::median)),
               check.names = FALSE)
  })
  rbind(tab[order(tab$set, tab$combination), ], do.call(rbind, medians))
}
tables <- lapply(stats::setNames(nm = metrics), metric_table)
cat(sprintf("\nScores: mean over %d random split halves and draws; one table per metric\n",
            n_repeats))
for (metric in metrics) {
  cat(sprintf("\n%s (%s is better)\n", metric,
              if (metric %in% higher_better) "higher" else "lower"))
  print(tables[[metric]], digits = 3, row.names = FALSE)
}

# Scaled as gim_evaluate() scales, (model - baseline) / (replicate -
# baseline), but from the scores averaged over repeats: a ratio of two noisy
# differences, averaged, would be dominated by the repeats where the
# denominator is near 0. NA where the replicate does no better than the
# mean baseline.
scaled <- do.call(rbind, lapply(metrics, function(metric) {
  v <- value[[metric]][combo_set == "report", , drop = FALSE]
  gain <- if (metric %in% higher_better) 1 else -1
  room <- gain * (v[, "replicate"] - v[, "mean_baseline"])
  row <- data.frame(metric = metric)
  for (m in setdiff(methods, c("replicate", "mean_baseline"))) {
    ratio <- (v[, m] - v[, "mean_baseline"]) / (v[, "replicate"] - v[, "mean_baseline"])
    ratio[!(room > 0)] <- NA
    row[[m]] <- stats::median(ratio, na.rm = TRUE)
  }
  row
}))
cat("\nScaled scores, median over the report combinations (0 = mean baseline, 1 = replicate; NA ignored)\n")
print(scaled, digits = 3, row.names = FALSE)
predictions <- repeats[[1]]$predictions
observed <- repeats[[1]]$observed

# ---------------------------------------------------------------------------
# What GIM says the perturbations act on.
prob <- intervention_targets(fit)
called <- function(p) {
  hit <- sort(p[p > 0.5], decreasing = TRUE)
  if (length(hit)) paste(sprintf("%s %.2f", names(hit), hit), collapse = ", ") else "none"
}
own <- intersect(singles, genes)
cat("\nSingle-gene CRISPRa perturbations of a modelled gene: is the activated gene a GIM target?\n")
if (length(own)) {
  print(data.frame(
    perturbation = own,
    probability = vapply(own, function(g) prob[g, g], numeric(1)),
    rank = vapply(own, function(g) rank(-prob[g, ], ties.method = "min")[[g]], numeric(1)),
    targets_called = vapply(own, function(g) sum(prob[g, ] > 0.5), numeric(1))
  ), digits = 3, row.names = FALSE)
} else {
  cat("  none: no singly activated gene is among the modelled genes\n")
}
cat("\nTargets called (probability > 1/2) for the parts of the held-out combinations and for their two-hot rows\n")
part_genes <- sort(unique(unlist(lapply(eligible, parts))))
cat(sprintf("Genes called a target of most of the %d training perturbations: %s\n", nrow(prob),
            paste(names(which(colSums(prob > 0.5) > nrow(prob) / 2)), collapse = ", ")))
row_prob <- intervention_targets(fit, combo_rows)
print(data.frame(context = c(part_genes, eligible),
                 targets = c(vapply(part_genes, function(g) called(prob[g, ]), ""),
                             vapply(eligible, function(l) called(row_prob[l, ]), ""))),
      row.names = FALSE, right = FALSE)
# combine = TRUE takes each gene's intervention from the part more likely to
# target it. Where both parts call a gene, show how close that call was and
# what each part would put there.
cat("\nGenes both parts of a held-out combination target: 1 - probability per part, the part whose intervention combine = TRUE takes, predicted means\n")
set.seed(seed * 1000L + 6L)
for (l in eligible) {
  p <- prob[parts(l), , drop = FALSE]
  both <- colnames(p)[colSums(p > 0.5) == 2]
  if (!length(both)) next
  means <- quiet_cycles(predict(fit, c(stats::setNames(lapply(parts(l), function(g) features[g, , drop = FALSE]), parts(l)),
                                       stats::setNames(list(features[parts(l), , drop = FALSE]), l)),
                                n = 2000, type = "mean"))
  shown <- data.frame(gene = both, t(signif(1 - p[, both, drop = FALSE], 2)),
                      taken = parts(l)[max.col(t(p[, both, drop = FALSE]), ties.method = "first")],
                      t(round(means[, both, drop = FALSE], 2)), check.names = FALSE)
  names(shown) <- c("gene", paste("1-p", parts(l)), "taken", paste("mean", c(parts(l), l)))
  cat(l, "\n")
  print(shown, row.names = FALSE)
}
graph <- quiet_cycles(causal_graph(fit))
edges <- which(graph == 1, arr.ind = TRUE)
cat(sprintf("\nGraph: %d edges among %d genes%s\n", nrow(edges), length(genes),
            if (nrow(edges)) paste0(": ", paste(rownames(graph)[edges[, 1]], "->",
                                                colnames(graph)[edges[, 2]], collapse = ", ")) else ""))

# ---------------------------------------------------------------------------
# Where the gap to the additive model comes from. First, how well the fitted
# model reproduces the cells it saw most of: GIM's observational samples
# against one half of the control cells, beside the other half. The additive
# and MLP baselines predict by shifting the control cells themselves, so they
# start from this floor; GIM starts from its own mechanisms.
set.seed(seed * 1000L + 4L)
ctl_rows <- sample(nrow(control_cells))
ctl_a <- control_cells[ctl_rows[seq_len(nrow(control_cells) %/% 2)], , drop = FALSE]
ctl_b <- control_cells[ctl_rows[-seq_len(nrow(control_cells) %/% 2)], , drop = FALSE]
gim_ctl <- unname_rows(quiet_cycles(predict(fit, NULL, n = nrow(ctl_b))))
cat(sprintf("\nControl cells, energy distance to one half: GIM's observational samples %.3f, the other half %.3f\n",
            energy_distance(gim_ctl, ctl_a, n_threads = threads),
            energy_distance(ctl_b, ctl_a, n_threads = threads)))
# Second, the training contexts of the parts: if GIM fits the single-gene
# cells it was trained on worse than the additive model does, the gap on the
# combinations is a fitting problem before it is a combination problem.
# In-sample energy distance (prediction against all cells of the context;
# as many predicted cells as observed, for the additive model the shifted
# control cells) and the mean shifts of the genes that differ most.
set.seed(seed * 1000L + 5L)
in_sample <- t(vapply(part_genes, function(g) {
  o <- x[condition == g, genes, drop = FALSE]
  p <- unname_rows(quiet_cycles(predict(fit, features[g, , drop = FALSE], n = nrow(o))))
  a <- unname_rows(predict(baselines$additive, features[g, , drop = FALSE]))
  c(gim = energy_distance(p, o, n_threads = threads),
    additive = energy_distance(a, o, n_threads = threads))
}, numeric(2)))
cat("Training single-gene contexts of the parts, in-sample energy distance\n")
print(in_sample, digits = 3)
gim_shift <- quiet_cycles(predict(fit, features[part_genes, , drop = FALSE], n = 2000, type = "mean")) -
  rep(colMeans(quiet_cycles(predict(fit, NULL, n = 4000))), each = length(part_genes))
observed_shift <- t(vapply(part_genes, function(g) {
  colMeans(x[condition == g, genes, drop = FALSE]) - colMeans(control_cells)
}, numeric(length(genes))))
moved <- names(sort(colSums(abs(observed_shift - gim_shift)), decreasing = TRUE))[1:4]
cat("Mean shift against control of the genes GIM misses most, observed | GIM (in-sample)\n")
shifts <- cbind(observed_shift[, moved], gim_shift[, moved])
colnames(shifts) <- paste(moved, rep(c("obs", "gim"), each = length(moved)))
print(shifts[, order(rep(seq_along(moved), 2))], digits = 2)
# Third, gene by gene: the one-gene energy distance of GIM (from the parts)
# and of the additive model, mean over repeats, median over the report
# combinations.
report <- eligible[combo_set == "report"]
gene_ed <- function(method) {
  sapply(genes, function(g) stats::median(vapply(report, function(l) {
    mean(vapply(repeats, function(rp) {
      energy_distance(rp$predictions[[method]][[l]][, g, drop = FALSE],
                      rp$observed[[l]][, g, drop = FALSE], n_threads = threads)
    }, numeric(1)))
  }, numeric(1))))
}
by_gene <- data.frame(gene = genes, gim_parts = gene_ed("gim_parts"),
                      additive = gene_ed("additive"))
by_gene$gap <- by_gene$gim_parts - by_gene$additive
by_gene$zero_fraction <- colMeans(x[train, genes] == 0)
cat("Genes with the largest gap (one-gene energy distance, GIM from parts - additive; median over report combinations)\n")
print(utils::head(by_gene[order(-by_gene$gap), ], 8), digits = 3, row.names = FALSE)

# ---------------------------------------------------------------------------
# Marginals of the genes the combination moves most, one PNG per combination.
for (l in eligible) {
  shown <- c(predictions[c("gim_parts", "gim_row", "additive", "observational")])
  shown <- lapply(shown, `[[`, l)
  p <- plot_marginals(shown, observed[[l]], n_genes = 6, control = control_cells) +
    ggplot2::ggtitle(sprintf("%s (%s set): observed half and predictions", l,
                             combo_set[eligible == l]))
  path <- file.path(out_dir, sprintf("%s_%s.png", stem, gsub("+", "_", l, fixed = TRUE)))
  ggplot2::ggsave(path, p, width = 9, height = 5.5, dpi = 100)
}
utils::write.csv(do.call(rbind, lapply(metrics, function(m) cbind(metric = m, tables[[m]]))),
                 file.path(out_dir, paste0(stem, ".csv")), row.names = FALSE)
cat(sprintf("\nTables (CSV) and marginal plots (PNG) in %s\n", out_dir))
cat(sprintf("Wall time: %.0f s\n", proc.time()[["elapsed"]] - started))
