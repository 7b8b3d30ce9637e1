# Thread counts: one option for the whole package, capped by what OpenMP
# offers. Results never depend on it.

default_threads <- function() getOption("perturbgim.threads", 2L)

resolve_threads <- function(n_threads, call = rlang::caller_env()) {
  n <- check_count(n_threads, "n_threads", call = call)
  min(n, .Call(pg_openmp_threads))
}

# Runs `expr` with OpenBLAS limited to one thread, then restores the count
# (also on error or interrupt). The engine's BLAS calls are too small to gain
# from threads, and idle OpenBLAS workers busy-wait, taking a core from the
# engine's own OpenMP threads (src/threads.c). A no-op for other BLAS.
with_single_blas_thread <- function(expr) {
  old <- .Call(pg_blas_threads, NA_integer_)
  if (!is.na(old) && old != 1L) {
    .Call(pg_blas_threads, 1L)
    on.exit(.Call(pg_blas_threads, old), add = TRUE)
  }
  expr
}
