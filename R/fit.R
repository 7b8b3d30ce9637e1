# gim_fit(): input checks, the chunked training loop around the C engine
# (src/gim_call.c) and the augmented-Lagrangian updates; the `gim` object it
# returns is built in gim-object.R.

#' Fit a generative intervention model
#'
#' Learns a causal model of the genes (a graph and mechanisms) jointly with
#' nets that map perturbation features to atomic interventions in it, by MAP
#' estimation as in Schneider et al. (2025); see [gim_control()] for the
#' objective and its settings. Sample predictions for new perturbations with
#' [predict()][predict.gim].
#'
#' @details
#' Cells are the rows of `x` (genes in columns). `context` labels the cells'
#' experimental conditions; each perturbed context has one row of numeric
#' perturbation `features` (drug one-hot, dose, ...), named by the context
#' label. Contexts without a row in `features` are observational (controls):
#' no intervention acts on them. Features are standardised internally (centre
#' and scale over the training contexts; stored in the fit).
#'
#' Mechanisms: `"mlp"` (Gaussian, mean from a one-hidden-layer tanh MLP of
#' the parents), `"linear"` (Gaussian, linear mean with a bias) or
#' `"zilognormal"` (zero-inflated log-normal, for log-normalised counts:
#' `x` must be non-negative). Interventions: `"hard"` (a target gets a new
#' parent-free distribution) or `"shift"` (a target's value moves by `psi`;
#' for zilognormal the positive part moves on the log scale).
#'
#' **Memory and time.** Before it trains (and before it copies the cells),
#' `gim_fit()` estimates the fit's peak memory and time per step with
#' [estimate_fit_cost()]. Memory grows with `n_mc` times the square of the
#' number of genes: a fit that would need more than `memory_limit` of
#' [gim_control()] (by default the memory the machine has available, or the
#' option `perturbgim.memory_limit`) stops at once with an error that gives
#' the estimate and what would fit: fewer genes (e.g. marker genes;
#' `genes =` for `SingleCellExperiment` and `Seurat` objects), minibatches
#' (`gim_control(minibatch = )`) or fewer Monte Carlo samples.
#' `gim_control(memory_limit = Inf)` starts it anyway. With `verbose = TRUE`,
#' a fit estimated to take more than an hour says so before it starts.
#'
#' Training runs in chunks of `control$check_every` steps in C. A progress
#' bar shows the step, objective and acyclicity; interrupting (Ctrl-C) stops
#' after the current step and returns the fit as it was after the last
#' complete chunk, with a warning. `set.seed()` before the call reproduces the
#' fit exactly, whatever `n_threads`.
#'
#' **Restarts.** A fit's search is local: on simulated data, fits of one
#' data set from different starts can end far apart (Edge-F1 from 0.35 to
#' 0.76), and one started at the true model stays there. With `restarts =
#' R`, R fits are run on the same training cells, with the same cells held
#' out, each from its own start (seeds drawn with [sample.int()] before
#' any fit, so `set.seed()` reproduces the result on every back-end), and
#' the one with the highest held-out log-likelihood per cell at its last
#' check is returned, among the fits whose point estimate is acyclic (a
#' cyclic graph's factorised likelihood is no density; among all when none
#' is). Its `restarts` element is a table of every fit (seed, held-out
#' score, acyclic, edges, steps, why it stopped, which was chosen).
#' Serially, interrupting a restart ends the search with the fits so far.
#' In parallel, each worker holds its own fit: memory grows with the number
#' of workers.
#'
#' @param x Expression matrix, cells in rows (numeric matrix, data frame or
#'   `dgCMatrix`).
#' @param ... Arguments for methods; must be empty for the default method.
#' @param context One label per cell (character or factor).
#' @param features Numeric matrix, one row per perturbed context, rownames
#'   the context labels.
#' @param mechanism,intervention See Details.
#' @param control A [gim_control()] list. With `init`, the default is the
#'   control of `init`; give one with more `steps` to train longer.
#' @param verbose Show a progress bar and messages.
#' @param init A `gim` fit to continue training from (for example an
#'   interrupted fit, or one read back from a `checkpoint` file), fitted on
#'   the same genes and features. Training resumes at its step with its
#'   parameters, optimiser state, augmented-Lagrangian coefficients, random
#'   number stream and held-out cells, so an interrupted fit resumed to the
#'   same `steps` equals the uninterrupted one exactly. `mechanism` and
#'   `intervention` default to those of `init`.
#' @param checkpoint A file path: every `checkpoint_every` steps (and when
#'   training stops or is interrupted) the fit so far is saved there with
#'   [saveRDS()] (written to a temporary file first, then renamed, so the
#'   file always holds a complete fit). Resume with `init = readRDS(path)`.
#' @param checkpoint_every Steps between checkpoints (rounded up to whole
#'   chunks of `control$check_every` steps).
#' @param restarts Number of independent fits from different random starts
#'   (see Restarts); the one kept has the best held-out log-likelihood.
#' @param BPPARAM With `restarts > 1`: `NULL` (the fits run one after
#'   another in this session) or a BiocParallel back-end, as for
#'   [gim_tune()].
#' @return A `gim` object: a plain list with the fitted parameters (see
#'   [causal_graph()], [edge_probabilities()], [intervention_targets()]), the
#'   training `trace` (a data frame by chunk), the training contexts and the
#'   settings; methods `print`, `summary`, `coef`, `plot`, `logLik`, `nobs`,
#'   `predict` and `simulate`.
#' @references Schneider, N., Lorch, L., Kilbertus, N., Schölkopf, B. and
#'   Krause, A. (2025). Generative intervention models for causal perturbation
#'   modeling. *ICML 2025*.
#' @family gim
#' @examples
#' set.seed(1)
#' bench <- simulate_gim_benchmark(d = 5, n_perturbations = 4, n_test_perturbations = 1,
#'                                 n_cells = 20, n_observational = 100, n_components = 3)
#' fit <- gim_fit(bench$train$x, bench$train$context, bench$train$features,
#'                mechanism = "linear",
#'                control = gim_control(steps = 300, n_mc = 8, gim_hidden = 10),
#'                verbose = FALSE)
#' fit
#' @export
gim_fit <- function(x, ...) UseMethod("gim_fit")

