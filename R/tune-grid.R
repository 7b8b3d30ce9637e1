# gim_grid(): hyperparameter grids for gim_tune(), the paper's search ranges
# (appendix D.6, Tables 1 and 2) as presets, and the checks that turn a
# user's grid into a data frame of gim_control() arguments.

#' Hyperparameter grids for tuning a GIM
#'
#' Builds the grid that [gim_tune()] searches: a data frame with one row per
#' combination of [gim_control()] arguments. The paper's search ranges are
#' available as presets; any other grid is given by its values, as for
#' [expand.grid()].
#'
#' @details
#' **Presets** (Schneider et al. 2025, appendix D.6):
#' * `"synthetic"` (Table 1, 48 rows): `beta_M` in `c(50, 100, 500)`,
#'   `beta_I` in `c(1, 10, 50, 100)`, `tau` in `c(0.01, 0.1, 1, 10)`.
#' * `"sciplex"` (Table 2, 27 rows): `gim_hidden` in
#'   `list(100, c(100, 100), c(100, 100, 100))`, `beta_M` in `c(0.1, 1, 10)`,
#'   `beta_I` in `c(0.1, 1, 10)`, and `mechanism_hidden = 20`. The paper also searches mechanism MLPs with
#'   two and three hidden layers of 20 units ("Inference Model: Hidden
#'   layers" \[20, 20\] and \[20, 20, 20\]); the mechanisms of [gim_fit()]
#'   have a single hidden layer, so those two values have no equivalent and
#'   are left out: the preset keeps the paper's one-layer value \[20\].
#'
#' The paper's tables also list grids for the baselines (MLP, CondOT,
#' GnIES, ...); they are not GIM settings and are not part of the presets.
#' Settings that the grid does not set come from the `control` argument of
#' [gim_tune()], so the number of steps, Monte Carlo samples and so on are
#' chosen there (the paper: 30,000 steps on synthetic data, 100,000 on
#' SciPlex3, 128 Monte Carlo samples).
#'
#' **Own grids.** Arguments in `...` are named [gim_control()] arguments
#' whose values are crossed as by [expand.grid()] (the first argument varies
#' fastest). A numeric vector gives one value per element; an argument that
#' takes a vector, such as `gim_hidden`, is given as a list with one element
#' per value, e.g. `gim_hidden = list(100, c(100, 100))`. With a preset,
#' `...` replaces its values for those arguments or adds new ones, e.g.
#' `gim_grid("synthetic", tau = 1)`. `n_threads` cannot be tuned (results do
#' not depend on it; see [gim_tune()]).
#'
#' A grid can also be written by hand as a data frame with one column per
#' [gim_control()] argument (a list column for vector-valued ones); give it
#' to [gim_tune()] directly.
#'
#' @param preset `NULL`, `"synthetic"` or `"sciplex"` (see Details).
#' @param ... Named [gim_control()] arguments, each a vector or a list of
#'   values to cross (see Details).
#' @return A data frame with one row per combination and one column per
#'   [gim_control()] argument; vector-valued arguments are list columns.
#' @references Schneider, N., Lorch, L., Kilbertus, N., Schölkopf, B. and
#'   Krause, A. (2025). Generative intervention models for causal
#'   perturbation modeling. *ICML 2025*, appendix D.6.
#'   \doi{10.48550/arXiv.2503.19149}
#' @seealso [gim_tune()], which fits and scores every row.
#' @family tuning
#' @examples
#' nrow(gim_grid("synthetic"))
#' head(gim_grid("sciplex"), 4)
#' gim_grid(beta_M = c(10, 50), gim_hidden = list(20, c(20, 20)))
#' gim_grid("synthetic", tau = 1, beta_M = 50)
#' @export
gim_grid <- function(preset = NULL, ...) {
  values <- list(...)
  if (!is.null(preset)) {
    preset <- arg_match_checked(preset, names(grid_presets))
    base <- grid_presets[[preset]]
    base[names(values)] <- values
    values <- base
  }
  expand_grid_values(values, "...")
}

# The paper's GIM search ranges (appendix D.6). Values are listed in the
# order of the paper's tables.
grid_presets <- list(
  synthetic = list(beta_M = c(50, 100, 500), beta_I = c(1, 10, 50, 100),
                   tau = c(0.01, 0.1, 1, 10)),
  # Table 2's mechanism MLPs with 2 or 3 hidden layers have no equivalent:
  # gim_fit()'s mechanisms have one hidden layer (see ?gim_grid).
  sciplex = list(mechanism_hidden = 20L,
                 gim_hidden = list(100L, c(100L, 100L), c(100L, 100L, 100L)),
                 beta_M = c(0.1, 1, 10), beta_I = c(0.1, 1, 10))
)

# gim_control() arguments that a grid may set.
tunable_arguments <- function() setdiff(names(formals(gim_control)), "n_threads")

