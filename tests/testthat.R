library(testthat)
library(perturbgim)

test_check("perturbgim")
