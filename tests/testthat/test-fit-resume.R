# gim_fit(init = ): continuing and resuming fits; checkpoint files.

fit_small <- function(b, ..., steps = 100, mechanism = "mlp") {
  gim_fit(b$train$x, b$train$context, b$train$features, mechanism = mechanism,
          control = quick_control(steps), verbose = FALSE, ...)
}

same_training <- function(a, b) {
  expect_identical(a$state$par, b$state$par)
  expect_identical(a$state$adam_v, b$state$adam_v)
  expect_identical(a$state$step, b$state$step)
  expect_identical(a$state$mu, b$state$mu)
  cols <- setdiff(names(a$trace), "seconds")
  expect_identical(a$trace[cols], b$trace[cols])
}

test_that("an interrupted fit resumed to the same steps equals the uninterrupted fit", {
  b <- small_bench()
  set.seed(5)
  whole <- fit_small(b)
  set.seed(5)
  local({
    local_interrupt_at_chunk(3L)
    expect_warning(part <<- fit_small(b), class = "perturbgim_interrupted")
  })
  expect_identical(part$state$step, 40L)
  set.seed(999)   # resuming draws nothing from R's RNG: the stream is in the fit
  resumed <- gim_fit(b$train$x, b$train$context, b$train$features, init = part,
                     verbose = FALSE)
  expect_identical(resumed$mechanism, "mlp")
  same_training(resumed, whole)
  expect_false(resumed$state$interrupted)
  expect_identical(resumed$state$heldout_cells, whole$state$heldout_cells)
  expect_true(all(diff(resumed$trace$seconds) >= 0))
})

test_that("init with more steps continues training; a finished fit is returned as is", {
  b <- small_bench()
  set.seed(2)
  fit <- fit_small(b, steps = 40)
  more <- gim_fit(b$train$x, b$train$context, b$train$features, init = fit,
                  control = quick_control(80), verbose = FALSE)
  expect_identical(more$state$step, 80L)
  expect_identical(more$trace$step, c(20L, 40L, 60L, 80L))
  expect_identical(more$trace[1:2, "objective"], fit$trace$objective)
  again <- gim_fit(b$train$x, b$train$context, b$train$features, init = more,
                   verbose = FALSE)
  expect_identical(again$state$par, more$state$par)
})

test_that("checkpoints hold complete fits that resume to the uninterrupted result", {
  b <- small_bench()
  path <- withr::local_tempfile(fileext = ".rds")
  set.seed(8)
  whole <- fit_small(b, steps = 100, checkpoint = path, checkpoint_every = 40)
  saved <- readRDS(path)
  expect_s3_class(saved, "gim")
  same_training(saved, whole)
  # Interrupted in chunk 4: the checkpoint holds step 40 (saved at 40) and is
  # rewritten with the last complete chunk (60) on the way out.
  set.seed(8)
  local({
    local_interrupt_at_chunk(4L)
    expect_warning(fit_small(b, steps = 100, checkpoint = path, checkpoint_every = 40),
                   class = "perturbgim_interrupted")
  })
  cp <- readRDS(path)
  expect_identical(cp$state$step, 60L)
  resumed <- gim_fit(b$train$x, b$train$context, b$train$features, init = cp,
                     verbose = FALSE)
  same_training(resumed, whole)
  expect_length(list.files(dirname(path), "^\\.perturbgim-checkpoint-"), 0L)
})

test_that("init and checkpoint reject what they cannot use", {
  b <- small_bench()
  set.seed(1)
  fit <- fit_small(b, steps = 20, mechanism = "linear")
  x <- b$train$x
  ctx <- b$train$context
  f <- b$train$features
  expect_snapshot(error = TRUE, {
    gim_fit(x, ctx, f, init = list(a = 1))
    gim_fit(x, ctx, f, init = fit, mechanism = "mlp")
    gim_fit(x[, 5:1], ctx, f, init = fit)
    gim_fit(x, ctx, f[, 2:1], init = fit)
    gim_fit(x, ctx, f, init = fit, control = gim_control(steps = 40, gim_hidden = 3))
    gim_fit(x, ctx, f, checkpoint = c("a", "b"))
    gim_fit(x, ctx, f, checkpoint = file.path("no-such-dir-perturbgim", "cp.rds"))
    gim_fit(x, ctx, f, checkpoint = tempfile(), checkpoint_every = 0)
  })
  old <- fit
  old$format_version <- NULL
  old$version <- "0.0.0.1"
  this_version <- as.character(utils::packageVersion("perturbgim"))
  expect_snapshot(error = TRUE, gim_fit(x, ctx, f, init = old),
                  transform = function(x) gsub(this_version, "<this version>", x, fixed = TRUE))
  broken <- fit
  broken$state$adam_m <- 1
  expect_error(gim_fit(x, ctx, f, init = broken), "training state")
})
