# A matrix without attributes other than its dimensions.
plain <- function(m) matrix(m, nrow(m), ncol(m))

# A hand-made design: drugs A and B (one-hot) at doses 1, 2, 5, with two
# replicate contexts of B at dose 2 that share their features; every context
# has its own cell values so that the cells used can be told apart.
naive_toy <- function(n_cells = 4) {
  features <- rbind(A_1 = c(1, 0, 1), A_2 = c(1, 0, 2), B_1 = c(0, 1, 1),
                    B_2 = c(0, 1, 2), B_2r = c(0, 1, 2), B_5 = c(0, 1, 5))
  colnames(features) <- c("drug_A", "drug_B", "dose")
  labels <- c("ctrl", rownames(features))
  context <- rep(labels, each = n_cells)
  # Cell values encode their context: ctrl 0, A_1 10, A_2 20, ...
  x <- cbind(g1 = rep(seq_along(labels) - 1, each = n_cells) * 10 +
               seq_len(n_cells),
             g2 = stats::rnorm(length(context)))
  list(x = x, context = context, features = features)
}

test_that("the naive rule takes the same drug at the closest lower dose", {
  set.seed(1)
  toy <- naive_toy()
  fit <- fit_baseline(toy$x, toy$context, toy$features, method = "naive")
  expect_s3_class(fit, c("perturbgim_baseline_naive", "perturbgim_baseline"),
                  exact = TRUE)
  expect_identical(fit$dose, list(columns = "dose", value = "dose", note = NULL))
  new <- rbind(A_3 = c(1, 0, 3), B_3 = c(0, 1, 3), B_2new = c(0, 1, 2),
               B_9 = c(0, 1, 9), A_1.5 = c(1, 0, 1.5))
  colnames(new) <- colnames(toy$features)
  m <- predict(fit, new, type = "mean")
  # B at 3 lies between 2 (two replicates, pooled) and 5; B at 2 is not
  # predicted by itself but by the strictly lower dose 1.
  expect_identical(attr(m, "reference"),
                   list(A_3 = "A_2", B_3 = c("B_2", "B_2r"), B_2new = "B_1",
                        B_9 = "B_5", A_1.5 = "A_1"))
  cells_of <- function(ctx) toy$x[toy$context %in% ctx, , drop = FALSE]
  expect_equal(m["B_3", ], colMeans(cells_of(c("B_2", "B_2r"))))
  expect_equal(m["A_3", ], colMeans(cells_of("A_2")))
  # n = NULL: the reference cells themselves, in their order.
  s <- predict(fit, new[c("B_3", "A_3"), ])
  expect_equal(plain(s), plain(rbind(cells_of(c("B_2", "B_2r")), cells_of("A_2"))))
  expect_identical(attr(s, "context"), rep(c("B_3", "A_3"), c(8, 4)))
  expect_identical(colnames(s), c("g1", "g2"))
})

test_that("a single dose feature is enough", {
  set.seed(10)
  x <- matrix(stats::rnorm(40), 20, 2, dimnames = list(NULL, c("a", "b")))
  context <- rep(c("ctrl", "d1", "d2", "d4"), each = 5)
  features <- matrix(c(1, 2, 4), 3, 1, dimnames = list(c("d1", "d2", "d4"), "dose"))
  fit <- fit_baseline(x, context, features, method = "naive")
  m <- predict(fit, matrix(c(3, 8), 2, 1, dimnames = list(c("d3", "d8"), "dose")),
               type = "mean")
  expect_identical(attr(m, "reference"), list(d3 = "d2", d8 = "d4"))
  expect_equal(m["d3", ], colMeans(x[context == "d2", ]))
  expect_identical(attr(predict(fit, 1.5, type = "mean"), "reference"), list("1" = "d1"))
})

test_that("samples resample the reference cells with replacement, seeded by R", {
  set.seed(2)
  toy <- naive_toy(n_cells = 6)
  fit <- fit_baseline(toy$x, toy$context, toy$features, method = "naive")
  new <- rbind(A_3 = c(1, 0, 3), B_9 = c(0, 1, 9))
  colnames(new) <- colnames(toy$features)
  set.seed(3)
  s <- predict(fit, new, n = 50)
  expect_equal(dim(s), c(100L, 2L))
  expect_identical(attr(s, "context"), rep(c("A_3", "B_9"), each = 50))
  # Every cell of A_3 is a cell of A_2 (g1 from 31 to 36), and all six of
  # them turn up in 50 draws.
  a <- s[1:50, "g1"]
  expect_true(all(a %in% toy$x[toy$context == "A_2", "g1"]))
  expect_length(unique(a), 6L)
  expect_true(all(s[51:100, "g1"] %in% toy$x[toy$context == "B_5", "g1"]))
  set.seed(3)
  expect_identical(predict(fit, new, n = 50), s)
  # One count per context.
  s2 <- predict(fit, new, n = c(3, 5))
  expect_identical(attr(s2, "context"), rep(c("A_3", "B_9"), c(3, 5)))
})

test_that("reference overrides the rule for the contexts it names", {
  set.seed(4)
  toy <- naive_toy()
  fit <- fit_baseline(toy$x, toy$context, toy$features, method = "naive")
  new <- rbind(A_3 = c(1, 0, 3), B_3 = c(0, 1, 3))
  colnames(new) <- colnames(toy$features)
  m <- predict(fit, new, type = "mean", reference = c(A_3 = "B_5"))
  expect_identical(attr(m, "reference"), list(A_3 = "B_5", B_3 = c("B_2", "B_2r")))
  pooled <- predict(fit, new, type = "mean",
                    reference = list(A_3 = c("A_1", "A_2"), B_3 = "B_1"))
  expect_equal(pooled["A_3", ],
               colMeans(toy$x[toy$context %in% c("A_1", "A_2"), ]))
  # A reference makes the rule unnecessary, even without a dose column.
  no_dose <- toy$features
  colnames(no_dose) <- c("f1", "f2", "f3")
  fit2 <- fit_baseline(toy$x, toy$context, no_dose, method = "naive")
  expect_true(is.na(fit2$dose$value))
  colnames(new) <- colnames(no_dose)
  m2 <- predict(fit2, new, type = "mean", reference = c(A_3 = "A_2", B_3 = "B_1"))
  expect_equal(m2["B_3", ], colMeans(toy$x[toy$context == "B_1", ]))
})

