# The synthetic protocol of Schneider et al. (2025, section 5 and appendix
# D.1): GIM fitted on simulate_gim_benchmark() data (ER graphs, linear and mlp
# mechanisms, hard interventions), beside the observational prediction and the
# MLP mean-shift baseline (appendix D.5). Prints, per setting, medians of SID,
# Edge-F1, Target-F1, W2, mean distance and KDE-NLL in distribution (the
# training contexts), partly out of distribution (new dosages) and fully out
# of distribution (new perturbations), then the issue's goals with PASS/MISS.
#
# Every metric is first a median over the contexts of one data set (as in the
# paper's figures), then a median over the data sets (seeds).
#
#   Rscript bench/paper_synthetic.R                       # the full protocol
#   PERTURBGIM_BENCH_STEPS=200 PERTURBGIM_BENCH_SEEDS=1 Rscript bench/paper_synthetic.R
# Environment:
#   PERTURBGIM_BENCH_SEEDS       data set seeds, e.g. "1,2,3" (default) or "1:5"
#   PERTURBGIM_BENCH_STEPS       GIM training steps (default: gim_control()'s, 30,000)
#   PERTURBGIM_BENCH_MECHANISMS  "linear,mlp" (default) or one of them
#   PERTURBGIM_BENCH_OUT         directory for the CSV tables and the fits (default "bench-results")
#   PERTURBGIM_BENCH_THREADS     threads per GIM fit (default: gim_control()'s)
#   PERTURBGIM_BENCH_FIT_ONLY    "1": only fit (and save) the GIM models, no evaluation
#
# GIM fits are saved under <out>/fits/ and checkpointed every 1,000 steps, so
# an interrupted run continues where it stopped, and the fits of a long
# protocol can be made by several processes at once (one per mechanism and
# seed, with PERTURBGIM_BENCH_FIT_ONLY=1), then evaluated by one last run.
suppressPackageStartupMessages(library(perturbgim))
options(width = 160)

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

if (!exists("gim_fit", envir = asNamespace("perturbgim"), inherits = FALSE)) {
  stop("this perturbgim has no gim_fit(); install a version with the training engine",
       call. = FALSE)
}
seeds <- env_integers("PERTURBGIM_BENCH_SEEDS", "1,2,3")
steps <- env_integers("PERTURBGIM_BENCH_STEPS", as.character(gim_control()$steps))[1]
mechanisms <- trimws(strsplit(Sys.getenv("PERTURBGIM_BENCH_MECHANISMS", "linear,mlp"),
                              ",", fixed = TRUE)[[1]])
stopifnot(all(mechanisms %in% c("linear", "mlp")))
out_dir <- Sys.getenv("PERTURBGIM_BENCH_OUT", "bench-results")
threads <- env_integers("PERTURBGIM_BENCH_THREADS", as.character(gim_control()$n_threads))[1]
fit_only <- identical(Sys.getenv("PERTURBGIM_BENCH_FIT_ONLY"), "1")
fit_dir <- file.path(out_dir, "fits")
dir.create(fit_dir, recursive = TRUE, showWarnings = FALSE)
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

# The GIM fit of one data set: read from <out>/fits/ when a finished one is
# there, resumed from its checkpoint when one is, fitted otherwise. The
# training time is the trace's (summed over resumed runs).
gim_for <- function(tr, mechanism, seed) {
  stem <- file.path(fit_dir, sprintf("gim_%s_seed%d_steps%d", mechanism, seed, steps))
  done <- paste0(stem, ".rds")
  checkpoint <- paste0(stem, "_checkpoint.rds")
  if (file.exists(done)) return(readRDS(done))
  init <- if (file.exists(checkpoint)) readRDS(checkpoint)
  if (!is.null(init)) {
    cat(sprintf("  %-6s seed %d: resuming at step %d\n", mechanism, seed, init$state$step))
  }
  set.seed(seed)
  fit <- gim_fit(tr$x, tr$context, tr$features, mechanism = mechanism, intervention = "hard",
                 control = gim_control(steps = steps, n_threads = threads),
                 verbose = interactive(), init = init, checkpoint = checkpoint)
  if (!isTRUE(fit$state$interrupted)) {
    saveRDS(fit, done)
    unlink(checkpoint)
  }
  fit
}

