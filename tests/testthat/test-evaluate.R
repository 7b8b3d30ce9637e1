make_contexts <- function(seed = 1) {
  set.seed(seed)
  list(
    observed = list(a = matrix(rnorm(120, 1), 40, 3),
                    b = matrix(rnorm(150, -1), 50, 3)),
    predicted = list(b = matrix(rnorm(90, -0.5), 30, 3),
                     a = matrix(rnorm(135, 0.8), 45, 3),
                     unused = matrix(0, 2, 3)),
    control = matrix(rnorm(120), 40, 3)
  )
}

test_that("gim_evaluate gives one row per observed context with every metric", {
  s <- make_contexts()
  res <- gim_evaluate(s$predicted, s$observed, control = s$control, n_threads = 1)
  expect_s3_class(res, "data.frame")
  expect_identical(res$context, c("a", "b"))
  expect_identical(res$n_predicted, c(45L, 30L))
  expect_identical(res$n_observed, c(40L, 50L))
  expect_named(res, c("context", "n_predicted", "n_observed", "w2",
                      "mean_distance", "kde_nll", "energy_distance",
                      "pearson_delta"))
  for (ctx in c("a", "b")) {
    p <- s$predicted[[ctx]]; o <- s$observed[[ctx]]
    row <- res[res$context == ctx, ]
    expect_identical(row$w2, sinkhorn_w2(p, o))
    expect_identical(row$mean_distance, mean_distance(p, o))
    expect_identical(row$kde_nll, kde_nll(p, o))
    expect_identical(row$energy_distance, energy_distance(p, o))
    expect_identical(row$pearson_delta, pearson_delta(p, o, s$control))
  }
})

test_that("gim_evaluate skips pearson_delta without control and honours metrics", {
  s <- make_contexts()
  res <- gim_evaluate(s$predicted, s$observed)
  expect_false("pearson_delta" %in% names(res))
  res <- gim_evaluate(s$predicted, s$observed, metrics = c("mean_distance", "energy_distance"))
  expect_named(res, c("context", "n_predicted", "n_observed", "mean_distance",
                      "energy_distance"))
  expect_error(gim_evaluate(s$predicted, s$observed, metrics = "pearson_delta"),
               "`control` is needed")
  one <- gim_evaluate(s$predicted$a, s$observed$a, metrics = "mean_distance")
  expect_identical(one$context, "context")
})

test_that("gim_evaluate accepts per-context controls", {
  s <- make_contexts()
  ctl <- list(a = s$control, b = s$control[1:20, ])
  res <- gim_evaluate(s$predicted, s$observed, control = ctl, metrics = "pearson_delta")
  expect_equal(res$pearson_delta[2],
               pearson_delta(s$predicted$b, s$observed$b, s$control[1:20, ]))
  expect_error(gim_evaluate(s$predicted, s$observed, control = list(a = s$control),
                            metrics = "pearson_delta"),
               "no samples for some observed contexts")
})

test_that("gim_evaluate gathers per-context warnings into one", {
  s <- make_contexts()
  s$predicted$a[, 2] <- 5 # constant gene: singular KDE bandwidth
  expect_warning(res <- gim_evaluate(s$predicted, s$observed, metrics = "kde_nll"),
                 "Some metrics warned")
  expect_true(all(is.finite(res$kde_nll)))
})

test_that("gim_evaluate validates its inputs", {
  s <- make_contexts()
  expect_error(gim_evaluate(list(s$predicted$a), s$observed), "must be named")
  expect_error(gim_evaluate(s$predicted, list()), "non-empty named list")
  expect_error(gim_evaluate(s$predicted["a"], s$observed), "Missing: \"b\"")
  dup <- c(s$observed, s$observed["a"])
  expect_error(gim_evaluate(s$predicted, dup), "more than once")
  bad <- s$predicted; bad$a <- matrix(0, 4, 2)
  expect_error(gim_evaluate(bad, s$observed), "same number of columns")
  bad$a <- matrix(NA_real_, 4, 3)
  expect_error(gim_evaluate(bad, s$observed), "predicted\\[\\[\"a\"\\]\\]")
  expect_error(gim_evaluate(s$predicted, s$observed, epsilon = 0), "`epsilon`")
  expect_error(gim_evaluate(s$predicted, s$observed, metrics = "w3"), "metrics")
  expect_error(gim_evaluate(s$predicted, s$observed, progress = NA), "`progress`")
})

