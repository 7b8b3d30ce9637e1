# Makes inst/extdata/hdac_signatures.rds, the gene identities simulate_sciplex()
# uses: the top up-regulated genes (max dose vs vehicle) of the four HDAC
# inhibitors of the GIM paper in A549, K562 and MCF7, and a pool of other
# genes measured in SciPlex3 for the background.
#   Rscript data-raw/hdac-signatures.R [path/to/sigrecon_sciplex_signatures]
# Source: montilab/sigrecon, data/sciplex.{a549,k562,mcf7}.rda (MIT), copied
# to ../shared/data/sigrecon_sciplex_signatures/. Each is a list over 23
# SciPlex3 drugs with `up` (top differentially expressed genes, Ensembl IDs)
# and `up_full` (the full ranked list).
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args)) args[1] else "../shared/data/sigrecon_sciplex_signatures"

products <- c(Belinostat = "Belinostat (PXD101)",
              Dacinostat = "Dacinostat (LAQ824)",
              Givinostat = "Givinostat (ITF2357)",
              Quisinostat = "Quisinostat (JNJ-26481585) 2HCl")
lines <- c(A549 = "a549", K562 = "k562", MCF7 = "mcf7")

signatures <- lapply(lines, function(l) {
  env <- new.env()
  name <- load(file.path(dir, paste0("sciplex.", l, ".rda")), envir = env)
  sig <- get(name, envir = env)
  missing <- setdiff(products, names(sig))
  if (length(missing)) stop("Missing drugs in ", l, ": ", toString(missing))
  sig[products]
})

# Top up genes, ranked, per cell line and drug (names without catalogue code).
up <- lapply(signatures, function(sig) {
  stats::setNames(lapply(sig, function(d) unique(as.character(d$up))),
                  names(products))
})

# Background pool: every gene of the full ranked lists that is not a top up
# gene, ordered by its best rank over the 12 lists, so the first genes are
# those measured (and ranked) in every cell line.
full <- unlist(lapply(signatures, function(sig) lapply(sig, `[[`, "up_full")),
               recursive = FALSE)
genes <- unlist(full, use.names = FALSE)
ranks <- unlist(lapply(full, seq_along), use.names = FALSE)
n_lists <- tapply(ranks, genes, length)
best <- tapply(ranks, genes, min)
pool <- names(best)[order(-n_lists, best, names(best))]
pool <- setdiff(pool, unlist(up))
pool <- pool[grepl("^ENSG[0-9]+$", pool)][seq_len(6000)]

out <- list(
  up = up,
  background = pool,
  products = products,
  source = paste("montilab/sigrecon data/sciplex.{a549,k562,mcf7}.rda (MIT):",
                 "top up-regulated genes (max dose vs vehicle) of the four",
                 "HDAC inhibitors, and 6000 other genes of the ranked lists")
)
saveRDS(out, "inst/extdata/hdac_signatures.rds", compress = "xz", version = 2)