run_setting <- function(mechanism, seed) {
  set.seed(seed)
  bench <- simulate_gim_benchmark("er", mechanism, "hard")
  tr <- bench$train
  fit <- gim_for(tr, mechanism, seed)
  fit_s <- max(fit$trace$seconds)
  if (isTRUE(fit$state$interrupted)) {
    cat(sprintf("  %-6s seed %d: interrupted at step %d; run again to resume\n",
                mechanism, seed, fit$state$step))
    quit(save = "no", status = 130)
  }
  if (fit_only) {
    cat(sprintf("  %-6s seed %d: GIM fit %.0f s (%d steps)\n", mechanism, seed, fit_s, steps))
    return(NULL)
  }
  set.seed(seed)
  mlp_s <- elapsed(mlp <- fit_baseline(tr$x, tr$context, tr$features, "mlp_shift"))
  obs <- fit_baseline(tr$x, tr$context, tr$features, "observational")

  # Cycles in G* are broken (with a warning) each time the graph is used,
  # also inside predict(): count them once here, in the graph table.
  dropped <- 0L
  est <- withCallingHandlers(causal_graph(fit), perturbgim_cyclic_graph = function(w) {
    dropped <<- nrow(w$dropped)
    invokeRestart("muffleWarning")
  })
  no_cycle_warning <- function(expr) {
    withCallingHandlers(expr, perturbgim_cyclic_graph = function(w) {
      invokeRestart("muffleWarning")
    })
  }
  truth <- bench$truth$scm$graph
  graph <- data.frame(mechanism = mechanism, seed = seed, steps = steps,
                      sid = sid(truth, est), edge_f1 = edge_f1(truth, est),
                      true_edges = sum(truth), estimated_edges = sum(est),
                      cycle_edges_dropped = dropped, gim_fit_s = round(fit_s, 1),
                      mlp_fit_s = round(mlp_s, 1))

  models <- list(gim = fit, mlp_shift = mlp, observational = obs)
  rows <- list()
  t_eval <- proc.time()[["elapsed"]]
  for (split_name in names(splits)) {
    part <- bench[[splits[[split_name]]]]
    features <- part$features
    perturbed <- part$context %in% rownames(features)
    observed <- by_context(part$x[perturbed, , drop = FALSE], part$context[perturbed])
    true_targets <- bench$truth$targets[rownames(features), , drop = FALSE]
    est_targets <- (intervention_targets(fit, features) > 0.5) * 1L
    tf1 <- target_f1(true_targets, est_targets, average = "none")
    for (method in names(models)) {
      n <- if (method == "gim") n_predicted else NULL
      pred <- no_cycle_warning(predict(models[[method]], features, n = n))
      ev <- quietly(gim_evaluate(by_context(pred), observed,
                                 metrics = c("w2", "mean_distance", "kde_nll")))
      ev$target_f1 <- if (method == "gim") unname(tf1[ev$context]) else NA_real_
      rows[[length(rows) + 1L]] <- data.frame(
        mechanism = mechanism, seed = seed, split = split_name, method = method,
        ev[c("context", "n_predicted", "n_observed", "w2", "mean_distance",
             "kde_nll", "target_f1")], stringsAsFactors = FALSE)
    }
  }
  eval_s <- proc.time()[["elapsed"]] - t_eval
  cat(sprintf("  %-6s seed %d: GIM fit %.0f s (%d steps), MLP fit %.1f s, predictions and metrics %.0f s; SID %d, Edge-F1 %.2f\n",
              mechanism, seed, fit_s, steps, mlp_s, eval_s, graph$sid, graph$edge_f1))
  list(graph = graph, contexts = do.call(rbind, rows))
}

cat(sprintf("perturbgim %s, %s; %d GIM steps, seeds %s, %d threads\n",
            utils::packageVersion("perturbgim"), R.version.string, steps,
            paste(seeds, collapse = ","), threads))
