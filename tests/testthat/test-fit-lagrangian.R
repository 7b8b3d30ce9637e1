# The augmented-Lagrangian update between chunks (R/fit-lagrangian.R).

al_state <- function(heldout) list(lambda = 0.5, mu = 2, heldout = heldout)
al_control <- function(tol = 1e-3) list(convergence_tol = tol)

test_that("a converged, cyclic fit updates lambda by mu * c and doubles mu", {
  out <- lagrangian_update(al_state(-10), -10 + 0.5e-3 * 4, acyclicity = 0.25,
                           cyclic = TRUE, d = 4, control = al_control())
  expect_true(out$updated)
  expect_equal(out$state$lambda, 0.5 + 2 * 0.25)
  expect_equal(out$state$mu, 4)
  expect_equal(out$state$heldout, -10 + 2e-3)
})

test_that("an acyclic point estimate leaves the coefficients alone", {
  out <- lagrangian_update(al_state(-10), -10, 0.25, cyclic = FALSE, d = 4, al_control())
  expect_false(out$updated)
  expect_equal(out$state[c("lambda", "mu")], list(lambda = 0.5, mu = 2))
  expect_equal(out$state$heldout, -10)
})

test_that("the tolerance is per gene and applies to rises and falls alike", {
  # A change of 3e-3 per cell is 0.75e-3 per gene for 4 genes (converged)
  # but 3e-3 per gene for 1 gene (not converged).
  expect_true(lagrangian_update(al_state(-10), -10 + 3e-3, 0.1, TRUE, 4, al_control())$updated)
  expect_false(lagrangian_update(al_state(-10), -10 + 3e-3, 0.1, TRUE, 1, al_control())$updated)
  # A falling score is the optimiser still adapting, not convergence.
  expect_false(lagrangian_update(al_state(-10), -11, 0.1, TRUE, 4, al_control())$updated)
  expect_false(lagrangian_update(al_state(-10), -9, 0.1, TRUE, 4, al_control())$updated)
})

test_that("the first check, with no previous score, never counts as converged", {
  out <- lagrangian_update(al_state(-Inf), -10, 0.1, TRUE, 4, al_control(tol = 1e6))
  expect_false(out$updated)
  expect_equal(out$state$heldout, -10)
  out <- lagrangian_update(al_state(-10), NaN, 0.1, TRUE, 4, al_control(tol = 1e6))
  expect_false(out$updated)
})

test_that("after the annealing the coefficients grow at every check while the graph is cyclic", {
  # Still changing fast: no update before the annealing ends, one after.
  before <- lagrangian_update(al_state(-10), -9, 0.25, cyclic = TRUE, d = 4, al_control())
  expect_false(before$updated)
  after <- lagrangian_update(al_state(-10), -9, 0.25, cyclic = TRUE, d = 4, al_control(),
                             annealed = TRUE)
  expect_true(after$updated)
  expect_equal(after$state$mu, 2 * al_state(-10)$mu)
  # An acyclic graph needs no update either way.
  expect_false(lagrangian_update(al_state(-10), -9, 0.25, cyclic = FALSE, d = 4, al_control(),
                                 annealed = TRUE)$updated)
})
