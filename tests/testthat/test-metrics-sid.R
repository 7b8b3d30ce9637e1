# Helpers ---------------------------------------------------------------------

# A random DAG on p nodes: each pair joined with probability `prob`, in a
# random causal order (or the one given).
random_dag <- function(p, prob, order = sample.int(p)) {
  g <- matrix(0L, p, p)
  g[upper.tri(g)] <- stats::rbinom(p * (p - 1) / 2, 1, prob)
  g[order, order]
}

# The CPDAG (essential graph) of a DAG: keep the v-structures, make every other
# edge undirected, then apply Meek's rules 1-3 until nothing changes. (Checked
# against pcalg::dag2cpdag during development; written out here so that the
# tests need no more than SID.)
cpdag_of <- function(g) {
  p <- nrow(g)
  adj <- (g + t(g)) > 0
  cp <- adj * 1L
  for (c in seq_len(p)) {
    pa <- which(g[, c] == 1)
    for (a in pa) for (b in pa) {
      if (a < b && !adj[a, b]) cp[c, a] <- cp[c, b] <- 0L
    }
  }
  directed <- function(a, b) cp[a, b] == 1 && cp[b, a] == 0
  undirected <- function(a, b) cp[a, b] == 1 && cp[b, a] == 1
  repeat {
    changed <- FALSE
    for (a in seq_len(p)) for (b in seq_len(p)) {
      if (a == b || !undirected(a, b)) next
      others <- setdiff(seq_len(p), c(a, b))
      # R1: c -> a - b, c and b not adjacent => a -> b
      r1 <- any(vapply(others, function(c) directed(c, a) && !adj[c, b], TRUE))
      # R2: a -> c -> b and a - b => a -> b
      r2 <- any(vapply(others, function(c) directed(a, c) && directed(c, b), TRUE))
      # R3: a - c -> b, a - e -> b, c and e not adjacent => a -> b
      mids <- others[vapply(others, function(c) undirected(a, c) && directed(c, b), TRUE)]
      r3 <- length(mids) > 1 && {
        pairs <- utils::combn(mids, 2)
        any(!adj[cbind(pairs[1, ], pairs[2, ])])
      }
      if (r1 || r2 || r3) {
        cp[b, a] <- 0L
        changed <- TRUE
      }
    }
    if (!changed) break
  }
  cp
}

undirect <- function(e, a, b) {
  e[a, b] <- 1L
  e[b, a] <- 1L
  e
}

# sid, lower, upper of perturbgim (local-expansion notes silenced).
sid_all <- function(true, est, ...) {
  suppressMessages(c(sid = sid(true, est, ...), sid_bounds(true, est, ...)))
}

# The same three numbers from the SID package (it prints notes on stdout).
sid_ref <- function(true, est) {
  utils::capture.output(ref <- SID::structIntervDist(true, est))
  c(sid = as.integer(ref$sid), lower = as.integer(ref$sidLowerBound),
    upper = as.integer(ref$sidUpperBound))
}

decode_graph <- function(d, idx) {
  g <- matrix(0L, d, d)
  g[idx] <- 1L
  g
}

# Examples of ?SID::structIntervDist
doc_G <- rbind(c(0, 1, 1, 1, 1), c(0, 0, 1, 1, 1), c(0, 0, 0, 0, 0),
               c(0, 0, 0, 0, 0), c(0, 0, 0, 0, 0))
doc_H1 <- rbind(c(0, 1, 1, 1, 1), c(0, 0, 1, 1, 1), c(0, 0, 0, 1, 0),
                c(0, 0, 0, 0, 0), c(0, 0, 0, 0, 0))
doc_H2 <- rbind(c(0, 0, 1, 1, 1), c(1, 0, 1, 1, 1), c(0, 0, 0, 0, 0),
                c(0, 0, 0, 0, 0), c(0, 0, 0, 0, 0))
doc_H1c <- rbind(c(0, 1, 1, 1, 1), c(1, 0, 1, 1, 1), c(1, 1, 0, 1, 0),
                 c(1, 1, 1, 0, 0), c(1, 1, 0, 0, 0))

