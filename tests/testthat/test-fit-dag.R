# graph_samples = "dag": every graph sample made acyclic before the
# likelihood sees it (src/gim_dag.c).

# The reference: edges in decreasing z, each kept unless it closes a cycle.
greedy_dag <- function(g, z) {
  d <- nrow(g)
  out <- matrix(0, d, d)
  on <- which(g != 0)
  on <- on[order(-z[on], on)]
  for (e in on) {
    i <- (e - 1) %% d + 1
    j <- (e - 1) %/% d + 1
    trial <- out
    trial[i, j] <- 1
    if (is_dag(trial)) out <- trial
  }
  out
}

test_that("the projection keeps edges greedily by weight and never closes a cycle", {
  set.seed(9)
  for (d in c(1, 2, 5, 9, 70)) {
    for (rep in 1:5) {
      g <- matrix(stats::rbinom(d * d, 1, 0.4), d, d) * 1
      diag(g) <- 0
      z <- matrix(stats::rnorm(d * d), d, d)
      got <- .Call(pg_gim_project_dag, g, z)
      expect_true(is_dag(got))
      expect_true(all(got <= g))
      if (d <= 9) expect_identical(got, greedy_dag(g, z))
    }
  }
  # An acyclic graph is left as it is; ties are broken by index.
  dag <- matrix(0, 4, 4)
  dag[1, 2] <- dag[2, 3] <- dag[1, 4] <- 1
  expect_identical(.Call(pg_gim_project_dag, dag, matrix(0, 4, 4)), dag)
  two <- matrix(c(0, 1, 1, 0), 2, 2)
  expect_identical(.Call(pg_gim_project_dag, two, matrix(0, 2, 2)),
                   matrix(c(0, 1, 0, 0), 2, 2))
})

test_that("with graph_samples = 'dag' the objective sees only acyclic samples", {
  pr <- engine_problem("linear", "hard", "straight_through", n_mc = 16L)
  pr$settings$alpha <- 0.01   # edge probabilities near 1/2: many cyclic raw samples
  pr$settings$lambda <- pr$settings$mu <- 0
  raw <- engine_eval(pr)
  pr$settings$graph_samples <- 2
  dag <- engine_eval(pr)
  expect_identical(dag$status, "")
  # Same noise, different likelihood: some raw samples had cycles.
  expect_false(identical(raw$loglik, dag$loglik))
  # The relaxed samples and everything not through the likelihood are unchanged.
  expect_identical(dag$sparsity_graph, raw$sparsity_graph)
  expect_identical(dag$acyclicity, raw$acyclicity)
  expect_identical(dag$log_prior, raw$log_prior)
})

test_that("a graph_samples = 'dag' fit is reproducible across thread counts", {
  set.seed(10)
  bench <- simulate_gim_benchmark(d = 6, n_perturbations = 4, n_test_perturbations = 0,
                                  n_cells = 12, n_observational = 60, n_components = 3)
  fit_with <- function(threads) {
    set.seed(11)
    gim_fit(bench$train$x, bench$train$context, bench$train$features, mechanism = "linear",
            control = gim_control(steps = 60, n_mc = 8, gim_hidden = 4, check_every = 30,
                                  graph_samples = "dag", n_threads = threads),
            verbose = FALSE)
  }
  one <- fit_with(1L)
  expect_identical(fit_with(2L)$state$par, one$state$par)
})
