# A SciPlex3-like single-cell data set with known causal truth: a regulatory
# module sampled from an SCM (sample_scm()), drug interventions with Hill
# dose responses, negative binomial background genes and Poisson sampling of
# UMIs at realistic library sizes.

# HDAC1 IC50s (nM) of SPEC section 5, the potency order of the simulation.
sciplex_hdac1_ic50 <- c(Belinostat = 41, Dacinostat = 5, Givinostat = 28,
                        Quisinostat = 0.33)

sciplex_products <- c(Belinostat = "Belinostat (PXD101)",
                      Dacinostat = "Dacinostat (LAQ824)",
                      Givinostat = "Givinostat (ITF2357)",
                      Quisinostat = "Quisinostat (JNJ-26481585) 2HCl")

#' Simulate a SciPlex3-like drug screen with known causal truth
#'
#' Simulates raw UMI counts of the HDAC inhibitor part of SciPlex3
#' (Srivatsan et al., 2020): cell lines A549, K562 and MCF7 treated with
#' Belinostat, Dacinostat, Givinostat and Quisinostat at 10 nM, 100 nM,
#' 1 uM and 10 uM, plus vehicle. A module of regulatory genes follows a
#' causal DAG, each drug intervenes on its own target genes with a Hill
#' dose response, and the truth (graphs, mechanisms, targets, intervention
#' parameters) comes along in `metadata()`. The result looks like what
#' [read_sciplex3()] returns, so the SciPlex3 workflow runs on it unchanged.
#'
#' @details
#' **Genes.** Gene identities are real: the module genes are the genes most
#' often among the top up-regulated genes of the four HDAC inhibitors over
#' the three cell lines in the SciPlex3 signatures of montilab/sigrecon
#' (shipped as `inst/extdata/hdac_signatures.rds`), and the other genes come
#' from the same ranked lists (genes beyond those get made-up ids `SIMG...`).
#' Rows are the `n_module` module genes first, then the background genes.
#' `gene_symbol` equals `gene_id` (the row names), but the plots label these
#' genes by their HGNC symbols, mapped once from Bioconductor's org.Hs.eg.db
#' (`inst/extdata/gene_symbols.rds`; see [plot_graph()]).
#'
#' **Graph and mechanisms.** A shared Erdős–Rényi DAG over the module genes
#' (`expected_edges` edges, oriented along a random order) is rewired per
#' cell line: a fraction `rewire` of its edges is removed and as many new
#' edges (along the same order, so the graph stays acyclic) are added. The
#' module's log expression then follows [scm()] on that graph, with one
#' hidden layer of 5 tanh units per gene, weights drawn once and shared by the
#' cell lines (new edges get their own weights), output weights halved and
#' output bias 0 so that the module varies around its baseline, and noise
#' variance `noise_var`. With `mechanism = "mlp"` the module gene `j` of a
#' cell has relative expression `exp(x_j)`; with `"zilognormal"` it has
#' `x_j` itself, 0 with probability `plogis(zero_logit[j])` (drawn in
#' `[0.1, 0.5]`): a gene switched off, on top of sampling zeros.
#'
#' **Baseline expression.** Every gene has a baseline relative expression,
#' log-normal across genes (log-sd 1.5, as the mean expression of genes in
#' single-cell data spans orders of magnitude; module genes, response genes
#' that are well detected in SciPlex3, have log-mean 1.5 and log-sd 0.7).
#' Cell lines differ from the shared baseline by a log-normal factor per gene
#' (log-sd 0.5), besides their graphs.
#'
#' **Drugs.** In each cell line, each drug targets `n_shared_targets` module
#' genes shared by all four drugs (they share a mechanism: HDAC inhibition)
#' and `n_specific_targets` genes of its own. Targets are taken from that
#' drug's real up-regulated genes in that cell line when there are enough in
#' the module, shared ones first among genes that all drugs up-regulate; the
#' rest are drawn at random among unused module genes. Target `j` of drug `k`
#' has a Hill dose response
#' \deqn{h_{jk}(c) = \lambda_{jk} / (1 + (\mathrm{EC50}_k / c)^n)}
#' with `n = hill_n`. The cellular potency is the HDAC1 IC50 of SPEC section 5
#' scaled by `ic50_scale`: \eqn{\mathrm{EC50}_k = \mathrm{ic50\_scale} \times
#' \mathrm{IC50}_k}, i.e. 3.3 nM (Quisinostat), 50 nM (Dacinostat), 280 nM
#' (Givinostat) and 410 nM (Belinostat) by default. Biochemical IC50s are
#' lower than the concentrations that act in cells (uptake, protein binding),
#' and the factor 10 puts every drug's curve inside the screened range of
#' 10 nM to 10 uM: Quisinostat is near saturation from 100 nM on, Belinostat
#' only from 1 uM on. Effect sizes are up-regulations (the signatures are up
#' genes; down-regulation arises downstream in the graph):
#' \eqn{\lambda_{jk}} is `effect_size` times a uniform on `[0.5, 1.5]`, for
#' shared targets one draw per gene and cell line times a drug factor
#' uniform on `[0.8, 1.25]`. A `"shift"` intervention adds `h(c)` to the log
#' expression (`"mlp"`) or to the expression (`"zilognormal"`, where a
#' negative result counts as 0) of the target; a `"hard"` intervention cuts the
#' target from its parents and draws it around its observational mean plus
#' `h(c)`, with its observational standard deviation (and zero probability),
#' both estimated from 2000 observational draws.
#'
#' **Counts.** Each cell gets a library size, log-normal with median
#' `library_size` and log-sd `library_sdlog` (0.7 makes the 5% and 95%
#' quantiles 10-fold apart). A gene's expected UMI count is the library size
#' times its share of the cell's total relative expression. Module genes are
#' Poisson (their cell-to-cell variation is the SCM's); background genes are
#' negative binomial (gamma-Poisson) with a dispersion per gene, log-normal
#' around 0.3. Most entries are zero, as in droplet and combinatorial
#' indexing data.
#'
#' Everything is drawn from R's generator, so `set.seed()` reproduces the
#' data set exactly. The default size (3 cell lines, 17 conditions, 200 cells
#' each, 2000 genes, 10,200 cells) takes a few seconds, most of it drawing
#' the negative binomial counts.
#'
#' @param n_cells Cells per cell line, drug and dose.
#' @param n_control Vehicle cells per cell line.
#' @param n_genes Number of genes.
#' @param n_module Number of module genes, which follow the causal graph
#'   (at least 2, below `n_genes`).
#' @param cell_lines Cell lines to simulate, any of `"A549"`, `"K562"`,
#'   `"MCF7"` (case ignored).
#' @param drugs Drugs to simulate, any of `"Belinostat"`, `"Dacinostat"`,
#'   `"Givinostat"`, `"Quisinostat"` (case ignored).
#' @param doses_nM Doses in nM, positive and distinct.
#' @param mechanism `"mlp"` (log-normal module expression) or
#'   `"zilognormal"` (zero-inflated), see Details and [scm()].
#' @param intervention `"shift"` or `"hard"` drug interventions.
#' @param n_shared_targets,n_specific_targets Targets of each drug shared by
#'   all drugs and specific to it, per cell line. Together at most
#'   `n_module`; with all four drugs, `n_shared_targets + 4 *
#'   n_specific_targets` at most `n_module`.
#' @param effect_size Typical maximal effect of a drug on a target (log
#'   scale for `"mlp"`).
#' @param hill_n Hill coefficient of the dose responses.
#' @param ic50_scale Factor from HDAC1 IC50 to cellular EC50 (see Details).
#' @param rewire Fraction of the shared graph's edges rewired in each cell
#'   line, in `[0, 1]`.
#' @param expected_edges Expected number of edges of the shared graph
#'   (default `2 * n_module`).
#' @param noise_var Noise variance of the module mechanisms.
#' @param library_size Median library size (UMIs per cell over the simulated
#'   genes). The default, one UMI per gene, leaves about two thirds of the
#'   counts zero whatever `n_genes` is.
#' @param library_sdlog Log-sd of the library sizes.
#' @return A [SingleCellExperiment::SingleCellExperiment] with
#' * assay `counts`: UMI counts, a `dgCMatrix`, genes in rows;
#' * `rowData`: `gene_id` (Ensembl), `gene_symbol` (same as `gene_id`),
#'   `module` (`TRUE` for module genes);
#' * `colData`: the standard columns of [read_sciplex3()], `drug`
#'   (`"control"` for vehicle cells), `dose_nM` (0 for vehicle), `cell_line`,
#'   `control`, then `product_name` (as in the SciPlex3 files, `"Vehicle"`
#'   for controls), `n_umi` (total counts) and `library_size` (the drawn
#'   library size);
#' * `metadata()`: `source`, `settings` (the arguments) and `truth`, a list
#'   with `module_genes`; `shared_graph`; per cell line (lists named by cell
#'   line) `scm` (the [scm()] of the module, its `graph` the line's DAG),
#'   `targets` (0/1 matrix, one row per condition: `"control"`,
#'   `"Belinostat_10nM"`, ...; one column per module gene) and `psi` (the
#'   intervention parameters, as [sample_scm()] takes them with `targets`);
#'   `mechanism`, `intervention`; `hill` (one row per cell line, drug and
#'   target: `cell_line`, `drug`, `gene`, `role` (`"shared"` or
#'   `"specific"`), `from_signature` (a real up gene of that drug and cell
#'   line), `lambda`, `ec50_nM`, `hill_n`); `potency` (`drug`,
#'   `hdac1_ic50_nM`, `ec50_nM`); `baseline` (genes x cell lines, relative
#'   expression before normalisation); `dispersion` (per gene, 0 for the
#'   Poisson module genes).
#' @references Srivatsan SR, McFaline-Figueroa JL, Ramani V, et al. (2020).
#'   Massively multiplex chemical transcriptomics at single-cell resolution.
#'   *Science* 367(6473), 45-51. \doi{10.1126/science.aax6234}.
#'
#'   Schneider, N., Lorch, L., Kilbertus, N., Schölkopf, B. and Krause, A.
#'   (2025). Generative intervention models for causal perturbation modeling.
#'   *ICML*. \doi{10.48550/arXiv.2503.19149}
#' @family simulation
#' @examplesIf requireNamespace("SingleCellExperiment", quietly = TRUE)
#' set.seed(1)
#' sce <- simulate_sciplex(n_cells = 20, n_control = 40, n_genes = 300,
#'                         cell_lines = "A549")
#' sce
#' table(sce$drug, sce$dose_nM)
#' truth <- S4Vectors::metadata(sce)$truth
#' head(truth$hill)
#' truth$potency
#' @export
simulate_sciplex <- function(n_cells = 200, n_control = n_cells,
                             n_genes = 2000, n_module = 60,
                             cell_lines = c("A549", "K562", "MCF7"),
                             drugs = c("Belinostat", "Dacinostat",
                                       "Givinostat", "Quisinostat"),
                             doses_nM = c(10, 100, 1000, 10000),
                             mechanism = c("mlp", "zilognormal"),
                             intervention = c("shift", "hard"),
                             n_shared_targets = 4, n_specific_targets = 3,
                             effect_size = 2, hill_n = 1.5, ic50_scale = 10,
                             rewire = 0.2, expected_edges = 2 * n_module,
                             noise_var = 0.1, library_size = n_genes,
                             library_sdlog = 0.7) {
  call <- rlang::current_env()
  n_cells <- check_count(n_cells)
  n_control <- check_count(n_control, min = 0L)
  n_genes <- check_count(n_genes, min = 3L)
  n_module <- check_count(n_module, min = 2L)
  if (n_module >= n_genes) {
    cli::cli_abort("{.arg n_module} must be below {.arg n_genes} ({n_genes}), not {n_module}.")
  }
  cell_lines <- sciplex_sim_match(cell_lines, c("A549", "K562", "MCF7"), call)
  drugs <- sciplex_sim_match(drugs, names(sciplex_hdac1_ic50), call)
  doses_nM <- check_dosages(doses_nM)
  mechanism <- arg_match_checked(mechanism)
  intervention <- arg_match_checked(intervention)
  n_shared_targets <- check_count(n_shared_targets, min = 0L)
  n_specific_targets <- check_count(n_specific_targets, min = 0L)
  n_used <- n_shared_targets + length(drugs) * n_specific_targets
  if (n_shared_targets + n_specific_targets < 1L || n_used > n_module) {
    cli::cli_abort(c(
      paste("{.arg n_shared_targets} + {length(drugs)} x",
            "{.arg n_specific_targets} must be between 1 and {.arg n_module}",
            "({n_module})."),
      "x" = "It is {n_used}."
    ))
  }
  effect_size <- check_positive_number(effect_size)
  hill_n <- check_positive_number(hill_n)
  ic50_scale <- check_positive_number(ic50_scale)
  if (!is.numeric(rewire) || length(rewire) != 1L || is.na(rewire) ||
      rewire < 0 || rewire > 1) {
    cli::cli_abort("{.arg rewire} must be a single number in [0, 1], not {describe_value(rewire)}.")
  }
  expected_edges <- check_positive_number(expected_edges)
  max_edges <- n_module * (n_module - 1) / 2
  if (expected_edges > max_edges) {
    cli::cli_abort(paste("{.arg expected_edges} must be at most {max_edges}",
                         "(all pairs of {n_module} module genes), not",
                         "{expected_edges}."))
  }
  noise_var <- check_positive_number(noise_var)
  library_size <- check_positive_number(library_size)
  library_sdlog <- check_positive_number(library_sdlog)
  n_total <- length(cell_lines) *
    (n_control + n_cells * length(drugs) * length(doses_nM))
  if (n_total * n_genes > .Machine$integer.max) {
    cli::cli_abort("{n_total} cells x {n_genes} genes is more than one matrix holds.")
  }
  if (!requireNamespace("SingleCellExperiment", quietly = TRUE) ||
      !requireNamespace("S4Vectors", quietly = TRUE)) {
    cli::cli_abort(c(
      "{.fn simulate_sciplex} needs the packages SingleCellExperiment and S4Vectors.",
      "i" = "Install them with {.code BiocManager::install(\"SingleCellExperiment\")}."
    ))
  }

  sig <- readRDS(system.file("extdata", "hdac_signatures.rds",
                             package = "perturbgim", mustWork = TRUE))
  genes <- sciplex_sim_genes(sig, cell_lines, n_genes, n_module)
  module <- genes[seq_len(n_module)]
  d <- n_module

  # Shared DAG along a random order, rewired per cell line along that order.
  shared <- random_er_dag(d, expected_edges / max_edges)
  dimnames(shared) <- list(module, module)
  pos <- integer(d)
  pos[topological_order(shared)] <- seq_len(d)
  graphs <- lapply(stats::setNames(nm = cell_lines), function(line) {
    rewire_dag(shared, pos, rewire)
  })
  union_graph <- Reduce(`|`, graphs) + 0L
  dimnames(union_graph) <- dimnames(shared)
  # One parameter set over every edge of any line: shared edges share their
  # weights, and entries off a line's edges are ignored by its SCM.
  params <- scm(union_graph, mechanism, noise_var = noise_var)$parameters
  params$w2 <- params$w2 / 2
  params$b2[] <- 0
  models <- lapply(graphs, function(g) scm(g, mechanism, parameters = params))

  # Baseline relative expression: shared across lines times a line factor.
  n_bg <- n_genes - d
  log_base <- c(stats::rnorm(d, 1.5, 0.7), stats::rnorm(n_bg, 0, 1.5))
  baseline <- exp(log_base + matrix(stats::rnorm(n_genes * length(cell_lines), 0, 0.5),
                                    n_genes, length(cell_lines)))
  dimnames(baseline) <- list(genes, cell_lines)
  dispersion <- c(rep(0, d), exp(stats::rnorm(n_bg, log(0.3), 0.5)))
  names(dispersion) <- genes

  # Drug targets and Hill parameters.
  ec50 <- ic50_scale * sciplex_hdac1_ic50[drugs]
  hill <- do.call(rbind, lapply(cell_lines, function(line) {
    sciplex_sim_targets(sig$up[[line]][drugs], module, n_shared_targets,
                        n_specific_targets, effect_size, line)
  }))
  hill$ec50_nM <- unname(ec50[hill$drug])
  hill$hill_n <- hill_n
  rownames(hill) <- NULL

  conditions <- data.frame(
    drug = c("control", rep(drugs, each = length(doses_nM))),
    dose_nM = c(0, rep(doses_nM, times = length(drugs))),
    stringsAsFactors = FALSE
  )
  labels <- c("control", paste0(conditions$drug[-1], "_",
                                sciplex_dose_label(conditions$dose_nM[-1])))
  K <- nrow(conditions)
  n_per <- c(n_control, rep(n_cells, K - 1L))

  truth_targets <- list()
  truth_psi <- list()
  cols <- list()
  ii <- list()
  pp <- list()
  xx <- list()
  offset <- 0
  for (li in seq_along(cell_lines)) {
    line <- cell_lines[li]
    h <- hill[hill$cell_line == line, , drop = FALSE]
    targets <- matrix(0L, K, d, dimnames = list(labels, module))
    effect <- matrix(0, K, d, dimnames = list(labels, module))
    for (k in 2:K) {
      rows <- h$drug == conditions$drug[k]
      j <- match(h$gene[rows], module)
      targets[k, j] <- 1L
      effect[k, j] <- h$lambda[rows] /
        (1 + (h$ec50_nM[rows] / conditions$dose_nM[k])^hill_n)
    }
    psi <- sciplex_sim_psi(models[[line]], targets, effect, intervention)
    x <- sample_scm(models[[line]], n_per, targets = targets, psi = psi,
                    intervention = intervention)
    attr(x, "context") <- NULL
    truth_targets[[line]] <- targets
    truth_psi[[line]] <- psi

    # Relative expression -> expected UMIs -> counts (genes x cells).
    n_l <- sum(n_per)
    rel_module <- if (mechanism == "mlp") exp(x) else pmax(x, 0)
    rel_module <- t(rel_module) * baseline[seq_len(d), li]
    lib <- library_size * exp(stats::rnorm(n_l, 0, library_sdlog))
    sparse <- sciplex_sim_counts(rel_module, baseline[d + seq_len(n_bg), li],
                                 dispersion[d + seq_len(n_bg)], lib)
    ii[[li]] <- sparse$i
    pp[[li]] <- offset + sparse$p
    xx[[li]] <- sparse$x
    offset <- offset + length(sparse$x)
    cond <- rep(seq_len(K), n_per)
    cols[[li]] <- data.frame(
      drug = conditions$drug[cond],
      dose_nM = conditions$dose_nM[cond],
      cell_line = rep(line, n_l),
      control = cond == 1L,
      product_name = ifelse(cond == 1L, "Vehicle",
                            unname(sciplex_products[conditions$drug[cond]])),
      n_umi = sparse$n_umi,
      library_size = lib,
      stringsAsFactors = FALSE
    )
    rm(x, rel_module, sparse)
  }
  col_data <- do.call(rbind, cols)
  cell_names <- paste0("sim", formatC(seq_len(nrow(col_data)),
                                      width = nchar(nrow(col_data)), flag = "0"))
  rownames(col_data) <- cell_names
  counts <- methods::new("dgCMatrix", i = unlist(ii), p = as.integer(c(0, unlist(pp))),
                         x = unlist(xx), Dim = c(n_genes, nrow(col_data)),
                         Dimnames = list(genes, cell_names))

  truth <- list(
    module_genes = module,
    shared_graph = shared,
    scm = models,
    targets = truth_targets,
    psi = truth_psi,
    mechanism = mechanism,
    intervention = intervention,
    hill = hill,
    potency = data.frame(drug = drugs,
                         hdac1_ic50_nM = unname(sciplex_hdac1_ic50[drugs]),
                         ec50_nM = unname(ec50), stringsAsFactors = FALSE),
    baseline = baseline,
    dispersion = dispersion
  )
  settings <- list(n_cells = n_cells, n_control = n_control, n_genes = n_genes,
                   n_module = n_module, cell_lines = cell_lines, drugs = drugs,
                   doses_nM = doses_nM, mechanism = mechanism,
                   intervention = intervention,
                   n_shared_targets = n_shared_targets,
                   n_specific_targets = n_specific_targets,
                   effect_size = effect_size, hill_n = hill_n,
                   ic50_scale = ic50_scale, rewire = rewire,
                   expected_edges = expected_edges, noise_var = noise_var,
                   library_size = library_size, library_sdlog = library_sdlog)
  row_data <- S4Vectors::DataFrame(gene_id = genes, gene_symbol = genes,
                                   module = seq_len(n_genes) <= d,
                                   row.names = genes)
  SingleCellExperiment::SingleCellExperiment(
    assays = list(counts = counts),
    colData = S4Vectors::DataFrame(col_data, check.names = FALSE),
    rowData = row_data,
    metadata = list(
      source = list(format = "simulated by perturbgim::simulate_sciplex()",
                    genes = sig$source),
      settings = settings,
      truth = truth
    )
  )
}

