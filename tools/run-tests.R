# Runs the testthat suite against the installed package and ends with one
# summary line of the form "testthat: N passed, N failed, N skipped".
suppressPackageStartupMessages(library(testthat))
# Run everything, snapshot tests included: this is our own suite, not CRAN's.
Sys.setenv(NOT_CRAN = "true")
# PERTURBGIM_TEST_FILTER: a regular expression on test file names (as
# testthat's `filter`), e.g. for the sanitizer run of `make test`.
filter <- Sys.getenv("PERTURBGIM_TEST_FILTER", "")
results <- testthat::test_dir(
  "tests/testthat", package = "perturbgim", load_package = "installed",
  filter = if (nzchar(filter)) filter,
  reporter = testthat::SummaryReporter$new(show_praise = FALSE),
  stop_on_failure = FALSE
)
df <- as.data.frame(results)
failed <- sum(df$failed) + sum(df$error)
skipped <- sum(df$skipped)
passed <- sum(df$nb) - sum(df$failed) - skipped - sum(df$warning)
cat(sprintf("\ntestthat: %d passed, %d failed, %d skipped\n", passed, failed, skipped))
quit(status = if (failed > 0) 1L else 0L)
