# gim_tune(): fit one GIM per grid row on the training contexts, score its
# predictions for held-out (validation) contexts, pick the best row. The fits
# run through BiocParallel when a BPPARAM is given; every task carries its own
# seed, so the table does not depend on the backend.

#' Tune a GIM on held-out perturbations
#'
#' Searches a grid of [gim_control()] settings as the paper does (Schneider
#' et al. 2025, appendix D.6): for every row of `grid` a GIM is fitted on the
#' cells of the training contexts, its predictions for the held-out
#' validation perturbations are compared with their observed cells, and the
#' row with the lowest mean KDE negative log-likelihood ([kde_nll()]) over
#' the validation contexts is selected. The fits run serially, on local
#' cores, on several machines or on a cluster scheduler through
#' BiocParallel, with the same results on every backend.
#'
#' @details
#' **Validation contexts.** Perturbed contexts (rows of `features`) are held
#' out whole: their cells are not used for fitting, and the prediction for
#' their features is scored against their cells, as for unseen perturbations.
#' `validation` is either their labels, or a fraction: then
#' `max(1, round(validation * K))` of the `K` perturbed contexts are drawn at
#' random with R's generator (`sample()`, so `set.seed()` before the call
#' fixes them). At least one perturbed context must stay for training.
#' Observational contexts always stay in training. For SciPlex-like data the
#' paper holds out one drug at the highest dose; pass those labels.
#'
#' **Scores.** Each fit predicts `n` cells per validation context
#' ([predict.gim()]) and [gim_evaluate()] computes `metrics` context by
#' context (per-context values in `scores` of the result). The table
#' `results` holds their means over the validation contexts, and the row
#' with the lowest mean `select` is the best (the first one on ties). All
#' metrics offered are "lower is better".
#'
#' **Reproducibility.** Before any fit, one seed per grid row (and one for
#' the refit) is drawn from R's generator with `sample.int()`. Each task sets
#' its seed, with the caller's [RNGkind()], before fitting, so a row's fit,
#' predictions and scores are the same whether it runs in this session, in a
#' forked process or on another machine, and whichever other rows run
#' there. The generator state of the process running a task is restored
#' afterwards. `set.seed()` before `gim_tune()` therefore reproduces the whole
#' table on any backend. Wall times are not part of `results` (they differ
#' between runs); they are in `seconds`.
#'
#' **Parallel backends.** `BPPARAM = NULL` runs the fits one after another in
#' this R session with [lapply()] and does not need BiocParallel; the results
#' are those of `BiocParallel::SerialParam()`. Any other value is a
#' BiocParallel back-end (BiocParallel is suggested, not required):
#' `MulticoreParam()` (forked processes on this machine, not on Windows),
#' `SnowParam()` (socket workers, local or on other machines),
#' `BatchtoolsParam()` (jobs on a scheduler such as SLURM), ... Set
#' `progressbar = TRUE` on it for a progress bar. Workers that are new R
#' processes load perturbgim themselves: it must be installed where they run.
#' The caller's [.libPaths()] are put in front of the worker's while it loads
#' the package (paths that do not exist there are ignored), so local workers
#' find a package installed in a personal library even without `R_LIBS`;
#' workers must run the same perturbgim version as the caller (checked).
#'
#' **Threads.** Each task fits with `n_threads` OpenMP threads (default 1),
#' whatever `control$n_threads` says: the back-end already runs one task per
#' worker, and several multi-threaded fits per machine would compete for the
#' same cores (workers x threads), which is slower than either alone.
#' Results do not depend on the thread count. With few workers and many
#' cores per worker, raise `n_threads`.
#'
#' **Failures.** A row whose fit or prediction fails gets `NA` scores and the
#' error message in column `error`; the other rows are still scored (an
#' error of the back-end itself, such as a worker that cannot load
#' perturbgim, stops the call). Warnings raised while fitting and scoring a
#' row (cyclic point estimates broken by [causal_graph()], singular KDE
#' bandwidths, ...) are gathered into one warning naming the rows, and kept
#' in full in `warnings` of the result.
#'
#' **Refit.** With `refit = TRUE` the best setting is fitted once more on all
#' cells, validation contexts included, in this session with
#' `control$n_threads` threads, and returned as `fit`; that is the model to
#' use for predictions, since it has seen every perturbation.
#'
#' @inheritParams gim_fit
#' @param grid The settings to try: a data frame with one column per
#'   [gim_control()] argument and one row per setting (e.g. from
#'   [gim_grid()]), a named list of values to cross (as `...` of
#'   [gim_grid()]), or a preset name, `"synthetic"` or `"sciplex"`.
#' @param validation Held-out perturbed contexts: their labels (rownames of
#'   `features`), or a fraction in `(0, 1)` of the perturbed contexts drawn at
#'   random (default `0.2`); see Details.
#' @param control Base settings, a [gim_control()] list; each row of `grid`
#'   overrides the arguments it names.
#' @param n Cells sampled per validation context from each fit.
#' @param metrics Metrics of [gim_evaluate()] to compute: any of `"kde_nll"`,
#'   `"mean_distance"`, `"w2"` and `"energy_distance"`.
#' @param select The metric (lower is better) whose mean over the validation
#'   contexts selects the best row; the paper uses `"kde_nll"`. It is
#'   computed even when not in `metrics`.
#' @param refit Whether to fit the best setting on all data (see Details).
#' @param n_threads OpenMP threads per fit in each task (see Details).
#' @param BPPARAM `NULL` (serial, without BiocParallel) or a BiocParallel
#'   back-end such as `BiocParallel::SerialParam()`,
#'   `BiocParallel::MulticoreParam(2)` or `BiocParallel::SnowParam(2)`.
#' @param verbose Report the split, the back-end and the selected row.
#' @return An object of class `gim_tune`, a list with
#' * `results`: a data frame, the columns of `grid`, the mean of each metric
#'   over the validation contexts, and `error` (`NA`, or the message of a
#'   failed row);
#' * `best`: the selected row of `results`;
#' * `control`: the [gim_control()] settings of that row (with
#'   `control$n_threads` of the base settings);
#' * `scores`: per-context metrics, a data frame with `row` (of `results`)
#'   and the columns of [gim_evaluate()];
#' * `validation`: the labels of the validation contexts;
#' * `seeds`: the seed of each row's task;
#' * `seconds`: the wall time of each row's task;
#' * `warnings`: a data frame of the warnings raised in the tasks, `row` and
#'   `message`;
#' * `fit`: the refitted `gim` (`refit = TRUE`) or `NULL`;
#' * `select`, `mechanism`, `intervention`, `call`.
#' @references Schneider, N., Lorch, L., Kilbertus, N., Schölkopf, B. and
#'   Krause, A. (2025). Generative intervention models for causal
#'   perturbation modeling. *ICML 2025*, appendix D.6.
#'   \doi{10.48550/arXiv.2503.19149}
#' @seealso [gim_grid()] for the paper's grids, [gim_evaluate()] for the
#'   metrics.
#' @family tuning
#' @examples
#' set.seed(1)
#' bench <- simulate_gim_benchmark(d = 5, n_perturbations = 4,
#'                                 n_test_perturbations = 1, n_cells = 15,
#'                                 n_observational = 60, n_components = 3)
#' tr <- bench$train
#' # Short illustrative fits (real ones train for thousands of steps).
#' tuned <- gim_tune(tr$x, tr$context, tr$features,
#'                   grid = gim_grid(beta_M = c(1, 50)), mechanism = "linear",
#'                   control = gim_control(steps = 50, n_mc = 4, gim_hidden = 8),
#'                   n = 100, verbose = FALSE)
#' tuned
#' tuned$control$beta_M
#' \dontrun{
#' # The same call on two local worker processes gives the same table.
#' gim_tune(tr$x, tr$context, tr$features, grid = gim_grid(beta_M = c(1, 50)),
#'          mechanism = "linear", control = gim_control(steps = 50, n_mc = 4),
#'          BPPARAM = BiocParallel::SnowParam(2))
#' }
#' @export
gim_tune <- function(x, context, features, grid, validation = 0.2,
                     mechanism = c("mlp", "linear", "zilognormal"),
                     intervention = c("hard", "shift"), control = gim_control(),
                     n = 1000L, metrics = c("kde_nll", "mean_distance"),
                     select = "kde_nll", refit = FALSE, n_threads = 1L,
                     BPPARAM = NULL, verbose = TRUE) {
  call <- match.call()
  mechanism <- arg_match_checked(mechanism)
  intervention <- arg_match_checked(intervention)
  if (!inherits(control, "gim_control")) {
    cli::cli_abort("{.arg control} must be made by {.fn gim_control}, not {.obj_type_friendly {control}}.")
  }
  if (missing(grid)) {
    cli::cli_abort(c("{.arg grid} is missing: give the settings to try.",
                     "i" = "E.g. {.code gim_grid(\"synthetic\")} or {.code list(beta_M = c(10, 50))}."))
  }
  tune_metrics <- c("kde_nll", "mean_distance", "w2", "energy_distance")
  metrics <- arg_match_checked(metrics, tune_metrics, multiple = TRUE)
  select <- arg_match_checked(select, tune_metrics)
  metrics <- union(select, metrics)
  n <- check_count(n, "n", min = 2L)
  check_flag(refit)
  check_flag(verbose)
  n_threads <- check_count(n_threads, "n_threads")
  check_bpparam(BPPARAM)

  x <- as_sample_matrix(x, "x", min_rows = 2L)
  context <- check_context(context, nrow(x))
  features <- check_features(features, context)
  if (mechanism == "zilognormal" && any(x < 0)) {
    cli::cli_abort("{.arg x} must be non-negative for {.val zilognormal} mechanisms.")
  }
  resolved <- resolve_grid(grid, control)
  grid <- resolved$grid

  # Random draws, all before any fit: the validation split, then the seeds.
  validation <- choose_validation(validation, rownames(features))
  seeds <- sample.int(.Machine$integer.max, nrow(grid) + 1L)
  data <- tune_data(x, context, features, validation, mechanism, intervention,
                    n, metrics, n_threads)
  tasks <- lapply(seq_len(nrow(grid)), function(i) {
    list(row = i, control = resolved$controls[[i]], seed = seeds[[i]])
  })
  if (verbose) {
    backend <- if (is.null(BPPARAM)) "serial (lapply)" else class(BPPARAM)[[1]]
    cli::cli_inform(c(
      "i" = "Tuning {nrow(grid)} setting{?s} on {nrow(features) - length(validation)} training perturbation{?s}; {length(validation)} validation context{?s}: {.val {validation}}.",
      "i" = "Back-end: {backend}; selecting by mean {.field {select}}."
    ))
  }
  out <- run_tune_tasks(tasks, data, BPPARAM, verbose)
  result <- tune_result(out, grid, metrics, select, validation, seeds, call,
                        mechanism, intervention)
  result$control <- resolved$controls[[result$best]]

  if (refit) {
    restore <- local_task_seed(seeds[[nrow(grid) + 1L]], data$rng_kind)
    result$fit <- tryCatch(
      gim_fit(x, context, features, mechanism = mechanism,
              intervention = intervention, control = result$control,
              verbose = verbose),
      finally = restore()
    )
  }
  if (verbose) {
    cli::cli_inform(c("v" = "Best: row {result$best}, mean {.field {select}} {format(result$results[[select]][[result$best]], digits = 5)}."))
  }
  result
}

