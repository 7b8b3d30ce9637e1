# Continuing a fit (`gim_fit(init = )`) and checkpoint files.

check_init <- function(init, call = rlang::caller_env()) {
  validate_gim(init, "init", call = call)
  format <- init$format_version
  if (is.null(format) || !identical(as.integer(format), gim_format_version)) {
    made_by <- init$version %||% "an unknown version"
    cli::cli_abort(c(
      "{.arg init} was made by perturbgim {made_by}, whose fits cannot be resumed by this version ({utils::packageVersion('perturbgim')}).",
      "i" = "Fit again with {.fn gim_fit}, or resume with the version that made it."
    ), call = call)
  }
  st <- init$state
  needed <- c("par", "adam_m", "adam_v", "step", "lambda", "mu", "seed", "heldout")
  if (!is.list(st) || !all(needed %in% names(st)) || !is.numeric(st$par) ||
      length(st$adam_m) != length(st$par) || length(st$adam_v) != length(st$par) ||
      any(!is.finite(st$par))) {
    cli::cli_abort("{.arg init} has no usable training state (it was modified or is damaged).",
                   call = call)
  }
  invisible(init)
}

check_init_matches <- function(init, mechanism, intervention, nodes, features,
                                call = rlang::caller_env()) {
  if (!identical(init$mechanism, mechanism) || !identical(init$intervention, intervention)) {
    cli::cli_abort(c(
      "{.arg init} is a {.val {init$mechanism}}/{.val {init$intervention}} fit, not {.val {mechanism}}/{.val {intervention}}.",
      "i" = "Leave {.arg mechanism} and {.arg intervention} unset to continue it."
    ), call = call)
  }
  if (!identical(init$nodes, nodes)) {
    cli::cli_abort("{.arg x} must have the genes of {.arg init} in the same order: {.val {init$nodes}}.",
                   call = call)
  }
  if (!identical(init$feature_names, colnames(features))) {
    cli::cli_abort("{.arg features} must have the columns of {.arg init}: {.val {init$feature_names}}.",
                   call = call)
  }
  invisible(TRUE)
}

# The training state of a fit, as train_chunks() takes it.
resume_state <- function(init, n_par, call = rlang::caller_env()) {
  st <- init$state
  if (length(st$par) != n_par) {
    cli::cli_abort(c(
      "{.arg control} does not match {.arg init}: the model has {n_par} parameters, {.arg init} {length(st$par)}.",
      "i" = "Keep {.code latent_dim}, {.code mechanism_hidden} and {.code gim_hidden} of {.code init$control}."
    ), call = call)
  }
  # A polished fit resumes from its trained parameters (see polish()).
  list(par = st$trained_par %||% st$par, m = st$adam_m, v = st$adam_v, step = as.integer(st$step),
       lambda = st$lambda, mu = st$mu, seed = st$seed, heldout = st$heldout,
       best_heldout = st$best_heldout, best_step = st$best_step,
       trace = init$trace)
}

check_checkpoint <- function(checkpoint, every, call = rlang::caller_env()) {
  if (is.null(checkpoint)) return(NULL)
  if (!is.character(checkpoint) || length(checkpoint) != 1L || is.na(checkpoint) ||
      !nzchar(checkpoint)) {
    cli::cli_abort("{.arg checkpoint} must be a file path (one string) or NULL, not {.obj_type_friendly {checkpoint}}.",
                   call = call)
  }
  if (dir.exists(checkpoint)) {
    cli::cli_abort("{.arg checkpoint} must be a file path, not the folder {.path {checkpoint}}.",
                   call = call)
  }
  dir <- dirname(checkpoint)
  if (!dir.exists(dir)) {
    cli::cli_abort("{.arg checkpoint}'s folder {.path {dir}} does not exist.", call = call)
  }
  list(path = checkpoint, every = check_count(every, "checkpoint_every", min = 1L, call = call))
}

# Write to a temporary file in the same folder, then rename: an interrupt or a
# full disk never leaves a truncated checkpoint behind.
save_checkpoint <- function(fit, path) {
  tmp <- tempfile(".perturbgim-checkpoint-", tmpdir = dirname(path), fileext = ".rds")
  on.exit(unlink(tmp), add = TRUE)
  saveRDS(fit, tmp)
  if (!file.rename(tmp, path)) {
    cli::cli_warn("Could not write the checkpoint {.path {path}}.")
  }
  invisible(path)
}
