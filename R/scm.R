# Structural causal models: the constructor trio new_scm() / validate_scm() /
# scm(), a print method, and sample_scm(), which samples in C
# (src/scm_sample.c).

# Parameter names per mechanism, in the order they are documented.
scm_parameter_names <- function(mechanism) {
  switch(mechanism,
    linear = c("weights", "bias", "log_sd"),
    mlp = c("w1", "b1", "w2", "b2", "log_sd"),
    zilognormal = c("w1", "b1", "w2", "b2", "log_sd", "zero_logit")
  )
}

#' Structural causal models with linear, MLP or zero-inflated mechanisms
#'
#' Creates a structural causal model (SCM) over a directed acyclic graph, with
#' parameters given by the user or drawn at random as in the synthetic
#' benchmark of Schneider et al. (2025, appendix D.1). Sample from it with
#' [sample_scm()].
#'
#' @details
#' Variable `j` has the parents `i` with `graph[i, j] = 1` and one of three
#' mechanisms (SPEC section 1), where `sd_j = exp(log_sd[j])`:
#'
#' * `"linear"`: \eqn{x_j \sim N(b_j + \sum_i G_{ij} W_{ij} x_i,\ sd_j^2)}.
#' * `"mlp"`: \eqn{x_j \sim N(\mathrm{MLP}_j(x_{pa(j)}),\ sd_j^2)} with one
#'   hidden layer of tanh units,
#'   \eqn{\mathrm{MLP}_j(x) = b2_j + \sum_h w2_{hj} \tanh(b1_{hj} + \sum_i G_{ij} w1_{hij} x_i)}.
#' * `"zilognormal"`: \eqn{x_j = 0} with probability
#'   `plogis(zero_logit[j])`, otherwise \eqn{\log x_j \sim N(\mathrm{MLP}_j(x_{pa(j)}),\ sd_j^2)}
#'   (for log1p-normalised single-cell data, which is never negative).
#'
#' `parameters` is a named list with exactly these elements (`d` variables,
#' `H` hidden units):
#'
#' | mechanism | element | shape |
#' |---|---|---|
#' | linear | `weights` | `d x d` matrix, `weights[i, j]` on the edge `i -> j` |
#' | linear | `bias` | length `d` |
#' | all | `log_sd` | length `d`, log of the noise standard deviation |
#' | mlp, zilognormal | `w1` | `H x d x d` array, `w1[, i, j]` from parent `i` into the hidden units of `j` |
#' | mlp, zilognormal | `b1`, `w2` | `H x d` matrices (hidden bias and output weights of each variable) |
#' | mlp, zilognormal | `b2` | length `d`, output bias |
#' | zilognormal | `zero_logit` | length `d`, logit of `P(x_j = 0)` |
#'
#' Entries of `weights` and `w1` off the graph's edges are never used. This is
#' also the layout the model fit uses for its parameters.
#'
#' With `parameters = NULL` they are drawn at random (from R's generator, so
#' `set.seed()` reproduces them), following the paper's appendix D.1:
#' linear weights uniform on \eqn{[-3, -0.25] \cup [0.25, 3]} on the edges
#' and no bias; MLP weights and biases (`w1` on the edges, `b1`, `w2`, `b2`)
#' standard normal; noise variance `noise_var` (0.1) for every variable,
#' i.e. `log_sd = log(noise_var) / 2`. Entries off the edges are 0. The paper
#' does not generate zero-inflated data; for `"zilognormal"` the zero
#' probabilities are drawn uniformly from `[0.1, 0.5]`.
#'
#' The object is a plain list (`graph`, `mechanism`, `parameters`) of base
#' vectors, matrices and arrays, so it survives `saveRDS()` and travels to
#' parallel workers.
#'
#' @param graph Square 0/1 (or logical) adjacency matrix of a directed acyclic
#'   graph, `graph[i, j] = 1` for an edge `i -> j`. Its dimnames name the
#'   variables.
#' @param mechanism `"linear"`, `"mlp"` or `"zilognormal"` (see Details).
#' @param parameters `NULL` to draw parameters at random, or a named list laid
#'   out as in Details.
#' @param ... Must be empty; the options below must be named.
#' @param n_hidden Hidden tanh units of each MLP when parameters are drawn
#'   (paper: 5).
#' @param noise_var Noise variance of every variable when parameters are drawn
#'   (paper: 0.1).
#' @return An object of class `perturbgim_scm`: a list with `graph` (integer
#'   adjacency matrix), `mechanism` and `parameters`.
#' @references Schneider, N., Lorch, L., Kilbertus, N., Schölkopf, B. and
#'   Krause, A. (2025). Generative intervention models for causal perturbation
#'   modeling. *Proceedings of the 42nd International Conference on Machine
#'   Learning (ICML)*. \doi{10.48550/arXiv.2503.19149}
#' @family simulation
#' @examples
#' g <- matrix(0, 3, 3, dimnames = list(c("a", "b", "c"), c("a", "b", "c")))
#' g["a", "b"] <- g["b", "c"] <- 1
#' set.seed(1)
#' m <- scm(g, "linear")
#' m
#' m$parameters$weights
#'
#' # Parameters chosen by hand.
#' m2 <- scm(g, "linear", parameters = list(
#'   weights = g * 2, bias = c(1, 0, 0), log_sd = log(c(1, 0.5, 0.5))
#' ))
#' @export
scm <- function(graph, mechanism = c("linear", "mlp", "zilognormal"),
                parameters = NULL, ..., n_hidden = 5L, noise_var = 0.1) {
  rlang::check_dots_empty()
  graph <- as_adjacency(graph)
  mechanism <- arg_match_checked(mechanism)
  check_acyclic(graph, "graph")
  if (is.null(parameters)) {
    n_hidden <- check_count(n_hidden)
    noise_var <- check_positive_number(noise_var)
    parameters <- draw_scm_parameters(graph, mechanism, n_hidden, noise_var)
  } else {
    parameters <- normalise_scm_parameters(parameters, graph, mechanism)
  }
  validate_scm(new_scm(graph, mechanism, parameters))
}

