# Baselines with the same fit/predict interface as gim_fit(): the
# observational prediction and the MLP that maps perturbation features to
# mean shifts (the paper's appendix D.5), the naive closest-lower-dose
# prediction (R/baselines-naive.R) and a ridge-regression model of the mean
# shifts (R/baselines-additive.R). The MLP is small (one input row per
# training context), so it is trained in plain R matrix code.

#' Settings of the baseline models
#'
#' Gathers and checks the knobs of [fit_baseline()]: the network and training
#' of the `"mlp_shift"` method, the dose columns of the `"naive"` method and
#' the ridge penalty of the `"additive"` method.
#'
#' @details
#' **`"mlp_shift"`.**
#' The defaults are from the search grid of the paper's Table 1 (hidden
#' layers `[50]` to `[100, 100, 100]`, learning rate 0.001 or 0.01, 1,000 to
#' 40,000 iterations), chosen on five extra data sets of
#' [simulate_gim_benchmark()] for each of the linear and mlp mechanisms
#' (seeds 101 to 105, not those of `bench/paper_synthetic.R`): among hidden
#' layers `[50]`, `[100]` and `[100, 100]` at learning rate 0.001 with 1,000,
#' 2,000 and 5,000 steps, and `[100]`, `[100, 100]` at 0.01 with 1,000 steps,
#' two hidden layers of 100 units, learning rate 0.001 and 1,000 full-batch
#' Adam steps had the lowest mean of the median partly and fully
#' out-of-distribution mean distances, for both mechanisms.
#' Longer training fits the training contexts more closely but extrapolates
#' worse to new perturbations. A fit of the paper's size (160 contexts) takes
#' one to two seconds. `hidden = integer(0)` gives a linear map from features
#' to shifts.
#'
#' **`"naive"`.** `dose` names the feature columns that encode the dose; see
#' [fit_baseline()] for how they find the training context that predicts a
#' new one. By default they are the columns whose names contain `"dose"`
#' (in any case), which for [sciplex_features()] are the four one-hot dose
#' columns and `dose_value`.
#'
#' **`"additive"`.** `lambda` is the ridge penalty on the coefficients of
#' the standardised features (see [fit_baseline()] for its scale). `NULL`
#' chooses it by leave-one-context-out cross-validation over `0` and
#' \eqn{10^{-4}, 10^{-3.5}, \dots, 10^{2}}{10^-4, 10^-3.5, ..., 10^2}.
#'
#' @param hidden Sizes of the hidden tanh layers, a vector of whole numbers
#'   (possibly empty: no hidden layer, a linear map).
#' @param learning_rate Learning rate of Adam, a positive number.
#' @param steps Number of full-batch Adam steps.
#' @param dose `NULL` (guess from the column names), or the names of the
#'   feature columns that encode the dose, for the `"naive"` method.
#' @param lambda `NULL` (cross-validation), or the ridge penalty of the
#'   `"additive"` method: a single number >= 0 (0 is the minimum-norm least
#'   squares fit).
#' @return A list of class `perturbgim_baseline_control`.
#' @family baselines
#' @examples
#' baseline_control()
#' baseline_control(hidden = 50, learning_rate = 0.01, steps = 1000)
#' baseline_control(dose = c("dose_1", "dose_2", "dose_level"), lambda = 0.1)
#' @export
baseline_control <- function(hidden = c(100L, 100L), learning_rate = 1e-3,
                             steps = 1000L, dose = NULL, lambda = NULL) {
  hidden <- baseline_check_layers(hidden)
  learning_rate <- check_positive_number(learning_rate)
  steps <- check_count(steps)
  if (!is.null(dose) && (!is.character(dose) || !length(dose) || anyNA(dose) ||
                         any(dose == "") || anyDuplicated(dose))) {
    cli::cli_abort(paste("{.arg dose} must be {.code NULL} or distinct feature",
                         "column names, not {describe_value(dose)}."))
  }
  if (!is.null(lambda) && (!is.numeric(lambda) || length(lambda) != 1L ||
                           is.na(lambda) || !is.finite(lambda) || lambda < 0)) {
    cli::cli_abort(paste("{.arg lambda} must be {.code NULL} or a single number",
                         ">= 0, not {describe_value(lambda)}."))
  }
  if (!is.null(lambda)) lambda <- as.double(lambda)
  structure(list(hidden = hidden, learning_rate = learning_rate, steps = steps,
                 dose = dose, lambda = lambda),
            class = "perturbgim_baseline_control")
}

