# A small DAG a -> b, a -> c, b -> d, c -> d with hand-picked linear weights.
diamond <- function() {
  nodes <- c("a", "b", "c", "d")
  g <- matrix(0, 4, 4, dimnames = list(nodes, nodes))
  g["a", "b"] <- g["a", "c"] <- g["b", "d"] <- g["c", "d"] <- 1
  g
}

linear_diamond <- function() {
  g <- diamond()
  w <- g * 0
  w["a", "b"] <- 0.8
  w["a", "c"] <- -1.2
  w["b", "d"] <- 0.5
  w["c", "d"] <- 0.7
  scm(g, "linear", parameters = list(
    weights = w, bias = c(1, -0.5, 0.3, 2), log_sd = log(c(1, 0.5, 0.8, 0.6))
  ))
}

# Mean and covariance of x = (I - W^T)^{-1} (b + e), e ~ N(0, diag(sd^2)).
linear_moments <- function(w, b, sd) {
  A <- solve(diag(length(b)) - t(w))
  list(mean = drop(A %*% b), cov = A %*% diag(sd^2) %*% t(A))
}

# Reference sampler in plain R, following the documented contract of the C
# one: N x d standard normals in storage order (then N x d uniforms for
# zilognormal), turned into samples variable by variable in topological order.
reference_sample <- function(m, n, targets, psi, intervention) {
  N <- sum(n)
  d <- nrow(m$graph)
  z <- matrix(rnorm(N * d), N, d)
  u <- if (m$mechanism == "zilognormal") matrix(runif(N * d), N, d)
  x <- z
  ctx <- rep(seq_len(nrow(targets)), n)
  p <- m$parameters
  for (j in perturbgim:::topological_order(m$graph)) {
    pa <- which(m$graph[, j] == 1)
    xp <- x[, pa, drop = FALSE]
    mean <- if (m$mechanism == "linear") {
      p$bias[j] + drop(xp %*% p$weights[pa, j])
    } else {
      h <- nrow(p$b1)
      w1 <- matrix(p$w1[, pa, j], nrow = h)
      pre <- sweep(xp %*% t(w1), 2, p$b1[, j], "+")
      p$b2[j] + drop(tanh(pre) %*% p$w2[, j])
    }
    hit <- targets[ctx, j] == 1
    val <- mean + exp(p$log_sd[j]) * z[, j]
    if (m$mechanism == "zilognormal") {
      val <- ifelse(u[, j] < plogis(p$zero_logit[j]), 0, exp(val))
    }
    if (intervention == "hard") {
      k <- ctx[hit]
      iv <- psi$mean[cbind(k, j)] + exp(psi$log_sd[cbind(k, j)]) * z[hit, j]
      if (m$mechanism == "zilognormal") {
        iv <- ifelse(u[hit, j] < plogis(psi$zero_logit[cbind(ctx[hit], j)]), 0,
                     exp(iv))
      }
      val[hit] <- iv
    } else if (m$mechanism == "zilognormal") {
      val[hit] <- val[hit] * exp(psi[cbind(ctx[hit], j)])   # log-scale shift
    } else {
      val[hit] <- val[hit] + psi[cbind(ctx[hit], j)]
    }
    x[, j] <- val
  }
  x
}

