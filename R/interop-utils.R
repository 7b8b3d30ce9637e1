# What the SingleCellExperiment and Seurat interfaces of gim_fit() and
# predict() share: reading the context, features and genes out of cell and
# gene annotations, the per-context table and its stored encoding, encoding
# new contexts for prediction, sampling them, and storing a fit in an object.
# The object-specific parts (reading assays, building the returned objects)
# are in interop-sce.R and interop-seurat.R.

# Transpose a base matrix or a Matrix, keeping a dgCMatrix sparse: the
# boundary between the Bioconductor and Seurat objects (genes in rows) and
# the cells-in-rows matrices of the package, here and in preprocess.R.
transpose_matrix <- function(m) {
  if (methods::is(m, "Matrix")) Matrix::t(m) else t(m)
}

# ---------------------------------------------------------------------------
# Fitting: context, genes, features

# The context of every cell: one or more columns of the cell annotations
# `meta` (several are joined with "_", e.g. drug and dose) or one label per
# cell. Returns the labels, the column names (NULL for labels) and the name of
# the label column of predicted cells.
interop_context <- function(context, meta, where, call = rlang::caller_env()) {
  n <- nrow(meta)
  # A missing `context` is passed on as missing from the methods.
  if (missing(context) || is.null(context)) {
    cli::cli_abort(c(
      "{.arg context} must name columns of {.code {where}}, or give one label per cell.",
      "i" = "Columns: {.field {utils::head(names(meta), 20)}}."
    ), call = call)
  }
  is_name <- is.character(context) && length(context) >= 1L && length(context) < n
  if (is_name) {
    absent <- setdiff(context, names(meta))
    if (anyNA(context) || length(absent)) {
      cli::cli_abort(c(
        "{.arg context} must name columns of {.code {where}}: there is no column {.val {absent}}.",
        "i" = "Columns: {.field {utils::head(names(meta), 20)}}."
      ), call = call)
    }
    labels <- context_labels(meta, context)
    arg <- paste0(where, "$", context[1])
  } else {
    labels <- context
    arg <- "context"
  }
  if (!is.atomic(labels) || length(labels) != n) {
    cli::cli_abort(
      "{.arg context} must name columns of {.code {where}}, or give one label per cell ({n}), not {describe_value(context)}.",
      call = call
    )
  }
  if (anyNA(labels) || any(as.character(labels) == "")) {
    cli::cli_abort("{.code {arg}} must not contain NA or empty context labels.",
                   call = call)
  }
  column <- if (is_name) context else NULL
  list(labels = as.character(labels), column = column,
       label = if (length(column) == 1L) column else "context")
}

# Context labels from annotation columns; NA if any part is NA.
context_labels <- function(meta, columns) {
  parts <- lapply(columns, function(col) as.character(meta[[col]]))
  labels <- do.call(paste, c(parts, sep = "_"))
  labels[Reduce(`|`, lapply(parts, is.na))] <- NA_character_
  labels
}

# Logical flag per cell for observational (control) cells: NULL (none), the
# name of a logical column of `meta`, or a logical vector; or, with
# `control_level`, the cells whose context (the first context column, or the
# label when contexts are given per cell) takes one of those values.
interop_observational <- function(observational, meta, where, ctx = NULL,
                                  control_level = NULL, call = rlang::caller_env()) {
  n <- nrow(meta)
  if (!is.null(control_level)) {
    if (!is.null(observational)) {
      cli::cli_abort(c(
        "Give {.arg observational} or {.arg control_level}, not both.",
        "i" = "{.arg control_level} names the context of the control cells, e.g. {.val NT}."
      ), call = call)
    }
    column <- ctx$column[1]
    values <- if (is.null(column)) ctx$labels else meta[[column]]
    what <- if (is.null(column)) "the context labels" else
      sprintf("%s$%s", where, column)
    flag <- control_level_cells(control_level, values, what, call = call)
    return(list(flag = flag, column = NULL, level = as.character(control_level),
                given = TRUE))
  }
  if (is.null(observational)) {
    return(list(flag = rep(FALSE, n), column = NULL, given = FALSE))
  }
  column <- NULL
  if (is.character(observational) && length(observational) == 1L) {
    if (is.na(observational) || !observational %in% names(meta)) {
      first <- if (is.null(ctx$column)) ctx$labels else meta[[ctx$column[1]]]
      hint <- if (!is.na(observational) && observational %in% as.character(first)) {
        c("i" = "{.val {observational}} is a context: to take its cells as observational, give {.code control_level = \"{observational}\"}.")
      }
      cli::cli_abort(c(
        "{.arg observational} must name a logical column of {.code {where}}: there is no column {.val {observational}}.",
        "i" = "Columns: {.field {utils::head(names(meta), 20)}}.",
        hint
      ), call = call)
    }
    column <- observational
    observational <- meta[[column]]
  }
  if (!is.logical(observational) || length(observational) != n || anyNA(observational)) {
    cli::cli_abort(paste("{.arg observational} must be NULL, the name of a logical column",
                         "of {.code {where}} or a logical vector with one entry per",
                         "cell ({n}), without NA."), call = call)
  }
  list(flag = observational, column = column, given = TRUE)
}

