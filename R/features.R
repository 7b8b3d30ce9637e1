# Perturbation features: the vectors gamma that a GIM maps to interventions.
# A general encoder of cell annotation columns, and the paper's fixed
# 9-dimensional SciPlex3 encoding (appendix D.2, SPEC section 5).

#' Perturbation features from cell annotations
#'
#' Encodes annotation columns as numeric features: factor, character and
#' logical columns become one-hot indicators, numeric columns scaled values.
#' The encoding learnt on one data set (levels, centres, scales) can be
#' applied to another with `reference`, so that test contexts are encoded
#' like the training ones.
#'
#' @param x A data frame, an `S4Vectors::DataFrame`, or a
#'   `SummarizedExperiment`/`SingleCellExperiment` (its `colData` is used).
#' @param columns Names of the columns to encode, in the order of the output.
#' @param control Optional: the name of a logical column of `x`, or a logical
#'   vector with one entry per row, marking unperturbed (control) rows. Their
#'   features are all 0 and they are left out when levels and scales are
#'   learnt, so that the observational context is the origin.
#' @param numeric How numeric columns are scaled over the (non-control) rows:
#'   `"range"` (default; to `[0, 1]`, `(v - min) / (max - min)`),
#'   `"standardize"` (`(v - mean) / sd`, sample standard deviation) or
#'   `"none"`. A constant column is only centred.
#' @param reference The result of an earlier call whose encoding is reused
#'   (`columns` and `numeric` then come from it). A level not seen there is
#'   an error.
#' @return A numeric matrix with one row per row of `x` (row names kept) and
#'   one column per indicator (named `<column>_<level>`) or numeric column
#'   (named like it), with attribute `encoding`: a list with, per column,
#'   `type` (`"factor"` or `"numeric"`) and `levels` or `center` and `scale`.
#' @details Levels of factors keep the factor's order (unused levels are
#'   dropped); levels of character and logical columns are sorted. Missing
#'   values in the encoded columns of non-control rows are an error.
#' @family preprocessing
#' @examples
#' ann <- data.frame(drug = c("control", "A", "B", "A"),
#'                   dose = c(0, 10, 10, 100),
#'                   control = c(TRUE, FALSE, FALSE, FALSE))
#' f <- perturbation_features(ann, c("drug", "dose"), control = "control")
#' f
#' # The same encoding for new contexts
#' perturbation_features(data.frame(drug = "B", dose = 100, control = FALSE),
#'                       reference = f, control = "control")
#' @export
perturbation_features <- function(x, columns = NULL, control = NULL,
                                  numeric = c("range", "standardize", "none"),
                                  reference = NULL) {
  call <- rlang::current_env()
  df <- annotation_table(x, call)
  enc <- NULL
  if (!is.null(reference)) {
    enc <- attr(reference, "encoding")
    if (!is.list(enc) || is.null(enc$columns)) {
      cli::cli_abort(paste("{.arg reference} must be a result of",
                           "{.fn perturbation_features}."), call = call)
    }
    columns <- enc$columns
    numeric <- enc$numeric
  } else {
    numeric <- arg_match_checked(numeric)
  }
  if (!is.character(columns) || !length(columns) || anyNA(columns)) {
    cli::cli_abort("{.arg columns} must be a character vector of column names.",
                   call = call)
  }
  check_columns_present(df, columns, call)
  ctrl <- control_vector(df, control, call)
  pert <- !ctrl
  blocks <- list()
  new_enc <- list()
  for (col in columns) {
    v <- df[[col]]
    if (anyNA(v[pert])) {
      cli::cli_abort("Column {.field {col}} has missing values in perturbed rows.",
                     call = call)
    }
    type <- if (is.numeric(v)) "numeric" else "factor"
    e <- enc$encodings[[col]]
    if (!is.null(e) && e$type != type) {
      cli::cli_abort(c("Column {.field {col}} is {type}, but was {e$type} in {.arg reference}.",
                       "i" = "Encode training and test data the same way."), call = call)
    }
    if (type == "factor") {
      if (is.null(e)) {
        lev <- if (is.factor(v)) levels(droplevels(v[pert])) else
          sort(unique(as.character(v[pert])))
        e <- list(type = "factor", levels = lev)
      }
      vv <- as.character(v)
      unknown <- setdiff(unique(vv[pert]), e$levels)
      if (length(unknown)) {
        cli::cli_abort(c(
          "{cli::qty(length(unknown))}Column {.field {col}} has level{?s} {.val {unknown}} not seen in {.arg reference}.",
          "i" = "Known levels: {.val {e$levels}}."
        ), call = call)
      }
      m <- outer(vv, e$levels, `==`) * 1
      colnames(m) <- paste(col, e$levels, sep = "_")
    } else {
      if (!all(is.finite(v[pert]))) {
        cli::cli_abort("Column {.field {col}} has infinite values.", call = call)
      }
      if (is.null(e)) {
        vp <- as.double(v[pert])
        e <- switch(numeric,
          range = list(center = min(vp), scale = max(vp) - min(vp)),
          standardize = list(center = mean(vp),
                             scale = if (length(vp) > 1L) stats::sd(vp) else 0),
          none = list(center = 0, scale = 1))
        if (!is.finite(e$scale) || e$scale <= 0) e$scale <- 1
        e$type <- "numeric"
      }
      m <- matrix((as.double(v) - e$center) / e$scale, ncol = 1L,
                  dimnames = list(NULL, col))
    }
    m[ctrl, ] <- 0
    blocks[[col]] <- m
    new_enc[[col]] <- e
  }
  out <- do.call(cbind, unname(blocks))
  rownames(out) <- rownames(df)
  attr(out, "encoding") <- list(columns = columns, numeric = numeric,
                                encodings = new_enc)
  out
}