#' @export
print.perturbgim_baseline_control <- function(x, ...) {
  hidden <- if (length(x$hidden)) paste(x$hidden, collapse = ", ") else "none"
  cat(sprintf("<perturbgim_baseline_control> hidden layers: [%s]; Adam, learning rate %s, %d steps\n",
              hidden, format(x$learning_rate), x$steps))
  dose <- if (is.null(x$dose)) "guessed from the column names" else
    paste(x$dose, collapse = ", ")
  lambda <- if (is.null(x$lambda)) "by leave-one-context-out CV" else
    format(x$lambda)
  cat(sprintf("  naive: dose columns %s; additive: ridge penalty %s\n", dose, lambda))
  invisible(x)
}

#' Fit a baseline perturbation model
#'
#' Fits one of four prediction baselines, taking the same data as
#' [gim_fit()] so that all can be compared on equal terms (see
#' [gim_compare()]): the observational prediction and the MLP mean-shift
#' model of Schneider et al. (2025, appendix D.5), the naive prediction of
#' their SciPlex3 experiment (section 5.2) and an additive linear model of
#' the mean shifts.
#'
#' @details
#' Cells of the contexts that have no row in `features` are observational;
#' they are pooled into one observational sample \eqn{X_0}. The shift of a
#' perturbed training context \eqn{k} is the difference of means
#' \eqn{s_k = \bar X_k - \bar X_0}{s_k = mean(X_k) - mean(X_0)}.
#'
#' **`"observational"`** predicts \eqn{X_0} for every perturbation: the
#' prediction of a model that knows no perturbation effect.
#'
#' **`"mlp_shift"`** trains an MLP (tanh hidden layers, identity output) to
#' predict \eqn{s_k} from the context's features, by mean squared error
#' (averaged over contexts and variables) and full-batch Adam
#' (\eqn{\beta_1 = 0.9}, \eqn{\beta_2 = 0.999}, \eqn{\epsilon = 10^{-8}}).
#' Features are standardised with the mean and the sample standard deviation
#' over the training contexts (a constant column is only centred). Weights
#' start Glorot normal, biases at zero, drawn from R's generator, so
#' `set.seed()` reproduces a fit exactly. A new perturbation with predicted
#' shift \eqn{s^*} is predicted as the shifted observational cells
#' \eqn{\{x_i + s^*\}}.
#'
#' **`"additive"`** fits the shifts by a linear model of the standardised
#' features \eqn{z_k} (standardised as for `"mlp_shift"`):
#' \eqn{s_k \approx b + W^\top z_k}{s_k ~ b + t(W) z_k}, with the intercept
#' \eqn{b} free and \eqn{W} (features x variables) minimising
#' \eqn{\frac1K \sum_k \|s_k - b - W^\top z_k\|^2 + \lambda \|W\|_F^2}{(1/K)
#' sum_k |s_k - b - t(W) z_k|^2 + lambda |W|^2} over the \eqn{K} training
#' contexts, solved through the SVD of the centred features (with
#' \eqn{\lambda = 0}, the minimum-norm least-squares fit, which also covers
#' collinear features such as one-hot encodings). Because the features are
#' standardised and the loss is a mean over contexts, \eqn{\lambda} is on
#' the scale of one feature's variance and means the same for any number of
#' contexts. By default \eqn{\lambda} is chosen by leave-one-context-out
#' cross-validation (mean squared error of the held-out shift) over
#' `0` and \eqn{10^{-4}, \dots, 10^{2}}{10^-4, ..., 10^2}: one SVD per left-out
#' context serves the whole grid, so this costs nothing next to the other
#' methods, and it adapts the penalty to features as different as 15
#' principal components and 9 one-hot columns; ties go to the larger
#' \eqn{\lambda}. Give `baseline_control(lambda =)` to fix it. Predictions
#' are the shifted observational cells, as for `"mlp_shift"`. Linear models
#' of this kind were found by Ahlmann-Eltze, Huber and Anders (2025) to
#' predict perturbation effects as well as deep-learning models; this one is
#' the same idea on the features a GIM sees.
#'
#' **`"naive"`** predicts a new context by the training cells of the same
#' perturbation at the closest lower dose: in the paper's SciPlex3
#' experiment, a drug held out at 10 uM is predicted by the cells of that
#' drug at 1 uM. The fit keeps the cells of every perturbed training context.
#' For a new context (a row of `newdata` in
#' [predict()][predict.perturbgim_baseline]) the reference is found as
#' follows:
#' 1. if `reference` (an argument of `predict()`) names it, the training
#'    contexts given there;
#' 2. otherwise, among the training contexts whose features equal the new
#'    one's in every column that does not encode the dose (up to a relative
#'    tolerance of \eqn{10^{-8}}), those with the largest dose below the new
#'    one's. The dose columns are `baseline_control(dose =)`, by default the
#'    columns whose names contain `"dose"`. The dose is the value of the one
#'    dose column, or of the only dose column that is not a 0/1 indicator
#'    over the training contexts (for [sciplex_features()], `dose_value`);
#' 3. if there is no such context, an error asks for `reference`.
#'
#' Several training contexts at that dose (replicates with equal features)
#' are pooled. Samples are the reference cells themselves (`n = NULL`) or
#' `n` of them drawn with replacement from R's generator.
#'
#' @param x Cells x variables: a numeric matrix, data frame of numbers or
#'   sparse `Matrix` (e.g. `dgCMatrix`).
#' @param context The context (perturbation) of each cell: a character vector
#'   or factor with one label per row of `x`.
#' @param features A numeric matrix with one row per perturbed context, row
#'   names the context labels. Contexts of `context` without a row are
#'   observational; there must be at least one.
#' @param method `"mlp_shift"` (the MLP mean-shift model), `"observational"`,
#'   `"naive"` or `"additive"`.
#' @param control Settings from [baseline_control()]: the MLP of
#'   `"mlp_shift"`, the dose columns of `"naive"`, the ridge penalty of
#'   `"additive"`; ignored by `"observational"`.
#' @return A plain list (it survives `saveRDS()`/`readRDS()`) of class
#'   `c("perturbgim_baseline_<method>", "perturbgim_baseline")` with
#'   `method`, `nodes` (variable names), `feature_names`, `features` (the
#'   training features), `contexts` (a data frame with `context`, `n_cells`
#'   and `perturbed`, one row per context), `observational` (the
#'   observational cells), `n_obs`, `version` and `call`; for `"mlp_shift"`
#'   also `shifts` (the training shifts, one row per perturbed context),
#'   `feature_center`, `feature_scale`, `network` (a list of layers, each
#'   `list(weight = <in x out matrix>, bias = <numeric(out)>)`), `control`
#'   and `trace` (a data frame of `step` and `loss`, the training mean
#'   squared error); for `"additive"` also `shifts`, `feature_center`,
#'   `feature_scale`, `coefficients` (\eqn{W}, features x variables, for the
#'   standardised features), `intercept` (\eqn{b}), `lambda`, `cv` (a data
#'   frame of `lambda` and `cv_error`, or `NULL` when `lambda` was given or
#'   there are fewer than two perturbed contexts) and `control`; for
#'   `"naive"` also `cells` (the perturbed training cells), `cell_context`
#'   (their contexts), `dose` (a list: `columns`, the dose columns; `value`,
#'   the column holding the dose, `NA` if none; `note`, why not) and
#'   `control`.
#' @references Schneider, N., Lorch, L., Kilbertus, N., Schölkopf, B. and
#'   Krause, A. (2025). Generative intervention models for causal perturbation
#'   modeling. *ICML*. \doi{10.48550/arXiv.2503.19149}
#'
#'   Ahlmann-Eltze, C., Huber, W. and Anders, S. (2025). Deep-learning-based
#'   gene perturbation effect prediction does not yet outperform simple
#'   linear baselines. *Nature Methods* 22(8), 1657-1661.
#'   \doi{10.1038/s41592-025-02772-6}
#' @seealso [predict.perturbgim_baseline()], [gim_compare()]
#' @family baselines
#' @examples
#' set.seed(1)
#' bench <- simulate_gim_benchmark(d = 5, n_perturbations = 6,
#'                                 n_test_perturbations = 3, n_cells = 20,
#'                                 n_observational = 100, n_components = 4)
#' tr <- bench$train
#' fit <- fit_baseline(tr$x, tr$context, tr$features,
#'                     control = baseline_control(hidden = 20, steps = 300))
#' fit
#' te <- bench$test_fully_ood
#' pred <- predict(fit, te$features, n = 50)
#' dim(pred)
#' head(attr(pred, "context"))
#' predict(fit, te$features, type = "mean")[1:3, ]
#'
#' # The additive (ridge) model of the mean shifts
#' lin <- fit_baseline(tr$x, tr$context, tr$features, method = "additive")
#' lin$lambda
#' predict(lin, te$features, type = "mean")[1:3, ]
#'
#' # The naive baseline: drug B at dose 3 is predicted by drug B at dose 2
#' x <- matrix(rnorm(80), 40, 2, dimnames = list(NULL, c("g1", "g2")))
#' context <- rep(c("ctrl", "A_1", "B_1", "B_2"), each = 10)
#' features <- rbind(A_1 = c(1, 0, 1), B_1 = c(0, 1, 1), B_2 = c(0, 1, 2))
#' colnames(features) <- c("drug_A", "drug_B", "dose")
#' naive <- fit_baseline(x, context, features, method = "naive")
#' attr(predict(naive, rbind(B_3 = c(0, 1, 3)), type = "mean"), "reference")
#' @export
fit_baseline <- function(x, context, features,
                         method = c("mlp_shift", "observational", "naive",
                                    "additive"),
                         control = baseline_control()) {
  call <- match.call()
  method <- arg_match_checked(method)
  if (!inherits(control, "perturbgim_baseline_control")) {
    cli::cli_abort(paste("{.arg control} must be made by {.fn baseline_control},",
                         "not {.obj_type_friendly {control}}."))
  }
  data <- baseline_data(x, context, features)
  object <- list(
    method = method,
    nodes = colnames(data$x),
    feature_names = colnames(data$features),
    features = data$features,
    contexts = data$contexts,
    observational = data$x[data$observational, , drop = FALSE],
    n_obs = nrow(data$x)
  )
  object <- c(object, switch(method,
    observational = NULL,
    mlp_shift = baseline_fit_mlp(data, control),
    additive = baseline_fit_additive(data, control),
    naive = baseline_fit_naive(data, control)
  ))
  object$version <- as.character(utils::packageVersion("perturbgim"))
  object$call <- call
  structure(object, class = c(paste0("perturbgim_baseline_", method),
                              "perturbgim_baseline"))
}

