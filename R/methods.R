# The S3 methods of a `gim` fit other than prediction: print, summary, coef,
# logLik, nobs and plot (which draws the ggplot2 views of plot-*.R).

#' Print, summarise and extract a fitted GIM
#'
#' `print()` describes a fit in a few lines; `summary()` adds the most
#' probable edges, the predicted targets of every training context and the
#' end of the training trace. `coef()` returns the fitted parameters,
#' `logLik()` the training log-likelihood and `nobs()` the number of cells.
#'
#' @details
#' The acyclicity shown is the NO-BEARS constraint value \eqn{c(G)} (spectral
#' radius of the relaxed adjacency) at the last recorded training step; it is
#' 0 for an acyclic graph. The edge count is that of [causal_graph()], after
#' any edges were dropped to break cycles (which `print()` reports).
#'
#' `logLik()` returns the training log-likelihood stored in the fit (of all
#' training cells at the point estimate, see [gim_fit()]) with `df` the number
#' of free parameters, so [stats::AIC()] and [stats::BIC()] work; these
#' counts of a heavily over-parameterised neural model are only a rough
#' guide.
#'
#' @param x,object A `gim` object from [gim_fit()] (for `print.summary.gim()`,
#'   a `summary.gim` object).
#' @param n_edges Number of most probable edges `summary()` lists.
#' @param ... Must be empty (ignored by `print()`).
#' @return `print()` returns `x` invisibly. `summary()` returns a
#'   `summary.gim` object: a list with `model` (one-row data frame describing
#'   the fit), `edges` (data frame `from`, `to`, `probability`, `in_graph`, the
#'   `n_edges` most probable edges), `contexts` (one row per training context:
#'   `context`, `n_cells`, `perturbed`, `n_targets`, `targets`, the predicted
#'   targets), `dropped` (edges dropped to break cycles), `trace` (the last
#'   rows of the training trace) and `log_lik`. `coef()` returns a list with
#'   `graph` ([causal_graph()]), `edge_probabilities`
#'   ([edge_probabilities()]), `theta` (mechanism parameters in the layout of
#'   [scm()]) and `phi` (the target and intervention-parameter networks).
#'   `logLik()` returns a `logLik` object, `nobs()` a count.
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
#' fit
#' summary(fit)
#' coef(fit)$graph
#' logLik(fit)
#' nobs(fit)
#' @name gim-methods
NULL

#' @rdname gim-methods
#' @export
print.gim <- function(x, ...) {
  validate_gim(x)
  cat("<gim> Generative intervention model\n")
  cat(model_lines(x), sep = "\n")
  invisible(x)
}

# The description shared by print() and summary().
model_lines <- function(fit) {
  ctx <- fit$contexts
  n_obs_ctx <- if (is.null(ctx)) 0L else sum(!ctx$perturbed)
  obs_names <- if (n_obs_ctx) {
    paste0(": ", truncated_names(ctx$context[!ctx$perturbed]))
  } else ""
  last <- last_trace_row(fit)
  steps <- if (!is.null(last)) last$step else fit$state$step %||% 0L
  training <- sprintf("  training: %s step%s", format(steps), plural_s(steps))
  if (!is.null(last)) {
    training <- paste0(training, sprintf(", final objective %s", signif_text(last$objective)))
    if (is.finite(last$heldout %||% NA)) {
      training <- paste0(training, sprintf(", held-out %s", signif_text(last$heldout)))
    }
  }
  polished <- fit$state$polish
  if (!is.null(polished) && polished$steps > 0L) {
    training <- paste0(training, sprintf("; polished %d step%s, held-out %s", polished$steps,
                                         plural_s(polished$steps), signif_text(final_heldout(fit))))
  }
  if (identical(fit$state$stop_reason, "converged")) {
    training <- paste0(training, sprintf(
      " (stopped early: acyclic, held-out score flat since step %s)",
      format(fit$state$best_step)))
  }
  if (is.data.frame(fit$restarts)) {
    training <- paste0(training, sprintf(", best of %d restarts", nrow(fit$restarts)))
  }
  est <- dag_estimate(fit)
  n_edges <- sum(est$graph)
  graph <- sprintf("  causal graph: %d edge%s", n_edges, plural_s(n_edges))
  if (nrow(est$dropped)) {
    graph <- paste0(graph, sprintf(" (%d dropped to break cycles)", nrow(est$dropped)))
  }
  if ("acyclicity" %in% idle_trace_columns(fit$control)) {
    graph <- paste0(graph, ", acyclic by construction (learnt order of the genes)")
  } else if (!is.null(last) && is.finite(last$acyclicity %||% NA)) {
    graph <- paste0(graph, sprintf("; acyclicity c(G) %s at the last step",
                                   signif_text(last$acyclicity)))
  }
  d <- length(fit$nodes)
  p <- length(fit$feature_names)
  c(
    sprintf("  %s mechanisms, %s interventions", mechanism_label(fit), fit$intervention),
    sprintf("  %d gene%s, %d feature%s", d, plural_s(d), p, plural_s(p)),
    if (!is.null(ctx)) {
      sprintf("  %d context%s (%d observational%s), %s cell%s", nrow(ctx),
              plural_s(nrow(ctx)), n_obs_ctx, obs_names, format(fit$n_obs %||% sum(ctx$n_cells)),
              plural_s(fit$n_obs %||% sum(ctx$n_cells)))
    },
    training,
    graph
  )
}

