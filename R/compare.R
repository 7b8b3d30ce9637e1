# gim_compare(): GIM and the baselines fitted on one split, their
# predictions for the held-out contexts scored by gim_evaluate(), in one
# table.

#' Compare GIM with the baselines on held-out contexts
#'
#' Holds out the cells of the `test` contexts, fits a GIM ([gim_fit()]) and
#' the baselines of [fit_baseline()] on the remaining cells, predicts the
#' held-out contexts from their feature rows, and scores every prediction
#' against the held-out cells with [gim_evaluate()].
#'
#' @details
#' **Split.** The cells of the `test` contexts are removed from the training
#' data; their rows of `features` are used only for prediction. The training
#' data must keep at least one perturbed context and the observational cells
#' (contexts without a feature row).
#'
#' **Predictions.** Each method predicts `n` cells per test context (by
#' default as many as were observed): `"gim"` samples from the fitted model
#' ([predict.gim()]); the baselines resample training cells (see
#' [predict.perturbgim_baseline()]). The `"naive"` baseline needs, for every
#' test context, a training context of the same perturbation at a lower dose
#' (found from the dose columns of `features`, see [fit_baseline()]) or a
#' `reference`; on features without dose columns, such as those of
#' [simulate_gim_benchmark()], give `reference` or leave it out of
#' `methods`.
#'
#' **Scores.** `pearson_delta` takes the observational training cells as
#' the control. Randomness comes from R's generator throughout, so
#' `set.seed()` reproduces the whole table.
#'
#' **Failures.** A method that fails (in fitting, predicting or scoring)
#' does not stop the others: with `on_error = "warn"` (the default) its rows
#' hold `NA` scores, its error message is kept in attribute `"errors"`, and
#' one warning at the end names every failed method and its message. With
#' `on_error = "stop"` the first failure is an error.
#'
#' @param x Expression matrix, cells in rows (numeric matrix, data frame or
#'   `dgCMatrix`), as for [gim_fit()].
#' @param ... Arguments for methods; must be empty for the default method.
#' @param context One label per cell (character or factor).
#' @param features Numeric matrix, one row per perturbed context (test
#'   contexts included), rownames the context labels.
#' @param test The held-out contexts: labels of perturbed contexts (rows of
#'   `features`).
#' @param methods Which models to compare, any of `"gim"`,
#'   `"observational"`, `"naive"`, `"mlp_shift"` and `"additive"`; the rows
#'   of the result follow this order.
#' @param mechanism,intervention,control Passed to [gim_fit()].
#' @param baseline_control Settings of the baselines, from
#'   [baseline_control()].
#' @param n Cells predicted per test context: `NULL` (as many as observed),
#'   one whole number, or one per test context.
#' @param metrics Scores to compute, passed to [gim_evaluate()].
#' @param reference For the `"naive"` baseline: `NULL`, or the training
#'   context(s) that predict each test context, a character vector (or list)
#'   named by test contexts; see [predict.perturbgim_baseline()].
#' @param on_error `"warn"` (`NA` rows and a warning) or `"stop"` when a
#'   method fails; see Details.
#' @param verbose Report each method as it is fitted, and show the GIM's
#'   progress bar.
#' @return A data frame of class `perturbgim_comparison`, one row per method
#'   and test context: `method`, then the columns of [gim_evaluate()]
#'   (`context`, `n_predicted`, `n_observed` and one per metric). Attribute
#'   `"fits"` is a named list of the fitted models (`gim` and
#'   `perturbgim_baseline` objects; `NULL` for a failed method), attribute
#'   `"errors"` a named character vector of the failed methods' messages
#'   (empty when none failed). Its print method shows the median score of
#'   each method over the test contexts; `as.data.frame()` gives the plain
#'   table.
#' @references Schneider, N., Lorch, L., Kilbertus, N., Schölkopf, B. and
#'   Krause, A. (2025). Generative intervention models for causal perturbation
#'   modeling. *ICML 2025*. \doi{10.48550/arXiv.2503.19149}
#' @seealso [gim_evaluate()], [fit_baseline()], [gim_fit()]
#' @family baselines
#' @examples
#' set.seed(1)
#' bench <- simulate_gim_benchmark(d = 5, n_perturbations = 4,
#'                                 n_test_perturbations = 1, n_cells = 20,
#'                                 n_observational = 60, n_components = 3)
#' tr <- bench$train
#' test <- c("P1_c2", "P3_c2")
#' # The naive baseline predicts each drug at dosage 2 by its cells at 1.5.
#' res <- gim_compare(tr$x, tr$context, tr$features, test = test,
#'                    mechanism = "linear",
#'                    control = gim_control(steps = 100, n_mc = 4, gim_hidden = 10,
#'                                          n_threads = 1),
#'                    baseline_control = baseline_control(hidden = 10, steps = 200),
#'                    reference = c(P1_c2 = "P1_c1.5", P3_c2 = "P3_c1.5"),
#'                    metrics = c("mean_distance", "pearson_delta"),
#'                    verbose = FALSE)
#' res
#' as.data.frame(res)
#' attr(res, "fits")$additive
#' @export
gim_compare <- function(x, ...) UseMethod("gim_compare")

