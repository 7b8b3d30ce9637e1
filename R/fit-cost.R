# estimate_fit_cost(): the peak memory and time per step of gim_fit() from
# the sizes of a fit, and the check gim_fit() makes with it before training
# (fit-cost-check.R). The shape of the model is read off the engine; its
# time constants are fitted by bench/cost_model.R.

#' Estimate the memory and time a fit needs
#'
#' Predicts the peak memory and the time per training step of [gim_fit()]
#' from the sizes of the problem, without allocating anything. `gim_fit()`
#' makes the same estimate before it trains and refuses to start a fit that
#' would not fit in memory (see `memory_limit` in [gim_control()]).
#'
#' @details
#' Give either the data, as to [gim_fit()] (`x`, `context`, `features`;
#' only their sizes are read), or the sizes: `n_genes`, `n_cells` and
#' `n_contexts`, with `n_perturbed` (default: all contexts but one) and
#' `n_features` (default: one indicator per perturbed context, the default
#' features of [gim_fit.SingleCellExperiment()] and [gim_fit.Seurat()]).
#' For a `SingleCellExperiment` or `Seurat` object, `n_genes` is the number
#' of genes the fit models (its `genes =`).
#'
#' **Memory** grows with `n_mc * n_genes^2` (every Monte Carlo graph sample
#' is a dense genes x genes matrix, and the engine holds several per sample),
#' with `n_mc * n_contexts * n_genes` (target and intervention samples per
#' context), with the cells of a step times the genes (the training cells, or
#' one minibatch with `gim_control(minibatch = )`) and with the parameters
#' (`mechanism_hidden * n_genes^2` for MLP mechanisms). The count follows
#' the engine's buffers; the input data, which exists before the fit, is not
#' counted.
#'
#' **Time** per step grows with `n_mc * n_genes^2` times the cells of a
#' step plus a share per context (in the first steps every Monte Carlo
#' sample has parent sets of its own, of about `n_genes / 2` parents, each
#' evaluated over the cells; times `mechanism_hidden` for MLP mechanisms),
#' with `n_genes^2` times the cells (the backward pass; times `n_mc` with
#' `mc_estimator = "expected"`, which back-propagates every sample), with
#' `n_mc * n_genes^2` (graph samples and the acyclicity penalty) and with
#' `n_genes^3` (edge scores from the latent graph, whose rank defaults to
#' the number of genes).
#' The constants were fitted to one-thread measurements of the first steps
#' of fits (`bench/cost_model.R`), which are the dearest: parent sets repeat
#' more as training goes on, and `stop_patience` can end a fit early, so the
#' time of a whole fit is an upper bound. More threads (`n_threads`) divide
#' the cell and graph terms by up to their number. A different machine
#' scales the time by a constant factor.
#'
#' @param x `NULL` (give the sizes instead) or the expression matrix of
#'   [gim_fit()], cells in rows.
#' @param context,features As for [gim_fit()] (when `x` is given).
#' @param mechanism,intervention As for [gim_fit()].
#' @param control A [gim_control()] list: Monte Carlo samples, hidden
#'   sizes, minibatches, steps and the held-out cells count.
#' @param n_genes,n_cells,n_contexts Genes modelled, cells (all of them,
#'   held-out ones included) and distinct contexts.
#' @param n_perturbed,n_features Perturbed contexts and perturbation
#'   features.
#' @return A `gim_fit_cost` object: a list with `memory` (peak bytes),
#'   `seconds_per_step`, `seconds` (all `steps`), `steps`, `cells_per_step`,
#'   `parts` (memory in bytes and seconds per step by term) and `dims`.
#' @family gim
#' @examples
#' # A 2,000-gene screen: the graph samples alone need tens of GiB.
#' estimate_fit_cost(n_genes = 2000, n_cells = 20000, n_contexts = 101)
#' # The same cells, 50 marker genes and minibatches of 2,000 cells.
#' estimate_fit_cost(n_genes = 50, n_cells = 20000, n_contexts = 101,
#'                   control = gim_control(minibatch = 2000))
#' @export
estimate_fit_cost <- function(x = NULL, context = NULL, features = NULL,
                              mechanism = c("mlp", "linear", "zilognormal"),
                              intervention = c("hard", "shift"),
                              control = gim_control(),
                              n_genes = NULL, n_cells = NULL, n_contexts = NULL,
                              n_perturbed = NULL, n_features = NULL) {
  mechanism <- arg_match_checked(mechanism)
  intervention <- arg_match_checked(intervention)
  if (!inherits(control, "gim_control")) {
    cli::cli_abort("{.arg control} must be made by {.fn gim_control}, not {.obj_type_friendly {control}}.")
  }
  sizes <- list(n_genes = n_genes, n_cells = n_cells, n_contexts = n_contexts,
                n_perturbed = n_perturbed, n_features = n_features)
  given <- names(sizes)[!vapply(sizes, is.null, logical(1))]
  if (!is.null(x)) {
    if (length(given)) {
      cli::cli_abort("Give {.arg x} or the sizes ({.arg {given}}), not both.")
    }
    if (length(dim(x)) != 2L) {
      cli::cli_abort("{.arg x} must be a matrix of cells (rows) by genes, not {.obj_type_friendly {x}}.")
    }
    context <- check_context(context, nrow(x))
    sizes <- fit_sizes(x, context, check_features(features, context))
  } else {
    for (nm in c("n_genes", "n_cells", "n_contexts")) {
      if (is.null(sizes[[nm]])) {
        cli::cli_abort("Give {.arg x}, {.arg context} and {.arg features}, or the sizes: {.arg {nm}} is missing.")
      }
      sizes[[nm]] <- check_count(sizes[[nm]], nm)
    }
    sizes$n_perturbed <- check_count(sizes$n_perturbed %||% (sizes$n_contexts - 1L),
                                     "n_perturbed", min = 0L)
    if (sizes$n_perturbed > sizes$n_contexts) {
      cli::cli_abort("{.arg n_perturbed} must be at most {.arg n_contexts} ({sizes$n_contexts}), not {sizes$n_perturbed}.")
    }
    sizes$n_features <- check_count(sizes$n_features %||% max(1L, sizes$n_perturbed),
                                    "n_features")
  }
  fit_cost(fit_dims(sizes, mechanism, intervention, control))
}

