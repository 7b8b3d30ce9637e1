# The synthetic protocol of Schneider et al. (2025, section 5 and appendices
# D.1, D.5, E): GIM fitted on simulate_gim_benchmark() data in all 8 settings
# (Erdős–Rényi and scale-free graphs x linear and mlp mechanisms x hard and
# shift interventions), beside, on the same data:
#   * GIES given the true intervention targets (pcalg),
#   * JCI-style PC with context indicators (pcalg),
#   * the MLP mean-shift and observational baselines (appendix D.5),
#   * the true SCM's held-out log-likelihood per cell.
# Prints a per-setting table (medians over the contexts of a data set, then
# over seeds) and the goals of issue 14 with value, target, PASS/MISS and
# margin per setting.
#
#   Rscript bench/paper_synthetic.R                       # the full protocol
#   PERTURBGIM_BENCH_STEPS=200 PERTURBGIM_BENCH_SEEDS=1 \
#     PERTURBGIM_BENCH_SETTINGS=er/mlp/hard,sf/linear/shift Rscript bench/paper_synthetic.R
# Environment:
#   PERTURBGIM_BENCH_SEEDS       data set seeds, e.g. "1,2,3" (default) or "1:5"
#   PERTURBGIM_BENCH_SETTINGS    "all" (default: the 8 settings) or a list of
#                                graph/mechanism/intervention, e.g. "er/mlp/hard,sf/linear/shift";
#                                "*" matches any value: "sf/*/shift"
#   PERTURBGIM_BENCH_MECHANISMS  "linear,mlp" (default) or one of them: keeps only
#                                the settings with these mechanisms
#   PERTURBGIM_BENCH_STEPS       GIM training steps (default: gim_control()'s)
#   PERTURBGIM_BENCH_CONTROL     further gim_control() arguments, e.g.
#                                "weight_prior=masked,mu_init=1e-3" or "gim_hidden=50,50";
#                                numbers, TRUE/FALSE and NULL are converted. Recorded
#                                in the output and in the names of the saved fits.
#   PERTURBGIM_BENCH_OUT         directory for the CSV tables and the fits (default "bench-results")
#   PERTURBGIM_BENCH_THREADS     threads per GIM fit (default: gim_control()'s)
#   PERTURBGIM_BENCH_FIT_ONLY    "1": only fit (and save) the GIM models, no evaluation
#   PERTURBGIM_BENCH_PC_ALPHA    significance level of JCI-PC (default 0.01)
#   PERTURBGIM_BENCH_PC_TIMEOUT  seconds JCI-PC may take per data set (default 300);
#                                past them it is reported as missing (NA)
#   PERTURBGIM_BENCH_JCI_NODES   context nodes of JCI-PC: "perturbation" (default,
#                                one indicator per training perturbation), "context"
#                                (one per perturbation and dosage: slow, minutes per
#                                data set) or "features" (the perturbation features)
#
# Data. The data set of (setting, seed) is
#   set.seed(seed); simulate_gim_benchmark(graph, mechanism, intervention)
# with the paper's sizes, as in bench/structure_ablation.R, so a seed there is
# the same data set as here. Hard and shift data of one graph type, mechanism
# and seed draw the same graph, mechanisms, targets and Hill functions (the
# generator takes the same random numbers up to the interventions); linear
# and mlp data of one graph type and seed share their graph.
#
# GIM. set.seed(seed) before gim_fit(). Fits are saved under <out>/fits/ as
# gim_<graph>_<mechanism>_<intervention>_seed<seed>_steps<steps>[_<control>].rds
# and checkpointed every 1,000 steps, so an interrupted run continues where it
# stopped, and the fits of a long protocol can be made by several processes
# at once (one setting and seed each, with or without PERTURBGIM_BENCH_FIT_ONLY=1),
# then put together by one last run, which reads the saved evaluations
# (below: "Evaluations are saved") and evaluates only what is missing. A saved fit
# whose gim_control() differs from the requested one (other than n_threads)
# is an error, never silently reused.
# Held-out log-likelihood: the fit's final `heldout` (Monte Carlo, per cell,
# in the data's units; after polishing when it ran, else the last trace
# row's) on the fit's held-out training cells
# `fit$state$heldout_cells`; the true SCM's is the mean of true_loglik()
# (bench/harness.R) over the same cells.
#
# GIES given the true targets. pcalg::gies() with GaussL0penIntScore (BIC
# penalty, lambda = log(n) / 2) on all training cells; each cell's target set
# is the true target set of its context (the observational context has the
# empty set; the dosages of one perturbation share one set). GIES returns an
# interventional essential graph; Edge-F1 is of that graph (below), SID of the
# DAG GIES returns beside it (`repr`, a member of the class it scored).
#
# JCI-PC. pcalg::pc() with gaussCItest at alpha 0.01 on the training cells'
# genes plus context nodes: by default one 0/1 indicator per training
# perturbation (observational cells are 0 in all; dosages pooled, because one
# node per perturbation and dosage, 160 nodes, had PC still running after 12
# minutes on one data set, against 30-80 s with 40 nodes). JCI's exogeneity
# of contexts: context-context adjacencies are forbidden (fixedGaps; contexts
# are design variables, so two contexts adjacent to a gene form a v-structure
# into it), and after PC every context-gene edge is oriented context -> gene
# and Meek's rules are applied again (pcalg::addBgKnowledge). The gene-gene
# part is evaluated. PC's orientation conflicts (u2pd = "relaxed") can leave
# directed cycles among the genes; such a graph has no DAG extension and its
# SID is NA (the CSV says how many undirected edges PC and Meek left).
#
# Edge-F1 of an equivalence class (GIES, JCI-PC), as in the paper's appendix
# D.5: an undirected edge counts as one edge, oriented as in the true graph
# when the true graph joins the pair (a true positive) and otherwise a false
# positive, whatever its orientation. This favours the baselines. The CSV
# also has `edge_f1_dag`, the Edge-F1 of the DAG used for SID. SID of JCI-PC
# is of pcalg::pdag2dag()'s consistent DAG extension of its gene-gene graph
# (NA when there is none).
#
# Every metric is first a median over the contexts of one data set (as in
# the paper's figures), then a median over the data sets (seeds). Goals that
# compare two methods (margins over JCI-PC and GIES, W2 ratios, shares of
# contexts) are computed per data set and then their median over seeds.
suppressPackageStartupMessages(library(perturbgim))
options(width = 160)
bench_dir <- local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(file_arg)) dirname(normalizePath(file_arg)) else "bench"
})
source(file.path(bench_dir, "harness.R"))  # true_loglik(), point_heldout_loglik()