#' @rdname gim_compare
#' @export
gim_compare.default <- function(x, context, features, test,
                                methods = c("gim", "observational", "naive",
                                            "mlp_shift", "additive"),
                                mechanism = c("mlp", "linear", "zilognormal"),
                                intervention = c("hard", "shift"),
                                control = gim_control(),
                                baseline_control = perturbgim::baseline_control(),
                                n = NULL,
                                metrics = c("w2", "mean_distance", "kde_nll",
                                            "energy_distance", "pearson_delta"),
                                reference = NULL, on_error = c("warn", "stop"),
                                verbose = TRUE, ...) {
  rlang::check_dots_empty()
  methods <- unique(arg_match_checked(methods, multiple = TRUE))
  mechanism <- arg_match_checked(mechanism)
  intervention <- arg_match_checked(intervention)
  metrics <- arg_match_checked(metrics, multiple = TRUE)
  on_error <- arg_match_checked(on_error)
  if (!inherits(control, "gim_control")) {
    cli::cli_abort("{.arg control} must be made by {.fn gim_control}, not {.obj_type_friendly {control}}.")
  }
  if (!inherits(baseline_control, "perturbgim_baseline_control")) {
    cli::cli_abort(paste("{.arg baseline_control} must be made by",
                         "{.fn baseline_control}, not {.obj_type_friendly {baseline_control}}."))
  }
  check_flag(verbose)
  if (!is.null(reference) && !"naive" %in% methods) {
    cli::cli_abort("{.arg reference} is only used by the {.val naive} method, which is not in {.arg methods}.")
  }
  split <- compare_split(x, context, features, test)
  test <- split$test
  n <- if (is.null(n)) split$n_observed else
    check_context_counts(n, test, min = 1L)

  fits <- stats::setNames(vector("list", length(methods)), methods)
  tables <- fits
  errors <- character(0)
  for (method in methods) {
    if (verbose) cli::cli_inform("Fitting and scoring {.val {method}}.")
    result <- tryCatch(
      compare_one(method, split, n, mechanism, intervention, control,
                  baseline_control, metrics, reference, verbose),
      error = function(e) {
        if (on_error == "stop") {
          cli::cli_abort("Method {.val {method}} failed.", parent = e)
        }
        errors[[method]] <<- conditionMessage(e)
        NULL
      }
    )
    if (is.null(result)) {
      tables[[method]] <- compare_na_rows(method, test, split$n_observed, metrics)
    } else {
      fits[method] <- list(result$fit)
      tables[[method]] <- cbind(method = method, result$table,
                                stringsAsFactors = FALSE)
    }
  }
  if (length(errors)) {
    bullets <- vapply(names(errors), function(m) {
      msg <- gsub("\n", " ", errors[[m]], fixed = TRUE)
      cli::format_inline("{.val {m}}: {msg}")
    }, character(1))
    bullets <- gsub("}", "}}", gsub("{", "{{", bullets, fixed = TRUE), fixed = TRUE)
    names(bullets) <- rep("x", length(bullets))
    cli::cli_warn(c("{cli::qty(length(errors))}Method{?s} {.val {names(errors)}} failed; {?its/their} scores are NA.",
                    bullets),
                  class = "perturbgim_compare_failed")
  }
  out <- do.call(rbind, unname(tables))
  rownames(out) <- NULL
  structure(out, fits = fits, errors = errors,
            class = c("perturbgim_comparison", "data.frame"))
}