results <- list()
for (mechanism in mechanisms) {
  for (seed in seeds) {
    results[[length(results) + 1L]] <- run_setting(mechanism, seed)
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

# Median over contexts within each data set, then over data sets.
per_seed <- stats::aggregate(
  cbind(w2, mean_distance, kde_nll, target_f1) ~ mechanism + seed + split + method,
  data = contexts, FUN = stats::median, na.action = stats::na.pass)
summary_table <- stats::aggregate(
  cbind(w2, mean_distance, kde_nll, target_f1) ~ mechanism + split + method,
  data = per_seed, FUN = stats::median, na.action = stats::na.pass)
graph_medians <- stats::aggregate(cbind(sid, edge_f1) ~ mechanism, data = graphs,
                                  FUN = stats::median)
summary_table <- merge(summary_table, graph_medians, by = "mechanism")
is_gim <- summary_table$method == "gim"
summary_table$sid[!is_gim] <- NA
summary_table$edge_f1[!is_gim] <- NA
summary_table$split <- factor(summary_table$split, levels = names(splits))
summary_table$method <- factor(summary_table$method,
                               levels = c("gim", "mlp_shift", "observational"))
summary_table <- summary_table[order(summary_table$mechanism, summary_table$split,
                                     summary_table$method), ]
shown <- data.frame(
  setting = paste0("er/", summary_table$mechanism, "/hard"),
  split = summary_table$split, method = summary_table$method,
  SID = summary_table$sid, Edge_F1 = round(summary_table$edge_f1, 2),
  Target_F1 = round(summary_table$target_f1, 2),
  W2 = round(summary_table$w2, 3),
  mean_distance = round(summary_table$mean_distance, 3),
  KDE_NLL = round(summary_table$kde_nll, 2))
cat(sprintf("\nMedians over contexts, then over %d data set%s (seeds %s); GIM with %s steps.\n",
            length(seeds), if (length(seeds) > 1L) "s" else "",
            paste(seeds, collapse = ","), format(steps, big.mark = ",")))
cat("SID and Edge-F1 are of GIM's point-estimate graph; Target-F1 of its targets (probability > 0.5).\n\n")
print(shown, row.names = FALSE, right = FALSE, na.print = "")

# The issue's goals.
goal_rows <- list()
add_goal <- function(goal, setting, value, target, pass, gap) {
  goal_rows[[length(goal_rows) + 1L]] <<- data.frame(
    goal = goal, setting = setting, value = round(value, 3), target = target,
    status = if (isTRUE(pass)) "PASS" else "MISS", margin = round(gap, 3))
}
median_of <- function(mech, split, method, column) {
  row <- summary_table$mechanism == mech & summary_table$split == split &
    summary_table$method == method
  summary_table[[column]][row]
}
if ("mlp" %in% mechanisms) {
  e <- graph_medians$edge_f1[graph_medians$mechanism == "mlp"]
  add_goal("Edge-F1 (nonlinear)", "er/mlp/hard", e, ">= 0.6", e >= 0.6, e - 0.6)
  t <- median_of("mlp", "in_distribution", "gim", "target_f1")
  add_goal("Target-F1 in distribution (nonlinear)", "er/mlp/hard", t, ">= 0.8",
           t >= 0.8, t - 0.8)
}
for (mech in mechanisms) {
  ood <- contexts[contexts$mechanism == mech & contexts$split != "in_distribution", ]
  key <- paste(ood$seed, ood$split, ood$context)
  gim_w2 <- ood$w2[ood$method == "gim"]
  obs_w2 <- ood$w2[ood$method == "observational"][match(key[ood$method == "gim"],
                                                        key[ood$method == "observational"])]
  frac <- mean(gim_w2 < obs_w2)
  add_goal(sprintf("GIM W2 < observational, share of %d OOD contexts", length(gim_w2)),
           paste0("er/", mech, "/hard"), frac, ">= 0.9", frac >= 0.9, frac - 0.9)
  g <- median_of(mech, "fully_ood", "gim", "w2")
  m <- median_of(mech, "fully_ood", "mlp_shift", "w2")
  add_goal("median W2 fully OOD: GIM - MLP", paste0("er/", mech, "/hard"), g - m,
           "<= 0", g <= m, m - g)
}
goals <- do.call(rbind, goal_rows)
cat("\nGoals (margin: how far the value is on the good side of the target; negative: missed by that much):\n\n")
print(goals, row.names = FALSE, right = FALSE)
if (steps < gim_control()$steps) {
  cat(sprintf("\nNote: %s GIM steps, not the protocol's %s; the goals apply to full runs.\n",
              format(steps, big.mark = ","), format(gim_control()$steps, big.mark = ",")))
}
if (length(metric_warnings)) {
  tab <- sort(table(metric_warnings), decreasing = TRUE)
  cat(sprintf("\n%d metric warning%s, by message:\n", length(metric_warnings),
              if (length(metric_warnings) > 1L) "s" else ""))
  cat(sprintf("  %dx %s", as.integer(tab), substr(names(tab), 1, 200)), sep = "\n")
}
cat(sprintf("\nPer-context table: %s\nPer-seed graphs:   %s\n", contexts_csv, graphs_csv))
