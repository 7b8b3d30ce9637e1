# Makes inst/extdata/gene_symbols.rds: the HGNC symbols of the genes that
# simulate_sciplex() can use (every Ensembl ID of inst/extdata/hdac_signatures.rds),
# so that plots label them by symbol. Mapped once here; the package itself
# needs no annotation package.
#   Rscript data-raw/gene-symbols.R [path/to/org.Hs.eg.sqlite]
# Source: Bioconductor's org.Hs.eg.db 3.16.0 (Artistic-2.0; Entrez Gene
# 2022-Sep12, Ensembl 2022-Jun28), its SQLite file `extdata/org.Hs.eg.sqlite`
# (for example from the Debian package r-bioc-org.hs.eg.db, or from an
# installed org.Hs.eg.db). Tables used: `ensembl` (Ensembl gene ID per
# Entrez `_id`) and `gene_info` (`symbol` per `_id`). Read with DBI/RSQLite,
# so AnnotationDbi is not needed.
# An Ensembl ID that maps to several Entrez genes keeps the first symbol in
# alphabetical order; IDs without a mapping are left out (plots then show the
# ID itself).
args <- commandArgs(trailingOnly = TRUE)
db <- if (length(args)) args[1] else system.file("extdata", "org.Hs.eg.sqlite",
                                                 package = "org.Hs.eg.db")
if (!nzchar(db) || !file.exists(db)) {
  stop("give the path of org.Hs.eg.sqlite (from org.Hs.eg.db) as the argument")
}

sig <- readRDS("inst/extdata/hdac_signatures.rds")
ids <- unique(c(unlist(sig$up, use.names = FALSE), sig$background))

con <- DBI::dbConnect(RSQLite::SQLite(), db, flags = RSQLite::SQLITE_RO)
map <- DBI::dbGetQuery(con, paste(
  "SELECT e.ensembl_id AS gene_id, g.symbol AS symbol",
  "FROM ensembl e JOIN gene_info g ON e._id = g._id"
))
meta <- DBI::dbGetQuery(con, "SELECT name, value FROM metadata")
DBI::dbDisconnect(con)

map <- map[map$gene_id %in% ids, ]
map <- map[order(map$gene_id, map$symbol), ]
map <- map[!duplicated(map$gene_id), ]
map <- map[order(match(map$gene_id, ids)), ]
rownames(map) <- NULL

version <- function(name) meta$value[meta$name == name]
out <- list(
  symbols = map,
  source = sprintf(paste("Bioconductor org.Hs.eg.db 3.16.0 (Entrez Gene %s, Ensembl %s):",
                         "tables ensembl and gene_info; %d of the %d Ensembl IDs",
                         "of hdac_signatures.rds have a symbol"),
                   version("EGSOURCEDATE"), version("ENSOURCEDATE"), nrow(map),
                   length(ids))
)
cat(out$source, "\n")
saveRDS(out, "inst/extdata/gene_symbols.rds", compress = "xz", version = 2)