env_integers <- function(name, default) {
  value <- Sys.getenv(name, default)
  parts <- trimws(strsplit(value, ",", fixed = TRUE)[[1]])
  out <- unlist(lapply(parts, function(p) {
    if (grepl("^[0-9]+:[0-9]+$", p)) {
      ends <- as.integer(strsplit(p, ":", fixed = TRUE)[[1]])
      seq(ends[1], ends[2])
    } else {
      suppressWarnings(as.integer(p))
    }
  }))
  if (!length(out) || anyNA(out)) {
    stop(sprintf("%s must be whole numbers such as \"1,2,3\" or \"1:3\", not \"%s\"",
                 name, value), call. = FALSE)
  }
  out
}

# The settings asked for, as a data frame (graph, mechanism, intervention)
# in the protocol's order.
env_settings <- function() {
  all <- expand.grid(intervention = c("hard", "shift"), mechanism = c("linear", "mlp"),
                     graph = c("er", "sf"), stringsAsFactors = FALSE)[, 3:1]
  value <- trimws(Sys.getenv("PERTURBGIM_BENCH_SETTINGS", "all"))
  keep <- if (value %in% c("", "all")) rep(TRUE, nrow(all)) else {
    wanted <- trimws(strsplit(value, ",", fixed = TRUE)[[1]])
    hits <- lapply(wanted, function(w) {
      p <- strsplit(w, "/", fixed = TRUE)[[1]]
      ok <- length(p) == 3L && p[1] %in% c("er", "sf", "*") &&
        p[2] %in% c("linear", "mlp", "*") && p[3] %in% c("hard", "shift", "*")
      if (!ok) {
        stop(sprintf(paste("PERTURBGIM_BENCH_SETTINGS must be \"all\" or settings such as",
                           "\"er/mlp/hard,sf/linear/shift\" (graph er|sf, mechanism",
                           "linear|mlp, intervention hard|shift, or *), not \"%s\""), w),
             call. = FALSE)
      }
      (p[1] == "*" | all$graph == p[1]) & (p[2] == "*" | all$mechanism == p[2]) &
        (p[3] == "*" | all$intervention == p[3])
    })
    Reduce(`|`, hits)
  }
  mechanisms <- trimws(strsplit(Sys.getenv("PERTURBGIM_BENCH_MECHANISMS", "linear,mlp"),
                                ",", fixed = TRUE)[[1]])
  if (!all(mechanisms %in% c("linear", "mlp"))) {
    stop("PERTURBGIM_BENCH_MECHANISMS must be \"linear\", \"mlp\" or both", call. = FALSE)
  }
  out <- all[keep & all$mechanism %in% mechanisms, , drop = FALSE]
  if (!nrow(out)) stop("no setting left to run", call. = FALSE)
  rownames(out) <- NULL
  out
}

# Extra gim_control() arguments from "name=value,name=value"; a value may hold
# commas ("gim_hidden=50,50"): a new argument starts only at "name=".
env_control <- function() {
  value <- trimws(Sys.getenv("PERTURBGIM_BENCH_CONTROL", ""))
  if (!nzchar(value)) return(list())
  items <- strsplit(value, ",(?=\\s*[A-Za-z_.][A-Za-z0-9_.]*\\s*=)", perl = TRUE)[[1]]
  kv <- regmatches(items, regexpr("=", items), invert = TRUE)
  if (any(lengths(kv) != 2L)) {
    stop(sprintf("PERTURBGIM_BENCH_CONTROL must be name=value pairs separated by commas, not \"%s\"",
                 value), call. = FALSE)
  }
  names <- trimws(vapply(kv, `[`, "", 1))
  known <- setdiff(names(formals(gim_control)), c("steps", "n_threads"))
  bad <- setdiff(names, known)
  if (length(bad)) {
    stop(sprintf(paste("PERTURBGIM_BENCH_CONTROL: %s not a gim_control() argument this",
                       "script passes on (steps and n_threads have their own variables)"),
                 paste0("\"", bad, "\"", collapse = ", ")), call. = FALSE)
  }
  values <- lapply(kv, function(p) {
    v <- trimws(strsplit(p[2], ",", fixed = TRUE)[[1]])
    if (length(v) == 1L && v == "NULL") return(NULL)
    if (all(v %in% c("TRUE", "FALSE"))) return(as.logical(v))
    num <- suppressWarnings(as.numeric(v))
    if (!anyNA(num)) num else p[2]
  })
  out <- stats::setNames(vector("list", length(names)), names)
  for (i in seq_along(names)) out[i] <- list(values[[i]])
  out
}