# The control cells of a screen given by the value(s) their condition takes
# (e.g. "NT" or "control" in a guide column): one logical per value of
# `values`. Shared with preprocess_perturbation().
control_level_cells <- function(control_level, values, what, arg = "control_level",
                                call = rlang::caller_env()) {
  if (is.factor(control_level)) control_level <- as.character(control_level)
  if (!is.atomic(control_level) || !length(control_level) || anyNA(control_level) ||
      is.logical(control_level)) {
    cli::cli_abort(paste("{.arg {arg}} must be one or more values of the condition",
                         "(e.g. {.val NT}), not {describe_value(control_level)}."),
                   call = call)
  }
  values <- as.character(values)
  flag <- values %in% as.character(control_level)
  if (!any(flag)) {
    seen <- unique(values[!is.na(values)])
    cli::cli_abort(c(
      "{.arg {arg}} = {.val {control_level}} matches no cell of {.code {what}}.",
      "i" = "Its values include {.val {utils::head(seen, 8)}}."
    ), call = call)
  }
  if (all(flag)) {
    cli::cli_abort("{.arg {arg}} = {.val {control_level}} matches every cell of {.code {what}}: no cell is perturbed.",
                   call = call)
  }
  flag
}

# The genes to model: NULL (all), the name of a logical gene annotation
# column, names of genes, or one logical per gene.
interop_genes <- function(genes, all_genes, gene_meta, where,
                          call = rlang::caller_env()) {
  if (is.null(genes)) return(all_genes)
  if (is.character(genes) && length(genes) == 1L && !is.na(genes) &&
      genes %in% names(gene_meta) && !genes %in% all_genes) {
    flag <- gene_meta[[genes]]
    if (!is.logical(flag)) {
      cli::cli_abort(c(
        "{.arg genes} names the column {.field {genes}} of {.code {where}}, which must be logical.",
        "x" = "It is {.obj_type_friendly {flag}}."
      ), call = call)
    }
    selected <- all_genes[flag %in% TRUE]
    if (!length(selected)) {
      cli::cli_abort("Column {.field {genes}} of {.code {where}} flags no gene.",
                     call = call)
    }
    return(selected)
  }
  if (is.logical(genes) && length(genes) == length(all_genes) && !anyNA(genes)) {
    genes <- all_genes[genes]
  }
  if (!is.character(genes) || !length(genes) || anyNA(genes)) {
    cli::cli_abort(paste("{.arg genes} must be NULL, gene names, the name of a",
                         "logical column of {.code {where}} or one logical per",
                         "gene, not {.obj_type_friendly {genes}}."), call = call)
  }
  absent <- setdiff(genes, all_genes)
  if (length(absent)) {
    cli::cli_abort(c(
      "{length(absent)} gene{?s} of {.arg genes} {?is/are} not in the object: {.val {utils::head(absent, 5)}}.",
      "i" = "The object has {length(all_genes)} gene{?s}, e.g. {.val {utils::head(all_genes, 3)}}."
    ), call = call)
  }
  if (anyDuplicated(genes)) {
    cli::cli_abort("{.arg genes} has duplicates: {.val {unique(genes[duplicated(genes)])}}.",
                   call = call)
  }
  if (length(genes) < 1L) {
    cli::cli_abort("{.arg genes} selects no gene.", call = call)
  }
  genes
}

# One row per context (in order of first appearance, rownames the labels):
# the annotation columns that are constant within every context, then
# `context` (label), `n_cells` and `observational`.
context_table <- function(meta, labels, observational = rep(FALSE, length(labels))) {
  ctx <- unique(labels)
  idx <- match(labels, ctx)
  first <- match(ctx, labels)
  constant <- vapply(meta, function(v) {
    if (!is.atomic(v) || !is.null(dim(v))) return(FALSE)
    b <- v[first][idx]
    na <- is.na(v)
    identical(na, is.na(b)) && all(v[!na] == b[!na])
  }, logical(1))
  tab <- as.data.frame(lapply(meta[constant], function(v) v[first]),
                       stringsAsFactors = FALSE, optional = TRUE)
  if (!ncol(tab)) tab <- data.frame(row.names = seq_along(ctx))
  tab$.context <- ctx
  tab$.n_cells <- tabulate(idx, length(ctx))
  tab$.observational <- as.vector(tapply(observational, factor(labels, ctx), all))
  tab$.mixed <- as.vector(tapply(observational, factor(labels, ctx), any)) &
    !tab$.observational
  rownames(tab) <- ctx
  tab
}

# The annotation columns of a context table (without the bookkeeping ones).
context_columns <- function(tab) {
  tab[, !names(tab) %in% c(".context", ".n_cells", ".observational", ".mixed"),
      drop = FALSE]
}

