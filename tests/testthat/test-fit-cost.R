# estimate_fit_cost() (R/fit-cost.R): the shape of the cost model, its two
# ways in, printing and bad arguments. No timings: the model is arithmetic.

cost <- function(...) estimate_fit_cost(n_genes = 50, n_cells = 5000, n_contexts = 21, ...)

cost_at <- function(..., control = gim_control()) {
  args <- utils::modifyList(list(n_genes = 50, n_cells = 5000, n_contexts = 21), list(...))
  do.call(estimate_fit_cost, c(args, list(control = control)))
}

test_that("memory and time grow with every size", {
  grows <- function(name, values) {
    costs <- lapply(values, function(v) do.call(cost_at, stats::setNames(list(v), name)))
    mem <- vapply(costs, function(e) e$memory, 0)
    sec <- vapply(costs, function(e) e$seconds_per_step, 0)
    expect_true(all(diff(mem) > 0), label = paste("memory grows with", name))
    expect_true(all(diff(sec) > 0), label = paste("time grows with", name))
  }
  grows("n_genes", c(10, 50, 200, 1000))
  grows("n_cells", c(1000, 5000, 50000))
  grows("n_contexts", c(5, 21, 200))
  by_control <- function(...) {
    costs <- lapply(list(...), function(control) cost_at(control = control))
    list(memory = vapply(costs, function(e) e$memory, 0),
         time = vapply(costs, function(e) e$seconds_per_step, 0))
  }
  mc <- by_control(gim_control(n_mc = 8), gim_control(n_mc = 32), gim_control(n_mc = 128))
  expect_true(all(diff(mc$memory) > 0))
  expect_true(all(diff(mc$time) > 0))
  # The expected estimator runs the backward pass of every sample, the
  # marginal one of the sample carrying the weight: same memory, more time.
  est <- by_control(gim_control(mc_estimator = "marginal"), gim_control(mc_estimator = "expected"))
  expect_equal(est$memory[1], est$memory[2])
  expect_gt(est$time[2], 2 * est$time[1])
  hidden <- by_control(gim_control(mechanism_hidden = 2), gim_control(mechanism_hidden = 10))
  expect_true(all(diff(hidden$memory) > 0))
  expect_true(all(diff(hidden$time) > 0))
})

test_that("the graph samples make memory quadratic in the genes", {
  ratio <- cost_at(n_genes = 2000)$memory / cost_at(n_genes = 1000)$memory
  expect_gt(ratio, 3.5)
  expect_lt(ratio, 4.5)
  # ... and linear in the Monte Carlo samples once they dominate.
  big <- function(n_mc) cost_at(n_genes = 1000, control = gim_control(n_mc = n_mc))$memory
  expect_equal(big(256) / big(128), 2, tolerance = 0.1)
})

test_that("minibatches bound the cells' memory and time, not the graph's", {
  exact <- cost_at(n_genes = 200, n_cells = 200000, mechanism = "linear")
  batch <- cost_at(n_genes = 200, n_cells = 200000, mechanism = "linear",
                   control = gim_control(minibatch = 2000))
  expect_equal(batch$cells_per_step, 2000)
  expect_lt(batch$memory, exact$memory)
  expect_lt(batch$seconds_per_step, exact$seconds_per_step / 10)
  expect_equal(batch$parts$memory[["graph"]], exact$parts$memory[["graph"]])
  # A minibatch as large as the training cells is the exact estimator.
  same <- cost_at(control = gim_control(minibatch = 10^6))
  expect_equal(same$seconds_per_step, cost_at()$seconds_per_step)
})

test_that("linear mechanisms cost less than MLPs, and the whole fit is steps x a step", {
  expect_lt(cost_at(n_genes = 200, mechanism = "linear")$memory,
            cost_at(n_genes = 200, mechanism = "mlp")$memory)
  expect_lt(cost_at(mechanism = "linear")$seconds_per_step,
            cost_at(mechanism = "mlp")$seconds_per_step)
  e <- cost_at(control = gim_control(steps = 1234))
  expect_equal(e$steps, 1234)
  expect_equal(e$seconds, 1234 * e$seconds_per_step)
  expect_equal(e$memory, sum(e$parts$memory))
  expect_equal(e$seconds_per_step, sum(e$parts$seconds_per_step))
})

test_that("the data give the same estimate as their sizes", {
  bench <- small_bench()
  tr <- bench$train
  from_data <- estimate_fit_cost(tr$x, tr$context, tr$features, mechanism = "linear")
  from_sizes <- estimate_fit_cost(n_genes = ncol(tr$x), n_cells = nrow(tr$x),
                                  n_contexts = length(unique(tr$context)),
                                  n_perturbed = nrow(tr$features),
                                  n_features = ncol(tr$features), mechanism = "linear")
  expect_equal(from_data$memory, from_sizes$memory)
  expect_equal(from_data$seconds_per_step, from_sizes$seconds_per_step)
  # Defaults: one observational context, one indicator per perturbed one.
  d <- cost_at()$dims
  expect_equal(c(d$n_perturbed, d$n_features), c(20, 20))
  # The held-out cells are not trained on.
  expect_equal(d$n_train, 5000 - 100)
})

test_that("the estimate prints its sizes, memory and time", {
  expect_snapshot(print(estimate_fit_cost(n_genes = 2000, n_cells = 20000, n_contexts = 101)))
  expect_snapshot(print(estimate_fit_cost(n_genes = 200, n_cells = 200000, n_contexts = 161,
                                          mechanism = "linear",
                                          control = gim_control(minibatch = 2000))))
})

test_that("estimate_fit_cost() rejects bad arguments by name", {
  bench <- small_bench()
  expect_snapshot(error = TRUE, {
    estimate_fit_cost()
    estimate_fit_cost(n_genes = 10, n_cells = 100)
    estimate_fit_cost(n_genes = 0, n_cells = 100, n_contexts = 3)
    estimate_fit_cost(n_genes = 10, n_cells = 100, n_contexts = 3, n_perturbed = 4)
    estimate_fit_cost(bench$train$x, bench$train$context, bench$train$features, n_genes = 5)
    estimate_fit_cost(1:10, "a", NULL)
    estimate_fit_cost(n_genes = 10, n_cells = 100, n_contexts = 3, control = list())
    estimate_fit_cost(n_genes = 10, n_cells = 100, n_contexts = 3, mechanism = "cubic")
  })
})
