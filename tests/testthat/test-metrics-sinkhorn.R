# Reference values: tests/testthat/fixtures/make-sinkhorn-reference.py (POT
# 0.8.2, ot.sinkhorn(method = "sinkhorn_log") run to stopThr = 1e-12; every
# value computed from POT's plan).
read_sinkhorn_reference <- function() {
  cases <- utils::read.csv(test_path("fixtures", "sinkhorn-reference.csv"),
                           colClasses = c(case = "character"))
  data <- utils::read.csv(test_path("fixtures", "sinkhorn-reference.data.csv"),
                          colClasses = c(case = "character",
                                         role = "character"))
  lapply(seq_len(nrow(cases)), function(r) {
    cs <- as.list(cases[r, ])
    sample_matrix <- function(role) {
      rows <- data[data$case == cs$case & data$role == role, ]
      as.matrix(rows[, paste0("x", seq_len(cs$d)), drop = FALSE])
    }
    c(cs, list(predicted = sample_matrix("predicted"),
               observed = sample_matrix("observed")))
  })
}

sq_dist <- function(x, y) {
  outer(rowSums(x^2), rowSums(y^2), "+") - 2 * tcrossprod(x, y)
}

# <P, C> + eps KL(P | a b^T), generalised KL, written out in R.
entropic_cost <- function(P, C, eps) {
  ab <- 1 / (nrow(P) * ncol(P))
  pos <- P > 0
  sum(P * C) + eps * (sum(P[pos] * log(P[pos] / ab)) - sum(P) + 1)
}

test_that("sinkhorn matches POT's log-domain Sinkhorn on the reference cases", {
  ref <- read_sinkhorn_reference()
  expect_gte(length(ref), 5L)
  for (cs in ref) {
    expect_identical(dim(cs$predicted), c(cs$m, cs$d))
    expect_identical(dim(cs$observed), c(cs$n, cs$d))
    for (variant in 1:3) {
      annealing <- variant != 2L
      low_memory <- variant == 3L
      label <- sprintf("%s, annealing = %s, low_memory = %s", cs$case,
                       annealing, low_memory)
      res <- sinkhorn(cs$predicted, cs$observed, epsilon = cs$epsilon,
                      tolerance = 1e-10, max_iterations = 1e5,
                      annealing = annealing, low_memory = low_memory)
      expect_true(res$converged, label = label)
      expect_lt(res$marginal_error, 1e-10)
      expect_equal(res$cost, cs$cost, tolerance = 1e-6, label = label)
      expect_equal(res$transport_cost, cs$transport_cost, tolerance = 1e-6,
                   label = label)
      expect_equal(res$divergence, cs$divergence, tolerance = 1e-6,
                   label = label)
      expect_equal(unname(res$self_cost),
                   c(cs$self_cost_predicted, cs$self_cost_observed),
                   tolerance = 1e-6, label = label)
    }
    w2 <- sinkhorn_w2(cs$predicted, cs$observed, epsilon = cs$epsilon,
                      tolerance = 1e-10, max_iterations = 1e5)
    expect_equal(w2, sqrt(cs$cost), tolerance = 1e-6, label = cs$case)
  }
})

test_that("the default tolerance already gets close to the reference", {
  for (cs in read_sinkhorn_reference()) {
    res <- sinkhorn(cs$predicted, cs$observed, epsilon = cs$epsilon)
    expect_true(res$converged)
    expect_lt(res$marginal_error, 1e-3)
    expect_equal(res$cost, cs$cost, tolerance = 1e-3, label = cs$case)
  }
})

test_that("the plan has the reported marginals, cost and transport cost", {
  set.seed(1)
  x <- matrix(rnorm(120), 40, 3)
  y <- matrix(rnorm(105, mean = 0.5), 35, 3)
  C <- sq_dist(x, y)
  for (tol in c(1e-3, 1e-9)) {
    res <- sinkhorn(x, y, epsilon = 0.2, tolerance = tol)
    P <- res$transport
    expect_identical(dim(P), c(40L, 35L))
    expect_true(all(P >= 0))
    err <- sum(abs(rowSums(P) - 1 / 40)) + sum(abs(colSums(P) - 1 / 35))
    expect_lt(err, tol)
    expect_equal(err, res$marginal_error, tolerance = 1e-6)
    expect_equal(sum(P), 1, tolerance = tol)
    expect_equal(res$transport_cost, sum(P * C), tolerance = 1e-10)
    expect_equal(res$cost, entropic_cost(P, C, 0.2), tolerance = 1e-10)
  }
  # Names carry over to the plan.
  rownames(x) <- paste0("p", 1:40)
  rownames(y) <- paste0("o", 1:35)
  P <- sinkhorn(x, y)$transport
  expect_identical(dimnames(P), list(rownames(x), rownames(y)))
})