# A fit from fit_baseline(): called directly, the method must not read
# fields of something else (base R errors, or a silent NULL method).
check_baseline_fit <- function(object, arg = rlang::caller_arg(object),
                               call = rlang::caller_env()) {
  methods <- c("mlp_shift", "observational", "naive", "additive")
  ok <- inherits(object, "perturbgim_baseline") && is.list(object) &&
    is.character(object$method) && length(object$method) == 1L &&
    object$method %in% methods && is.character(object$nodes) &&
    is.matrix(object$observational) && is.numeric(object$observational) &&
    nrow(object$observational) > 0L
  if (!ok) {
    cli::cli_abort("{.arg {arg}} must be a fit from {.fn fit_baseline}, not {.obj_type_friendly {object}}.",
                   call = call)
  }
  invisible(object)
}

#' Predict perturbed cells with a baseline model
#'
#' @param object A fit from [fit_baseline()].
#' @param newdata Features of the contexts to predict, read as by
#'   [predict.gim()]: a numeric matrix or data frame with one row per context
#'   and the training feature columns (matched by name), or a numeric vector
#'   for one context. Row names label the contexts (default `"1"`, `"2"`,
#'   ...). `NULL` predicts the observational distribution, in one context
#'   labelled `"observational"`; the training features are in
#'   `object$features`.
#' @param n Cells per context: `NULL` uses every observational cell once
#'   (for `"naive"`, every cell of the reference contexts once); a whole
#'   number, or one per context, resamples that many cells with replacement.
#' @param type `"samples"` for cells, `"mean"` for the predicted mean of
#'   each context.
#' @param reference Only for `"naive"` fits: `NULL`, or the training
#'   context(s) that predict each new context, as a character vector (or a
#'   list of character vectors, to pool several) named by the labels of
#'   `newdata`. Contexts it does not name get the closest lower dose (see
#'   [fit_baseline()]).
#' @param ... Must be empty.
#' @return For `type = "samples"`, a cells x variables matrix with the cells
#'   of each context stacked in the order of `newdata`, and attribute
#'   `"context"` giving the label of each cell. For `type = "mean"`, a
#'   contexts x variables matrix. For `"naive"` fits both also have
#'   attribute `"reference"`: a named list, the training contexts that
#'   predicted each context.
#' @family baselines
#' @importFrom stats predict
#' @examples
#' set.seed(1)
#' x <- matrix(rnorm(300), 100, 3, dimnames = list(NULL, c("a", "b", "c")))
#' context <- rep(c("control", "k1", "k2", "k3"), each = 25)
#' x[context == "k2", 1] <- x[context == "k2", 1] + 2
#' x[context == "k3", 1] <- x[context == "k3", 1] + 4
#' features <- matrix(c(0, 1, 2), 3, 1, dimnames = list(c("k1", "k2", "k3"), "dose"))
#' fit <- fit_baseline(x, context, features,
#'                     control = baseline_control(hidden = integer(0), steps = 500,
#'                                                learning_rate = 0.05))
#' predict(fit, matrix(1.5, dimnames = list("k1.5", "dose")), type = "mean")
#' naive <- fit_baseline(x, context, features, method = "naive")
#' predict(naive, matrix(1.5, dimnames = list("k1.5", "dose")), type = "mean")
#' predict(naive, matrix(1.5, dimnames = list("k1.5", "dose")), type = "mean",
#'         reference = c(k1.5 = "k3"))
#' @export
predict.perturbgim_baseline <- function(object, newdata = NULL, n = NULL,
                                        type = c("samples", "mean"),
                                        reference = NULL, ...) {
  rlang::check_dots_empty()
  check_baseline_fit(object)
  type <- arg_match_checked(type)
  # One count keeps the message of check_count(); one per context is read as
  # predict.gim() reads it.
  if (!is.null(n) && length(n) <= 1L) n <- check_count(n)
  if (!is.null(reference) && object$method != "naive") {
    cli::cli_abort(c("{.arg reference} is only used by {.val naive} fits.",
                     "i" = "{.arg object} was fitted with method {.val {object$method}}."))
  }
  if (is.null(newdata)) {
    # As predict.gim(): no perturbation, the observational distribution.
    labels <- "observational"
  } else {
    newdata <- baseline_newdata(object, newdata)
    labels <- rownames(newdata)
  }
  if (!is.null(n) && length(n) > 1L) n <- check_context_counts(n, labels, min = 1L)
  if (object$method == "naive" && !is.null(newdata)) {
    return(baseline_predict_naive(object, newdata, n, type, reference))
  }
  obs <- object$observational
  shifts <- if (is.null(newdata)) matrix(0, 1L, length(object$nodes)) else
    baseline_shifts(object, newdata)
  if (type == "mean") {
    out <- sweep(shifts, 2L, colMeans(obs), "+")
    dimnames(out) <- list(labels, object$nodes)
    return(out)
  }
  K <- length(labels)
  n0 <- nrow(obs)
  # All contexts resample the same observational cells, so one draw of
  # sum(n) indices serves them all.
  per_context <- if (is.null(n)) rep.int(n0, K) else rep_len(n, K)
  idx <- if (is.null(n)) rep.int(seq_len(n0), K) else
    sample.int(n0, sum(per_context), replace = TRUE)
  ctx_index <- rep.int(seq_len(K), per_context)
  out <- obs[idx, , drop = FALSE] + shifts[ctx_index, , drop = FALSE]
  dimnames(out) <- list(NULL, object$nodes)
  attr(out, "context") <- labels[ctx_index]
  out
}

