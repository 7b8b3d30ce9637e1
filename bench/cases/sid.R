# Structural intervention distance vs the CRAN package SID
# (SID::structIntervDist, pure R, O(d^4)) on the same graphs: random sparse
# DAGs (about 2 edges per node) with DAG estimates at 100 nodes, CPDAG
# estimates at 30 nodes, and perturbgim alone at 1000 nodes, where SID would
# need about 10^4 times its 100-node time.
run_case <- function() {
  random_dag <- function(p, edges_per_node, order = sample.int(p)) {
    g <- matrix(0L, p, p)
    g[upper.tri(g)] <- stats::rbinom(p * (p - 1) / 2, 1, 2 * edges_per_node / (p - 1))
    g[order, order]
  }
  # An estimate that resembles the truth: same causal order, 70% of the true
  # edges kept, about half a spurious edge per node.
  near_estimate <- function(true, order) {
    p <- nrow(true)
    est <- (true * stats::rbinom(p * p, 1, 0.7)) | random_dag(p, 0.5, order)
    est * 1L
  }
  sid_ref <- function(true, est) {
    utils::capture.output(ref <- SID::structIntervDist(true, est))
    c(as.integer(ref$sid), as.integer(ref$sidLowerBound), as.integer(ref$sidUpperBound))
  }
  ours_all <- function(true, est) {
    c(perturbgim::sid(true, est), perturbgim::sid_bounds(true, est))
  }
  # Calls that take well under a millisecond are timed in batches.
  batch_seconds <- function(f, n = 50L) {
    median_seconds(for (r in seq_len(n)) f(), reps = 5) / n
  }
  # Times `timed(true, est)` and SID on each pair, and checks that sid and
  # both bounds are equal.
  compare_pairs <- function(pairs, timed) {
    t_ours <- t_ref <- numeric(length(pairs))
    equal <- logical(length(pairs))
    for (k in seq_along(pairs)) {
      g <- pairs[[k]]
      t_ours[k] <- batch_seconds(function() timed(g$true, g$est))
      t0 <- proc.time()[["elapsed"]]
      ref <- sid_ref(g$true, g$est)
      t_ref[k] <- proc.time()[["elapsed"]] - t0
      equal[k] <- identical(unname(suppressMessages(ours_all(g$true, g$est))), ref)
    }
    list(t_ours = t_ours, t_ref = t_ref, equal = equal)
  }
  rows <- list()

  # 100 nodes, DAG estimates: one near the truth, one unrelated, per pair.
  set.seed(2015)
  p <- 100L
  pairs <- lapply(1:4, function(k) {
    order <- sample.int(p)
    true <- random_dag(p, 2, order)
    est <- if (k %% 2 == 1) near_estimate(true, order) else random_dag(p, 2)
    list(true = true, est = est)
  })
  res <- compare_pairs(pairs, perturbgim::sid)
  sid_100_seconds <- stats::median(res$t_ref)
  rows[[1]] <- bench_row(
    "sid", sprintf("%d nodes, ~2 edges/node, DAG est. (%d pairs)", p, length(pairs)),
    stats::median(res$t_ours), "SID::structIntervDist", stats::median(res$t_ref),
    sprintf("sid equal on %d/%d pairs", sum(res$equal), length(res$equal))
  )

  # 30 nodes, CPDAG estimates (pcalg's, via SID's helper): sid and both bounds.
  set.seed(2016)
  p <- 30L
  pairs <- lapply(1:4, function(k) {
    true <- random_dag(p, 1.5)
    cp <- SID:::dag2cpdagAdj(random_dag(p, 1.5))
    cp[is.na(cp)] <- 0
    list(true = true, est = cp * 1L)
  })
  res <- compare_pairs(pairs, function(true, est) suppressMessages(ours_all(true, est)))
  rows[[2]] <- bench_row(
    "sid + sid_bounds", sprintf("%d nodes, CPDAG est. (%d pairs)", p, length(pairs)),
    stats::median(res$t_ours), "SID::structIntervDist", stats::median(res$t_ref),
    sprintf("sid, lower, upper equal on %d/%d pairs", sum(res$equal), length(res$equal))
  )

  # 1000 nodes: perturbgim only. SID's closures are 2000 x 2000 matrix powers
  # per node; from its 100-node time, hours per pair.
  set.seed(2017)
  p <- 1000L
  pairs <- lapply(1:3, function(k) {
    order <- sample.int(p)
    true <- random_dag(p, 2, order)
    list(true = true, est = near_estimate(true, order))
  })
  t_ours <- vapply(pairs, function(g) {
    median_seconds(perturbgim::sid(g$true, g$est), reps = 5)
  }, numeric(1))
  one_thread <- vapply(pairs, function(g) perturbgim::sid(g$true, g$est, n_threads = 1), 1L)
  two_threads <- vapply(pairs, function(g) perturbgim::sid(g$true, g$est, n_threads = 2), 1L)
  rows[[3]] <- bench_row(
    "sid", sprintf("%d nodes, ~2 edges/node, DAG est. (%d pairs)", p, length(pairs)),
    stats::median(t_ours), "none (SID not run)", NA_real_,
    sprintf("SID ~%.0f h (d^4 from 100 nodes); 1 vs 2 threads %s",
            sid_100_seconds * 10^4 / 3600,
            if (identical(one_thread, two_threads)) "identical" else "DIFFER")
  )
  do.call(rbind, rows)
}