# A named list of value sets -> a data frame of their combinations.
expand_grid_values <- function(values, arg, call = rlang::caller_env()) {
  if (!length(values)) {
    cli::cli_abort("{.arg {arg}} must name at least one {.fn gim_control} argument to vary.",
                   call = call)
  }
  nm <- names(values)
  if (is.null(nm) || anyNA(nm) || any(nm == "")) {
    cli::cli_abort("Every element of {.arg {arg}} must be named by a {.fn gim_control} argument.",
                   call = call)
  }
  check_grid_names(nm, arg, call)
  empty <- nm[lengths(values) == 0L]
  if (length(empty)) {
    cli::cli_abort("{.arg {arg}} gives no values for {.field {empty}}.", call = call)
  }
  for (v in nm) {
    if (!is.atomic(values[[v]]) && !is.list(values[[v]])) {
      cli::cli_abort(paste("{.arg {arg}}: {.field {v}} must be a vector or a list of",
                           "values, not {.obj_type_friendly {values[[v]]}}."), call = call)
    }
    # Each value alone must be a valid gim_control() setting, so that a
    # wrong value fails here and not in the middle of gim_tune().
    for (value in as.list(values[[v]])) {
      tryCatch(do.call(gim_control, stats::setNames(list(value), v)),
               error = function(err) {
                 cli::cli_abort(c("{.arg {arg}}: a value of {.arg {v}} is not a valid {.fn gim_control} setting.",
                                  "x" = conditionMessage(err)), call = call)
               })
    }
  }
  index <- expand.grid(lapply(values, seq_along), KEEP.OUT.ATTRS = FALSE)
  out <- data.frame(row.names = seq_len(nrow(index)))
  for (v in nm) {
    picked <- values[[v]][index[[v]]]
    # A list whose values are all single atoms is a plain column; vectors
    # (gim_hidden = c(100, 100)) need a list column.
    if (is.list(picked) && all(vapply(picked, function(e) is.atomic(e) && length(e) == 1L,
                                      logical(1)))) {
      picked <- unlist(picked, use.names = FALSE)
    }
    out[[v]] <- if (is.list(picked)) I(unname(picked)) else picked
  }
  rownames(out) <- NULL
  out
}

check_grid_names <- function(nm, arg, call) {
  if ("n_threads" %in% nm) {
    cli::cli_abort(c("{.arg {arg}} cannot tune {.field n_threads}: results do not depend on it.",
                     "i" = "Use the {.arg n_threads} argument of {.fn gim_tune}."),
                   call = call)
  }
  unknown <- setdiff(nm, tunable_arguments())
  if (length(unknown)) {
    cli::cli_abort(c("{.arg {arg}} names {cli::qty(length(unknown))}{?an argument/arguments} that {.fn gim_control} does not have: {.field {unknown}}.",
                     "i" = "See {.help perturbgim::gim_control} for the settings."),
                   call = call)
  }
  if (anyDuplicated(nm)) {
    cli::cli_abort("{.arg {arg}} names {.field {unique(nm[duplicated(nm)])}} more than once.",
                   call = call)
  }
}

# The `grid` argument of gim_tune() (a preset name, a data frame or a list of
# value sets) -> a data frame, each row checked by gim_control() on top of
# the base `control`. Returns the grid and one gim_control per row.
resolve_grid <- function(grid, control, call = rlang::caller_env()) {
  if (is.character(grid) && length(grid) == 1L && !is.na(grid)) {
    if (!grid %in% names(grid_presets)) {
      cli::cli_abort("{.arg grid} must be {.or {.val {names(grid_presets)}}} when it is a preset name, not {.val {grid}}.",
                     call = call)
    }
    grid <- gim_grid(grid)
  } else if (is.data.frame(grid)) {
    if (nrow(grid) < 1L || ncol(grid) < 1L) {
      cli::cli_abort("{.arg grid} must have at least one row and one column.", call = call)
    }
    nm <- names(grid)
    check_grid_names(nm, "grid", call)
    grid <- as.data.frame(grid)
    # expand.grid() makes factors of strings; gim_control() wants strings.
    for (v in names(grid)) {
      if (is.factor(grid[[v]])) grid[[v]] <- as.character(grid[[v]])
    }
    rownames(grid) <- NULL
  } else if (is.list(grid) && !inherits(grid, "gim_control")) {
    grid <- expand_grid_values(grid, "grid", call)
  } else {
    cli::cli_abort(paste("{.arg grid} must be a data frame of {.fn gim_control} arguments,",
                         "a named list of values to cross or a preset name, not",
                         "{.obj_type_friendly {grid}}."), call = call)
  }
  base <- unclass(control)
  controls <- lapply(seq_len(nrow(grid)), function(i) {
    args <- base
    for (v in names(grid)) {
      value <- grid[[v]][[i]]
      args[v] <- list(value)
    }
    # By name, so that the error reads "in `gim_control()`".
    tryCatch(do.call("gim_control", args),
             error = function(e) {
               # gim_control()'s checks name their caller's caller (here an
               # anonymous function); say which function refused the value.
               e$call <- quote(gim_control())
               cli::cli_abort("Row {i} of {.arg grid} is not a valid setting.",
                              parent = e, call = call)
             })
  })
  list(grid = grid, controls = controls)
}