new_scm <- function(graph, mechanism, parameters) {
  structure(list(graph = graph, mechanism = mechanism, parameters = parameters),
            class = "perturbgim_scm")
}

# Checks every invariant of a perturbgim_scm and returns it unchanged.
validate_scm <- function(x, arg = rlang::caller_arg(x),
                         call = rlang::caller_env()) {
  if (!inherits(x, "perturbgim_scm") || !is.list(x) ||
      !all(c("graph", "mechanism", "parameters") %in% names(x))) {
    cli::cli_abort(paste("{.arg {arg}} must be a {.cls perturbgim_scm} object",
                         "made by {.fn scm}, not {.obj_type_friendly {x}}."),
                   call = call)
  }
  g <- x$graph
  if (!is.matrix(g) || !is.integer(g) || nrow(g) != ncol(g) || nrow(g) < 1L ||
      anyNA(g) || !all(g == 0L | g == 1L)) {
    cli::cli_abort("{.arg {arg}$graph} must be a square 0/1 integer matrix.",
                   call = call)
  }
  check_acyclic(g, paste0(arg, "$graph"), call = call)
  if (!is.character(x$mechanism) || length(x$mechanism) != 1L ||
      !x$mechanism %in% engine_codes$mechanism) {
    cli::cli_abort("{.arg {arg}$mechanism} must be one of {.val {engine_codes$mechanism}}.",
                   call = call)
  }
  check_scm_parameters(x$parameters, nrow(g), x$mechanism, call = call)
  x
}