mechanism_label <- function(fit) {
  h <- if (fit$mechanism != "linear") dim(fit$theta$w1)[1] else NA
  switch(fit$mechanism,
    linear = "linear Gaussian",
    mlp = sprintf("MLP Gaussian (%d hidden tanh unit%s)", h, plural_s(h)),
    zilognormal = sprintf("zero-inflated log-normal MLP (%d hidden tanh unit%s)",
                          h, plural_s(h)),
    fit$mechanism
  )
}

truncated_names <- function(x, max = 3L) {
  shown <- paste0('"', utils::head(x, max), '"', collapse = ", ")
  if (length(x) > max) paste0(shown, sprintf(" and %d more", length(x) - max)) else shown
}

plural_s <- function(n) if (length(n) == 1L && !is.na(n) && n == 1) "" else "s"

signif_text <- function(x) format(signif(x, 4), scientific = abs(x) < 1e-3 && x != 0)

#' @rdname gim-methods
#' @export
summary.gim <- function(object, n_edges = 10, ...) {
  rlang::check_dots_empty()
  validate_gim(object)
  n_edges <- check_count(n_edges, min = 0L)
  est <- dag_estimate(object)
  prob <- edge_probabilities(object)
  off <- which(row(prob) != col(prob))
  top <- utils::head(off[order(-prob[off], off)], n_edges)
  edges <- data.frame(
    from = object$nodes[row(prob)[top]],
    to = object$nodes[col(prob)[top]],
    probability = prob[top],
    in_graph = est$graph[top] == 1L
  )
  structure(list(
    model = model_lines(object),
    edges = edges,
    contexts = context_targets(object),
    dropped = est$dropped,
    trace = if (is.data.frame(object$trace)) utils::tail(object$trace, 5L),
    log_lik = if (!is.null(object$log_likelihood)) logLik.gim(object)
  ), class = "summary.gim")
}

# Predicted targets (probability above 1/2) of every training context.
context_targets <- function(fit) {
  ctx <- fit$contexts
  if (is.null(ctx) || is.null(fit$features)) return(NULL)
  prob <- intervention_targets(fit, fit$features)
  hit <- prob > 0.5
  row <- match(ctx$context, rownames(prob))
  n_targets <- ifelse(is.na(row), 0L, rowSums(hit)[row])
  targets <- vapply(row, function(r) {
    if (is.na(r)) "" else truncated_list(fit$nodes[hit[r, ]])
  }, character(1))
  data.frame(ctx[c("context", "n_cells", "perturbed")],
             n_targets = as.integer(n_targets), targets = targets)
}

truncated_list <- function(x, max = 5L) {
  shown <- paste(utils::head(x, max), collapse = ", ")
  if (length(x) > max) paste0(shown, ", ...") else shown
}

