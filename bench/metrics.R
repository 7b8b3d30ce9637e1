# Times every metric of perturbgim beside its independent reference in one run
# and prints one table: median seconds of each and the ratio (speed-up).
#   Rscript bench/metrics.R            # all cases
#   Rscript bench/metrics.R sid kde    # only some
suppressPackageStartupMessages(library(perturbgim))
options(width = 160)
bench_dir <- local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(file_arg)) dirname(normalizePath(file_arg)) else "bench"
})
source(file.path(bench_dir, "harness.R"))

case_files <- sort(list.files(file.path(bench_dir, "cases"), pattern = "\\.R$",
                              full.names = TRUE))
wanted <- commandArgs(trailingOnly = TRUE)
if (length(wanted)) {
  keep <- tools::file_path_sans_ext(basename(case_files)) %in% wanted
  case_files <- case_files[keep]
}

cat(sprintf("perturbgim %s, %s, BLAS: %s, threads: %d\n",
            utils::packageVersion("perturbgim"), R.version.string,
            normalizePath(extSoftVersion()[["BLAS"]]),
            getOption("perturbgim.threads", 2L)))
rows <- list()
for (f in case_files) {
  env <- new.env(parent = globalenv())
  sys.source(f, envir = env)
  name <- tools::file_path_sans_ext(basename(f))
  cat(sprintf("running %s ...\n", name))
  rows[[name]] <- env$run_case()
}
table <- do.call(rbind, rows)
rownames(table) <- NULL
table$perturbgim_s <- signif(table$perturbgim_s, 3)
table$reference_s <- signif(table$reference_s, 3)
table$speedup <- round(table$speedup, 1)
# The agreement notes can be long: print them under the table, by row.
notes <- table$agreement
table$agreement <- NULL
cat("\n")
print(table, right = FALSE)
cat("\nAgreement with the reference, by row:\n")
cat(sprintf("%2d  %s", seq_along(notes), notes), sep = "\n")
