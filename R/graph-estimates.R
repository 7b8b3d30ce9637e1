# What a fitted GIM says about the causal graph and the intervention targets:
# edge probabilities, the point-estimate DAG G* and target probabilities for
# given perturbation features. Also the feature standardisation that
# predict() shares.

#' Edge probabilities and point-estimate graph of a fitted GIM
#'
#' `edge_probabilities()` gives the learned probability of every edge;
#' `causal_graph()` the point estimate of the causal graph, a directed acyclic
#' graph.
#'
#' @details
#' The graph distribution of a GIM has latent factors `U`, `V` (`d x k`) and
#' the inverse temperature `alpha` reached at the end of training; the edge
#' `i -> j` has probability \eqn{\sigma(\alpha\, u_i^\top v_j)} (SPEC section
#' 1), and self-loops have probability 0.
#'
#' The point estimate is \eqn{G^* = 1[u_i^\top v_j > 0]} (the edges with
#' probability above 1/2). Training pushes the graph towards acyclicity but
#' does not guarantee it; when \eqn{G^*} has directed cycles,
#' `causal_graph()` repeatedly finds a cycle (by depth-first search in the
#' order of the variables) and drops its least probable edge, until the graph
#' is acyclic, and warns with class `perturbgim_cyclic_graph` (the dropped
#' edges are in the warning's `dropped` field). Edges are ranked by their score
#' \eqn{u_i^\top v_j} rather than by the probability, which rounds to 1 for
#' large `alpha`; remaining ties go to the edge found first. The result is
#' deterministic.
#'
#' @param fit A `gim` object from [gim_fit()].
#' @return `edge_probabilities()`: a numeric `d x d` matrix, entry `[i, j]`
#'   the probability of the edge `i -> j`, dimnames the variables.
#'   `causal_graph()`: an integer 0/1 `d x d` adjacency matrix of a directed
#'   acyclic graph (`[i, j] = 1` for an edge `i -> j`), dimnames the
#'   variables; pass it to [sid()], [edge_f1()] or [scm()].
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
#' round(edge_probabilities(fit), 2)
#' causal_graph(fit)
#' @export
edge_probabilities <- function(fit) {
  validate_gim(fit)
  lat <- fit$graph_latent
  prob <- stats::plogis(fit$alpha * latent_products(lat, fit$nodes))
  if (!is.null(lat$order)) prob <- prob * stats::plogis(fit$alpha * order_gaps(lat$order))
  diag(prob) <- 0
  prob
}

#' @rdname edge_probabilities
#' @export
causal_graph <- function(fit) {
  validate_gim(fit)
  est <- dag_estimate(fit)
  n <- nrow(est$dropped)
  if (n > 0L) {
    shown <- utils::head(paste(est$dropped$from, "->", est$dropped$to), 5L)
    cli::cli_warn(c(
      paste("The point estimate of the causal graph has directed cycles;",
            "dropped {n} edge{?s}, the least probable on each cycle."),
      "i" = "Dropped: {shown}{if (n > 5L) ', ...' else ''}."
    ), class = "perturbgim_cyclic_graph", dropped = est$dropped)
  }
  est$graph
}

# u v^T with the variables as dimnames.
latent_products <- function(lat, nodes = NULL) {
  s <- lat$u %*% t(lat$v)
  if (!is.null(nodes)) dimnames(s) <- list(nodes, nodes)
  s
}

# p_j - p_i for node potentials p: positive when i comes before j.
order_gaps <- function(order) outer(-order, order, `+`)

# The score whose sign is G* (their callers handle the diagonal): u_i . v_j,
# or with node potentials the smaller of it and the order gap, so that an
# edge must also follow the order (and G* is a DAG).
edge_scores <- function(fit) latent_edge_scores(fit$graph_latent, fit$nodes)

latent_edge_scores <- function(lat, nodes = NULL) {
  s <- latent_products(lat, nodes)
  if (!is.null(lat$order)) s <- pmin(s, order_gaps(lat$order))
  s
}

# G* before any cycle is broken (integer 0/1, dimnames the variables).
causal_graph_raw <- function(fit) {
  s <- edge_scores(fit)
  diag(s) <- -Inf
  matrix(as.integer(s > 0), nrow(s), ncol(s), dimnames = dimnames(s))
}

# G* with its cycles broken, and the edges dropped to break them (a data
# frame: from, to, probability). Silent, for print() and summary().
dag_estimate <- function(fit) {
  s <- edge_scores(fit)
  diag(s) <- -Inf
  g <- causal_graph_raw(fit)
  dropped <- integer(0)
  while (!is.null(cycle <- find_cycle(g))) {
    to <- c(cycle[-1L], cycle[1L])
    idx <- cycle + (to - 1L) * nrow(g)
    weakest <- idx[which.min(s[idx])]
    g[weakest] <- 0L
    dropped <- c(dropped, weakest)
  }
  from <- (dropped - 1L) %% nrow(g) + 1L
  to <- (dropped - 1L) %/% nrow(g) + 1L
  list(graph = g,
       dropped = data.frame(from = fit$nodes[from], to = fit$nodes[to],
                            probability = stats::plogis(fit$alpha * s[dropped])))
}