#' @rdname gim_fit
#' @export
gim_fit.default <- function(x, context, features,
                            mechanism = c("mlp", "linear", "zilognormal"),
                            intervention = c("hard", "shift"),
                            control = gim_control(), verbose = TRUE,
                            init = NULL, checkpoint = NULL, checkpoint_every = 1000L,
                            restarts = 1L, BPPARAM = NULL, ...) {
  rlang::check_dots_empty()
  call <- match.call()
  restarts <- check_count(restarts, "restarts", min = 1L)
  if (restarts > 1L && (!is.null(init) || !is.null(checkpoint))) {
    cli::cli_abort("{.arg restarts} > 1 cannot be combined with {.arg init} or {.arg checkpoint}: resume or checkpoint one fit at a time.")
  }
  if (restarts > 1L) check_bpparam(BPPARAM)
  if (!is.null(init)) {
    check_init(init)
    if (missing(mechanism)) mechanism <- init$mechanism
    if (missing(intervention)) intervention <- init$intervention
    if (missing(control)) control <- init$control
  }
  mechanism <- arg_match_checked(mechanism)
  intervention <- arg_match_checked(intervention)
  checkpoint <- check_checkpoint(checkpoint, checkpoint_every)
  if (!inherits(control, "gim_control")) {
    cli::cli_abort("{.arg control} must be made by {.fn gim_control}, not {.obj_type_friendly {control}}.")
  }
  check_flag(verbose)
  x <- as_cell_source(x, "x", min_rows = 2L, non_negative = mechanism == "zilognormal")
  nodes <- colnames(x) %||% paste0("x", seq_len(ncol(x)))
  if (anyDuplicated(nodes)) {
    cli::cli_abort("{.arg x} has duplicated column names: {.val {unique(nodes[duplicated(nodes)])}}.")
  }
  context <- check_context(context, nrow(x))
  features <- check_features(features, context)
  if (!is.null(init)) check_init_matches(init, mechanism, intervention, nodes, features)
  held <- if (!is.null(init) && identical(init$state$n_cells, nrow(x))) init$state$heldout_cells
  # Before anything of the size of the fit is allocated.
  check_fit_cost(fit_sizes(x, context, features), mechanism, intervention, control, verbose,
                 init, held)
  scaling <- if (!is.null(init)) {
    init$x_scaling
  } else if (isTRUE(control$standardise) && mechanism != "zilognormal") {
    gene_scaling(x)
  }
  design <- training_design(x, context, features, control, held, scaling)
  if (restarts > 1L) {
    inputs <- list(x = x, context = context, features = features,
                   held = design$heldout_cells, scaling = scaling)
    return(fit_restarts(design, inputs, mechanism, intervention, control, nodes, verbose,
                        call, restarts, BPPARAM))
  }
  fit_engine(design, mechanism, intervention, control, nodes, verbose, call, init, checkpoint)
}

