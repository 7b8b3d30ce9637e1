#' Evaluate predicted distributions against observed cells, context by context
#'
#' Computes the distributional metrics of the paper for every context
#' (perturbation) at once and returns one tidy table.
#'
#' Metrics (columns of the result):
#' * `w2`: entropic Wasserstein-2 distance, [sinkhorn_w2()];
#' * `mean_distance`: [mean_distance()];
#' * `kde_nll`: negative log-likelihood of the observed cells under a Gaussian
#'   KDE of the predicted ones, [kde_nll()];
#' * `energy_distance`: [energy_distance()];
#' * `pearson_delta`: [pearson_delta()], only when `control` is given.
#'
#' Warnings raised by a metric for single contexts (a singular KDE bandwidth, a
#' Sinkhorn run that did not converge) are gathered into one warning that
#' names the contexts.
#'
#' @param predicted,observed Named lists of sample matrices (samples in rows,
#'   variables in columns; numeric matrices, data frames of numbers or sparse
#'   `Matrix` objects), one element per context. Every context of `observed`
#'   needs a prediction of the same name; predictions for other contexts are
#'   ignored. Two matrices are taken as a single context.
#' @param control Control samples for `pearson_delta`: one matrix shared by all
#'   contexts, or a named list with one matrix per context. `NULL` skips that
#'   metric.
#' @param metrics Which metrics to compute; by default all that apply.
#' @param epsilon Entropic regularisation of `w2`, passed to [sinkhorn_w2()].
#' @param n_threads Number of threads; results do not depend on it.
#' @param progress Show a progress bar (cli) over contexts.
#' @return A data frame with one row per context of `observed`: `context`,
#'   `n_predicted`, `n_observed` and one column per metric.
#' @family metrics
#' @examples
#' set.seed(1)
#' observed <- list(
#'   drug_a = matrix(rnorm(150, mean = 1), 50, 3),
#'   drug_b = matrix(rnorm(150, mean = -1), 50, 3)
#' )
#' predicted <- list(
#'   drug_a = matrix(rnorm(150, mean = 0.8), 50, 3),
#'   drug_b = matrix(rnorm(150, mean = 0), 50, 3)
#' )
#' control <- matrix(rnorm(150), 50, 3)
#' gim_evaluate(predicted, observed, control = control)
#' @export
gim_evaluate <- function(predicted, observed, control = NULL,
                         metrics = c("w2", "mean_distance", "kde_nll",
                                     "energy_distance", "pearson_delta"),
                         epsilon = 0.1, n_threads = default_threads(),
                         progress = interactive()) {
  all_metrics <- eval(formals(sys.function())$metrics)
  explicit_metrics <- !missing(metrics)
  metrics <- arg_match_checked(metrics, all_metrics, multiple = TRUE)
  if (is.null(control)) {
    if (explicit_metrics && "pearson_delta" %in% metrics) {
      cli::cli_abort("{.arg control} is needed for the {.val pearson_delta} metric.")
    }
    metrics <- setdiff(metrics, "pearson_delta")
  }
  epsilon <- check_positive_number(epsilon)
  n_threads <- resolve_threads(n_threads)
  check_flag(progress)

  observed <- as_context_list(observed)
  predicted <- as_context_list(predicted)
  contexts <- names(observed)
  missing_pred <- setdiff(contexts, names(predicted))
  if (length(missing_pred)) {
    cli::cli_abort(c("{.arg predicted} has no samples for some observed contexts.",
                     "x" = "Missing: {.val {missing_pred}}."))
  }
  control <- control_for_contexts(control, contexts)

  rows <- vector("list", length(contexts))
  notes <- list()
  if (progress) {
    cli::cli_progress_bar("Evaluating contexts", total = length(contexts))
  }
  for (k in seq_along(contexts)) {
    ctx <- contexts[[k]]
    p <- as_sample_matrix(predicted[[ctx]], sprintf("predicted[[\"%s\"]]", ctx))
    o <- as_sample_matrix(observed[[ctx]], sprintf("observed[[\"%s\"]]", ctx))
    check_same_variables(p, o, sprintf("predicted[[\"%s\"]]", ctx),
                         sprintf("observed[[\"%s\"]]", ctx))
    values <- list(context = ctx, n_predicted = nrow(p), n_observed = nrow(o))
    record <- function(w) {
      notes[[length(notes) + 1L]] <<- list(context = ctx,
                                           message = conditionMessage(w))
      invokeRestart("muffleWarning")
    }
    withCallingHandlers({
      if ("w2" %in% metrics) {
        values$w2 <- sinkhorn_w2(p, o, epsilon = epsilon, n_threads = n_threads)
      }
      if ("mean_distance" %in% metrics) {
        values$mean_distance <- mean_distance(p, o)
      }
      if ("kde_nll" %in% metrics) {
        values$kde_nll <- kde_nll(p, o, n_threads = n_threads)
      }
      if ("energy_distance" %in% metrics) {
        values$energy_distance <- energy_distance(p, o, n_threads = n_threads)
      }
      if ("pearson_delta" %in% metrics) {
        ctl <- as_sample_matrix(control[[ctx]], sprintf("control[[\"%s\"]]", ctx))
        check_same_variables(p, ctl, sprintf("predicted[[\"%s\"]]", ctx),
                             sprintf("control[[\"%s\"]]", ctx))
        values$pearson_delta <- pearson_delta(p, o, ctl)
      }
    }, warning = record)
    rows[[k]] <- values
    if (progress) cli::cli_progress_update()
  }
  if (progress) cli::cli_progress_done()
  warn_gathered(notes)
  out <- do.call(rbind, lapply(rows, as.data.frame, stringsAsFactors = FALSE))
  rownames(out) <- NULL
  out
}