# What the model reads: the sizes of a fit and its settings. `n_heldout`
# and `steps_done` come from a fit being resumed (gim_fit(init = )).
fit_dims <- function(sizes, mechanism, intervention, control, n_heldout = NULL,
                     steps_done = 0L) {
  d <- as.double(sizes$n_genes)
  n_heldout <- n_heldout %||% heldout_count(sizes$n_cells, control$holdout)
  n_train <- sizes$n_cells - n_heldout
  minibatch <- control$minibatch
  # A minibatch takes at least one cell of every context.
  per_step <- if (!is.null(minibatch) && minibatch < n_train) {
    min(n_train, max(minibatch, sizes$n_contexts))
  } else {
    n_train
  }
  list(n_genes = d, n_cells = as.double(sizes$n_cells), n_train = as.double(n_train),
       n_heldout = as.double(n_heldout), cells_per_step = as.double(per_step),
       minibatch = per_step < n_train,
       n_contexts = as.double(sizes$n_contexts), n_perturbed = as.double(sizes$n_perturbed),
       n_features = as.double(sizes$n_features), mechanism = mechanism,
       intervention = intervention, n_mc = as.double(control$n_mc),
       hidden = as.double(control$mechanism_hidden), gim_hidden = control$gim_hidden,
       latent_dim = as.double(control$latent_dim %||% d),
       power_iterations = as.double(control$power_iterations),
       check_every = as.double(control$check_every),
       graph_gradient = control$graph_gradient,
       mc_estimator = control_setting(control, "mc_estimator"),
       standardise = isTRUE(control$standardise) && mechanism != "zilognormal",
       steps = max(0, control$steps - steps_done))
}