check_context <- function(context, n, call = rlang::caller_env()) {
  if (is.factor(context)) context <- as.character(context)
  if (!is.character(context) && !is.numeric(context)) {
    cli::cli_abort("{.arg context} must be a character vector or factor of labels, not {.obj_type_friendly {context}}.",
                   call = call)
  }
  if (length(context) != n) {
    cli::cli_abort("{.arg context} must have one label per cell (row of {.arg x}): {n}, not {length(context)}.",
                   call = call)
  }
  if (anyNA(context) || any(context == "")) {
    cli::cli_abort("{.arg context} must not contain NA or empty labels.", call = call)
  }
  as.character(context)
}

check_features <- function(features, context, call = rlang::caller_env()) {
  if (is.data.frame(features)) features <- as.matrix(features)
  if (!is.matrix(features) || !is.numeric(features)) {
    cli::cli_abort("{.arg features} must be a numeric matrix (one row per perturbed context), not {.obj_type_friendly {features}}.",
                   call = call)
  }
  if (nrow(features) < 1L || ncol(features) < 1L) {
    cli::cli_abort("{.arg features} must have at least one row and one column.", call = call)
  }
  if (any(!is.finite(features))) {
    cli::cli_abort("{.arg features} must not contain NA, NaN or infinite values.", call = call)
  }
  labels <- rownames(features)
  if (is.null(labels) || anyNA(labels) || any(labels == "")) {
    cli::cli_abort("{.arg features} must have rownames: the context label of each row.",
                   call = call)
  }
  if (anyDuplicated(labels)) {
    cli::cli_abort("{.arg features} has duplicated rownames: {.val {unique(labels[duplicated(labels)])}}.",
                   call = call)
  }
  absent <- setdiff(labels, context)
  if (length(absent)) {
    cli::cli_abort(c("{.arg features} has rows for context{?s} with no cells: {.val {absent}}.",
                     "i" = "Every row name must be a label in {.arg context}."), call = call)
  }
  if (is.null(colnames(features))) colnames(features) <- paste0("feature", seq_len(ncol(features)))
  storage.mode(features) <- "double"
  features
}

# Cells sorted by context (perturbed contexts in the order of `features`,
# then observational ones), the held-out split and standardised features.
training_design <- function(x, context, features, control, held = NULL, scaling = NULL) {
  perturbed <- rownames(features)
  observational <- setdiff(unique(context), perturbed)
  levels <- c(perturbed, observational)
  n <- nrow(x)
  if (is.null(held)) {
    n_hold <- heldout_count(n, control$holdout)
    held <- if (n_hold > 0) sample.int(n, n_hold) else integer()
  }
  is_held <- seq_len(n) %in% held
  center <- colMeans(features)
  scale <- apply(features, 2, stats::sd)
  scale[!is.finite(scale) | scale < 1e-12] <- 1
  z <- unname(sweep(sweep(features, 2, center), 2, scale, "/"))
  ctx <- as.integer(factor(context, levels = levels))
  # Rows of x sorted by context, and the context blocks' starts.
  sorted_rows <- function(keep) {
    rows <- which(keep)
    rows[order(ctx[rows])]
  }
  block <- function(rows, weight = 1) {
    counts <- tabulate(ctx[rows], nbins = length(levels))
    list(x = standardise_cells(cell_rows(x, rows), scaling),
         start = as.integer(c(0, cumsum(counts))),
         n_perturbed = length(perturbed) + 0, features = z, weight = weight)
  }
  train_rows <- sorted_rows(!is_held)
  minibatch <- control$minibatch
  if (!is.null(minibatch) && minibatch >= length(train_rows)) minibatch <- NULL
  counts <- table(factor(context, levels = levels))
  list(train = if (is.null(minibatch)) block(train_rows),
       heldout = block(sorted_rows(is_held)),
       batch = if (!is.null(minibatch)) {
         function(seed) block_minibatch(train_rows, ctx, minibatch, seed, block)
       },
       block_of = block, train_rows = train_rows, n_train = length(train_rows),
       heldout_cells = held, n_cells = n,
       contexts = data.frame(context = levels, n_cells = as.integer(counts),
                             perturbed = levels %in% perturbed, row.names = NULL),
       features = features, center = center, scale = scale, scaling = scaling,
       # Log-likelihoods per cell on the internal scale exceed those of the
       # original units by the log Jacobian sum(log(scale)).
       log_jacobian = if (is.null(scaling)) 0 else sum(log(scaling$scale)))
}

