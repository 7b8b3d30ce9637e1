# The stopping rule of gim_fit(): with gim_control(stop_patience = ), a fit
# ends before `steps` once it is done (issue "real-size fits in minutes").

# Called after every held-out check. Once the annealing of alpha is over, it
# tracks the best held-out score of the acyclic point-estimate graph and the
# step it was reached; the fit is done when that score has not improved by
# more than `convergence_tol` per cell and gene (the augmented Lagrangian's
# tolerance) for `stop_patience` checks. A cyclic graph resets the record:
# the factorised likelihood of a cyclic graph can exceed that of any DAG,
# so a score from before the graph became acyclic is no bar to beat (on
# simulated data such a record stopped fits 1,000 steps after the cycles
# were broken, before the mechanisms had refitted). Returns `state` with the
# updated record and `done`.
early_stop_update <- function(state, heldout, cyclic, d, control) {
  state$done <- FALSE
  if (is.null(control$stop_patience) || state$step < anneal_length(control) ||
      !is.finite(heldout)) {
    return(state)
  }
  if (cyclic) {
    state$best_heldout <- state$best_step <- NULL
    return(state)
  }
  improved <- is.null(state$best_heldout) ||
    (heldout - state$best_heldout) / d > control$convergence_tol
  if (improved) {
    state$best_heldout <- heldout
    state$best_step <- state$step
  }
  state$done <- state$step - state$best_step >= control$stop_patience * control$check_every
  state
}

# Why training ended, for the fit object and print().
stop_reason <- function(state, control, interrupted) {
  if (interrupted) return("interrupted")
  if (isTRUE(state$done)) return("converged")
  if (state$step >= control$steps) "max_steps" else "unfinished"
}
