#' Evaluate predicted distributions against observed cells, context by context
#'
#' Computes the distributional metrics of the paper for every context
#' (perturbation) at once and returns one tidy table; on request also the
#' metrics of current practice (Systema, the Virtual Cell Challenge), with
#' genes left out per context and scores rescaled between a baseline and a
#' replicate.
#'
#' Metrics (columns of the result), computed by default:
#' * `w2`: entropic Wasserstein-2 distance, [sinkhorn_w2()];
#' * `mean_distance`: [mean_distance()];
#' * `kde_nll`: negative log-likelihood of the observed cells under a Gaussian
#'   KDE of the predicted ones, [kde_nll()];
#' * `energy_distance`: [energy_distance()];
#' * `pearson_delta`: [pearson_delta()], only when `control` is given.
#'
#' Metrics of current practice, computed only when named in `metrics`:
#' * `pearson_delta_perturbed`: [pearson_delta()] with the mean of all
#'   perturbed cells (the observed cells of all contexts pooled, each cell
#'   weighing the same) in place of the control mean. A control-referenced
#'   Pearson delta rewards predicting the average effect of perturbation;
#'   this one asks for what sets the context apart from the others (Systema).
#' * `de_overlap`, `de_sign`: differential-expression agreement. The top
#'   `top_k` genes by absolute change of the mean against the mean of
#'   `control` (`min(top_k, genes)` when fewer genes are left; ties go to the
#'   earlier column) are taken once from the predicted and once from the
#'   observed cells. `de_overlap` is the fraction of the observed top genes
#'   that are also among the predicted ones; `de_sign` is the fraction of the
#'   observed top genes whose predicted change has the same sign as the
#'   observed one. Both need `control`.
#' * `discrimination`: perturbation discrimination. For each context, the
#'   distance between the mean of its predicted cells and the mean of its own
#'   observed cells is ranked among the distances between that predicted mean
#'   and the observed means of the other contexts:
#'   `(#closer + #tied / 2) / (contexts - 1)`, so 0 when its own observed
#'   cells are the closest and 1 when they are the farthest (about 0.5 for a
#'   prediction that does not tell contexts apart). The distance is the L1
#'   (Manhattan) distance between mean profiles, as in the Virtual Cell
#'   Challenge, or the Euclidean one (`discrimination_distance = "l2"`). It
#'   needs at least two contexts (`NA` with a warning otherwise).
#'
#' Higher is better for `pearson_delta`, `pearson_delta_perturbed`,
#' `de_overlap` and `de_sign`; lower is better for the others.
#'
#' **Genes left out.** `exclude_genes` names, per context, genes left out of
#' every metric of that context, typically the perturbed genes themselves,
#' whose change is trivial to predict. For `discrimination` they are left out
#' of every distance from that context's prediction; the reference of
#' `pearson_delta_perturbed` is computed on all genes and then restricted.
#'
#' **Rescaled scores.** With `baseline` (e.g. the mean of the training
#' perturbed cells, or [fit_baseline()]'s predictions) and `replicate` (e.g.
#' one half of the observed cells of each context when `observed` holds the
#' other half), every metric is also computed for the baseline and for the
#' replicate in the same way, and the result gains a column
#' `<metric>_scaled` = `(model - baseline) / (replicate - baseline)`: 0 is no
#' better than the baseline, 1 as good as a repeat of the experiment,
#' negative worse than the baseline. The ratio needs no sign change for
#' metrics where lower is better, since numerator and denominator change sign
#' together. It is `NA`, with a warning naming the contexts, where the
#' replicate and the baseline score the same (zero denominator) or where the
#' replicate scores worse than the baseline, since the scale then has no
#' meaning.
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
#' @param control Control (unperturbed) samples for `pearson_delta`,
#'   `de_overlap` and `de_sign`: one matrix shared by all contexts, or a named
#'   list with one matrix per context. `NULL` skips `pearson_delta`.
#' @param metrics Which metrics to compute, any of `"w2"`, `"mean_distance"`,
#'   `"kde_nll"`, `"energy_distance"`, `"pearson_delta"`,
#'   `"pearson_delta_perturbed"`, `"de_overlap"`, `"de_sign"` and
#'   `"discrimination"`; by default the first five (those that apply). The
#'   columns follow this order.
#' @param epsilon Entropic regularisation of `w2`, passed to [sinkhorn_w2()].
#' @param n_threads Number of threads; results do not depend on it.
#' @param progress Show a progress bar (cli) over contexts.
#' @param exclude_genes Genes left out of every metric, per context: `NULL`
#'   (none), a list named by context of gene names (column names) or column
#'   indices, or a named vector with one gene per element (names are
#'   contexts, and may repeat). Contexts not named keep every gene; names that
#'   are not contexts of `observed` are ignored.
#' @param top_k Number of top genes for `de_overlap` and `de_sign` (default
#'   20).
#' @param discrimination_distance Distance between mean profiles for
#'   `discrimination`: `"l1"` (default) or `"l2"`.
#' @param baseline,replicate Samples for rescaled scores, given together or
#'   not at all: each one matrix shared by all contexts, or a named list with
#'   one matrix per context, like `control`.
#' @return A data frame with one row per context of `observed`: `context`,
#'   `n_predicted`, `n_observed` and one column per metric; with `baseline`
#'   and `replicate` also one column `<metric>_scaled` per metric, and the
#'   tables of the baseline and of the replicate as attributes `"baseline"`
#'   and `"replicate"`.
#' @references Viñas Torné, R. et al. (2025). Systema: a framework for
#'   evaluating genetic perturbation response prediction beyond systematic
#'   variation. *Nature Biotechnology*. \doi{10.1038/s41587-025-02777-8}
#'
#'   Roohani, Y. H. et al. (2025). Virtual Cell Challenge: toward a Turing
#'   test for the virtual cell. *Cell* 188, 3370-3374.
#'   \doi{10.1016/j.cell.2025.06.008}
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
#'
#' # Metrics of current practice on four contexts of six genes, gene 1 left
#' # out of drug_a, scores rescaled between the mean of all perturbed cells
#' # (baseline) and a second draw of each context's cells (replicate); NA
#' # where the baseline already scores as well as the replicate
#' set.seed(2)
#' shift <- list(drug_a = c(2, 1, 0, 0, 0, 0), drug_b = c(0, 0, 2, -1, 0, 0),
#'               drug_c = c(0, -2, 0, 0, 1, 0), drug_d = c(0, 0, 0, 1, 0, -2))
#' draw <- function(m) matrix(rnorm(240), 40, 6) + rep(m, each = 40)
#' observed <- lapply(shift, draw)
#' predicted <- lapply(shift, function(m) draw(0.7 * m))
#' gim_evaluate(predicted, observed, control = draw(rep(0, 6)),
#'              metrics = c("mean_distance", "pearson_delta_perturbed",
#'                          "de_overlap", "de_sign", "discrimination"),
#'              exclude_genes = list(drug_a = 1), top_k = 2,
#'              baseline = do.call(rbind, lapply(shift, draw)),
#'              replicate = lapply(shift, draw))
#' @export
gim_evaluate <- function(predicted, observed, control = NULL,
                         metrics = c("w2", "mean_distance", "kde_nll",
                                     "energy_distance", "pearson_delta"),
                         epsilon = 0.1, n_threads = default_threads(),
                         progress = interactive(), exclude_genes = NULL,
                         top_k = 20L, discrimination_distance = c("l1", "l2"),
                         baseline = NULL, replicate = NULL) {
  explicit_metrics <- !missing(metrics)
  metrics <- arg_match_checked(metrics, evaluate_metrics, multiple = TRUE)
  metrics <- intersect(evaluate_metrics, metrics)
  if (is.null(control)) {
    need <- intersect(metrics, c("pearson_delta", "de_overlap", "de_sign"))
    if (explicit_metrics && length(need)) {
      cli::cli_abort("{.arg control} is needed for the {.val {need}} metric{?s}.")
    }
    metrics <- setdiff(metrics, "pearson_delta")
  }
  epsilon <- check_positive_number(epsilon)
  n_threads <- resolve_threads(n_threads)
  check_flag(progress)
  top_k <- check_count(top_k)
  discrimination_distance <- arg_match_checked(discrimination_distance)
  if (is.null(baseline) != is.null(replicate)) {
    given <- if (is.null(baseline)) "replicate" else "baseline"
    cli::cli_abort(c("{.arg baseline} and {.arg replicate} go together.",
                     "x" = "Only {.arg {given}} was given."))
  }

  observed <- as_context_list(observed)
  predicted <- as_context_list(predicted)
  contexts <- names(observed)
  check_covers_contexts(predicted, contexts, "predicted")
  control <- samples_for_contexts(control, contexts, "control")
  runs <- list(model = predicted)
  if (!is.null(baseline)) {
    runs$baseline <- samples_for_contexts(baseline, contexts, "baseline")
    runs$replicate <- samples_for_contexts(replicate, contexts, "replicate")
  }
  first <- as_sample_matrix(observed[[1L]], sprintf("observed[[\"%s\"]]", contexts[[1L]]))
  keep <- kept_genes(exclude_genes, contexts, colnames(first), ncol(first),
                     min_genes = if (any(grepl("^pearson", metrics))) 2L else 1L)
  reference <- if ("pearson_delta_perturbed" %in% metrics) pooled_mean(observed, first)
  setup <- list(observed = observed, control = control, contexts = contexts,
                metrics = metrics, keep = keep, reference = reference,
                top_k = top_k, epsilon = epsilon, n_threads = n_threads,
                l2 = discrimination_distance == "l2")

  if (progress) {
    cli::cli_progress_bar("Evaluating contexts",
                          total = length(contexts) * length(runs))
  }
  bar_env <- environment()
  tick <- function() if (progress) cli::cli_progress_update(.envir = bar_env)
  results <- lapply(names(runs), function(run) {
    evaluate_run(runs[[run]], if (run == "model") "predicted" else run, setup, tick)
  })
  names(results) <- names(runs)
  if (progress) cli::cli_progress_done()
  notes <- unlist(lapply(results, `[[`, "notes"), recursive = FALSE)
  out <- results$model$table
  if (!is.null(baseline)) {
    scaled <- rescale_scores(out, results$baseline$table,
                             results$replicate$table, metrics)
    notes <- c(notes, scaled$notes)
    out <- cbind(out, scaled$table)
    attr(out, "baseline") <- results$baseline$table
    attr(out, "replicate") <- results$replicate$table
  }
  warn_gathered(notes)
  out
}