# Text of the extra arguments: for the output ("weight_prior=masked, ...")
# and for file names ("weight_prior-masked_mu_init-0.001").
control_text <- function(extra, sep = ", ", eq = "=") {
  if (!length(extra)) return("")
  vals <- vapply(extra, function(v) if (is.null(v)) "NULL" else paste(format(v), collapse = "+"), "")
  paste(names(extra), vals, sep = eq, collapse = sep)
}

if (!exists("gim_fit", envir = asNamespace("perturbgim"), inherits = FALSE)) {
  stop("this perturbgim has no gim_fit(); install a version with the training engine",
       call. = FALSE)
}
seeds <- env_integers("PERTURBGIM_BENCH_SEEDS", "1,2,3")
steps <- env_integers("PERTURBGIM_BENCH_STEPS", as.character(gim_control()$steps))[1]
settings <- env_settings()
extra_control <- env_control()
out_dir <- Sys.getenv("PERTURBGIM_BENCH_OUT", "bench-results")
threads <- env_integers("PERTURBGIM_BENCH_THREADS", as.character(gim_control()$n_threads))[1]
fit_only <- identical(Sys.getenv("PERTURBGIM_BENCH_FIT_ONLY"), "1")
pc_alpha <- as.numeric(Sys.getenv("PERTURBGIM_BENCH_PC_ALPHA", "0.01"))
pc_timeout <- env_integers("PERTURBGIM_BENCH_PC_TIMEOUT", "300")[1]
if (is.na(pc_alpha) || pc_alpha <= 0 || pc_alpha >= 1) {
  stop("PERTURBGIM_BENCH_PC_ALPHA must be a number in (0, 1)", call. = FALSE)
}
jci_nodes <- Sys.getenv("PERTURBGIM_BENCH_JCI_NODES", "perturbation")
if (!jci_nodes %in% c("perturbation", "context", "features")) {
  stop("PERTURBGIM_BENCH_JCI_NODES must be \"perturbation\", \"context\" or \"features\"",
       call. = FALSE)
}
control <- do.call(gim_control, c(extra_control, list(steps = steps, n_threads = threads)))
control_label <- control_text(extra_control)
control_file <- gsub("[^A-Za-z0-9_.+-]", "", control_text(extra_control, sep = "_", eq = "-"))
if (nchar(control_file) > 80) {
  tag_path <- tempfile()
  writeLines(control_file, tag_path)
  control_file <- substr(unname(tools::md5sum(tag_path)), 1, 12)
  unlink(tag_path)
}
if (!fit_only && !requireNamespace("pcalg", quietly = TRUE)) {
  stop("the baselines GIES and JCI-PC need the pcalg package", call. = FALSE)
}
fit_dir <- file.path(out_dir, "fits")
baseline_dir <- file.path(out_dir, "baselines")
dir.create(fit_dir, recursive = TRUE, showWarnings = FALSE)
dir.create(baseline_dir, recursive = TRUE, showWarnings = FALSE)
splits <- c(in_distribution = "train", partly_ood = "test_partly_ood",
            fully_ood = "test_fully_ood")
# Every prediction has as many cells as the observational sample (800), which
# is what the baselines predict with: the sample size does not favour anyone.
n_predicted <- 800L

elapsed <- function(expr) {
  t0 <- proc.time()[["elapsed"]]
  force(expr)
  proc.time()[["elapsed"]] - t0
}

# Cells of a sample matrix split by their "context" attribute (or a label
# vector), as the named list gim_evaluate() takes.
by_context <- function(x, context = attr(x, "context")) {
  keep <- unique(context)
  out <- lapply(keep, function(k) unclass(x)[context == k, , drop = FALSE])
  stats::setNames(out, keep)
}

