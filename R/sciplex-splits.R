# The SciPlex3 hold-out settings of Schneider et al. (2025), section 5.2 and
# SPEC section 5: per cell line, one drug at the highest dose is held out.

#' The SciPlex3 train/test splits of the GIM paper
#'
#' Builds the paper's 12 hold-out settings (Schneider et al. 2025, section
#' 5.2): for every cell line (3) and drug (4), the cells of that drug at
#' 10 uM are the test set, and the training set is the vehicle cells plus the
#' other 15 drug-dose perturbations of the same cell line.
#'
#' @param x A `SingleCellExperiment`/`SummarizedExperiment` (its `colData`),
#'   a data frame or an `S4Vectors::DataFrame` with one row per cell, e.g.
#'   from [read_sciplex3()] or [preprocess_perturbation()].
#' @param cell_lines Cell lines, in the order of the settings; `NULL` (the
#'   default) takes every cell line of `x` that has cells of `drugs`, sorted.
#'   Matched without regard to case.
#' @param drugs,doses_nM The drugs and doses (nM) of the design (see
#'   [sciplex_features()]).
#' @param held_out_dose_nM The held-out dose (paper: 10 uM = 10000 nM); one
#'   of `doses_nM`.
#' @param drug,dose,cell_line,control Column names: drug, dose in nM, cell
#'   line, and the logical vehicle column (`NULL`: cells whose drug is
#'   `"control"`, `"vehicle"` or `"DMSO"`).
#' @return A list with
#'   * `settings`: a data frame with one row per setting: `setting` (e.g.
#'     `"A549_Belinostat"`), `cell_line`, `drug`, `dose_nM`, `n_train`,
#'     `n_test`, `n_control` (vehicle cells in the training set), `n_naive`;
#'   * `splits`: a list named by setting, each with `cell_line`, `drug`,
#'     `dose_nM`, and row indices into `x`: `train` (vehicle cells and the
#'     other perturbations of the cell line), `test` (the held-out
#'     drug-dose), `naive` (the training cells of the same drug at the
#'     highest lower dose present, the paper's "naive" baseline; empty if
#'     none).
#' @details Cells of other drugs, or of the design drugs at doses outside
#'   `doses_nM`, belong to no set; a dose of a design drug that is off the
#'   grid is an error (it usually means another unit than nM). An empty
#'   test set, a missing cell line, a drug absent from `x` and a cell line
#'   without vehicle cells are errors; a missing training perturbation is a
#'   warning, since the setting can still be fitted.
#' @references Schneider N, et al. (2025). Generative intervention models for
#'   causal perturbation modeling. *ICML 2025*, section 5.2.
#'   \doi{10.48550/arXiv.2503.19149}.
#' @family preprocessing
#' @examples
#' ann <- expand.grid(drug = c("Belinostat", "Dacinostat", "Givinostat",
#'                             "Quisinostat"),
#'                    dose_nM = c(10, 100, 1000, 10000),
#'                    cell_line = c("A549", "K562", "MCF7"),
#'                    stringsAsFactors = FALSE)
#' ann$control <- FALSE
#' ann <- rbind(ann, data.frame(drug = "control", dose_nM = 0,
#'                              cell_line = c("A549", "K562", "MCF7"),
#'                              control = TRUE))
#' s <- sciplex_splits(ann)
#' s$settings
#' ann[s$splits$A549_Givinostat$test, ]
#' @export
sciplex_splits <- function(x, cell_lines = NULL,
                           drugs = sciplex_hdac_drugs(),
                           doses_nM = c(10, 100, 1000, 10000),
                           held_out_dose_nM = 10000,
                           drug = "drug", dose = "dose_nM",
                           cell_line = "cell_line", control = "control") {
  call <- rlang::current_env()
  df <- annotation_table(x, call)
  check_sciplex_grid(drugs, doses_nM, seq_along(doses_nM), call)
  if (!is.numeric(held_out_dose_nM) || length(held_out_dose_nM) != 1L ||
      !is.finite(held_out_dose_nM) ||
      !any(abs(held_out_dose_nM - doses_nM) <= 1e-6 * doses_nM)) {
    cli::cli_abort("{.arg held_out_dose_nM} must be one of {.val {doses_nM}}.",
                   call = call)
  }
  if (!is.character(cell_line) || length(cell_line) != 1L || is.na(cell_line)) {
    cli::cli_abort("{.arg cell_line} must be a single column name.", call = call)
  }
  ann <- sciplex_standard_columns(df, drug, dose, cell_line, control, call)
  d <- match_drugs(ann$drug, drugs)
  design <- !ann$control & !is.na(d)
  k <- match_doses(ann$dose, doses_nM, design, dose, call)
  absent <- drugs[!seq_along(drugs) %in% d[design]]
  if (length(absent)) {
    cli::cli_abort(c("{cli::qty(length(absent))}Drug{?s} {.val {absent}} {?has/have} no cells in {.arg x}.",
                     "i" = "Drugs of {.arg x}: {.val {utils::head(sort(unique(ann$drug[!ann$control])), 8)}}."),
                   call = call)
  }
  if (anyNA(ann$cell_line[design | ann$control])) {
    cli::cli_abort("Column {.field {cell_line}} has missing values.", call = call)
  }
  line_low <- tolower(ann$cell_line)
  if (is.null(cell_lines)) {
    cell_lines <- sort(unique(ann$cell_line[design]))
  } else {
    if (!is.character(cell_lines) || !length(cell_lines) || anyNA(cell_lines)) {
      cli::cli_abort("{.arg cell_lines} must be NULL or a character vector.",
                     call = call)
    }
    missing <- cell_lines[!tolower(cell_lines) %in% line_low]
    if (length(missing)) {
      cli::cli_abort(c("{cli::qty(length(missing))}Cell line{?s} {.val {missing}} not found in column {.field {cell_line}}.",
                       "i" = "Cell lines: {.val {sort(unique(ann$cell_line))}}."),
                     call = call)
    }
  }
  held_k <- which(abs(held_out_dose_nM - doses_nM) <= 1e-6 * doses_nM)[1]
  lower <- which(doses_nM < doses_nM[held_k])
  lower <- lower[order(doses_nM[lower], decreasing = TRUE)]
  settings <- list()
  splits <- list()
  incomplete <- integer(0)
  for (line in cell_lines) {
    in_line <- line_low == tolower(line)
    ctrl <- which(in_line & ann$control)
    if (!length(ctrl)) {
      cli::cli_abort("Cell line {.val {line}} has no vehicle (control) cells.",
                     call = call)
    }
    for (j in seq_along(drugs)) {
      name <- paste(line, drugs[j], sep = "_")
      is_test <- in_line & design & d %in% j & k %in% held_k
      test <- which(is_test)
      if (!length(test)) {
        cli::cli_abort(c("Setting {.val {name}}: no cells of {drugs[j]} at {held_out_dose_nM} nM in {line}.",
                         "i" = "Every setting needs a test set."), call = call)
      }
      pert <- which(in_line & design & !is_test)
      present <- unique(paste(d[pert], k[pert]))
      n_expected <- length(drugs) * length(doses_nM) - 1L
      if (length(present) < n_expected) {
        incomplete[name] <- n_expected - length(present)
      }
      naive <- integer(0)
      for (kk in lower) {
        naive <- pert[d[pert] == j & k[pert] == kk]
        if (length(naive)) break
      }
      train <- sort(c(ctrl, pert))
      splits[[name]] <- list(cell_line = line, drug = drugs[j],
                             dose_nM = doses_nM[held_k], train = train,
                             test = test, naive = naive)
      settings[[name]] <- data.frame(
        setting = name, cell_line = line, drug = drugs[j],
        dose_nM = doses_nM[held_k], n_train = length(train),
        n_test = length(test), n_control = length(ctrl),
        n_naive = length(naive), stringsAsFactors = FALSE)
    }
  }
  if (length(incomplete)) {
    lab <- paste0(names(incomplete), " (", incomplete, ")")
    cli::cli_warn(c(
      "{cli::qty(length(lab))}In setting{?s} {.val {lab}}, some of the training perturbations have no cells.",
      "i" = "The number of missing drug-dose combinations is in parentheses."
    ))
  }
  settings <- do.call(rbind, unname(settings))
  rownames(settings) <- NULL
  list(settings = settings, splits = splits)
}