# Shapes and finiteness of a parameter list (names as in the docs of scm()).
check_scm_parameters <- function(p, d, mechanism, call = rlang::caller_env()) {
  if (!is.list(p) || is.null(names(p))) {
    cli::cli_abort("{.arg parameters} must be a named list.", call = call)
  }
  wanted <- scm_parameter_names(mechanism)
  missing <- setdiff(wanted, names(p))
  if (length(missing)) {
    cli::cli_abort(c(
      "{.arg parameters} misses {.field {missing}} for {mechanism} mechanisms.",
      "i" = "A {mechanism} SCM needs {.field {wanted}}."
    ), call = call)
  }
  extra <- setdiff(names(p), wanted)
  if (length(extra)) {
    cli::cli_abort(c(
      "{.arg parameters} has {cli::qty(length(extra))}element{?s} {.field {extra}}, not used by {mechanism} mechanisms.",
      "i" = "A {mechanism} SCM takes {.field {wanted}}."
    ), call = call)
  }
  h <- if (mechanism == "linear") NA_integer_ else {
    dw1 <- dim(p$w1)
    if (length(dw1) != 3L || dw1[1] < 1L) {
      cli::cli_abort(paste("{.arg parameters$w1} must be a hidden x {d} x {d}",
                           "array, not {.obj_type_friendly {p$w1}}{describe_dim(p$w1)}."),
                     call = call)
    }
    dw1[1]
  }
  shapes <- list(weights = c(d, d), bias = d, log_sd = d, w1 = c(h, d, d),
                 b1 = c(h, d), w2 = c(h, d), b2 = d, zero_logit = d)
  for (nm in wanted) {
    v <- p[[nm]]
    shape <- shapes[[nm]]
    ok_shape <- if (length(shape) == 1L) {
      is.null(dim(v)) && length(v) == shape
    } else {
      identical(as.integer(dim(v)), as.integer(shape))
    }
    if (!is.double(v) || !ok_shape) {
      expected <- if (length(shape) == 1L) {
        paste("a numeric vector of length", shape)
      } else {
        paste("a numeric", paste(shape, collapse = " x "),
              if (length(shape) == 2L) "matrix" else "array")
      }
      cli::cli_abort(paste0("{.arg parameters${nm}} must be {expected}, not ",
                            "{.obj_type_friendly {v}}{describe_dim(v)}."),
                     call = call)
    }
    if (anyNA(v) || any(!is.finite(v))) {
      cli::cli_abort("{.arg parameters${nm}} must not contain NA, NaN or infinite values.",
                     call = call)
    }
  }
  invisible(TRUE)
}

describe_dim <- function(v) {
  if (!is.null(dim(v))) {
    paste0(" of dimension ", paste(dim(v), collapse = " x "))
  } else if (is.atomic(v)) {
    paste0(" of length ", length(v))
  } else {
    ""
  }
}

# User-given parameters: numbers as doubles, dims kept, vectors plain, names
# from the graph. Shapes are checked afterwards by validate_scm().
normalise_scm_parameters <- function(p, graph, mechanism,
                                     call = rlang::caller_env()) {
  if (!is.list(p) || is.data.frame(p) || is.null(names(p)) ||
      any(names(p) == "")) {
    cli::cli_abort("{.arg parameters} must be a named list or {.code NULL}, not {.obj_type_friendly {p}}.",
                   call = call)
  }
  d <- nrow(graph)
  vectors <- c("bias", "log_sd", "b2", "zero_logit")
  for (nm in names(p)) {
    v <- p[[nm]]
    if (!(is.numeric(v) || is.logical(v)) || is.object(v)) next
    if (nm %in% vectors && length(v) == d && length(dim(v)) <= 1L) {
      v <- as.vector(v)
    }
    storage.mode(v) <- "double"
    p[[nm]] <- v
  }
  check_scm_parameters(p, d, mechanism, call = call)
  name_scm_parameters(p[scm_parameter_names(mechanism)], rownames(graph))
}

name_scm_parameters <- function(p, nodes) {
  if (is.null(nodes)) return(p)
  for (nm in names(p)) {
    v <- p[[nm]]
    if (is.null(dim(v))) {
      names(v) <- nodes
    } else if (length(dim(v)) == 2L && nm == "weights") {
      dimnames(v) <- list(nodes, nodes)
    } else if (length(dim(v)) == 2L) {
      dimnames(v) <- list(NULL, nodes)
    } else {
      dimnames(v) <- list(NULL, nodes, nodes)
    }
    p[[nm]] <- v
  }
  p
}

# Random parameters as in the paper's synthetic data (appendix D.1); see the
# documentation of scm() for the exact distributions.
draw_scm_parameters <- function(graph, mechanism, n_hidden, noise_var) {
  d <- nrow(graph)
  edges <- which(graph == 1L)
  log_sd <- rep(log(noise_var) / 2, d)
  if (mechanism == "linear") {
    weights <- matrix(0, d, d)
    sign <- sample(c(-1, 1), length(edges), replace = TRUE)
    weights[edges] <- sign * stats::runif(length(edges), 0.25, 3)
    p <- list(weights = weights, bias = rep(0, d), log_sd = log_sd)
  } else {
    h <- n_hidden
    # w1[, i, j] only on edges i -> j: index h + H (i + d j) runs over the
    # graph in column-major order with each entry repeated H times.
    w1 <- array(0, c(h, d, d))
    on_edges <- which(rep(as.vector(graph), each = h) == 1L)
    w1[on_edges] <- stats::rnorm(length(on_edges))
    p <- list(w1 = w1,
              b1 = matrix(stats::rnorm(h * d), h, d),
              w2 = matrix(stats::rnorm(h * d), h, d),
              b2 = stats::rnorm(d),
              log_sd = log_sd)
    if (mechanism == "zilognormal") {
      p$zero_logit <- stats::qlogis(stats::runif(d, 0.1, 0.5))
    }
  }
  name_scm_parameters(p, rownames(graph))
}

