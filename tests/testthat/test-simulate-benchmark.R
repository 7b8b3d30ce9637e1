small_benchmark <- function(...) {
  args <- utils::modifyList(
    list(d = 8, n_perturbations = 6, n_test_perturbations = 3, n_cells = 20,
         n_observational = 60, n_components = 5),
    list(...)
  )
  do.call(simulate_gim_benchmark, args)
}

test_that("the paper-size benchmark has the paper's splits, labels and sizes", {
  set.seed(1)
  b <- simulate_gim_benchmark()
  expect_s3_class(b, "perturbgim_benchmark")
  expect_named(b, c("train", "test_partly_ood", "test_fully_ood", "truth",
                    "settings"))
  nodes <- paste0("x", 1:20)
  # 40 perturbations x 4 dosages x 50 cells + 800 observational cells.
  expect_equal(dim(b$train$x), c(8800L, 20L))
  expect_equal(colnames(b$train$x), nodes)
  expect_equal(sum(b$train$context == "observational"), 800L)
  expect_equal(dim(b$train$features), c(160L, 15L))
  expect_equal(colnames(b$train$features), paste0("PC", 1:15))
  # 40 perturbations x 5 new dosages; 20 new perturbations x 4 dosages.
  expect_equal(dim(b$test_partly_ood$x), c(10000L, 20L))
  expect_equal(dim(b$test_partly_ood$features), c(200L, 15L))
  expect_equal(dim(b$test_fully_ood$x), c(4000L, 20L))
  expect_equal(dim(b$test_fully_ood$features), c(80L, 15L))
  for (split in c("train", "test_partly_ood", "test_fully_ood")) {
    s <- b[[split]]
    expect_length(s$context, nrow(s$x))
    perturbed <- setdiff(unique(s$context), "observational")
    expect_equal(rownames(s$features), perturbed)
    expect_true(all(table(s$context)[perturbed] == 50))
    expect_true(all(b$truth$split[perturbed] == split))
  }
  expect_equal(sort(unique(b$truth$dosage[rownames(b$train$features)])),
               c(0.5, 1, 1.5, 2))
  expect_equal(sort(unique(b$truth$dosage[rownames(b$test_partly_ood$features)])),
               c(0.25, 0.75, 1.25, 1.75, 2.25))
  expect_equal(sort(unique(b$truth$dosage[rownames(b$test_fully_ood$features)])),
               c(0.5, 1, 1.5, 2))
  expect_equal(rownames(b$truth$targets),
               c("observational", rownames(b$train$features),
                 rownames(b$test_partly_ood$features),
                 rownames(b$test_fully_ood$features)))
  expect_equal(b$train$context[801], "P01_c0.5")
  expect_true(all(b$truth$targets["observational", ] == 0))
  expect_s3_class(b$truth$scm, "perturbgim_scm")
  expect_named(b$truth$psi, c("mean", "log_sd"))
})

test_that("set.seed reproduces a benchmark exactly", {
  set.seed(2)
  a <- small_benchmark(graph = "sf", mechanism = "mlp")
  set.seed(2)
  b <- small_benchmark(graph = "sf", mechanism = "mlp")
  expect_identical(a, b)
  expect_false(identical(small_benchmark(graph = "sf", mechanism = "mlp")$train$x,
                         a$train$x))
})

test_that("features are centred on training and test features use its transform", {
  set.seed(3)
  b <- simulate_gim_benchmark(intervention = "shift", n_cells = 2,
                              n_observational = 2)
  tr <- b$truth
  expect_equal(unname(colMeans(b$train$features)), rep(0, 15), tolerance = 1e-12)
  # Recompute by hand: z = (I, psi) with psi the Hill values at the targets.
  z <- cbind(tr$targets, tr$psi)
  train <- rownames(b$train$features)
  center <- colMeans(z[train, ])
  scale <- sqrt(colMeans(sweep(z[train, ], 2, center)^2))
  scale[scale == 0] <- 1
  standardise <- function(rows) sweep(sweep(z[rows, ], 2, center), 2, scale, "/")
  rot <- tr$feature_transform$rotation
  for (split in c("train", "test_partly_ood", "test_fully_ood")) {
    rows <- rownames(b[[split]]$features)
    expect_equal(b[[split]]$features, standardise(rows) %*% rot,
                 tolerance = 1e-10, ignore_attr = TRUE)
  }
  # The rotation is PCA of the standardised training contexts (up to signs).
  pca <- prcomp(standardise(train), center = FALSE)
  expect_equal(abs(unname(rot)), abs(unname(pca$rotation[, 1:15])),
               tolerance = 1e-8)
  expect_equal(abs(unname(b$train$features)), abs(unname(pca$x[, 1:15])),
               tolerance = 1e-8)
  expect_equal(tr$feature_transform$sdev, pca$sdev[1:15], tolerance = 1e-10)
})