# Canonical spellings of x, matched against choices without regard to case.
sciplex_sim_match <- function(x, choices, call, arg = rlang::caller_arg(x)) {
  if (!is.character(x) || !length(x) || anyNA(x)) {
    cli::cli_abort("{.arg {arg}} must be a character vector, any of {.val {choices}}.",
                   call = call)
  }
  i <- match(tolower(x), tolower(choices))
  if (anyNA(i)) {
    cli::cli_abort(c("{.arg {arg}} must be any of {.val {choices}}.",
                     "x" = "Unknown: {.val {x[is.na(i)]}}."), call = call)
  }
  if (anyDuplicated(i)) {
    cli::cli_abort("{.arg {arg}} must not repeat a name.", call = call)
  }
  choices[i]
}

sciplex_dose_label <- function(dose_nM) {
  fmt <- function(v) vapply(v, format, "", scientific = FALSE, trim = TRUE)
  ifelse(dose_nM >= 1000, paste0(fmt(dose_nM / 1000), "uM"),
         paste0(fmt(dose_nM), "nM"))
}

# Module genes: those up-regulated by the most HDAC inhibitor x cell line
# signatures (ties by best rank), then the background pool, then made-up ids.
sciplex_sim_genes <- function(sig, cell_lines, n_genes, n_module) {
  lists <- unlist(sig$up[cell_lines], recursive = FALSE, use.names = FALSE)
  all_up <- unlist(lists, use.names = FALSE)
  ranks <- unlist(lapply(lists, seq_along), use.names = FALSE)
  n_lists <- tapply(ranks, all_up, length)
  best <- tapply(ranks, all_up, min)
  up <- names(n_lists)[order(-n_lists, best, names(n_lists))]
  module <- up[seq_len(min(n_module, length(up)))]
  # With n_module beyond the up genes, the first background genes join the
  # module (the caller takes the first n_module genes).
  others <- c(sig$background, setdiff(up, module))
  genes <- c(module, utils::head(others, n_genes - length(module)))
  if (length(genes) < n_genes) {
    genes <- c(genes, sprintf("SIMG%011d", seq_len(n_genes - length(genes))))
  }
  genes
}

