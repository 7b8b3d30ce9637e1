# gim_fit(restarts = ): independent fits from different starts on the same
# training and held-out cells, the best kept by its held-out score. The fits
# run through BiocParallel when a BPPARAM is given; each carries its own
# seed, drawn before any fit, so the result does not depend on the backend.

# Runs `restarts` fits of one design and returns the chosen one, with the
# table of all of them in `$restarts`.
fit_restarts <- function(design, inputs, mechanism, intervention, control, nodes, verbose,
                         call, restarts, BPPARAM) {
  seeds <- sample.int(.Machine$integer.max, restarts)
  data <- list(inputs = inputs, mechanism = mechanism, intervention = intervention,
               control = control, nodes = nodes, rng_kind = RNGkind(),
               version = as.character(getNamespaceVersion("perturbgim")),
               libs = .libPaths())
  if (verbose) {
    backend <- if (is.null(BPPARAM)) "serial" else class(BPPARAM)[[1]]
    cli::cli_inform(c("i" = paste("Fitting {restarts} restarts ({backend});",
                                  "keeping the best held-out log-likelihood of an acyclic fit.")))
  }
  fits <- if (is.null(BPPARAM)) {
    serial_restarts(seeds, design, data, verbose)
  } else {
    bplapply_package(seeds, "restart_fit", data, BPPARAM)
  }
  table <- restart_table(fits, seeds)
  best <- choose_restart(table)
  table$chosen <- seq_len(nrow(table)) == best
  fit <- fits[[best]]
  fit$call <- call
  fit$restarts <- table
  if (verbose) {
    cli::cli_inform(c("v" = "Kept restart {best} of {nrow(table)}: held-out log-likelihood {format(table$heldout[best], digits = 5)} per cell."))
  }
  fit
}

# In this session, one after another, with each fit's progress bar. An
# interrupted restart ends the search; the fits so far are compared.
serial_restarts <- function(seeds, design, data, verbose) {
  fits <- list()
  for (i in seq_along(seeds)) {
    if (verbose) cli::cli_inform("Restart {i} of {length(seeds)}.")
    fits[[i]] <- restart_fit(seeds[[i]], data, design, verbose)
    if (isTRUE(fits[[i]]$state$interrupted)) break
  }
  fits
}

# One restart: the design is rebuilt from the inputs in a worker (the same
# cells and held-out cells; closures are not sent), the fit seeded by `seed`.
restart_fit <- function(seed, data, design = NULL, verbose = FALSE) {
  here <- as.character(getNamespaceVersion("perturbgim"))
  if (!identical(here, data$version)) {
    stop("this worker runs perturbgim ", here, ", the caller ", data$version,
         "; results would not be reproducible.", call. = FALSE)
  }
  restore <- local_task_seed(seed, data$rng_kind)
  on.exit(restore(), add = TRUE)
  if (is.null(design)) {
    inp <- data$inputs
    design <- training_design(inp$x, inp$context, inp$features, data$control, inp$held,
                              inp$scaling)
  }
  fit_engine(design, data$mechanism, data$intervention, data$control, data$nodes,
             verbose, call = NULL)
}

restart_table <- function(fits, seeds) {
  data.frame(
    restart = seq_along(fits),
    seed = seeds[seq_along(fits)],
    heldout = vapply(fits, function(f) final_heldout(f) %||% NA_real_, numeric(1)),
    acyclic = vapply(fits, function(f) is_dag(causal_graph_raw(f)), logical(1)),
    edges = vapply(fits, function(f) sum(causal_graph_raw(f)), numeric(1)),
    steps = vapply(fits, function(f) as.numeric(f$state$step), numeric(1)),
    stop_reason = vapply(fits, function(f) f$state$stop_reason, character(1))
  )
}

# The highest held-out score among the acyclic fits (a cyclic graph's
# factorised likelihood is no density and can beat any DAG's), or among all
# when none is acyclic.
choose_restart <- function(table) {
  pool <- if (any(table$acyclic)) which(table$acyclic) else seq_len(nrow(table))
  score <- table$heldout[pool]
  if (all(is.na(score))) return(pool[[1]])
  pool[[which.max(score)]]
}
