# Times simulate_gim_benchmark() at the paper's size (d = 20, 40 + 20
# perturbations, 22,800 cells over three splits) for every graph, mechanism and
# intervention type, and prints one table. Goal: well under 2 seconds each.
#   Rscript bench/data_synthetic.R
suppressPackageStartupMessages(library(perturbgim))
bench_dir <- local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(file_arg)) dirname(normalizePath(file_arg)) else "bench"
})
source(file.path(bench_dir, "harness.R"))

cat(sprintf("perturbgim %s, %s\n", utils::packageVersion("perturbgim"),
            R.version.string))
settings <- expand.grid(graph = c("er", "sf"), mechanism = c("linear", "mlp"),
                        intervention = c("hard", "shift"),
                        stringsAsFactors = FALSE)
rows <- lapply(seq_len(nrow(settings)), function(i) {
  s <- settings[i, ]
  set.seed(i)
  b <- simulate_gim_benchmark(s$graph, s$mechanism, s$intervention)
  secs <- median_seconds(
    simulate_gim_benchmark(s$graph, s$mechanism, s$intervention), reps = 5)
  # The sampler alone, on all contexts at once, for comparison.
  tr <- b$truth
  n <- ifelse(rownames(tr$targets) == "observational", 800L, 50L)
  sampler <- median_seconds(
    sample_scm(tr$scm, n, tr$targets, tr$psi, s$intervention), reps = 5)
  cells <- nrow(b$train$x) + nrow(b$test_partly_ood$x) + nrow(b$test_fully_ood$x)
  data.frame(graph = s$graph, mechanism = s$mechanism,
             intervention = s$intervention, edges = sum(tr$scm$graph),
             contexts = nrow(tr$targets), cells = cells,
             total_s = signif(secs, 3), sampler_s = signif(sampler, 3),
             under_2s = secs < 2, stringsAsFactors = FALSE)
})
table <- do.call(rbind, rows)
cat("\n")
print(table, right = FALSE, row.names = FALSE)
