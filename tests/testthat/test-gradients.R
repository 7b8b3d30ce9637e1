# Every analytic gradient of the training objective (src/gim_objective.c,
# src/gim_likelihood.c, src/gim_nets.c) against central finite differences,
# for every mechanism x intervention. With fixed (seed, step) the noise is
# fixed, so the objective is a deterministic smooth function of the
# parameters that the finite differences can probe.

settings_grid <- expand.grid(mechanism = c("linear", "mlp", "zilognormal"),
                             intervention = c("hard", "shift"), stringsAsFactors = FALSE)

for (r in seq_len(nrow(settings_grid))) {
  mech <- settings_grid$mechanism[r]
  intv <- settings_grid$intervention[r]

  test_that(paste("relaxed-graph gradients match finite differences:", mech, intv), {
    expect_relaxed_gradients(engine_problem(mech, intv, "relaxed"))
  })

  test_that(paste("straight-through gradients match finite differences:", mech, intv), {
    pr <- engine_problem(mech, intv, "straight_through")
    expect_straight_through_gradients(pr)
    # d J / d graph values, at discrete graphs and at fractional ones. The
    # spectral radius of a 0/1 matrix need not be differentiable (power
    # iteration oscillates on periodic graphs), so discrete graphs are
    # checked without the acyclicity penalty; in training it only ever sees
    # relaxed graphs, whose entries are all positive.
    d <- pr$settings$d
    M <- pr$settings$n_mc
    for (fractional in c(FALSE, TRUE)) {
      g <- array(stats::runif(M * d * d), c(M, d, d))
      g <- aperm(g, c(2, 3, 1))  # d x d x M storage == C's m * d * d + i + d * j
      if (!fractional) {
        g <- (g > 0.5) * 1
        pr$settings$lambda <- pr$settings$mu <- 0
      }
      for (m in seq_len(M)) diag(g[, , m]) <- 0
      g <- as.double(g)
      o <- engine_eval(pr, override = g)
      off <- which(rep(!diag(d), M))
      pick <- off[unique(round(seq(1, length(off), length.out = 20)))]
      fd <- vapply(pick, function(e) {
        up <- g; up[e] <- up[e] + 1e-6
        dn <- g; dn[e] <- dn[e] - 1e-6
        (engine_eval(pr, override = up)$objective - engine_eval(pr, override = dn)$objective) / 2e-6
      }, numeric(1))
      expect_gradient_close(o$dgraph[pick], fd)
    }
  })
}

test_that("the straight-through Z gradient is the chain rule through the relaxation", {
  pr <- engine_problem("mlp", "hard", "straight_through")
  pr$settings$beta_M <- 0
  pr$settings$var_z <- 1e12   # prior gradient negligible
  at <- engine_eval(pr)
  d <- pr$settings$d
  k <- pr$settings$k
  M <- pr$settings$n_mc
  tau <- pr$settings$tau
  gs <- array(at$graph_relaxed, c(d, d, M))
  dg <- array(at$dgraph, c(d, d, M))
  dlogit <- apply(dg * tau * gs * (1 - gs), c(1, 2), sum)
  diag(dlogit) <- 0
  u <- matrix(pr$par[seq_len(d * k)], d, k)
  v <- matrix(pr$par[d * k + seq_len(d * k)], d, k)
  alpha <- pr$settings$alpha
  expected <- c(alpha * dlogit %*% v, alpha * t(dlogit) %*% u)
  got <- at$gradient[seq_len(2 * d * k)] + pr$par[seq_len(2 * d * k)] / 1e12
  expect_equal(got, expected, tolerance = 1e-10)
})

test_that("gradients match finite differences where the cell loops run in register tiles", {
  for (mech in c("linear", "mlp")) {
    pr <- engine_problem(mech, "hard", "straight_through", n_per = c(37L, 21L, 16L, 43L),
                         hidden = 9L)
    at <- engine_eval(pr)
    e <- engine_block_index(pr)[["theta"]]
    e <- e[unique(round(seq(1, length(e), length.out = min(length(e), 40))))]
    j <- function(p) engine_eval(pr, p)$objective
    expect_gradient_close(at$gradient[e], central_difference(j, pr$par, e))
  }
})

test_that("register-tiled cell loops give the cell-by-cell likelihood", {
  # One cell at a time never fills a tile, so the plain loops do all the work.
  for (mech in c("linear", "mlp", "zilognormal")) {
    pr <- engine_problem(mech, "hard", "straight_through", n_per = c(37L, 21L, 16L, 43L),
                         hidden = 9L)
    rows <- pr$design$train_rows
    whole <- .Call(pg_gim_point_loglik, pr$data, pr$par, pr$settings) * length(rows)
    by_cell <- vapply(rows, function(r) {
      .Call(pg_gim_point_loglik, pr$design$block_of(r), pr$par, pr$settings)
    }, numeric(1))
    expect_equal(sum(by_cell), whole, tolerance = 1e-12)
  }
})

