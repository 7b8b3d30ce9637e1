# Reference values: tests/testthat/fixtures/make-kde-reference.py (scipy 1.10
# gaussian_kde, and a direct numpy computation for the numeric bandwidth).
read_kde_reference <- function() {
  cases <- utils::read.csv(test_path("fixtures", "kde-reference.csv"),
                           colClasses = c(case = "character",
                                          bandwidth = "character"))
  data <- utils::read.csv(test_path("fixtures", "kde-reference.data.csv"),
                          colClasses = c(case = "character", role = "character"))
  lapply(seq_len(nrow(cases)), function(r) {
    cs <- cases[r, ]
    sample_matrix <- function(role) {
      rows <- data[data$case == cs$case & data$role == role, ]
      as.matrix(rows[, paste0("x", seq_len(cs$d)), drop = FALSE])
    }
    bw <- cs$bandwidth
    if (!bw %in% c("scott", "silverman")) bw <- as.numeric(bw)
    list(case = cs$case, predicted = sample_matrix("predicted"),
         observed = sample_matrix("observed"), bandwidth = bw,
         expected = cs$expected, m = cs$m, n = cs$n)
  })
}

# The definition, written out in R: whiten with chol(H), log-sum-exp per
# observed row.
naive_kde_nll <- function(predicted, observed, H) {
  L <- t(chol(H))
  P <- forwardsolve(L, t(predicted))
  X <- forwardsolve(L, t(observed))
  log_norm <- log(nrow(predicted)) + ncol(predicted) / 2 * log(2 * pi) +
    sum(log(diag(L)))
  -mean(apply(X, 2, function(x) {
    a <- -colSums((P - x)^2) / 2
    mx <- max(a)
    mx + log(sum(exp(a - mx))) - log_norm
  }))
}

scott_H <- function(x) nrow(x)^(-2 / (ncol(x) + 4)) * stats::cov(x)

test_that("kde_nll matches scipy's gaussian_kde on the reference cases", {
  ref <- read_kde_reference()
  expect_gte(length(ref), 9L)
  for (cs in ref) {
    expect_identical(dim(cs$predicted), c(cs$m, ncol(cs$predicted)))
    expect_identical(nrow(cs$observed), cs$n)
    for (nt in 1:2) {
      got <- kde_nll(cs$predicted, cs$observed, bandwidth = cs$bandwidth,
                     n_threads = nt)
      expect_equal(got, cs$expected, tolerance = 1e-8,
                   label = sprintf("kde_nll on %s, %d thread(s)", cs$case, nt))
    }
  }
})

test_that("the far-away point stays finite and large", {
  far <- Filter(function(cs) cs$case == "d3_far", read_kde_reference())[[1]]
  far_only <- kde_nll(far$predicted, far$observed[far$n, , drop = FALSE])
  expect_true(is.finite(far_only))
  expect_gt(far_only, 1e3)
  expect_gt(far_only, 100 * kde_nll(far$predicted, far$observed[-far$n, , drop = FALSE]))

  set.seed(3)
  pred <- matrix(rnorm(200), 100, 2)
  very_far <- matrix(1e3, 1, 2)
  v <- kde_nll(pred, very_far)
  expect_true(is.finite(v))
  expect_gt(v, 1e6)
  expect_equal(v, naive_kde_nll(pred, very_far, scott_H(pred)), tolerance = 1e-10)
})

test_that("tiling over large m and n agrees with the definition", {
  # The C code holds at most 2^22 cross products at once and splits the
  # predicted samples beyond m = 65536: here 2 tiles of predicted samples and
  # 3 blocks of observed ones, so the running log-sum-exp is exercised.
  set.seed(4)
  m <- 70000L
  pred <- matrix(rnorm(m * 2), m, 2) %*% matrix(c(1, 0.5, 0, 2), 2)
  obs <- matrix(rnorm(150 * 2, sd = 1.5), 150, 2)
  # Far points whose nearest predicted samples are the last ones (second
  # tile), so the running maximum must move between tiles.
  pred[m - 5:0, ] <- 30
  obs[seq(1, 150, by = 7), ] <- 30 + rnorm(44)
  expect_equal(kde_nll(pred, obs), naive_kde_nll(pred, obs, scott_H(pred)),
               tolerance = 1e-11)
  expect_equal(kde_nll(pred, obs, bandwidth = 0.3),
               naive_kde_nll(pred, obs, diag(0.09, 2)), tolerance = 1e-11)
  expect_equal(kde_nll(pred, obs, bandwidth = "silverman"),
               naive_kde_nll(pred, obs, (m * 4 / 4)^(-2 / 6) * stats::cov(pred)),
               tolerance = 1e-11)
  expect_identical(kde_nll(pred, obs, n_threads = 1),
                   kde_nll(pred, obs, n_threads = 2))
})