#' One feature per perturbed gene, for screens with combinations
#'
#' Encodes perturbation labels such as `"KLF1"` or `"KLF1+MAP2K6"` (a CRISPR
#' screen with single and combined guides) as 0/1 indicators, one column per
#' gene: a combination's row has a 1 for each of its genes. A fit on these
#' features can predict a combination it never saw from the combined row
#' itself, or from its single-gene rows with `predict(..., combine = TRUE)`.
#'
#' @param labels Perturbation labels: a character vector or factor (one per
#'   cell or one per context; repeats are dropped).
#' @param sep The separator of the genes of a combination (matched as is, not
#'   as a regular expression).
#' @param control Labels of unperturbed cells, which get no row (contexts
#'   without a row in `features` are observational for [gim_fit()] and
#'   [fit_baseline()]).
#' @param genes `NULL` to take the genes from `labels` (sorted), or the
#'   genes of an earlier encoding (e.g. `colnames()` of the training
#'   features), to encode new combinations like the training ones. A gene
#'   outside `genes` is then an error.
#' @return A numeric matrix with one row per distinct perturbed label (in
#'   order of first appearance; row names the labels) and one column per
#'   gene (column names the genes).
#' @details Spaces around the genes of a label are dropped. A label that
#'   names the same gene twice, or has an empty part (`"KLF1+"`), is an
#'   error.
#' @family preprocessing
#' @examples
#' labels <- c("control", "KLF1", "MAP2K6", "KLF1+MAP2K6", "KLF1")
#' f <- combination_features(labels)
#' f
#' # A new combination, encoded with the genes of the training features
#' combination_features("MAP2K6+KLF1", genes = colnames(f))
#' @export
combination_features <- function(labels, sep = "+", control = "control",
                                  genes = NULL) {
  if (is.factor(labels)) labels <- as.character(labels)
  if (!is.character(labels) || !length(labels) || anyNA(labels)) {
    cli::cli_abort(paste("{.arg labels} must be a character vector or factor",
                         "without NA, not {describe_value(labels)}."))
  }
  if (!is.character(sep) || length(sep) != 1L || is.na(sep) || !nzchar(sep)) {
    cli::cli_abort("{.arg sep} must be a single non-empty string, not {describe_value(sep)}.")
  }
  if (!is.null(control) && (!is.character(control) || anyNA(control))) {
    cli::cli_abort("{.arg control} must be {.code NULL} or labels, not {describe_value(control)}.")
  }
  perturbed <- setdiff(unique(labels), control)
  if (!length(perturbed)) {
    cli::cli_abort("{.arg labels} has no perturbed label: all are {.arg control} ({.val {control}}).")
  }
  parts <- lapply(strsplit(perturbed, sep, fixed = TRUE), trimws)
  bad <- vapply(seq_along(parts), function(i) {
    p <- parts[[i]]
    !length(p) || any(!nzchar(p)) || anyDuplicated(p) > 0L ||
      endsWith(perturbed[[i]], sep)
  }, logical(1))
  if (any(bad)) {
    cli::cli_abort(c(
      "{cli::qty(sum(bad))}Label{?s} {.val {perturbed[bad]}} {?is/are} not {.arg sep}-separated distinct genes.",
      "i" = "A combination looks like {.val {paste(c('A', 'B'), collapse = sep)}}."
    ))
  }
  if (is.null(genes)) {
    genes <- sort(unique(unlist(parts)))
  } else if (!is.character(genes) || !length(genes) || anyNA(genes)) {
    cli::cli_abort("{.arg genes} must be {.code NULL} or gene names, not {describe_value(genes)}.")
  } else if (anyDuplicated(genes)) {
    cli::cli_abort("{.arg genes} must be distinct: {.val {unique(genes[duplicated(genes)])}} {?is/are} repeated.")
  }
  unknown <- setdiff(unlist(parts), genes)
  if (length(unknown)) {
    cli::cli_abort(c(
      "{cli::qty(length(unknown))}Gene{?s} {.val {unknown}} {?is/are} not among {.arg genes}.",
      "i" = "A fit can only predict combinations of the genes it has features for."
    ))
  }
  out <- matrix(0, length(perturbed), length(genes),
                dimnames = list(perturbed, genes))
  rows <- rep.int(seq_along(parts), lengths(parts))
  out[cbind(rows, match(unlist(parts), genes))] <- 1
  out
}