# Cells held out of n for the convergence checks: gim_control(holdout =),
# a count or a fraction, at most a tenth of the cells.
heldout_count <- function(n, holdout) {
  n_hold <- if (holdout < 1) round(holdout * n) else holdout
  max(0L, min(as.integer(n_hold), floor(n / 10)))
}

# A minibatch of about `size` training cells, drawn within each context in
# proportion to its size (at least one cell per context), with the cell
# weight N / B that keeps the likelihood on the scale of all N cells. The
# draw is a function of `seed` alone; R's random number stream is left as it
# was.
block_minibatch <- function(train_rows, ctx, size, seed, block) {
  by_ctx <- split(train_rows, ctx[train_rows])
  n <- length(train_rows)
  picked <- with_private_seed(seed, lapply(by_ctx, function(rows) {
    take <- min(length(rows), max(1L, round(size * length(rows) / n)))
    rows[sort.int(sample.int(length(rows), take))]
  }))
  rows <- unlist(picked, use.names = FALSE)
  block(rows, weight = n / length(rows))
}

with_private_seed <- function(seed, expr) {
  had <- exists(".Random.seed", envir = globalenv(), inherits = FALSE)
  if (had) old <- get(".Random.seed", envir = globalenv(), inherits = FALSE)
  on.exit(if (had) assign(".Random.seed", old, envir = globalenv())
          else rm(".Random.seed", envir = globalenv()))
  set.seed(seed)
  expr
}

# The training cells for one chunk of steps: all of them, or a minibatch
# keyed by the fit's seed and the chunk's first step.
chunk_data <- function(design, state) {
  if (is.null(design$batch)) return(design$train)
  design$batch((state$seed + state$step) %% .Machine$integer.max)
}

# Per-cell log-likelihood at the point estimate over all training cells,
# read a block at a time when they are not held in memory.
training_point_loglik <- function(design, par, settings) {
  if (!is.null(design$train)) {
    return(.Call(pg_gim_point_loglik, design$train, par, settings))
  }
  rows <- design$train_rows
  step <- max(1L, 100000L %/% max(1L, settings$d))
  total <- 0
  for (from in seq(1L, length(rows), by = step)) {
    part <- rows[seq.int(from, min(length(rows), from + step - 1L))]
    data <- design$block_of(part)
    total <- total + .Call(pg_gim_point_loglik, data, par, settings) * length(part)
  }
  total / length(rows)
}

fit_engine <- function(design, mechanism, intervention, control, nodes, verbose, call,
                       init = NULL, checkpoint = NULL) {
  d <- length(nodes)
  p <- ncol(design$features)
  settings <- engine_settings(control, mechanism, intervention, d, p)
  blocks <- engine_blocks(mechanism, intervention, d, settings$k, settings$H, settings$sizes,
                          control_setting(control, "acyclicity"))
  check_engine_layout(blocks, settings)
  state <- if (is.null(init)) {
    # Gene means for the output biases: all training cells, or a minibatch.
    init_cells <- (design$train %||% chunk_data(design, list(seed = 0, step = 0)))$x
    par <- init_parameters(blocks, init_cells, mechanism, nodes,
                           latent_sd = control$latent_init_sd %||% 1)
    seed <- floor(stats::runif(1) * 2^32)
    list(par = par, m = numeric(length(par)), v = numeric(length(par)),
         step = 0L, lambda = settings$lambda, mu = settings$mu, seed = seed,
         heldout = -Inf, trace = NULL)
  } else {
    resume_state(init, engine_length(blocks))
  }
  save <- if (!is.null(checkpoint)) {
    function(state) {
      save_checkpoint(new_gim(state, design, blocks, settings, control, mechanism,
                              intervention, nodes, call), checkpoint$path)
    }
  }
  trained <- train_chunks(state, design, settings, blocks, control, verbose, save,
                          checkpoint$every)
  trained <- polish(trained, design, settings, control, verbose)
  if (!is.null(save) && !is.null(trained$polish)) save(trained)  # the checkpoint is the fit
  new_gim(trained, design, blocks, settings, control, mechanism, intervention, nodes, call)
}