test_that("newdata = NULL predicts the observational cells", {
  set.seed(5)
  toy <- naive_toy()
  fit <- fit_baseline(toy$x, toy$context, toy$features, method = "naive")
  expect_equal(unname(predict(fit, type = "mean")),
               matrix(colMeans(toy$x[toy$context == "ctrl", ]), 1L))
  expect_identical(attr(predict(fit, n = 3), "context"), rep("observational", 3))
})

test_that("on the SciPlex3 design the rule gives the cells of sciplex_splits()", {
  set.seed(6)
  drugs <- c("Belinostat", "Dacinostat", "Givinostat", "Quisinostat")
  doses <- c(10, 100, 1000, 10000)
  grid <- expand.grid(dose_nM = doses, drug = drugs, stringsAsFactors = FALSE)
  ann <- rbind(data.frame(drug = "control", dose_nM = 0, control = TRUE),
               data.frame(drug = grid$drug, dose_nM = grid$dose_nM, control = FALSE))
  ann$context <- ifelse(ann$control, "vehicle", paste(ann$drug, ann$dose_nM, sep = "_"))
  features <- sciplex_features(ann)
  rownames(features) <- ann$context
  features <- features[!ann$control, ]
  cells <- ann[rep(seq_len(nrow(ann)), each = 3), ]
  cells$cell_line <- "A549"
  rownames(cells) <- NULL
  x <- matrix(stats::rnorm(nrow(cells) * 2), ncol = 2,
              dimnames = list(NULL, c("g1", "g2")))
  splits <- suppressWarnings(sciplex_splits(cells))$splits
  for (name in c("A549_Givinostat", "A549_Belinostat")) {
    sp <- splits[[name]]
    held <- unique(cells$context[sp$test])
    fit <- fit_baseline(x[sp$train, ], cells$context[sp$train],
                        features[rownames(features) != held, ], method = "naive")
    expect_identical(fit$dose$value, "dose_value")
    s <- predict(fit, features[held, , drop = FALSE])
    expect_identical(attr(s, "reference")[[held]], paste0(sp$drug, "_1000"))
    expect_equal(plain(s), plain(x[sp$naive, ]))
  }
})

test_that("the naive rule fails with errors that say what to give", {
  set.seed(7)
  toy <- naive_toy()
  fit <- fit_baseline(toy$x, toy$context, toy$features, method = "naive")
  new <- rbind(A_1 = c(1, 0, 1), C_3 = c(0, 0, 3))
  colnames(new) <- colnames(toy$features)
  expect_snapshot(error = TRUE, predict(fit, new[1, , drop = FALSE]))
  expect_snapshot(error = TRUE, predict(fit, new[2, , drop = FALSE]))
  no_dose <- toy$features
  colnames(no_dose) <- c("f1", "f2", "f3")
  fit2 <- fit_baseline(toy$x, toy$context, no_dose, method = "naive")
  expect_snapshot(error = TRUE, predict(fit2, c(f1 = 1, f2 = 0, f3 = 3)))
  expect_snapshot(error = TRUE, predict(fit, new, reference = c("A_2", "B_1")))
  expect_snapshot(error = TRUE, predict(fit, new, reference = c(Z = "A_2")))
  expect_snapshot(error = TRUE, predict(fit, new, reference = c(C_3 = "ctrl")))
  expect_snapshot(error = TRUE, predict(fit, new, reference = list(C_3 = 1)))
  expect_snapshot(error = TRUE,
                  fit_baseline(toy$x, toy$context, toy$features, method = "naive",
                               control = baseline_control(dose = "dosage")))
  # Two indicator columns cannot order doses.
  onehot <- cbind(toy$features[, 1:2], dose_low = c(1, 0, 1, 0, 0, 0),
                  dose_high = c(0, 1, 0, 1, 1, 1))
  expect_snapshot(error = TRUE,
                  fit_baseline(toy$x, toy$context, onehot, method = "naive",
                               control = baseline_control(dose = c("dose_low", "dose_high"))))
  obs <- fit_baseline(toy$x, toy$context, toy$features, method = "observational")
  expect_snapshot(error = TRUE, predict(obs, new, reference = c(C_3 = "A_1")))
})

test_that("the print method names the dose column", {
  set.seed(8)
  toy <- naive_toy()
  fit <- fit_baseline(toy$x, toy$context, toy$features, method = "naive")
  expect_snapshot(print(fit))
  no_dose <- toy$features
  colnames(no_dose) <- c("f1", "f2", "f3")
  expect_snapshot(print(fit_baseline(toy$x, toy$context, no_dose, method = "naive")))
})

test_that("a naive fit survives saveRDS/readRDS", {
  set.seed(9)
  toy <- naive_toy()
  fit <- fit_baseline(toy$x, toy$context, toy$features, method = "naive")
  path <- withr::local_tempfile(fileext = ".rds")
  saveRDS(fit, path)
  new <- c(drug_A = 0, drug_B = 1, dose = 3)
  expect_identical(predict(readRDS(path), new), predict(fit, new))
})