# The constants of the model, fitted by bench/cost_model.R to one-thread
# measurements of the first steps of fits of 20 to 300 genes: `time` in
# seconds per unit of each time term of fit_cost_terms(), `memory` the
# number of each memory term alive at the peak (bytes for `fixed`). Terms
# too small to show at those sizes got 0 (the fit drops a term whose
# constant comes out negative); the cells, their float copy and the
# parameters are counted, not fitted.
fit_cost_constants <- list(
  time = c(step = 0, latent = 8e-09, graph = 7.69e-08, power = 0,
           forward_linear = 6.8e-11, forward_parents = 6.73e-11, forward_units = 1.37e-11,
           forward_zilognormal = 3.08e-09, forward_contexts = 6.17e-10,
           backward = 6.06e-11, backward_contexts = 2.52e-08,
           contexts = 0, parameters = 0, nets = 0),
  memory = c(graph = 8.57, contexts = 1.13, fixed = 7980000, float_cells = 1,
             cells = 1, parameters = 1)
)

# The model's terms: `time` in the units of fit_cost_constants (operation
# counts up to a constant), `memory` in bytes. Derived from the engine's
# buffers and loops (src/gim_objective.c, src/gim_likelihood.c,
# src/gim_call.c); the comments say where each comes from.
fit_cost_terms <- function(dims) {
  d <- dims$n_genes
  M <- dims$n_mc
  K <- dims$n_contexts
  Kp <- dims$n_perturbed
  n <- dims$cells_per_step
  mlp <- dims$mechanism != "linear"
  n_psi <- length(psi_parameter_names(dims$mechanism, dims$intervention))
  net_sizes <- c(dims$n_features, dims$gim_hidden, d)
  n_par <- engine_length(engine_blocks(dims$mechanism, dims$intervention, d,
                                       dims$latent_dim, dims$hidden, net_sizes))
  # Hidden units per mechanism: the work per cell, parent and parent set.
  h <- if (mlp) dims$hidden else 1
  # In the first steps nearly every Monte Carlo sample has parent sets of
  # its own (later they repeat and steps get cheaper), each evaluated over
  # the cells of the step: n_mc x d parent sets of about d / 2 parents.
  # Relaxed graph gradients run a second such pass on the relaxed samples.
  relaxed <- dims$graph_gradient == "relaxed"
  passes <- if (relaxed) 2 else 1
  backward_samples <- if (identical(dims$mc_estimator, "expected")) M else 1
  # Every check_every steps the held-out check evaluates the objective once
  # more, on the held-out cells.
  per_step <- 1 + 1 / dims$check_every
  n_cells <- n + dims$n_heldout / dims$check_every
  forward <- passes * n_cells * d^2 * M
  time <- c(
    step = 1,
    # Edge scores u_i . v_j and their gradient: d x d x latent rank.
    latent = per_step * d^2 * dims$latent_dim,
    # Graph samples (noise, relaxation) and the gradient to the logits...
    graph = per_step * M * d^2,
    # ... and the power iterations of the acyclicity penalty on each sample.
    power = per_step * M * d^2 * dims$power_iterations,
    # Forward passes of the parent sets over the cells: per parent (linear),
    # or per parent and hidden unit with a cost per parent besides (MLPs,
    # screened in single precision first) ...
    forward_linear = if (!mlp) forward else 0,
    forward_parents = if (mlp) forward else 0,
    forward_units = if (mlp) forward * dims$hidden else 0,
    # ... and zero-inflated genes take a logarithm per cell and parent set.
    forward_zilognormal = if (dims$mechanism == "zilognormal") forward / d else 0,
    # Each parent set also costs a little per context whatever its cells
    # (blocks of cells start per context, vector tiles are padded).
    forward_contexts = passes * M * d^2 * h * K,
    # The backward pass of the samples that carry the weight (about one
    # under the marginal estimator; all n_mc under the expected one), which
    # forms d J / d g_ij for every gene i, parent or not...
    backward = n_cells * d^2 * h * backward_samples,
    # ... and contracts it with the weights per context.
    backward_contexts = d^2 * h * K * backward_samples,
    # Target and intervention samples and their log-densities per context.
    contexts = per_step * M * K * d,
    # Adam and the priors.
    parameters = n_par,
    # The perturbation nets, forward and backward, over the perturbed contexts.
    nets = per_step * Kp * (1 + n_psi) * sum(utils::head(net_sizes, -1) * net_sizes[-1])
  )
  # Bytes of one evaluation of the objective besides its M x d x d arrays:
  # target and psi samples (objective), and per pass the residual sums, the
  # backward weights (4 per context), the intervened log-densities and, for
  # hard interventions, their precisions (per perturbed context).
  per_context <- 8 * M * d * ((1 + n_psi) * Kp +
                                passes * (4 * K + Kp + (dims$intervention == "hard") * Kp))
  memory <- c(
    # One M x d x d array of doubles. A training step holds four (discrete
    # and relaxed graph samples, their gradient, the acyclicity gradient);
    # the held-out check between chunks makes four more and returns two to
    # R; R frees a .Call's scratch only at a later garbage collection.
    # fit_cost_constants$memory says how many are alive at the peak.
    graph = 8 * M * d^2,
    # The per-context arrays of one evaluation (as many alive: the constant).
    contexts = per_context,
    # MLP mechanisms screen samples in single precision on a float copy of
    # the cells of the step.
    float_cells = if (mlp) 4 * n * d else 0,
    # The training cells as a dense matrix sorted by context (a minibatch:
    # this chunk's and the last one's until R collects it); standardising
    # makes one more copy on the way.
    cells = 8 * n * d * (1 + dims$minibatch + dims$standardise),
    # Parameters, Adam's two moments and the gradient, in R and in C, old
    # and new around a chunk.
    parameters = 8 * 8 * n_par,
    # R's own growth during a fit (progress bar, trace, garbage).
    fixed = 1
  )
  list(time = time, memory = memory)
}