# The feature matrix of the perturbed contexts and the encoder that makes the
# same features for new contexts. `features` is a numeric matrix (one row per
# perturbed context, as for gim_fit.default()), names of annotation columns
# (encoded by perturbation_features()), or a function of the per-context
# table (e.g. sciplex_features).
interop_features <- function(features, meta, tab, obs, where,
                             call = rlang::caller_env()) {
  if (any(tab$.mixed)) {
    bad <- tab$.context[tab$.mixed]
    cli::cli_abort(c(
      "{cli::qty(length(bad))}Context{?s} {.val {utils::head(bad, 5)}} mix{?es/} observational and perturbed cells.",
      "i" = "Every context must be wholly observational or wholly perturbed (see {.arg observational})."
    ), call = call)
  }
  perturbed <- tab[!tab$.observational, , drop = FALSE]
  if (is.null(features)) {
    # One indicator per perturbed context: the features of a screen whose
    # perturbations share nothing that the annotations tell.
    if (!nrow(perturbed)) {
      cli::cli_abort("Every context is observational: there is no perturbation to give a feature.",
                     call = call)
    }
    levels <- perturbed$.context
    return(list(matrix = context_indicators(levels, levels),
                encoder = list(kind = "context", levels = levels)))
  }
  if (is.matrix(features) || is.data.frame(features)) {
    if (is.data.frame(features)) features <- as.matrix(features)
    labels <- rownames(features)
    absent <- setdiff(labels, tab$.context)
    if (length(absent)) {
      cli::cli_abort(c(
        "{cli::qty(length(absent))}{.arg features} has rows for context{?s} with no cells: {.val {utils::head(absent, 5)}}.",
        "i" = "Row names must be context labels of the cells."
      ), call = call)
    }
    flagged <- intersect(labels, tab$.context[tab$.observational])
    if (obs$given && length(flagged)) {
      cli::cli_abort(c(
        "{cli::qty(length(flagged))}{.arg features} has rows for observational context{?s} {.val {utils::head(flagged, 5)}}.",
        "i" = "Observational contexts (see {.arg observational}) must have no row."
      ), call = call)
    }
    return(list(matrix = features, encoder = list(kind = "matrix")))
  }
  if (!nrow(perturbed)) {
    cli::cli_abort("Every context is observational: there is nothing to encode in {.arg features}.",
                   call = call)
  }
  annotations <- context_columns(perturbed)
  if (is.function(features)) {
    m <- features(annotations)
    m <- check_encoded(m, nrow(perturbed), "features", call)
    rownames(m) <- perturbed$.context
    return(list(matrix = m, encoder = list(kind = "function", fun = features)))
  }
  if (!is.character(features) || anyNA(features) || !length(features)) {
    cli::cli_abort(paste("{.arg features} must be NULL (one per perturbation), a numeric",
                         "matrix, names of columns of {.code {where}} or a function, not",
                         "{.obj_type_friendly {features}}."),
                   call = call)
  }
  absent <- setdiff(features, names(meta))
  if (length(absent)) {
    cli::cli_abort(c(
      "{.arg features} must name columns of {.code {where}}: there is no column {.val {absent}}.",
      "i" = "Columns: {.field {utils::head(names(meta), 20)}}."
    ), call = call)
  }
  varying <- setdiff(features, names(annotations))
  if (length(varying)) {
    cli::cli_abort(c(
      "{cli::qty(length(varying))}Column{?s} {.field {varying}} of {.code {where}} var{?ies/y} within contexts.",
      "i" = "Features describe a context: each must take one value per context label."
    ), call = call)
  }
  m <- perturbation_features(annotations, columns = features)
  rownames(m) <- perturbed$.context
  # perturbation_features() reads the encoding from this attribute of its
  # `reference`; the rows themselves are not needed.
  reference <- m[0L, , drop = FALSE]
  attr(reference, "encoding") <- attr(m, "encoding")
  list(matrix = unname_encoding(m),
       encoder = list(kind = "columns", columns = features, reference = reference))
}

# One-hot rows for the contexts `labels`, one column per training
# perturbation in `levels` (the default features).
context_indicators <- function(labels, levels) {
  m <- outer(labels, levels, `==`) * 1
  dimnames(m) <- list(labels, levels)
  m
}

unname_encoding <- function(m) {
  attr(m, "encoding") <- NULL
  m
}

# New contexts can combine known levels (e.g. a known drug at a new dose),
# but a level never seen in training has no feature of its own.
check_known_levels <- function(ann, reference, arg, call) {
  enc <- attr(reference, "encoding")
  for (col in enc$columns) {
    e <- enc$encodings[[col]]
    if (e$type != "factor") next
    unknown <- setdiff(unique(as.character(ann[[col]])), e$levels)
    if (length(unknown)) {
      cli::cli_abort(c(
        "{cli::qty(length(unknown))}Column {.field {col}} of {.arg {arg}} has value{?s} {.val {unknown}} not seen in training.",
        "i" = "Known values: {.val {e$levels}}.",
        "i" = "The features encode each training value by an indicator; an unseen value has none."
      ), call = call)
    }
  }
}