#' @export
print.perturbgim_baseline <- function(x, ...) {
  ctx <- x$contexts
  label <- switch(x$method, mlp_shift = "MLP mean-shift model",
                  observational = "observational prediction",
                  naive = "naive closest-lower-dose prediction",
                  additive = "additive (ridge) model of the mean shifts")
  cat(sprintf("<perturbgim_baseline> %s: %d variables, %d features\n",
              label, length(x$nodes), length(x$feature_names)))
  cat(sprintf("  trained on %d cells: %d perturbed contexts, %d observational cells (%s)\n",
              x$n_obs, sum(ctx$perturbed), nrow(x$observational),
              paste(ctx$context[!ctx$perturbed], collapse = ", ")))
  if (x$method == "mlp_shift") {
    hidden <- if (length(x$control$hidden)) paste(x$control$hidden, collapse = ", ") else "none"
    cat(sprintf("  MLP hidden layers [%s], %d Adam steps; final training MSE %s\n",
                hidden, x$control$steps,
                format(signif(x$trace$loss[nrow(x$trace)], 3))))
  }
  if (x$method == "additive") {
    how <- if (is.null(x$cv)) "given" else
      sprintf("chosen by leave-one-context-out CV over %d values", nrow(x$cv))
    cat(sprintf("  ridge penalty lambda = %s (%s)\n", format(signif(x$lambda, 3)), how))
  }
  if (x$method == "naive") {
    cat(naive_rule_text(x$dose), "\n", sep = "")
  }
  invisible(x)
}