# Two cells whose mean is `m`.
cells <- function(m) rbind(m - c(1, 0.5), m + c(1, 0.5))

# Perturbation discrimination in plain R: the rank of the own observed mean
# among all observed means by distance from the predicted mean.
hand_discrimination <- function(pred, obs, dist, keep = list()) {
  P <- sapply(pred[names(obs)], colMeans)
  O <- sapply(obs, colMeans)
  n <- ncol(O)
  vapply(seq_len(n), function(i) {
    g <- keep[[colnames(O)[i]]]
    if (is.null(g)) g <- seq_len(nrow(O))
    D <- apply(O[g, , drop = FALSE], 2, function(o) dist(P[g, i] - o))
    (sum(D[-i] < D[i]) + 0.5 * sum(D[-i] == D[i])) / (n - 1)
  }, numeric(1))
}
l1 <- function(x) sum(abs(x))
l2 <- function(x) sqrt(sum(x^2))

test_that("discrimination ranks the own observed mean among all contexts", {
  obs <- list(a = cells(c(0, 0)), b = cells(c(5, 2)), c = cells(c(0, 6)))
  pred <- list(a = cells(c(0, 1)), b = cells(c(2, 2)), c = cells(c(5, 3)))
  # b: own L1 3 < 4 (a) < 6 (c), but own L2 3 > sqrt(8) (a).
  # c: b is closer, a ties with the own one (L1 8 = 8, L2 sqrt(34)).
  res <- gim_evaluate(pred, obs, metrics = "discrimination")
  expect_named(res, c("context", "n_predicted", "n_observed", "discrimination"))
  expect_equal(res$discrimination, c(0, 0, 0.75))
  expect_equal(res$discrimination, hand_discrimination(pred, obs, l1))
  res2 <- gim_evaluate(pred, obs, metrics = "discrimination",
                       discrimination_distance = "l2")
  expect_equal(res2$discrimination, c(0, 0.5, 0.75))
  expect_equal(res2$discrimination, hand_discrimination(pred, obs, l2))
  # Without gene 2, b's prediction (2) is 3 from its own (5), 2 from a and c.
  ex <- gim_evaluate(pred, obs, metrics = "discrimination",
                     exclude_genes = list(b = 2))
  expect_equal(ex$discrimination, c(0, 1, 0.75))
  # Order of the prediction list does not matter; results do not depend on threads.
  expect_identical(gim_evaluate(rev(pred), obs, metrics = "discrimination",
                                n_threads = 2)$discrimination, res$discrimination)
})

test_that("discrimination matches the plain-R ranking on random data", {
  set.seed(3)
  obs <- lapply(setNames(nm = letters[1:6]), function(x) {
    matrix(rnorm(40, mean = rnorm(4)), 10, 4, byrow = TRUE)
  })
  pred <- lapply(obs, function(o) o[1:5, ] + rnorm(20, sd = 0.8))
  keep <- list(b = c(1, 3, 4), e = 2:4)
  for (d in c("l1", "l2")) {
    res <- gim_evaluate(pred, obs, metrics = "discrimination",
                        discrimination_distance = d,
                        exclude_genes = list(b = 2, e = 1))
    expect_equal(res$discrimination,
                 hand_discrimination(pred, obs, get(d), keep), tolerance = 1e-14)
  }
})

test_that("discrimination is NA with a warning for a single context", {
  s <- make_contexts()
  expect_warning(res <- gim_evaluate(s$predicted["a"], s$observed["a"],
                                     metrics = "discrimination"),
                 "at least 2 contexts")
  expect_identical(res$discrimination, NA_real_)
})

