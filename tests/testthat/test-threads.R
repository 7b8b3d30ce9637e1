# Thread settings (R/threads.R, src/threads.c).

test_that("with_single_blas_thread() runs OpenBLAS on one thread and restores the count", {
  before <- .Call(pg_blas_threads, NA_integer_)
  expect_type(before, "integer")
  skip_if(is.na(before), "R's BLAS is not OpenBLAS")
  inside <- with_single_blas_thread(.Call(pg_blas_threads, NA_integer_))
  expect_identical(inside, 1L)
  expect_identical(.Call(pg_blas_threads, NA_integer_), before)
  # Also after an error inside.
  expect_error(with_single_blas_thread(stop("boom")), "boom")
  expect_identical(.Call(pg_blas_threads, NA_integer_), before)
})

test_that("pg_blas_threads rejects a bad count, naming `n`", {
  expect_error(.Call(pg_blas_threads, "2"), "`n` must be a single integer")
  expect_error(.Call(pg_blas_threads, c(1L, 2L)), "`n` must be a single integer")
  expect_error(.Call(pg_blas_threads, 0L), "`n` must be at least 1")
})

test_that("resolve_threads() caps the request at what OpenMP offers", {
  expect_identical(resolve_threads(1L), 1L)
  expect_lte(resolve_threads(10000L), .Call(pg_openmp_threads))
  expect_error(resolve_threads(0L), "n_threads")
})