# The data as gim_fit() takes them, checked by its own helpers (R/fit.R) so
# that both read cells, labels and features the same way. Returns the dense
# cell matrix, the features, a logical marking observational cells and the
# context table.
baseline_data <- function(x, context, features, call = rlang::caller_env()) {
  x <- as_sample_matrix(x, "x", call = call)
  if (is.null(colnames(x))) colnames(x) <- paste0("x", seq_len(ncol(x)))
  context <- check_context(context, nrow(x), call = call)
  features <- check_features(features, context, call = call)
  labels <- rownames(features)
  observational <- !context %in% labels
  if (!any(observational)) {
    cli::cli_abort(c("No observational cells: every context has a row in {.arg features}.",
                     "i" = "Contexts without a feature row are taken as observational."),
                   call = call)
  }
  n_cells <- table(factor(context, levels = unique(context)))
  contexts <- data.frame(context = names(n_cells),
                         n_cells = as.integer(n_cells),
                         perturbed = names(n_cells) %in% labels,
                         stringsAsFactors = FALSE)
  list(x = x, context = context, features = features,
       observational = observational, contexts = contexts)
}

baseline_check_layers <- function(x, arg = rlang::caller_arg(x),
                                  call = rlang::caller_env()) {
  if (!is.numeric(x) || anyNA(x) || any(x < 1) || any(x != round(x)) ||
      any(x > 1e5)) {
    # Show a short vector of layer sizes itself, so the bad entry is visible.
    given <- if (is.numeric(x) && length(x) <= 10L) {
      cli::format_inline("{.val {x}}")
    } else {
      describe_value(x)
    }
    cli::cli_abort(paste("{.arg {arg}} must be a vector of whole numbers",
                         "between 1 and 100000 (layer sizes), not {given}."),
                   call = call)
  }
  as.integer(x)
}