test_that("DE agreement compares the top-k genes changed against control", {
  ctl <- rbind(rep(-1, 5), rep(1, 5)) # mean 0
  obs <- list(a = rbind(c(3, -2, 0.5, 0, -4), c(3, -2, 0.5, 0, -4)))
  pred <- list(a = rbind(c(1, 2, 0, 3, -0.1), c(1, 2, 0, 3, -0.1)))
  de <- function(...) {
    unlist(gim_evaluate(pred, obs, control = ctl,
                        metrics = c("de_overlap", "de_sign"), ...)[, 4:5])
  }
  # Observed top 2: genes 5, 1; predicted: 4, 2. Signs agree on 5 and 1.
  expect_equal(de(top_k = 2), c(de_overlap = 0, de_sign = 1))
  # Top 3: {5, 1, 2} and {4, 2, 1}; gene 2 has the wrong sign.
  expect_equal(de(top_k = 3), c(de_overlap = 2 / 3, de_sign = 2 / 3))
  # k is capped at the 5 genes; a change of 0 has its own sign.
  expect_equal(de(top_k = 10), c(de_overlap = 1, de_sign = 2 / 5))
  # Without gene 5: {1, 2} and {4, 2}.
  expect_equal(de(top_k = 2, exclude_genes = list(a = 5)),
               c(de_overlap = 1 / 2, de_sign = 1 / 2))
  expect_named(gim_evaluate(pred, obs, control = ctl, metrics = "de_sign"),
               c("context", "n_predicted", "n_observed", "de_sign"))
})

test_that("DE agreement matches a plain-R computation on random data", {
  s <- make_contexts()
  set.seed(4)
  obs <- lapply(s$observed, function(o) cbind(o, matrix(rnorm(nrow(o) * 5), nrow(o))))
  pred <- lapply(s$predicted, function(p) cbind(p, matrix(rnorm(nrow(p) * 5), nrow(p))))
  ctl <- cbind(s$control, matrix(rnorm(200), 40, 5))
  res <- gim_evaluate(pred, obs, control = ctl, metrics = c("de_overlap", "de_sign"),
                      top_k = 3)
  for (ctx in c("a", "b")) {
    dp <- colMeans(pred[[ctx]]) - colMeans(ctl)
    do <- colMeans(obs[[ctx]]) - colMeans(ctl)
    top_o <- order(-abs(do))[1:3]
    top_p <- order(-abs(dp))[1:3]
    row <- res[res$context == ctx, ]
    expect_equal(row$de_overlap, length(intersect(top_o, top_p)) / 3)
    expect_equal(row$de_sign, mean(sign(dp[top_o]) == sign(do[top_o])))
  }
})

test_that("pearson_delta_perturbed uses the mean of all observed cells pooled", {
  s <- make_contexts()
  res <- gim_evaluate(s$predicted, s$observed, control = s$control,
                      metrics = c("pearson_delta", "pearson_delta_perturbed"))
  expect_named(res, c("context", "n_predicted", "n_observed", "pearson_delta",
                      "pearson_delta_perturbed"))
  pooled <- colMeans(rbind(s$observed$a, s$observed$b)) # 40 and 50 cells
  for (ctx in c("a", "b")) {
    row <- res[res$context == ctx, ]
    expect_equal(row$pearson_delta_perturbed,
                 cor(colMeans(s$predicted[[ctx]]) - pooled,
                     colMeans(s$observed[[ctx]]) - pooled), tolerance = 1e-12)
    expect_identical(row$pearson_delta,
                     pearson_delta(s$predicted[[ctx]], s$observed[[ctx]], s$control))
  }
  # No control needed.
  expect_named(gim_evaluate(s$predicted, s$observed, metrics = "pearson_delta_perturbed"),
               c("context", "n_predicted", "n_observed", "pearson_delta_perturbed"))
})