# Values --------------------------------------------------------------------

test_that("sid is right on a chain checked by hand", {
  # true: 1 -> 2 -> 3; est: no edges, so every adjustment set is empty.
  # do(1): empty set = true parents, all right. do(2): effect on 1 is zero,
  # but the open path 2 <- 1 makes the unadjusted estimate wrong; effect on 3
  # is right (no back-door path). do(3): 3 <- 2 and 3 <- 2 <- 1 are open, so
  # the pairs (3, 1) and (3, 2) are wrong. SID = 3.
  true <- matrix(0, 3, 3)
  true[1, 2] <- true[2, 3] <- 1
  expect_identical(sid(true, matrix(0, 3, 3)), 3L)
  expect_identical(sid(true, true), 0L)
  # est: 3 -> 2 -> 1. do(1): est says "no effect" on its parent 2, which
  # descends from 1, and adjusts for 2, a node on the causal path 1 -> 2 -> 3:
  # both pairs wrong. do(2): "no effect" on 3 is wrong, and adjusting for 3
  # leaves 2 <- 1 open: both wrong. do(3): as for the empty estimate, 2 more.
  # SID = 6 = d (d - 1).
  expect_identical(sid(true, t(true)), 6L)
  expect_identical(sid(matrix(0, 1, 1), matrix(0, 1, 1)), 0L)
})

test_that("sid reproduces the examples of SID's documentation", {
  expect_identical(sid(doc_G, doc_H1), 0L)
  expect_identical(sid(doc_G, doc_H2), 8L)
  expect_identical(sid(doc_G, doc_H1c), 20L)
  expect_identical(sid_bounds(doc_G, doc_H1c), c(lower = 0L, upper = 15L))
  skip_if_not_installed("SID")
  for (est in list(doc_H1, doc_H2, doc_H1c)) {
    expect_identical(sid_all(doc_G, est), sid_ref(doc_G, est))
  }
})

test_that("sid agrees with the stored SID reference on every fixture case", {
  fixture <- readRDS(test_path("fixtures", "sid-reference.rds"))
  kinds <- vapply(fixture$cases, `[[`, "", "kind")
  expect_gte(sum(kinds == "dag"), 200)
  expect_gte(sum(kinds == "cpdag"), 50)
  for (cs in fixture$cases) {
    true <- decode_graph(cs$d, cs$true)
    est <- decode_graph(cs$d, cs$est)
    expect_identical(
      sid_all(true, est), c(sid = cs$sid, lower = cs$lower, upper = cs$upper),
      label = sprintf("%s case (%s, d = %d)", cs$kind, cs$note, cs$d)
    )
  }
})

test_that("sid agrees with SID::structIntervDist on random DAG pairs", {
  skip_if_not_installed("SID")
  set.seed(101)
  variants <- c("true", "empty", "complete", "reversed", "same order", "random")
  for (r in 1:204) {
    p <- sample(2:40, 1)
    order <- sample.int(p)
    true <- random_dag(p, stats::runif(1, 0, 0.6), order)
    v <- variants[(r - 1) %% length(variants) + 1]
    est <- switch(v,
      "true" = true,
      "empty" = matrix(0L, p, p),
      "complete" = random_dag(p, 1),
      "reversed" = t(true),
      "same order" = (true * stats::rbinom(p * p, 1, 0.7)) | random_dag(p, 0.1, order),
      "random" = random_dag(p, stats::runif(1, 0, 0.6))
    )
    est <- est * 1L
    ours <- sid_all(true, est)
    expect_identical(ours, sid_ref(true, est), label = sprintf("%s, d = %d", v, p))
    expect_identical(ours[["lower"]], ours[["sid"]])
    expect_identical(ours[["upper"]], ours[["sid"]])
  }
})