test_that("perturbations have 1 or 2 targets and Hill-function parameters", {
  set.seed(4)
  b <- simulate_gim_benchmark(n_cells = 2, n_observational = 2)
  tr <- b$truth
  perturbed <- names(which(!is.na(tr$perturbation)))
  sets <- tapply(perturbed, tr$perturbation[perturbed], function(ctx) {
    t <- tr$targets[ctx, , drop = FALSE]
    # Every context of a perturbation has the same targets.
    expect_true(all(t == rep(t[1, ], each = nrow(t))))
    paste(which(t[1, ] == 1), collapse = "+")
  })
  n_targets <- lengths(strsplit(sets, "+", fixed = TRUE))
  expect_true(all(n_targets %in% 1:2))
  train_p <- unique(tr$perturbation[rownames(b$train$features)])
  partly_p <- unique(tr$perturbation[rownames(b$test_partly_ood$features)])
  fully_p <- unique(tr$perturbation[rownames(b$test_fully_ood$features)])
  # Partly OOD: the same 40 perturbations; fully OOD: 20 new target sets.
  expect_equal(partly_p, train_p)
  expect_length(train_p, 40)
  expect_length(fully_p, 20)
  expect_length(intersect(sets[fully_p], sets[train_p]), 0)
  expect_false(anyDuplicated(sets) > 0)
  # psi is the Hill function of each target at the context's dosage.
  h <- tr$hill
  expect_equal(nrow(h), sum(n_targets))
  expect_true(all(abs(h$lambda) >= 2 & abs(h$lambda) <= 6))
  for (k in c(2, 170, 400)) {
    ctx <- rownames(tr$targets)[k]
    rows <- h[h$perturbation == tr$perturbation[[ctx]], ]
    c <- tr$dosage[[ctx]]
    expect_equal(unname(tr$psi$mean[ctx, rows$target]),
                 rows$lambda / (1 + (0.75 / c)^4))
    expect_equal(unname(tr$psi$log_sd[ctx, rows$target]), rep(log(0.5) / 2, nrow(rows)))
    expect_equal(sum(tr$psi$mean[ctx, ] != 0), nrow(rows))
  }
})

test_that("hard-intervened targets have mean h(c) and variance 0.5", {
  set.seed(5)
  b <- simulate_gim_benchmark(d = 10, n_perturbations = 4,
                              n_test_perturbations = 2, n_cells = 4000,
                              n_observational = 10, n_components = 4,
                              mechanism = "mlp")
  tr <- b$truth
  x <- rbind(b$train$x, b$test_partly_ood$x, b$test_fully_ood$x)
  ctx <- c(b$train$context, b$test_partly_ood$context, b$test_fully_ood$context)
  for (k in names(which(!is.na(tr$perturbation)))) {
    j <- which(tr$targets[k, ] == 1)
    xk <- x[ctx == k, j, drop = FALSE]
    # Standard error of a mean: sqrt(0.5 / 4000) = 0.011.
    expect_lt(max(abs(colMeans(xk) - tr$psi$mean[k, j])), 0.05)
    expect_lt(max(abs(apply(xk, 2, var) - 0.5)), 0.06)
  }
})

test_that("shift interventions move linear SCMs to the closed-form means", {
  set.seed(6)
  b <- simulate_gim_benchmark(d = 6, n_perturbations = 3,
                              n_test_perturbations = 1, n_cells = 4000,
                              n_observational = 4000, n_components = 3,
                              intervention = "shift")
  tr <- b$truth
  p <- tr$scm$parameters
  A <- solve(diag(6) - t(p$weights))
  x <- rbind(b$train$x, b$test_partly_ood$x, b$test_fully_ood$x)
  ctx <- c(b$train$context, b$test_partly_ood$context, b$test_fully_ood$context)
  sd_x <- sqrt(diag(A %*% diag(exp(2 * p$log_sd)) %*% t(A)))
  for (k in rownames(tr$targets)) {
    expected <- drop(A %*% (p$bias + tr$psi[k, ]))
    # Within 5 standard errors of each mean.
    expect_true(all(abs(colMeans(x[ctx == k, ]) - expected) < 5 * sd_x / sqrt(4000)))
  }
})

