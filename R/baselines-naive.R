# The "naive" baseline of fit_baseline(): a new context is predicted by the
# training cells of the same perturbation at the closest lower dose, as the
# paper's SciPlex3 experiment (section 5.2) predicts a drug at 10 uM by the
# same drug at 1 uM. sciplex_splits() computes these cells by drug and dose
# annotations; here the rule works on any feature matrix, through the
# columns that encode the dose (see ?fit_baseline).

baseline_fit_naive <- function(data, control, call = rlang::caller_env()) {
  pert <- !data$observational
  list(cells = data$x[pert, , drop = FALSE],
       cell_context = data$context[pert],
       dose = naive_dose_columns(data$features, control$dose, call),
       control = control)
}

# The dose columns (ignored when contexts are matched) and the one whose
# value orders the doses. A user's choice that cannot work is an error now;
# a guess that finds nothing is kept as a note, since a `reference` at
# prediction time makes the rule unnecessary.
naive_dose_columns <- function(features, dose, call) {
  names <- colnames(features)
  guessed <- is.null(dose)
  if (guessed) {
    dose <- grep("dose", names, ignore.case = TRUE, value = TRUE)
  } else {
    missing <- setdiff(dose, names)
    if (length(missing)) {
      cli::cli_abort(c(
        "{.code baseline_control(dose = )} names column{?s} {.val {missing}} that {?is/are} not in {.arg features}.",
        "i" = "Feature columns: {.val {names}}."
      ), call = call)
    }
  }
  note <- NULL
  value <- NA_character_
  if (!length(dose)) {
    note <- "No feature column name contains {.val dose}."
  } else if (length(dose) == 1L) {
    value <- dose
  } else {
    # Several dose columns (a one-hot encoding and a value, as in
    # sciplex_features()): the dose is read from the one that is not 0/1.
    levels <- dose[vapply(dose, function(col) !all(features[, col] %in% c(0, 1)),
                          logical(1))]
    if (length(levels) == 1L) {
      value <- levels
    } else {
      note <- if (length(levels)) {
        "The dose columns {.val {levels}} all take values other than 0 and 1, so none orders the doses alone."
      } else {
        "The dose columns {.val {dose}} are all 0/1 indicators, so none orders the doses."
      }
      if (!guessed) cli::cli_abort(c(note, "i" = paste(
        "Name one numeric dose column, with the indicator columns of the dose,",
        "in {.code baseline_control(dose = )}.")), call = call)
    }
  }
  # Formatted now, while the values are at hand; braces escaped so that the
  # note can be a bullet of a later cli message.
  if (!is.null(note)) {
    note <- cli::format_inline(note)
    note <- gsub("}", "}}", gsub("{", "{{", note, fixed = TRUE), fixed = TRUE)
  }
  list(columns = dose, value = value, note = note)
}

# Training contexts that predict each row of newdata: `reference` where it
# names the row, else the closest lower dose. A named list, label -> labels.
naive_references <- function(object, newdata, reference, call) {
  labels <- rownames(newdata)
  if (anyDuplicated(labels)) {
    cli::cli_abort("{.arg newdata} has duplicated row names: {.val {unique(labels[duplicated(labels)])}}.",
                   call = call)
  }
  given <- naive_check_reference(reference, labels, unique(object$cell_context), call)
  out <- stats::setNames(vector("list", length(labels)), labels)
  for (label in labels) {
    out[[label]] <- given[[label]] %||%
      naive_closest_lower_dose(object, newdata[label, , drop = FALSE], label, call)
  }
  out
}

