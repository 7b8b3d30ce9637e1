# Where a fit's held-out log-likelihood gap comes from. For one saved GIM fit
# on a simulate_gim_benchmark() data set (linear or mlp mechanisms), at the
# fit's point estimate (G*, targets with probability > 0.5, the nets' psi):
#   * the gap to the true SCM per cell, on observational and perturbed cells;
#   * the genes that carry it, beside their missing, reversed and extra parents;
#   * the gap when the true targets replace the called ones (psi from the
#     nets' raw outputs): a gap that grows shows called targets standing in
#     for what the mechanisms do not fit;
#   * the false target calls, by where they sit: a child of a true target of
#     the context (its edge kept or missing in G*), another descendant, or
#     unrelated.
#
#   Rscript bench/gap_sources.R fit=bench-results/fits/gim_er_mlp_hard_seed3_steps10000.rds \
#     graph=er mechanism=mlp intervention=hard seed=3
#
# The data set is set.seed(seed); simulate_gim_benchmark(graph, mechanism,
# intervention), as in bench/paper_synthetic.R. The gap is on the fit's own
# held-out cells, in the data's units; the engine's own point-estimate score
# is printed beside it as a check of this R re-computation (the two agreed
# within 0.01 nats per cell on the fits it was written for).
suppressPackageStartupMessages(library(perturbgim))
options(width = 160)
bench_dir <- local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(file_arg)) dirname(normalizePath(file_arg)) else "bench"
})
source(file.path(bench_dir, "harness.R"))  # gene_logdensity(), point_heldout_loglik()
kv <- strsplit(commandArgs(trailingOnly = TRUE), "=", fixed = TRUE)
opt <- stats::setNames(lapply(kv, `[`, 2), vapply(kv, `[`, "", 1))
for (nm in c("fit", "graph", "mechanism", "intervention", "seed")) {
  if (is.null(opt[[nm]])) stop("give ", nm, "=", call. = FALSE)
}
fit <- readRDS(opt$fit)
seed <- as.integer(opt$seed)
set.seed(seed)
bench <- simulate_gim_benchmark(opt$graph, opt$mechanism, opt$intervention)
tr <- bench$train
truth <- bench$truth
held <- fit$state$heldout_cells
x <- tr$x[held, , drop = FALSE]
context <- tr$context[held]
observational <- context == "observational"

# The fit's point estimate as an SCM on its own (standardised) scale.
scaling <- fit$x_scaling
x_fit <- if (is.null(scaling)) x else sweep(sweep(x, 2, scaling$center), 2, scaling$scale, "/")
log_jacobian <- if (is.null(scaling)) 0 else log(scaling$scale)
g_fit <- suppressWarnings(causal_graph(fit))
fit_scm <- list(graph = g_fit, mechanism = fit$mechanism, parameters = fit$theta)
perturbations <- rownames(tr$features)
pars <- predict(fit, tr$features, type = "parameters")
with_observational <- function(m, value = 0) rbind(m, observational = value)
psi_of <- function(psi) {
  if (opt$intervention == "hard") {
    list(mean = with_observational(psi$mean), log_sd = with_observational(psi$log_sd))
  } else {
    with_observational(psi$shift)
  }
}
fit_density <- function(targets, psi) {
  sweep(gene_logdensity(fit_scm, with_observational(targets, 0L), psi_of(psi), x_fit, context),
        2, log_jacobian)
}
true_density <- gene_logdensity(truth$scm, truth$targets, truth$psi, x, context)
gap <- true_density - fit_density(pars$targets, pars$psi)
true_targets <- truth$targets[perturbations, , drop = FALSE]
gap_true_targets <- true_density - fit_density(true_targets, pars$psi_raw)

engine_point <- point_heldout_loglik(fit, bench)

per_cell <- function(g, rows = TRUE) mean(rowSums(g[rows, , drop = FALSE]))
cat(sprintf("%s: %s/%s/%s seed %d, %d held-out cells (%d observational)\n",
            basename(opt$fit), opt$graph, opt$mechanism, opt$intervention, seed,
            length(held), sum(observational)))
cat(sprintf(paste("gap per cell at the point estimate %.2f (engine's point score: %.2f);",
                  "observational cells %.2f, perturbed %.2f\n"),
            per_cell(gap), mean(rowSums(true_density)) - engine_point,
            per_cell(gap, observational), per_cell(gap, !observational)))
cat(sprintf("with the true targets in place of the called ones: %.2f (perturbed cells %.2f)\n",
            per_cell(gap_true_targets), per_cell(gap_true_targets, !observational)))

g_true <- truth$scm$graph
genes <- data.frame(
  gene = colnames(x),
  gap_observational = colMeans(gap[observational, , drop = FALSE]),
  gap_perturbed = colMeans(gap[!observational, , drop = FALSE]),
  parents = colSums(g_true),
  missing = colSums(g_true == 1 & g_fit == 0 & t(g_fit) == 0),
  reversed = colSums(g_true == 1 & t(g_fit) == 1),
  extra = colSums(g_true == 0 & t(g_true) == 0 & g_fit == 1))
genes <- genes[order(-(genes$gap_observational + genes$gap_perturbed)), ]
cat("\nGenes carrying the gap (per cell of each kind):\n")
print(utils::head(genes, 8), digits = 2, row.names = FALSE)

# False calls against the true graph and targets of their context.
descendants <- function(from) {
  reach <- from
  repeat {
    more <- setdiff(which(colSums(g_true[reach, , drop = FALSE]) > 0), reach)
    if (!length(more)) return(setdiff(reach, from))
    reach <- c(reach, more)
  }
}
false_calls <- which(pars$targets == 1 & true_targets == 0, arr.ind = TRUE)
kind <- apply(false_calls, 1, function(r) {
  hit <- which(true_targets[r[1], ] == 1)
  j <- r[2]
  if (any(g_true[hit, j] == 1)) {
    if (any(g_true[hit, j] == 1 & g_fit[hit, j] == 1)) "child, edge kept" else "child, edge missing"
  } else if (j %in% descendants(hit)) "other descendant" else "unrelated"
})
cat(sprintf("\nTargets called %d, true %d, true called %d; false calls by kind:\n",
            sum(pars$targets), sum(true_targets), sum(pars$targets * true_targets)))
print(table(factor(kind, c("child, edge kept", "child, edge missing", "other descendant",
                           "unrelated"))))