# A feature function's result: a finite numeric matrix with one row per
# context.
check_encoded <- function(m, n, arg, call) {
  if (is.data.frame(m)) m <- as.matrix(m)
  if (!is.matrix(m) || !is.numeric(m) || nrow(m) != n || anyNA(m)) {
    cli::cli_abort(paste("The function given as {.arg {arg}} must return a numeric",
                         "matrix without NA with one row per context ({n})."),
                   call = call)
  }
  attr(m, "encoding") <- NULL
  m
}

# Fit the default method on cells x genes `x` and record where the data came
# from, so that predict() can encode new contexts and rebuild objects.
interop_fit <- function(input, class, call, env, ...) {
  fit <- with_user_call(
    gim_fit.default(input$cells, context = input$ctx$labels, features = input$feat$matrix, ...),
    "gim_fit.default", env)
  interop_attach_source(fit, input, class, call)
}

# Evaluates `expr`, a call of the matrix method `internal` made by an object
# method whose frame is `env`: an error raised in `internal` itself (about an
# argument passed on in `...`) names the call the user made, not the
# internal one with the matrix read from the object.
with_user_call <- function(expr, internal, env) {
  tryCatch(expr, rlang_error = function(e) {
    if (identical(e$call[[1L]], as.name(internal))) e$call <- rlang::error_call(env)
    stop(e)
  })
}

# The record predict() needs to encode new contexts and rebuild objects,
# added to a fit of gim_fit.default() on an object's `input`.
interop_attach_source <- function(fit, input, class, call) {
  source <- input$source
  tab <- input$tab
  source$context <- input$ctx$column
  source$context_label <- input$ctx$label
  source$observational <- input$obs$column
  source$control_level <- input$obs$level
  source$encoder <- input$feat$encoder
  # Training contexts without a feature row are the observational ones.
  tab$.observational <- !tab$.context %in% rownames(input$feat$matrix)
  source$context_table <- tab[, names(tab) != ".mixed", drop = FALSE]
  fit$source <- source
  fit$call <- call
  class(fit) <- c(class, class(fit))
  fit
}

# ---------------------------------------------------------------------------
# Prediction: contexts to predict, their features, samples

# The contexts to predict from `newdata` (NULL, a feature matrix, a data
# frame of contexts, or a per-context table made from an object): labels,
# observational flags, the feature rows of the perturbed ones, annotations
# and default cell numbers.
prediction_contexts <- function(fit, newdata, tab = NULL, call = rlang::caller_env()) {
  src <- fit$source
  if (is.null(newdata)) {
    return(list(labels = "observational", observational = TRUE, features = NULL,
                annotations = data.frame(row.names = "observational"), n = NULL))
  }
  if (!is.null(tab)) {
    return(encode_contexts(fit, tab$.context, context_columns(tab), tab$.n_cells,
                           "newdata", call))
  }
  if (methods::is(newdata, "DataFrame")) newdata <- as.data.frame(newdata)
  features_given <- is.numeric(newdata) ||
    (is.data.frame(newdata) && src$encoder$kind == "matrix" &&
       all(fit$feature_names %in% names(newdata)))
  if (features_given) {
    if (is.null(dim(newdata))) newdata <- matrix(newdata, 1L, dimnames = list(NULL, names(newdata)))
    labels <- rownames(newdata) %||% as.character(seq_len(nrow(newdata)))
    if (is.data.frame(newdata)) newdata <- as.matrix(newdata[fit$feature_names])
    return(list(labels = labels, observational = rep(FALSE, length(labels)),
                features = newdata,
                annotations = data.frame(row.names = make.unique(labels)), n = NULL))
  }
  if (!is.data.frame(newdata)) {
    cli::cli_abort(paste("{.arg newdata} must be NULL, a numeric feature matrix, a data frame",
                         "of contexts or an object of cells, not {.obj_type_friendly {newdata}}."),
                   call = call)
  }
  columns <- src$context
  labels <- if (src$context_label %in% names(newdata)) {
    as.character(newdata[[src$context_label]])
  } else if (length(columns) && all(columns %in% names(newdata))) {
    context_labels(newdata, columns)
  } else {
    rownames(newdata)
  }
  encode_contexts(fit, labels, newdata, NULL, "newdata", call)
}