test_that("exclude_genes leaves genes out of every metric", {
  s <- make_contexts()
  set.seed(6)
  add_genes <- function(l) lapply(l, function(x) {
    x <- cbind(x, x[, 1] * 0.5 + rnorm(nrow(x)))
    colnames(x) <- paste0("g", 1:4)
    x
  })
  pred <- add_genes(s$predicted)
  obs <- add_genes(s$observed)
  ctl <- add_genes(list(s$control))[[1]]
  all_metrics <- c("w2", "mean_distance", "kde_nll", "energy_distance",
                   "pearson_delta", "pearson_delta_perturbed", "de_overlap",
                   "de_sign", "discrimination")
  res <- gim_evaluate(pred, obs, control = ctl, metrics = all_metrics, top_k = 2,
                      exclude_genes = list(a = "g2", zz = "ignored"))
  expect_named(res, c("context", "n_predicted", "n_observed", all_metrics))
  p <- pred$a[, -2]; o <- obs$a[, -2]
  expect_identical(res$w2[1], sinkhorn_w2(p, o))
  expect_identical(res$mean_distance[1], mean_distance(p, o))
  expect_identical(res$kde_nll[1], kde_nll(p, o))
  expect_identical(res$energy_distance[1], energy_distance(p, o))
  expect_identical(res$pearson_delta[1], pearson_delta(p, o, ctl[, -2]))
  pooled <- colMeans(rbind(obs$a, obs$b))[-2]
  expect_equal(res$pearson_delta_perturbed[1],
               cor(colMeans(p) - pooled, colMeans(o) - pooled), tolerance = 1e-12)
  # Context b keeps every gene.
  expect_identical(res$mean_distance[2], mean_distance(pred$b, obs$b))
  # Names, indices and a named vector are the same.
  same <- gim_evaluate(pred, obs, control = ctl, metrics = all_metrics, top_k = 2,
                       exclude_genes = list(a = 2))
  expect_identical(same, res)
  vec <- gim_evaluate(pred, obs, control = ctl, metrics = all_metrics, top_k = 2,
                      exclude_genes = c(a = "g2"))
  expect_identical(vec, res)
  two <- gim_evaluate(pred, obs, metrics = "mean_distance",
                      exclude_genes = c(a = "g2", a = "g4", b = "g1"))
  expect_identical(two$mean_distance,
                   c(mean_distance(pred$a[, c(1, 3)], obs$a[, c(1, 3)]),
                     mean_distance(pred$b[, -1], obs$b[, -1])))
})

# Three contexts apart on their own genes, a replicate drawn like the
# observed cells and a baseline that predicts the next context's shift and a
# little of the opposite of the own one (wrong signs on the own top genes).
make_rescale <- function(seed = 5) {
  set.seed(seed)
  shifts <- list(a = c(3, -3, 0, 0, 0), b = c(0, 0, 3, -3, 0),
                 c = c(-3, 0, 0, 0, 3))
  draw <- function(m, n) matrix(rnorm(n * 5), n, 5) + rep(m, each = n)
  list(observed = lapply(shifts, draw, n = 30),
       replicate = lapply(shifts, draw, n = 30),
       baseline = Map(function(own, nxt) draw(nxt - 0.3 * own, 30),
                      shifts, shifts[c(2, 3, 1)]),
       model = lapply(shifts, function(m) draw(m * 0.7, 30)),
       control = draw(rep(0, 5), 40))
}

test_that("rescaled scores are 0 for the baseline and 1 for the replicate", {
  r <- make_rescale()
  all_metrics <- c("w2", "mean_distance", "kde_nll", "energy_distance",
                   "pearson_delta", "pearson_delta_perturbed", "de_overlap",
                   "de_sign", "discrimination")
  scaled <- paste0(all_metrics, "_scaled")
  ev <- function(pred) {
    gim_evaluate(pred, r$observed, control = r$control, metrics = all_metrics,
                 top_k = 2, baseline = r$baseline, replicate = r$replicate)
  }
  res <- ev(r$model)
  expect_named(res, c("context", "n_predicted", "n_observed", all_metrics, scaled))
  base <- attr(res, "baseline")
  rep <- attr(res, "replicate")
  expect_identical(base, ev(r$baseline)[names(base)])
  expect_identical(rep, ev(r$replicate)[names(rep)])
  for (m in all_metrics) {
    expect_equal(res[[paste0(m, "_scaled")]],
                 (res[[m]] - base[[m]]) / (rep[[m]] - base[[m]]))
  }
  expect_false(anyNA(res[scaled]))
  expect_true(all(as.matrix(ev(r$baseline)[scaled]) == 0))
  expect_true(all(as.matrix(ev(r$replicate)[scaled]) == 1))
  # A shared baseline matrix works as a list repeating it.
  pooled <- do.call(rbind, r$baseline)
  one <- gim_evaluate(r$model, r$observed, metrics = "mean_distance",
                      baseline = pooled, replicate = r$replicate)
  expect_equal(attr(one, "baseline")$mean_distance,
               vapply(r$observed, function(o) mean_distance(pooled, o), numeric(1),
                      USE.NAMES = FALSE))
})