# A named list of sample matrices; two bare matrices are one context.
as_context_list <- function(x, arg = rlang::caller_arg(x),
                            call = rlang::caller_env()) {
  if (is.matrix(x) || is.data.frame(x) || methods::is(x, "Matrix")) {
    x <- list(context = x)
  }
  if (!is.list(x) || length(x) == 0L) {
    cli::cli_abort(paste("{.arg {arg}} must be a non-empty named list of sample",
                         "matrices, one per context."), call = call)
  }
  nm <- names(x)
  if (is.null(nm) || anyNA(nm) || any(nm == "")) {
    cli::cli_abort("Every element of {.arg {arg}} must be named by its context.",
                   call = call)
  }
  if (anyDuplicated(nm)) {
    cli::cli_abort("{.arg {arg}} names context{?s} {.val {unique(nm[duplicated(nm)])}} more than once.",
                   call = call)
  }
  x
}

control_for_contexts <- function(control, contexts, call = rlang::caller_env()) {
  if (is.null(control)) return(NULL)
  if (is.matrix(control) || is.data.frame(control) || methods::is(control, "Matrix")) {
    return(stats::setNames(rep(list(control), length(contexts)), contexts))
  }
  control <- as_context_list(control, "control", call = call)
  missing_ctl <- setdiff(contexts, names(control))
  if (length(missing_ctl)) {
    cli::cli_abort(c("{.arg control} has no samples for some observed contexts.",
                     "x" = "Missing: {.val {missing_ctl}}."), call = call)
  }
  control
}

# One warning for all contexts that raised one, grouped by message.
warn_gathered <- function(notes) {
  if (!length(notes)) return(invisible())
  msgs <- vapply(notes, `[[`, character(1), "message")
  ctxs <- vapply(notes, `[[`, character(1), "context")
  bullets <- vapply(unique(msgs), function(m) {
    cli::format_inline("{.val {unique(ctxs[msgs == m])}}: {m}")
  }, character(1))
  # The messages were formatted once already; keep cli from reading braces.
  bullets <- gsub("}", "}}", gsub("{", "{{", bullets, fixed = TRUE), fixed = TRUE)
  names(bullets) <- rep("!", length(bullets))
  cli::cli_warn(c("Some metrics warned for some contexts:", bullets))
}
