# Makes inst/extdata/norman19_k562.rds, the small real data set of the demo and
# the examples: the K562 CRISPRa cells (Norman et al. 2019) of the perturbench
# development file, log1p-normalised expression of 500 highly variable genes.
#   Rscript data-raw/norman19-k562.R [path/to/devel.h5ad]
# Source: altoslabs/perturbench, src/perturbench/data/resources/devel.h5ad
# (BSD-3-Clause), copied to ../shared/data/perturbench_norman19_devel/.
library(hdf5r)
library(Matrix)

args <- commandArgs(trailingOnly = TRUE)
path <- if (length(args)) args[1] else
  "../shared/data/perturbench_norman19_devel/devel.h5ad"
h5 <- H5File$new(path, mode = "r")
on.exit(h5$close_all())

categorical <- function(name) {
  g <- h5[[paste0("obs/", name)]]
  factor(g[["categories"]][][g[["codes"]][] + 1L], levels = g[["categories"]][])
}
n_cells <- h5[["X/indptr"]]$dims - 1L
genes <- h5[["var/gene_symbol"]][]
# AnnData stores X as CSR with cells in rows: that is a CSC matrix with genes
# in rows, transposed.
x <- Matrix::sparseMatrix(
  i = h5[["X/indices"]][] + 1L, p = h5[["X/indptr"]][],
  x = h5[["X/data"]][], dims = c(length(genes), n_cells)
)
x <- Matrix::t(x)
obs <- data.frame(
  cell = h5[["obs/_index"]][],
  condition = categorical("condition"),
  cell_type = categorical("cell_type"),
  dataset = categorical("dataset"),
  ncounts = h5[["obs/ncounts"]][],
  ngenes = h5[["obs/ngenes"]][],
  stringsAsFactors = FALSE
)
keep <- obs$dataset == "norman19" & obs$cell_type == "k562"
x <- x[keep, ]
obs <- droplevels(obs[keep, c("cell", "condition", "ncounts", "ngenes")])
rownames(obs) <- NULL
dimnames(x) <- list(obs$cell, genes)

norman19_k562 <- list(
  expression = methods::as(x, "CsparseMatrix"),
  cells = obs,
  description = paste(
    "K562 CRISPRa single and double perturbations (Norman et al. 2019),",
    "log1p-normalised expression, 500 highly variable genes; from the",
    "perturbench development file devel.h5ad (BSD-3-Clause)."
  )
)
saveRDS(norman19_k562, "inst/extdata/norman19_k562.rds", compress = "xz")
cat(sprintf("wrote %d cells x %d genes, %d conditions\n", nrow(x), ncol(x),
            nlevels(obs$condition)))
