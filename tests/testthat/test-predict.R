# Reference: the intervention of each training-feature row computed here
# from the nets, independently of the package's code.
reference_settings <- function(fit, features) {
  z <- sweep(sweep(features, 2, fit$feature_center), 2, fit$feature_scale, "/")
  prob <- plogis(reference_mlp(fit$phi$targets, z))
  targets <- (prob > 0.5) * 1L
  psi <- lapply(fit$phi$psi, function(net) {
    m <- reference_mlp(net, z)
    m[targets == 0L] <- 0
    m
  })
  list(prob = prob, targets = targets, psi = psi)
}

fitted_scm <- function(fit) scm(test_gim_graph(length(fit$nodes)), fit$mechanism, fit$theta)

# A fit whose nets have no hidden layer and standardisation is the identity,
# so feature row e_r gives exactly the target logits `logit[r, ]` and
# intervention means `mean[r, ]`.
linear_net_fit <- function(logit, mean, d = 4L) {
  p <- nrow(logit)
  fit <- make_test_gim(d = d, p = p, mechanism = "linear")
  fit$feature_center <- rep(0, p)
  fit$feature_scale <- rep(1, p)
  fit$phi$targets <- list(list(weight = logit, bias = rep(0, d)))
  fit$phi$psi$mean <- list(list(weight = mean, bias = rep(0, d)))
  fit$phi$psi$log_sd <- list(list(weight = matrix(0, p, d), bias = rep(log(0.1), d)))
  fit
}

test_that("samples are sample_scm() of the fitted SCM under the predicted interventions", {
  for (mech in c("linear", "mlp", "zilognormal")) {
    for (iv in c("hard", "shift")) {
      if (mech == "zilognormal" && iv == "shift") next # own test below
      fit <- make_test_gim(mechanism = mech, intervention = iv)
      ref <- reference_settings(fit, fit$features)
      set.seed(10)
      x <- predict(fit, fit$features, n = c(3, 0, 4, 2, 5))
      set.seed(10)
      expected <- sample_scm(fitted_scm(fit), c(3, 0, 4, 2, 5),
                             targets = ref$targets, psi = ref$psi,
                             intervention = iv)
      expect_equal(unclass(x)[, ], unclass(expected)[, ], ignore_attr = TRUE,
                   label = paste(mech, iv))
      expect_identical(colnames(x), fit$nodes)
      expect_identical(attr(x, "context"),
                       rep(rownames(fit$features), c(3, 0, 4, 2, 5)))
    }
  }
})

test_that("zero-inflated shifts act on the log scale of the positive part", {
  fit <- make_test_gim(mechanism = "zilognormal", intervention = "shift")
  fit <- set_target_probabilities(fit, c(0.9, 0.1, 0.1, 0.9))
  fit <- set_psi_constant(fit, "shift", c(1.5, 0, 0, -2))
  set.seed(4)
  x <- predict(fit, fit$features[1:2, ], n = 6)
  # Reference: the mechanisms of g1 and g4 with their output bias shifted.
  shifted <- fit$theta
  shifted$b2 <- shifted$b2 + c(1.5, 0, 0, -2)
  set.seed(4)
  expected <- sample_scm(fitted_scm(list(nodes = fit$nodes, mechanism = "zilognormal",
                                         theta = shifted)), 12)
  expect_equal(unclass(x)[, ], expected[, ], ignore_attr = TRUE)
  # Per-cell shifts in a mixture: the sink g4 shifted by -2 in 90% of cells
  # moves its mean log positive value by -1.8.
  sink <- set_psi_constant(fit, "shift", c(0, 0, 0, -2))
  set.seed(5)
  mix <- predict(sink, sink$features[1, ], n = 4000, mixture = TRUE)
  plain <- predict(sink, NULL, n = 4000)
  log_pos <- function(v) log(v[v > 0])
  expect_lt(abs(mean(log_pos(mix[, "g4"])) - mean(log_pos(plain[, "g4"])) + 1.8), 0.1)
  # Zeros stay zeros: the zero fraction of g1 is that of the mechanism.
  set.seed(5)
  big <- predict(fit, fit$features[1, ], n = 4000)
  expect_equal(mean(big[, "g1"] == 0), plogis(fit$theta$zero_logit[["g1"]]),
               tolerance = 0.1)
})