check_acyclic <- function(graph, arg, call = rlang::caller_env()) {
  if (!is_dag(graph)) {
    cli::cli_abort(c("{.arg {arg}} must be acyclic (a DAG).",
                     "x" = "It has a directed cycle."), call = call)
  }
  invisible(TRUE)
}

#' @export
print.perturbgim_scm <- function(x, ...) {
  d <- nrow(x$graph)
  p <- x$parameters
  mech <- switch(x$mechanism,
    linear = "linear Gaussian",
    mlp = sprintf("MLP Gaussian, %d hidden tanh units", dim(p$w1)[1]),
    zilognormal = sprintf("zero-inflated log-normal MLP, %d hidden tanh units",
                          dim(p$w1)[1])
  )
  n_edges <- sum(x$graph)
  cat(sprintf("<perturbgim_scm> %d variable%s, %d edge%s\n", d,
              if (d == 1) "" else "s", n_edges, if (n_edges == 1) "" else "s"))
  cat(sprintf("  mechanism: %s\n", mech))
  cat(sprintf("  noise sd: %s\n", format_range(exp(p$log_sd))))
  if (x$mechanism == "zilognormal") {
    cat(sprintf("  zero probability: %s\n",
                format_range(stats::plogis(p$zero_logit))))
  }
  invisible(x)
}

format_range <- function(v) {
  r <- signif(range(v), 3)
  if (r[1] == r[2]) format(r[1]) else paste(format(r[1]), "to", format(r[2]))
}