test_that("ER graphs have 2d edges on average and SF graphs have hubs", {
  set.seed(7)
  d <- 20
  er_edges <- replicate(60, sum(perturbgim:::random_er_dag(d, 2 * d / choose(d, 2))))
  # sd of one count is about 5.6, of the mean of 60 about 0.7.
  expect_lt(abs(mean(er_edges) - 2 * d), 2.5)
  b <- simulate_gim_benchmark(n_cells = 1, n_observational = 1)
  g <- b$truth$scm$graph
  expect_true(all(diag(g) == 0))
  expect_false(is.null(perturbgim:::topological_order(g)))

  # Scale-free: m (d - m) + m (m - 1) / 2 edges, a DAG, and hubs: the largest
  # degree far above that of ER graphs of the same density.
  d <- 100
  max_degree <- function(g) max(rowSums(g) + colSums(g))
  sf <- replicate(10, perturbgim:::random_sf_dag(d, 2), simplify = FALSE)
  er <- replicate(10, perturbgim:::random_er_dag(d, 197 / choose(d, 2)),
                  simplify = FALSE)
  expect_true(all(vapply(sf, sum, numeric(1)) == 2 * 98 + 1))
  expect_true(all(vapply(sf, function(g) !is.null(perturbgim:::topological_order(g)),
                         logical(1))))
  sf_hub <- mean(vapply(sf, max_degree, numeric(1)))
  er_hub <- mean(vapply(er, max_degree, numeric(1)))
  expect_gt(sf_hub, 1.5 * er_hub)
  set.seed(8)
  bs <- simulate_gim_benchmark("sf", n_cells = 1, n_observational = 1)
  expect_equal(sum(bs$truth$scm$graph), 37)
})

test_that("an empty fully-OOD split and the print method work", {
  set.seed(9)
  b <- small_benchmark(n_test_perturbations = 0, n_observational = 0)
  expect_equal(dim(b$test_fully_ood$x), c(0L, 8L))
  expect_length(b$test_fully_ood$context, 0)
  expect_equal(dim(b$test_fully_ood$features), c(0L, 5L))
  expect_false("observational" %in% b$train$context)
  set.seed(10)
  expect_snapshot(print(small_benchmark()))
})

test_that("bad arguments give clear errors", {
  expect_error(simulate_gim_benchmark(graph = "tree"), "must be one of")
  expect_error(simulate_gim_benchmark(mechanism = "zilognormal"), "must be one of")
  expect_error(simulate_gim_benchmark(d = 1), "`d` must be a single whole number >= 2")
  expect_error(simulate_gim_benchmark(n_perturbations = 0), "`n_perturbations` must be")
  expect_error(simulate_gim_benchmark(n_test_perturbations = -1),
               "`n_test_perturbations` must be")
  expect_error(simulate_gim_benchmark(n_cells = 2.5), "`n_cells` must be")
  expect_error(simulate_gim_benchmark(dosages = c(0.5, -1)),
               "`dosages` must be a vector of positive numbers")
  expect_error(simulate_gim_benchmark(test_dosages = c(1, NA)),
               "`test_dosages` must be a vector of positive numbers")
  expect_error(simulate_gim_benchmark(dosages = c(1, 1)), "must not repeat")
  expect_snapshot(simulate_gim_benchmark(test_dosages = c(0.25, 1)), error = TRUE)
  expect_error(simulate_gim_benchmark(d = 5, expected_edges = 11),
               "`expected_edges` must be at most 10")
  expect_error(simulate_gim_benchmark("sf", d = 5, expected_edges = 2),
               "`expected_edges` must be at least 2.5")
  expect_snapshot(simulate_gim_benchmark(d = 3, n_perturbations = 5,
                                         n_test_perturbations = 2,
                                         expected_edges = 2), error = TRUE)
  expect_error(simulate_gim_benchmark(n_components = 41),
               "`n_components` must be at most 40")
  expect_error(simulate_gim_benchmark(noise_var = 0), "`noise_var` must be")
  expect_error(simulate_gim_benchmark(intervention_var = -1),
               "`intervention_var` must be")
  expect_error(simulate_gim_benchmark(n_hiden = 3), "must be empty")
})