test_that("the observational prediction samples the fitted SCM without targets", {
  fit <- make_test_gim(mechanism = "mlp")
  set.seed(2)
  x <- predict(fit, NULL, n = 7)
  set.seed(2)
  expected <- sample_scm(fitted_scm(fit), 7)
  expect_equal(unclass(x)[, ], expected[, ], ignore_attr = TRUE)
  expect_identical(attr(x, "context"), rep("observational", 7))
  tg <- predict(fit, NULL, type = "targets")
  expect_identical(dim(tg), c(1L, 4L))
  expect_true(all(tg == 0))
})

test_that("targets and parameters come from the nets", {
  fit <- make_test_gim(mechanism = "zilognormal")
  ref <- reference_settings(fit, fit$features)
  tg <- predict(fit, fit$features, type = "targets")
  expect_equal(unname(tg), unname(ref$prob))
  expect_identical(tg, intervention_targets(fit, fit$features))
  par <- predict(fit, fit$features, type = "parameters")
  expect_identical(names(par$psi), c("mean", "log_sd", "zero_logit"))
  expect_identical(unname(par$targets), unname(ref$targets))
  for (nm in names(par$psi)) {
    expect_equal(unname(par$psi[[nm]]), unname(ref$psi[[nm]]))
    raw <- reference_mlp(fit$phi$psi[[nm]],
                         sweep(sweep(fit$features, 2, fit$feature_center), 2,
                               fit$feature_scale, "/"))
    expect_equal(unname(par$psi_raw[[nm]]), unname(raw))
  }
  expect_identical(rownames(par$targets), rownames(fit$features))
})

test_that("the mean is the average of the samples of each context", {
  fit <- make_test_gim(mechanism = "linear", intervention = "shift")
  set.seed(8)
  m <- predict(fit, fit$features, n = 50, type = "mean")
  set.seed(8)
  x <- predict(fit, fit$features, n = 50)
  expected <- rowsum(unclass(x)[, ], attr(x, "context"), reorder = FALSE) / 50
  expect_equal(m, expected)
  expect_identical(dimnames(m), list(rownames(fit$features), fit$nodes))
})

test_that("samples are reproducible under set.seed(), also as a mixture", {
  fit <- make_test_gim()
  for (mixture in c(FALSE, TRUE)) {
    set.seed(99)
    a <- predict(fit, fit$features, n = 20, mixture = mixture)
    set.seed(99)
    b <- predict(fit, fit$features, n = 20, mixture = mixture)
    expect_identical(a, b)
    c <- predict(fit, fit$features, n = 20, mixture = mixture)
    expect_false(identical(a, c))
  }
})

test_that("a mixture draws each cell's targets from their probabilities", {
  fit <- make_test_gim(mechanism = "linear")
  # g2 targeted with probability 0.3, intervened to N(50, 0.1^2): easy to spot.
  fit <- set_target_probabilities(fit, c(1e-9, 0.3, 1e-9, 1e-9))
  fit <- set_psi_constant(fit, "mean", c(0, 50, 0, 0))
  fit <- set_psi_constant(fit, "log_sd", rep(log(0.1), 4))
  set.seed(6)
  x <- predict(fit, fit$features[1:2, ], n = 3000, mixture = TRUE)
  hit <- x[, "g2"] > 25
  expect_equal(mean(hit), 0.3, tolerance = 0.1)
  # Cells stay in context order.
  expect_identical(attr(x, "context"), rep(c("c1", "c2"), each = 3000))
  expect_equal(mean(hit[1:3000]), 0.3, tolerance = 0.1)
  # Intervened cells cut g2 from g1; the others keep the mechanism.
  expect_lt(abs(mean(x[hit, "g2"]) - 50), 0.05)
  # Without mixture, probability 0.3 means no target.
  set.seed(6)
  y <- predict(fit, fit$features[1:2, ], n = 3000)
  expect_false(any(y[, "g2"] > 25))
})