test_that("linear Gaussian samples have the closed-form moments", {
  m <- linear_diamond()
  w <- m$parameters$weights
  b <- m$parameters$bias
  sd <- exp(m$parameters$log_sd)
  targets <- rbind(observational = c(0, 0, 0, 0), hard_b = c(0, 1, 0, 0),
                   shift_ad = c(1, 0, 0, 1), hard_bc = c(0, 1, 1, 0))
  # Hard: b ~ N(3, 0.5^2), c ~ N(-1, 1); shift: a + 1.5, d - 2.
  psi_hard <- list(mean = rbind(0, c(NA, 3, NA, NA), c(NA, 3, -1, NA)),
                   log_sd = rbind(0, c(NA, log(0.5), NA, NA),
                                  c(NA, log(0.5), 0, NA)))
  n <- 60000
  set.seed(10)
  xh <- sample_scm(m, n, targets[c(1, 2, 4), ], psi_hard)
  set.seed(11)
  xs <- sample_scm(m, n, targets[c(1, 3), ], rbind(0, c(1.5, 0, 0, -2)),
                   intervention = "shift")
  ctx_h <- attr(xh, "context")
  ctx_s <- attr(xs, "context")
  expect_equal(ctx_h, rep(1:3, each = n))

  check_moments <- function(x, ref) {
    # Standard errors at n = 60000 are below 0.01 for these scales.
    expect_lt(max(abs(colMeans(x) - ref$mean)), 0.03)
    expect_lt(max(abs(cov(x) - ref$cov)), 0.05)
  }
  check_moments(xh[ctx_h == 1, ], linear_moments(w, b, sd))
  check_moments(xs[ctx_s == 1, ], linear_moments(w, b, sd))
  # Hard on b: incoming edges cut, fixed mean and sd.
  w_b <- w
  w_b[, "b"] <- 0
  check_moments(xh[ctx_h == 2, ],
                linear_moments(w_b, replace(b, 2, 3), replace(sd, 2, 0.5)))
  w_bc <- w_b
  w_bc[, "c"] <- 0
  check_moments(xh[ctx_h == 3, ],
                linear_moments(w_bc, replace(b, 2:3, c(3, -1)),
                               replace(sd, 2:3, c(0.5, 1))))
  # Shift: the mechanisms stay, the shifted values propagate.
  check_moments(xs[ctx_s == 2, ],
                linear_moments(w, b + c(1.5, 0, 0, -2), sd))
})

test_that("samples match a plain-R reference bit for bit (up to rounding)", {
  set.seed(1)
  g <- diamond()
  targets <- rbind(c(0, 0, 0, 0), c(0, 1, 0, 0), c(1, 0, 0, 1))
  n <- c(7, 5, 9)
  for (mech in c("linear", "mlp", "zilognormal")) {
    m <- scm(g, mech, n_hidden = 3)
    hard <- list(mean = matrix(rnorm(12), 3, 4), log_sd = matrix(rnorm(12, sd = 0.3), 3, 4),
                 zero_logit = matrix(rnorm(12), 3, 4))
    if (mech != "zilognormal") hard$zero_logit <- NULL
    shift <- matrix(rnorm(12), 3, 4)
    for (iv in c("hard", "shift")) {
      psi <- if (iv == "hard") hard else shift
      set.seed(42)
      x <- sample_scm(m, n, targets, psi, iv)
      set.seed(42)
      ref <- reference_sample(m, n, targets, psi, iv)
      expect_equal(x, ref, tolerance = 1e-12, ignore_attr = TRUE,
                   info = paste(mech, iv))
    }
  }
})

test_that("MLP mechanisms give the right root mean and noise sd", {
  g <- matrix(0, 2, 2, dimnames = list(c("p", "q"), c("p", "q")))
  g["p", "q"] <- 1
  set.seed(2)
  m <- scm(g, "mlp")
  p <- m$parameters
  root_mean <- unname(p$b2[1] + sum(p$w2[, 1] * tanh(p$b1[, 1])))
  x <- sample_scm(m, 50000)
  expect_lt(abs(mean(x[, "p"]) - root_mean), 0.01)
  expect_equal(sd(x[, "p"]), sqrt(0.1), tolerance = 0.02)
  mlp_q <- p$b2[2] + drop(tanh(outer(x[, "p"], p$w1[, 1, 2]) +
                                 rep(p$b1[, 2], each = nrow(x))) %*% p$w2[, 2])
  resid <- x[, "q"] - mlp_q
  expect_lt(abs(mean(resid)), 0.01)
  expect_equal(sd(resid), sqrt(0.1), tolerance = 0.02)
  # Hard intervention on the child: parents ignored.
  xq <- sample_scm(m, 50000, targets = "q",
                   psi = list(mean = c(0, 5), log_sd = c(0, log(2))))
  expect_equal(mean(xq[, "q"]), 5, tolerance = 0.01)
  expect_equal(sd(xq[, "q"]), 2, tolerance = 0.02)
  expect_lt(abs(cor(xq[, "p"], xq[, "q"])), 0.02)
  # Shift on the root moves its mean only by psi.
  xs <- sample_scm(m, 50000, targets = c(1, 0), psi = c(-3, NA),
                   intervention = "shift")
  expect_lt(abs(mean(xs[, "p"]) - (root_mean - 3)), 0.01)
})