test_that("a single predicted sample sends equal mass everywhere", {
  set.seed(2)
  y <- matrix(rnorm(15), 5, 3)
  x <- matrix(c(0.3, -1, 2), 1, 3)
  C <- colSums((t(y) - c(x))^2)
  res <- sinkhorn(x, y, epsilon = 0.1)
  expect_true(res$converged)
  expect_equal(res$transport_cost, mean(C), tolerance = 1e-12)
  expect_equal(res$cost, mean(C), tolerance = 1e-12)
  expect_equal(c(res$transport), rep(1 / 5, 5), tolerance = 1e-12)
  one <- sinkhorn(x, x)
  expect_identical(c(one$cost, one$transport_cost, one$divergence), c(0, 0, 0))
})

test_that("cost >= 0, and the divergence vanishes on identical clouds", {
  set.seed(3)
  for (d in c(1L, 4L, 20L)) {
    x <- matrix(rnorm(30 * d), 30, d)
    for (eps in c(0.01, 1, 100)) {
      res <- sinkhorn(x, x, epsilon = eps)
      expect_gte(res$cost, 0)
      expect_identical(res$divergence, 0)
      expect_equal(res$cost, unname(res$self_cost[1]))
      # A copy with a different memory layout gives the same answer.
      y2 <- rbind(x[-1, , drop = FALSE], x[1, , drop = FALSE])
      res2 <- sinkhorn(x, y2, epsilon = eps, tolerance = 1e-9,
                       max_iterations = 1e5)
      expect_gte(res2$cost, 0)
      expect_lt(abs(res2$divergence), 1e-6 * max(1, res2$cost))
    }
  }
  # Far from each other, the divergence is about the squared distance of
  # the means.
  z <- matrix(rnorm(60), 20, 3)
  res <- sinkhorn(z, z + 3)
  expect_gt(res$divergence, 0)
  expect_equal(res$divergence, 27, tolerance = 0.05)
})

test_that("results do not depend on the number of threads", {
  set.seed(4)
  # Large enough for the threaded loops (those with enough work, see
  # sk_team in metrics_sinkhorn.c): kernel builds, log-domain passes, the
  # plan and the self-transport problems.
  x <- matrix(rnorm(1100 * 4), 1100, 4)
  y <- matrix(rnorm(1000 * 4, mean = 0.3), 1000, 4)
  for (eps in c(0.05, 2)) {
    r1 <- sinkhorn(x, y, epsilon = eps, n_threads = 1L)
    r2 <- sinkhorn(x, y, epsilon = eps, n_threads = 2L)
    expect_identical(r1, r2)
    # Without a dense kernel: log-domain passes over the costs, the same
    # result up to rounding.
    r3 <- sinkhorn(x, y, epsilon = eps, low_memory = TRUE, n_threads = 1L)
    r4 <- sinkhorn(x, y, epsilon = eps, low_memory = TRUE, n_threads = 2L)
    expect_identical(r3, r4)
    expect_identical(r3$iterations, r1$iterations)
    expect_equal(r3$cost, r1$cost, tolerance = 1e-12)
    expect_equal(r3$divergence, r1$divergence, tolerance = 1e-12)
    expect_equal(r3$transport, r1$transport, tolerance = 1e-10)
  }
  # Dense kernels large enough for threaded kernel builds and plans.
  x <- matrix(rnorm(1500 * 3), 1500, 3)
  y <- matrix(rnorm(1450 * 3, mean = 0.3), 1450, 3)
  expect_identical(sinkhorn(x, y, epsilon = 1, n_threads = 1L),
                   sinkhorn(x, y, epsilon = 1, n_threads = 2L))
  # Threaded dense-kernel products (m n >= 2^23) and log-domain passes
  # (m n >= 2^22, low_memory = TRUE).
  x <- matrix(rnorm(2900 * 3), 2900, 3)
  y <- matrix(rnorm(2850 * 3, mean = 0.3), 2850, 3)
  lean <- function(x, y, ...) {
    sinkhorn(x, y, epsilon = 1, plan = FALSE, divergence = FALSE, ...)
  }
  expect_identical(lean(x, y, n_threads = 1L), lean(x, y, n_threads = 2L))
  x <- x[1:2050, ]
  y <- y[1:2000, ]
  expect_identical(lean(x, y, low_memory = TRUE, n_threads = 1L),
                   lean(x, y, low_memory = TRUE, n_threads = 2L))
  small <- sinkhorn(x[1:50, ], y[1:60, ], n_threads = 1L)
  expect_identical(small, sinkhorn(x[1:50, ], y[1:60, ], n_threads = 2L))
})