# One row per drug and target in one cell line.
sciplex_sim_targets <- function(up, module, n_shared, n_specific, effect_size,
                                line) {
  drugs <- names(up)
  cand <- lapply(up, function(g) g[g %in% module])
  in_all <- Reduce(intersect, cand)
  mean_rank <- vapply(in_all, function(g) {
    mean(vapply(cand, function(c) match(g, c), 0))
  }, 0)
  shared <- utils::head(in_all[order(mean_rank)], n_shared)
  if (length(shared) < n_shared) {
    pool <- setdiff(module, shared)
    extra <- pool[sample.int(length(pool), n_shared - length(shared))]
    shared <- c(shared, extra)
  }
  used <- shared
  specific <- list()
  for (k in drugs) {
    own <- setdiff(cand[[k]], used)
    s <- utils::head(own, n_specific)
    if (length(s) < n_specific) {
      pool <- setdiff(module, c(used, s))
      s <- c(s, pool[sample.int(length(pool), n_specific - length(s))])
    }
    specific[[k]] <- s
    used <- c(used, s)
  }
  lambda_shared <- effect_size * stats::runif(length(shared), 0.5, 1.5)
  do.call(rbind, lapply(drugs, function(k) {
    gene <- c(shared, specific[[k]])
    lambda <- c(lambda_shared * stats::runif(length(shared), 0.8, 1.25),
                effect_size * stats::runif(length(specific[[k]]), 0.5, 1.5))
    data.frame(cell_line = rep(line, length(gene)), drug = rep(k, length(gene)),
               gene = gene,
               role = rep(c("shared", "specific"),
                          c(length(shared), length(specific[[k]]))),
               from_signature = gene %in% up[[k]],
               lambda = lambda, stringsAsFactors = FALSE)
  }))
}

