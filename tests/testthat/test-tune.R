# gim_grid() and gim_tune() (R/tune-grid.R, R/tune.R).

tune_bench <- function(seed = 1) {
  set.seed(seed)
  simulate_gim_benchmark(d = 5, n_perturbations = 4, n_test_perturbations = 1,
                         n_cells = 15, n_observational = 60, n_components = 3)
}

tiny_control <- function(steps = 60, ...) {
  gim_control(steps = steps, n_mc = 8, n_threads = 1, holdout = 1, gim_hidden = 8L, ...)
}

tiny_tune <- function(bench, seed = 2, grid = gim_grid(beta_M = c(1, 50)),
                      BPPARAM = NULL, verbose = FALSE, ...) {
  tr <- bench$train
  set.seed(seed)
  gim_tune(tr$x, tr$context, tr$features, grid = grid, mechanism = "linear",
           control = tiny_control(), n = 60, BPPARAM = BPPARAM, verbose = verbose, ...)
}

# Everything but the wall times and the call, which differ between runs.
comparable <- function(tuned) tuned[setdiff(names(tuned), c("seconds", "call"))]

# Warnings of very short fits (e.g. cyclic graphs) are not what is tested.
quiet_tune <- function(...) suppressWarnings(tiny_tune(...))

test_that("the presets are the paper's Tables 1 and 2", {
  syn <- gim_grid("synthetic")
  expect_identical(nrow(syn), 48L)
  expect_named(syn, c("beta_M", "beta_I", "tau"))
  expect_setequal(syn$beta_M, c(50, 100, 500))
  expect_setequal(syn$beta_I, c(1, 10, 50, 100))
  expect_setequal(syn$tau, c(0.01, 0.1, 1, 10))
  expect_identical(anyDuplicated(syn), 0L)

  sci <- gim_grid("sciplex")
  expect_identical(nrow(sci), 27L)
  expect_named(sci, c("mechanism_hidden", "gim_hidden", "beta_M", "beta_I"))
  expect_true(is.list(sci$gim_hidden))
  expect_setequal(unique(lapply(sci$gim_hidden, as.integer)),
                  list(100L, c(100L, 100L), c(100L, 100L, 100L)))
  expect_identical(unique(sci$mechanism_hidden), 20L)
  expect_setequal(sci$beta_M, c(0.1, 1, 10))
  expect_setequal(sci$beta_I, c(0.1, 1, 10))
})

test_that("gim_grid crosses values like expand.grid and overrides presets", {
  g <- gim_grid(beta_M = c(10, 50), gim_hidden = list(20, c(20, 20)))
  expect_identical(g$beta_M, c(10, 50, 10, 50))
  expect_identical(g$gim_hidden, I(list(20, 20, c(20, 20), c(20, 20))))
  # A list of single values is a plain column.
  expect_identical(gim_grid(tau = list(1, 10))$tau, c(1, 10))
  g <- gim_grid("synthetic", tau = 1, steps = 500)
  expect_identical(nrow(g), 12L)
  expect_identical(unique(g$tau), 1)
  expect_identical(unique(g$steps), 500)
})

test_that("grids given as data frames or lists become one gim_control per row", {
  base <- gim_control(steps = 10, n_threads = 1)
  g <- resolve_grid(expand.grid(beta_I_schedule = c("cosine", "constant"),
                                gim_hidden = 3:4), base)
  expect_identical(g$grid$beta_I_schedule, rep(c("cosine", "constant"), 2))
  expect_length(g$controls, 4L)
  expect_identical(g$controls[[2]]$beta_I_schedule, "constant")
  expect_identical(g$controls[[4]]$gim_hidden, 4L)
  expect_identical(g$controls[[4]]$steps, 10L)
  g <- resolve_grid(list(gim_hidden = list(5, c(6, 7)), latent_dim = 2), base)
  expect_identical(g$controls[[2]]$gim_hidden, c(6L, 7L))
  expect_identical(g$controls[[1]]$latent_dim, 2L)
  expect_identical(resolve_grid("sciplex", base)$grid, gim_grid("sciplex"))
})

test_that("gim_grid rejects what gim_control() cannot take", {
  expect_snapshot(error = TRUE, {
    gim_grid()
    gim_grid("paper")
    gim_grid(beta = 1)
    gim_grid(n_threads = 1:2)
    gim_grid(beta_M = numeric())
    gim_grid(10)
  })
})