test_that("sid and its bounds agree with SID on CPDAG and partially directed estimates", {
  skip_if_not_installed("SID")
  set.seed(202)
  for (r in 1:60) {
    p <- sample(3:10, 1)
    true <- random_dag(p, stats::runif(1, 0.1, 0.5))
    src <- if (r %% 3 == 0) true else random_dag(p, stats::runif(1, 0.1, 0.5))
    est <- cpdag_of(src)
    expect_identical(sid_all(true, est), sid_ref(true, est), label = "CPDAG")
  }
  # Random edges made undirected: often not a CPDAG, so SID expands locally.
  for (r in 1:20) {
    p <- sample(3:8, 1)
    true <- random_dag(p, stats::runif(1, 0.1, 0.6))
    est <- random_dag(p, stats::runif(1, 0.1, 0.6))
    idx <- which(est == 1)
    for (k in idx[stats::runif(length(idx)) < 0.5]) {
      est <- undirect(est, (k - 1) %% p + 1, (k - 1) %/% p + 1)
    }
    expect_identical(sid_all(true, est), sid_ref(true, est), label = "PDAG")
  }
  # A component that also holds a directed edge switches SID to local
  # expansion from there on; the shuffle changes the order of components.
  for (r in 1:6) {
    p <- 10
    est <- matrix(0L, p, p)
    est <- undirect(est, 1, 2); est <- undirect(est, 2, 3); est <- undirect(est, 1, 3)
    est <- undirect(est, 4, 5); est <- undirect(est, 5, 6); est[4, 6] <- 1L
    est <- undirect(est, 7, 8); est <- undirect(est, 8, 9)
    o <- sample.int(p)
    est <- est[o, o]
    true <- random_dag(p, 0.4)
    expect_identical(sid_all(true, est), sid_ref(true, est), label = "switch")
  }
})

# Properties ------------------------------------------------------------------

test_that("sid is 0 for the truth and its CPDAG has lower bound 0", {
  set.seed(303)
  for (r in 1:20) {
    p <- sample(2:30, 1)
    g <- random_dag(p, stats::runif(1, 0, 0.5))
    expect_identical(sid(g, g), 0L)
    if (p <= 12) {
      expect_identical(suppressMessages(sid_bounds(g, cpdag_of(g)))[["lower"]], 0L)
    }
  }
})

test_that("bounds are ordered and within [0, d (d - 1)]", {
  set.seed(404)
  for (r in 1:30) {
    p <- sample(3:12, 1)
    true <- random_dag(p, stats::runif(1, 0.1, 0.6))
    est <- cpdag_of(random_dag(p, stats::runif(1, 0.1, 0.6)))
    res <- sid_all(true, est)
    # sid counts pairs wrong for at least one parent set, so it is at least
    # the worst DAG's count
    expect_true(0L <= res[["lower"]] && res[["lower"]] <= res[["upper"]] &&
                  res[["upper"]] <= res[["sid"]] && res[["sid"]] <= p * (p - 1))
  }
})

test_that("results do not depend on the number of threads", {
  set.seed(505)
  p <- 300
  order <- sample.int(p)
  true <- random_dag(p, 4 / p, order)
  est <- (true * stats::rbinom(p * p, 1, 0.8)) | random_dag(p, 1 / p, order)
  expect_identical(sid(true, est, n_threads = 1), sid(true, est, n_threads = 2))
  est <- cpdag_of(random_dag(12, 0.4))
  true <- random_dag(12, 0.3)
  expect_identical(sid_all(true, est, n_threads = 1), sid_all(true, est, n_threads = 2))
})

test_that("sid accepts logical, data frame and sparse input", {
  g <- doc_G
  expect_identical(sid(g == 1, as.data.frame(doc_H2)), 8L)
  expect_identical(sid(Matrix::Matrix(g, sparse = TRUE), doc_H2), 8L)
  named <- g
  dimnames(named) <- list(letters[1:5], letters[1:5])
  expect_identical(sid(named, doc_H2), 8L)
})

test_that("local expansion is announced", {
  est <- matrix(0L, 4, 4)
  est <- undirect(est, 1, 2); est <- undirect(est, 2, 3)
  est <- undirect(est, 3, 4); est <- undirect(est, 4, 1)
  true <- random_dag(4, 0.5)
  expect_message(sid(true, est), "local expansion")
  expect_no_message(sid(true, cpdag_of(true)))
})