# UMI counts of one cell line in compressed-column form: i (0-based rows), p
# (column ends, without the leading 0), x, and the total per cell. Expected
# counts are the library size times each gene's share of the cell's relative
# expression; module genes are Poisson, background genes gamma-Poisson. Cells
# go in chunks of about a million entries, which keeps the working set (and
# R's garbage collection) small.
sciplex_sim_counts <- function(rel_module, bg_base, dispersion, lib) {
  d <- nrow(rel_module)
  n_bg <- length(bg_base)
  n_genes <- d + n_bg
  n <- ncol(rel_module)
  scale <- lib / (colSums(rel_module) + sum(bg_base))
  size <- 1 / dispersion
  chunk <- max(1L, floor(2^20 / n_genes))
  starts <- seq.int(1L, n, by = chunk)
  out_i <- out_x <- out_n <- out_umi <- vector("list", length(starts))
  for (s in seq_along(starts)) {
    cells <- starts[s]:min(n, starts[s] + chunk - 1L)
    m <- length(cells)
    sc <- rep(scale[cells], each = d)
    module <- stats::rpois(d * m, rel_module[, cells] * sc)
    sc <- rep(scale[cells], each = n_bg)
    bg <- stats::rnbinom(n_bg * m, size = size, mu = bg_base * sc)
    counts <- rbind(matrix(as.double(module), d, m), matrix(bg, n_bg, m))
    # which() runs down the columns, so the nonzeros come out in
    # compressed-column order and the sparse matrix needs no sorting.
    nz <- which(counts > 0)
    out_i[[s]] <- as.integer((nz - 1) %% n_genes)
    out_n[[s]] <- tabulate((nz - 1) %/% n_genes + 1, m)
    out_x[[s]] <- counts[nz]
    out_umi[[s]] <- colSums(counts)
  }
  list(i = unlist(out_i, use.names = FALSE),
       p = cumsum(unlist(out_n, use.names = FALSE)),
       x = unlist(out_x, use.names = FALSE),
       n_umi = unlist(out_umi, use.names = FALSE))
}