test_that("gim_tune scores every row on held-out contexts and selects the lowest KDE-NLL", {
  bench <- tune_bench()
  tuned <- quiet_tune(bench)
  expect_s3_class(tuned, "gim_tune")
  res <- tuned$results
  expect_named(res, c("beta_M", "kde_nll", "mean_distance", "error"))
  expect_identical(res$beta_M, c(1, 50))
  expect_true(all(is.finite(res$kde_nll)))
  expect_true(all(is.na(res$error)))
  expect_identical(tuned$best, which.min(res$kde_nll))
  expect_identical(tuned$control$beta_M, res$beta_M[[tuned$best]])
  expect_s3_class(tuned$control, "gim_control")
  # Base settings are kept where the grid says nothing.
  expect_identical(tuned$control$steps, 60L)
  expect_null(tuned$fit)

  # Default: round(0.2 * 16) = 3 of the 16 perturbed contexts.
  perturbed <- rownames(bench$train$features)
  expect_length(tuned$validation, 3L)
  expect_true(all(tuned$validation %in% perturbed))
  # Per-context scores, whose means are the table.
  sc <- tuned$scores
  expect_setequal(sc$context, tuned$validation)
  expect_identical(nrow(sc), 2L * 3L)
  expect_identical(unique(sc$n_predicted), 60L)
  expect_equal(as.vector(tapply(sc$kde_nll, sc$row, mean)), res$kde_nll)
  expect_length(tuned$seeds, 2L)
  expect_length(tuned$seconds, 2L)
})

test_that("a row's scores are those of a fit with its own seed", {
  bench <- tune_bench()
  tuned <- quiet_tune(bench)
  tr <- bench$train
  held <- tr$context %in% tuned$validation
  features <- tr$features[!rownames(tr$features) %in% tuned$validation, , drop = FALSE]
  row <- 2L
  set.seed(tuned$seeds[[row]])
  suppressWarnings({
    fit <- gim_fit(tr$x[!held, ], tr$context[!held], features, mechanism = "linear",
                   control = tiny_control(beta_M = 50), verbose = FALSE)
    pred <- predict(fit, tr$features[tuned$validation, , drop = FALSE], n = 60)
  })
  ctx <- tuned$validation[[1]]
  p <- unclass(pred)[attr(pred, "context") == ctx, , drop = FALSE]
  o <- tr$x[tr$context == ctx, , drop = FALSE]
  expect_identical(tuned$scores$kde_nll[tuned$scores$row == row &
                                          tuned$scores$context == ctx],
                   kde_nll(p, o, n_threads = 1))
})

test_that("gim_tune is reproducible and leaves the caller's generator alone", {
  bench <- tune_bench()
  a <- quiet_tune(bench, seed = 3)
  b <- quiet_tune(bench, seed = 3)
  expect_identical(comparable(a), comparable(b))
  c <- quiet_tune(bench, seed = 4)
  expect_false(identical(a$results$kde_nll, c$results$kde_nll))

  # The tasks run in this session (BPPARAM = NULL) with their own seeds; the
  # caller's stream continues as if they had drawn nothing: longer fits draw
  # more numbers, yet the state afterwards is the same.
  tr <- bench$train
  after <- function(steps) {
    set.seed(5)
    suppressWarnings(gim_tune(tr$x, tr$context, tr$features, grid = list(beta_M = 1),
                              mechanism = "linear", control = tiny_control(steps = steps),
                              n = 20, verbose = FALSE))
    .Random.seed
  }
  expect_identical(after(20), after(60))
})

test_that("validation contexts can be named, and refit uses all data", {
  bench <- tune_bench()
  tr <- bench$train
  chosen <- rev(rownames(tr$features)[c(2, 7)])
  tuned <- quiet_tune(bench, validation = chosen, refit = TRUE)
  expect_identical(tuned$validation, rev(chosen))
  expect_setequal(tuned$scores$context, chosen)
  expect_s3_class(tuned$fit, "gim")
  expect_identical(tuned$fit$control$beta_M, tuned$control$beta_M)
  expect_identical(sum(tuned$fit$contexts$n_cells), nrow(tr$x))
  expect_true(all(chosen %in% tuned$fit$contexts$context))
  again <- quiet_tune(bench, validation = chosen, refit = TRUE)
  expect_identical(again$fit$theta, tuned$fit$theta)
})