# Polishing (see ?gim_control): Adam on the mechanisms and noise scales
# alone at the point estimate, in chunks of `check_every` steps (each on a
# fresh minibatch when training used them). Skipped after an interrupted
# training; an interrupt while polishing keeps the steps done.
polish <- function(state, design, settings, control, verbose) {
  n <- control_setting(control, "polish_steps")
  last <- if (NROW(state$trace)) state$trace[nrow(state$trace), ]
  if (n == 0L || isTRUE(state$interrupted) || is.null(last)) return(state)
  settings$alpha <- last$alpha
  par <- state$par
  adam <- list(m = numeric(length(par)), v = numeric(length(par)))
  objective <- numeric()
  done <- 0L
  if (verbose) {
    pb <- cli::cli_progress_bar(total = n, clear = FALSE,
                                format = "polishing {cli::pb_bar} {cli::pb_current}/{cli::pb_total} steps")
  }
  run <- function() {
    while (done < n) {
      k <- min(control$check_every, n - done)
      data <- design$train %||%
        chunk_data(design, list(seed = state$seed, step = state$step + done))
      res <- .Call(pg_gim_polish, data, par, adam, settings, done, as.integer(k))
      if (nzchar(res$status)) stop_nonfinite(res$status, state$step)
      par <<- res$par
      adam <<- list(m = res$m, v = res$v)
      objective <<- c(objective, res$objective - design$n_train * design$log_jacobian)
      done <<- done + k
      if (verbose) cli::cli_progress_update(id = pb, set = done)
    }
  }
  interrupted <- FALSE
  with_single_blas_thread(tryCatch(run(), interrupt = function(e) interrupted <<- TRUE))
  if (verbose) cli::cli_progress_done(id = pb)
  if (interrupted) {
    cli::cli_warn("Polishing was interrupted after {done} of {n} steps; the fit keeps them.",
                  class = "perturbgim_interrupted")
  }
  heldout <- heldout_loglik(design$heldout, par, settings, last, state$seed) -
    design$log_jacobian
  # Resuming (init =) continues training from where it ended, so that a
  # resumed fit is the same as one trained straight through.
  state$trained_par <- state$par
  state$par <- par
  state$polish <- list(steps = done, objective = objective,
                       heldout = c(before = last$heldout, after = heldout))
  state
}

