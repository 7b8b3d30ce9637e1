#' Read the SciPlex3 drug screen
#'
#' Reads the sci-Plex3 screen of Srivatsan et al. (2020), 188 compounds at
#' 10 nM, 100 nM, 1 uM and 10 uM in A549, K562 and MCF7 cells, as users
#' have it: the scPerturb file `SrivatsanTrapnell2020_sciplex3.h5ad`, or the
#' files of GEO sample GSM4150378 (series GSE139944). Either way the result
#' has the UMI counts and four standard cell annotations, so that the rest of
#' perturbgim does not care where the data came from.
#'
#' @param path Either the scPerturb `.h5ad` file, or a directory that holds
#'   the GEO files (see Details).
#' @param drugs Optional character vector of drugs to keep, matched without
#'   regard to case against the standard drug name (`"Belinostat"`) or the
#'   original product name (`"Belinostat (PXD101)"`). The paper's four HDAC
#'   inhibitors are `c("Belinostat", "Dacinostat", "Givinostat",
#'   "Quisinostat")`.
#' @param cell_lines Optional character vector of cell lines to keep
#'   (`"A549"`, `"K562"`, `"MCF7"`), case ignored.
#' @param keep_controls If `TRUE` (the default), the vehicle cells of the
#'   kept cell lines stay when `drugs` is given; they are the observational
#'   reference of every model.
#' @param dose_unit Unit of the dose column when the data do not record one
#'   (no `dose_unit` column): one of `"pM"`, `"nM"`, `"uM"` (also written
#'   with the micro sign), `"mM"`, `"M"`. The GEO files record doses in nM,
#'   which is the default for them; an `.h5ad` file without a `dose_unit`
#'   column needs it.
#' @return A [SingleCellExperiment::SingleCellExperiment] with the UMI counts
#'   as assay `counts` (`dgCMatrix`, genes in rows), gene symbols as row
#'   names (made unique) with `rowData` columns `gene_id` (Ensembl, without
#'   version) and `gene_symbol`, and `colData` that starts with the standard
#'   columns
#'   * `drug`: the compound, its product name without the parenthesised
#'     catalogue code and anything after it ("Belinostat (PXD101)" becomes
#'     "Belinostat", "Quisinostat (JNJ-26481585) 2HCl" becomes
#'     "Quisinostat"); `"control"` for vehicle cells;
#'   * `dose_nM`: the dose in nM (0 for vehicle cells);
#'   * `cell_line`: the cell line;
#'   * `control`: `TRUE` for vehicle (DMSO) cells;
#'
#'   followed by all original columns (an original column whose name is
#'   taken and whose values differ is kept with the suffix `_original`).
#' @details
#' **scPerturb file.** `obs` must have the drug in `perturbation` (vehicle
#' cells are `"control"`) or `product_name`, the dose in `dose_value` with its
#' unit in `dose_unit` (scPerturb writes `"nM"`), and the cell line in
#' `cell_line`; a `vehicle` column, when present, marks the controls. Only the
#' selected cells are read from disk. Needs hdf5r, like [read_h5ad()].
#'
#' **GEO files.** The directory must hold these files of GSM4150378, gzipped
#' or not (when it holds the files of several GSE139944 samples, those whose
#' name contains `sciPlex3` are used):
#' * `GSM4150378_sciPlex3_pData.txt.gz`: the cell annotation table, one row
#'   per cell, with a header; columns `cell`, `product_name`, `dose` (nM),
#'   `cell_type` (the cell line), `vehicle` and others. Space-, tab- or
#'   comma-separated (`.csv`) with quoted strings, as R's `write.table()`
#'   writes them.
#' * `GSM4150378_sciPlex3_A549_MCF7_K562_screen_gene.annotations.txt.gz`: one
#'   line per gene, no header, Ensembl id and gene symbol.
#' * `GSM4150378_sciPlex3_A549_MCF7_K562_screen_UMI.count.matrix.gz`: the UMI
#'   counts as lines `gene cell count` (1-based indices into the gene and cell
#'   annotations, no header), or any Matrix Market coordinate file
#'   (`*.mtx`, `*.mtx.gz`, genes x cells or cells x genes).
#' * optional, `GSM4150378_sciPlex3_A549_MCF7_K562_screen_cell.annotations.txt.gz`:
#'   one line per column of the count matrix, cell name first, no header. With
#'   it, annotation rows are matched to matrix columns by the `cell` column
#'   (or the row names) of the pData table, and cells without annotation are
#'   dropped with a warning; without it the pData rows must be in matrix
#'   order.
#'
#' The count file is read in chunks and only the triplets of the selected
#' cells are kept, so filtering by `drugs` and `cell_lines` bounds the
#' memory used; reading the whole text file takes minutes.
#' @references Srivatsan SR, McFaline-Figueroa JL, Ramani V, et al. (2020).
#'   Massively multiplex chemical transcriptomics at single-cell resolution.
#'   *Science* 367(6473), 45-51. \doi{10.1126/science.aax6234}.
#'
#'   Peidli S, Green TD, Shen C, et al. (2024). scPerturb: harmonized
#'   single-cell perturbation data. *Nature Methods* 21, 531-540.
#'   \doi{10.1038/s41592-023-02144-y}.
#' @family readers
#' @examplesIf requireNamespace("SingleCellExperiment", quietly = TRUE)
#' # A tiny stand-in for the GEO files: 3 genes, 4 cells
#' dir <- file.path(tempdir(), "sciplex3-example")
#' dir.create(dir, showWarnings = FALSE)
#' pdata <- data.frame(
#'   cell = paste0("cell", 1:4),
#'   product_name = c("Belinostat (PXD101)", "Vehicle",
#'                    "Quisinostat (JNJ-26481585) 2HCl", "Belinostat (PXD101)"),
#'   dose = c(10, 0, 1000, 10000), cell_type = c("A549", "A549", "MCF7", "MCF7"),
#'   vehicle = c(FALSE, TRUE, FALSE, FALSE)
#' )
#' write.table(pdata, file.path(dir, "GSM4150378_sciPlex3_pData.txt"))
#' writeLines(c("ENSG00000141510.16\tTP53", "ENSG00000116478.11\tHDAC1",
#'              "ENSG00000075624.13\tACTB"),
#'            file.path(dir, "sciPlex3_gene.annotations.txt"))
#' writeLines(c("1\t1\t2", "3\t1\t7", "2\t2\t1", "3\t3\t4", "1\t4\t1"),
#'            file.path(dir, "sciPlex3_UMI.count.matrix"))
#' sce <- read_sciplex3(dir)
#' as.matrix(SingleCellExperiment::counts(sce))
#' data.frame(drug = sce$drug, dose_nM = sce$dose_nM,
#'            cell_line = sce$cell_line, control = sce$control)
#' # Belinostat and the vehicle cells in MCF7 only
#' dim(read_sciplex3(dir, drugs = "Belinostat", cell_lines = "MCF7"))
#' @export
read_sciplex3 <- function(path, drugs = NULL, cell_lines = NULL,
                          keep_controls = TRUE, dose_unit = NULL) {
  call <- rlang::current_env()
  if (!is.character(path) || length(path) != 1L || is.na(path)) {
    cli::cli_abort("{.arg path} must be a single file or directory path.",
                   call = call)
  }
  if (!file.exists(path)) {
    cli::cli_abort("{.arg path}: {.file {path}} does not exist.", call = call)
  }
  check_names_arg(drugs, "drugs", call)
  check_names_arg(cell_lines, "cell_lines", call)
  check_flag(keep_controls)
  if (!is.null(dose_unit)) {
    if (!is.character(dose_unit) || length(dose_unit) != 1L ||
        is.na(dose_unit) || is.na(dose_unit_factor(dose_unit))) {
      cli::cli_abort(c("{.arg dose_unit} must be one of {.val {names(dose_units())}}.",
                       "x" = "Got {.val {dose_unit}}."), call = call)
    }
  }
  ctx <- list(file = path, call = call)
  select <- list(drugs = drugs, cell_lines = cell_lines,
                 keep_controls = keep_controls)
  if (dir.exists(path)) {
    check_reader_packages(c("SingleCellExperiment", "S4Vectors"), call = call)
    return(sciplex_read_geo(path, select, dose_unit %||% "nM", ctx))
  }
  check_reader_packages(c("hdf5r", "SingleCellExperiment", "S4Vectors"),
                        call = call)
  sciplex_read_h5ad(path, select, dose_unit, ctx)
}