test_that("zero-inflated log-normal samples have the right zeros and logs", {
  g <- matrix(0, 2, 2, dimnames = list(c("p", "q"), c("p", "q")))
  g["p", "q"] <- 1
  set.seed(3)
  m <- scm(g, "zilognormal")
  p <- m$parameters
  x <- sample_scm(m, 50000)
  expect_true(all(x >= 0))
  expect_equal(mean(x[, "p"] == 0), plogis(p$zero_logit[["p"]]), tolerance = 0.03)
  expect_equal(mean(x[, "q"] == 0), plogis(p$zero_logit[["q"]]), tolerance = 0.03)
  logs <- log(x[x[, "p"] > 0, "p"])
  expect_lt(abs(mean(logs) - (p$b2[[1]] + sum(p$w2[, 1] * tanh(p$b1[, 1])))), 0.01)
  expect_equal(sd(logs), sqrt(0.1), tolerance = 0.03)
  # Hard: zero probability and log-normal part from psi.
  xh <- sample_scm(m, 50000, targets = "q",
                   psi = list(mean = c(0, 1), log_sd = c(0, log(0.3)),
                              zero_logit = c(0, qlogis(0.7))))
  expect_equal(mean(xh[, "q"] == 0), 0.7, tolerance = 0.02)
  expect_equal(mean(log(xh[xh[, "q"] > 0, "q"])), 1, tolerance = 0.02)
  # Shift acts on the log of the positive part; zeros stay zero.
  set.seed(4)
  x0 <- sample_scm(m, 2000)
  set.seed(4)
  xs <- sample_scm(m, 2000, targets = "p", psi = c(0.5, 0), intervention = "shift")
  expect_equal(unname(xs[, "p"]), unname(x0[, "p"]) * exp(0.5))
  expect_identical(xs[, "p"] == 0, x0[, "p"] == 0)
})

test_that("set.seed reproduces samples and random parameters exactly", {
  g <- diamond()
  set.seed(5)
  m1 <- scm(g, "mlp")
  x1 <- sample_scm(m1, 100)
  set.seed(5)
  m2 <- scm(g, "mlp")
  x2 <- sample_scm(m2, 100)
  expect_identical(m1, m2)
  expect_identical(x1, x2)
  expect_false(identical(sample_scm(m1, 100), x1))
})