#' The SciPlex3 perturbation features of the GIM paper
#'
#' The 9-dimensional features of Schneider et al. (2025, appendix D.2): a
#' one-hot encoding of the drug (4), a one-hot encoding of the dose (4) and
#' the dose mapped to `[0, 1]` by 10 nM -> 0.2, 100 nM -> 0.4, 1 uM -> 0.6,
#' 10 uM -> 0.8. Vehicle (control) cells get all zeros.
#'
#' @param x A `SingleCellExperiment`/`SummarizedExperiment` (its `colData`),
#'   a data frame or an `S4Vectors::DataFrame` with one row per cell (or per
#'   context), e.g. from [read_sciplex3()] or [preprocess_perturbation()].
#' @param drug,dose Names of the drug column and of the dose column (in nM).
#' @param control Name of the logical column marking vehicle cells, or
#'   `NULL` to take cells whose drug is `"control"`, `"vehicle"` or `"DMSO"`
#'   (any case) as controls.
#' @param drugs The drugs, in the order of the one-hot columns. Matched
#'   without regard to case and to a parenthesised catalogue code
#'   (`"Belinostat (PXD101)"` is Belinostat).
#' @param doses_nM The doses in nM, in the order of the one-hot columns.
#' @param dose_values The value feature of each of `doses_nM`.
#' @return A numeric matrix with one row per row of `x` (row names kept) and
#'   columns `drug_<drug>` (4), `dose_<dose>` (`dose_10nM`, `dose_100nM`,
#'   `dose_1uM`, `dose_10uM`) and `dose_value`.
#' @details Every non-control row must have one of `drugs` and one of
#'   `doses_nM` (compared with a relative tolerance of 1e-6). A drug outside
#'   `drugs` is an error (subset the data first); so is a dose outside
#'   `doses_nM`, with a hint when the values look like another unit (all
#'   SciPlex3 doses of perturbgim are in nM, see [read_sciplex3()]).
#' @references Schneider N, et al. (2025). Generative intervention models for
#'   causal perturbation modeling. *ICML 2025*, appendix D.2.
#'   \doi{10.48550/arXiv.2503.19149}.
#' @family preprocessing
#' @examples
#' ann <- data.frame(drug = c("control", "Belinostat", "Quisinostat"),
#'                   dose_nM = c(0, 10, 10000),
#'                   control = c(TRUE, FALSE, FALSE))
#' sciplex_features(ann)
#' @export
sciplex_features <- function(x, drug = "drug", dose = "dose_nM",
                             control = "control",
                             drugs = sciplex_hdac_drugs(),
                             doses_nM = c(10, 100, 1000, 10000),
                             dose_values = c(0.2, 0.4, 0.6, 0.8)) {
  call <- rlang::current_env()
  df <- annotation_table(x, call)
  check_sciplex_grid(drugs, doses_nM, dose_values, call)
  ann <- sciplex_standard_columns(df, drug, dose, NULL, control, call)
  pert <- !ann$control
  d <- match_drugs(ann$drug, drugs)
  unknown <- unique(ann$drug[pert & is.na(d)])
  if (length(unknown)) {
    cli::cli_abort(c(
      "{cli::qty(length(unknown))}Unknown drug{?s} {.val {utils::head(unknown, 5)}} in column {.field {drug}}.",
      "i" = "The features encode {.val {drugs}}; subset the cells to these drugs and their controls."
    ), call = call)
  }
  k <- match_doses(ann$dose, doses_nM, pert, dose, call)
  n <- nrow(df)
  out <- matrix(0, n, length(drugs) + length(doses_nM) + 1L)
  colnames(out) <- c(paste0("drug_", drugs),
                     paste0("dose_", format_dose_nM(doses_nM)), "dose_value")
  rows <- which(pert)
  out[cbind(rows, d[rows])] <- 1
  out[cbind(rows, length(drugs) + k[rows])] <- 1
  out[rows, ncol(out)] <- dose_values[k[rows]]
  rownames(out) <- rownames(df)
  out
}

