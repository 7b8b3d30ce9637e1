# Small fitting problems shared by test-fit.R and test-fit-resume.R.

small_bench <- function(mechanism = "linear", intervention = "hard", seed = 1) {
  withr::local_seed(seed)
  simulate_gim_benchmark(d = 5, mechanism = mechanism, intervention = intervention,
                         n_perturbations = 4, n_test_perturbations = 1, n_cells = 20,
                         n_observational = 100, n_components = 3)
}

quick_control <- function(steps = 60, ...) {
  gim_control(steps = steps, n_mc = 4, gim_hidden = 6, check_every = 20, n_threads = 1, ...)
}

# Make the training loop see an interrupt (as from Ctrl-C) when it starts
# chunk `chunk`, until the calling test ends. testthat 3.1.6 (Debian's) has no
# local_mocked_bindings(): swap the binding in the namespace by hand.
local_interrupt_at_chunk <- function(chunk, env = parent.frame()) {
  calls <- 0L
  ns <- asNamespace("perturbgim")
  real_chunk <- get("train_chunk", envir = ns)
  unlockBinding("train_chunk", ns)
  assign("train_chunk", function(...) {
    calls <<- calls + 1L
    if (calls == chunk) rlang::interrupt()
    real_chunk(...)
  }, envir = ns)
  withr::defer({
    assign("train_chunk", real_chunk, envir = ns)
    lockBinding("train_chunk", ns)
  }, envir = env)
}
