#' Entropic optimal transport (Sinkhorn) between two sample sets
#'
#' Solves the entropy-regularised optimal transport problem between the
#' uniform empirical measures of `predicted` and `observed` with the squared
#' Euclidean cost, by Sinkhorn iterations in the log domain. `sinkhorn_w2()`
#' returns only the entropic Wasserstein-2 distance `sqrt(OT_eps)`, the
#' distributional metric of Schneider et al. (2025); `sinkhorn()` returns the
#' whole solution.
#'
#' @param predicted Predicted samples: a numeric matrix, a data frame of
#'   numbers or a sparse `Matrix` (e.g. `dgCMatrix`), samples in rows and
#'   variables in columns.
#' @param observed Observed samples with the same columns as `predicted`.
#' @param epsilon Entropic regularisation, a positive number in the units of
#'   the cost (squared distances); it is not rescaled by the data.
#' @param tolerance Convergence threshold on the L1 error of the two
#'   marginals of the plan (a positive number; the total mass is 1).
#' @param max_iterations Maximum number of Sinkhorn iterations (one update of
#'   each potential), including the annealing stages.
#' @param n_threads Number of threads. The result does not depend on it.
#' @param annealing Whether to use epsilon scaling (see Details): usually
#'   faster for small `epsilon`, and the same estimator.
#' @param low_memory If `TRUE`, never store a dense kernel (see Details):
#'   memory stays at one `m x n` matrix, but when `epsilon` is not small
#'   next to the spread of the costs, updates take one `exp()` per matrix
#'   entry and are several times slower. Always the case beyond
#'   `2^25` (33.5 million) matrix entries. The result is the same.
#' @param plan Whether to return the transport plan (an `m x n` matrix, which
#'   can be large).
#' @param divergence Whether to compute the debiased Sinkhorn divergence,
#'   which solves two more (symmetric) problems.
#' @param ... For `sinkhorn_w2()`: further arguments to `sinkhorn()`
#'   (`tolerance`, `max_iterations`, `n_threads`, `annealing`,
#'   `low_memory`).
#' @return `sinkhorn()`: a list of class `perturbgim_sinkhorn` with
#' * `cost`: `OT_eps = <P, C> + epsilon * KL(P | a b^T)`, never negative;
#' * `transport_cost`: `<P, C>`;
#' * `divergence`: the debiased Sinkhorn divergence
#'   `OT_eps(predicted, observed) - (OT_eps(predicted, predicted) +
#'   OT_eps(observed, observed)) / 2`, `NA` when `divergence = FALSE`;
#' * `transport`: the plan `P` (`m x n`, rows are predicted samples, sums to
#'   1), `NULL` when `plan = FALSE`;
#' * `iterations`, `converged`, `marginal_error`: of the main problem
#'   (`converged` is `FALSE` also when a self-transport problem of the
#'   divergence did not converge);
#' * `epsilon`, `tolerance`;
#' * `self_cost`: `OT_eps(predicted, predicted)` and
#'   `OT_eps(observed, observed)`, `NULL` when `divergence = FALSE`.
#'
#' `sinkhorn_w2()`: a single number, `sqrt(cost)`.
#' @details
#' With `m` predicted samples `x_i`, `n` observed samples `y_j`, weights
#' `a_i = 1/m`, `b_j = 1/n` and cost `C_ij = |x_i - y_j|^2` (no factor 1/2),
#' the plan `P` minimises `<P, C> + epsilon * KL(P | a b^T)` over couplings
#' of `a` and `b`. The reported `cost` is that objective at the returned
#' plan (the `reg_ot_cost` of OTT-JAX; `KL` in its generalised form
#' `sum P log(P / ab) - sum P + 1`, the usual one for a plan of mass 1), so
#' it is never negative. `epsilon` is the `reg` of POT's `ot.sinkhorn()`,
#' whose results these agree with (to `1e-10` when both are run to a tight
#' tolerance).
#'
#' Sinkhorn iterations alternate the two marginal projections of the dual
#' potentials `f`, `g`, with `P_ij = a_i b_j exp((f_i + g_j - C_ij) /
#' epsilon)`, and stop when the L1 error of both marginals of the plan,
#' `sum |rowSums(P) - a| + sum |colSums(P) - b|`, is below `tolerance`;
#' the plan reported is the one whose error was measured. (POT stops on the
#' L2 norm of the column error, up to `sqrt(n)` times smaller, so at the same
#' threshold it stops earlier and less converged.) Not converging within
#' `max_iterations` gives a warning of class
#' `perturbgim_sinkhorn_not_converged` and `converged = FALSE`; the values
#' then belong to the last plan, still at `epsilon`.
#'
#' **Numerics and speed.** Nothing changes the estimator: the result is the
#' Sinkhorn solution at `epsilon` to within `tolerance`.
#' * The cost matrix comes from BLAS (`dgemm`) after centring the data at
#'   their pooled mean, so large offsets lose no accuracy.
#' * The potentials are kept in the log domain (stable for squared costs in
#'   the millions with `epsilon = 0.1`). Each update is a log-sum-exp,
#'   computed with the stabilised kernel of Schmitzer (2019): exponentials
#'   are taken once relative to reference potentials and reused in
#'   matrix-vector products until the potentials have moved too far; terms
#'   below `exp(-47) / n` of the largest are dropped (the kernel is then a
#'   sparse list when `epsilon` is small next to the spread of the costs),
#'   which changes sums by less than `1e-16` relative. Rows or columns
#'   carrying almost no mass are recomputed exactly. When the truncated
#'   kernel is not sparse it is stored as a dense `m x n` matrix, unless
#'   `low_memory = TRUE`: the log-sum-exps then stream over the costs.
#' * Over-relaxation (Thibault et al., 2021): the factor follows the
#'   measured rate of convergence, and every relaxed step is checked to keep
#'   a fixed share of the dual ascent of a plain step, so convergence is
#'   guaranteed as for plain Sinkhorn.
#' * With `annealing = TRUE`, `epsilon` starts at 1/100 of the largest cost
#'   and is divided by 10 every few iterations down to `epsilon`, where
#'   iterations continue to `tolerance` (epsilon scaling).
#' * Self-transport problems (the terms of the divergence, or
#'   `predicted` identical to `observed`) use the symmetric update
#'   `f <- (f + T(f)) / 2` (Feydy et al., 2019), which converges in a few
#'   iterations where alternating updates crawl; identical inputs give a
#'   divergence of exactly 0.
#' * Large loops are shared among `n_threads` threads; results do not depend
#'   on their number. Memory is `O(m n)` (the cost matrix, and the kernel
#'   when it is dense: 16 bytes per pair of samples, 8 with
#'   `low_memory = TRUE`), plus `O(m^2)` and `O(n^2)`, one after the other,
#'   for the divergence.
#' @references
#' Cuturi, M. (2013). Sinkhorn distances: lightspeed computation of optimal
#' transport. *Advances in Neural Information Processing Systems*, 26.
#'
#' Feydy, J., Séjourné, T., Vialard, F.-X., Amari, S., Trouvé, A. and
#' Peyré, G. (2019). Interpolating between optimal transport and MMD using
#' Sinkhorn divergences. *Proceedings of AISTATS*, PMLR 89, 2681--2690.
#'
#' Schmitzer, B. (2019). Stabilized sparse scaling algorithms for entropy
#' regularized transport problems. *SIAM Journal on Scientific Computing*,
#' 41(3), A1443--A1481.
#'
#' Thibault, A., Chizat, L., Dossal, C. and Papadakis, N. (2021).
#' Overrelaxed Sinkhorn-Knopp algorithm for regularized optimal transport.
#' *Algorithms*, 14(5), 143.
#'
#' Schneider, N., Lorch, L., Kilbertus, N., Schölkopf, B. and Krause, A.
#' (2025). Generative intervention models for causal perturbation modeling.
#' *Proceedings of the 42nd International Conference on Machine Learning*.
#' \doi{10.48550/arXiv.2503.19149}
#'
#' Flamary, R. et al. (2021). POT: Python optimal transport. *Journal of
#' Machine Learning Research*, 22(78), 1--8.
#' @family metrics
#' @examples
#' set.seed(1)
#' observed <- matrix(rnorm(200), 50, 4)
#' predicted <- matrix(rnorm(200, mean = 0.5), 50, 4)
#' sinkhorn_w2(predicted, observed)
#' res <- sinkhorn(predicted, observed, epsilon = 0.5)
#' res
#' range(rowSums(res$transport)) # 1/50 each
#' @export
sinkhorn <- function(predicted, observed, epsilon = 0.1, tolerance = 1e-3,
                     max_iterations = 10000L, n_threads = default_threads(),
                     annealing = TRUE, low_memory = FALSE, plan = TRUE,
                     divergence = TRUE) {
  predicted <- as_sample_matrix(predicted)
  observed <- as_sample_matrix(observed)
  check_metric_scale(predicted)
  check_metric_scale(observed)
  check_same_variables(predicted, observed, "predicted", "observed")
  epsilon <- check_positive_number(epsilon)
  tolerance <- check_positive_number(tolerance)
  max_iterations <- check_count(max_iterations)
  n_threads <- resolve_threads(n_threads)
  annealing <- check_flag(annealing)
  low_memory <- check_flag(low_memory)
  plan <- check_flag(plan)
  divergence <- check_flag(divergence)

  res <- .Call(pg_sinkhorn, predicted, observed, epsilon, tolerance,
               max_iterations, annealing, low_memory, plan, divergence,
               n_threads)
  # A NaN marginal error means cost / epsilon overflowed the log-domain
  # iterations: the numbers returned (often 0) are meaningless.
  if (is.nan(res$marginal_error)) {
    cli::cli_abort(c("{.arg epsilon} = {epsilon} is too small for the squared distances of these samples.",
                     "i" = "The Sinkhorn iterations overflowed; increase {.arg epsilon} or rescale the data."))
  }

  converged <- res$converged
  if (!converged) {
    cli::cli_warn(c(
      paste("Sinkhorn did not converge in {.arg max_iterations} =",
            "{max_iterations} iterations."),
      "i" = paste("Marginal error {signif(res$marginal_error, 3)} >",
                  "{.arg tolerance} = {tolerance}; increase",
                  "{.arg max_iterations} or {.arg epsilon}.")
    ), class = "perturbgim_sinkhorn_not_converged")
  }
  div <- NA_real_
  self_cost <- NULL
  if (divergence) {
    self_cost <- stats::setNames(res$self_cost, c("predicted", "observed"))
    if (!all(res$self_converged)) {
      # One warning per call: the main problem may have warned already.
      if (converged) {
        who <- c("predicted", "observed")[!res$self_converged]
        cli::cli_warn(c(
          paste("Sinkhorn did not converge in {.arg max_iterations} =",
                "{max_iterations} iterations for the self-transport of",
                "{.arg {who}} (debiased divergence)."),
          "i" = "Increase {.arg max_iterations} or {.arg epsilon}."
        ), class = "perturbgim_sinkhorn_not_converged")
      }
      converged <- FALSE
    }
    div <- res$cost - (res$self_cost[1L] + res$self_cost[2L]) / 2
  }
  transport <- res$transport
  if (!is.null(transport)) {
    dimnames(transport) <- list(rownames(predicted), rownames(observed))
  }
  structure(list(
    cost = res$cost,
    transport_cost = res$transport_cost,
    divergence = div,
    transport = transport,
    iterations = res$iterations,
    converged = converged,
    marginal_error = res$marginal_error,
    epsilon = epsilon,
    tolerance = tolerance,
    self_cost = self_cost
  ), class = "perturbgim_sinkhorn")
}