check_names_arg <- function(x, arg, call) {
  if (!is.null(x) && (!is.character(x) || !length(x) || anyNA(x))) {
    cli::cli_abort("{.arg {arg}} must be {.code NULL} or a character vector of names.",
                   call = call)
  }
  invisible(TRUE)
}

# ---------------------------------------------------------------------------
# Mapping onto the standard columns

dose_units <- function() {
  c(pM = 1e-3, nM = 1, uM = 1e3, "\u00b5M" = 1e3, "\u03bcM" = 1e3,
    mM = 1e6, M = 1e9)
}

dose_unit_factor <- function(unit) {
  unname(dose_units()[trimws(enc2utf8(as.character(unit)))])
}

# "Belinostat (PXD101)" -> "Belinostat"; "(+)-JQ1" stays, since its
# parenthesis does not follow a space.
strip_product_code <- function(x) {
  trimws(sub("\\s+\\(.*$", "", trimws(x)))
}

as_flag_vector <- function(x) {
  if (is.logical(x)) return(x)
  if (is.numeric(x)) return(ifelse(is.na(x), NA, x != 0))
  x <- tolower(trimws(as.character(x)))
  out <- rep(NA, length(x))
  out[x %in% c("true", "t", "yes", "1")] <- TRUE
  out[x %in% c("false", "f", "no", "0")] <- FALSE
  out
}