# Training and test data: the test contexts' cells are taken out of the
# training set, their feature rows kept apart for prediction.
compare_split <- function(x, context, features, test, call = rlang::caller_env()) {
  x <- as_sample_matrix(x, "x", min_rows = 2L, call = call)
  if (is.null(colnames(x))) colnames(x) <- paste0("x", seq_len(ncol(x)))
  context <- check_context(context, nrow(x), call = call)
  features <- check_features(features, context, call = call)
  if (is.factor(test)) test <- as.character(test)
  if (!is.character(test) || !length(test)) {
    cli::cli_abort(paste("{.arg test} must be a character vector of context",
                         "labels, not {describe_value(test)}."), call = call)
  }
  if (anyNA(test)) {
    cli::cli_abort("{.arg test} must not contain NA.", call = call)
  }
  if (anyDuplicated(test)) {
    cli::cli_abort("{.arg test} names {.val {unique(test[duplicated(test)])}} more than once.",
                   call = call)
  }
  unknown <- setdiff(test, rownames(features))
  if (length(unknown)) {
    cli::cli_abort(c(
      "{.arg test} must name perturbed contexts (rows of {.arg features}).",
      "x" = "{.val {unknown}} {?is/are} not {?a row/rows} of {.arg features}.",
      "i" = "Perturbed contexts: {.val {utils::head(rownames(features), 10)}}."
    ), call = call)
  }
  train_features <- features[!rownames(features) %in% test, , drop = FALSE]
  if (!nrow(train_features)) {
    cli::cli_abort(c("{.arg test} holds out every perturbed context.",
                     "i" = "At least one must stay for training."), call = call)
  }
  observational <- !context %in% rownames(features)
  if (!any(observational)) {
    cli::cli_abort(c("No observational cells: every context has a row in {.arg features}.",
                     "i" = "Contexts without a feature row are taken as observational."),
                   call = call)
  }
  in_test <- context %in% test
  observed <- lapply(stats::setNames(test, test), function(label) {
    x[context == label, , drop = FALSE]
  })
  list(x = x[!in_test, , drop = FALSE], context = context[!in_test],
       features = train_features,
       test = test, test_features = features[test, , drop = FALSE],
       observed = observed,
       n_observed = vapply(observed, nrow, integer(1), USE.NAMES = FALSE),
       control = x[observational, , drop = FALSE])
}

# Fit, predict and score one method.
compare_one <- function(method, split, n, mechanism, intervention, control,
                        baseline_control, metrics, reference, verbose) {
  if (method == "gim") {
    fit <- gim_fit(split$x, split$context, split$features, mechanism = mechanism,
                   intervention = intervention, control = control,
                   verbose = verbose)
    pred <- stats::predict(fit, split$test_features, n = n)
  } else {
    fit <- fit_baseline(split$x, split$context, split$features, method = method,
                        control = baseline_control)
    pred <- stats::predict(fit, split$test_features, n = n,
                           reference = if (method == "naive") reference)
  }
  labels <- attr(pred, "context")
  predicted <- lapply(stats::setNames(split$test, split$test), function(label) {
    p <- pred[labels == label, , drop = FALSE]
    attributes(p) <- list(dim = dim(p), dimnames = dimnames(p))
    p
  })
  table <- gim_evaluate(predicted, split$observed, control = split$control,
                        metrics = metrics,
                        n_threads = control$n_threads %||% default_threads(),
                        progress = FALSE)
  list(fit = fit, table = table)
}

# The rows of a failed method: the observed counts and NA scores, in the
# columns gim_evaluate() would have given.
compare_na_rows <- function(method, test, n_observed, metrics) {
  out <- data.frame(method = method, context = test, n_predicted = NA_integer_,
                    n_observed = n_observed, stringsAsFactors = FALSE)
  for (m in metrics) out[[m]] <- NA_real_
  out
}

#' @export
print.perturbgim_comparison <- function(x, digits = 3, ...) {
  df <- as.data.frame(x)
  fixed <- c("method", "context", "n_predicted", "n_observed")
  if (!all(c("method", "context") %in% names(df))) {
    print(df, ...)
    return(invisible(x))
  }
  metric_cols <- setdiff(names(df), fixed)
  methods <- unique(df$method)
  contexts <- unique(df$context)
  cat(sprintf("<perturbgim_comparison> %d method%s on %d held-out context%s: %s\n",
              length(methods), if (length(methods) == 1L) "" else "s",
              length(contexts), if (length(contexts) == 1L) "" else "s",
              paste0(paste(utils::head(contexts, 6), collapse = ", "),
                     if (length(contexts) > 6) ", ..." else "")))
  if (length(metric_cols)) {
    med <- data.frame(method = methods, stringsAsFactors = FALSE)
    for (m in metric_cols) {
      med[[m]] <- vapply(methods, function(k) {
        stats::median(df[[m]][df$method == k])
      }, numeric(1), USE.NAMES = FALSE)
    }
    cat("Median over contexts:\n")
    print(med, digits = digits, row.names = FALSE)
  }
  errors <- attr(x, "errors")
  if (length(errors)) {
    cat(sprintf("Failed: %s (see attr(, \"errors\"))\n",
                paste(names(errors), collapse = ", ")))
  }
  cat("One row per method and context: as.data.frame(); fitted models: attr(, \"fits\")\n")
  invisible(x)
}