# Rewires a fraction of the edges of a DAG: removes them and adds as many new
# ones that point forward in the order pos, so the result stays acyclic.
rewire_dag <- function(g, pos, fraction) {
  edges <- which(g == 1L)
  n_swap <- round(fraction * length(edges))
  if (n_swap == 0L) return(g)
  forward <- outer(pos, pos, "<")
  free <- which(forward & g == 0L)
  n_swap <- min(n_swap, length(free))
  g[edges[sample.int(length(edges), n_swap)]] <- 0L
  g[free[sample.int(length(free), n_swap)]] <- 1L
  g
}

# Intervention parameters of one cell line, as sample_scm() takes them.
sciplex_sim_psi <- function(model, targets, effect, intervention) {
  if (intervention == "shift") return(effect)
  # Hard: around the observational level of each target, plus the effect.
  pilot <- sample_scm(model, 2000L)
  if (model$mechanism == "mlp") {
    m <- colMeans(pilot)
    s <- apply(pilot, 2L, stats::sd)
    zero <- NULL
  } else {
    logs <- lapply(seq_len(ncol(pilot)), function(j) log(pilot[pilot[, j] > 0, j]))
    m <- vapply(logs, function(v) if (length(v)) mean(v) else 0, 0)
    s <- vapply(logs, function(v) if (length(v) > 1L) stats::sd(v) else 0.3, 0)
    zero <- model$parameters$zero_logit
  }
  K <- nrow(targets)
  mean <- matrix(m, K, ncol(targets), byrow = TRUE) + effect
  log_sd <- matrix(log(s), K, ncol(targets), byrow = TRUE)
  hit <- targets == 1L
  mean[!hit] <- 0
  log_sd[!hit] <- 0
  dimnames(mean) <- dimnames(log_sd) <- dimnames(targets)
  out <- list(mean = mean, log_sd = log_sd)
  if (!is.null(zero)) {
    zl <- matrix(zero, K, ncol(targets), byrow = TRUE)
    zl[!hit] <- 0
    dimnames(zl) <- dimnames(targets)
    out$zero_logit <- zl
  }
  out
}