test_that("far-apart clouds with huge costs stay finite and accurate", {
  set.seed(5)
  x <- matrix(rnorm(60), 20, 3)
  y <- matrix(rnorm(45, mean = 1000), 15, 3)
  res <- sinkhorn(x, y, epsilon = 0.1)
  expect_true(res$converged)
  expect_true(all(is.finite(c(res$cost, res$transport_cost, res$divergence))))
  expect_true(all(is.finite(res$transport)))
  C <- sq_dist(x, y)
  expect_gt(res$cost, min(C))
  expect_lt(res$cost, max(C))
  # W2^2 >= squared distance of the means (Jensen).
  expect_gte(res$transport_cost, sum((colMeans(x) - colMeans(y))^2))
  # Entries of P are exp() of numbers near 3e7, so the plan (and the cost
  # recomputed from it here) carries relative rounding errors near 1e-9.
  expect_equal(res$cost, entropic_cost(res$transport, C, 0.1),
               tolerance = 1e-7)
  expect_equal(sinkhorn_w2(x, y), sqrt(res$cost), tolerance = 1e-3)
})

test_that("not converging warns, names max_iterations and says so", {
  set.seed(6)
  x <- matrix(rnorm(60), 30, 2)
  y <- matrix(rnorm(60, 1), 30, 2)
  expect_warning(res <- sinkhorn(x, y, max_iterations = 2L, divergence = FALSE),
                 "max_iterations", class = "perturbgim_sinkhorn_not_converged")
  expect_false(res$converged)
  expect_identical(res$iterations, 2L)
  expect_gt(res$marginal_error, 1e-3)
  expect_true(is.finite(res$cost))
  # The last iteration runs at the target epsilon: the cost is the one of
  # the returned plan at that epsilon.
  expect_equal(res$cost, entropic_cost(res$transport, sq_dist(x, y), 0.1),
               tolerance = 1e-10)
  expect_warning(sinkhorn_w2(x, y, max_iterations = 1L), "max_iterations")
})

test_that("sinkhorn_w2 is sqrt(cost) without the plan or the divergence", {
  set.seed(7)
  x <- matrix(rnorm(200), 50, 4)
  y <- matrix(rnorm(200, 0.2), 50, 4)
  full <- sinkhorn(x, y, epsilon = 0.5)
  w2 <- sinkhorn_w2(x, y, epsilon = 0.5)
  expect_type(w2, "double")
  expect_length(w2, 1L)
  expect_identical(w2, sqrt(full$cost))
  lean <- sinkhorn(x, y, epsilon = 0.5, plan = FALSE, divergence = FALSE)
  expect_null(lean$transport)
  expect_identical(lean$divergence, NA_real_)
  expect_null(lean$self_cost)
  expect_identical(lean$cost, full$cost)
  expect_identical(sinkhorn_w2(x, y, epsilon = 0.5, annealing = FALSE),
                   sqrt(sinkhorn(x, y, epsilon = 0.5, annealing = FALSE)$cost))
  expect_error(sinkhorn_w2(x, y, plan = TRUE), "neither the plan")
  expect_error(sinkhorn_w2(x, y, divergence = TRUE), "Use `sinkhorn\\(\\)`")
})

test_that("data frames and sparse matrices are accepted", {
  set.seed(8)
  x <- matrix(rpois(60, 1), 20, 3)
  y <- matrix(rpois(45, 2), 15, 3)
  expected <- sinkhorn_w2(x, y)
  expect_identical(sinkhorn_w2(as.data.frame(x), y), expected)
  expect_identical(sinkhorn_w2(x, Matrix::Matrix(y, sparse = TRUE)), expected)
})

test_that("print shows the main numbers", {
  set.seed(9)
  x <- matrix(rnorm(40), 20, 2)
  res <- sinkhorn(x, x + 1, epsilon = 0.5)
  expect_output(print(res), "entropic OT, epsilon = 0.5")
  expect_output(print(res), "converged after")
  expect_output(print(res), "divergence")
  utils::capture.output(vis <- withVisible(print(res)))
  expect_false(vis$visible)
  expect_identical(vis$value, res)
})

