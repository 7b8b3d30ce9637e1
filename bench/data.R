# Times preprocess_perturbation() at the SciPlex3 scale of the issue: 100,000
# cells x 2,000 genes of sparse counts (10% non-zero, 20 million entries), in
# 3 cell lines x (16 drug-dose conditions + vehicle), through the matrix and
# the SingleCellExperiment methods, and prints time and peak memory.
# Goal: well under a minute and under 4 GB.
#   Rscript bench/data.R            (full size)
#   Rscript bench/data.R 20000      (fewer cells)
suppressPackageStartupMessages(library(perturbgim))
bench_dir <- local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(file_arg)) dirname(normalizePath(file_arg)) else "bench"
})
source(file.path(bench_dir, "harness.R"))

n_cells <- as.integer(commandArgs(trailingOnly = TRUE)[1])
if (is.na(n_cells)) n_cells <- 100000L
n_genes <- 2000L
density <- 0.1

# Peak resident memory of this process so far (Linux), in MB.
vm_hwm_mb <- function() {
  status <- tryCatch(readLines("/proc/self/status"), error = function(e) "")
  line <- grep("^VmHWM:", status, value = TRUE)
  if (!length(line)) return(NA_real_)
  as.numeric(gsub("[^0-9]", "", line)) / 1024
}

# Time, R heap peak (gc "max used", MB) and process peak of one call.
measure <- function(expr) {
  f <- eval(call("function", NULL, substitute(expr)), parent.frame())
  invisible(gc(reset = TRUE))
  before <- sum(gc()[, 2])
  t0 <- proc.time()[["elapsed"]]
  out <- f()
  secs <- proc.time()[["elapsed"]] - t0
  g <- gc()
  list(out = out, seconds = secs,
       heap_peak_mb = sum(g[, ncol(g)]) - before, vm_hwm_mb = vm_hwm_mb())
}

cat(sprintf("perturbgim %s, %s\n", utils::packageVersion("perturbgim"),
            R.version.string))
set.seed(1)
drugs <- c("Belinostat", "Dacinostat", "Givinostat", "Quisinostat")
design <- rbind(
  data.frame(drug = "control", dose_nM = 0),
  expand.grid(drug = drugs, dose_nM = c(10, 100, 1000, 10000),
              stringsAsFactors = FALSE)
)
line <- sample(c("A549", "K562", "MCF7"), n_cells, replace = TRUE)
# a third of the cells are vehicle, as in SciPlex3 where controls are common
k <- ifelse(stats::runif(n_cells) < 1 / 3, 1L,
            sample(2:17, n_cells, replace = TRUE))
nnz <- round(n_cells * n_genes * density)
# random positions, gene-dependent rates, a response in 40 genes that grows
# with the dose
i <- sample.int(n_cells, nnz, replace = TRUE)
j <- sample.int(n_genes, nnz, replace = TRUE, prob = stats::rexp(n_genes))
rate <- 2 + (j <= 40) * log10(pmax(design$dose_nM[k[i]], 1))
counts <- Matrix::sparseMatrix(i = i, j = j, x = 1 + stats::rpois(nnz, rate),
                               dims = c(n_cells, n_genes),
                               dimnames = list(paste0("cell", seq_len(n_cells)),
                                               paste0("gene", seq_len(n_genes))))
rm(i, j, rate)
control <- k == 1L
condition <- paste(design$drug[k], design$dose_nM[k], sep = "_")
cat(sprintf("counts: %d cells x %d genes, %d non-zero (%.0f MB)\n",
            nrow(counts), ncol(counts), length(counts@x),
            as.numeric(utils::object.size(counts)) / 2^20))

m <- measure(preprocess_perturbation(counts, condition = condition,
                                     control = control, group = line))
rows <- list(data.frame(
  method = "matrix (dgCMatrix, cells x genes)", cells = n_cells,
  genes = n_genes, kept_cells = m$out$record$n_cells,
  kept_genes = m$out$record$n_genes, markers = ncol(m$out$x),
  seconds = round(m$seconds, 2), heap_peak_mb = round(m$heap_peak_mb),
  process_peak_mb = round(m$vm_hwm_mb)))
rm(m)

have_sce <- requireNamespace("SingleCellExperiment", quietly = TRUE)
if (have_sce) {
  sce <- SingleCellExperiment::SingleCellExperiment(
    assays = list(counts = Matrix::t(counts)),
    colData = S4Vectors::DataFrame(drug = design$drug[k],
                                   dose_nM = design$dose_nM[k],
                                   cell_line = line, control = control))
  rm(counts)
  m <- measure(preprocess_perturbation(sce, group = "cell_line"))
  rows[[2]] <- data.frame(
    method = "SingleCellExperiment (genes x cells)", cells = n_cells,
    genes = n_genes, kept_cells = ncol(m$out), kept_genes =
      S4Vectors::metadata(m$out)$perturbgim_preprocess$n_genes,
    markers = nrow(m$out), seconds = round(m$seconds, 2),
    heap_peak_mb = round(m$heap_peak_mb), process_peak_mb = round(m$vm_hwm_mb))
}
table <- do.call(rbind, rows)
cat("\n")
print(table, right = FALSE, row.names = FALSE)
cat("\nheap_peak_mb: R heap used at the peak of the call above what was",
    "in use before it (gc max used);\nprocess_peak_mb: peak resident memory",
    "of the whole process so far (VmHWM), data generation included.\n")
cat(sprintf("Goal: under 60 s and 4096 MB -> %s\n",
            if (all(table$seconds < 60 & table$process_peak_mb < 4096))
              "met" else "NOT met"))
