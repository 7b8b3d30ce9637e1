# The check gim_fit() makes before training, from estimate_fit_cost(): a fit
# whose peak memory would exceed what the machine has stops at once, with
# the estimate and what to change, instead of growing until the system
# kills it; a long fit says how long it may take.

# Above this many seconds (one thread) a fit says how long it may take.
long_fit_seconds <- 3600

# The cost of the fit gim_fit.default() is about to train, then the check.
check_fit_cost <- function(sizes, mechanism, intervention, control, verbose, init = NULL,
                           held = NULL, call = rlang::caller_env()) {
  dims <- fit_dims(sizes, mechanism, intervention, control, n_heldout = if (!is.null(held)) length(held),
                   steps_done = if (!is.null(init)) init$state$step else 0L)
  cost <- fit_cost(dims)
  limit <- fit_memory_limit(control, call)
  if (!is.na(limit$bytes) && cost$memory > limit$bytes) {
    stop_fit_too_large(cost, limit, call)
  }
  if (verbose && cost$seconds > long_fit_seconds) {
    cli::cli_inform(c(
      "i" = paste("This fit may take up to {format_duration(cost$seconds)}:",
                  "{format(signif(cost$seconds_per_step, 2))} s per step for",
                  "{big_count(cost$steps)} steps on one thread (see {.fn estimate_fit_cost})."),
      " " = paste("Fewer genes, minibatches ({.code gim_control(minibatch = )}) or",
                  "early stopping ({.code gim_control(stop_patience = )}) shorten it.")
    ), class = "perturbgim_long_fit")
  }
  invisible(cost)
}

# The sizes the cost model reads, from gim_fit()'s checked inputs.
fit_sizes <- function(x, context, features) {
  list(n_genes = ncol(x), n_cells = nrow(x), n_contexts = length(unique(context)),
       n_perturbed = nrow(features), n_features = ncol(features))
}

# The memory a fit may use, in bytes, and where that number comes from:
# gim_control(memory_limit = ), else the option perturbgim.memory_limit,
# else what the system reports as available (Linux); NA where none is known,
# and then nothing is checked.
fit_memory_limit <- function(control, call = rlang::caller_env()) {
  if (!is.null(control$memory_limit)) {
    return(list(bytes = control$memory_limit, source = "set by gim_control(memory_limit = )"))
  }
  option <- getOption("perturbgim.memory_limit")
  if (!is.null(option)) {
    bytes <- check_memory_limit(option, "options(perturbgim.memory_limit)", call = call)
    return(list(bytes = bytes, source = "set by option perturbgim.memory_limit"))
  }
  list(bytes = available_memory(), source = "available on this machine")
}

# MemAvailable of /proc/meminfo in bytes: the memory Linux can give a new
# process without swapping. NA where it cannot be read.
available_memory <- function(path = "/proc/meminfo") {
  lines <- tryCatch(suppressWarnings(readLines(path, warn = FALSE)),
                    error = function(e) character())
  line <- grep("^MemAvailable:", lines, value = TRUE)
  if (length(line) != 1L) return(NA_real_)
  kib <- suppressWarnings(as.numeric(sub("^MemAvailable:[[:space:]]*([0-9]+).*$", "\\1", line)))
  if (length(kib) != 1L || is.na(kib)) NA_real_ else kib * 1024
}

stop_fit_too_large <- function(cost, limit, call) {
  d <- cost$dims
  memory_with <- function(...) fit_cost(utils::modifyList(d, list(...)))$memory
  # A remedy is named when it saves at least a tenth of the memory.
  helps <- function(bytes) bytes < 0.9 * cost$memory
  genes <- max_genes(d, limit$bytes)
  smaller_mc <- max(1, min(32, d$n_mc %/% 4))
  batch <- if (!d$minibatch && d$n_train > 2000) {
    memory_with(cells_per_step = 2000, minibatch = TRUE)
  } else {
    Inf
  }
  fewer_mc <- if (d$n_mc > smaller_mc) memory_with(n_mc = smaller_mc) else Inf
  remedies <- c(
    "*" = paste0("Model fewer genes, e.g. marker genes ({.arg genes} for SingleCellExperiment ",
                 "and Seurat objects, or fewer columns of {.arg x})",
                 if (genes >= 1) ": about {big_count(genes)} genes fit." else "."),
    "*" = if (helps(batch)) {
      paste("Train on minibatches of cells: with {.code gim_control(minibatch = 2000)}",
            "about {format_bytes(batch)}.")
    },
    "*" = if (helps(fewer_mc)) {
      paste("Use fewer Monte Carlo samples: with {.code gim_control(n_mc = {smaller_mc})}",
            "about {format_bytes(fewer_mc)}.")
    }
  )
  cli::cli_abort(c(
    paste("This fit would need about {format_bytes(cost$memory)} of memory, more than the",
          "{format_bytes(limit$bytes)} {limit$source}."),
    "i" = paste("{big_count(d$n_genes)} genes, {big_count(d$n_train)} training cells,",
                "{big_count(d$n_contexts)} contexts, {.code n_mc = {d$n_mc}}: memory grows",
                "with {.code n_mc} times the square of the genes (see {.fn estimate_fit_cost})."),
    remedies,
    "i" = "To start it anyway: {.code gim_control(memory_limit = Inf)}."
  ), class = "perturbgim_fit_too_large", call = call)
}

# The most genes whose fit stays within `bytes`, the other sizes as in
# `dims` (memory grows with the genes, so a bisection finds it).
max_genes <- function(dims, bytes) {
  fits <- function(g) {
    smaller <- utils::modifyList(dims, list(n_genes = g, latent_dim = min(dims$latent_dim, g)))
    fit_cost(smaller)$memory <= bytes
  }
  lo <- 0
  hi <- dims$n_genes
  while (hi - lo > 1) {
    mid <- floor((lo + hi) / 2)
    if (fits(mid)) lo <- mid else hi <- mid
  }
  lo
}