# The paper's four HDAC inhibitors (appendix D.2; "Quinostat" there is
# Quisinostat).
sciplex_hdac_drugs <- function() {
  c("Belinostat", "Dacinostat", "Givinostat", "Quisinostat")
}

# ---------------------------------------------------------------------------
# Shared with sciplex_splits()

annotation_table <- function(x, call) {
  if (methods::is(x, "SummarizedExperiment")) {
    x <- SummarizedExperiment::colData(x)
  }
  if (methods::is(x, "DataFrame")) {
    rn <- rownames(x)
    x <- as.list(x)
    x <- structure(x, row.names = rn %||% .set_row_names(length(x[[1]] %||% 0L)),
                   class = "data.frame")
  }
  if (!is.data.frame(x)) {
    cli::cli_abort(paste("{.arg x} must be a data frame, DataFrame or",
                         "SummarizedExperiment, not {.obj_type_friendly {x}}."),
                   call = call)
  }
  if (!nrow(x)) cli::cli_abort("{.arg x} has no rows.", call = call)
  x
}

check_columns_present <- function(df, columns, call) {
  missing <- setdiff(columns, names(df))
  if (length(missing)) {
    cli::cli_abort(c("{.arg x} has no column{?s} {.field {missing}}.",
                     "i" = "Columns: {.field {names(df)}}."), call = call)
  }
}

control_vector <- function(df, control, call) {
  n <- nrow(df)
  if (is.null(control)) return(rep(FALSE, n))
  if (is.character(control) && length(control) == 1L && !is.na(control)) {
    check_columns_present(df, control, call)
    v <- df[[control]]
  } else {
    v <- control
  }
  if (!is.logical(v) || length(v) != n || anyNA(v)) {
    cli::cli_abort(paste("{.arg control} must name a logical column without NA,",
                         "or be a logical vector with one entry per row ({n})."),
                   call = call)
  }
  v
}