test_that("sinkhorn rejects bad input naming the argument", {
  x <- matrix(rnorm(20), 10, 2)
  expect_error(sinkhorn(NULL, x), "`predicted` must be a numeric matrix")
  expect_error(sinkhorn(x, NULL), "`observed` must be a numeric matrix")
  expect_error(sinkhorn(letters, x), "`predicted` must be a numeric matrix")
  expect_error(sinkhorn_w2(1:3, x), "samples in rows")
  bad <- x
  bad[3] <- NA
  expect_error(sinkhorn(bad, x), "`predicted` must not contain NA")
  bad[3] <- Inf
  expect_error(sinkhorn_w2(x, bad), "`observed` must not contain NA")
  expect_error(sinkhorn(x, x[0, , drop = FALSE]),
               "`observed` must have at least 1 row")
  expect_error(sinkhorn(x[0, , drop = FALSE], x),
               "`predicted` must have at least 1 row")
  expect_error(sinkhorn(x, matrix(rnorm(30), 10, 3)), "same number of columns")
  for (e in list(0, -1, NA, Inf, "a", c(1, 2), NULL)) {
    expect_error(sinkhorn(x, x, epsilon = e), "`epsilon` must be",
                 label = paste("epsilon =", deparse(e)))
    expect_error(sinkhorn_w2(x, x, epsilon = e), "`epsilon` must be",
                 label = paste("epsilon =", deparse(e)))
  }
  for (tol in list(0, -1e-3, NA, "a", c(1, 2))) {
    expect_error(sinkhorn(x, x, tolerance = tol), "`tolerance` must be",
                 label = paste("tolerance =", deparse(tol)))
  }
  for (it in list(0, -1, 1.5, NA, "10", 1e10, NULL)) {
    expect_error(sinkhorn(x, x, max_iterations = it), "`max_iterations`",
                 label = paste("max_iterations =", deparse(it)))
  }
  for (nt in list(0, -1, 1.5, NA, "2", NULL)) {
    expect_error(sinkhorn(x, x, n_threads = nt), "`n_threads`",
                 label = paste("n_threads =", deparse(nt)))
  }
  for (arg in c("annealing", "low_memory", "plan", "divergence")) {
    for (v in list(NA, "yes", c(TRUE, FALSE), 1)) {
      args <- list(x, x)
      args[arg] <- list(v)
      expect_error(do.call(sinkhorn, args),
                   sprintf("`%s` must be TRUE or FALSE", arg),
                   label = paste(arg, "=", deparse(v)))
    }
  }
})

test_that("the pg_sinkhorn entry point guards the .Call boundary", {
  x <- matrix(rnorm(20), 10, 2)
  sk <- function(x = x0, y = x0, epsilon = 0.1, tolerance = 1e-3,
                 max_iterations = 100L, annealing = TRUE, low_memory = FALSE,
                 plan = TRUE, divergence = TRUE, n_threads = 1L) {
    .Call(perturbgim:::pg_sinkhorn, x, y, epsilon, tolerance, max_iterations,
          annealing, low_memory, plan, divergence, n_threads)
  }
  x0 <- x
  expect_type(sk(), "list")
  expect_error(sk(x = NULL), "`x` must be a double matrix")
  expect_error(sk(y = NULL), "`y` must be a double matrix")
  expect_error(sk(x = 1:10), "`x` must be a double matrix")
  expect_error(sk(x = matrix(1:20, 10, 2)), "`x` must be a double matrix")
  expect_error(sk(y = matrix("a", 10, 2)), "`y` must be a double matrix")
  expect_error(sk(x = c(x)), "`x` must be a double matrix")
  bad <- x
  bad[2] <- NA
  expect_error(sk(x = bad), "`x` must not contain NA")
  bad[2] <- NaN
  expect_error(sk(y = bad), "`y` must not contain NA")
  bad[2] <- -Inf
  expect_error(sk(x = bad), "`x` must not contain NA")
  expect_error(sk(x = x[0, , drop = FALSE]), "`x` must have at least 1 row")
  expect_error(sk(y = matrix(0, 3, 0)), "`y` must have at least one column")
  expect_error(sk(y = matrix(0, 3, 3)), "same number of columns")
  for (e in list(NULL, 0, -1, NA_real_, Inf, 1L, "0.1", c(0.1, 0.2))) {
    expect_error(sk(epsilon = e), "`epsilon` must be",
                 label = paste("epsilon =", deparse(e)))
  }
  for (tol in list(NULL, 0, -1, NaN, 1L)) {
    expect_error(sk(tolerance = tol), "`tolerance` must be",
                 label = paste("tolerance =", deparse(tol)))
  }
  for (it in list(NULL, 0L, -5L, NA_integer_, 10, c(1L, 2L))) {
    expect_error(sk(max_iterations = it), "`max_iterations` must be",
                 label = paste("max_iterations =", deparse(it)))
  }
  for (arg in c("annealing", "low_memory", "plan", "divergence")) {
    for (v in list(NULL, NA, 1L, "TRUE", c(TRUE, TRUE))) {
      args <- list()
      args[arg] <- list(v)
      expect_error(do.call(sk, args),
                   sprintf("`%s` must be TRUE or FALSE", arg),
                   label = paste(arg, "=", deparse(v)))
    }
  }
  for (nt in list(NULL, 0L, -1L, NA_integer_, 2, "2")) {
    expect_error(sk(n_threads = nt), "`n_threads` must",
                 label = paste("n_threads =", deparse(nt)))
  }
})
