# The codes R and C share, in one table. A name's position in its vector is
# the number the C engine and sampler use (the enums of src/engine_codes.h,
# checked against this table by tests/testthat/test-engine-codes.R through
# .Call(pg_engine_codes)). Adding a mechanism or an intervention type adds
# its name here and its enum constant there.
#
# The user-facing arguments (gim_fit(), scm(), gim_compare(), gim_tune(),
# gim_control()) spell their choices out, in the order that makes their
# default; the tests check that each is a permutation of this table.
engine_codes <- list(
  mechanism = c("linear", "mlp", "zilognormal"),
  intervention = c("hard", "shift"),
  graph_gradient = c("straight_through", "relaxed"),
  beta_I_schedule = c("constant", "cosine", "decreasing"),
  weight_prior = c("all", "masked"),
  graph_samples = c("raw", "dag"),
  acyclicity = c("penalty", "order"),
  mc_estimator = c("marginal", "expected"),
  target_sparsity = c("probability", "softplus", "annealed")
)

# The integer code of `value` in the table `kind`.
engine_code <- function(kind, value) match(value, engine_codes[[kind]])