check_bpparam <- function(BPPARAM, call = rlang::caller_env()) {
  if (is.null(BPPARAM)) return(invisible())
  if (!methods::is(BPPARAM, "BiocParallelParam")) {
    cli::cli_abort(c("{.arg BPPARAM} must be {.code NULL} or a BiocParallel back-end, not {.obj_type_friendly {BPPARAM}}.",
                     "i" = "E.g. {.code BiocParallel::SnowParam(2)}."), call = call)
  }
  if (!requireNamespace("BiocParallel", quietly = TRUE)) {
    cli::cli_abort("{.arg BPPARAM} needs the {.pkg BiocParallel} package.", call = call)
  }
  invisible()
}

# Labels, or a fraction of the perturbed contexts drawn with R's generator.
choose_validation <- function(validation, perturbed, call = rlang::caller_env()) {
  k <- length(perturbed)
  if (k < 2L) {
    cli::cli_abort(c("Tuning needs at least two perturbed contexts (rows of {.arg features}), not {k}.",
                     "i" = "One is held out for validation and one is needed for training."),
                   call = call)
  }
  if (is.factor(validation)) validation <- as.character(validation)
  if (is.character(validation)) {
    if (length(validation) < 1L || anyNA(validation) || anyDuplicated(validation)) {
      cli::cli_abort("{.arg validation} must be distinct context labels, not {describe_value(validation)}.",
                     call = call)
    }
    unknown <- setdiff(validation, perturbed)
    if (length(unknown)) {
      cli::cli_abort(c("{.arg validation} must name perturbed contexts (rownames of {.arg features}).",
                       "x" = "Not perturbed contexts: {.val {unknown}}."), call = call)
    }
    if (length(validation) >= k) {
      cli::cli_abort("{.arg validation} must leave at least one perturbed context for training.",
                     call = call)
    }
    # In the order of `features`, so the table does not depend on how they
    # were listed.
    return(perturbed[perturbed %in% validation])
  }
  if (!is.numeric(validation) || length(validation) != 1L || is.na(validation) ||
      validation <= 0 || validation >= 1) {
    cli::cli_abort("{.arg validation} must be context labels or a fraction in (0, 1), not {describe_value(validation)}.",
                   call = call)
  }
  size <- min(max(1L, round(validation * k)), k - 1L)
  perturbed[sort(sample.int(k, size))]
}

