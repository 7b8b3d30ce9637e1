#' F1 scores of inferred edges and intervention targets
#'
#' `edge_f1()` scores an estimated graph against the true one: an edge is a
#' true positive when it has the right direction. `target_f1()` scores
#' estimated intervention targets (a 0/1 vector, or a contexts x variables
#' matrix) against the true targets.
#'
#' Both compute `2 TP / (2 TP + FP + FN)`; when truth and estimate are both
#' empty the estimate is exactly right and the score is 1. `edge_f1()` ignores
#' the diagonal (self-loops are not edges of a DAG).
#'
#' @param true,est For `edge_f1()`: square 0/1 or logical adjacency matrices
#'   with `G[i, j] = 1` meaning an edge `i -> j`. For `target_f1()`: 0/1 or
#'   logical vectors, or matrices with one row per context and one column per
#'   variable. Dimension names, when both have them, must agree.
#' @param average For `target_f1()`: `"micro"` pools all contexts into one
#'   score; `"none"` returns one score per context (row), as the paper does
#'   before taking medians over perturbations.
#' @return A number in `[0, 1]`; for `average = "none"`, a named vector with
#'   one score per context.
#' @references Schneider, Lorch, Kilbertus, Schölkopf, Krause (2025).
#'   Generative intervention models for causal perturbation modeling. ICML.
#' @family metrics
#' @examples
#' true <- matrix(0, 3, 3); true[1, 2] <- true[2, 3] <- 1
#' est <- matrix(0, 3, 3); est[1, 2] <- est[3, 2] <- 1
#' edge_f1(true, est)
#'
#' targets <- rbind(drug_a = c(1, 0, 0), drug_b = c(0, 1, 1))
#' guess <- rbind(drug_a = c(1, 0, 0), drug_b = c(0, 1, 0))
#' target_f1(targets, guess)
#' target_f1(targets, guess, average = "none")
#' @export
edge_f1 <- function(true, est) {
  true <- as_adjacency(true)
  est <- as_adjacency(est)
  check_same_nodes(true, est, "true", "est")
  .Call(pg_f1, true, est, TRUE)
}

#' @rdname edge_f1
#' @export
target_f1 <- function(true, est, average = c("micro", "none")) {
  average <- arg_match_checked(average)
  true <- as_targets(true)
  est <- as_targets(est)
  if (!identical(dim(true), dim(est))) {
    cli::cli_abort(c("{.arg true} and {.arg est} must have the same shape.",
                     "x" = "{.arg true} is {nrow(true)} x {ncol(true)};
                            {.arg est} is {nrow(est)} x {ncol(est)}."))
  }
  for (k in 1:2) {
    a <- dimnames(true)[[k]]
    b <- dimnames(est)[[k]]
    if (!is.null(a) && !is.null(b) && !identical(a, b)) {
      what <- c("contexts (row names)", "variables (column names)")[k]
      cli::cli_abort("{.arg true} and {.arg est} must list the same {what} in the same order.")
    }
  }
  if (average == "micro") {
    return(.Call(pg_f1, true, est, FALSE))
  }
  scores <- vapply(seq_len(nrow(true)), function(i) {
    .Call(pg_f1, true[i, ], est[i, ], FALSE)
  }, numeric(1))
  names(scores) <- rownames(true) %||% rownames(est)
  scores
}

# Targets as an integer 0/1 matrix, one row per context; a vector is one
# context.
as_targets <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  force(arg) # before the argument is converted, else it would name the value
  if (methods::is(x, "Matrix") || is.data.frame(x)) x <- as.matrix(x)
  if (is.null(x) || !(is.numeric(x) || is.logical(x)) || length(x) == 0L) {
    cli::cli_abort(paste("{.arg {arg}} must be a non-empty 0/1 or logical vector",
                         "or matrix, not {.obj_type_friendly {x}}."), call = call)
  }
  if (anyNA(x) || !all(x == 0 | x == 1)) {
    cli::cli_abort("{.arg {arg}} must contain only 0 and 1 (or FALSE and TRUE).",
                   call = call)
  }
  if (!is.matrix(x)) x <- matrix(x, nrow = 1L, dimnames = list(NULL, names(x)))
  out <- matrix(as.integer(x), nrow(x), ncol(x))
  dimnames(out) <- dimnames(x)
  out
}
