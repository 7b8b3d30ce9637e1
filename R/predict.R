# Prediction from a fitted GIM (SPEC section 3): features -> intervention
# settings (targets and parameters) -> samples of the fitted causal model
# under those interventions, via the C sampler behind sample_scm().

#' Predict perturbed cell distributions with a fitted GIM
#'
#' For new perturbation features, predicts the intervention (targets and
#' parameters) and samples cells from the fitted causal model under it; or
#' returns the target probabilities, the intervention parameters or the
#' Monte Carlo mean of the samples.
#'
#' @details
#' **Interventions.** For features \eqn{\gamma}, the targets are
#' \eqn{I^*_j = 1[\sigma(g_\phi(\gamma))_j > 1/2]} and the parameters
#' \eqn{\psi^* = h_\phi(\gamma)} (the means of their distribution), as in the
#' paper. With `mixture = TRUE`, every cell instead draws its own targets,
#' \eqn{I_j \sim \mathrm{Bernoulli}(\sigma(g_\phi(\gamma))_j)} independently,
#' so the prediction is a mixture over target sets; the parameters are still
#' \eqn{h_\phi(\gamma)}.
#'
#' **Sampling.** Cells are drawn by ancestral sampling from
#' `scm(causal_graph(object), object$mechanism, object$theta)` with
#' [sample_scm()], under hard or shift interventions as the model was
#' trained; when the point estimate has cycles, [causal_graph()] breaks them
#' with a warning of class `perturbgim_cyclic_graph`. For a `"zilognormal"`
#' model, a shift acts on the log scale of the positive part, as in training:
#' a targeted variable's non-zero values are multiplied by
#' \eqn{\exp(\psi_j)} and zeros stay zero. Randomness comes from R's
#' generator, so `set.seed()` reproduces the samples.
#'
#' **Combinations.** Several perturbations applied together (SPEC section 3)
#' are given as several feature rows with `combine = TRUE`, or as a list of
#' feature matrices, one per combination. A combination targets the union of
#' the targets of its rows. A variable targeted by several rows (target
#' probability above 1/2 in each) under shift interventions gets the sum of
#' their shifts, as the effects of independent perturbations on one gene
#' would add; under hard interventions, which cannot set a gene twice, it
#' takes the parameters of the row most likely to target it (a
#' probability-weighted mean of the rows' parameters would dilute the part
#' that dominates the gene). A variable no row targets (it
#' matters only with `mixture = TRUE`) takes the parameters of the row most
#' likely to target it. The combination's target probability of
#' variable `j` is the probability that at least one row targets it,
#' \eqn{1 - \prod_r (1 - p_{rj})}, which is also what `mixture = TRUE` draws
#' from.
#'
#' **Observational prediction.** With `newdata = NULL` nothing is targeted:
#' the samples come from the fitted observational distribution, in one
#' context labelled `"observational"`.
#'
#' @param object A `gim` object from [gim_fit()].
#' @param newdata Perturbation features: a numeric matrix or data frame with
#'   one row per perturbation and the training feature columns (matched by
#'   name, see [intervention_targets()]), rownames the context labels (default
#'   `"1"`, `"2"`, ...); a numeric vector for one perturbation; a list of such
#'   matrices, each one combination of perturbations, named by its label; or
#'   `NULL` for the observational distribution.
#' @param n Cells to sample per context: one whole number, or one per context.
#'   For `type = "mean"`, the number of cells the mean is taken over; not
#'   used for `"targets"` and `"parameters"`.
#' @param type What to return (see Value): `"samples"`, `"mean"`,
#'   `"targets"` or `"parameters"`.
#' @param mixture Whether each cell draws its own targets from their
#'   probabilities, instead of every cell taking the targets with probability
#'   above 1/2.
#' @param combine Whether all rows of a `newdata` matrix form one combined
#'   perturbation, labelled by their row names joined with `"+"`.
#' @param ... Must be empty.
#' @return One row per context (a row of `newdata`, a combination, or the
#'   observational context), columns the variables:
#' * `"samples"`: a numeric matrix of `sum(n)` cells, the cells of each
#'   context together in the order of the contexts, with attribute `"context"`
#'   (a character vector, each cell's context label);
#' * `"mean"`: a numeric matrix, the mean of `n` sampled cells per context;
#' * `"targets"`: a numeric matrix of target probabilities;
#' * `"parameters"`: a list with `targets` (the 0/1 integer matrix
#'   \eqn{I^*}), `probabilities`, `psi` (a named list of matrices, one per
#'   intervention parameter: `mean`, `log_sd` and for `"zilognormal"`
#'   `zero_logit` for hard interventions, `shift` for shift interventions;
#'   0 where a variable is not targeted, ready for [sample_scm()]) and
#'   `psi_raw` (the same matrices as the networks give them, for every
#'   variable).
#' @seealso [simulate.gim()], [intervention_targets()], [gim_evaluate()] to
#'   compare predictions with observed cells.
#' @family gim
#' @examples
#' set.seed(1)
#' bench <- simulate_gim_benchmark(d = 5, n_perturbations = 4,
#'                                 n_test_perturbations = 2, n_cells = 20,
#'                                 n_observational = 100, n_components = 3)
#' # A short illustrative run (real fits train for 10,000 steps).
#' fit <- gim_fit(bench$train$x, bench$train$context, bench$train$features,
#'                mechanism = "linear",
#'                control = gim_control(steps = 100, n_mc = 4, gim_hidden = 10),
#'                verbose = FALSE)
#' new <- bench$test_fully_ood$features
#' x <- predict(fit, new, n = 100)
#' table(attr(x, "context"))
#' predict(fit, new, n = 200, type = "mean")
#' round(predict(fit, new, type = "targets"), 2)
#' predict(fit, new, type = "parameters")$targets
#'
#' # The first two perturbations together, and the observational distribution.
#' both <- predict(fit, new[1:2, ], n = 100, combine = TRUE)
#' obs <- predict(fit, NULL, n = 100)
#' @importFrom stats predict
#' @export
predict.gim <- function(object, newdata = NULL, n = 1000,
                        type = c("samples", "mean", "targets", "parameters"),
                        mixture = FALSE, combine = FALSE, ...) {
  rlang::check_dots_empty()
  validate_gim(object)
  type <- arg_match_checked(type)
  check_flag(mixture)
  check_flag(combine)
  settings <- intervention_settings(object, newdata, combine)
  switch(type,
    targets = settings$probabilities,
    parameters = settings,
    samples = {
      n <- check_context_counts(n, settings$labels)
      sample_settings(object, settings, n, mixture)
    },
    mean = {
      n <- check_context_counts(n, settings$labels, min = 1L)
      x <- sample_settings(object, settings, n, mixture)
      k <- rep.int(seq_along(n), n)
      m <- rowsum(unclass_samples(x), k, reorder = TRUE) / n
      dimnames(m) <- list(settings$labels, object$nodes)
      m
    }
  )
}