# Everything a task needs besides its row: the training cells, the
# validation features and cells, and the settings shared by all tasks.
tune_data <- function(x, context, features, validation, mechanism, intervention,
                      n, metrics, n_threads) {
  held <- context %in% validation
  observed <- lapply(validation, function(v) x[context == v, , drop = FALSE])
  names(observed) <- validation
  list(x = x[!held, , drop = FALSE], context = context[!held],
       features = features[!rownames(features) %in% validation, , drop = FALSE],
       new = features[validation, , drop = FALSE], observed = observed,
       mechanism = mechanism, intervention = intervention, n = n,
       metrics = metrics, n_threads = n_threads, rng_kind = RNGkind(),
       version = as.character(getNamespaceVersion("perturbgim")),
       libs = .libPaths())
}

run_tune_tasks <- function(tasks, data, BPPARAM, verbose) {
  if (!is.null(BPPARAM)) return(bplapply_package(tasks, "tune_task", data, BPPARAM))
  if (verbose) pb <- cli::cli_progress_bar("Fitting", total = length(tasks))
  lapply(tasks, function(task) {
    res <- tune_task(task, data)
    if (verbose) cli::cli_progress_update(id = pb)
    res
  })
}

# bplapply() of the package function `fun`(item, data). The worker function
# must not carry this package's namespace as its environment: a fresh worker
# would then fail to unserialise it before it could say why. It loads
# perturbgim itself (from the caller's libraries `data$libs` if need be).
bplapply_package <- function(items, fun, data, BPPARAM) {
  worker <- package_worker
  environment(worker) <- baseenv()
  BiocParallel::bplapply(items, worker, fun = fun, data = data, BPPARAM = BPPARAM)
}