# Metric names of gim_evaluate(), in column order, and those where higher is
# better.
evaluate_metrics <- c("w2", "mean_distance", "kde_nll", "energy_distance",
                      "pearson_delta", "pearson_delta_perturbed", "de_overlap",
                      "de_sign", "discrimination")
higher_is_better <- c("pearson_delta", "pearson_delta_perturbed", "de_overlap",
                      "de_sign")

# The metrics of one set of predictions (the model's, the baseline's or the
# replicate's) against the observed cells: a table and the warnings raised.
evaluate_run <- function(predicted, arg, setup, tick) {
  contexts <- setup$contexts
  metrics <- setup$metrics
  rows <- vector("list", length(contexts))
  notes <- list()
  means <- list()
  needs_control <- any(c("pearson_delta", "de_overlap", "de_sign") %in% metrics)
  label <- function(ctx) if (arg == "predicted") ctx else sprintf("%s (%s)", ctx, arg)
  for (k in seq_along(contexts)) {
    ctx <- contexts[[k]]
    p_arg <- sprintf("%s[[\"%s\"]]", arg, ctx)
    o_arg <- sprintf("observed[[\"%s\"]]", ctx)
    p <- as_sample_matrix(predicted[[ctx]], p_arg)
    o <- as_sample_matrix(setup$observed[[ctx]], o_arg)
    check_same_variables(p, o, p_arg, o_arg)
    values <- list(context = ctx, n_predicted = nrow(p), n_observed = nrow(o))
    if (needs_control) {
      c_arg <- sprintf("control[[\"%s\"]]", ctx)
      ctl <- as_sample_matrix(setup$control[[ctx]], c_arg)
      check_same_variables(p, ctl, p_arg, c_arg)
    }
    if ("discrimination" %in% metrics) {
      means[[ctx]] <- list(predicted = colMeans(p), observed = colMeans(o))
    }
    genes <- setup$keep[[ctx]]
    if (!is.null(genes)) {
      p <- p[, genes, drop = FALSE]
      o <- o[, genes, drop = FALSE]
      if (needs_control) ctl <- ctl[, genes, drop = FALSE]
    }
    record <- function(w) {
      notes[[length(notes) + 1L]] <<- list(context = label(ctx),
                                           message = conditionMessage(w))
      invokeRestart("muffleWarning")
    }
    withCallingHandlers({
      if ("w2" %in% metrics) {
        values$w2 <- sinkhorn_w2(p, o, epsilon = setup$epsilon,
                                 n_threads = setup$n_threads)
      }
      if ("mean_distance" %in% metrics) {
        values$mean_distance <- mean_distance(p, o)
      }
      if ("kde_nll" %in% metrics) {
        values$kde_nll <- kde_nll(p, o, n_threads = setup$n_threads)
      }
      if ("energy_distance" %in% metrics) {
        values$energy_distance <- energy_distance(p, o, n_threads = setup$n_threads)
      }
      if ("pearson_delta" %in% metrics) {
        values$pearson_delta <- pearson_delta(p, o, ctl)
      }
      if ("pearson_delta_perturbed" %in% metrics) {
        ref <- setup$reference
        if (!is.null(genes)) ref <- ref[genes]
        values$pearson_delta_perturbed <- pearson_delta(p, o, matrix(ref, 1L))
      }
      if (any(c("de_overlap", "de_sign") %in% metrics)) {
        de <- de_agreement(colMeans(p), colMeans(o), colMeans(ctl), setup$top_k)
        values[intersect(c("de_overlap", "de_sign"), metrics)] <-
          de[intersect(c("de_overlap", "de_sign"), metrics)]
      }
    }, warning = record)
    rows[[k]] <- values
    tick()
  }
  out <- do.call(rbind, lapply(rows, as.data.frame, stringsAsFactors = FALSE))
  rownames(out) <- NULL
  if ("discrimination" %in% metrics) {
    if (length(contexts) < 2L) {
      notes[[length(notes) + 1L]] <- list(
        context = label(contexts),
        message = "`discrimination` needs at least 2 contexts; it is NA."
      )
      out$discrimination <- NA_real_
    } else {
      out$discrimination <- discrimination_scores(means, setup$keep, setup$l2,
                                                  setup$n_threads)
    }
  }
  list(table = out[, c("context", "n_predicted", "n_observed", metrics),
                   drop = FALSE],
       notes = notes)
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

# Every context of `observed` needs samples of the same name in `x`.
check_covers_contexts <- function(x, contexts, arg, call = rlang::caller_env()) {
  missing <- setdiff(contexts, names(x))
  if (length(missing)) {
    cli::cli_abort(c("{.arg {arg}} has no samples for some observed contexts.",
                     "x" = "Missing: {.val {missing}}."), call = call)
  }
  invisible(x)
}

# Samples per context: one matrix shared by all contexts, or a named list
# covering them.
samples_for_contexts <- function(x, contexts, arg, call = rlang::caller_env()) {
  if (is.null(x)) return(NULL)
  if (is.matrix(x) || is.data.frame(x) || methods::is(x, "Matrix")) {
    return(stats::setNames(rep(list(x), length(contexts)), contexts))
  }
  x <- as_context_list(x, arg, call = call)
  check_covers_contexts(x, contexts, arg, call = call)
}

# The columns kept for each context after `exclude_genes`: a list named by
# context, NULL for a context that keeps all `d` columns.
kept_genes <- function(exclude_genes, contexts, genes, d, min_genes = 1L,
                       call = rlang::caller_env()) {
  if (is.null(exclude_genes) || (is.list(exclude_genes) && !length(exclude_genes))) {
    return(list())
  }
  x <- exclude_genes
  if (is.atomic(x) && !is.null(names(x))) {
    x <- split(unname(x), factor(names(x), levels = unique(names(x))))
  }
  nm <- names(x)
  if (!is.list(x) || !length(x) || is.null(nm) || anyNA(nm) || any(nm == "")) {
    cli::cli_abort(c(paste("{.arg exclude_genes} must be a list named by context",
                           "of gene names or column indices, not",
                           "{describe_value(exclude_genes)}."),
                     "i" = "For example {.code list(ctx_a = \"GENE1\", ctx_b = c(2, 5))}."),
                   call = call)
  }
  if (is.list(exclude_genes) && anyDuplicated(nm)) {
    cli::cli_abort("{.arg exclude_genes} names context{?s} {.val {unique(nm[duplicated(nm)])}} more than once.",
                   call = call)
  }
  if (!any(nm %in% contexts)) {
    cli::cli_abort(c("{.arg exclude_genes} names none of the contexts of {.arg observed}.",
                     "x" = "It names {.val {utils::head(nm, 5)}}{if (length(nm) > 5) ', ...'}."),
                   call = call)
  }
  out <- lapply(intersect(contexts, nm), function(ctx) {
    g <- x[[ctx]]
    where <- sprintf("exclude_genes[[\"%s\"]]", ctx)
    if (is.character(g) && !anyNA(g)) {
      if (is.null(genes)) {
        cli::cli_abort(c("{.arg {where}} names genes, but {.arg observed} has no column names.",
                         "i" = "Give column indices instead."), call = call)
      }
      idx <- match(g, genes)
      if (anyNA(idx)) {
        cli::cli_abort(c("{.arg {where}} names genes that are not columns of {.arg observed}.",
                         "x" = "Unknown: {.val {g[is.na(idx)]}}."), call = call)
      }
    } else if (is.numeric(g) && !anyNA(g) && all(g == round(g)) &&
               all(g >= 1 & g <= d)) {
      idx <- as.integer(g)
    } else {
      cli::cli_abort(c(paste("{.arg {where}} must be gene names or column indices",
                             "between 1 and {d}."),
                       "x" = "It is {describe_value(g)}."), call = call)
    }
    keep <- setdiff(seq_len(d), idx)
    if (length(keep) < min_genes) {
      cli::cli_abort(paste("{.arg {where}} leaves {length(keep)} gene{?s}; the",
                           "metrics need at least {min_genes}."), call = call)
    }
    keep
  })
  stats::setNames(out, intersect(contexts, nm))
}

# Mean of the observed cells of all contexts pooled (every cell weighs the
# same): the reference of pearson_delta_perturbed.
pooled_mean <- function(observed, first) {
  total <- numeric(ncol(first))
  n <- 0
  for (ctx in names(observed)) {
    arg <- sprintf("observed[[\"%s\"]]", ctx)
    o <- as_sample_matrix(observed[[ctx]], arg)
    check_same_variables(first, o, sprintf("observed[[\"%s\"]]", names(observed)[1L]),
                         arg, call = rlang::caller_env())
    total <- total + colSums(o)
    n <- n + nrow(o)
  }
  total / n
}

# Differential-expression agreement of two mean profiles against the control
# mean: overlap of the top-k genes by absolute change, and sign agreement of
# the predicted change on the observed top-k. Ties go to the earlier gene.
de_agreement <- function(predicted_mean, observed_mean, control_mean, top_k) {
  dp <- predicted_mean - control_mean
  do <- observed_mean - control_mean
  k <- min(top_k, length(do))
  top_o <- order(abs(do), decreasing = TRUE, method = "radix")[seq_len(k)]
  top_p <- order(abs(dp), decreasing = TRUE, method = "radix")[seq_len(k)]
  c(de_overlap = length(intersect(top_o, top_p)) / k,
    de_sign = mean(sign(dp[top_o]) == sign(do[top_o])))
}

# Perturbation discrimination of every context from the mean profiles of its
# predicted and observed cells (a list by context), in C.
discrimination_scores <- function(means, keep, l2, n_threads) {
  pred <- vapply(means, `[[`, numeric(length(means[[1L]]$predicted)), "predicted")
  obs <- vapply(means, `[[`, numeric(length(means[[1L]]$observed)), "observed")
  mask <- matrix(TRUE, nrow(pred), ncol(pred), dimnames = list(NULL, names(means)))
  for (ctx in names(keep)) {
    mask[, ctx] <- seq_len(nrow(mask)) %in% keep[[ctx]]
  }
  .Call(pg_discrimination, unname(pred), unname(obs), unname(mask), l2, n_threads)
}

# (model - baseline) / (replicate - baseline) for each metric, NA with a note
# where the denominator is zero or the replicate scores worse than the
# baseline.
rescale_scores <- function(model, baseline, replicate, metrics) {
  out <- data.frame(row.names = seq_len(nrow(model)))
  notes <- list()
  for (m in metrics) {
    den <- replicate[[m]] - baseline[[m]]
    scaled <- (model[[m]] - baseline[[m]]) / den
    better <- if (m %in% higher_is_better) den > 0 else den < 0
    flat <- !is.na(den) & den == 0
    worse <- !is.na(den) & !flat & !better
    scaled[flat | worse] <- NA_real_
    for (ctx in model$context[flat]) {
      notes[[length(notes) + 1L]] <- list(context = ctx, message = sprintf(
        "`%s_scaled` is NA: the replicate and the baseline score the same.", m))
    }
    for (ctx in model$context[worse]) {
      notes[[length(notes) + 1L]] <- list(context = ctx, message = sprintf(
        "`%s_scaled` is NA: the replicate scores worse than the baseline.", m))
    }
    out[[paste0(m, "_scaled")]] <- scaled
  }
  rownames(out) <- NULL
  list(table = out, notes = notes)
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