#' @rdname gim-methods
#' @export
print.summary.gim <- function(x, ...) {
  cat("<gim> Generative intervention model\n")
  cat(x$model, sep = "\n")
  if (!is.null(x$log_lik)) {
    cat(sprintf("  log-likelihood: %s (df = %s, nobs = %s)\n", signif_text(unclass(x$log_lik)),
                format(attr(x$log_lik, "df")), format(attr(x$log_lik, "nobs"))))
  }
  if (nrow(x$dropped)) {
    cat("\nEdges dropped to break cycles:\n")
    print(x$dropped, row.names = FALSE, digits = 3)
  }
  cat("\nMost probable edges:\n")
  print(x$edges, row.names = FALSE, digits = 3)
  if (!is.null(x$contexts)) {
    cat("\nPredicted targets of the training contexts:\n")
    shown <- utils::head(x$contexts, 20L)
    print(shown, row.names = FALSE)
    if (nrow(x$contexts) > 20L) {
      cat(sprintf("  ... and %d more contexts\n", nrow(x$contexts) - 20L))
    }
  }
  if (!is.null(x$trace)) {
    cat("\nEnd of the training trace:\n")
    print(x$trace, row.names = FALSE, digits = 4)
  }
  invisible(x)
}

#' @rdname gim-methods
#' @importFrom stats coef
#' @export
coef.gim <- function(object, ...) {
  rlang::check_dots_empty()
  validate_gim(object)
  list(graph = causal_graph(object),
       edge_probabilities = edge_probabilities(object),
       theta = object$theta,
       phi = object$phi)
}

#' @rdname gim-methods
#' @importFrom stats logLik
#' @export
logLik.gim <- function(object, ...) {
  rlang::check_dots_empty()
  validate_gim(object)
  structure(object$log_likelihood, df = object$n_parameters,
            nobs = object$n_obs, class = "logLik")
}

#' @rdname gim-methods
#' @importFrom stats nobs
#' @export
nobs.gim <- function(object, ...) {
  rlang::check_dots_empty()
  validate_gim(object)
  object$n_obs
}

#' Plot a fitted GIM
#'
#' Draws the ggplot2 views of a fit on the current device: the training
#' trace, the edge probabilities, or the target probabilities of the
#' training contexts. These are the plots of [autoplot()][autoplot.gim];
#' use that, or the `plot_*()` functions, to get the ggplot object itself.
#'
#' @details
#' * `"trace"`: [plot_training()], the quantities recorded during training
#'   (objective, held-out score, acyclicity \eqn{c(G)}, ...) against the
#'   training step, one panel each.
#' * `"graph"`: [plot_graph()], a heat map of [edge_probabilities()],
#'   parents in rows (top to bottom) and children in columns; dots mark the
#'   edges with probability above 1/2.
#' * `"targets"`: [plot_targets()], a heat map of [intervention_targets()]
#'   for the training features, contexts in rows and variables in columns;
#'   dots mark the predicted targets (probability above 1/2).
#'
#' @param x A `gim` object from [gim_fit()].
#' @param which One or more of `"trace"`, `"graph"` and `"targets"` (default
#'   `"trace"`); several are drawn one after another, asking before each new
#'   page on an interactive device.
#' @param ... Ignored. (The base-graphics plots of earlier versions took
#'   graphical parameters here; style the ggplot objects instead.)
#' @return `x`, invisibly.
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
#' plot(fit)
#' plot(fit, which = "graph")
#' plot(fit, which = "targets")
#' @export
plot.gim <- function(x, which = c("trace", "graph", "targets"), ...) {
  validate_gim(x)
  if (missing(which)) which <- "trace"
  which <- arg_match_checked(which, c("trace", "graph", "targets"), multiple = TRUE)
  # Checked here, not left to plot_training(), so the error names `x`.
  if ("trace" %in% which && is.null(last_trace_row(x))) {
    cli::cli_abort("{.arg x} has no training trace to plot.")
  }
  if (length(which) > 1L && grDevices::dev.interactive()) {
    old_ask <- grDevices::devAskNewPage(TRUE)
    on.exit(grDevices::devAskNewPage(old_ask), add = TRUE)
  }
  for (w in which) print(autoplot.gim(x, type = w))
  invisible(x)
}