test_that("results are bit-identical for 1 and 2 threads", {
  set.seed(5)
  pred <- matrix(rnorm(2300 * 6), 2300, 6)
  obs <- matrix(rnorm(2000 * 6, mean = 0.2), 2000, 6)
  expect_identical(kde_nll(pred, obs, n_threads = 1),
                   kde_nll(pred, obs, n_threads = 2))
  expect_identical(kde_nll(pred, obs, bandwidth = 0.4, n_threads = 1),
                   kde_nll(pred, obs, bandwidth = 0.4, n_threads = 2))
  r1 <- .Call(perturbgim:::pg_kde_nll, pred, obs, scott_H(pred), 1L)
  r2 <- .Call(perturbgim:::pg_kde_nll, pred, obs, scott_H(pred), 2L)
  expect_identical(r1, r2)
  expect_length(r1$log_density, 2000L)
})

test_that("kde_nll accepts data frames and sparse matrices", {
  set.seed(6)
  pred <- matrix(rnorm(120), 40, 3)
  obs <- matrix(rnorm(90), 30, 3)
  ref <- kde_nll(pred, obs)
  expect_equal(kde_nll(as.data.frame(pred), Matrix::Matrix(obs, sparse = TRUE)), ref)
  # Shifting both sets together changes nothing.
  expect_equal(kde_nll(pred + 1e5, obs + 1e5), ref, tolerance = 1e-9)
})

test_that("a numeric bandwidth is isotropic and works with one predicted sample", {
  pred <- matrix(c(1, 2), 1, 2)
  obs <- matrix(c(1, 2, 3, 2.5, 2, 0), 3, 2, byrow = TRUE)
  h <- 0.8
  direct <- -mean(rowSums(stats::dnorm(obs, mean = rep(pred, each = 3), sd = h,
                                       log = TRUE)))
  expect_equal(kde_nll(pred, obs, bandwidth = h), direct, tolerance = 1e-13)
  expect_error(kde_nll(pred, obs), "`predicted` must have at least 2 rows")
  expect_error(kde_nll(pred, obs, bandwidth = "silverman"), "at least 2 rows")
})

test_that("a constant column is regularised with a classed warning", {
  set.seed(7)
  pred <- cbind(a = rnorm(50), b = rnorm(50), zero = 0)
  obs <- cbind(a = rnorm(40), b = rnorm(40), zero = 0)
  expect_warning(v <- kde_nll(pred, obs), class = "perturbgim_singular_bandwidth")
  expect_true(is.finite(v))
  expect_warning(kde_nll(pred, obs), "Constant column of `predicted`: \"zero\"")
  # The documented regularisation, written out.
  H <- scott_H(pred)
  H[3, ] <- 0
  H[, 3] <- 0
  diag(H) <- diag(H) + 1e-6 * mean(diag(H))
  expect_equal(suppressWarnings(kde_nll(pred, obs)), naive_kde_nll(pred, obs, H),
               tolerance = 1e-10)
  # A larger ridge, a wider kernel for the constant gene: here observed values
  # equal the constant, so the narrow kernel scores better.
  expect_lt(v, suppressWarnings(kde_nll(pred, obs, ridge = 1e-2)))
  # Observed values off the constant are penalised, but stay finite.
  obs[, 3] <- 0.5
  expect_true(is.finite(suppressWarnings(kde_nll(pred, obs))))
  # ridge = 0 keeps scipy's behaviour: an error.
  expect_error(kde_nll(pred, obs, ridge = 0), class = "perturbgim_singular_bandwidth")
  expect_error(kde_nll(pred, obs, ridge = 0), "Set `ridge` > 0")
  # Unnamed columns are reported by position.
  expect_warning(kde_nll(unname(pred), unname(obs)), "Constant column of `predicted`: \"3\"")
})

test_that("too few predicted samples and collinear columns are regularised", {
  set.seed(8)
  pred <- matrix(rnorm(15), 3, 5)
  obs <- matrix(rnorm(20), 4, 5)
  expect_warning(v <- kde_nll(pred, obs), "3 samples for 5 variables")
  expect_true(is.finite(v))

  pred <- matrix(rnorm(100), 50, 2)
  pred <- cbind(pred, pred[, 1] - 2 * pred[, 2])
  obs <- matrix(rnorm(30), 10, 3)
  expect_warning(v <- kde_nll(pred, obs), "linear", class = "perturbgim_singular_bandwidth")
  expect_true(is.finite(v))
  # A ridge too small to help is an error, not a meaningless number.
  expect_error(suppressWarnings(kde_nll(pred, obs, ridge = 1e-30)),
               "Increase `ridge`")

  # Every column constant: lambda = ridge.
  pred <- matrix(1, 10, 2)
  obs <- matrix(c(1, 1, 1.001, 1), 2, 2, byrow = TRUE)
  expect_warning(v <- kde_nll(pred, obs, ridge = 1e-4), "Constant columns")
  expect_equal(v, naive_kde_nll(pred, obs, diag(1e-4, 2)), tolerance = 1e-12)
})