# The training loop: C runs `check_every` steps per call; between calls R
# updates the augmented Lagrangian, the progress bar and the trace.
train_chunks <- function(state, design, settings, blocks, control, verbose, save = NULL,
                         save_every = Inf) {
  rows <- if (!is.null(state$trace) && nrow(state$trace)) list(state$trace) else list()
  interrupted <- FALSE
  # Seconds continue from a resumed fit's trace.
  started <- proc.time()[["elapsed"]] - (if (length(rows)) max(state$trace$seconds) else 0)
  saved_at <- state$step
  if (verbose) {
    pb_objective <- NA_real_
    pb_acyclicity <- NA_real_
    pb <- cli::cli_progress_bar(
      total = control$steps, clear = FALSE,
      format = paste("{cli::pb_bar} {cli::pb_current}/{cli::pb_total} steps",
                     "| objective {format(pb_objective, digits = 6)}",
                     "| acyclicity {format(pb_acyclicity, digits = 3)} | {cli::pb_eta}")
    )
  }
  run <- function() {
    while (state$step < control$steps && !isTRUE(state$done)) {
      n <- min(control$check_every, control$steps - state$step)
      settings$lambda <- state$lambda
      settings$mu <- state$mu
      res <- train_chunk(chunk_data(design, state), state, settings, n)
      if (nzchar(res$status)) stop_nonfinite(res$status, state$step + nrow(res$trace) + 1L)
      last <- res$trace[nrow(res$trace), ]
      heldout <- heldout_loglik(design$heldout, res$par, settings, last, state$seed)
      cyclic <- !is_dag(point_graph(res$par, blocks))
      annealed <- control$steps > anneal_length(control) &&
        res$step >= anneal_length(control)
      state <- lagrangian_update(state, heldout, last[["acyclicity"]], cyclic, settings$d,
                                 control, annealed)$state
      state$par <- res$par
      state$m <- res$m
      state$v <- res$v
      state$step <- res$step
      state <- early_stop_update(state, heldout, cyclic, settings$d, control)
      # Reported in the units of the data, whatever the internal scale.
      jac <- design$log_jacobian
      rows[[length(rows) + 1L]] <<- data.frame(
        step = res$step, objective = last[["objective"]] - design$n_train * jac,
        log_likelihood = last[["loglik"]] - design$n_train * jac,
        acyclicity = last[["acyclicity"]], heldout = heldout - jac, lambda = state$lambda,
        mu = state$mu, alpha = last[["alpha"]], beta_I = last[["beta_I"]],
        ess = last[["ess"]], configs = mean(res$trace[, "configs"]), cyclic = cyclic,
        seconds = proc.time()[["elapsed"]] - started
      )
      state <<- state
      if (!is.null(save) && (state$step %/% save_every > saved_at %/% save_every ||
                             state$step >= control$steps || state$done)) {
        state$trace <- do.call(rbind, rows)
        save(state)
        saved_at <<- state$step
      }
      if (verbose) {
        pb_objective <<- last[["objective"]]
        pb_acyclicity <<- last[["acyclicity"]]
        cli::cli_progress_update(id = pb, set = state$step)
      }
    }
  }
  with_single_blas_thread(tryCatch(run(), interrupt = function(e) {
    interrupted <<- TRUE
  }))
  if (verbose) cli::cli_progress_done(id = pb)
  state$trace <- do.call(rbind, rows) %||% data.frame()
  if (interrupted && !is.null(save) && state$step > saved_at) save(state)
  if (interrupted) {
    cli::cli_warn(c("Training was interrupted after step {state$step} of {control$steps}.",
                    "i" = "The fit holds the parameters of the last complete chunk."),
                  class = "perturbgim_interrupted")
  }
  rownames(state$trace) <- NULL
  state$interrupted <- interrupted
  state$stop_reason <- stop_reason(state, control, interrupted)
  state
}

# The convergence signal of the augmented Lagrangian (paper, appendix D.4):
# the Monte Carlo log-likelihood of the held-out cells per cell, at the
# current alpha and beta_I. Every check draws the same graph and target
# samples (a fixed step key that training never reaches), so that
# successive values differ by the change in the parameters, not by Monte
# Carlo noise. The point estimate is not used: its hard thresholds can
# score far below the Monte Carlo objective while the fit still improves.
heldout_loglik <- function(heldout, par, settings, last, seed) {
  n <- nrow(heldout$x)
  if (n == 0L) return(NA_real_)
  settings$alpha <- last[["alpha"]]
  settings$beta_I <- last[["beta_I"]]
  settings$n_threads <- 1L
  # The same score whichever estimator trains, so that fits compare.
  settings$mc_estimator <- engine_code("mc_estimator", "marginal") + 0
  res <- .Call(pg_gim_objective, heldout, par, settings, seed, .Machine$integer.max, NULL,
               FALSE)
  res$loglik / n
}

# One chunk of Adam steps in C (a function of its own so that tests can
# simulate an interrupt between chunks).
train_chunk <- function(data, state, settings, n) {
  .Call(pg_gim_train, data, state$par, list(m = state$m, v = state$v),
        settings, state$seed, state$step, as.integer(n))
}

stop_nonfinite <- function(term, step, call = rlang::caller_env()) {
  cli::cli_abort(c("Training stopped at step {step}: the {term} is not finite.",
                   "i" = paste("Try a smaller {.arg learning_rate} in {.fn gim_control},",
                               "or check the scale of {.arg x} (log-normalise counts).")),
                 class = "perturbgim_nonfinite", call = call)
}

# G* (the sign of edge_scores()) from a flat parameter vector, reading the
# graph blocks where engine_blocks() lays them out.
point_graph <- function(par, blocks) {
  off <- engine_offsets(blocks)
  lat <- list()
  for (b in blocks) {
    if (b$path[1] != "graph_latent") next
    value <- par[off[[paste(b$path, collapse = "/")]] + seq_len(prod(b$dim))]
    lat[[b$path[2]]] <- if (length(b$dim) > 1L) matrix(value, b$dim[1], b$dim[2]) else value
  }
  g <- (latent_edge_scores(lat) > 0) * 1L
  diag(g) <- 0L
  g
}