# Runs in the worker, with the base environment as its enclosure.
package_worker <- function(item, fun, data) {
  if (!isNamespaceLoaded("perturbgim")) {
    old <- .libPaths()
    .libPaths(c(data$libs, old))
    on.exit(.libPaths(old), add = TRUE)
    if (!requireNamespace("perturbgim", quietly = TRUE)) {
      stop("package 'perturbgim' is not installed on this worker (",
           Sys.info()[["nodename"]], "; libraries: ",
           paste(.libPaths(), collapse = ", "),
           "). Install it there, or set R_LIBS for the workers.", call. = FALSE)
    }
  }
  get(fun, envir = asNamespace("perturbgim"))(item, data)
}

# One grid row: fit, predict the validation contexts, score them. Errors and
# warnings are caught here, so that they are the same on every back-end.
tune_task <- function(task, data) {
  here <- as.character(getNamespaceVersion("perturbgim"))
  if (!identical(here, data$version)) {
    stop("this worker runs perturbgim ", here, ", the caller ", data$version,
         "; results would not be reproducible.", call. = FALSE)
  }
  started <- proc.time()[["elapsed"]]
  restore <- local_task_seed(task$seed, data$rng_kind)
  on.exit(restore(), add = TRUE)
  control <- task$control
  control$n_threads <- resolve_threads(data$n_threads)
  warnings <- character()
  keep_warning <- function(w) {
    warnings <<- c(warnings, conditionMessage(w))
    invokeRestart("muffleWarning")
  }
  out <- tryCatch(withCallingHandlers({
    fit <- gim_fit(data$x, data$context, data$features,
                   mechanism = data$mechanism, intervention = data$intervention,
                   control = control, verbose = FALSE)
    pred <- predict(fit, data$new, n = data$n)
    labels <- factor(attr(pred, "context"), levels = rownames(data$new))
    predicted <- lapply(split(seq_len(nrow(pred)), labels),
                        function(i) unclass(pred)[i, , drop = FALSE])
    scores <- gim_evaluate(predicted, data$observed, metrics = data$metrics,
                           n_threads = control$n_threads, progress = FALSE)
    list(scores = scores, error = NA_character_)
  }, warning = keep_warning),
  error = function(e) list(scores = NULL, error = conditionMessage(e)))
  out$row <- task$row
  out$warnings <- unique(warnings)
  out$seconds <- proc.time()[["elapsed"]] - started
  out
}

