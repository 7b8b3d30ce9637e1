# Thread counts: one option for the whole package, capped by what OpenMP
# offers. Results never depend on it.

default_threads <- function() getOption("perturbgim.threads", 2L)

resolve_threads <- function(n_threads, call = rlang::caller_env()) {
  n <- check_count(n_threads, "n_threads", call = call)
  min(n, .Call(pg_openmp_threads))
}