# Features for contexts given by their annotations (one row each).
encode_contexts <- function(fit, labels, annotations, n, arg, call) {
  src <- fit$source
  if (!length(labels)) {
    cli::cli_abort("{.arg {arg}} has no context to predict.", call = call)
  }
  if (anyNA(labels) || anyDuplicated(labels)) {
    cli::cli_abort("The contexts of {.arg {arg}} must have distinct, non-missing labels.",
                   call = call)
  }
  train <- src$context_table
  obs <- labels %in% train$.context[train$.observational]
  if (!is.null(src$observational) && src$observational %in% names(annotations)) {
    obs <- obs | annotations[[src$observational]] %in% TRUE
  }
  obs <- obs | control_level_flag(src, labels, annotations)
  pert <- which(!obs)
  features <- NULL
  if (length(pert)) {
    ann <- annotations[pert, , drop = FALSE]
    features <- switch(src$encoder$kind,
      matrix = {
        unknown <- setdiff(labels[pert], rownames(fit$features))
        if (length(unknown)) {
          cli::cli_abort(c(
            "{cli::qty(length(unknown))}Context{?s} {.val {utils::head(unknown, 5)}} of {.arg {arg}} {?is/are} not a training context.",
            "i" = paste("The model was fitted on a feature matrix, so new contexts need",
                        "their feature rows: give {.arg newdata} as a numeric matrix.")
          ), call = call)
        }
        fit$features[labels[pert], , drop = FALSE]
      },
      columns = {
        absent <- setdiff(src$encoder$columns, names(ann))
        if (length(absent)) {
          cli::cli_abort(c(
            "{.arg {arg}} lacks {cli::qty(length(absent))}the feature column{?s} {.field {absent}}.",
            "i" = "The model encodes contexts by {.field {src$encoder$columns}}."
          ), call = call)
        }
        check_known_levels(ann, src$encoder$reference, arg, call)
        perturbation_features(ann, reference = src$encoder$reference)
      },
      `function` = check_encoded(src$encoder$fun(ann), length(pert), "features", call),
      context = {
        unknown <- setdiff(labels[pert], src$encoder$levels)
        if (length(unknown)) {
          cli::cli_abort(c(
            "{cli::qty(length(unknown))}Context{?s} {.val {utils::head(unknown, 5)}} of {.arg {arg}} {?is/are} not a training perturbation.",
            "i" = "The features are one indicator per training perturbation, so a new one has none.",
            "i" = "Combinations of training perturbations are predicted with {.code combine = TRUE} or a list of contexts."
          ), call = call)
        }
        context_indicators(labels[pert], src$encoder$levels)
      }
    )
    features <- unname_encoding(features)
    rownames(features) <- labels[pert]
  }
  rownames(annotations) <- labels
  list(labels = labels, observational = obs, features = features,
       annotations = annotations, n = n)
}

# Contexts of a fit made with `control_level`: those whose first context
# column (or label) takes a control value.
control_level_flag <- function(src, labels, annotations) {
  if (is.null(src$control_level)) return(rep(FALSE, length(labels)))
  column <- src$context[1]
  values <- if (!is.null(column) && !is.na(column) && column %in% names(annotations)) {
    annotations[[column]]
  } else {
    labels
  }
  as.character(values) %in% src$control_level
}

# Cells of every context: observational ones from the fitted observational
# distribution, perturbed ones from their features (predict.gim()). Returns
# the cells x genes matrix, context by context, with attribute "context".
sample_contexts <- function(fit, pc, n, mixture, call) {
  n <- n %||% pc$n %||% 1000
  n <- check_context_counts(n, pc$labels, call = call)
  x <- matrix(0, sum(n), length(fit$nodes), dimnames = list(NULL, fit$nodes))
  cell <- rep.int(seq_along(pc$labels), n)
  obs <- pc$observational
  if (any(obs) && sum(n[obs]) > 0L) {
    s <- predict.gim(fit, NULL, n = sum(n[obs]))
    x[obs[cell], ] <- unclass_samples(s)
  }
  if (any(!obs)) {
    s <- predict.gim(fit, pc$features, n = n[!obs], mixture = mixture)
    x[!obs[cell], ] <- unclass_samples(s)
  }
  attr(x, "context") <- pc$labels[cell]
  attr(x, "n") <- n
  x
}

# predict() of an interop fit: the shared argument handling. `read` gives
# the per-context table of an object of the fit's class (NULL for anything
# else); `build` turns the samples and the per-cell annotations into the
# returned object.
interop_predict <- function(object, newdata, n, type, output, mixture, combine,
                            read, build, call) {
  validate_gim(object, "object", call = call)
  check_flag(mixture, call = call)
  check_flag(combine, call = call)
  pc <- if (is_combination_list(newdata)) {
    combination_contexts(object, newdata, read, call)
  } else {
    pc <- prediction_contexts(object, newdata, read(newdata), call)
    if (combine) combine_contexts(list(pc), NULL, "newdata", call) else pc
  }
  if (type != "samples") {
    if (any(pc$observational)) {
      cli::cli_abort(c(
        "{.arg newdata} has observational contexts: {.val {pc$labels[pc$observational]}}.",
        "i" = "For {.code type = \"{type}\"} give perturbed contexts only; {.code newdata = NULL} is the observational distribution."
      ), call = call)
    }
    n <- n %||% pc$n %||% 1000
    return(predict.gim(object, pc$features, n = n, type = type, mixture = mixture))
  }
  x <- sample_contexts(object, pc, n, mixture, call)
  if (output == "matrix") {
    attr(x, "n") <- NULL
    return(x)
  }
  k <- rep.int(seq_along(pc$labels), attr(x, "n"))
  cells <- pc$annotations[k, , drop = FALSE]
  cells[[object$source$context_label]] <- attr(x, "context")
  cells$predicted <- rep(TRUE, nrow(cells))
  rownames(cells) <- paste0("predicted_", seq_len(nrow(cells)))
  build(unclass_samples(x), cells)
}

