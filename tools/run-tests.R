# Runs the testthat suite against the installed package and ends with one
# summary line of the form "testthat: N passed, N failed, N skipped".
suppressPackageStartupMessages(library(testthat))
# Run everything, snapshot tests included: this is our own suite, not CRAN's.
Sys.setenv(NOT_CRAN = "true")
results <- testthat::test_dir(
  "tests/testthat", package = "perturbgim", load_package = "installed",
  reporter = testthat::SummaryReporter$new(show_praise = FALSE),
  stop_on_failure = FALSE
)
df <- as.data.frame(results)
failed <- sum(df$failed) + sum(df$error)
skipped <- sum(df$skipped)
passed <- sum(df$nb) - sum(df$failed) - skipped - sum(df$warning)
cat(sprintf("\ntestthat: %d passed, %d failed, %d skipped\n", passed, failed, skipped))
quit(status = if (failed > 0) 1L else 0L)