test_that("select and metrics choose the scores", {
  bench <- tune_bench()
  msgs <- capture_messages(
    tuned <- quiet_tune(bench, metrics = "energy_distance", select = "mean_distance",
                        verbose = TRUE)
  )
  expect_match(msgs, "Tuning 2 settings on 13 training perturbations", all = FALSE)
  expect_match(msgs, "Best: row [12], mean mean_distance", all = FALSE)
  expect_named(tuned$results, c("beta_M", "mean_distance", "energy_distance", "error"))
  expect_identical(tuned$best, which.min(tuned$results$mean_distance))
})

test_that("a failed row gets NA scores and a warning, the others are kept", {
  ok <- data.frame(context = "a", n_predicted = 5L, n_observed = 5L, kde_nll = 2)
  out <- list(
    list(scores = NULL, error = "boom", row = 1L, warnings = character(), seconds = 1),
    list(scores = ok, error = NA_character_, row = 2L, warnings = "careful", seconds = 1)
  )
  expect_snapshot(
    res <- tune_result(out, data.frame(beta_M = c(1, 2)), "kde_nll", "kde_nll",
                       "a", 1:3, quote(gim_tune()), "linear", "hard")
  )
  expect_identical(res$results$kde_nll, c(NA, 2))
  expect_identical(res$results$error, c("boom", NA))
  expect_identical(res$best, 2L)
  expect_identical(res$warnings, data.frame(row = 2L, message = "careful"))
  out[[2]]$scores <- NULL
  expect_snapshot(error = TRUE,
    tune_result(out, data.frame(beta_M = c(1, 2)), "kde_nll", "kde_nll",
                "a", 1:3, quote(gim_tune()), "linear", "hard")
  )
})

test_that("gathered warnings group rows by first line and stay short", {
  warnings <- data.frame(row = c(1:7, 9L),
                         message = c(paste0("problem ", 1:7), "problem 1\n\u2139 detail"))
  expect_snapshot(warn_tune_gathered(warnings))
  # cli wraps long headlines; bullets (UTF-8 or ASCII marks) are dropped.
  expect_identical(message_headline("a long\nheadline\n\u2139 Dropped: x1 -> x2\nand more"),
                   "a long headline")
  expect_identical(message_headline("plain\ni detail"), "plain")
  expect_identical(message_headline("one line"), "one line")
})

test_that("print shows the table and marks the best row", {
  bench <- tune_bench()
  tuned <- quiet_tune(bench)
  tuned$results$kde_nll <- c(3.25, 2.5)
  tuned$results$mean_distance <- c(1.5, 0.75)
  tuned$best <- 2L
  tuned$validation <- c("ctx_a", "ctx_b", "ctx_c")
  expect_snapshot(print(tuned))
  tuned$results$gim_hidden <- I(list(100L, c(100L, 100L)))
  expect_output(print(tuned), "100-100")
})

test_that("SerialParam and a two-worker SnowParam give the serial table", {
  skip_on_cran()
  skip_if_not_installed("BiocParallel")
  bench <- tune_bench()
  serial <- quiet_tune(bench)
  bp_serial <- quiet_tune(bench, BPPARAM = BiocParallel::SerialParam())
  expect_identical(comparable(bp_serial), comparable(serial))
  # Workers are new R processes: they load the installed package, found
  # through R_LIBS (inherited) or the caller's library paths. Under
  # devtools::load_all() that would be another build than the one tested.
  skip_if(exists(".__DEVTOOLS__", envir = asNamespace("perturbgim"), inherits = FALSE),
          "perturbgim is loaded from source; workers would load an installed build")
  snow <- quiet_tune(bench, BPPARAM = BiocParallel::SnowParam(2))
  expect_identical(comparable(snow), comparable(serial))
})

test_that("bad input to gim_tune is rejected", {
  bench <- tune_bench()
  tr <- bench$train
  tune <- function(...) {
    args <- list(x = tr$x, context = tr$context, features = tr$features,
                 grid = list(beta_M = 1), mechanism = "linear",
                 control = tiny_control(), verbose = FALSE)
    args[names(list(...))] <- list(...)
    do.call("gim_tune", args)
  }
  expect_snapshot(error = TRUE, {
    gim_tune(tr$x, tr$context, tr$features)
    tune(grid = list(beta = 1))
    tune(grid = data.frame(beta_M = c(1, -1)))
    tune(grid = "paper")
    tune(grid = 3)
    tune(validation = c("nope", rownames(tr$features)[1]))
    tune(validation = rownames(tr$features))
    tune(validation = 1.5)
    tune(validation = NA)
    tune(BPPARAM = "serial")
    tune(select = "pearson_delta")
    tune(n = 1)
    tune(control = list(steps = 10))
    tune(features = tr$features[1, , drop = FALSE])
  })
})