#' @rdname sinkhorn
#' @export
sinkhorn_w2 <- function(predicted, observed, epsilon = 0.1, ...) {
  extra <- intersect(names(list(...)), c("plan", "divergence"))
  if (length(extra)) {
    cli::cli_abort(c(
      "{.fn sinkhorn_w2} computes neither the plan nor the divergence.",
      "i" = "Use {.fn sinkhorn} for {.arg {extra}}."
    ))
  }
  res <- sinkhorn(predicted, observed, epsilon = epsilon, ..., plan = FALSE,
                  divergence = FALSE)
  sqrt(res$cost)
}

#' @export
print.perturbgim_sinkhorn <- function(x, ...) {
  cat("<perturbgim_sinkhorn> entropic OT, epsilon = ", format(x$epsilon),
      "\n", sep = "")
  cat("  cost (OT_eps):   ", format(x$cost, digits = 6), "\n", sep = "")
  cat("  sqrt(cost) (W2): ", format(sqrt(x$cost), digits = 6), "\n", sep = "")
  cat("  transport cost:  ", format(x$transport_cost, digits = 6), "\n",
      sep = "")
  if (!is.na(x$divergence)) {
    cat("  divergence:      ", format(x$divergence, digits = 6), "\n",
        sep = "")
  }
  cat("  ", if (x$converged) "converged" else "NOT converged", " after ",
      x$iterations, " iterations (marginal error ",
      format(x$marginal_error, digits = 3), ", tolerance ",
      format(x$tolerance), ")\n", sep = "")
  if (!is.null(x$transport)) {
    cat("  plan: ", nrow(x$transport), " x ", ncol(x$transport), "\n",
        sep = "")
  }
  invisible(x)
}