# meta: named list (or data frame) of cell annotation columns.
sciplex_annotate <- function(meta, default_unit, ctx) {
  cols <- names(meta)
  pick <- function(candidates, what) {
    hit <- intersect(candidates, cols)
    if (!length(hit)) {
      cli::cli_abort(c(
        "The cell annotation of {.file {ctx$file}} has no {what} column.",
        "x" = "Expected one of {.field {candidates}}.",
        "i" = "Columns: {.field {cols}}."
      ), call = ctx$call)
    }
    hit[1]
  }
  drug_col <- pick(c("product_name", "perturbation", "drug"), "drug")
  dose_col <- pick(c("dose_value", "dose"), "dose")
  line_col <- pick(c("cell_line", "cell_type"), "cell line")
  product <- as.character(meta[[drug_col]])
  product[!is.na(product) & !nzchar(trimws(product))] <- NA
  by_name <- ifelse(is.na(product), NA,
                    tolower(trimws(product)) %in% c("control", "vehicle", "dmso"))
  control <- if ("vehicle" %in% cols) as_flag_vector(meta[["vehicle"]]) else by_name
  control[is.na(control)] <- by_name[is.na(control)]
  dose <- meta[[dose_col]]
  if (is.factor(dose)) dose <- as.character(dose)
  dose_num <- suppressWarnings(as.numeric(dose))
  bad <- is.na(dose_num) & !is.na(dose)
  if (any(bad)) {
    examples <- utils::head(unique(dose[bad]), 3)
    cli::cli_abort(c(
      "Column {.field {dose_col}} of {.file {ctx$file}} is not numeric.",
      "x" = "Values such as {.val {examples}}."
    ), call = ctx$call)
  }
  unit <- if ("dose_unit" %in% cols) {
    as.character(meta[["dose_unit"]])
  } else if (!is.null(default_unit)) {
    rep(default_unit, length(product))
  } else {
    cli::cli_abort(c(
      "The cell annotation of {.file {ctx$file}} has no {.field dose_unit} column.",
      "i" = paste("Give the unit of {.field {dose_col}} with {.arg dose_unit},",
                  "e.g. {.code dose_unit = \"nM\"}.")
    ), call = ctx$call)
  }
  factor <- dose_unit_factor(unit)
  treated <- control %in% FALSE & !is.na(dose_num)
  unknown <- treated & is.na(factor)
  if (any(unknown)) {
    units <- unique(unit[unknown])
    cli::cli_abort(c(
      paste("{cli::qty(length(units))}Unknown dose unit{?s} {.val {units}}",
            "in {.file {ctx$file}}."),
      "i" = "Known units: {.val {names(dose_units())}}."
    ), call = ctx$call)
  }
  dose_nM <- dose_num * factor
  dose_nM[control %in% TRUE] <- 0
  # per distinct name: there are few drugs and many cells
  distinct <- unique(product)
  drug <- strip_product_code(distinct)[match(product, distinct)]
  drug[control %in% TRUE] <- "control"
  list(
    drug = drug,
    dose_nM = dose_nM,
    cell_line = trimws(as.character(meta[[line_col]])),
    control = control,
    product = product
  )
}