#' Sample from a structural causal model, observationally or under interventions
#'
#' Ancestral sampling in C, variable by variable in a topological order of the
#' graph, under no intervention, one intervention setting, or several settings
#' at once.
#'
#' @details
#' A variable `j` targeted by a **hard** intervention ignores its parents:
#' \eqn{x_j \sim N(\psi^{mean}_j, \exp(\psi^{log\_sd}_j)^2)}; for a
#' `"zilognormal"` SCM it is 0 with probability
#' `plogis(psi$zero_logit[j])` and otherwise
#' \eqn{\exp(N(\psi^{mean}_j, \exp(\psi^{log\_sd}_j)^2))}. A **shift**
#' intervention keeps the mechanism and adds \eqn{\psi_j} to the sampled value
#' (Rothenhäusler et al., 2015); for `"zilognormal"` it adds \eqn{\psi_j} to
#' the log of the positive values (multiplies them by \eqn{e^{\psi_j}}) and
#' leaves zeros at zero, so samples stay non-negative and match the model
#' [gim_fit()] fits. Variables that are not targeted keep their mechanisms.
#'
#' Randomness comes from R's generator, so `set.seed()` reproduces the samples
#' exactly. All noise is drawn before the mechanisms are applied, in the
#' storage order of the result.
#'
#' @param scm A `perturbgim_scm` from [scm()].
#' @param n Number of cells: one count, or with several settings (a `targets`
#'   matrix) one count per setting.
#' @param targets `NULL` for observational samples; a 0/1 (or logical) vector
#'   of length `d`, or a character vector of variable names, for one
#'   intervention setting; or a `K x d` 0/1 matrix for `K` settings at once.
#'   A row without targets is an observational setting.
#' @param psi Intervention parameters, needed when anything is targeted.
#'   For `intervention = "hard"`: a list with `mean` and `log_sd` (and
#'   `zero_logit` for a `"zilognormal"` SCM), each a vector of length `d`
#'   (the same for every setting) or a `K x d` matrix. For `"shift"`: the
#'   shifts, a vector of length `d` or a `K x d` matrix (or a list with
#'   element `shift`). Entries of variables that are not targeted are ignored
#'   and may be `NA`.
#' @param intervention `"hard"` or `"shift"`.
#' @return A numeric matrix with `sum(n)` rows (cells) and `d` columns named
#'   after the graph's variables. With a `targets` matrix, the settings are
#'   stacked in the order of its rows, `n[k]` cells each, and the attribute
#'   `"context"` gives each cell's row of `targets` (an integer vector; use
#'   `rownames(targets)[attr(x, "context")]` for labels).
#' @references Rothenhäusler, D., Heinze, C., Peters, J. and Meinshausen, N.
#'   (2015). BACKSHIFT: learning causal cyclic graphs from unknown shift
#'   interventions. *Advances in Neural Information Processing Systems 28*.
#'
#'   Schneider, N., Lorch, L., Kilbertus, N., Schölkopf, B. and Krause, A.
#'   (2025). Generative intervention models for causal perturbation modeling.
#'   *ICML*. \doi{10.48550/arXiv.2503.19149}
#' @family simulation
#' @examples
#' g <- matrix(0, 3, 3, dimnames = list(c("a", "b", "c"), c("a", "b", "c")))
#' g["a", "b"] <- g["b", "c"] <- 1
#' set.seed(1)
#' m <- scm(g, "linear")
#' x <- sample_scm(m, 100)
#' colMeans(x)
#'
#' # Hard intervention on b: N(3, 0.5^2), cutting the edge a -> b.
#' xb <- sample_scm(m, 100, targets = "b",
#'                  psi = list(mean = c(0, 3, 0), log_sd = log(c(1, 0.5, 1))))
#' colMeans(xb)
#'
#' # Two shift settings at once, 50 cells each.
#' targets <- rbind(only_a = c(1, 0, 0), a_and_c = c(1, 0, 1))
#' xs <- sample_scm(m, 50, targets = targets, psi = rbind(c(2, 0, 0), c(2, 0, -2)),
#'                  intervention = "shift")
#' table(rownames(targets)[attr(xs, "context")])
#' @export
sample_scm <- function(scm, n, targets = NULL, psi = NULL,
                       intervention = c("hard", "shift")) {
  validate_scm(scm)
  intervention <- arg_match_checked(intervention)
  d <- nrow(scm$graph)
  several <- is.matrix(targets) || is.data.frame(targets)
  targets <- as_target_matrix(targets, d, rownames(scm$graph))
  n <- check_cell_counts(n, nrow(targets), several)
  psi <- as_psi_list(psi, targets, intervention, scm$mechanism)
  x <- .Call(pg_scm_sample, scm$graph, engine_code("mechanism", scm$mechanism),
             scm$parameters, targets, psi, engine_code("intervention", intervention), n)
  if (several) attr(x, "context") <- rep.int(seq_len(nrow(targets)), n)
  if (any(!is.finite(x))) {
    cli::cli_warn(c("Some samples are not finite.",
                    "i" = "Mechanism or intervention values are too large for doubles."))
  }
  x
}

# Targets as a K x d integer 0/1 matrix (K = 1 for NULL or a vector).
as_target_matrix <- function(targets, d, nodes, call = rlang::caller_env()) {
  if (is.null(targets)) return(matrix(0L, 1L, d))
  if (is.data.frame(targets)) targets <- as.matrix(targets)
  if (is.character(targets) && !is.matrix(targets)) {
    if (is.null(nodes)) {
      cli::cli_abort("{.arg targets} can only name variables when the graph has names.",
                     call = call)
    }
    unknown <- setdiff(targets, nodes)
    if (length(unknown)) {
      cli::cli_abort("{.arg targets} names unknown variable{?s} {.val {unknown}}.",
                     call = call)
    }
    return(matrix(as.integer(nodes %in% targets), 1L, d))
  }
  if (!(is.numeric(targets) || is.logical(targets))) {
    cli::cli_abort(paste("{.arg targets} must be a 0/1 vector, a character vector",
                         "of variable names or a 0/1 matrix, not",
                         "{.obj_type_friendly {targets}}."), call = call)
  }
  if (is.matrix(targets)) {
    if (ncol(targets) != d) {
      cli::cli_abort(paste("{.arg targets} must have {d} column{?s} (one per",
                           "variable), not {ncol(targets)}."), call = call)
    }
    if (nrow(targets) < 1L) {
      cli::cli_abort("{.arg targets} must have at least one row.", call = call)
    }
  } else if (length(targets) != d) {
    cli::cli_abort(paste("{.arg targets} must have length {d} (one entry per",
                         "variable), not {length(targets)}."), call = call)
  }
  if (anyNA(targets) || !all(targets == 0 | targets == 1)) {
    cli::cli_abort("{.arg targets} must contain only 0 and 1 (or FALSE and TRUE).",
                   call = call)
  }
  out <- matrix(as.integer(targets), if (is.matrix(targets)) nrow(targets) else 1L, d)
  if (is.matrix(targets)) rownames(out) <- rownames(targets)
  out
}