# Sets R's generator to `seed` (with the caller's kinds) and returns a
# function that puts the previous state back.
local_task_seed <- function(seed, kind) {
  env <- globalenv()
  old <- get0(".Random.seed", envir = env, inherits = FALSE)
  set.seed(seed, kind = kind[[1]], normal.kind = kind[[2]], sample.kind = kind[[3]])
  function() {
    if (is.null(old)) {
      rm(".Random.seed", envir = env)
    } else {
      assign(".Random.seed", old, envir = env)
    }
  }
}

tune_result <- function(out, grid, metrics, select, validation, seeds, call,
                        mechanism, intervention) {
  rows <- seq_len(nrow(grid))
  results <- grid
  per_context <- lapply(out, function(o) {
    if (is.null(o$scores)) return(NULL)
    cbind(row = o$row, o$scores)
  })
  for (m in metrics) {
    results[[m]] <- vapply(out, function(o) {
      if (is.null(o$scores)) NA_real_ else mean(o$scores[[m]])
    }, numeric(1))
  }
  results$error <- vapply(out, `[[`, character(1), "error")
  scores <- do.call(rbind, per_context)
  if (is.null(scores)) {
    cli::cli_abort(c("Every setting of {.arg grid} failed.",
                     "x" = "Row 1: {results$error[[1]]}"), call = NULL)
  }
  rownames(scores) <- NULL
  failed <- rows[!is.na(results$error)]
  if (length(failed)) {
    cli::cli_warn(c("{length(failed)} setting{?s} of {.arg grid} failed and {?has/have} no scores: row{?s} {failed}.",
                    "i" = "See column {.field error} of {.code results}."))
  }
  warnings <- do.call(rbind, lapply(out, function(o) {
    if (length(o$warnings)) data.frame(row = o$row, message = o$warnings) else NULL
  }))
  if (is.null(warnings)) warnings <- data.frame(row = integer(), message = character())
  warn_tune_gathered(warnings)
  score <- results[[select]]
  best <- which(score == min(score, na.rm = TRUE))[[1]]
  structure(list(results = results, best = best, control = NULL,
                 scores = scores, validation = validation,
                 seeds = seeds[rows],
                 seconds = vapply(out, `[[`, numeric(1), "seconds"),
                 warnings = warnings, fit = NULL, select = select, mechanism = mechanism,
                 intervention = intervention, call = call),
            class = "gim_tune")
}