# drug, dose (nM), cell line and control of every row; control cells are
# those of the control column, or with control = NULL those named control.
sciplex_standard_columns <- function(df, drug, dose, cell_line, control, call) {
  for (arg in list(list(drug, "drug"), list(dose, "dose"))) {
    if (!is.character(arg[[1]]) || length(arg[[1]]) != 1L || is.na(arg[[1]])) {
      cli::cli_abort("{.arg {arg[[2]]}} must be a single column name.", call = call)
    }
  }
  check_columns_present(df, c(drug, dose, cell_line), call)
  drug_v <- as.character(df[[drug]])
  ctrl <- if (is.null(control)) {
    tolower(trimws(drug_v)) %in% c("control", "vehicle", "dmso")
  } else {
    control_vector(df, control, call)
  }
  if (anyNA(drug_v[!ctrl])) {
    cli::cli_abort("Column {.field {drug}} has missing values in non-control rows.",
                   call = call)
  }
  dose_v <- df[[dose]]
  if (!is.numeric(dose_v)) {
    cli::cli_abort(c("Column {.field {dose}} must be numeric (doses in nM).",
                     "x" = "It is {.obj_type_friendly {dose_v}}."), call = call)
  }
  if (anyNA(dose_v[!ctrl])) {
    cli::cli_abort("Column {.field {dose}} has missing values in non-control rows.",
                   call = call)
  }
  line <- if (is.null(cell_line)) NULL else as.character(df[[cell_line]])
  list(drug = drug_v, dose = as.double(dose_v), cell_line = line, control = ctrl)
}

match_drugs <- function(x, drugs) {
  match(tolower(strip_product_code(x)), tolower(strip_product_code(drugs)))
}

# Index into doses_nM of every perturbed row; doses off the grid are an error
# with a hint on the unit.
match_doses <- function(dose, doses_nM, pert, col, call) {
  near <- function(v) {
    vapply(v, function(d) {
      hit <- which(abs(d - doses_nM) <= 1e-6 * doses_nM)
      if (length(hit)) hit[1] else NA_integer_
    }, integer(1))
  }
  u <- unique(dose[pert])
  k_u <- near(u)
  bad <- u[is.na(k_u)]
  if (length(bad)) {
    hint <- NULL
    for (unit in list(c(1e3, "uM"), c(1e-3, "pM"), c(1e9, "M"))) {
      if (all(!is.na(near(bad * as.numeric(unit[1]))))) {
        hint <- c("i" = paste0("These look like doses in ", unit[2],
                               "; the column must hold nM."))
      }
    }
    cli::cli_abort(c(
      "{cli::qty(length(bad))}Dose{?s} {.val {utils::head(bad, 5)}} in column {.field {col}} {?is/are} not among {.val {doses_nM}} nM.",
      hint
    ), call = call)
  }
  out <- rep(NA_integer_, length(dose))
  out[pert] <- k_u[match(dose[pert], u)]
  out
}

format_dose_nM <- function(d) {
  vapply(d, function(v) {
    if (v >= 1000) paste0(format(v / 1000), "uM") else paste0(format(v), "nM")
  }, character(1))
}

check_sciplex_grid <- function(drugs, doses_nM, dose_values, call) {
  if (!is.character(drugs) || !length(drugs) || anyNA(drugs) ||
      anyDuplicated(tolower(drugs))) {
    cli::cli_abort("{.arg drugs} must be distinct drug names.", call = call)
  }
  if (!is.numeric(doses_nM) || !length(doses_nM) || any(!is.finite(doses_nM)) ||
      any(doses_nM <= 0) || anyDuplicated(doses_nM)) {
    cli::cli_abort("{.arg doses_nM} must be distinct positive doses.", call = call)
  }
  if (!is.numeric(dose_values) || length(dose_values) != length(doses_nM) ||
      any(!is.finite(dose_values))) {
    cli::cli_abort("{.arg dose_values} must be {length(doses_nM)} finite number{?s}, one per dose.",
                   call = call)
  }
}