test_that("mixture cells keep their context's probabilities and parameters", {
  # Context a targets g1 with probability 0.9 and g2 with 0.1, context b the
  # reverse; g3, g4 with 0.5 each. An intervened g_j is N(100 j, 0.1^2) in a
  # and N(-100 j, 0.1^2) in b, so each cell shows what it drew.
  logit <- rbind(qlogis(c(0.9, 0.1, 0.5, 0.5)), qlogis(c(0.1, 0.9, 0.5, 0.5)),
                 rep(0, 4))
  mean <- rbind(100 * 1:4, -100 * 1:4, 0)
  fit <- linear_net_fit(logit, mean)
  new <- rbind(a = c(1, 0, 0), b = c(0, 1, 0))
  colnames(new) <- fit$feature_names
  set.seed(7)
  x <- predict(fit, new, n = 3000, mixture = TRUE)
  ctx <- attr(x, "context")
  expect_identical(ctx, rep(c("a", "b"), each = 3000))
  hit_a <- abs(x[ctx == "a", ] - matrix(100 * 1:4, 3000, 4, byrow = TRUE)) < 1
  hit_b <- abs(x[ctx == "b", ] - matrix(-100 * 1:4, 3000, 4, byrow = TRUE)) < 1
  expect_equal(unname(colMeans(hit_a)), c(0.9, 0.1, 0.5, 0.5), tolerance = 0.1)
  expect_equal(unname(colMeans(hit_b)), c(0.1, 0.9, 0.5, 0.5), tolerance = 0.1)
  # Targets are drawn independently across variables.
  expect_equal(mean(hit_a[, 3] & hit_a[, 4]), 0.25, tolerance = 0.1)
  # No cell of a carries the intervention of b on g1, or the other way round.
  expect_false(any(abs(x[ctx == "a", 1] + 100) < 1))
  expect_false(any(abs(x[ctx == "b", 1] - 100) < 1))
})

test_that("combinations take the union of targets and the likelier row's hard parameters", {
  logit <- rbind(a = qlogis(c(0.9, 0.6, 0.1, 0.2)),
                 b = qlogis(c(0.2, 0.8, 0.3, 0.7)),
                 c = qlogis(c(0.1, 0.1, 0.1, 0.1)))
  mean <- rbind(c(10, 20, 30, 40), c(-10, -20, -30, -40), c(1, 2, 3, 4))
  fit <- linear_net_fit(logit, mean)
  colnames(fit$features) <- fit$feature_names
  ea <- c(1, 0, 0)
  eb <- c(0, 1, 0)
  ab <- rbind(a = ea, b = eb)
  colnames(ab) <- fit$feature_names
  par <- predict(fit, ab, type = "parameters", combine = TRUE)
  expect_identical(rownames(par$targets), "a+b")
  expect_identical(unname(par$targets[1, ]), c(1L, 1L, 0L, 1L))
  # g2 is targeted by both rows: parameters of b (0.8 > 0.6); g3, targeted
  # by none, also takes b's (0.3 > 0.1).
  g2 <- -20
  expect_equal(unname(par$psi$mean[1, ]), c(10, g2, 0, -40))
  expect_equal(unname(par$psi_raw$mean[1, ]), c(10, g2, -30, -40))
  # The order of the rows does not matter (no ties here).
  expect_equal(predict(fit, ab[2:1, ], type = "parameters", combine = TRUE)$psi,
               lapply(par$psi, function(m) `rownames<-`(m, "b+a")))
  expect_equal(unname(par$probabilities[1, ]),
               1 - (1 - c(0.9, 0.6, 0.1, 0.2)) * (1 - c(0.2, 0.8, 0.3, 0.7)))
  # The same as a list, together with a single perturbation.
  lst <- predict(fit, list(both = ab, only_a = ab[1, , drop = FALSE]),
                 type = "parameters")
  expect_identical(rownames(lst$targets), c("both", "only_a"))
  expect_identical(unname(lst$targets[2, ]), c(1L, 1L, 0L, 0L))
  expect_equal(unname(lst$psi$mean[1, ]), c(10, g2, 0, -40))
  # Unnamed list elements get labels.
  expect_identical(rownames(predict(fit, list(ab, ab), type = "targets")),
                   c("combination1", "combination2"))
  # Samples: the union applied at once.
  set.seed(3)
  x <- predict(fit, ab, n = 500, combine = TRUE)
  expect_identical(unique(attr(x, "context")), "a+b")
  expect_equal(unname(colMeans(x)[c(1, 2, 4)]), c(10, g2, -40), tolerance = 0.01)
  # Without combine, each row is its own context.
  expect_identical(rownames(predict(fit, ab, type = "targets")), c("a", "b"))
})

