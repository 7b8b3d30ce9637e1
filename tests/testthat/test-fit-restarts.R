# gim_fit(restarts = ): independent fits on the same cells, the best
# acyclic held-out score kept.

test_that("restarts are independent fits on the same held-out cells, the best kept", {
  b <- small_bench()
  tr <- b$train
  control <- quick_control(steps = 60, acyclicity = "order")
  set.seed(4)
  fit <- gim_fit(tr$x, tr$context, tr$features, mechanism = "linear", control = control,
                 restarts = 3, verbose = FALSE)
  tab <- fit$restarts
  expect_s3_class(tab, "data.frame")
  expect_identical(tab$restart, 1:3)
  expect_true(all(tab$acyclic))
  expect_identical(which(tab$chosen), which.max(tab$heldout))
  expect_length(unique(tab$heldout), 3)              # different starts
  # The held-out cells are drawn first, as for a single fit.
  set.seed(4)
  held <- gim_fit(tr$x, tr$context, tr$features, mechanism = "linear", control = control,
                  verbose = FALSE)$state$heldout_cells
  expect_identical(fit$state$heldout_cells, held)
  set.seed(4)
  again <- gim_fit(tr$x, tr$context, tr$features, mechanism = "linear", control = control,
                   restarts = 3, verbose = FALSE)
  expect_identical(again$state$par, fit$state$par)
  expect_identical(again$restarts, tab)
  expect_match(paste(capture.output(print(fit)), collapse = "\n"), "best of 3 restarts")
})

test_that("restarts give the same fit through a BiocParallel back-end", {
  skip_if_not_installed("BiocParallel")
  b <- small_bench()
  tr <- b$train
  control <- quick_control(steps = 40)
  set.seed(5)
  serial <- gim_fit(tr$x, tr$context, tr$features, mechanism = "linear", control = control,
                    restarts = 2, verbose = FALSE)
  set.seed(5)
  bp <- gim_fit(tr$x, tr$context, tr$features, mechanism = "linear", control = control,
                restarts = 2, BPPARAM = BiocParallel::SerialParam(), verbose = FALSE)
  expect_identical(bp$state$par, serial$state$par)
  expect_identical(bp$restarts, serial$restarts)
})

test_that("the choice prefers acyclic fits and the best held-out score", {
  tab <- data.frame(heldout = c(-5, -7, -6), acyclic = c(FALSE, TRUE, TRUE))
  expect_identical(choose_restart(tab), 3L)
  tab$acyclic <- FALSE
  expect_identical(choose_restart(tab), 1L)
  tab$heldout <- NA_real_
  expect_identical(choose_restart(tab), 1L)
})

test_that("restarts reject what they cannot do", {
  b <- small_bench()
  tr <- b$train
  expect_error(gim_fit(tr$x, tr$context, tr$features, restarts = 0, verbose = FALSE),
               "restarts")
  expect_error(gim_fit(tr$x, tr$context, tr$features, restarts = 2,
                       checkpoint = tempfile(), verbose = FALSE), "checkpoint")
  expect_error(gim_fit(tr$x, tr$context, tr$features, restarts = 2, BPPARAM = "x",
                       verbose = FALSE), "BPPARAM")
})