# Warnings of the metrics (e.g. a KDE bandwidth regularised) are counted and
# summarised at the end instead of interleaving with the progress lines.
metric_warnings <- character(0)
quietly <- function(expr) {
  withCallingHandlers(expr, warning = function(w) {
    metric_warnings <<- c(metric_warnings, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
}
no_cycle_warning <- function(expr) {
  withCallingHandlers(expr, perturbgim_cyclic_graph = function(w) {
    invokeRestart("muffleWarning")
  })
}

setting_label <- function(s) paste(s$graph, s$mechanism, s$intervention, sep = "/")

# The GIM fit of one data set: read from <out>/fits/ when a finished one is
# there, resumed from its checkpoint when one is, fitted otherwise. The
# training time is the trace's (summed over resumed runs).
fit_stem <- function(s, seed) {
  file.path(fit_dir, sprintf("gim_%s_%s_%s_seed%d_steps%d%s", s$graph, s$mechanism,
                             s$intervention, seed, steps,
                             if (nzchar(control_file)) paste0("_", control_file) else ""))
}
gim_for <- function(tr, s, seed) {
  stem <- fit_stem(s, seed)
  done <- paste0(stem, ".rds")
  checkpoint <- paste0(stem, "_checkpoint.rds")
  same_control <- function(fit) {
    a <- unclass(fit$control)
    b <- unclass(control)
    a$n_threads <- b$n_threads <- NULL
    # Settings added to gim_control() after the fit was made count as
    # theirs when they are at their default (the engine reads a missing one
    # as the default).
    added <- setdiff(names(b), names(a))
    defaults <- unclass(gim_control())
    same_as_default <- vapply(added, function(nm) identical(b[[nm]], defaults[[nm]]), logical(1))
    b[added[same_as_default]] <- NULL
    isTRUE(all.equal(a[sort(names(a))], b[sort(names(b))]))
  }
  stale <- function(path) {
    stop(sprintf(paste("%s was fitted with other gim_control() settings than asked for now;",
                       "remove it or choose another PERTURBGIM_BENCH_OUT"), path), call. = FALSE)
  }
  if (file.exists(done)) {
    fit <- readRDS(done)
    if (!same_control(fit)) stale(done)
    return(fit)
  }
  init <- if (file.exists(checkpoint)) readRDS(checkpoint)
  if (!is.null(init)) {
    if (!same_control(init)) stale(checkpoint)
    cat(sprintf("  %-15s seed %d: resuming at step %d\n", setting_label(s), seed,
                init$state$step))
  }
  set.seed(seed)
  fit <- gim_fit(tr$x, tr$context, tr$features, mechanism = s$mechanism,
                 intervention = s$intervention, control = control,
                 verbose = interactive(), init = init, checkpoint = checkpoint)
  if (!isTRUE(fit$state$interrupted)) {
    saveRDS(fit, done)
    unlink(checkpoint)
  }
  fit
}

# Edge-F1 of an estimate with undirected edges (est[i, j] = est[j, i] = 1),
# the paper's appendix D.5 way: each undirected edge takes the true graph's
# direction when the true graph joins the pair, any direction otherwise.
edge_f1_class <- function(truth, est) {
  und <- est == 1 & t(est) == 1
  oriented <- est * !und
  pairs <- which(und & upper.tri(und), arr.ind = TRUE)
  for (r in seq_len(nrow(pairs))) {
    i <- pairs[r, 1]
    j <- pairs[r, 2]
    if (truth[j, i] == 1) oriented[j, i] <- 1 else oriented[i, j] <- 1
  }
  edge_f1(truth, oriented)
}

# GIES (pcalg) on the training cells given each context's true targets.
gies_true_targets <- function(bench) {
  tr <- bench$train
  x <- unclass(tr$x)
  tg <- bench$truth$targets[tr$context, , drop = FALSE]
  key <- apply(tg, 1L, function(r) paste(which(r == 1L), collapse = ","))
  sets <- unique(key)
  targets <- lapply(sets, function(k) {
    if (nzchar(k)) as.integer(strsplit(k, ",", fixed = TRUE)[[1]]) else integer(0)
  })
  score <- methods::new("GaussL0penIntScore", data = x, targets = targets,
                        target.index = match(key, sets))
  res <- pcalg::gies(score)
  labs <- colnames(x)
  ess <- matrix(0L, ncol(x), ncol(x), dimnames = list(labs, labs))
  ess[] <- as(res$essgraph, "matrix") * 1L      # ess[i, j] = 1: i -> j
  dag <- ess
  dag[] <- as(res$repr, "matrix") * 1L
  list(class = ess, dag = dag)
}

# JCI-style PC: genes plus context nodes, contexts exogenous.
jci_pc <- function(bench, alpha, nodes) {
  tr <- bench$train
  x <- unclass(tr$x)
  d <- ncol(x)
  ctx <- tr$context
  z <- switch(nodes,
    perturbation = , context = {
      lab <- if (nodes == "context") ctx else bench$truth$perturbation[ctx]
      lev <- unique(lab[ctx != "observational"])
      z <- vapply(lev, function(l) as.numeric(!is.na(lab) & lab == l), numeric(length(ctx)))
      colnames(z) <- paste0("C_", lev)
      z
    },
    features = {
      f <- tr$features
      z <- matrix(0, length(ctx), ncol(f), dimnames = list(NULL, paste0("C_", colnames(f))))
      pert <- ctx %in% rownames(f)
      z[pert, ] <- f[ctx[pert], , drop = FALSE]
      z
    })
  y <- cbind(x, z)
  p <- ncol(y)
  is_ctx <- seq_len(p) > d
  gaps <- outer(is_ctx, is_ctx, `&`)
  diag(gaps) <- FALSE
  # PC's conditioning sets can grow without bound on dense data (on some
  # scale-free mlp data sets it ran for over 20 minutes): past the time
  # limit JCI-PC is reported as missing for the data set.
  fit <- tryCatch({
    setTimeLimit(elapsed = pc_timeout, transient = TRUE)
    pcalg::pc(list(C = stats::cor(y), n = nrow(y)), pcalg::gaussCItest, alpha = alpha,
              labels = colnames(y), fixedGaps = gaps)
  }, error = function(e) {
    if (!grepl("time limit", conditionMessage(e))) stop(e)
    NULL
  })
  setTimeLimit(elapsed = Inf)
  if (is.null(fit)) return(NULL)
  g <- as(fit@graph, "matrix") * 1L               # g[i, j] = 1: i -> j (or i - j)
  adj <- g == 1 | t(g) == 1
  g[is_ctx, !is_ctx] <- adj[is_ctx, !is_ctx] * 1L  # context -> gene
  g[!is_ctx, is_ctx] <- 0L
  # Meek's rules after the context orientations; addBgKnowledge() takes the
  # transposed ("amat.cpdag") convention and returns NULL when it fails.
  n_undirected <- function(g) sum(g[!is_ctx, !is_ctx] & t(g[!is_ctx, !is_ctx])) / 2
  undirected_pc <- n_undirected(g)
  closed <- pcalg::addBgKnowledge(t(g), checkInput = FALSE)
  if (!is.null(closed)) g[] <- t(closed)
  genes <- g[!is_ctx, !is_ctx]
  dimnames(genes) <- list(colnames(x), colnames(x))
  ext <- pcalg::pdag2dag(as(genes, "graphNEL"))
  dag <- if (isTRUE(ext$success)) {
    m <- genes
    m[] <- as(ext$graph, "matrix") * 1L
    m
  }
  list(class = genes, dag = dag, context_nodes = sum(is_ctx),
       context_gene_edges = sum(g[is_ctx, !is_ctx]), undirected_pc = undirected_pc,
       meek = !is.null(closed))
}

# Evaluations are saved, so that a protocol can be put together from several
# processes (one setting or seed each) and run again cheaply:
#   * the baselines of a data set (GIES, JCI-PC, the MLP and observational
#     predictions and their metrics) under <out>/baselines/: they do not
#     depend on the GIM, so every gim_control() compared reuses them;
#   * the GIM's evaluation beside its fit (<stem>_eval.rds).
# A saved value is used only when its key matches: the data's checksum and
# JCI-PC's settings for the baselines, and also the fit file's checksum for
# the GIM, so a refitted model is evaluated afresh.
md5_of <- function(object) {
  path <- tempfile()
  on.exit(unlink(path))
  saveRDS(object, path, compress = FALSE)
  unname(tools::md5sum(path))
}
cached <- function(path, key, compute) {
  if (file.exists(path)) {
    hit <- readRDS(path)
    if (identical(hit$key, key)) {
      metric_warnings <<- c(metric_warnings, hit$warnings)
      return(hit$value)
    }
  }
  before <- length(metric_warnings)
  value <- compute()
  saveRDS(list(key = key, value = value,
               warnings = utils::tail(metric_warnings, length(metric_warnings) - before)),
          path)
  value
}

# Per-context metrics of one model's predictions on the three test splits;
# with `fit`, also the Target-F1 of its called targets (p > 0.5).
split_metrics <- function(model, method, bench, seed, n = NULL, fit = NULL) {
  set.seed(seed)
  rows <- list()
  t_pred <- 0
  t_metric <- c(w2 = 0, mean_distance = 0, kde_nll = 0)
  for (split_name in names(splits)) {
    part <- bench[[splits[[split_name]]]]
    features <- part$features
    perturbed <- part$context %in% rownames(features)
    observed <- by_context(part$x[perturbed, , drop = FALSE], part$context[perturbed])
    t_pred <- t_pred + elapsed(pred <- no_cycle_warning(predict(model, features, n = n)))
    predicted <- by_context(pred)
    ev <- NULL
    for (metric in names(t_metric)) {
      t_metric[[metric]] <- t_metric[[metric]] +
        elapsed(one <- quietly(gim_evaluate(predicted, observed, metrics = metric)))
      ev <- if (is.null(ev)) one else merge(ev, one[c("context", metric)], by = "context",
                                            sort = FALSE)
    }
    ev$target_f1 <- NA_real_
    if (!is.null(fit)) {
      true_targets <- bench$truth$targets[rownames(features), , drop = FALSE]
      est_targets <- (intervention_targets(fit, features) > 0.5) * 1L
      tf1 <- target_f1(true_targets, est_targets, average = "none")
      ev$target_f1 <- unname(tf1[ev$context])
    }
    rows[[length(rows) + 1L]] <- data.frame(
      setting = setting_label(bench$setting), seed = seed, split = split_name, method = method,
      ev[c("context", "n_predicted", "n_observed", "w2", "mean_distance",
           "kde_nll", "target_f1")], stringsAsFactors = FALSE)
  }
  list(contexts = do.call(rbind, rows), predict_s = t_pred, metric_s = t_metric)
}

# GIES, JCI-PC and the MLP and observational baselines of one data set.
baselines_for <- function(bench, seed, data_md5) {
  s <- bench$setting
  path <- file.path(baseline_dir, sprintf("baselines_%s_%s_%s_seed%d.rds", s$graph,
                                          s$mechanism, s$intervention, seed))
  key <- list(data = data_md5, pc_alpha = pc_alpha, jci_nodes = jci_nodes,
              pc_timeout = pc_timeout)
  cached(path, key, function() {
    tr <- bench$train
    gies_s <- elapsed(gies <- gies_true_targets(bench))
    pc_s <- elapsed(jci <- jci_pc(bench, pc_alpha, jci_nodes))
    set.seed(seed)
    mlp_s <- elapsed(mlp <- fit_baseline(tr$x, tr$context, tr$features, "mlp_shift"))
    obs <- fit_baseline(tr$x, tr$context, tr$features, "observational")
    ev <- list(split_metrics(mlp, "mlp_shift", bench, seed),
               split_metrics(obs, "observational", bench, seed))
    list(gies = gies, jci = jci, gies_s = gies_s, pc_s = pc_s, mlp_s = mlp_s,
         contexts = do.call(rbind, lapply(ev, `[[`, "contexts")))
  })
}

run_setting <- function(s, seed) {
  set.seed(seed)
  bench <- simulate_gim_benchmark(s$graph, s$mechanism, s$intervention)
  bench$setting <- s
  fit <- gim_for(bench$train, s, seed)
  if (isTRUE(fit$state$interrupted)) {
    cat(sprintf("  %-15s seed %d: interrupted at step %d; run again to resume\n",
                setting_label(s), seed, fit$state$step))
    quit(save = "no", status = 130)
  }
  if (fit_only) {
    cat(sprintf("  %-15s seed %d: GIM fit %.0f s (%d steps)\n", setting_label(s), seed,
                max(fit$trace$seconds), steps))
    return(NULL)
  }
  data_md5 <- md5_of(bench$train$x)
  base <- baselines_for(bench, seed, data_md5)
  fit_file <- paste0(fit_stem(s, seed), ".rds")
  key <- list(data = data_md5, fit = unname(tools::md5sum(fit_file)), columns = 2L)
  gim <- cached(paste0(fit_stem(s, seed), "_eval.rds"), key,
                function() evaluate_gim(fit, bench, seed))
  graph <- cbind(gim$graph, baseline_columns(bench, base))
  cat(sprintf(paste0("  %-15s seed %d: GIM fit %.0f s (%d steps), GIES %.1f s, JCI-PC %.1f s, ",
                     "MLP %.1f s; Edge-F1 GIM %.2f / GIES %.2f / JCI-PC %.2f; ",
                     "held-out LL GIM %.2f, true SCM %.2f\n"),
              setting_label(s), seed, graph$gim_fit_s, steps, base$gies_s, base$pc_s,
              base$mlp_s, graph$gim_edge_f1, graph$gies_edge_f1, graph$jci_edge_f1,
              graph$ll_heldout_gim, graph$ll_heldout_true))
  list(graph = graph, contexts = rbind(gim$contexts, base$contexts))
}

# The graph-table columns of the baselines.
baseline_columns <- function(bench, base) {
  truth <- bench$truth$scm$graph
  gies <- base$gies
  jci <- if (!is.null(base$jci)) base$jci else list(class = matrix(NA_integer_, nrow(truth), ncol(truth)),
    undirected_pc = NA_real_, meek = NA, context_nodes = NA_integer_,
    context_gene_edges = NA_integer_)
  sid_or_na <- function(g) if (is.null(g)) NA_integer_ else sid(truth, g)
  f1_or_na <- function(g) if (is.null(g)) NA_real_ else edge_f1(truth, g)
  data.frame(
    gies_edge_f1 = edge_f1_class(truth, gies$class), gies_edge_f1_dag = edge_f1(truth, gies$dag),
    gies_sid = sid(truth, gies$dag), gies_edges = sum(gies$dag),
    gies_undirected = sum(gies$class & t(gies$class)) / 2,
    jci_edge_f1 = if (anyNA(jci$class)) NA_real_ else edge_f1_class(truth, jci$class), jci_edge_f1_dag = f1_or_na(jci$dag),
    jci_sid = sid_or_na(jci$dag), jci_edges = sum(jci$class | t(jci$class)) / 2,
    jci_undirected = sum(jci$class & t(jci$class)) / 2, jci_undirected_pc = jci$undirected_pc,
    jci_meek = jci$meek,
    jci_context_nodes = jci$context_nodes, jci_context_gene_edges = jci$context_gene_edges,
    gies_s = round(base$gies_s, 2), jci_pc_s = round(base$pc_s, 2),
    mlp_fit_s = round(base$mlp_s, 2), stringsAsFactors = FALSE)
}

# The GIM's graph-table row and per-context metrics on one data set.
evaluate_gim <- function(fit, bench, seed) {
  s <- bench$setting
  tr <- bench$train
  truth <- bench$truth$scm$graph

  # Held-out log-likelihood per cell: GIM's last trace value and the true
  # SCM's on the same cells.
  held <- fit$state$heldout_cells
  ll_true <- mean(true_loglik(bench$truth, tr$x[held, , drop = FALSE], tr$context[held]))
  ll_gim <- asNamespace("perturbgim")$final_heldout(fit)  # after polishing, if it ran
  ll_point <- point_heldout_loglik(fit, bench)

  # Cycles in G* are broken (with a warning) each time the graph is used,
  # also inside predict(): count them once here, in the graph table.
  dropped <- 0L
  est <- withCallingHandlers(causal_graph(fit), perturbgim_cyclic_graph = function(w) {
    dropped <<- nrow(w$dropped)
    invokeRestart("muffleWarning")
  })

  # Observational distribution of the fitted model against the observed one.
  obs_cells <- tr$x[tr$context == "observational", , drop = FALSE]
  set.seed(seed)
  pred_obs <- no_cycle_warning(predict(fit, NULL, n = 2000L))
  obs_gap <- abs(colMeans(unclass(pred_obs)) - colMeans(obs_cells)) /
    apply(obs_cells, 2, stats::sd)

  ev <- split_metrics(fit, "gim", bench, seed, n = n_predicted, fit = fit)
  graph <- data.frame(
    setting = setting_label(s), graph = s$graph, mechanism = s$mechanism,
    intervention = s$intervention, seed = seed, steps = steps, control = control_label,
    true_edges = sum(truth),
    gim_edge_f1 = edge_f1(truth, est), gim_sid = sid(truth, est), gim_edges = sum(est),
    gim_cycle_edges_dropped = dropped,
    ll_heldout_gim = ll_gim, ll_heldout_point = ll_point, ll_heldout_true = ll_true,
    heldout_cells = length(held),
    obs_gap_max_sd = max(obs_gap), obs_gap_gene = names(which.max(obs_gap)),
    gim_fit_s = round(max(fit$trace$seconds), 1), gim_predict_s = round(ev$predict_s, 1),
    gim_w2_s = round(ev$metric_s[["w2"]], 1),
    gim_mean_distance_s = round(ev$metric_s[["mean_distance"]], 1),
    gim_kde_nll_s = round(ev$metric_s[["kde_nll"]], 1), stringsAsFactors = FALSE)
  list(graph = graph, contexts = ev$contexts)
}

cat(sprintf("perturbgim %s, pcalg %s, %s; %d GIM steps, seeds %s, %d threads\n",
            utils::packageVersion("perturbgim"),
            if (requireNamespace("pcalg", quietly = TRUE)) utils::packageVersion("pcalg") else "-",
            R.version.string, steps, paste(seeds, collapse = ","), threads))
cat(sprintf("settings: %s\n", paste(setting_label(settings), collapse = ", ")))
cat(sprintf("gim_control() beyond its defaults: %s\n",
            if (nzchar(control_label)) control_label else "none"))
cat(sprintf("JCI-PC: alpha %g, context nodes: %s\n", pc_alpha, jci_nodes))
results <- list()
for (i in seq_len(nrow(settings))) {
  for (seed in seeds) {
    results[[length(results) + 1L]] <- run_setting(settings[i, ], seed)
  }
}
if (fit_only) quit(save = "no")
graphs <- do.call(rbind, lapply(results, `[[`, "graph"))
contexts <- do.call(rbind, lapply(results, `[[`, "contexts"))
rownames(contexts) <- NULL

dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)
contexts_csv <- file.path(out_dir, "paper_synthetic_contexts.csv")
graphs_csv <- file.path(out_dir, "paper_synthetic_graphs.csv")
utils::write.csv(contexts, contexts_csv, row.names = FALSE)
utils::write.csv(graphs, graphs_csv, row.names = FALSE)

# ---- Per-setting summary ---------------------------------------------------
labels <- setting_label(settings)
med <- function(v) if (all(is.na(v))) NA_real_ else stats::median(v, na.rm = TRUE)
# Median over contexts within each data set ...
per_seed <- stats::aggregate(
  cbind(w2, mean_distance, kde_nll, target_f1) ~ setting + seed + split + method,
  data = contexts, FUN = med, na.action = stats::na.pass)
# ... then over data sets.
per_setting <- stats::aggregate(
  cbind(w2, mean_distance, kde_nll, target_f1) ~ setting + split + method,
  data = per_seed, FUN = med, na.action = stats::na.pass)
seed_value <- function(setting, seed, split, method, column) {
  per_seed[[column]][per_seed$setting == setting & per_seed$seed == seed &
                       per_seed$split == split & per_seed$method == method]
}
setting_value <- function(setting, split, method, column) {
  v <- per_setting[[column]][per_setting$setting == setting & per_setting$split == split &
                               per_setting$method == method]
  if (length(v)) v else NA_real_
}
graph_median <- function(setting, column) med(graphs[[column]][graphs$setting == setting])

methods_shown <- c(gim = "GIM", gies = "GIES (true targets)", jci = "JCI-PC",
                   mlp_shift = "MLP", observational = "observational", true = "true SCM")
summary_rows <- list()
for (lab in labels) {
  for (m in names(methods_shown)) {
    graph_col <- function(what) {
      col <- paste0(m, "_", what)
      if (col %in% names(graphs)) graph_median(lab, col) else NA_real_
    }
    ll <- switch(m, gim = graph_median(lab, "ll_heldout_gim"),
                 true = graph_median(lab, "ll_heldout_true"), NA_real_)
    ll_point <- switch(m, gim = graph_median(lab, "ll_heldout_point"),
                       true = graph_median(lab, "ll_heldout_true"), NA_real_)
    pred <- function(split, column) {
      if (m %in% c("gim", "mlp_shift", "observational")) setting_value(lab, split, m, column) else NA_real_
    }
    summary_rows[[length(summary_rows) + 1L]] <- data.frame(
      setting = lab, method = methods_shown[[m]],
      Edge_F1 = round(graph_col("edge_f1"), 2), SID = graph_col("sid"),
      edges = graph_col("edges"), LL_heldout = round(ll, 2), LL_point = round(ll_point, 2),
      TF1_in = round(pred("in_distribution", "target_f1"), 2),
      TF1_partly = round(pred("partly_ood", "target_f1"), 2),
      TF1_fully = round(pred("fully_ood", "target_f1"), 2),
      W2_in = round(pred("in_distribution", "w2"), 3),
      W2_partly = round(pred("partly_ood", "w2"), 3),
      W2_fully = round(pred("fully_ood", "w2"), 3),
      stringsAsFactors = FALSE)
  }
}
summary_table <- do.call(rbind, summary_rows)
cat(sprintf("\nPer setting: medians over contexts, then over %d data set%s (seeds %s); GIM with %s steps%s.\n",
            length(seeds), if (length(seeds) > 1L) "s" else "", paste(seeds, collapse = ","),
            format(steps, big.mark = ","),
            if (nzchar(control_label)) paste0(" and ", control_label) else ""))
cat(paste("Edge-F1/SID: GIM's point-estimate graph; GIES's essential graph (SID: its DAG);",
          "JCI-PC's gene-gene CPDAG (SID: a DAG extension).\nUndirected edges count as right",
          "when the true graph joins the pair. LL_heldout: per held-out training cell",
          "(GIM: the trace's Monte Carlo score; LL_point: at its point estimate).",
          "TF1: Target-F1 (probability > 0.5).\n\n"))
print(summary_table, row.names = FALSE, right = FALSE, na.print = "")

distances <- per_setting[order(match(per_setting$setting, labels),
                               match(per_setting$split, names(splits)),
                               match(per_setting$method, c("gim", "mlp_shift", "observational"))), ]
cat("\nMean distance and KDE-NLL (medians over contexts, then over seeds):\n\n")
print(data.frame(setting = distances$setting, split = distances$split, method = distances$method,
                 W2 = round(distances$w2, 3), mean_distance = round(distances$mean_distance, 3),
                 KDE_NLL = round(distances$kde_nll, 2)),
      row.names = FALSE, right = FALSE)

# ---- The goals of issue 14 -------------------------------------------------
# margin: how far the value is on the good side of the target (negative:
# missed by that much).
goal_rows <- list()
add_goal <- function(goal, setting, value, target, direction = c(">=", "<=")) {
  direction <- match.arg(direction)
  margin <- if (direction == ">=") value - target else target - value
  goal_rows[[length(goal_rows) + 1L]] <<- data.frame(
    setting = setting, goal = goal, value = round(value, 3),
    target = paste(direction, format(target)),
    status = if (is.na(margin)) "NA" else if (margin >= 0) "PASS" else "MISS",
    margin = round(margin, 3), stringsAsFactors = FALSE)
}
for (i in seq_len(nrow(settings))) {
  s <- settings[i, ]
  lab <- labels[i]
  gr <- graphs[graphs$setting == lab, ]
  add_goal("held-out LL per cell: true SCM - GIM", lab,
           med(gr$ll_heldout_true - gr$ll_heldout_gim), 0.3, "<=")
  add_goal("held-out LL per cell: true SCM - GIM point estimate", lab,
           med(gr$ll_heldout_true - gr$ll_heldout_point), 0.3, "<=")
  add_goal("Edge-F1", lab, med(gr$gim_edge_f1), if (s$mechanism == "mlp") 0.7 else 0.6)
  add_goal("Edge-F1, worst fit", lab, min(gr$gim_edge_f1), 0.5)
  add_goal("Edge-F1: GIM - JCI-PC", lab, med(gr$gim_edge_f1 - gr$jci_edge_f1), 0.2)
  if (s$mechanism == "mlp") {
    add_goal("Edge-F1: GIM - GIES (true targets)", lab, med(gr$gim_edge_f1 - gr$gies_edge_f1), 0.2)
  }
  add_goal("Target-F1 in distribution", lab, setting_value(lab, "in_distribution", "gim", "target_f1"), 0.9)
  add_goal("Target-F1 partly OOD", lab, setting_value(lab, "partly_ood", "gim", "target_f1"), 0.85)
  add_goal("Target-F1 fully OOD", lab, setting_value(lab, "fully_ood", "gim", "target_f1"), 0.6)
  add_goal("observational means: worst gene |gap| / sd", lab, med(gr$obs_gap_max_sd), 0.3, "<=")
  ratio <- vapply(gr$seed, function(sd) {
    seed_value(lab, sd, "in_distribution", "gim", "w2") /
      seed_value(lab, sd, "in_distribution", "mlp_shift", "w2")
  }, numeric(1))
  add_goal("W2 in distribution: GIM / MLP", lab, med(ratio), 1.2, "<=")
  for (split in c("partly_ood", "fully_ood")) {
    share <- vapply(gr$seed, function(sd) {
      part <- contexts[contexts$setting == lab & contexts$seed == sd & contexts$split == split, ]
      g <- part[part$method == "gim", ]
      o <- part[part$method == "observational", ]
      mean(g$w2 < o$w2[match(g$context, o$context)])
    }, numeric(1))
    add_goal(sprintf("share of %s contexts with W2 < observational's", sub("_", " ", split)), lab,
             med(share), if (split == "partly_ood") 0.95 else 0.8)
  }
  diff <- vapply(gr$seed, function(sd) {
    seed_value(lab, sd, "fully_ood", "gim", "w2") - seed_value(lab, sd, "fully_ood", "mlp_shift", "w2")
  }, numeric(1))
  add_goal("median W2 fully OOD: GIM - MLP", lab, med(diff), 0, "<=")
}
goals <- do.call(rbind, goal_rows)
cat("\nGoals of issue 14, medians over seeds (margin: how far the value is on the good side of the target; negative: missed by that much):\n\n")
print(goals, row.names = FALSE, right = FALSE)
tally <- table(factor(goals$status, levels = c("PASS", "MISS", "NA")))
cat(sprintf("\n%d PASS, %d MISS%s of %d goals.\n", tally[["PASS"]], tally[["MISS"]],
            if (tally[["NA"]]) sprintf(", %d NA", tally[["NA"]]) else "", nrow(goals)))
if (steps < gim_control()$steps) {
  cat(sprintf("Note: %s GIM steps, not the protocol's %s; the goals apply to full runs.\n",
              format(steps, big.mark = ","), format(gim_control()$steps, big.mark = ",")))
}

cat(paste("\nSeconds per data set (GIM: training time from its trace, then its predictions",
          "and metrics on the 3 splits; saved evaluations keep the times of the run that made them):\n\n"))
print(graphs[c("setting", "seed", "gim_fit_s", "gim_predict_s", "gim_w2_s", "gim_mean_distance_s",
               "gim_kde_nll_s", "gies_s", "jci_pc_s", "mlp_fit_s")], row.names = FALSE, right = FALSE)

if (length(metric_warnings)) {
  # One line per kind of warning: a warning of gim_evaluate() lists its
  # contexts as "! <contexts>: <message>" items; counted per context, with the
  # contexts and the marginal error elided.
  items <- unlist(strsplit(metric_warnings, "\n! ", fixed = TRUE))
  items <- items[!grepl("^Some metrics warned", items)]
  items <- gsub("\\s+", " ", items)
  lead <- regexpr("^(\"[^\"]*\"(, and |, | and )?)+: ", items)
  prefix <- ifelse(lead > 0, substr(items, 1, lead + attr(lead, "match.length") - 1), "")
  n_ctx <- pmax(1L, lengths(regmatches(prefix, gregexpr("\"[^\"]*\"", prefix))))
  kinds <- ifelse(lead > 0, substring(items, lead + attr(lead, "match.length")), items)
  kinds <- gsub("Marginal error [-+.0-9e]+", "Marginal error <x>", kinds)
  tab <- sort(tapply(n_ctx, kinds, sum), decreasing = TRUE)
  cat(sprintf("\n%d metric warning%s (one per context and metric evaluation), by message:\n",
              sum(tab), if (sum(tab) > 1) "s" else ""))
  cat(sprintf("  %dx %s", as.integer(tab), substr(names(tab), 1, 240)), sep = "\n")
}
goals_csv <- file.path(out_dir, "paper_synthetic_goals.csv")
summary_csv <- file.path(out_dir, "paper_synthetic_summary.csv")
utils::write.csv(goals, goals_csv, row.names = FALSE)
utils::write.csv(summary_table, summary_csv, row.names = FALSE)
cat(sprintf("\nPer-context table: %s\nPer-data-set graphs, likelihoods, times: %s\nSummary: %s\nGoals: %s\n",
            contexts_csv, graphs_csv, summary_csv, goals_csv))