test_that("combined shift interventions add the shifts of the rows that target a gene", {
  logit <- rbind(a = qlogis(c(0.9, 0.6, 0.1, 0.2)),
                 b = qlogis(c(0.2, 0.8, 0.3, 0.7)))
  mean <- rbind(c(10, 20, 30, 40), c(-1, -2, -3, -4))
  fit <- linear_net_fit(logit, mean)
  fit$intervention <- "shift"
  fit$phi$psi <- list(shift = fit$phi$psi$mean)
  ab <- rbind(a = c(1, 0), b = c(0, 1))
  colnames(ab) <- fit$feature_names
  par <- predict(fit, ab, type = "parameters", combine = TRUE)
  expect_identical(unname(par$targets[1, ]), c(1L, 1L, 0L, 1L))
  # g2: both rows shift it; g1 and g4: one row each; g3: none (b is likelier).
  expect_equal(unname(par$psi_raw$shift[1, ]), c(10, 18, -3, -4))
  expect_equal(predict(fit, ab[2:1, ], type = "parameters", combine = TRUE)$psi_raw,
               lapply(par$psi_raw, function(m) `rownames<-`(m, "b+a")))
})

test_that("rows without names are labelled by position", {
  fit <- make_test_gim()
  f <- fit$features
  rownames(f) <- NULL
  x <- predict(fit, f, n = 1)
  expect_identical(attr(x, "context"), as.character(1:5))
  expect_identical(attr(predict(fit, f[1:2, ], n = 1, combine = TRUE), "context"),
                   "1+2")
})

test_that("predict() rejects bad arguments", {
  fit <- make_test_gim()
  f <- fit$features
  expect_snapshot(error = TRUE, {
    predict(fit, f, n = -1)
    predict(fit, f, n = 1.5)
    predict(fit, f, n = c(1, 2))
    predict(fit, f[1, , drop = FALSE], n = c(1, 2))
    predict(fit, f, n = c(1, 2, NA, -1, 3))
    predict(fit, f, n = 0, type = "mean")
    predict(fit, f, type = "sample")
    predict(fit, f, mixture = NA)
    predict(fit, f, combine = "yes")
    predict(fit, f, typo = 1)
    predict(fit, f[0, , drop = FALSE])
    predict(fit, list())
    predict(fit, list(a = f, b = f[, 1:2]))
    predict(fit, f[, 1:2])
    predict(fit, "c1")
  })
  expect_error(perturbgim:::predict.gim(list(), f), "gim")
})

test_that("a fit with a cyclic point estimate predicts from the repaired DAG", {
  fit <- make_test_gim(d = 3, mechanism = "linear")
  s <- matrix(-1, 3, 3, dimnames = list(fit$nodes, fit$nodes))
  s["g1", "g2"] <- 2; s["g2", "g3"] <- 2; s["g3", "g1"] <- 0.5
  fit$graph_latent <- latent_from_scores(s)
  expect_warning(x <- predict(fit, NULL, n = 10), class = "perturbgim_cyclic_graph")
  expect_identical(dim(x), c(10L, 3L))
})