naive_check_reference <- function(reference, labels, training, call) {
  if (is.null(reference)) return(list())
  if (is.character(reference)) reference <- as.list(reference)
  ok <- is.list(reference) && length(reference) > 0L &&
    all(vapply(reference, function(r) is.character(r) && length(r) > 0L && !anyNA(r),
               logical(1)))
  if (!ok) {
    cli::cli_abort(paste("{.arg reference} must be a named character vector (or a",
                         "named list of character vectors) of training contexts,",
                         "not {.obj_type_friendly {reference}}."), call = call)
  }
  nm <- names(reference)
  if (is.null(nm) || anyNA(nm) || any(nm == "") || anyDuplicated(nm)) {
    cli::cli_abort("{.arg reference} must be named by the contexts (row names of {.arg newdata}) it maps, each once.",
                   call = call)
  }
  unknown <- setdiff(nm, labels)
  if (length(unknown)) {
    cli::cli_abort(c("{.arg reference} names context{?s} {.val {unknown}} that {?is/are} not in {.arg newdata}.",
                     "i" = "Contexts of {.arg newdata}: {.val {labels}}."), call = call)
  }
  absent <- setdiff(unlist(reference), training)
  if (length(absent)) {
    cli::cli_abort(c("{.arg reference} maps to {.val {absent}}, not {?a/} perturbed training context{?s}.",
                     "i" = "Perturbed training contexts: {.val {utils::head(training, 10)}}."),
                   call = call)
  }
  lapply(reference, unique)
}

naive_closest_lower_dose <- function(object, new, label, call) {
  dose <- object$dose
  hint <- c("i" = paste("Give {.arg reference}, e.g. {.code reference = c(\"{label}\" =",
                        "\"<training context>\")}, or the dose columns in",
                        "{.code baseline_control(dose = )}."))
  if (is.na(dose$value)) {
    cli::cli_abort(c("Can't find the training context that predicts {.val {label}} by the naive rule.",
                     "x" = dose$note, hint), call = call)
  }
  f <- object$features
  near <- function(a, b) abs(a - b) <= 1e-8 * pmax(1, abs(a), abs(b))
  others <- setdiff(colnames(f), dose$columns)
  same <- rep(TRUE, nrow(f))
  for (col in others) same <- same & near(f[, col], new[1L, col])
  level <- f[, dose$value]
  lower <- same & level < new[1L, dose$value] & !near(level, new[1L, dose$value])
  if (!any(lower)) {
    cols <- dose$columns
    matched <- rownames(f)[same]
    dose_new <- new[1L, dose$value]
    why <- if (length(matched)) {
      c("x" = paste("{cli::qty(length(matched))}Training context{?s} {.val {matched}}",
                    "{cli::qty(length(matched))}{?has/have} its features outside the dose",
                    "{cli::qty(length(cols))}column{?s} {.val {cols}}, but none has a dose below",
                    "{.field {dose$value}} = {dose_new}."))
    } else {
      c("x" = paste("No training context has its features outside the dose",
                    "{cli::qty(length(cols))}column{?s} {.val {cols}}."))
    }
    cli::cli_abort(c(
      "Can't find the training context that predicts {.val {label}} by the naive rule.",
      why, hint
    ), call = call)
  }
  top <- max(level[lower])
  rownames(f)[lower & near(level, top)]
}

baseline_predict_naive <- function(object, newdata, n, type, reference,
                                   call = rlang::caller_env()) {
  refs <- naive_references(object, newdata, reference, call)
  labels <- names(refs)
  rows <- lapply(refs, function(r) which(object$cell_context %in% r))
  if (type == "mean") {
    out <- do.call(rbind, lapply(rows, function(i) {
      colMeans(object$cells[i, , drop = FALSE])
    }))
    dimnames(out) <- list(labels, object$nodes)
    attr(out, "reference") <- refs
    return(out)
  }
  K <- length(labels)
  if (!is.null(n)) n <- rep_len(n, K)
  # Context by context, in order, so that set.seed() fixes every draw.
  idx <- lapply(seq_len(K), function(k) {
    i <- rows[[k]]
    if (is.null(n)) i else i[sample.int(length(i), n[k], replace = TRUE)]
  })
  out <- object$cells[unlist(idx), , drop = FALSE]
  dimnames(out) <- list(NULL, object$nodes)
  attr(out, "context") <- rep.int(labels, lengths(idx))
  attr(out, "reference") <- refs
  out
}

# One line for print.perturbgim_baseline().
naive_rule_text <- function(dose) {
  if (is.na(dose$value)) {
    return("  closest lower dose: no dose column found; predict() needs `reference`")
  }
  others <- setdiff(dose$columns, dose$value)
  sprintf("  closest lower dose: doses from column %s%s", dose$value,
          if (length(others)) sprintf(" (also ignored when matching: %s)",
                                      paste(others, collapse = ", ")) else "")
}
