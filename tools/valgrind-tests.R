# Runs testthat files against the installed package for `make valgrind`.
# Under valgrind R runs 20-50 times slower, so by default only the files that
# drive the engine's C code hardest are run: test-engine-math.R (vectorised
# math and noise kernels), test-gradients.R (every objective term, all
# mechanisms) and test-fit.R (whole fits through the R loop); about an hour
# on two busy cores. VALGRIND_TESTS (a regular expression on the file names,
# as testthat's `filter`, or "all") chooses others, e.g.
# VALGRIND_TESTS="metrics-|scm|predict" for the metric and sampler kernels.
# Ends with one line "testthat: N passed, N failed, N skipped" and exits 1 on
# a failure; valgrind's own errors set the exit status via --error-exitcode.
suppressPackageStartupMessages(library(testthat))
Sys.setenv(NOT_CRAN = "true")
filter <- Sys.getenv("VALGRIND_TESTS",
                     "engine-math|gradients|^fit$")
if (identical(filter, "all")) filter <- NULL
results <- testthat::test_dir(
  "tests/testthat", filter = filter, package = "perturbgim",
  load_package = "installed",
  reporter = testthat::SummaryReporter$new(show_praise = FALSE),
  stop_on_failure = FALSE
)
df <- as.data.frame(results)
failed <- sum(df$failed) + sum(df$error)
skipped <- sum(df$skipped)
passed <- sum(df$nb) - sum(df$failed) - skipped - sum(df$warning)
cat(sprintf("\ntestthat: %d passed, %d failed, %d skipped\n", passed, failed, skipped))
quit(status = if (failed > 0) 1L else 0L)