#' Simulate cells from a fitted GIM
#'
#' Draws cells from the fitted observational distribution, or from the
#' predicted distribution of given perturbations: [predict.gim()] with
#' `type = "samples"`, following the conventions of [stats::simulate()].
#'
#' @param object A `gim` object from [gim_fit()].
#' @param nsim Cells per context: one whole number, or one per context.
#' @param seed `NULL`, or an integer passed to [set.seed()] before sampling;
#'   the generator's state is restored afterwards, as in [stats::simulate()].
#' @param features `NULL` for the observational distribution, or perturbation
#'   features as `newdata` of [predict.gim()].
#' @param ... Passed to [predict.gim()]: `mixture`, `combine`.
#' @return A numeric matrix of cells (rows) by variables, with attribute
#'   `"context"` (each cell's context label) as from [predict.gim()], and
#'   attribute `"seed"`: the generator state before sampling, or `seed` with
#'   the generator kinds as attribute `"kind"`.
#' @family gim
#' @examples
#' set.seed(1)
#' bench <- simulate_gim_benchmark(d = 5, n_perturbations = 4,
#'                                 n_test_perturbations = 0, n_cells = 20,
#'                                 n_observational = 100, n_components = 3)
#' # A short illustrative run (real fits train for 10,000 steps).
#' fit <- gim_fit(bench$train$x, bench$train$context, bench$train$features,
#'                mechanism = "linear",
#'                control = gim_control(steps = 100, n_mc = 4, gim_hidden = 10),
#'                verbose = FALSE)
#' x <- simulate(fit, nsim = 200, seed = 42)
#' colMeans(x)
#' identical(x, simulate(fit, nsim = 200, seed = 42))
#' @importFrom stats simulate
#' @export
simulate.gim <- function(object, nsim = 1000, seed = NULL, features = NULL, ...) {
  validate_gim(object)
  # Seed handling as in stats:::simulate.lm, so the result records how to
  # reproduce it and a given seed does not disturb the caller's stream.
  if (!exists(".Random.seed", envir = globalenv(), inherits = FALSE)) {
    stats::runif(1)
  }
  if (is.null(seed)) {
    rng_state <- get(".Random.seed", envir = globalenv())
  } else {
    old <- get(".Random.seed", envir = globalenv())
    on.exit(assign(".Random.seed", old, envir = globalenv()))
    set.seed(seed)
    rng_state <- structure(seed, kind = as.list(RNGkind()))
  }
  x <- predict_samples_for(object, features, nsim, ...)
  attr(x, "seed") <- rng_state
  x
}

