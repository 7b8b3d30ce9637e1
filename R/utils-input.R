# Argument checks shared by every exported function. Each one names the
# argument as the user wrote it and says what was expected and what was given.

# Samples in rows, variables in columns: numeric matrix, data frame of numbers
# or a Matrix (e.g. dgCMatrix). Returns a finite double matrix.
as_sample_matrix <- function(x, arg = rlang::caller_arg(x), min_rows = 1L,
                             call = rlang::caller_env()) {
  force(arg) # before the argument is converted, else it would name the value
  if (is.null(x)) {
    cli::cli_abort("{.arg {arg}} must be a numeric matrix, not {.code NULL}.",
                   call = call)
  }
  if (is.data.frame(x)) {
    numeric_cols <- vapply(x, function(col) is.numeric(col) || is.logical(col),
                           logical(1))
    if (!all(numeric_cols)) {
      bad <- names(x)[!numeric_cols]
      cli::cli_abort(c("{.arg {arg}} must contain only numeric columns.",
                       "x" = "Column{?s} {.val {bad}} {?is/are} not numeric."),
                     call = call)
    }
    x <- as.matrix(x)
  } else if (methods::is(x, "Matrix")) {
    x <- as.matrix(x)
  }
  if (is.vector(x) && is.numeric(x) && !is.matrix(x)) {
    cli::cli_abort(c("{.arg {arg}} must be a matrix with samples in rows.",
                     "i" = "Use {.code matrix(x, ncol = 1)} for one variable."),
                   call = call)
  }
  if (!is.matrix(x) || !(is.numeric(x) || is.logical(x))) {
    cli::cli_abort(paste("{.arg {arg}} must be a numeric matrix, data frame or",
                         "sparse Matrix, not {.obj_type_friendly {x}}."),
                   call = call)
  }
  if (ncol(x) < 1L) {
    cli::cli_abort("{.arg {arg}} must have at least one column (variable).",
                   call = call)
  }
  if (nrow(x) < min_rows) {
    cli::cli_abort(paste("{.arg {arg}} must have at least {min_rows} row{?s}",
                         "(sample{?s}), not {nrow(x)}."), call = call)
  }
  if (anyNA(x) || any(!is.finite(x))) {
    cli::cli_abort(paste("{.arg {arg}} must not contain NA, NaN or infinite",
                         "values."), call = call)
  }
  storage.mode(x) <- "double"
  x
}

# Two sample matrices must describe the same variables.
check_same_variables <- function(x, y, x_arg, y_arg,
                                 call = rlang::caller_env()) {
  if (ncol(x) != ncol(y)) {
    cli::cli_abort(c(
      "{.arg {x_arg}} and {.arg {y_arg}} must have the same number of columns.",
      "x" = "{.arg {x_arg}} has {ncol(x)}; {.arg {y_arg}} has {ncol(y)}."
    ), call = call)
  }
  nx <- colnames(x)
  ny <- colnames(y)
  if (!is.null(nx) && !is.null(ny) && !identical(nx, ny)) {
    cli::cli_abort(c(
      "{.arg {x_arg}} and {.arg {y_arg}} must have the same column names.",
      "i" = "Reorder the columns so that the variables match."
    ), call = call)
  }
  invisible(TRUE)
}

# A directed graph as a square 0/1 integer matrix, G[i, j] = 1 for i -> j.
as_adjacency <- function(g, arg = rlang::caller_arg(g),
                         call = rlang::caller_env()) {
  force(arg) # before the argument is converted, else it would name the value
  if (methods::is(g, "Matrix")) g <- as.matrix(g)
  if (is.data.frame(g)) g <- as.matrix(g)
  if (!is.matrix(g) || !(is.numeric(g) || is.logical(g))) {
    cli::cli_abort(paste("{.arg {arg}} must be a square 0/1 or logical",
                         "adjacency matrix, not {.obj_type_friendly {g}}."),
                   call = call)
  }
  if (nrow(g) != ncol(g)) {
    cli::cli_abort("{.arg {arg}} must be square, not {nrow(g)} x {ncol(g)}.",
                   call = call)
  }
  if (nrow(g) < 1L) {
    cli::cli_abort("{.arg {arg}} must have at least one node.", call = call)
  }
  if (anyNA(g) || !all(g == 0 | g == 1)) {
    cli::cli_abort("{.arg {arg}} must contain only 0 and 1 (or FALSE and TRUE).",
                   call = call)
  }
  rn <- rownames(g)
  cn <- colnames(g)
  if (!is.null(rn) && !is.null(cn) && !identical(rn, cn)) {
    cli::cli_abort("{.arg {arg}} must have the same row and column names.",
                   call = call)
  }
  out <- matrix(as.integer(g), nrow(g), ncol(g))
  dimnames(out) <- list(rn %||% cn, cn %||% rn)
  out
}

