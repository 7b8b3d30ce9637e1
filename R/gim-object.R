# The `gim` fit object: a plain S3 list of base vectors and matrices (no
# external pointers, so it survives saveRDS() and parallel workers). Its
# constructor new_gim() (called by gim_fit()), its validator validate_gim()
# (called by every function that takes a fit), the version of its layout
# and the small accessors that read it.

# Version of the `gim` object's layout. Bump it when fields that resuming or
# prediction rely on change, and teach check_init()/validate_gim() to read
# (or refuse with advice) the older layouts.
gim_format_version <- 1L

# The fit from the training state of train_chunks() and the design of
# training_design(): parameters unflattened into their named parts, the
# training log-likelihood at the point estimate, and everything resuming
# (gim_fit(init = )) needs.
new_gim <- function(state, design, blocks, settings, control, mechanism, intervention,
                    nodes, call) {
  parts <- unflatten_parameters(state$par, blocks, nodes)
  ll <- (training_point_loglik(design, state$par, settings) - design$log_jacobian) *
    design$n_train
  structure(list(
    mechanism = mechanism, intervention = intervention, nodes = nodes,
    feature_names = colnames(design$features),
    graph_latent = parts$graph_latent,
    alpha = settings$alpha,
    theta = parts$theta, phi = parts$phi,
    feature_center = design$center, feature_scale = design$scale,
    x_scaling = design$scaling,
    features = design$features, contexts = design$contexts,
    control = control, trace = state$trace %||% data.frame(),
    state = list(par = state$par, adam_m = state$m, adam_v = state$v, step = state$step,
                 lambda = state$lambda, mu = state$mu, seed = state$seed,
                 heldout = state$heldout, interrupted = isTRUE(state$interrupted),
                 best_heldout = state$best_heldout, best_step = state$best_step,
                 stop_reason = state$stop_reason %||% "unfinished", polish = state$polish,
                 trained_par = state$trained_par,
                 heldout_cells = design$heldout_cells, n_cells = design$n_cells),
    format_version = gim_format_version,
    n_obs = design$n_train, log_likelihood = ll, n_parameters = length(state$par),
    version = as.character(utils::packageVersion("perturbgim")), call = call
  ), class = "gim")
}

# Trace columns that say nothing under a fit's settings, left out of
# print() and plot_training(): with a learnt gene order every graph sample
# is a DAG, so the relaxed samples' c(G), the augmented Lagrangian and
# `cyclic` are idle; under the expected estimator every sample weighs
# 1 / n_mc, so `ess` is n_mc.
idle_trace_columns <- function(control) {
  order <- control_setting(control, "acyclicity") == "order"
  expected <- control_setting(control, "mc_estimator") == "expected"
  c(if (order) c("acyclicity", "lambda", "mu", "cyclic"), if (expected) "ess")
}

# A `gim` fit with the parts the methods read. gim_fit() builds complete
# objects; this catches other objects and lists damaged by hand.
validate_gim <- function(fit, arg = rlang::caller_arg(fit),
                         call = rlang::caller_env()) {
  if (!inherits(fit, "gim") || !is.list(fit)) {
    cli::cli_abort("{.arg {arg}} must be a {.cls gim} fit from {.fn gim_fit}, not {.obj_type_friendly {fit}}.",
                   call = call)
  }
  needed <- c("mechanism", "intervention", "nodes", "feature_names",
              "graph_latent", "alpha", "theta", "phi", "feature_center",
              "feature_scale")
  missing <- needed[!needed %in% names(fit) |
                      vapply(needed, function(nm) is.null(fit[[nm]]), logical(1))]
  if (length(missing)) {
    cli::cli_abort(c("{.arg {arg}} is not a complete {.cls gim} fit.",
                     "x" = "It lacks {.field {missing}}."), call = call)
  }
  if (!is.character(fit$mechanism) || length(fit$mechanism) != 1L ||
      !fit$mechanism %in% engine_codes$mechanism ||
      !is.character(fit$intervention) || length(fit$intervention) != 1L ||
      !fit$intervention %in% engine_codes$intervention) {
    cli::cli_abort("{.arg {arg}} has an unknown mechanism or intervention (it was modified or is damaged).",
                   call = call)
  }
  d <- length(fit$nodes)
  lat <- fit$graph_latent
  if (!is.matrix(lat$u) || !is.matrix(lat$v) || nrow(lat$u) != d ||
      !identical(dim(lat$u), dim(lat$v)) || !is.numeric(lat$u) || !is.numeric(lat$v) ||
      any(!is.finite(lat$u)) || any(!is.finite(lat$v))) {
    cli::cli_abort("{.arg {arg}$graph_latent} must hold two {d} x k matrices {.field u} and {.field v} of finite numbers.",
                   call = call)
  }
  if (!is.null(lat$order) && (!is.numeric(lat$order) || length(lat$order) != d ||
                               any(!is.finite(lat$order)))) {
    cli::cli_abort("{.arg {arg}$graph_latent$order} must hold {d} finite node potentials.",
                   call = call)
  }
  if (!is.numeric(fit$alpha) || length(fit$alpha) != 1L ||
      !is.finite(fit$alpha) || fit$alpha <= 0) {
    cli::cli_abort("{.arg {arg}$alpha} must be a single positive number.",
                   call = call)
  }
  invisible(fit)
}

# The last row of the training trace as a list, or NULL before any chunk was
# recorded (or when the trace was removed).
last_trace_row <- function(fit) {
  tr <- fit$trace
  if (!is.data.frame(tr) || !nrow(tr)) return(NULL)
  as.list(tr[nrow(tr), , drop = FALSE])
}

# The fit's final held-out log-likelihood per cell: after polishing, if it
# ran, else at the last training check (NULL without a trace).
final_heldout <- function(fit) {
  polished <- fit$state$polish
  if (!is.null(polished) && polished$steps > 0L) return(polished$heldout[["after"]])
  last_trace_row(fit)$heldout
}