# Logical vector: the cells asked for by drugs / cell_lines.
sciplex_select <- function(ann, select, ctx) {
  keep <- rep(TRUE, length(ann$drug))
  if (!is.null(select$cell_lines)) {
    lines <- sort(unique(stats::na.omit(ann$cell_line)))
    wanted <- tolower(select$cell_lines)
    missing <- select$cell_lines[!wanted %in% tolower(lines)]
    if (length(missing)) {
      cli::cli_abort(c(
        paste("{cli::qty(length(missing))}Cell line{?s} {.val {missing}} not",
              "found in {.file {ctx$file}}."),
        "i" = "Cell lines: {.val {lines}}."
      ), call = ctx$call)
    }
    keep <- keep & tolower(ann$cell_line) %in% wanted
  }
  if (!is.null(select$drugs)) {
    wanted <- tolower(select$drugs)
    found <- wanted %in% tolower(ann$drug) | wanted %in% tolower(ann$product)
    if (!all(found)) {
      available <- sort(unique(stats::na.omit(ann$drug[ann$control %in% FALSE])))
      cli::cli_abort(c(
        paste("{cli::qty(sum(!found))}Drug{?s} {.val {select$drugs[!found]}}",
              "not found in {.file {ctx$file}}."),
        "i" = paste("{length(available)} drug{?s} available, e.g.",
                    "{.val {utils::head(available, 8)}}.")
      ), call = ctx$call)
    }
    is_drug <- tolower(ann$drug) %in% wanted | tolower(ann$product) %in% wanted
    keep <- keep & (is_drug | (select$keep_controls & ann$control %in% TRUE))
  }
  if (!any(keep)) {
    cli::cli_abort("No cells of {.file {ctx$file}} match {.arg drugs} and {.arg cell_lines}.",
                   call = ctx$call)
  }
  keep
}

# Standard columns first, then the original ones; an original column with a
# standard name is kept as <name>_original unless it says the same thing.
sciplex_columns <- function(ann, meta) {
  std <- ann[c("drug", "dose_nM", "cell_line", "control")]
  orig <- as.list(meta)
  for (name in intersect(names(std), names(orig))) {
    same <- identical(as.character(orig[[name]]), as.character(std[[name]]))
    if (!same) orig[[paste0(name, "_original")]] <- orig[[name]]
    orig[[name]] <- NULL
  }
  c(std, orig)
}

# Gene symbols as row names (unique), Ensembl ids without version.
sciplex_genes <- function(symbols, ids) {
  symbols <- as.character(symbols)
  ids <- if (is.null(ids)) rep(NA_character_, length(symbols)) else {
    sub("\\.[0-9]+(_|$)", "\\1", as.character(ids))
  }
  list(index = make.unique(symbols),
       columns = list(gene_id = ids, gene_symbol = symbols))
}

# ---------------------------------------------------------------------------
# scPerturb .h5ad

sciplex_read_h5ad <- function(path, select, dose_unit, ctx) {
  h5 <- h5ad_open(path, ctx$call)
  ctx <- h5_context(path, ctx$call, h5)
  on.exit(h5_close(h5, ctx), add = TRUE)
  obs <- h5ad_read_axis(h5, "obs", ctx)
  ann <- sciplex_annotate(obs$columns, dose_unit, ctx)
  keep <- sciplex_select(ann, select, ctx)
  obs$columns <- sciplex_columns(ann, obs$columns)
  var <- h5ad_read_axis(h5, "var", ctx)
  id_col <- intersect(c("ensembl_id", "gene_id", "ensembl_gene_id"),
                      names(var$columns))
  genes <- sciplex_genes(var$index,
                         if (length(id_col)) var$columns[[id_col[1]]])
  var$columns <- c(genes$columns,
                   var$columns[setdiff(names(var$columns),
                                       names(genes$columns))])
  var$index <- genes$index
  # scPerturb's X holds the counts; a file that keeps them in a layer
  # "counts" (X then normalised) keeps its names.
  layer_grp <- h5_child(h5, "layers", ctx)
  has_counts <- !is.null(layer_grp) && "counts" %in% names(layer_grp)
  h5ad_read_sce(
    h5, obs, ctx, x_name = if (has_counts) "X" else "counts", layers = TRUE,
    reduced_dims = TRUE,
    raw = FALSE, uns = TRUE, cells = if (all(keep)) NULL else which(keep),
    var = var,
    metadata = list(source = list(format = "scPerturb h5ad", files = path))
  )
}