# Two graphs over the same nodes: same size, and the same names when both
# have them.
check_same_nodes <- function(a, b, a_arg, b_arg, call = rlang::caller_env()) {
  if (nrow(a) != nrow(b)) {
    cli::cli_abort(c(
      "{.arg {a_arg}} and {.arg {b_arg}} must have the same number of nodes.",
      "x" = "{.arg {a_arg}} has {nrow(a)}; {.arg {b_arg}} has {nrow(b)}."
    ), call = call)
  }
  na <- rownames(a)
  nb <- rownames(b)
  if (!is.null(na) && !is.null(nb) && !identical(na, nb)) {
    cli::cli_abort(c(
      "{.arg {a_arg}} and {.arg {b_arg}} must name the same nodes in the same order.",
      "i" = "Reorder one graph, e.g. {.code est[rownames(true), rownames(true)]}."
    ), call = call)
  }
  invisible(TRUE)
}

check_positive_number <- function(x, arg = rlang::caller_arg(x),
                                  call = rlang::caller_env()) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || !is.finite(x) || x <= 0) {
    cli::cli_abort("{.arg {arg}} must be a single positive number, not {describe_value(x)}.",
                   call = call)
  }
  as.double(x)
}

# A share from 0 up to, not including, 1.
check_fraction <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || x < 0 || x >= 1) {
    cli::cli_abort("{.arg {arg}} must be a single number in [0, 1), not {describe_value(x)}.",
                   call = call)
  }
  as.double(x)
}

check_count <- function(x, arg = rlang::caller_arg(x), min = 1L,
                        call = rlang::caller_env()) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || x < min ||
      x != round(x) || x > .Machine$integer.max) {
    cli::cli_abort("{.arg {arg}} must be a single whole number >= {min}, not {describe_value(x)}.",
                   call = call)
  }
  as.integer(x)
}

# What was given, for error messages: the value itself when it is a single
# number, string or logical, otherwise its type ("a function", "NULL", ...).
describe_value <- function(x) {
  if (is.atomic(x) && length(x) == 1L && !is.null(x)) {
    cli::format_inline("{.val {x}}")
  } else {
    cli::format_inline("{.obj_type_friendly {x}}")
  }
}

check_flag <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (!is.logical(x) || length(x) != 1L || is.na(x)) {
    cli::cli_abort("{.arg {arg}} must be TRUE or FALSE.", call = call)
  }
  x
}

`%||%` <- function(a, b) if (is.null(a)) b else a

# rlang::arg_match() for a choice among strings, safe on NA and on empty
# vectors: rlang < 1.1.0 fails on those with base R errors that do not name
# the argument ("missing value where TRUE/FALSE needed", "subscript out of
# bounds"; r-lib/rlang#1519), and with `multiple = TRUE` it accepts
# character(0) silently. `values` defaults, as in rlang, to the default of
# the argument in the calling function.
arg_match_checked <- function(arg, values = NULL, multiple = FALSE,
                              error_arg = rlang::caller_arg(arg),
                              error_call = rlang::caller_env()) {
  if (is.null(values)) {
    fn <- sys.function(sys.parent())
    values <- eval(formals(fn)[[error_arg]], environment(fn))
  }
  if (is.character(arg) && (!length(arg) || anyNA(arg))) {
    cli::cli_abort("{.arg {error_arg}} must be {if (multiple) 'one or more of' else 'one of'} {.or {.val {values}}}, not {describe_value(arg)}.",
                   call = error_call)
  }
  rlang::arg_match(arg, values, multiple = multiple, error_arg = error_arg,
                   error_call = error_call)
}

# Metrics work with squared differences in double precision: values beyond
# 1e150 overflow them (Inf, NaN, or a Sinkhorn that stops at 0) and nonzero
# values all below 1e-150 underflow them (a distance of exactly 0). Such data
# must be rescaled; an error says so instead of a wrong number.
check_metric_scale <- function(x, arg = rlang::caller_arg(x),
                               call = rlang::caller_env()) {
  force(arg)
  top <- if (length(x)) max(abs(x)) else 0
  if (top > 1e150 || (top > 0 && top < 1e-150)) {
    cli::cli_abort(c("{.arg {arg}} has values of magnitude {signif(top, 3)}, outside [1e-150, 1e150].",
                     "i" = "Squared distances would overflow or underflow; rescale the data (all matrices alike)."),
                   call = call)
  }
  invisible(x)
}