# A list given as `newdata` is a list of combinations, as for predict.gim().
is_combination_list <- function(newdata) {
  is.list(newdata) && !is.data.frame(newdata)
}

# The combinations of a list: each element holds the contexts applied
# together (a data frame of contexts, a feature matrix or an object), named
# by the combination's label (default: the labels of its parts joined by
# "+").
combination_contexts <- function(fit, newdata, read, call) {
  if (!length(newdata)) {
    cli::cli_abort("{.arg newdata} must not be an empty list.", call = call)
  }
  labels <- names(newdata) %||% rep("", length(newdata))
  labels[is.na(labels)] <- ""
  pcs <- lapply(seq_along(newdata), function(i) {
    arg <- sprintf("newdata[[%d]]", i)
    if (is.null(newdata[[i]])) {
      cli::cli_abort("{.arg {arg}} is NULL: a combination needs perturbed contexts.",
                     call = call)
    }
    pc <- prediction_contexts(fit, newdata[[i]], read(newdata[[i]]), call)
    check_combination_parts(pc, arg, call)
    pc
  })
  combine_contexts(pcs, labels, "newdata", call)
}

# One context per element of `pcs` (prediction contexts), made of all its
# contexts applied together: features become a list of feature matrices, as
# predict.gim() takes combinations, and the annotations one row per
# combination (a column's value, or its values joined by "+").
combine_contexts <- function(pcs, labels, arg, call) {
  for (pc in pcs) check_combination_parts(pc, arg, call)
  made <- vapply(pcs, function(pc) paste(pc$labels, collapse = "+"), character(1))
  if (is.null(labels)) labels <- made
  labels[labels == ""] <- made[labels == ""]
  if (anyDuplicated(labels)) {
    cli::cli_abort("The combinations of {.arg {arg}} must have distinct labels: {.val {unique(labels[duplicated(labels)])}} {?is/are} repeated.",
                   call = call)
  }
  rows <- Map(function(pc, label) combined_annotations(pc$annotations, label), pcs, labels)
  annotations <- Reduce(union_annotations, rows)
  rownames(annotations) <- labels
  list(labels = labels, observational = rep(FALSE, length(labels)),
       features = stats::setNames(lapply(pcs, function(pc) pc$features), labels),
       annotations = annotations, n = NULL)
}

check_combination_parts <- function(pc, arg, call) {
  if (any(pc$observational)) {
    cli::cli_abort(c(
      "{.arg {arg}} combines observational context{?s} {.val {pc$labels[pc$observational]}}.",
      "i" = "A combination is made of perturbed contexts; the observational one is what every combination starts from."
    ), call = call)
  }
}

# One annotation row for contexts applied together.
combined_annotations <- function(ann, label) {
  out <- lapply(ann, function(v) {
    u <- unique(v)
    if (length(u) == 1L) u else paste(as.character(u), collapse = "+")
  })
  out <- as.data.frame(out, stringsAsFactors = FALSE, optional = TRUE)
  if (!ncol(out)) out <- data.frame(row.names = 1L)
  rownames(out) <- label
  out
}

# ---------------------------------------------------------------------------
# Storing a fit in an object

#' Store a fitted GIM in a SingleCellExperiment or Seurat object
#'
#' `gim_store()` puts a fit into the object's free-form metadata, so that
#' the model travels with the data it was fitted on (and is saved with it);
#' `gim_stored()` takes it out again.
#'
#' @details A `SingleCellExperiment` (or any `SummarizedExperiment`) keeps
#'   the fit in `S4Vectors::metadata(x)[[name]]`, a `Seurat` object in
#'   `SeuratObject::Misc(x, name)`. The fit is a plain list, so it survives
#'   `saveRDS()` with the object. Storing over an earlier fit replaces it.
#' @param x A `SingleCellExperiment`, `SummarizedExperiment` or `Seurat`
#'   object.
#' @param fit A `gim` fit from [gim_fit()].
#' @param name Where to store it: a single name.
#' @return `gim_store()` returns `x` with the fit stored; `gim_stored()`
#'   returns the fit, or an error when there is none.
#' @family single-cell objects
#' @examplesIf requireNamespace("SingleCellExperiment", quietly = TRUE)
#' set.seed(1)
#' sce <- simulate_sciplex(n_cells = 10, n_control = 20, n_genes = 50,
#'                         n_module = 5, n_shared_targets = 1,
#'                         n_specific_targets = 1, cell_lines = "A549",
#'                         drugs = c("Belinostat", "Givinostat"))
#' SummarizedExperiment::assay(sce, "logcounts") <-
#'   log1p(SummarizedExperiment::assay(sce, "counts"))
#' fit <- gim_fit(sce, context = c("drug", "dose_nM"), features = c("drug", "dose_nM"),
#'                observational = "control", genes = "module",
#'                mechanism = "linear",
#'                control = gim_control(steps = 100, n_mc = 4, gim_hidden = 5),
#'                verbose = FALSE)
#' sce <- gim_store(sce, fit)
#' identical(gim_stored(sce), fit)
#' @export
gim_store <- function(x, fit, name = "gim") {
  validate_gim(fit)
  check_store_name(name)
  if (methods::is(x, "SummarizedExperiment")) {
    rlang::check_installed("S4Vectors")
    S4Vectors::metadata(x)[[name]] <- fit
  } else if (methods::is(x, "Seurat")) {
    rlang::check_installed("SeuratObject")
    # Misc<- would drop the class of a list (it stores c(value)) and warns on
    # every overwrite, so the slot is set directly.
    misc <- methods::slot(x, "misc")
    misc[[name]] <- fit
    methods::slot(x, "misc") <- misc
  } else {
    abort_not_cell_object(x)
  }
  x
}