test_that("scm objects hold the documented layout and survive saveRDS", {
  set.seed(6)
  g <- diamond()
  lin <- scm(g, "linear")
  expect_s3_class(lin, "perturbgim_scm")
  expect_named(lin$parameters, c("weights", "bias", "log_sd"))
  expect_equal(lin$parameters$log_sd, rep(log(0.1) / 2, 4), ignore_attr = TRUE)
  w <- lin$parameters$weights
  expect_true(all(w[g == 0] == 0))
  expect_true(all(abs(w[g == 1]) >= 0.25 & abs(w[g == 1]) <= 3))
  expect_true(all(lin$parameters$bias == 0))
  zi <- scm(g, "zilognormal", n_hidden = 4, noise_var = 0.2)
  expect_named(zi$parameters, c("w1", "b1", "w2", "b2", "log_sd", "zero_logit"))
  expect_equal(dim(zi$parameters$w1), c(4, 4, 4))
  expect_equal(dim(zi$parameters$b1), c(4, 4))
  expect_true(all(apply(zi$parameters$w1, 1, function(w) all(w[g == 0] == 0))))
  expect_equal(unname(exp(2 * zi$parameters$log_sd)), rep(0.2, 4))
  path <- withr::local_tempfile(fileext = ".rds")
  saveRDS(zi, path)
  back <- readRDS(path)
  expect_identical(back, zi)
  set.seed(7)
  a <- sample_scm(zi, 10)
  set.seed(7)
  expect_identical(sample_scm(back, 10), a)
  # Samples carry the variable names; one variable works too.
  expect_equal(colnames(a), c("a", "b", "c", "d"))
  one <- scm(matrix(0, 1, 1), "linear")
  expect_equal(dim(sample_scm(one, 3)), c(3L, 1L))
  expect_equal(dim(sample_scm(lin, 0)), c(0L, 4L))
})

test_that("print shows size, mechanism and noise", {
  g <- diamond()
  m <- linear_diamond()
  expect_snapshot(print(m))
  set.seed(8)
  expect_snapshot(print(scm(g, "zilognormal", n_hidden = 2)))
  capture.output(res <- withVisible(print(m)))
  expect_false(res$visible)
  expect_identical(res$value, m)
})

test_that("scm rejects bad graphs and parameters with clear errors", {
  g <- diamond()
  cyc <- g
  cyc["d", "a"] <- 1
  expect_snapshot(scm(cyc, "linear"), error = TRUE)
  expect_error(scm(g, "quadratic"), "must be one of")
  expect_error(scm(g, "linear", noise_var = -1), "`noise_var` must be a single positive")
  expect_error(scm(g, "mlp", n_hidden = 0), "`n_hidden` must be")
  expect_error(scm(g, "linear", 5), "`parameters` must be a named list")
  expect_error(scm(g, "linear", nosie_var = 1), "must be empty")
  good <- linear_diamond()$parameters
  expect_snapshot(scm(g, "linear", good[c("weights", "bias")]), error = TRUE)
  expect_snapshot(scm(g, "linear", c(good, list(w1 = 1))), error = TRUE)
  expect_snapshot(scm(g, "linear", replace(good, "weights", list(diag(3)))),
                  error = TRUE)
  expect_error(scm(g, "linear", replace(good, "bias", list(1:3))),
               "`parameters\\$bias` must be a numeric vector of length 4")
  expect_error(scm(g, "linear", replace(good, "log_sd", list(c(0, NA, 0, 0)))),
               "`parameters\\$log_sd` must not contain NA")
  expect_error(scm(g, "linear", replace(good, "bias", list(c(0, Inf, 0, 0)))),
               "`parameters\\$bias` must not contain NA")
  expect_error(scm(g, "linear", replace(good, "bias", list(letters[1:4]))),
               "`parameters\\$bias` must be a numeric vector")
  set.seed(9)
  mp <- scm(g, "mlp")$parameters
  expect_error(scm(g, "mlp", replace(mp, "w1", list(matrix(0, 5, 4)))),
               "`parameters\\$w1` must be a hidden x 4 x 4 array")
  expect_error(scm(g, "mlp", replace(mp, "b1", list(matrix(0, 3, 4)))),
               "`parameters\\$b1` must be a numeric 5 x 4 matrix")
  expect_error(scm(g, "zilognormal", mp), "misses zero_logit")
  # A corrupted object is caught before sampling.
  bad <- linear_diamond()
  bad$graph["d", "a"] <- 1L
  expect_error(sample_scm(bad, 5), "`scm\\$graph` must be acyclic")
  expect_error(sample_scm(list(), 5), "must be a <perturbgim_scm> object")
})