test_that("kde_nll rejects bad input naming the argument", {
  x <- matrix(rnorm(20), 10, 2)
  expect_error(kde_nll(NULL, x), "`predicted` must be a numeric matrix")
  expect_error(kde_nll(x, NULL), "`observed` must be a numeric matrix")
  expect_error(kde_nll(letters, x), "`predicted` must be a numeric matrix")
  expect_error(kde_nll(1:3, x), "samples in rows")
  bad <- x
  bad[3] <- NA
  expect_error(kde_nll(bad, x), "`predicted` must not contain NA")
  bad[3] <- Inf
  expect_error(kde_nll(x, bad), "`observed` must not contain NA")
  expect_error(kde_nll(x, x[0, , drop = FALSE]), "`observed` must have at least 1 row")
  expect_error(kde_nll(x[0, , drop = FALSE], x), "`predicted` must have at least 1 row")
  expect_error(kde_nll(x, matrix(rnorm(30), 10, 3)), "same number of columns")
  for (bw in list("scot", "SCOTT", NA, NA_character_, NULL, -1, 0, c(1, 2), Inf,
                  1e200, 1e-200, TRUE, list(1))) {
    expect_error(kde_nll(x, x, bandwidth = bw), "`bandwidth` must be",
                 label = paste("bandwidth =", deparse(bw)))
  }
  for (r in list(-1, NA, Inf, "a", c(1, 2), NULL)) {
    expect_error(kde_nll(x, x, ridge = r), "`ridge` must be",
                 label = paste("ridge =", deparse(r)))
  }
  for (nt in list(0, -1, 1.5, NA, "2", NULL)) {
    expect_error(kde_nll(x, x, n_threads = nt), "`n_threads`",
                 label = paste("n_threads =", deparse(nt)))
  }
})

test_that("the pg_kde_nll entry point guards the .Call boundary", {
  x <- matrix(rnorm(20), 10, 2)
  H <- diag(2)
  kde <- function(...) .Call(perturbgim:::pg_kde_nll, ...)
  expect_error(kde(NULL, x, H, 1L), "`predicted` must be a double matrix")
  expect_error(kde(matrix(1L, 3, 2), x, H, 1L), "`predicted` must be a double matrix")
  expect_error(kde(as.vector(x), x, H, 1L), "`predicted` must be a double matrix")
  expect_error(kde(x, NULL, H, 1L), "`observed` must be a double matrix")
  expect_error(kde(x, "a", H, 1L), "`observed` must be a double matrix")
  expect_error(kde(x, matrix(NA_real_, 2, 2), H, 1L), "`observed` must not contain NA")
  expect_error(kde(matrix(NaN, 2, 2), x, H, 1L), "`predicted` must not contain NA")
  expect_error(kde(x, matrix(-Inf, 2, 2), H, 1L), "`observed` must not contain NA")
  expect_error(kde(x[0, , drop = FALSE], x, H, 1L), "`predicted` must have at least 1 row")
  expect_error(kde(x, x[0, , drop = FALSE], H, 1L), "`observed` must have at least 1 row")
  expect_error(kde(x, matrix(0, 3, 0), H, 1L), "`observed` must have at least one column")
  expect_error(kde(x, matrix(0, 3, 3), H, 1L), "`observed` must have the same number of columns")
  expect_error(kde(x, x, NULL, 1L), "`bandwidth` must be a double matrix")
  expect_error(kde(x, x, 1, 1L), "`bandwidth` must be a double matrix")
  expect_error(kde(x, x, diag(3), 1L), "`bandwidth` must be a 2 x 2 matrix")
  expect_error(kde(x, x, matrix(1, 2, 3), 1L), "`bandwidth` must be a 2 x 2 matrix")
  expect_error(kde(x, x, matrix(c(1, 0.5, 0, 1), 2), 1L), "`bandwidth` must be a symmetric")
  expect_error(kde(x, x, matrix(c(1, NA, NA, 1), 2), 1L), "`bandwidth` must not contain NA")
  expect_error(kde(x, x, H, NULL), "`n_threads` must be a single")
  expect_error(kde(x, x, H, 1), "`n_threads` must be a single")
  expect_error(kde(x, x, H, NA_integer_), "`n_threads` must be a single")
  expect_error(kde(x, x, H, 0L), "`n_threads` must be at least 1")
  expect_error(kde(x, x, H, 1:2), "`n_threads` must be a single")
  # A singular or indefinite H is reported, not used.
  for (S in list(matrix(0, 2, 2), matrix(1, 2, 2), diag(c(1, -1)))) {
    res <- kde(x, x, S, 1L)
    expect_false(res$ok)
    expect_null(res$log_density)
  }
  res <- kde(x, x, H, 2L)
  expect_true(res$ok)
  expect_equal(-mean(res$log_density), naive_kde_nll(x, x, H), tolerance = 1e-12)
})