# predict(type = "samples") with the count argument named as simulate() has
# it, so its errors say `nsim`.
predict_samples_for <- function(object, features, nsim, mixture = FALSE,
                                combine = FALSE, ..., call = rlang::caller_env()) {
  rlang::check_dots_empty(call = call)
  check_flag(mixture, call = call)
  check_flag(combine, call = call)
  settings <- intervention_settings(object, features, combine, arg = "features",
                                    call = call)
  nsim <- check_context_counts(nsim, settings$labels, arg = "nsim", call = call)
  sample_settings(object, settings, nsim, mixture)
}

# The intervention of every context: labels, target probabilities, targets
# I* (0/1 integer), psi (0 off the targets) and psi_raw (network outputs),
# all K x d. A context is a single feature row or a combination of rows.
intervention_settings <- function(fit, newdata, combine, arg = "newdata",
                                  call = rlang::caller_env()) {
  d <- length(fit$nodes)
  psi_names <- names(fit$phi$psi)
  if (is.null(newdata)) {
    zero <- matrix(0, 1L, d)
    return(finish_settings(fit, "observational", zero, zero,
                           lapply(fit$phi$psi, function(net) zero)))
  }
  if (is.list(newdata) && !is.data.frame(newdata)) {
    if (!length(newdata)) {
      cli::cli_abort("{.arg {arg}} must not be an empty list.", call = call)
    }
    labels <- names(newdata)
    if (is.null(labels)) labels <- rep("", length(newdata))
    labels[labels == ""] <- paste0("combination", which(labels == ""))
    groups <- lapply(seq_along(newdata), function(i) {
      elt <- paste0(arg, "[[", i, "]]")
      z <- standardise_features(fit, newdata[[i]], elt, call = call)
      check_some_rows(z, elt, call)
      combine_rows(fit, z)
    })
  } else {
    z <- standardise_features(fit, newdata, arg, call = call)
    check_some_rows(z, arg, call)
    rows <- rownames(z) %||% as.character(seq_len(nrow(z)))
    if (combine) {
      labels <- paste(rows, collapse = "+")
      groups <- list(combine_rows(fit, z))
    } else {
      # Every row is its own context: the nets run once over all rows.
      prob <- target_probabilities(fit, z)
      return(finish_settings(fit, rows, prob, (prob > 0.5) * 1L,
                             lapply(fit$phi$psi, mlp_forward, input = z)))
    }
  }
  stack <- function(get) do.call(rbind, lapply(groups, get))
  finish_settings(
    fit, labels,
    prob = stack(function(g) g$probabilities),
    targets = stack(function(g) g$targets),
    psi_raw = lapply(stats::setNames(nm = psi_names),
                     function(nm) stack(function(g) g$psi[[nm]]))
  )
}

# The settings list from K x d matrices: dimnames set, psi zeroed off the
# targets.
finish_settings <- function(fit, labels, prob, targets, psi_raw) {
  dn <- list(labels, fit$nodes)
  dimnames(prob) <- dn
  targets <- matrix(as.integer(targets), length(labels), length(fit$nodes),
                    dimnames = dn)
  psi_raw <- lapply(psi_raw, function(m) {
    matrix(as.double(m), length(labels), length(fit$nodes), dimnames = dn)
  })
  list(
    labels = labels,
    targets = targets,
    probabilities = prob,
    psi = lapply(psi_raw, function(m) {
      m[targets == 0L] <- 0
      m
    }),
    psi_raw = psi_raw
  )
}

check_some_rows <- function(z, arg, call) {
  if (nrow(z) < 1L) {
    cli::cli_abort("{.arg {arg}} must have at least one row (perturbation).",
                   call = call)
  }
}

# One context from the standardised feature rows applied together: the union
# of their targets, the probability that at least one row targets each
# variable, and each variable's parameters from combined_psi(). For one row
# this is that row's prediction.
combine_rows <- function(fit, z) {
  prob <- target_probabilities(fit, z)
  psi <- lapply(fit$phi$psi, mlp_forward, input = z)
  list(
    probabilities = if (nrow(prob) == 1L) prob[1L, ] else -expm1(colSums(log1p(-prob))),
    targets = as.integer(colSums(prob > 0.5) > 0),
    psi = lapply(psi, combined_psi, prob = prob, intervention = fit$intervention)
  )
}