test_that("sample_scm rejects bad n, targets and psi with clear errors", {
  m <- linear_diamond()
  hard <- list(mean = c(0, 1, 0, 0), log_sd = c(0, 0, 0, 0))
  expect_snapshot(sample_scm(m, -1), error = TRUE)
  expect_error(sample_scm(m, 2.5), "`n` must be a single whole number")
  expect_error(sample_scm(m, NA), "`n` must be a single whole number")
  expect_error(sample_scm(m, c(1, 2)), "`n` must be a single whole number")
  expect_error(sample_scm(m, c(1, 2, 3), targets = diag(4)[1:2, ], psi = hard),
               "or 2 of them")
  expect_snapshot(sample_scm(m, 5, targets = c(0, 1, 0)), error = TRUE)
  expect_error(sample_scm(m, 5, targets = c(0, 2, 0, 0), psi = hard),
               "`targets` must contain only 0 and 1")
  expect_error(sample_scm(m, 5, targets = c(0, NA, 0, 0), psi = hard),
               "`targets` must contain only 0 and 1")
  expect_error(sample_scm(m, 5, targets = matrix(0, 2, 3)),
               "`targets` must have 4 columns")
  expect_error(sample_scm(m, 5, targets = "z", psi = hard), "unknown variable")
  expect_error(sample_scm(m, 5, targets = list(1)), "`targets` must be a 0/1 vector")
  expect_snapshot(sample_scm(m, 5, targets = "b"), error = TRUE)
  expect_error(sample_scm(m, 5, targets = "b", psi = hard["mean"]),
               "`psi` misses log_sd")
  expect_error(sample_scm(m, 5, targets = "b", psi = c(hard, shift = 1)),
               "`psi` has element shift")
  expect_error(sample_scm(m, 5, targets = "b", psi = c(1, 2, 3, 4)),
               "`psi` must be a named list with mean and log_sd")
  expect_error(sample_scm(m, 5, targets = "b",
                          psi = list(mean = c(0, NA, 0, 0), log_sd = rep(0, 4))),
               "`psi\\$mean` must be finite for every targeted variable")
  expect_error(sample_scm(m, 5, targets = "b",
                          psi = list(mean = 1:3, log_sd = rep(0, 4))),
               "`psi\\$mean` must have length 4")
  expect_error(sample_scm(m, 5, targets = diag(4)[1:2, ],
                          psi = list(mean = matrix(0, 3, 4), log_sd = rep(0, 4))),
               "2 x 4 matrix")
  expect_error(sample_scm(m, 5, targets = "b", intervention = "shift"),
               "`psi` must be given for shift interventions")
  expect_error(sample_scm(m, 5, targets = "b", psi = c(0, Inf, 0, 0),
                          intervention = "shift"),
               "`psi` must be finite for every targeted variable")
  expect_error(sample_scm(m, 5, intervention = "soft"), "must be one of")
  # psi is not needed when nothing is targeted.
  expect_equal(dim(sample_scm(m, 5, targets = c(0, 0, 0, 0))), c(5L, 4L))
})