#' @rdname gim_store
#' @export
gim_stored <- function(x, name = "gim") {
  check_store_name(name)
  fit <- if (methods::is(x, "SummarizedExperiment")) {
    rlang::check_installed("S4Vectors")
    S4Vectors::metadata(x)[[name]]
  } else if (methods::is(x, "Seurat")) {
    rlang::check_installed("SeuratObject")
    SeuratObject::Misc(x, slot = name)
  } else {
    abort_not_cell_object(x)
  }
  if (is.null(fit)) {
    cli::cli_abort(c("{.arg x} holds no fit called {.val {name}}.",
                     "i" = "Store one with {.code gim_store(x, fit)}."))
  }
  validate_gim(fit, paste0("the stored ", name))
  fit
}

check_store_name <- function(name, call = rlang::caller_env()) {
  if (!is.character(name) || length(name) != 1L || is.na(name) || !nzchar(name)) {
    cli::cli_abort("{.arg name} must be a single non-empty name, not {describe_value(name)}.",
                   call = call)
  }
}

abort_not_cell_object <- function(x, arg = "x", call = rlang::caller_env()) {
  cli::cli_abort(paste("{.arg {arg}} must be a SingleCellExperiment, SummarizedExperiment",
                       "or Seurat object, not {.obj_type_friendly {x}}."), call = call)
}

#' Put predicted and observed cells in one object
#'
#' Binds the cells of `predicted` (from [predict()] on a fit made from a
#' `SingleCellExperiment` or `Seurat` object) to the observed cells of `x`,
#' restricted to the fitted genes, so that both can be plotted and compared
#' with the usual tools. The cell annotation column `predicted` tells them
#' apart (`FALSE` for the cells of `x`).
#'
#' @details The result keeps one assay (SingleCellExperiment) or one layer
#'   (Seurat): the one the model was fitted on, which is where the
#'   predictions are. Cell annotations are the union of both objects'
#'   columns, with `NA` where one object lacks a column. Observed cells keep
#'   their names; predicted cells are named `predicted_1`, `predicted_2`, ...
#'   (made unique if `x` uses those names). Reduced dimensions and other
#'   derived data of `x` are dropped, since they do not describe the
#'   predicted cells.
#' @param x The observed cells: the object the model was fitted on, or one
#'   like it (e.g. the held-out cells).
#' @param predicted Predicted cells, from `predict(fit, ...)`.
#' @return An object of the class of `predicted` with the cells of `x`
#'   first, then the predicted cells.
#' @family single-cell objects
#' @examplesIf requireNamespace("SingleCellExperiment", quietly = TRUE)
#' set.seed(1)
#' sce <- simulate_sciplex(n_cells = 10, n_control = 20, n_genes = 50,
#'                         n_module = 5, n_shared_targets = 1,
#'                         n_specific_targets = 1, cell_lines = "A549",
#'                         drugs = c("Belinostat", "Givinostat"))
#' SummarizedExperiment::assay(sce, "logcounts") <-
#'   log1p(SummarizedExperiment::assay(sce, "counts"))
#' fit <- gim_fit(sce, context = c("drug", "dose_nM"), features = c("drug", "dose_nM"),
#'                observational = "control", genes = "module",
#'                mechanism = "linear",
#'                control = gim_control(steps = 100, n_mc = 4, gim_hidden = 5),
#'                verbose = FALSE)
#' pred <- predict(fit, sce, n = 5)
#' both <- bind_predictions(sce, pred)
#' table(both$drug, both$predicted)
#' @export
bind_predictions <- function(x, predicted) {
  if (methods::is(predicted, "SummarizedExperiment")) {
    bind_predictions_se(x, predicted)
  } else if (methods::is(predicted, "Seurat")) {
    bind_predictions_seurat(x, predicted)
  } else {
    abort_not_cell_object(predicted, "predicted")
  }
}