test_that("predictions survive saveRDS() and readRDS()", {
  fit <- make_test_gim(mechanism = "zilognormal")
  path <- withr::local_tempfile(fileext = ".rds")
  saveRDS(fit, path)
  back <- readRDS(path)
  expect_identical(back, fit)
  set.seed(1)
  a <- predict(fit, fit$features, n = 10)
  set.seed(1)
  b <- predict(back, back$features, n = 10)
  expect_identical(a, b)
})

test_that("simulate() follows the stats::simulate() conventions", {
  fit <- make_test_gim()
  a <- simulate(fit, nsim = 20, seed = 5)
  b <- simulate(fit, nsim = 20, seed = 5)
  expect_identical(a, b)
  expect_identical(as.vector(attr(a, "seed")), 5)
  expect_identical(attr(attr(a, "seed"), "kind"), as.list(RNGkind()))
  # Observational by default, the same draws as predict() after set.seed().
  set.seed(5)
  expect_identical(unclass(a)[, ], unclass(predict(fit, NULL, n = 20))[, ])
  # A given seed leaves the caller's stream alone.
  set.seed(11)
  u1 <- runif(3)
  set.seed(11)
  simulate(fit, nsim = 5, seed = 1)
  expect_identical(runif(3), u1)
  # Without a seed, the state before sampling is recorded.
  set.seed(12)
  state <- .Random.seed
  x <- simulate(fit, nsim = 5)
  expect_identical(attr(x, "seed"), state)
  # Features and predict() options pass through.
  y <- simulate(fit, nsim = 4, seed = 1, features = fit$features, mixture = TRUE)
  expect_identical(attr(y, "context"), rep(rownames(fit$features), each = 4))
  expect_snapshot(error = TRUE, {
    simulate(fit, nsim = -2)
    simulate(fit, features = fit$features[, 1:2])
    simulate(fit, mixture = 2)
    simulate(fit, typo = 2)
  })
})

test_that("a real fit from gim_fit() predicts every type", {
  real <- real_tiny_fit()
  fit <- real$fit
  new <- real$bench$test_fully_ood$features
  g <- quietly_cyclic(causal_graph(fit))
  expect_false(is.null(perturbgim:::topological_order(g)))
  p <- edge_probabilities(fit)
  expect_true(all(p >= 0 & p <= 1) && all(diag(p) == 0))
  expect_identical(dim(intervention_targets(fit)), c(16L, 5L))
  set.seed(1)
  x <- quietly_cyclic(predict(fit, new, n = 30))
  expect_identical(dim(x), c(30L * nrow(new), 5L))
  expect_identical(unique(attr(x, "context")), rownames(new))
  expect_true(all(is.finite(x)))
  set.seed(1)
  expect_identical(quietly_cyclic(predict(fit, new, n = 30)), x)
  m <- quietly_cyclic(predict(fit, new, n = 100, type = "mean", mixture = TRUE))
  expect_identical(dimnames(m), list(rownames(new), fit$nodes))
  tg <- predict(fit, new, type = "targets")
  expect_identical(tg, intervention_targets(fit, new))
  par <- predict(fit, new[1:2, ], type = "parameters", combine = TRUE)
  expect_identical(names(par$psi), c("mean", "log_sd"))
  expect_identical(unname(par$targets[1, ]),
                   as.integer(colSums(tg[1:2, ] > 0.5) > 0))
  obs <- quietly_cyclic(simulate(fit, nsim = 50, seed = 3))
  expect_identical(dim(obs), c(50L, 5L))
  # The fit survives saveRDS() / readRDS() with identical predictions.
  path <- withr::local_tempfile(fileext = ".rds")
  saveRDS(fit, path)
  back <- readRDS(path)
  expect_identical(quietly_cyclic(simulate(back, nsim = 50, seed = 3)), obs)
})
