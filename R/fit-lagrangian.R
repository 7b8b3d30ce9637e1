# The augmented-Lagrangian update of the acyclicity penalty, between chunks
# of training (Schneider et al. 2025, appendix D.4; SPEC section 2).

# `state` carries `lambda`, `mu` and `heldout` (the held-out per-cell
# log-likelihood at the previous check, -Inf before the first). The
# objective counts as converged when the held-out score moved by less than
# `convergence_tol` per cell and gene since the previous check, in either
# direction: a score that falls is the optimiser still adapting (typically
# to a penalty that has just started to bite), not a stationary point, and
# counting it as converged made `mu` double at every check until the graph
# was torn apart. Per gene, so that one tolerance serves any number of
# genes; log-likelihood differences do not depend on the units of `x`.
# Returns `state` with the new coefficients and score, and whether it
# updated them. Once the annealing of alpha is over (`annealed`), the
# coefficients grow at every check while the graph is cyclic, converged or
# not: a fit must end acyclic, and its mechanisms need the steps after that
# to refit to the graph they will be used with.
lagrangian_update <- function(state, heldout, acyclicity, cyclic, d, control,
                              annealed = FALSE) {
  change <- (heldout - state$heldout) / d
  converged <- is.finite(change) && abs(change) < control$convergence_tol
  updated <- (converged || annealed) && cyclic
  if (updated) {
    state$lambda <- state$lambda + state$mu * acyclicity
    state$mu <- 2 * state$mu
  }
  state$heldout <- heldout
  list(state = state, updated = updated)
}