#' Cells of each context as matrices, for evaluation
#'
#' Splits the cells of a `SingleCellExperiment` or `Seurat` object, observed
#' or predicted, into one cells x genes matrix per context, with the genes,
#' assay (or layer) and context labels of a fit, as [gim_evaluate()] takes
#' them.
#'
#' @details Context labels come from the column that predicted cells carry
#'   (the fit's context column, or `"context"` when the fit combined several
#'   columns), or else are made from the fit's context columns as in
#'   training.
#' @param x A `SingleCellExperiment`, `SummarizedExperiment` or `Seurat`
#'   object with the fitted genes.
#' @param fit A fit from [gim_fit.SingleCellExperiment()] or
#'   [gim_fit.Seurat()].
#' @return A named list of numeric matrices (cells in rows, the fit's genes
#'   in columns), one per context of `x`, in order of first appearance.
#' @family single-cell objects
#' @examplesIf requireNamespace("SingleCellExperiment", quietly = TRUE)
#' set.seed(1)
#' sce <- simulate_sciplex(n_cells = 10, n_control = 20, n_genes = 50,
#'                         n_module = 5, n_shared_targets = 1,
#'                         n_specific_targets = 1, cell_lines = "A549",
#'                         drugs = c("Belinostat", "Givinostat"))
#' SummarizedExperiment::assay(sce, "logcounts") <-
#'   log1p(SummarizedExperiment::assay(sce, "counts"))
#' held <- sce$drug == "Givinostat" & sce$dose_nM == 10000
#' fit <- gim_fit(sce[, !held], context = c("drug", "dose_nM"),
#'                features = c("drug", "dose_nM"), observational = "control",
#'                genes = "module", mechanism = "linear",
#'                control = gim_control(steps = 100, n_mc = 4, gim_hidden = 5),
#'                verbose = FALSE)
#' pred <- predict(fit, sce[, held], n = 50)
#' gim_evaluate(context_cells(pred, fit), context_cells(sce[, held], fit),
#'              control = context_cells(sce[, sce$control], fit)[[1]],
#'              metrics = c("mean_distance", "pearson_delta"))
#' @export
context_cells <- function(x, fit) {
  if (!inherits(fit, c("gim_sce", "gim_seurat"))) {
    cli::cli_abort(paste("{.arg fit} must be a fit made from a SingleCellExperiment or",
                         "Seurat object, not {.obj_type_friendly {fit}}."))
  }
  src <- fit$source
  if (methods::is(x, "SummarizedExperiment")) {
    rlang::check_installed(c("SummarizedExperiment", "S4Vectors"))
    m <- sce_assay(x, src$assay.type %||% SummarizedExperiment::assayNames(x)[1],
                   rlang::current_env())
    meta <- sce_col_data(x)
    where <- "colData(x)"
  } else if (methods::is(x, "Seurat")) {
    rlang::check_installed("SeuratObject")
    m <- seurat_layer(x, src$assay %||% NULL, src$layer %||% "data",
                      rlang::current_env())$matrix
    meta <- seurat_meta(x)
    where <- "x[[]]"
  } else {
    abort_not_cell_object(x)
  }
  absent <- setdiff(fit$nodes, rownames(m))
  if (length(absent)) {
    cli::cli_abort("{.arg x} lacks {length(absent)} fitted gene{?s}: {.val {utils::head(absent, 5)}}.")
  }
  has_columns <- length(src$context) && all(src$context %in% names(meta))
  labels <- if (src$context_label %in% names(meta)) {
    as.character(meta[[src$context_label]])
  } else {
    rep(NA_character_, nrow(meta))
  }
  # Observed cells bound to predicted ones have no label column entry.
  if (anyNA(labels) && has_columns) {
    labels[is.na(labels)] <- context_labels(meta[is.na(labels), , drop = FALSE], src$context)
  }
  if (anyNA(labels)) {
    cli::cli_abort(c(
      "Some cells of {.arg x} have no context label.",
      "i" = "Labels come from the column {.field {src$context_label}} or the columns {.field {src$context}} of {.code {where}}."
    ))
  }
  cells <- as.matrix(transpose_matrix(m[fit$nodes, , drop = FALSE]))
  lapply(split(seq_along(labels), factor(labels, unique(labels))),
         function(i) cells[i, , drop = FALSE])
}

# Cell annotations of both sets, with the union of their columns.
union_annotations <- function(a, b) {
  for (col in setdiff(names(b), names(a))) a[[col]] <- rep(b[[col]][NA_integer_], nrow(a))
  for (col in setdiff(names(a), names(b))) b[[col]] <- rep(a[[col]][NA_integer_], nrow(b))
  b <- b[names(a)]
  out <- rbind(a, b)
  out
}

# Predicted cell names that clash with observed ones are made unique.
unique_predicted_names <- function(observed, predicted) {
  make.unique(c(observed, predicted))[length(observed) + seq_along(predicted)]
}

# Argument handling shared by the predict() methods.
check_output <- function(output, call = rlang::caller_env()) {
  rlang::arg_match(output, c("object", "matrix"), error_call = call)
}