test_that("the .Call entry point fails cleanly on bad input", {
  m <- linear_diamond()
  g <- m$graph
  p <- m$parameters
  tg <- matrix(c(0L, 1L, 0L, 0L), 1, 4)
  psi <- list(mean = matrix(0, 1, 4), log_sd = matrix(0, 1, 4))
  s <- function(graph = g, mech = 1L, params = p, targets = tg, ps = psi,
                iv = 1L, n = 3L) {
    .Call(perturbgim:::pg_scm_sample, graph, mech, params, targets, ps, iv, n)
  }
  expect_equal(dim(s()), c(3L, 4L))
  expect_error(s(graph = NULL), "`graph` must be an integer adjacency matrix")
  expect_error(s(graph = g * 1.0), "`graph` must be an integer adjacency matrix")
  expect_error(s(graph = matrix(0L, 4, 3)), "`graph` must be square")
  cyc <- g
  cyc[4, 1] <- 1L
  expect_error(s(graph = cyc), "`graph` must be acyclic")
  expect_error(s(graph = replace(g, 1, 2L)), "`graph` must contain only 0 and 1")
  expect_error(s(mech = NULL), "`mechanism` must be a single non-missing integer")
  expect_error(s(mech = 4L), "`mechanism` must be 1")
  expect_error(s(mech = NA_integer_), "`mechanism` must be a single")
  expect_error(s(params = NULL), "`parameters` must be a list")
  expect_error(s(params = unname(p)), "`parameters` must have an element `log_sd`")
  expect_error(s(params = p[-2]), "`parameters` must have an element `bias`")
  expect_error(s(params = replace(p, "bias", list(1:4))),
               "`parameters\\$bias` must be a double vector")
  expect_error(s(params = replace(p, "bias", list(c(1, 2)))),
               "`parameters\\$bias` must have length 4")
  expect_error(s(params = replace(p, "weights", list(as.vector(p$weights)))),
               "`parameters\\$weights` must be a 4 x 4 matrix")
  expect_error(s(params = replace(p, "log_sd", list(c(0, NaN, 0, 0)))),
               "`parameters\\$log_sd` must not contain NA")
  expect_error(s(mech = 2L), "`parameters` must have an element `w1`")
  mp <- list(w1 = array(0, c(2, 4, 3)), b1 = matrix(0, 2, 4), w2 = matrix(0, 2, 4),
             b2 = rep(0, 4), log_sd = rep(0, 4))
  expect_error(s(mech = 2L, params = mp), "`parameters\\$w1` must be a 2 x 4 x 4 array")
  mp$w1 <- matrix(0, 2, 4)
  expect_error(s(mech = 2L, params = mp), "`parameters\\$w1` must be a hidden x 4 x 4 array")
  expect_error(s(targets = NULL), "`targets` must be an integer matrix")
  expect_error(s(targets = tg * 1.0), "`targets` must be an integer matrix")
  expect_error(s(targets = matrix(0L, 1, 3)), "`targets` must have 4 columns")
  expect_error(s(targets = matrix(0L, 0, 4), n = integer(0)),
               "`targets` must have at least one row")
  expect_error(s(targets = replace(tg, 1, NA)), "`targets` must contain only 0 and 1")
  expect_error(s(ps = NULL), "`psi` must be a list")
  expect_error(s(ps = psi[1]), "`psi` must have an element `log_sd`")
  expect_error(s(ps = list(mean = matrix(0, 2, 4), log_sd = matrix(0, 1, 4))),
               "`psi\\$mean` must be a 1 x 4 matrix")
  expect_error(s(ps = list(mean = matrix(NaN, 1, 4), log_sd = matrix(0, 1, 4))),
               "`psi\\$mean` must not contain NA")
  expect_error(s(iv = 2L), "`psi` must have an element `shift`")
  expect_error(s(mech = 3L, params = c(mp, zero_logit = 1)), "`parameters\\$w1`")
  expect_error(s(iv = 0L), "`intervention` must be 1 \\(hard\\) or 2 \\(shift\\)")
  expect_error(s(iv = "hard"), "`intervention` must be a single non-missing integer")
  expect_error(s(n = -1L), "`n` must contain non-negative whole numbers")
  expect_error(s(n = NA_integer_), "`n` must contain non-negative")
  expect_error(s(n = 3), "`n` must be an integer vector of length 1")
  expect_error(s(n = c(1L, 2L)), "`n` must be an integer vector of length 1")
  expect_error(s(targets = rbind(tg, tg), n = c(.Machine$integer.max, 1L),
                 ps = list(mean = matrix(0, 2, 4), log_sd = matrix(0, 2, 4))),
               "at most")
})