# Parameters of a variable in a combination. Shift interventions: the sum
# of the shifts of the rows that target it (probability above 1/2), as
# effects of independent perturbations add. Hard interventions, and a
# variable no row targets (used only when mixture sampling draws it
# targeted): the row most likely to target it. The probability-weighted mean
# of the rows' hard parameters was tried and predicted the Norman
# combinations worse: it halves the effect of the part that dominates a gene.
combined_psi <- function(psi, prob, intervention) {
  best <- max.col(t(prob), ties.method = "first")
  out <- psi[cbind(best, seq_len(ncol(prob)))]
  if (intervention == "shift") {
    on <- prob > 0.5
    targeted <- colSums(on) > 0L
    out[targeted] <- colSums(ifelse(on, psi, 0))[targeted]
  }
  out
}

# Cells per context: one count or one per context, whole numbers >= min.
check_context_counts <- function(n, labels, min = 0L, arg = "n",
                                 call = rlang::caller_env()) {
  K <- length(labels)
  ok <- is.numeric(n) && length(n) >= 1L && !anyNA(n) && all(is.finite(n)) &&
    all(n >= min) && all(n == round(n)) && length(n) %in% c(1L, K)
  if (!ok) {
    per <- if (K > 1L) ", or {K} of them (one per context)" else ""
    given <- if (!is.numeric(n) || length(n) <= 1L) {
      "{describe_value(n)}"
    } else if (!length(n) %in% c(1L, K)) {
      "{length(n)} numbers"
    } else {
      bad <- n[!is.finite(n) | n < min | n != round(n)]
      "numbers including {.val {bad}}"
    }
    cli::cli_abort(paste0("{.arg {arg}} must be a whole number >= {min}", per,
                          ", not ", given, "."), call = call)
  }
  n <- rep_len(n, K)
  if (sum(n) > .Machine$integer.max) {
    cli::cli_abort("{.arg {arg}} asks for {sum(n)} cells, more than fit in one matrix.",
                   call = call)
  }
  as.integer(n)
}

# Samples for every context, n[k] cells each, in context order; attribute
# "context" holds the labels.
sample_settings <- function(fit, settings, n, mixture) {
  model <- scm(causal_graph(fit), fit$mechanism, fit$theta)
  K <- length(settings$labels)
  if (mixture && sum(n) > 0L) {
    cell_context <- rep.int(seq_len(K), n)
    N <- length(cell_context)
    d <- length(fit$nodes)
    draws <- matrix(stats::runif(N * d), N, d) <
      settings$probabilities[cell_context, , drop = FALSE]
    # Cells of one context that drew the same targets share a setting, so the
    # sampler runs once over all settings however many cells there are.
    key <- target_pattern_key(cell_context, draws)
    first <- match(unique(key), key)
    group <- match(key, key[first])
    targets <- matrix(as.integer(draws[first, , drop = FALSE]), length(first), d)
    psi <- lapply(settings$psi_raw, function(m) {
      m <- m[cell_context[first], , drop = FALSE]
      m[targets == 0L] <- 0
      m
    })
    x <- sample_interventions(fit, model, targets, psi, tabulate(group, length(first)))
    # Back to the order of the cells, context by context.
    x <- x[order(order(group, seq_len(N))), , drop = FALSE]
  } else {
    x <- sample_interventions(fit, model, settings$targets, settings$psi, n)
  }
  attr(x, "context") <- rep.int(settings$labels, n)
  x
}

# One key per cell for its context and drawn target pattern; the pattern is
# packed 30 variables per number, so the keys stay short for wide models.
target_pattern_key <- function(cell_context, draws) {
  d <- ncol(draws)
  chunks <- split(seq_len(d), (seq_len(d) - 1L) %/% 30L)
  codes <- lapply(chunks, function(j) {
    drop(draws[, j, drop = FALSE] %*% 2^(seq_along(j) - 1L))
  })
  do.call(paste, c(list(cell_context), codes, sep = ":"))
}

# sample_scm() for K settings (targets K x d, psi list of K x d) with n[k]
# cells each, stacked in order, without sample_scm()'s integer context.
sample_interventions <- function(fit, model, targets, psi, n) {
  x <- sample_scm(model, n, targets = targets, psi = psi,
                  intervention = fit$intervention)
  attr(x, "context") <- NULL
  unstandardise_cells(x, fit$x_scaling)
}

unclass_samples <- function(x) {
  attr(x, "context") <- NULL
  x
}