fit_cost <- function(dims) {
  terms <- fit_cost_terms(dims)
  seconds <- terms$time * fit_cost_constants$time[names(terms$time)]
  bytes <- terms$memory * fit_cost_constants$memory[names(terms$memory)]
  per_step <- sum(seconds)
  structure(list(memory = sum(bytes), seconds_per_step = per_step,
                 seconds = per_step * dims$steps, steps = dims$steps,
                 cells_per_step = dims$cells_per_step,
                 parts = list(memory = bytes, seconds_per_step = seconds),
                 dims = dims),
            class = "gim_fit_cost")
}

#' @export
print.gim_fit_cost <- function(x, ...) {
  d <- x$dims
  cat("<gim_fit_cost>\n")
  cat(sprintf("  %s genes, %s training cells%s, %s contexts (%s perturbed)\n",
              big_count(d$n_genes), big_count(d$n_train),
              if (d$minibatch)
                sprintf(" (minibatches of %s)", big_count(x$cells_per_step)) else "",
              big_count(d$n_contexts), big_count(d$n_perturbed)))
  cat(sprintf("  %s mechanisms, %s interventions, n_mc = %s\n", d$mechanism,
              d$intervention, big_count(d$n_mc)))
  mem <- x$parts$memory
  cat(sprintf("  Peak memory: %s (graph samples %s, per context %s, cells %s, parameters %s)\n",
              format_bytes(x$memory), format_bytes(mem[["graph"]]),
              format_bytes(mem[["contexts"]]),
              format_bytes(mem[["cells"]] + mem[["float_cells"]]),
              format_bytes(mem[["parameters"]])))
  cat(sprintf("  Time: %s s per step, %s for %s steps (one thread, at most)\n",
              format(signif(x$seconds_per_step, 2)), format_duration(x$seconds),
              big_count(x$steps)))
  invisible(x)
}

big_count <- function(n) format(n, big.mark = ",", scientific = FALSE, trim = TRUE)

format_bytes <- function(bytes) {
  if (!is.finite(bytes)) return(format(bytes))
  units <- c("bytes", "KiB", "MiB", "GiB", "TiB")
  e <- min(length(units) - 1, max(0, floor(log(max(bytes, 1), 1024))))
  paste(format(signif(bytes / 1024^e, 3)), units[e + 1])
}

format_duration <- function(seconds) {
  if (seconds < 60) return(sprintf("%.0f s", seconds))
  if (seconds < 3600) return(sprintf("%.0f min", seconds / 60))
  if (seconds < 2 * 86400) return(sprintf("%.1f hours", seconds / 3600))
  sprintf("%.1f days", seconds / 86400)
}