#' Intervention target probabilities of a fitted GIM
#'
#' For each perturbation (a row of features), the probability that the
#' perturbation targets each variable, \eqn{P(I_j = 1 \mid \gamma) =
#' \sigma(g_\phi(\gamma))_j}.
#'
#' @details
#' Features are standardised with the centres and scales of the training
#' features before they enter the targets network \eqn{g_\phi}, as in
#' training. The predicted targets used by [predict.gim()] are the variables
#' with probability above 1/2.
#'
#' @param fit A `gim` object from [gim_fit()].
#' @param features Perturbation features, one row per perturbation: a numeric
#'   matrix or data frame with the columns of the training features (matched
#'   by name when it has column names, otherwise taken in the training order),
#'   or a numeric vector for one perturbation. Missing: the training features.
#' @return A numeric matrix with one row per row of `features` (rownames kept)
#'   and one column per variable: target probabilities in `[0, 1]`.
#' @family gim
#' @examples
#' set.seed(1)
#' bench <- simulate_gim_benchmark(d = 5, n_perturbations = 4,
#'                                 n_test_perturbations = 1, n_cells = 20,
#'                                 n_observational = 100, n_components = 3)
#' # A short illustrative run (real fits train for 10,000 steps).
#' fit <- gim_fit(bench$train$x, bench$train$context, bench$train$features,
#'                mechanism = "linear",
#'                control = gim_control(steps = 100, n_mc = 4, gim_hidden = 10),
#'                verbose = FALSE)
#' round(intervention_targets(fit), 2)
#' round(intervention_targets(fit, bench$test_fully_ood$features), 2)
#' @export
intervention_targets <- function(fit, features) {
  validate_gim(fit)
  if (missing(features)) features <- fit$features
  z <- standardise_features(fit, features, "features")
  target_probabilities(fit, z)
}

# Target probabilities for standardised features z.
target_probabilities <- function(fit, z) {
  prob <- mlp_forward(fit$phi$targets, z)
  prob[] <- stats::plogis(prob) # in place: plogis() drops the dims of 0-row input
  dimnames(prob) <- list(rownames(z), fit$nodes)
  prob
}

# Features as the nets take them: a double matrix with the fit's feature
# columns in the training order, rows kept, centred and scaled as in
# training.
standardise_features <- function(fit, features, arg = rlang::caller_arg(features),
                                 call = rlang::caller_env()) {
  x <- as_feature_matrix(features, fit$feature_names, arg, call)
  x <- sweep(x, 2L, fit$feature_center, "-")
  sweep(x, 2L, fit$feature_scale, "/")
}

as_feature_matrix <- function(features, feature_names, arg,
                              call = rlang::caller_env()) {
  p <- length(feature_names)
  what <- "a numeric matrix or data frame of features (one row per perturbation)"
  if (is.null(features)) {
    cli::cli_abort("{.arg {arg}} must be {what}, not {.code NULL}.", call = call)
  }
  if (is.data.frame(features)) {
    ok <- vapply(features, function(col) is.numeric(col) || is.logical(col),
                 logical(1))
    if (!all(ok)) {
      cli::cli_abort(c("{.arg {arg}} must contain only numeric columns.",
                       "x" = "Column{?s} {.val {names(features)[!ok]}} {?is/are} not numeric."),
                     call = call)
    }
    features <- as.matrix(features)
  } else if (methods::is(features, "Matrix")) {
    features <- as.matrix(features)
  }
  if (is.null(dim(features)) && is.numeric(features)) {
    if (length(features) != p) {
      cli::cli_abort(paste("{.arg {arg}} must have {p} entr{?y/ies} (one per",
                           "feature) when it is a vector, not {length(features)}."),
                     call = call)
    }
    features <- matrix(features, 1L, p, dimnames = list(NULL, names(features)))
  }
  if (!is.matrix(features) || !(is.numeric(features) || is.logical(features))) {
    cli::cli_abort("{.arg {arg}} must be {what}, not {.obj_type_friendly {features}}.",
                   call = call)
  }
  cols <- colnames(features)
  if (is.null(cols)) {
    if (ncol(features) != p) {
      cli::cli_abort(c(
        "{.arg {arg}} must have {p} column{?s}, not {ncol(features)}.",
        "i" = "The model was trained on the features {.val {feature_names}}."
      ), call = call)
    }
  } else {
    missing <- setdiff(feature_names, cols)
    extra <- setdiff(cols, feature_names)
    if (length(missing) || length(extra) || anyDuplicated(cols)) {
      cli::cli_abort(c(
        "{.arg {arg}} must have the columns of the training features.",
        "x" = if (length(missing)) "Missing: {.val {missing}}.",
        "x" = if (length(extra)) "Not in the training features: {.val {extra}}.",
        "x" = if (anyDuplicated(cols)) "Duplicated: {.val {unique(cols[duplicated(cols)])}}.",
        "i" = "The model was trained on {.val {feature_names}}."
      ), call = call)
    }
    features <- features[, feature_names, drop = FALSE]
  }
  if (anyNA(features) || any(!is.finite(features))) {
    cli::cli_abort("{.arg {arg}} must not contain NA, NaN or infinite values.",
                   call = call)
  }
  storage.mode(features) <- "double"
  colnames(features) <- feature_names
  features
}