test_that("the masked weight prior's gradients match finite differences", {
  for (mech in c("linear", "mlp")) {
    pr <- engine_problem(mech, "hard", "relaxed")
    pr$settings$weight_prior <- 2  # masked
    expect_relaxed_gradients(pr, "graph_latent")
  }
})

test_that("the masked weight prior weighs each edge's weights by its probability", {
  for (mech in c("linear", "mlp")) {
    pr <- engine_problem(mech, "hard", "straight_through")
    parts <- unflatten_parameters(pr$par, pr$blocks, paste0("g", 1:4))
    z <- parts$graph_latent
    prob <- stats::plogis(pr$settings$alpha * z$u %*% t(z$v))
    diag(prob) <- 0
    w <- if (mech == "linear") parts$theta$weights^2 else apply(parts$theta$w1^2, c(2, 3), sum)
    var <- pr$settings$var_theta
    all <- engine_eval(pr)$log_prior
    pr$settings$weight_prior <- 2
    masked <- engine_eval(pr)$log_prior
    # All d x d weights (self-loops included) leave the unmasked prior; the
    # off-diagonal ones come back weighted by their edge probabilities.
    expect_equal(masked - all, sum(w) / (2 * var) - sum(prob * w) / (2 * var), tolerance = 1e-10)
  }
})

test_that("the softplus target sparsity's gradients match finite differences", {
  for (mech in c("linear", "mlp")) {
    for (intv in c("hard", "shift")) {
      pr <- engine_problem(mech, intv, "relaxed")
      pr$settings$target_sparsity <- engine_code("target_sparsity", "softplus") + 0
      expect_relaxed_gradients(pr, "phi")
    }
  }
})

test_that("the annealed target sparsity's gradients match finite differences part-way", {
  for (mech in c("linear", "mlp")) {
    for (intv in c("hard", "shift")) {
      pr <- engine_problem(mech, intv, "relaxed")
      pr$settings$target_sparsity <- engine_code("target_sparsity", "annealed") + 0
      pr$settings$target_mix <- 0.4
      expect_relaxed_gradients(pr, "phi")
    }
  }
})

test_that("the annealed target sparsity mixes the two terms, and its ends are them exactly", {
  pr <- engine_problem("mlp", "shift", "relaxed")
  at <- function(sparsity, mix = 0) {
    pr$settings$target_sparsity <- engine_code("target_sparsity", sparsity) + 0
    pr$settings$target_mix <- mix
    engine_eval(pr)
  }
  probability <- at("probability")
  softplus <- at("softplus")
  mixed <- at("annealed", 0.3)
  expect_equal(mixed$sparsity_targets,
               0.3 * probability$sparsity_targets + 0.7 * softplus$sparsity_targets,
               tolerance = 1e-12)
  # At its ends the mix is either term to the bit, objective and gradient.
  expect_identical(at("annealed", 1)[c("objective", "gradient")],
                   probability[c("objective", "gradient")])
  expect_identical(at("annealed", 0)[c("objective", "gradient")],
                   softplus[c("objective", "gradient")])
  pr$settings$target_sparsity <- engine_code("target_sparsity", "annealed") + 0
  pr$settings$target_mix <- 1.5
  expect_error(engine_eval(pr), "target_mix")
})

test_that("the softplus target sparsity is beta_I log(1 + exp(logit)) per (context, gene)", {
  pr <- engine_problem("mlp", "hard", "relaxed")
  # The target logits from the R mirror of the nets.
  parts <- unflatten_parameters(pr$par, pr$blocks, paste0("g", 1:4))
  logit <- mlp_forward(parts$phi$targets, pr$data$features)
  probability <- engine_eval(pr)
  pr$settings$target_sparsity <- engine_code("target_sparsity", "softplus") + 0
  softplus <- engine_eval(pr)
  expect_equal(probability$sparsity_targets, sum(stats::plogis(logit)), tolerance = 1e-12)
  expect_equal(softplus$sparsity_targets, sum(log1p(exp(logit))), tolerance = 1e-12)
  # At the same parameters the objectives differ by the sparsity term alone.
  expect_equal(softplus$objective - probability$objective,
               pr$settings$beta_I * (probability$sparsity_targets - softplus$sparsity_targets),
               tolerance = 1e-10)
})
