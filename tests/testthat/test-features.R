hdac <- c("Belinostat", "Dacinostat", "Givinostat", "Quisinostat")

sciplex_design <- function() {
  ann <- expand.grid(drug = hdac, dose_nM = c(10, 100, 1000, 10000),
                     stringsAsFactors = FALSE)
  ann$control <- FALSE
  rbind(data.frame(drug = "control", dose_nM = 0, control = TRUE), ann)
}

test_that("sciplex_features() is exactly the paper's 9-dimensional encoding", {
  ann <- sciplex_design()
  f <- sciplex_features(ann)
  expect_equal(dim(f), c(17L, 9L))
  expect_equal(colnames(f), c(paste0("drug_", hdac), "dose_10nM", "dose_100nM",
                              "dose_1uM", "dose_10uM", "dose_value"))
  expect_equal(unname(f[1, ]), rep(0, 9))
  for (i in 2:17) {
    expected <- c(as.numeric(hdac == ann$drug[i]),
                  as.numeric(c(10, 100, 1000, 10000) == ann$dose_nM[i]),
                  c(0.2, 0.4, 0.6, 0.8)[match(ann$dose_nM[i], c(10, 100, 1000, 10000))])
    expect_equal(unname(f[i, ]), expected)
  }
  # all 16 perturbations distinct
  expect_equal(nrow(unique(f[-1, ])), 16L)
})

test_that("sciplex_features() matches names loosely and reads objects", {
  ann <- data.frame(drug = c("belinostat", "Quisinostat (JNJ-26481585) 2HCl",
                             "Vehicle"),
                    dose_nM = c(10, 10000, 0), row.names = c("a", "b", "c"))
  f <- sciplex_features(ann, control = NULL)
  expect_equal(rownames(f), c("a", "b", "c"))
  expect_equal(unname(f[, "drug_Belinostat"]), c(1, 0, 0))
  expect_equal(unname(f[, "drug_Quisinostat"]), c(0, 1, 0))
  expect_equal(unname(f[, "dose_value"]), c(0.2, 0.8, 0))
  skip_if_not_installed("SingleCellExperiment")
  sce <- SingleCellExperiment::SingleCellExperiment(
    assays = list(counts = matrix(0, 2, 17)),
    colData = S4Vectors::DataFrame(sciplex_design()))
  expect_equal(unname(sciplex_features(sce)), unname(sciplex_features(sciplex_design())))
  expect_equal(unname(sciplex_features(SummarizedExperiment::colData(sce))),
               unname(sciplex_features(sciplex_design())))
})

test_that("sciplex_features() rejects unknown drugs, units and missing data", {
  ann <- sciplex_design()
  expect_error(sciplex_features(ann, drug = "compound"), "no column.*compound")
  expect_error(sciplex_features(ann, control = "vehicle"), "no column.*vehicle")
  bad <- ann
  bad$drug[3] <- "JQ1"
  expect_error(sciplex_features(bad), "Unknown drug.*JQ1")
  um <- ann
  um$dose_nM[-1] <- um$dose_nM[-1] / 1000
  expect_error(sciplex_features(um), "look like doses in uM")
  odd <- ann
  odd$dose_nM[5] <- 50
  expect_error(sciplex_features(odd), "not among")
  chr <- ann
  chr$dose_nM <- as.character(chr$dose_nM)
  expect_error(sciplex_features(chr), "must be numeric")
  na <- ann
  na$dose_nM[4] <- NA
  expect_error(sciplex_features(na), "missing values")
  na_ctrl <- ann
  na_ctrl$control[2] <- NA
  expect_error(sciplex_features(na_ctrl), "logical column without NA")
  expect_error(sciplex_features(matrix(1, 2, 2)), "must be a data frame")
  expect_error(sciplex_features(ann[0, ]), "no rows")
  expect_error(sciplex_features(ann, dose_values = c(1, 2)), "dose_values")
})

test_that("perturbation_features() one-hot encodes and scales", {
  ann <- data.frame(drug = c("control", "B", "A", "A"),
                    dose = c(0, 10, 10, 100),
                    line = factor(c("x", "y", "x", "x"), levels = c("y", "x", "z")),
                    ctrl = c(TRUE, FALSE, FALSE, FALSE))
  f <- perturbation_features(ann, c("drug", "dose", "line"), control = "ctrl")
  expect_equal(colnames(f), c("drug_A", "drug_B", "dose", "line_y", "line_x"))
  expect_equal(unname(f[1, ]), rep(0, 5))
  expect_equal(unname(f[, "drug_A"]), c(0, 0, 1, 1))
  expect_equal(unname(f[, "dose"]), c(0, 0, 0, 1))
  expect_equal(unname(f[, "line_x"]), c(0, 0, 1, 1))
  s <- perturbation_features(ann, "dose", control = ann$ctrl,
                             numeric = "standardize")
  d <- c(10, 10, 100)
  expect_equal(unname(s[-1, 1]), (d - mean(d)) / stats::sd(d))
  n <- perturbation_features(ann, "dose", numeric = "none")
  expect_equal(unname(n[, 1]), ann$dose)
  # a new context with the training encoding
  new <- data.frame(drug = "B", dose = 55, line = "y", ctrl = FALSE)
  g <- perturbation_features(new, reference = f, control = "ctrl")
  expect_equal(unname(g[1, ]), c(0, 1, 0.5, 1, 0))
  expect_error(perturbation_features(data.frame(drug = "C", dose = 1, line = "x"),
                                     reference = f), "not seen")
  expect_error(perturbation_features(ann, "dosage"), "no column.*dosage")
  expect_error(perturbation_features(ann, "drug", reference = 1:3), "reference")
  na <- ann
  na$drug[2] <- NA
  expect_error(perturbation_features(na, "drug"), "missing values")
  expect_error(perturbation_features(ann, "drug", control = c(TRUE, FALSE)),
               "one entry per row")
})

test_that("combination_features() has one column per gene, a 1 per part", {
  labels <- factor(c("control", "B", "A+B", "B", "C + A", "control"))
  f <- combination_features(labels)
  expect_equal(dimnames(f), list(c("B", "A+B", "C + A"), c("A", "B", "C")))
  expect_equal(unname(f), rbind(c(0, 1, 0), c(1, 1, 0), c(1, 0, 1)))
  # new combinations on the training genes, in their column order
  g <- combination_features(c("B+C", "ctrl"), control = "ctrl",
                            genes = colnames(f))
  expect_equal(unname(g), rbind(c(0, 1, 1)))
  expect_equal(colnames(g), colnames(f))
  h <- combination_features(c("A_B", "A"), sep = "_", control = NULL)
  expect_equal(unname(h), rbind(c(1, 1), c(1, 0)))
})

test_that("combination_features() rejects labels it cannot split", {
  expect_snapshot(error = TRUE, {
    combination_features(c("A", "A+"))
    combination_features(c("A+A", "B"))
    combination_features("control")
    combination_features(c("A+D"), genes = c("A", "B"))
    combination_features(1:3)
    combination_features("A", sep = "")
    combination_features("A", genes = c("A", "A"))
  })
})