# Training shifts, standardisation and the Adam loop of the MLP.
baseline_fit_mlp <- function(data, control) {
  shifts <- baseline_training_shifts(data)
  std <- baseline_standardise(data$features)
  sizes <- c(ncol(std$z), control$hidden, ncol(shifts))
  fit <- baseline_train_adam(std$z, shifts, sizes, control$learning_rate,
                             control$steps)
  list(shifts = shifts, feature_center = std$center, feature_scale = std$scale,
       network = fit$network, control = control, trace = fit$trace)
}

# Shift of the mean of each perturbed context from the observational mean,
# one row per feature row (in their order).
baseline_training_shifts <- function(data) {
  f <- data$features
  mean0 <- colMeans(data$x[data$observational, , drop = FALSE])
  sums <- rowsum(data$x[!data$observational, , drop = FALSE],
                 data$context[!data$observational], reorder = FALSE)
  counts <- as.vector(table(data$context[!data$observational])[rownames(sums)])
  means <- sums / counts
  sweep(means[rownames(f), , drop = FALSE], 2L, mean0)
}

# Standardised as gim_fit() does (R/fit.R), so that every model sees the same
# inputs. A constant column carries no information: dividing by 1 keeps it
# at 0.
baseline_standardise <- function(f) {
  center <- colMeans(f)
  scale <- apply(f, 2L, stats::sd)
  scale[!is.finite(scale) | scale < 1e-12] <- 1
  z <- sweep(sweep(f, 2L, center), 2L, scale, "/")
  names(center) <- names(scale) <- colnames(f)
  list(z = z, center = center, scale = scale)
}

