# Pieces shared by the ggplot2 plots (plot-*.R): the `.data` pronoun, the
# probability heat map used for edges and targets, and argument checks that
# only the plots need.

#' @importFrom rlang .data
NULL

# A heat map of a matrix of probabilities, read like a table: first row on
# top, columns left to right, fill on a fixed [0, 1] scale so that plots of
# different fits compare. Entries where `marks` is TRUE get a dot.
probability_heatmap <- function(prob, marks, xlab, ylab, title, fill_label) {
  rows <- rownames(prob) %||% as.character(seq_len(nrow(prob)))
  cols <- colnames(prob) %||% as.character(seq_len(ncol(prob)))
  cells <- data.frame(
    row = factor(rows[row(prob)], levels = rev(unique(rows))),
    col = factor(cols[col(prob)], levels = unique(cols)),
    probability = as.vector(prob),
    mark = as.vector(marks)
  )
  ggplot2::ggplot(cells, ggplot2::aes(x = .data$col, y = .data$row)) +
    ggplot2::geom_tile(ggplot2::aes(fill = .data$probability),
                       colour = "white", linewidth = 0.3) +
    ggplot2::geom_point(data = cells[cells$mark, , drop = FALSE],
                        colour = "darkorange", size = 1.5) +
    ggplot2::scale_fill_gradient(low = "#f7fbff", high = "#08306b",
                                 limits = c(0, 1), name = fill_label) +
    ggplot2::labs(x = xlab, y = ylab, title = title) +
    ggplot2::theme_minimal() +
    ggplot2::theme(panel.grid = ggplot2::element_blank(),
                   axis.text.x = ggplot2::element_text(angle = 90, hjust = 1,
                                                       vjust = 0.5))
}

# Genes (variables) chosen by the caller: names among `available`, or
# positions. Returns names, in the order given. `of` says where the genes
# come from in the error message (cli markup).
check_gene_selection <- function(genes, available, of = "the data",
                                 arg = rlang::caller_arg(genes),
                                 call = rlang::caller_env()) {
  ok_type <- (is.character(genes) || is.numeric(genes)) && length(genes) >= 1L &&
    !anyNA(genes)
  if (!ok_type) {
    cli::cli_abort(paste("{.arg {arg}} must be gene names or column positions,",
                         "not {describe_value(genes)}."), call = call)
  }
  if (is.numeric(genes)) {
    bad <- genes[genes != round(genes) | genes < 1 | genes > length(available)]
    if (length(bad)) {
      cli::cli_abort(c("{.arg {arg}} must be positions between 1 and {length(available)}.",
                       "x" = "Out of range: {.val {bad}}."), call = call)
    }
    genes <- available[genes]
  } else {
    unknown <- setdiff(genes, available)
    if (length(unknown)) {
      cli::cli_abort(c(paste0("{.arg {arg}} must name genes of ", of, "."),
                       "x" = "Unknown: {.val {unknown}}.",
                       "i" = "Available: {.val {utils::head(available, 10)}}{if (length(available) > 10) ', ...' else ''}."),
                     call = call)
    }
  }
  if (anyDuplicated(genes)) {
    cli::cli_abort("{.arg {arg}} must not repeat a gene: {.val {unique(genes[duplicated(genes)])}}.",
                   call = call)
  }
  genes
}

# What was given when a numeric vector of some length was expected: the
# count of numbers (and whether some are not finite), else describe_value().
describe_numbers <- function(x) {
  if (!is.numeric(x) || length(x) == 1L) return(describe_value(x))
  bad <- if (anyNA(x) || any(!is.finite(x))) " with missing or infinite values" else ""
  paste0(length(x), if (length(x) == 1L) " number" else " numbers", bad)
}

# Column names of a sample matrix, made up ("V1", ...) when it has none, so
# facets always have labels.
variable_names <- function(x) {
  colnames(x) %||% paste0("V", seq_len(ncol(x)))
}

# Display names of genes, one per gene of `genes` and unique: `labels` as the
# caller gave them (one per gene, or named by gene for some of them), else
# the HGNC symbol of a known Ensembl ID (see known_gene_symbols()), else the
# name itself. `labels = FALSE` keeps the names.
gene_labels <- function(genes, labels = NULL, arg = rlang::caller_arg(labels),
                        call = rlang::caller_env()) {
  if (isFALSE(labels)) return(genes)
  out <- genes
  known <- known_gene_symbols()
  hit <- match(sub("\\.[0-9]+$", "", genes), names(known))
  out[!is.na(hit)] <- known[hit[!is.na(hit)]]
  if (!is.null(labels)) {
    ok <- is.character(labels) && !anyNA(labels) &&
      (!is.null(names(labels)) || length(labels) == length(genes))
    if (!ok) {
      cli::cli_abort(paste("{.arg {arg}} must be NULL, FALSE, or a character vector",
                           "with one label per gene or labels named by gene, not",
                           "{describe_value(labels)}."), call = call)
    }
    if (is.null(names(labels))) {
      out <- labels
    } else {
      given <- match(genes, names(labels))
      out[!is.na(given)] <- labels[given[!is.na(given)]]
    }
  }
  make.unique(unname(out), sep = " ")
}

# HGNC symbols named by Ensembl ID for the genes simulate_sciplex() can use,
# read once per session from inst/extdata/gene_symbols.rds
# (data-raw/gene-symbols.R: org.Hs.eg.db 3.16.0).
known_gene_symbols <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      path <- system.file("extdata", "gene_symbols.rds", package = "perturbgim")
      tab <- if (nzchar(path)) readRDS(path)$symbols else
        data.frame(gene_id = character(), symbol = character())
      cache <<- stats::setNames(tab$symbol, tab$gene_id)
    }
    cache
  }
})