# One warning for all rows that warned: the headline of each message (its
# bullets often name edges or contexts, which differ from row to row), with
# the rows that raised it; at most `max_bullets` of them.
warn_tune_gathered <- function(warnings, max_bullets = 5L) {
  if (!nrow(warnings)) return(invisible())
  first <- vapply(warnings$message, message_headline, character(1), USE.NAMES = FALSE)
  heads <- unique(first)
  bullets <- vapply(heads, function(m) {
    rows <- sort(unique(warnings$row[first == m]))
    paste0("Row", if (length(rows) > 1L) "s" else "", " ",
           paste(rows, collapse = ", "), ": ", m)
  }, character(1), USE.NAMES = FALSE)
  more <- length(bullets) - max_bullets
  if (more > 0L) {
    bullets <- c(bullets[seq_len(max_bullets)], sprintf("... and %d more.", more))
  }
  # Already formatted text: keep cli from reading braces.
  bullets <- gsub("}", "}}", gsub("{", "{{", bullets, fixed = TRUE), fixed = TRUE)
  names(bullets) <- rep("!", length(bullets))
  cli::cli_warn(c("Some settings warned while fitting or scoring:", bullets,
                  "i" = "All messages: {.code $warnings} of the result."))
}

# The text of a (cli-formatted) message before its first bullet, unwrapped.
message_headline <- function(message) {
  lines <- strsplit(message, "\n", fixed = TRUE)[[1]]
  if (!length(lines)) return("")
  # cli's bullet marks, in UTF-8 and in ASCII.
  marks <- "^(\u2139|\u2716|\u2714|\u2022|\u2192|!|i|x|v|\\*|>) "
  bullet <- which(grepl(marks, lines))
  bullet <- bullet[bullet > 1L]
  keep <- if (length(bullet)) seq_len(bullet[[1]] - 1L) else seq_along(lines)
  paste(trimws(lines[keep]), collapse = " ")
}

#' @export
print.gim_tune <- function(x, ...) {
  res <- x$results
  cat(sprintf("<gim_tune> %d setting%s, %s mechanisms, %s interventions\n",
              nrow(res), if (nrow(res) == 1L) "" else "s", x$mechanism,
              x$intervention))
  cat(sprintf("  validation contexts (%d): %s\n", length(x$validation),
              paste(x$validation, collapse = ", ")))
  cat(sprintf("  selected by the mean %s over them (lower is better)\n\n", x$select))
  shown <- res
  for (v in names(shown)) {
    if (is.list(shown[[v]])) {
      shown[[v]] <- vapply(shown[[v]], paste, character(1), collapse = "-")
    }
  }
  if (all(is.na(shown$error))) shown$error <- NULL
  shown[[" "]] <- ifelse(seq_len(nrow(shown)) == x$best, "*", "")
  print(shown, digits = 5)
  cat(sprintf("\n* best: row %d%s\n", x$best,
              if (is.null(x$fit)) "" else "; refitted on all data in $fit"))
  invisible(x)
}