# ---------------------------------------------------------------------------
# GEO GSM4150378 files

sciplex_geo_files <- function(dir, ctx) {
  files <- list.files(dir, full.names = TRUE)
  files <- files[!dir.exists(files)]
  find <- function(pattern, what, required = TRUE) {
    hits <- files[grepl(pattern, basename(files), ignore.case = TRUE)]
    if (length(hits) > 1L) {
      three <- hits[grepl("sciplex3", basename(hits), ignore.case = TRUE)]
      if (length(three)) hits <- three
    }
    if (length(hits) > 1L) {
      cli::cli_abort(c("{.file {dir}} holds several {what} files.",
                       "x" = "{.file {basename(hits)}}",
                       "i" = "Keep one per directory."), call = ctx$call)
    }
    if (!length(hits) && required) {
      cli::cli_abort(c("{.file {dir}} has no {what} file.",
                       "i" = paste("Expected a file matching {.code {pattern}};",
                                   "see {.help perturbgim::read_sciplex3}.")),
                     call = ctx$call)
    }
    if (length(hits)) hits else NULL
  }
  text <- "\\.(txt|tsv|csv)(\\.gz)?$"
  list(
    pdata = find(paste0("(pData|cell[._-]?metadata)", text), "cell annotation (pData)"),
    cells = find(paste0("cell\\.annotations", text), "cell name", required = FALSE),
    genes = find(paste0("gene\\.annotations", text), "gene annotation"),
    counts = find("(UMI\\.count\\.matrix|\\.mtx)(\\.gz)?$", "UMI count matrix")
  )
}

table_separator <- function(file) {
  if (grepl("\\.csv(\\.gz)?$", file, ignore.case = TRUE)) return(",")
  first <- readLines(file, n = 1L, warn = FALSE)
  if (length(first) && grepl("\t", first, fixed = TRUE)) "\t" else ""
}

read_text_table <- function(file, header, ctx) {
  tryCatch(
    utils::read.table(file, header = header, sep = table_separator(file),
                      quote = "\"", comment.char = "", na.strings = c("NA", ""),
                      stringsAsFactors = FALSE, check.names = FALSE,
                      colClasses = if (header) NA else "character"),
    error = function(e) {
      cli::cli_abort(c("Could not read {.file {file}} as a table.",
                       "x" = conditionMessage(e)), call = ctx$call)
    }
  )
}

# Headerless one-row-per-item files; a first line that names columns is
# dropped.
read_annotation_lines <- function(file, ctx) {
  x <- read_text_table(file, header = FALSE, ctx)
  header_words <- c("gene_id", "id", "ensembl_id", "gene", "cell", "cell_id",
                    "barcode", "gene_short_name")
  if (nrow(x) && tolower(x[1, 1]) %in% header_words) x <- x[-1, , drop = FALSE]
  x
}

sciplex_read_geo <- function(dir, select, dose_unit, ctx) {
  files <- sciplex_geo_files(dir, ctx)
  meta <- read_text_table(files$pdata, header = TRUE, ctx)
  meta_names <- if ("cell" %in% names(meta)) as.character(meta$cell) else
    rownames(meta)
  genes_tab <- read_annotation_lines(files$genes, ctx)
  genes <- sciplex_genes(
    if (ncol(genes_tab) >= 2L) genes_tab[[2]] else genes_tab[[1]],
    if (ncol(genes_tab) >= 2L) genes_tab[[1]] else NULL
  )
  if (!is.null(files$cells)) {
    cell_names <- read_annotation_lines(files$cells, ctx)[[1]]
    rows <- match(cell_names, meta_names)
    if (anyNA(rows)) {
      cli::cli_warn(paste("Dropped {sum(is.na(rows))} cell{?s} of the count",
                          "matrix without a row in {.file {basename(files$pdata)}}."))
    }
    n_cells <- length(cell_names)
  } else {
    cell_names <- meta_names
    rows <- seq_len(nrow(meta))
    n_cells <- nrow(meta)
  }
  meta <- meta[rows[!is.na(rows)], , drop = FALSE]
  matrix_cols <- which(!is.na(rows))
  ann <- sciplex_annotate(meta, dose_unit, ctx)
  keep <- which(sciplex_select(ann, select, ctx))
  counts <- read_count_triplets(files$counts, length(genes$index), n_cells,
                                matrix_cols[keep], ctx)
  cols <- sciplex_columns(ann, meta)
  col_df <- list(index = cell_names[matrix_cols[keep]],
                 columns = lapply(cols, function(col) col[keep]))
  dimnames(counts) <- list(genes$index, col_df$index)
  SingleCellExperiment::SingleCellExperiment(
    assays = list(counts = counts),
    colData = h5ad_as_dataframe(col_df),
    rowData = h5ad_as_dataframe(genes),
    metadata = list(source = list(format = "GEO GSE139944 (GSM4150378)",
                                  files = unname(unlist(files))))
  )
}

