# One table for all exported functions: each argument is fed values of the
# wrong kind, and every call must fail with an R error that names the
# argument, without touching the objects it was given.

bad_values <- list(
  "NULL" = NULL,
  "a string" = "a",
  "an empty list" = list(),
  "NA" = NA,
  "a matrix of NA" = matrix(NA_real_, 3, 3),
  "a matrix with Inf" = matrix(c(1, Inf, 0, 1, 2, 3, 1, 0, 1), 3, 3),
  "a matrix with no rows" = matrix(numeric(0), 0, 3),
  "a function" = function() 1
)

set.seed(1)
x3 <- matrix(rnorm(60), 20, 3)
y3 <- matrix(rnorm(60, 1), 20, 3)
g3 <- matrix(c(0, 1, 0, 0, 0, 1, 0, 0, 0), 3, 3, byrow = TRUE)

# A tiny fit for the functions that take one (a few milliseconds to train).
xg <- matrix(rnorm(90), 30, 3, dimnames = list(NULL, c("a", "b", "c")))
ctx <- rep(c("p1", "p2", "obs"), each = 10)
feat <- matrix(c(1, 0, 0, 1), 2, 2, dimnames = list(c("p1", "p2"), c("f1", "f2")))
tiny_control <- gim_control(steps = 10, n_mc = 2, gim_hidden = 4, n_threads = 1)
tiny_fit <- suppressWarnings(gim_fit(xg, ctx, feat, mechanism = "linear",
                                     control = tiny_control, verbose = FALSE))

# function, its valid arguments, and the arguments to corrupt
cases <- list(
  list(f = "gim_fit", args = list(x = xg, context = ctx, features = feat,
                                  control = tiny_control, verbose = FALSE),
       bad = c("x", "context", "features", "control", "verbose")),
  list(f = "gim_control", args = list(),
       bad = c("steps", "n_mc", "learning_rate", "beta_M", "tau", "gim_hidden",
               "holdout", "n_threads")),
  list(f = "intervention_targets", args = list(fit = tiny_fit, features = feat),
       bad = c("fit", "features")),
  list(f = "edge_probabilities", args = list(fit = tiny_fit), bad = "fit"),
  list(f = "fit_baseline", args = list(x = xg, context = ctx, features = feat,
                                       control = baseline_control(steps = 5)),
       bad = c("x", "context", "features", "control")),
  list(f = "baseline_control", args = list(), bad = c("hidden", "learning_rate", "steps")),
  list(f = "causal_graph", args = list(fit = tiny_fit), bad = "fit"),
  list(f = "sid", args = list(true = g3, est = g3), bad = c("true", "est")),
  list(f = "sid_bounds", args = list(true = g3, est = g3), bad = c("true", "est")),
  list(f = "edge_f1", args = list(true = g3, est = g3), bad = c("true", "est")),
  list(f = "target_f1", args = list(true = c(1, 0, 1), est = c(1, 0, 0)),
       bad = c("true", "est")),
  list(f = "mean_distance", args = list(predicted = x3, observed = y3),
       bad = c("predicted", "observed")),
  list(f = "pearson_delta", args = list(predicted = x3, observed = y3, control = x3),
       bad = c("predicted", "observed", "control")),
  list(f = "energy_distance", args = list(predicted = x3, observed = y3),
       bad = c("predicted", "observed", "n_threads")),
  list(f = "sinkhorn", args = list(predicted = x3, observed = y3),
       bad = c("predicted", "observed", "epsilon", "tolerance", "max_iterations",
               "n_threads")),
  list(f = "sinkhorn_w2", args = list(predicted = x3, observed = y3),
       bad = c("predicted", "observed", "epsilon")),
  list(f = "kde_nll", args = list(predicted = x3, observed = y3),
       bad = c("predicted", "observed", "bandwidth", "n_threads")),
  list(f = "gim_evaluate", args = list(predicted = list(a = x3), observed = list(a = y3)),
       bad = c("predicted", "observed", "epsilon", "n_threads")),
  list(f = "scm", args = list(graph = g3), bad = c("graph", "mechanism")),
  list(f = "simulate_gim_benchmark", args = list(d = 5, n_perturbations = 2,
                                                 n_test_perturbations = 1),
       bad = c("d", "n_cells")),
  list(f = "sample_scm", args = list(scm = scm(g3, "linear"), n = 10),
       bad = c("scm", "n")),
  list(f = "simulate_sciplex", args = list(n_cells = 5, n_genes = 300),
       bad = c("n_cells", "n_genes", "rewire"), needs = "SingleCellExperiment"),
  list(f = "preprocess_perturbation", args = list(x = x3), bad = "x"),
  list(f = "sciplex_features",
       args = list(x = data.frame(drug = "control", dose_nM = 0, control = TRUE)),
       bad = "x"),
  list(f = "sciplex_splits",
       args = list(x = data.frame(drug = "control", dose_nM = 0, control = TRUE,
                                  cell_line = "A549")),
       bad = "x"),
  list(f = "read_h5ad", args = list(path = "missing.h5ad"), bad = "path",
       needs = c("hdf5r", "SingleCellExperiment")),
  list(f = "read_sciplex3", args = list(path = "missing.h5ad"), bad = "path",
       needs = c("hdf5r", "SingleCellExperiment"))
)

# A value the function may accept for this argument: skip those pairings.
acceptable <- function(arg, label) {
  (arg %in% c("mechanism") && label == "NULL") ||
    (arg == "bandwidth" && label == "NULL") ||
    # No hidden widths is valid for a baseline: a linear map.
    (arg == "hidden" && label == "a matrix with no rows")
}

for (case in cases) {
  for (arg in case$bad) {
    for (label in names(bad_values)) {
      if (acceptable(arg, label)) next
      test_that(sprintf("%s(%s = <%s>) fails cleanly", case$f, arg, label), {
        for (pkg in case$needs) skip_if_not_installed(pkg)
        args <- case$args
        args[arg] <- list(bad_values[[label]])
        # Serialised bytes, not the objects: an in-place change made by C code
        # would show in the objects and in any copy that shares their memory.
        before <- serialize(args, NULL)
        err <- expect_error(do.call(case$f, args))
        expect_match(conditionMessage(err), arg, fixed = TRUE,
                     label = sprintf("the message of %s(%s = <%s>)", case$f, arg, label))
        expect_identical(serialize(args, NULL), before)
      })
    }
  }
}

test_that("metrics leave their inputs untouched on success", {
  before <- serialize(list(x3, y3, g3), NULL)
  sinkhorn(x3, y3)
  kde_nll(x3, y3)
  energy_distance(x3, y3)
  mean_distance(x3, y3)
  pearson_delta(x3, y3, y3 - 1)
  sid(g3, t(g3))
  gim_evaluate(list(a = x3), list(a = y3), control = y3 - 1)
  expect_identical(serialize(list(x3, y3, g3), NULL), before)
})
