test_that("R's code table and C's enums number the same names alike", {
  c_codes <- .Call(pg_engine_codes)
  r_codes <- lapply(engine_codes, function(v) stats::setNames(seq_along(v), v))
  expect_identical(c_codes, r_codes)
  expect_identical(engine_code("mechanism", "zilognormal"), 3L)
  expect_identical(engine_code("beta_I_schedule", c("cosine", "constant")), c(2L, 1L))
})

test_that("every user-facing list of choices is a permutation of the code table", {
  ns <- asNamespace("perturbgim")
  choices <- function(fn, arg) eval(formals(get(fn, envir = ns))[[arg]], ns)
  same_set <- function(x, y) expect_setequal(x, y)
  for (fn in c("gim_fit.default", "gim_compare.default", "gim_tune")) {
    same_set(choices(fn, "mechanism"), engine_codes$mechanism)
    same_set(choices(fn, "intervention"), engine_codes$intervention)
  }
  same_set(choices("scm", "mechanism"), engine_codes$mechanism)
  same_set(choices("sample_scm", "intervention"), engine_codes$intervention)
  for (arg in c("graph_gradient", "beta_I_schedule", "weight_prior", "graph_samples",
                "acyclicity", "mc_estimator", "target_sparsity")) {
    same_set(choices("gim_control", arg), engine_codes[[arg]])
  }
})

test_that("engine settings carry the codes of the table", {
  s <- engine_settings(gim_control(beta_I_schedule = "cosine", weight_prior = "masked",
                                   graph_gradient = "relaxed", target_sparsity = "softplus"),
                       "zilognormal", "shift", d = 4, p = 2)
  expect_identical(s[c("mechanism", "intervention", "graph_gradient", "beta_I_schedule",
                       "weight_prior", "target_sparsity")],
                   list(mechanism = 3, intervention = 2, graph_gradient = 2,
                        beta_I_schedule = 2, weight_prior = 2, target_sparsity = 2))
  default <- engine_settings(gim_control(), "linear", "hard", 4, 2)
  expect_identical(default[c("beta_I_schedule", "target_sparsity", "target_mix")],
                   list(beta_I_schedule = 1, target_sparsity = 3, target_mix = 0))
  # Fits made before the option have none in their control: the paper's term.
  old <- gim_control(target_sparsity = "softplus")
  old$target_sparsity <- NULL
  expect_identical(engine_settings(old, "linear", "hard", 4, 2)$target_sparsity, 1)
})

test_that("psi_sd defaults by mechanism, and an explicit value wins", {
  for (mech in engine_codes$mechanism) {
    expect_identical(engine_settings(gim_control(), mech, "hard", 4, 2)$psi_sd,
                     mechanism_defaults$psi_sd[[mech]])
    expect_identical(engine_settings(gim_control(psi_sd = 0.3), mech, "hard", 4, 2)$psi_sd, 0.3)
  }
  expect_identical(mechanism_defaults$psi_sd[["linear"]], 0)
  expect_setequal(names(mechanism_defaults$psi_sd), engine_codes$mechanism)
  expect_output(print(gim_control()), "psi_sd           NULL (by mechanism: linear 0, mlp 0.1",
                fixed = TRUE)
})