# Streams a "gene cell count" triplet file (GEO) or a Matrix Market
# coordinate file, keeping only the columns `keep` (matrix cell indices, in
# the order wanted). Returns a genes x length(keep) dgCMatrix.
read_count_triplets <- function(file, n_genes, n_cells, keep, ctx,
                                chunk = 5e6) {
  con <- file(file, open = "r")
  on.exit(close(con), add = TRUE)
  first <- readLines(con, n = 1L, warn = FALSE)
  genes_first <- TRUE
  if (length(first) && startsWith(first, "%%MatrixMarket")) {
    tokens <- tolower(strsplit(trimws(first), "[[:space:]]+")[[1]])
    if (length(tokens) < 5L || tokens[3] != "coordinate" ||
        !tokens[4] %in% c("integer", "real", "double") ||
        tokens[5] != "general") {
      cli::cli_abort(c("{.file {file}} is a Matrix Market file of an unsupported kind.",
                       "x" = "Header: {.val {first}}.",
                       "i" = "Supported: coordinate integer or real general matrices."),
                     call = ctx$call)
    }
    repeat {
      line <- readLines(con, n = 1L, warn = FALSE)
      if (!length(line) || !startsWith(line, "%")) break
    }
    size <- suppressWarnings(as.numeric(strsplit(trimws(line), "[[:space:]]+")[[1]]))
    if (length(size) != 3L || anyNA(size)) {
      cli::cli_abort("{.file {file}} has no valid Matrix Market size line.",
                     call = ctx$call)
    }
    if (size[1] == n_genes && size[2] == n_cells) {
      genes_first <- TRUE
    } else if (size[1] == n_cells && size[2] == n_genes) {
      genes_first <- FALSE
    } else {
      cli::cli_abort(c(
        "{.file {file}} does not match the annotations.",
        "x" = paste("It is {size[1]} x {size[2]}; the annotations have",
                    "{n_genes} genes and {n_cells} cells.")
      ), call = ctx$call)
    }
  } else if (length(first)) {
    pushBack(first, con)
  }
  new_col <- integer(n_cells)
  new_col[keep] <- seq_along(keep)
  gi <- list()
  ci <- list()
  xs <- list()
  k <- 0L
  repeat {
    part <- tryCatch(
      scan(con, what = list(0, 0, 0), nmax = chunk, quiet = TRUE,
           comment.char = "%"),
      error = function(e) {
        cli::cli_abort(c("Could not parse the counts in {.file {file}}.",
                         "x" = conditionMessage(e),
                         "i" = "Expected lines of three numbers: gene, cell, count."),
                       call = ctx$call)
      }
    )
    if (!length(part[[1]])) break
    g <- part[[if (genes_first) 1L else 2L]]
    cc <- part[[if (genes_first) 2L else 1L]]
    if (anyNA(g) || anyNA(cc) || any(g < 1 | g > n_genes) ||
        any(cc < 1 | cc > n_cells)) {
      cli::cli_abort(c(
        "{.file {file}} has indices outside the annotations.",
        "i" = "The annotations have {n_genes} genes and {n_cells} cells; indices are 1-based."
      ), call = ctx$call)
    }
    j <- new_col[cc]
    sel <- j > 0L
    k <- k + 1L
    gi[[k]] <- as.integer(g[sel])
    ci[[k]] <- j[sel]
    xs[[k]] <- part[[3]][sel]
  }
  Matrix::sparseMatrix(
    i = unlist(gi, use.names = FALSE) %||% integer(0),
    j = unlist(ci, use.names = FALSE) %||% integer(0),
    x = as.double(unlist(xs, use.names = FALSE) %||% double(0)),
    dims = c(n_genes, length(keep))
  )
}