test_that("rescaled scores are NA with a warning when the scale has no meaning", {
  r <- make_rescale()
  expect_warning(
    res <- gim_evaluate(r$model, r$observed, metrics = c("mean_distance", "de_overlap"),
                        control = r$control, top_k = 2,
                        baseline = r$replicate, replicate = r$replicate),
    "score the same"
  )
  expect_true(all(is.na(res$mean_distance_scaled)))
  expect_warning(
    res <- gim_evaluate(r$model, r$observed, metrics = "mean_distance",
                        baseline = r$replicate, replicate = r$baseline),
    "scores worse than the baseline"
  )
  expect_true(all(is.na(res$mean_distance_scaled)))
  expect_false(anyNA(res$mean_distance))
})

test_that("gim_evaluate validates the arguments of the new metrics", {
  s <- make_contexts()
  named <- lapply(s$observed, function(x) `colnames<-`(x, c("g1", "g2", "g3")))
  ev <- function(...) gim_evaluate(s$predicted, s$observed, ...)
  expect_error(ev(metrics = "de_overlap"), "`control` is needed")
  expect_error(ev(metrics = c("de_sign", "pearson_delta")), "`control` is needed")
  expect_error(ev(top_k = 0), "`top_k`")
  expect_error(ev(top_k = 2.5), "`top_k`")
  expect_error(ev(discrimination_distance = "l3"), "discrimination_distance")
  expect_error(ev(exclude_genes = "g1"), "`exclude_genes` must be a list named by context")
  expect_error(ev(exclude_genes = list(1)), "`exclude_genes` must be a list named by context")
  expect_error(ev(exclude_genes = list(zz = 1)), "names none of the contexts")
  expect_error(ev(exclude_genes = list(a = 1, a = 2)), "more than once")
  expect_error(ev(exclude_genes = list(a = "g1")), "has no column names")
  expect_error(gim_evaluate(s$predicted, named, exclude_genes = list(a = "g9")),
               "Unknown: \"g9\"")
  expect_error(ev(exclude_genes = list(a = 4)), "between 1 and 3")
  expect_error(ev(exclude_genes = list(a = NA)), "exclude_genes\\[\\[\"a\"\\]\\]")
  expect_error(ev(exclude_genes = list(a = TRUE)), "exclude_genes\\[\\[\"a\"\\]\\]")
  expect_error(ev(exclude_genes = list(a = 1:3)), "leaves 0 genes")
  expect_error(ev(control = s$control, metrics = "pearson_delta",
                  exclude_genes = list(b = 1:2)), "at least 2")
  expect_identical(ev(metrics = "mean_distance", exclude_genes = list()),
                   ev(metrics = "mean_distance"))
  expect_error(ev(baseline = s$control), "`baseline` and `replicate` go together")
  expect_error(ev(replicate = s$observed), "Only `replicate` was given")
  expect_error(ev(baseline = s$observed["a"], replicate = s$observed),
               "`baseline` has no samples")
  bad <- s$observed; bad$b <- bad$b[, 1:2]
  expect_error(ev(baseline = s$observed, replicate = bad),
               "replicate\\[\\[\"b\"\\]\\]")
  expect_error(ev(baseline = list(s$control), replicate = s$observed), "must be named")
})
