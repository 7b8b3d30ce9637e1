test_that("edge_f1 counts directed off-diagonal edges", {
  true <- matrix(0, 4, 4)
  true[1, 2] <- true[2, 3] <- true[3, 4] <- 1
  est <- matrix(0, 4, 4)
  est[1, 2] <- 1 # TP
  est[3, 2] <- 1 # FP (reversed), and 2 -> 3 is a FN
  est[1, 4] <- 1 # FP
  # TP = 1, FP = 2, FN = 2 (2 -> 3 and 3 -> 4)
  expect_equal(edge_f1(true, est), 2 / (2 + 2 + 2))
  expect_equal(edge_f1(true, true), 1)
  expect_equal(edge_f1(matrix(0, 3, 3), matrix(0, 3, 3)), 1)
  expect_equal(edge_f1(true, matrix(0, 4, 4)), 0)
})

test_that("edge_f1 ignores the diagonal and accepts logical and sparse input", {
  true <- diag(3)
  true[1, 2] <- 1
  est <- matrix(FALSE, 3, 3)
  est[1, 2] <- TRUE
  expect_equal(edge_f1(true, est), 1)
  expect_equal(edge_f1(Matrix::Matrix(true, sparse = TRUE), est), 1)
})

test_that("edge_f1 agrees with a direct count on random graphs", {
  set.seed(42)
  for (rep in 1:50) {
    d <- sample(2:15, 1)
    a <- matrix(rbinom(d * d, 1, 0.3), d)
    b <- matrix(rbinom(d * d, 1, 0.3), d)
    off <- row(a) != col(a)
    tp <- sum(a[off] & b[off]); fp <- sum(!a[off] & b[off]); fn <- sum(a[off] & !b[off])
    ref <- if (tp + fp + fn == 0) 1 else 2 * tp / (2 * tp + fp + fn)
    expect_equal(edge_f1(a, b), ref)
  }
})

test_that("edge_f1 rejects bad graphs with messages naming the argument", {
  g <- matrix(0, 3, 3)
  expect_error(edge_f1(matrix(0, 2, 3), g), "`true` must be square")
  expect_error(edge_f1(g, matrix(0, 4, 4)), "same number of nodes")
  expect_error(edge_f1(g, NULL), "`est` must be a square")
  expect_error(edge_f1(g, matrix("a", 3, 3)), "`est` must be a square")
  bad <- g; bad[1, 2] <- 2
  expect_error(edge_f1(g, bad), "`est` must contain only 0 and 1")
  bad[1, 2] <- NA
  expect_error(edge_f1(bad, g), "`true` must contain only 0 and 1")
  named <- g; dimnames(named) <- list(letters[1:3], letters[1:3])
  other <- g; dimnames(other) <- list(letters[3:1], letters[3:1])
  expect_error(edge_f1(named, other), "same nodes in the same order")
  odd <- g; dimnames(odd) <- list(letters[1:3], LETTERS[1:3])
  expect_error(edge_f1(odd, g), "same row and column names")
  expect_error(edge_f1(matrix(0, 0, 0), matrix(0, 0, 0)), "at least one node")
})

test_that("target_f1 pools contexts or scores each one", {
  true <- rbind(a = c(1, 0, 0), b = c(0, 1, 1), obs = c(0, 0, 0))
  est <- rbind(a = c(1, 0, 0), b = c(0, 1, 0), obs = c(0, 0, 0))
  # pooled: TP = 2, FP = 0, FN = 1
  expect_equal(target_f1(true, est), 4 / 5)
  expect_equal(target_f1(true, est, average = "none"),
               c(a = 1, b = 2 / 3, obs = 1))
  expect_equal(target_f1(c(1, 0, 1), c(TRUE, FALSE, FALSE)), 2 / 3)
})

test_that("target_f1 validates its inputs", {
  expect_error(target_f1(c(1, 0), c(1, 0, 0)), "same shape")
  expect_error(target_f1(c(1, NA), c(1, 0)), "`true` must contain only 0 and 1")
  expect_error(target_f1(c(1, 0), "a"), "`est` must be a non-empty")
  expect_error(target_f1(numeric(0), numeric(0)), "`true` must be a non-empty")
  expect_error(target_f1(c(1, 0), c(1, 0), average = "macro"), "average")
  a <- rbind(x = c(g1 = 1, g2 = 0))
  b <- rbind(y = c(g1 = 1, g2 = 0))
  expect_error(target_f1(a, b), "same contexts")
})

test_that("pg_f1 guards its .Call boundary", {
  f <- function(...) .Call(perturbgim:::pg_f1, ...)
  expect_error(f(NULL, 1L, FALSE), "`true` must be an integer")
  expect_error(f(1L, 1.5, FALSE), "`est` must be an integer")
  expect_error(f(c(1L, 2L), c(1L, 0L), FALSE), "only 0 and 1")
  expect_error(f(c(1L, 0L), 1L, FALSE), "same length")
  expect_error(f(1L, 1L, NA), "`skip_diagonal` must be TRUE or FALSE")
  expect_error(f(c(1L, 0L), c(1L, 0L), TRUE), "square matrix")
})