baseline_train_adam <- function(z, y, sizes, learning_rate, steps) {
  network <- glorot_mlp(sizes)
  zeros <- lapply(network, function(layer) lapply(layer, function(p) p * 0))
  m <- zeros
  v <- zeros
  beta1 <- 0.9
  beta2 <- 0.999
  eps <- 1e-8
  n_out <- length(y)
  every <- max(1L, steps %/% 100L)
  trace_step <- integer(0)
  trace_loss <- numeric(0)
  last <- length(network)
  for (t in seq_len(steps)) {
    h <- mlp_activations(network, z)
    resid <- h[[last + 1L]] - y
    loss <- sum(resid^2) / n_out
    if (!is.finite(loss)) {
      cli::cli_abort(c("The MLP training loss became non-finite at step {t}.",
                       "i" = "Try a smaller {.arg learning_rate} in {.fn baseline_control}."),
                     call = NULL)
    }
    if (t == 1L || t %% every == 0L) {
      trace_step <- c(trace_step, t - 1L)
      trace_loss <- c(trace_loss, loss)
    }
    delta <- resid * (2 / n_out)
    for (l in rev(seq_len(last))) {
      grad_w <- crossprod(h[[l]], delta)
      grad_b <- colSums(delta)
      if (l > 1L) {
        delta <- tcrossprod(delta, network[[l]]$weight) * (1 - h[[l]]^2)
      }
      grads <- list(weight = grad_w, bias = grad_b)
      for (p in c("weight", "bias")) {
        g <- grads[[p]]
        m[[l]][[p]] <- beta1 * m[[l]][[p]] + (1 - beta1) * g
        v[[l]][[p]] <- beta2 * v[[l]][[p]] + (1 - beta2) * g^2
        m_hat <- m[[l]][[p]] / (1 - beta1^t)
        v_hat <- v[[l]][[p]] / (1 - beta2^t)
        network[[l]][[p]] <- network[[l]][[p]] -
          learning_rate * m_hat / (sqrt(v_hat) + eps)
      }
    }
  }
  final <- sum((mlp_forward(network, z) - y)^2) / n_out
  list(network = network,
       trace = data.frame(step = c(trace_step, steps),
                          loss = c(trace_loss, final)))
}

# newdata as a feature matrix with the training columns in their order,
# read as predict.gim() reads it (R/graph-estimates.R).
baseline_newdata <- function(object, newdata, call = rlang::caller_env()) {
  newdata <- as_feature_matrix(newdata, object$feature_names, "newdata", call)
  if (nrow(newdata) < 1L) {
    cli::cli_abort("{.arg newdata} must have at least one row (context).",
                   call = call)
  }
  if (is.null(rownames(newdata))) {
    rownames(newdata) <- as.character(seq_len(nrow(newdata)))
  }
  newdata
}

# Predicted shift of each context (rows of newdata) from the observational mean.
baseline_shifts <- function(object, newdata) {
  if (object$method == "observational") {
    return(matrix(0, nrow(newdata), length(object$nodes)))
  }
  z <- sweep(sweep(newdata, 2L, object$feature_center), 2L,
             object$feature_scale, "/")
  if (object$method == "additive") {
    return(additive_predict(object, z))
  }
  unname(mlp_forward(object$network, z))
}