# Errors ---------------------------------------------------------------------

test_that("a cyclic true graph is an error naming `true` and the node", {
  true <- matrix(0, 3, 3, dimnames = list(c("a", "b", "c"), c("a", "b", "c")))
  true["a", "b"] <- true["b", "c"] <- true["c", "b"] <- 1
  expect_error(sid(true, matrix(0, 3, 3)), "`true` must be a directed acyclic graph")
  expect_error(sid(true, matrix(0, 3, 3)), "cycle through node \"[bc]\"")
  loop <- diag(2)
  expect_error(sid_bounds(loop, matrix(0, 2, 2)), "`true` must be a directed acyclic")
})

test_that("an estimate that is neither a DAG nor a CPDAG is an error", {
  est <- matrix(0, 3, 3)
  est[1, 2] <- est[2, 3] <- est[3, 1] <- 1
  expect_error(sid(matrix(0, 3, 3), est), "`est` must be a DAG or a CPDAG")
  expect_error(sid(matrix(0, 3, 3), diag(3)), "`est` must not have self-loops")
  # undirected edges do not make a cycle
  est[1, 3] <- 1
  expect_no_error(suppressMessages(sid(matrix(0, 3, 3), est)))
  # a node whose 2^21 parent sets SID's local expansion would enumerate
  full <- matrix(1, 22, 22) - diag(22)
  expect_error(sid(matrix(0, 22, 22), full), "too many undirected edges")
})

test_that("bad graphs get errors that name the argument", {
  g <- matrix(0, 3, 3)
  expect_error(sid(matrix(0, 2, 3), g), "`true` must be square")
  expect_error(sid(g, matrix(0, 4, 4)), "same number of nodes")
  expect_error(sid(g, NULL), "`est` must be a square")
  expect_error(sid(NULL, g), "`true` must be a square")
  expect_error(sid(g, matrix("a", 3, 3)), "`est` must be a square")
  bad <- g
  bad[1, 2] <- 2
  expect_error(sid(g, bad), "`est` must contain only 0 and 1")
  bad[1, 2] <- NA
  expect_error(sid_bounds(bad, g), "`true` must contain only 0 and 1")
  named <- g
  dimnames(named) <- list(letters[1:3], letters[1:3])
  other <- g
  dimnames(other) <- list(letters[3:1], letters[3:1])
  expect_error(sid(named, other), "same nodes in the same order")
  expect_error(sid(matrix(0, 0, 0), matrix(0, 0, 0)), "at least one node")
  expect_error(sid(g, g, n_threads = 0), "`n_threads`")
  expect_error(sid(g, g, n_threads = "two"), "`n_threads`")
})

test_that("pg_sid guards its .Call boundary", {
  f <- function(...) .Call(perturbgim:::pg_sid, ...)
  g <- matrix(0L, 3, 3)
  expect_error(f(NULL, g, 1L), "`true` must be an integer adjacency matrix")
  expect_error(f(g, matrix(0, 3, 3), 1L), "`est` must be an integer adjacency matrix")
  expect_error(f(matrix(0L, 2, 3), g, 1L), "`true` must be square")
  expect_error(f(g, matrix(0L, 4, 4), 1L), "same number of nodes")
  expect_error(f(g, g, 1.5), "`n_threads` must be a single non-missing integer")
  expect_error(f(g, g, NA_integer_), "`n_threads`")
  expect_error(f(g, g, 0L), "`n_threads` must be at least 1")
  expect_error(f(g, g), "arguments")
  bad <- g
  bad[1] <- 2L
  expect_error(f(bad, g, 1L), "only 0 and 1")
  # expected failures come back as a status, never as a crash
  cyc <- g
  cyc[1, 2] <- cyc[2, 1] <- 1L
  res <- f(cyc, g, 1L)
  expect_identical(res[["status"]], 1L)
  expect_true(is.na(res[["sid"]]))
  expect_identical(f(g, g, 2L)[["sid"]], 0L)
})