check_cell_counts <- function(n, K, several, call = rlang::caller_env()) {
  ok <- is.numeric(n) && !anyNA(n) && all(is.finite(n)) && all(n >= 0) &&
    all(n == round(n))
  if (!ok || !(length(n) == 1L || (several && length(n) == K))) {
    expected <- if (several) {
      paste("one whole number >= 0, or", K, "of them (one per row of {.arg targets})")
    } else {
      "a single whole number >= 0"
    }
    cli::cli_abort(paste0("{.arg n} must be ", expected, "."), call = call)
  }
  n <- rep_len(n, K)
  if (sum(n) > .Machine$integer.max) {
    cli::cli_abort("{.arg n} asks for {sum(n)} cells, more than fit in one matrix.",
                   call = call)
  }
  as.integer(n)
}

# psi as the C layer wants it: a named list of K x d double matrices, finite,
# with 0 wherever a variable is not targeted.
as_psi_list <- function(psi, targets, intervention, mechanism,
                        call = rlang::caller_env()) {
  K <- nrow(targets)
  d <- ncol(targets)
  needed <- if (intervention == "shift") "shift" else
    c("mean", "log_sd", if (mechanism == "zilognormal") "zero_logit")
  if (!any(targets == 1L)) {
    return(stats::setNames(rep(list(matrix(0, K, d)), length(needed)), needed))
  }
  if (is.null(psi)) {
    hint <- if (intervention == "shift") "Supply the shift of each target." else
      "Supply a list with {.field {needed}}."
    cli::cli_abort(c("{.arg psi} must be given for {intervention} interventions.",
                     "i" = hint), call = call)
  }
  bare_shift <- intervention == "shift" && !is.list(psi)
  if (bare_shift) psi <- list(shift = psi)
  if (!is.list(psi) || is.null(names(psi))) {
    cli::cli_abort(paste("{.arg psi} must be a named list with {.field {needed}}",
                         "for {intervention} interventions, not",
                         "{.obj_type_friendly {psi}}."), call = call)
  }
  missing <- setdiff(needed, names(psi))
  if (length(missing)) {
    cli::cli_abort(c("{.arg psi} misses {.field {missing}}.",
                     "i" = "{intervention} interventions on a {mechanism} SCM need {.field {needed}}."),
                   call = call)
  }
  extra <- setdiff(names(psi), needed)
  if (length(extra)) {
    cli::cli_abort(c("{.arg psi} has {cli::qty(length(extra))}element{?s} {.field {extra}}, not used here.",
                     "i" = "{intervention} interventions on a {mechanism} SCM take {.field {needed}}."),
                   call = call)
  }
  hit <- targets == 1L
  out <- lapply(needed, function(nm) {
    v <- psi[[nm]]
    arg <- if (bare_shift) "psi" else paste0("psi$", nm)
    if (is.data.frame(v)) v <- as.matrix(v)
    if (!(is.numeric(v) || (is.logical(v) && all(is.na(v))))) {
      cli::cli_abort("{.arg {arg}} must be numeric, not {.obj_type_friendly {v}}.",
                     call = call)
    }
    if (is.matrix(v)) {
      if (!identical(dim(v), c(K, d))) {
        cli::cli_abort(paste("{.arg {arg}} must be a vector of length {d} or a",
                             "{K} x {d} matrix (one row per setting), not",
                             "{nrow(v)} x {ncol(v)}."), call = call)
      }
    } else if (length(v) == d) {
      v <- matrix(as.double(v), K, d, byrow = TRUE)
    } else {
      cli::cli_abort(paste("{.arg {arg}} must have length {d} (one entry per",
                           "variable), not {length(v)}."), call = call)
    }
    v <- matrix(as.double(v), K, d)
    if (any(!is.finite(v[hit]))) {
      cli::cli_abort("{.arg {arg}} must be finite for every targeted variable.",
                     call = call)
    }
    v[!hit] <- 0
    v
  })
  stats::setNames(out, needed)
}
