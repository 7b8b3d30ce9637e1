# Three cells per perturbation and cell line, five vehicle cells per cell
# line, and some cells of another drug.
splits_toy <- function() {
  hdac <- c("Belinostat", "Dacinostat", "Givinostat", "Quisinostat")
  pert <- expand.grid(rep = 1:3, drug = hdac, dose_nM = c(10, 100, 1000, 10000),
                      cell_line = c("A549", "K562", "MCF7"),
                      stringsAsFactors = FALSE)
  pert$control <- FALSE
  ctrl <- expand.grid(rep = 1:5, drug = "control", dose_nM = 0,
                      cell_line = c("A549", "K562", "MCF7"),
                      stringsAsFactors = FALSE)
  ctrl$control <- TRUE
  other <- data.frame(rep = 1, drug = "JQ1", dose_nM = 500, cell_line = "A549",
                      control = FALSE)
  ann <- rbind(pert, ctrl, other)
  ann[sample(nrow(ann)), setdiff(names(ann), "rep")]
}

test_that("sciplex_splits() gives the paper's 12 settings", {
  set.seed(3)
  ann <- splits_toy()
  s <- sciplex_splits(ann)
  expect_equal(nrow(s$settings), 12L)
  expect_equal(names(s$splits), s$settings$setting)
  expect_equal(s$settings$setting[1:4],
               paste0("A549_", c("Belinostat", "Dacinostat", "Givinostat",
                                 "Quisinostat")))
  expect_true(all(s$settings$n_test == 3L))
  expect_true(all(s$settings$n_train == 15L * 3L + 5L))
  expect_true(all(s$settings$n_control == 5L))
  for (sp in s$splits) {
    same <- ann$cell_line == sp$cell_line
    is_test <- same & ann$drug == sp$drug & ann$dose_nM == 10000
    is_train <- same & !is_test & ann$drug != "JQ1"
    expect_equal(sp$test, which(is_test))
    expect_equal(sp$train, which(is_train))
    expect_equal(sp$naive, which(same & ann$drug == sp$drug & ann$dose_nM == 1000))
    expect_length(intersect(sp$train, sp$test), 0L)
    # the training perturbations: vehicle plus the other 15
    tr <- unique(paste(ann$drug, ann$dose_nM)[sp$train])
    expect_length(tr, 16L)
    expect_true("control 0" %in% tr)
    expect_equal(sp$dose_nM, 10000)
  }
  # a lower held-out dose; naive then takes the next lower dose present
  s2 <- sciplex_splits(ann, cell_lines = "k562", held_out_dose_nM = 100)
  expect_equal(nrow(s2$settings), 4L)
  expect_true(all(ann$dose_nM[s2$splits[[1]]$naive] == 10))
  skip_if_not_installed("SingleCellExperiment")
  sce <- SingleCellExperiment::SingleCellExperiment(
    assays = list(counts = matrix(0, 1, nrow(ann))),
    colData = S4Vectors::DataFrame(ann))
  expect_equal(sciplex_splits(sce), s)
})

test_that("sciplex_splits() reports bad designs", {
  set.seed(4)
  ann <- splits_toy()
  expect_error(sciplex_splits(ann, cell_lines = "HeLa"), "HeLa.*not found")
  expect_error(sciplex_splits(ann, drugs = c("Belinostat", "Vorinostat")),
               "Vorinostat.*no cells")
  expect_error(sciplex_splits(ann, cell_line = "cell_type"), "no column")
  expect_error(sciplex_splits(ann, held_out_dose_nM = 5), "held_out_dose_nM")
  no_test <- ann[!(ann$cell_line == "MCF7" & ann$drug == "Givinostat" &
                     ann$dose_nM == 10000), ]
  expect_error(sciplex_splits(no_test), "MCF7_Givinostat.*no cells")
  no_ctrl <- ann[!(ann$cell_line == "K562" & ann$control), ]
  expect_error(sciplex_splits(no_ctrl), "K562.*no vehicle")
  gap <- ann[!(ann$cell_line == "A549" & ann$drug == "Dacinostat" &
                 ann$dose_nM == 10), ]
  expect_warning(s <- sciplex_splits(gap, cell_lines = "A549"),
                 "some of the training perturbations have no cells")
  expect_equal(nrow(s$settings), 4L)
  um <- ann
  um$dose_nM <- um$dose_nM / 1000
  expect_error(sciplex_splits(um), "uM")
  expect_error(sciplex_splits(list()), "must be a data frame")
})
