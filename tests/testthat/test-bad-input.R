# Bad input, systematically (issue 6). One table: every exported function
# and S3 method x its arguments x the values of the argument's kind. Every
# pairing must either fail with an R error whose message names the argument
# (`arg`, as cli and the C checks write it) or, where the value is valid,
# succeed; and in both cases leave the objects it was given untouched.
# After the table: targeted cases for names, labels and dimensions, huge and
# tiny values, and direct calls of the engine's .Call entry points.

# ---- Fixtures: small valid inputs (a few milliseconds each) ---------------

set.seed(1)
x3 <- matrix(rnorm(60), 20, 3, dimnames = list(NULL, c("a", "b", "c")))
y3 <- matrix(rnorm(60, 1), 20, 3, dimnames = list(NULL, c("a", "b", "c")))
g3 <- matrix(c(0, 1, 0, 0, 0, 1, 0, 0, 0), 3, 3, byrow = TRUE)

# Three perturbed contexts at three doses plus observational cells.
xg <- matrix(rnorm(120), 40, 3, dimnames = list(NULL, c("a", "b", "c")))
ctx <- rep(c("p1", "p2", "p3", "obs"), each = 10)
feat <- matrix(c(0.5, 1, 2, 1, 0, 1), 3, 2,
               dimnames = list(c("p1", "p2", "p3"), c("dose", "kind")))
new_feat <- matrix(c(1.5, 0), 1, 2, dimnames = list("p4", c("dose", "kind")))
tiny_control <- gim_control(steps = 10, n_mc = 2, gim_hidden = 4, n_threads = 1)
tiny_fit <- suppressWarnings(gim_fit(xg, ctx, feat, mechanism = "linear",
                                     control = tiny_control, verbose = FALSE))
tiny_bcontrol <- baseline_control(hidden = 4, steps = 5)
tiny_baseline <- fit_baseline(xg, ctx, feat, control = tiny_bcontrol)
tiny_naive <- fit_baseline(xg, ctx, feat, method = "naive")
tiny_scm <- scm(g3, "linear")
metric_table <- data.frame(method = rep(c("A", "B"), each = 2),
                           context = rep(c("p1", "p2"), 2),
                           mean_distance = c(0.1, 0.2, 0.3, 0.4))
annotation <- data.frame(drug = c("control", rep(c("Belinostat", "Quisinostat"), each = 2)),
                         dose_nM = c(0, 10, 10000, 10, 10000),
                         control = c(TRUE, FALSE, FALSE, FALSE, FALSE), cell_line = "A549")
set.seed(2)
counts <- matrix(rpois(60 * 30, 5), 60, 30, dimnames = list(NULL, paste0("g", 1:30)))
drug <- rep(c("control", "A", "B"), each = 20)
counts[drug == "A", 1:3] <- counts[drug == "A", 1:3] + 10

# ---- Value generators: the wrong values of each kind of argument ----------

common_bad <- function() {
  list("NULL" = NULL, "a string" = "a", "an empty list" = list(), "NA" = NA,
       "a function" = function() 1)
}

bad_values <- list(
  count = function() c(common_bad(), list(
    "NaN" = NaN, "Inf" = Inf, "-1" = -1, "0" = 0, "1.5" = 1.5, "two numbers" = c(2, 3),
    "2^31 (integer overflow)" = 2^31, "1e300" = 1e300, "TRUE" = TRUE,
    "a factor" = factor(3))),
  number = function() c(common_bad(), list(
    "NaN" = NaN, "Inf" = Inf, "-Inf" = -Inf, "-1" = -1, "0" = 0,
    "two numbers" = c(1, 2), "a numeric string" = "0.1", "1e300" = 1e300,
    "1e-300" = 1e-300)),
  flag = function() c(common_bad(), list(
    "two flags" = c(TRUE, FALSE), "1" = 1, "\"TRUE\"" = "TRUE")),
  choice = function() list(
    "a wrong string" = "nonsense", "NA" = NA_character_, "a number" = 1,
    "no strings" = character(0), "a function" = function() 1, "an empty list" = list()),
  matrix = function() c(common_bad(), list(
    "a numeric vector" = c(1, 2, 3), "a character matrix" = matrix("a", 3, 3),
    "a complex matrix" = matrix(1i, 3, 3),
    "a matrix with NA" = replace(x3, 5, NA), "a matrix with NaN" = replace(x3, 5, NaN),
    "a matrix with Inf" = replace(x3, 5, Inf), "a matrix with -Inf" = replace(x3, 5, -Inf),
    "a matrix with no rows" = x3[0, ], "a matrix with no columns" = x3[, 0],
    "a data frame with a text column" = data.frame(a = 1:3, b = "x"),
    "an array" = array(1, c(2, 3, 3)))),
  labels = function() c(common_bad(), list(
    "one label short" = ctx[-1], "one label too many" = c(ctx, "obs"),
    "an NA label" = replace(ctx, 3, NA), "an empty label" = replace(ctx, 3, ""),
    "a list of labels" = as.list(ctx), "a matrix of labels" = matrix(ctx, 20, 2))),
  features = function() c(common_bad(), list(
    "a numeric vector" = c(1, 2), "a character matrix" = matrix("a", 3, 2),
    "no rownames" = unname(feat), "duplicated rownames" = feat[c(1, 1, 2), ],
    "a row for an unknown context" = rbind(feat, zz = c(1, 1)),
    "a matrix with NA" = replace(feat, 2, NA), "a matrix with Inf" = replace(feat, 2, Inf),
    "a matrix with no rows" = feat[0, ], "a matrix with no columns" = feat[, 0],
    "too many columns" = cbind(feat, extra = 1))),
  fit = function() c(common_bad(), list(
    "an unclassed gim" = unclass(tiny_fit),
    "an empty gim" = structure(list(), class = "gim"),
    "a gim without theta" = within_list(tiny_fit, theta = NULL),
    "a gim with alpha -1" = within_list(tiny_fit, alpha = -1),
    "a gim with NaN latents" = within_list(tiny_fit, graph_latent = lapply(
      tiny_fit$graph_latent, function(m) replace(m, 1, NaN))),
    "a gim with transposed latents" = within_list(tiny_fit, graph_latent = list(
      u = t(tiny_fit$graph_latent$u)[, 1:2], v = tiny_fit$graph_latent$v)),
    "a gim with a broken mechanism" = within_list(tiny_fit, mechanism = "quadratic"),
    "a baseline fit" = tiny_baseline)),
  control = function() c(common_bad(), list(
    "a plain list" = unclass(tiny_control), "a gim control" = tiny_control,
    "a baseline control" = tiny_bcontrol)),
  # Any single string is a valid checkpoint path (it would be written).
  checkpoint = function() list(
    "an empty list" = list(), "NA" = NA, "a function" = function() 1, "a number" = 1,
    "two paths" = tempfile(fileext = c(".rds", ".rds")), "a directory" = tempdir(),
    "a path in a missing directory" = file.path(tempfile(), "fit.rds")),
  graph = function() c(common_bad(), list(
    "a numeric vector" = c(0, 1), "a non-square matrix" = g3[1:2, ],
    "a matrix with a 2" = replace(g3, 2, 2), "a matrix with NA" = replace(g3, 2, NA),
    "a 0 x 0 matrix" = g3[0, 0], "a character matrix" = matrix("0", 3, 3),
    "a graph of another size" = diag(0, 4))),
  matrix_list = function() c(common_bad(), list(
    "an unnamed list" = list(x3), "a list with a matrix with NA" = list(a = replace(x3, 1, NA)),
    "a list with a string" = list(a = "x"), "a list with duplicated names" = list(a = x3, a = x3),
    "a list with other names" = list(zz = x3))),
  path = function() c(common_bad(), list(
    "two paths" = c("a.h5ad", "b.h5ad"), "a missing file" = tempfile(fileext = ".h5ad"),
    "a directory" = tempdir(), "a text file" = text_file)),
  data_frame = function() c(common_bad(), list(
    "a matrix" = as.matrix(annotation), "an empty data frame" = annotation[0, ],
    "a data frame without the columns" = data.frame(z = 1:3)))
)

within_list <- function(x, ...) {
  repl <- list(...)
  for (nm in names(repl)) x[nm] <- list(repl[[nm]])
  x
}
text_file <- tempfile(fileext = ".h5ad")
writeLines("not an HDF5 file", text_file)

# ---- The table -------------------------------------------------------------
# f: the function (by name; S3 methods through getS3method); args: valid
# arguments; bad: argument = kind; accepts: "arg: value" pairings that are
# valid and must succeed; messages: for an argument whose errors are about
# the data it holds rather than the argument (a file's contents, a
# context's cells), a regular expression the message must match instead;
# plot: build the plot; no_valid: no success case; needs: packages;
# known: pairings that fail today in files owned by the lead engineer
# (R/fit.R, R/fit-resume.R, R/control.R), skipped with a note until fixed.

method <- function(generic, class) getS3method(generic, class)
cases <- list(
  # fitting
  list(f = "gim_fit", args = list(x = xg, context = ctx, features = feat,
                                  mechanism = "linear", control = tiny_control,
                                  verbose = FALSE),
       bad = c(x = "matrix", context = "labels", features = "features",
               mechanism = "choice", intervention = "choice", control = "control",
               verbose = "flag", init = "fit", checkpoint = "checkpoint",
               checkpoint_every = "count"),
       accepts = c("init: NULL", "checkpoint: NULL", "control: a gim control",
                   "context: a matrix of labels",
                   # a constant extra feature column is valid
                   "features: too many columns", "context: a matrix of labels",
                   "checkpoint_every: NULL", "checkpoint_every: a string",
                   "checkpoint_every: an empty list", "checkpoint_every: NA",
                   "checkpoint_every: a function", "checkpoint_every: NaN",
                   "checkpoint_every: Inf", "checkpoint_every: -1", "checkpoint_every: 0",
                   "checkpoint_every: 1.5", "checkpoint_every: two numbers",
                   "checkpoint_every: 2^31 (integer overflow)",
                   "checkpoint_every: 1e300", "checkpoint_every: TRUE",
                   "checkpoint_every: a factor")),
  list(f = "gim_fit", label = "gim_fit(checkpoint = )",
       args = list(x = xg, context = ctx, features = feat, mechanism = "linear",
                   control = tiny_control, verbose = FALSE,
                   checkpoint = tempfile(fileext = ".rds")),
       bad = c(checkpoint_every = "count")),
  list(f = "gim_control", args = list(),
       bad = c(steps = "count", n_mc = "count", learning_rate = "number",
               beta_M = "number", beta_I = "number", beta_I_schedule = "choice",
               target_sparsity = "choice",
               tau = "number", alpha = "number", alpha_start = "number",
               latent_dim = "count", mechanism_hidden = "count", gim_hidden = "count",
               prior_var_z = "number", prior_var_theta = "number",
               prior_var_sigma = "number", prior_var_phi = "number", psi_sd = "number",
               order_warmup = "number", power_iterations = "count", lambda_init = "number",
               mu_init = "number",
               check_every = "count", convergence_tol = "number", holdout = "count",
               minibatch = "count", graph_gradient = "choice", memory_limit = "number",
               n_threads = "count"),
       accepts = c("beta_M: 0", "beta_I: 0", "lambda_init: 0",
                   # NULL: the machine's memory; Inf: no limit; any positive size
                   paste0("memory_limit: ", c("NULL", "Inf", "1e300", "1e-300")),
                   "alpha_start: NULL", "latent_dim: NULL", "prior_var_z: NULL",
                   "psi_sd: NULL",
                   "gim_hidden: two numbers", "minibatch: NULL",
                   paste0(c("learning_rate", "beta_M", "beta_I", "tau", "alpha",
                            "alpha_start", "prior_var_z", "prior_var_theta",
                            "prior_var_sigma", "prior_var_phi", "psi_sd",
                            "lambda_init", "mu_init", "convergence_tol"), ": 1e-300"),
                   "holdout: 1e300", "holdout: 2^31 (integer overflow)",
                   # gim_control() checks signs and finiteness, not magnitudes
                   paste0(c("learning_rate", "beta_M", "beta_I", "tau", "alpha",
                            "alpha_start", "prior_var_z", "prior_var_theta",
                            "prior_var_sigma", "prior_var_phi", "psi_sd",
                            "lambda_init", "mu_init", "convergence_tol"), ": 1e300"),
                   "psi_sd: 0", "convergence_tol: 0", "order_warmup: 0",
                   "order_warmup: 1e-300")),
  list(f = "estimate_fit_cost", args = list(n_genes = 10, n_cells = 100, n_contexts = 3),
       bad = c(n_genes = "count", n_cells = "count", n_contexts = "count",
               n_perturbed = "count", n_features = "count", mechanism = "choice",
               intervention = "choice", control = "control"),
       # NULL: all contexts but one are perturbed, one indicator feature each.
       accepts = c("n_perturbed: NULL", "n_perturbed: 0", "n_features: NULL",
                   "control: a gim control")),
  list(f = "fit_baseline", args = list(x = xg, context = ctx, features = feat,
                                       control = tiny_bcontrol),
       bad = c(x = "matrix", context = "labels", features = "features",
               method = "choice", control = "control"),
       accepts = c("control: a baseline control", "features: too many columns", "context: a matrix of labels")),
  list(f = "fit_baseline", label = "fit_baseline(method = \"naive\")",
       args = list(x = xg, context = ctx, features = feat, method = "naive"),
       bad = c(x = "matrix", context = "labels", features = "features",
               control = "control"),
       accepts = c("control: a baseline control", "features: too many columns", "context: a matrix of labels")),
  list(f = "fit_baseline", label = "fit_baseline(method = \"additive\")",
       args = list(x = xg, context = ctx, features = feat, method = "additive"),
       bad = c(x = "matrix", context = "labels", features = "features",
               control = "control"),
       accepts = c("control: a baseline control", "features: too many columns", "context: a matrix of labels")),
  list(f = "baseline_control", args = list(),
       bad = c(hidden = "count", learning_rate = "number", steps = "count",
               dose = "choice", lambda = "number"),
       accepts = c("hidden: two numbers", "dose: NULL", "dose: a wrong string",
                   "lambda: NULL", "lambda: 0", "learning_rate: 1e-300",
                   "learning_rate: 1e300", "lambda: 1e-300", "lambda: 1e300")),
  list(f = "gim_compare",
       args = list(x = xg, context = ctx, features = feat, test = "p3",
                   methods = "observational", control = tiny_control,
                   baseline_control = tiny_bcontrol, metrics = "mean_distance",
                   verbose = FALSE),
       bad = c(x = "matrix", context = "labels", features = "features", test = "choice",
               methods = "choice", mechanism = "choice", intervention = "choice",
               control = "control", baseline_control = "control", n = "count",
               metrics = "choice", reference = "choice", on_error = "choice",
               verbose = "flag"),
       accepts = c("n: NULL", "control: a gim control", "baseline_control: a baseline control",
                   "features: too many columns", "context: a matrix of labels")),
  list(f = "gim_tune",
       args = list(x = xg, context = ctx, features = feat, grid = list(beta_M = 1),
                   validation = "p3", mechanism = "linear", control = tiny_control,
                   n = 10, metrics = "mean_distance", select = "mean_distance",
                   verbose = FALSE),
       bad = c(x = "matrix", context = "labels", features = "features",
               grid = "data_frame", validation = "choice", mechanism = "choice",
               control = "control", n = "count", metrics = "choice",
               select = "choice", refit = "flag", n_threads = "count",
               BPPARAM = "choice", verbose = "flag"),
       accepts = c("BPPARAM: NULL", "control: a gim control", "features: too many columns",
                   "context: a matrix of labels")),
  list(f = "gim_grid", args = list(preset = "synthetic"),
       bad = c(preset = "choice", beta_M = "number", steps = "count"),
       accepts = c("beta_M: 0", "beta_M: 1e-300", "beta_M: 1e300", "beta_M: two numbers",
                   "steps: two numbers"),
       # values in `...` are named as fields of the grid
       messages = c(beta_M = "beta_M", steps = "steps")),
  # graph and target estimates
  list(f = "causal_graph", args = list(fit = tiny_fit), bad = c(fit = "fit")),
  list(f = "edge_probabilities", args = list(fit = tiny_fit), bad = c(fit = "fit")),
  list(f = "intervention_targets", args = list(fit = tiny_fit, features = new_feat),
       bad = c(fit = "fit", features = "features"),
       accepts = c("features: no rownames", "features: duplicated rownames",
                   "features: a row for an unknown context", "features: a numeric vector",
                   "features: a matrix with no rows")),
  # S3 methods of the fit, called directly so that every value reaches them
  list(f = method("predict", "gim"), label = "predict.gim",
       args = list(object = tiny_fit, newdata = new_feat, n = 5),
       bad = c(object = "fit", newdata = "features", n = "count", type = "choice",
               mixture = "flag", combine = "flag"),
       accepts = c("newdata: NULL", "newdata: no rownames", "newdata: duplicated rownames",
                   "newdata: a row for an unknown context", "newdata: a numeric vector",
                   "n: 0")),
  list(f = method("simulate", "gim"), label = "simulate.gim",
       args = list(object = tiny_fit, nsim = 5, features = new_feat),
       bad = c(object = "fit", nsim = "count", features = "features"),
       accepts = c("features: NULL", "features: no rownames",
                   "features: duplicated rownames", "features: a numeric vector",
                   "features: a row for an unknown context", "nsim: 0")),
  list(f = method("summary", "gim"), label = "summary.gim",
       args = list(object = tiny_fit), bad = c(object = "fit", n_edges = "count"),
       accepts = c("n_edges: 0")),
  list(f = method("print", "gim"), label = "print.gim", args = list(x = tiny_fit),
       bad = c(x = "fit"), quiet = TRUE),
  list(f = method("coef", "gim"), label = "coef.gim", args = list(object = tiny_fit),
       bad = c(object = "fit")),
  list(f = method("logLik", "gim"), label = "logLik.gim", args = list(object = tiny_fit),
       bad = c(object = "fit")),
  list(f = method("nobs", "gim"), label = "nobs.gim", args = list(object = tiny_fit),
       bad = c(object = "fit")),
  list(f = method("plot", "gim"), label = "plot.gim", args = list(x = tiny_fit),
       bad = c(x = "fit", which = "choice"), plot = TRUE),
  list(f = method("predict", "perturbgim_baseline"), label = "predict.perturbgim_baseline",
       args = list(object = tiny_baseline, newdata = new_feat, n = 5),
       bad = c(object = "fit", newdata = "features", n = "count", type = "choice"),
       accepts = c("object: a baseline fit", "newdata: NULL", "newdata: no rownames", "newdata: duplicated rownames",
                   "newdata: a row for an unknown context", "newdata: a numeric vector",
                   "n: NULL")),
  list(f = method("predict", "perturbgim_baseline"), label = "predict(<naive baseline>)",
       args = list(object = tiny_naive, newdata = new_feat, n = 5),
       bad = c(newdata = "features", reference = "choice"),
       accepts = c("newdata: NULL", "reference: NULL"),
       messages = c(newdata = "`newdata`|naive rule")),
  # plots
  list(f = "plot_graph", args = list(fit = tiny_fit),
       bad = c(fit = "fit", type = "choice", threshold = "number", layout = "choice"),
       accepts = c("threshold: 0", "threshold: 1e-300"), plot = TRUE),
  list(f = "plot_targets", args = list(fit = tiny_fit),
       bad = c(fit = "fit", newdata = "features"),
       accepts = c("newdata: NULL", "newdata: no rownames", "newdata: duplicated rownames",
                   "newdata: a row for an unknown context", "newdata: a numeric vector"),
       plot = TRUE),
  list(f = "plot_training", args = list(fit = tiny_fit),
       bad = c(fit = "fit", quantities = "choice"),
       accepts = c("quantities: NULL"), plot = TRUE),
  list(f = "plot_dose_response", args = list(fit = tiny_fit, newdata = feat, dose = feat[, 1]),
       bad = c(fit = "fit", newdata = "features", dose = "number", genes = "choice",
               observed = "matrix_list", reference = "number"),
       accepts = c("genes: NULL", "observed: NULL", "reference: NULL", "genes: a number",
                   "newdata: duplicated rownames", "newdata: no rownames"),
       plot = TRUE),
  list(f = "plot_marginals", args = list(predicted = list(A = x3), observed = y3),
       bad = c(predicted = "matrix_list", observed = "matrix", genes = "choice",
               n_genes = "count", control = "matrix"),
       accepts = c("genes: NULL", "control: NULL", "genes: a number",
                   "predicted: a list with other names"),
       plot = TRUE),
  list(f = "plot_metrics", args = list(table = metric_table),
       bad = c(table = "data_frame", metrics = "choice"),
       accepts = c("metrics: NULL"), plot = TRUE),
  list(f = method("autoplot", "gim"), label = "autoplot.gim", args = list(object = tiny_fit),
       bad = c(object = "fit", type = "choice"), plot = TRUE),
  # metrics
  list(f = "sid", args = list(true = g3, est = g3),
       bad = c(true = "graph", est = "graph", n_threads = "count")),
  list(f = "sid_bounds", args = list(true = g3, est = g3),
       bad = c(true = "graph", est = "graph", n_threads = "count")),
  list(f = "edge_f1", args = list(true = g3, est = g3),
       bad = c(true = "graph", est = "graph")),
  list(f = "target_f1", args = list(true = c(1, 0, 1), est = c(1, 0, 0)),
       bad = c(true = "matrix", est = "matrix", average = "choice")),
  list(f = "mean_distance", args = list(predicted = x3, observed = y3),
       bad = c(predicted = "matrix", observed = "matrix")),
  list(f = "pearson_delta", args = list(predicted = x3, observed = y3, control = x3 - 1),
       bad = c(predicted = "matrix", observed = "matrix", control = "matrix")),
  list(f = "energy_distance", args = list(predicted = x3, observed = y3),
       bad = c(predicted = "matrix", observed = "matrix", n_threads = "count")),
  list(f = "sinkhorn", args = list(predicted = x3, observed = y3),
       bad = c(predicted = "matrix", observed = "matrix", epsilon = "number",
               tolerance = "number", max_iterations = "count", n_threads = "count",
               annealing = "flag", low_memory = "flag", plan = "flag", divergence = "flag"),
       accepts = c("tolerance: 1e-300", "tolerance: 1e300", "epsilon: 1e300")),
  list(f = "sinkhorn_w2", args = list(predicted = x3, observed = y3),
       bad = c(predicted = "matrix", observed = "matrix", epsilon = "number"),
       accepts = c("epsilon: 1e300")),
  list(f = "kde_nll", args = list(predicted = x3, observed = y3),
       bad = c(predicted = "matrix", observed = "matrix", bandwidth = "number",
               ridge = "number", n_threads = "count"),
       accepts = c("ridge: 0", "ridge: 1e-300", "ridge: 1e300")),
  list(f = "gim_evaluate", args = list(predicted = list(a = x3), observed = list(a = y3)),
       bad = c(predicted = "matrix_list", observed = "matrix_list", control = "matrix",
               metrics = "choice", epsilon = "number", n_threads = "count",
               progress = "flag"),
       accepts = c("control: NULL", "epsilon: 1e300"),
       messages = c(observed = "`observed|`predicted")),
  list(f = "gim_evaluate", label = "gim_evaluate(baseline, replicate)",
       args = list(predicted = list(a = x3), observed = list(a = y3), baseline = x3,
                   replicate = y3, metrics = c("mean_distance", "discrimination")),
       bad = c(baseline = "matrix", replicate = "matrix", top_k = "count",
               discrimination_distance = "choice")),
  # simulators and the SCM sampler
  list(f = "scm", args = list(graph = g3),
       bad = c(graph = "graph", mechanism = "choice", n_hidden = "count",
               noise_var = "number"),
       accepts = c("graph: a graph of another size", "noise_var: 1e300",
                   "noise_var: 1e-300")),
  list(f = "sample_scm", args = list(scm = tiny_scm, n = 10),
       bad = c(scm = "fit", n = "count", intervention = "choice"),
       accepts = c("n: 0")),
  list(f = "simulate_gim_benchmark", args = list(d = 5, n_perturbations = 2,
                                                 n_test_perturbations = 1, n_cells = 5,
                                                 n_observational = 10, n_components = 2),
       bad = c(graph = "choice", mechanism = "choice", intervention = "choice",
               d = "count", n_perturbations = "count", n_test_perturbations = "count",
               n_cells = "count", n_observational = "count", n_components = "count",
               noise_var = "number", intervention_var = "number",
               dosages = "number"),
       accepts = c("n_test_perturbations: 0", "n_observational: 0",
                   "dosages: two numbers", "noise_var: 1e-300", "intervention_var: 1e-300",
                   "dosages: 1e-300", "noise_var: 1e300", "intervention_var: 1e300",
                   "dosages: 1e300")),
  list(f = "simulate_sciplex", args = list(n_cells = 5, n_genes = 300),
       bad = c(n_cells = "count", n_genes = "count", rewire = "number",
               mechanism = "choice", effect_size = "number"),
       accepts = c("rewire: 0", "rewire: 1e-300", "effect_size: 1e-300",
                   "effect_size: 1e300"),
       needs = "SingleCellExperiment"),
  # data preparation and readers
  list(f = "preprocess_perturbation",
       args = list(x = counts, condition = drug, control = drug == "control",
                   min_counts = 50, min_cells = 5, n_hvg = 10, n_markers = 3),
       bad = c(x = "matrix", condition = "labels", control = "flag",
               min_counts = "number", min_cells = "count", n_hvg = "count",
               n_markers = "count", hvg_method = "choice", subset = "choice"),
       accepts = c("min_counts: 0", "min_counts: 1e-300", "min_cells: 0"),
       messages = c(min_cells = "`min_cells`|No control cell is left")),
  list(f = "perturbation_features",
       args = list(x = annotation, columns = c("drug", "dose_nM"), control = "control"),
       bad = c(x = "data_frame", columns = "choice", control = "choice",
               numeric = "choice", reference = "features"),
       accepts = c("reference: NULL"),
       messages = c(columns = "`columns`|has no column", control = "`control`|has no column")),
  list(f = "combination_features", args = list(labels = c("control", "A", "B", "A+B")),
       bad = c(labels = "choice", sep = "choice", control = "choice", genes = "choice"),
       accepts = c("labels: a wrong string", "sep: a wrong string",
                   "control: a wrong string", "control: no strings")),
  list(f = "sciplex_features", args = list(x = annotation),
       bad = c(x = "data_frame", drug = "choice", dose = "choice", control = "choice",
               doses_nM = "number", dose_values = "number"),
       messages = c(drug = "`drug`|has no column", dose = "`dose`|has no column",
                    control = "`control`|has no column",
                    doses_nM = "`doses_nM|`dose_values")),
  list(f = "sciplex_splits",
       args = list(x = annotation, drugs = c("Belinostat", "Quisinostat"), cell_lines = "A549",
                   doses_nM = c(10, 10000)),
       bad = c(x = "data_frame", cell_lines = "choice", drugs = "choice",
               held_out_dose_nM = "number"),
       accepts = c("cell_lines: NULL"),
       messages = c(cell_lines = "`cell_lines`|no cells|Cell line", drugs = "`drugs`|no cells")),
  # Readers: the message names the file given; no valid file here (their
  # own tests write them), so no success case.
  list(f = "read_h5ad", args = list(path = text_file), bad = c(path = "path"),
       messages = c(path = "`path`|h5ad|directory|not exist|No such"), no_valid = TRUE,
       needs = c("hdf5r", "SingleCellExperiment")),
  list(f = "read_sciplex3", args = list(path = text_file), bad = c(path = "path"),
       messages = c(path = "`path`|h5ad|directory|annotation|not exist|No such"),
       no_valid = TRUE, needs = c("hdf5r", "SingleCellExperiment"))
)

case_label <- function(case) case$label %||% case$f
# cli and the C checks write an argument as `arg` (or `arg$field`).
arg_pattern <- function(arg) paste0("`", arg, "[`$[]")

# Plots are built, not only returned: a bad value must not slip through to a
# failure when the plot is first drawn.
force_plot <- function(p) {
  if (inherits(p, "ggplot")) ggplot2::ggplot_build(p)
  invisible(p)
}

run_case <- function(case, args, quiet = FALSE) {
  f <- if (is.character(case$f)) getExportedValue("perturbgim", case$f) else case$f
  out <- NULL
  pdf_file <- NULL
  if (isTRUE(case$plot)) {
    pdf_file <- tempfile(fileext = ".pdf")
    grDevices::pdf(pdf_file)
    on.exit({
      grDevices::dev.off()
      unlink(pdf_file)
    }, add = TRUE)
  }
  work <- function() {
    out <- do.call(f, args)
    if (isTRUE(case$plot)) force_plot(out)
    out
  }
  if (isTRUE(case$quiet) || quiet) utils::capture.output(out <- work()) else out <- work()
  out
}

for (case in cases) {
  accepts <- case$accepts %||% character(0)
  for (arg in names(case$bad)) {
    values <- bad_values[[case$bad[[arg]]]]()
    for (label in names(values)) {
      pairing <- paste0(arg, ": ", label)
      valid <- pairing %in% accepts
      known <- pairing %in% case$known
      test_that(sprintf("%s(%s = <%s>) %s", case_label(case), arg, label,
                        if (valid) "works" else "fails cleanly"), {
        for (pkg in case$needs) skip_if_not_installed(pkg)
        if (isTRUE(case$plot)) skip_if_not_installed("ggplot2")
        if (known) skip("known issue, reported: no clear error yet")
        args <- case$args
        args[arg] <- list(values[[label]])
        # Serialised bytes, not the objects: an in-place change made by C
        # code would show in the objects and in any copy sharing their memory.
        before <- serialize(args, NULL)
        if (valid) {
          expect_no_error(suppressWarnings(run_case(case, args)))
        } else {
          err <- expect_error(suppressWarnings(run_case(case, args)))
          pattern <- if (arg %in% names(case$messages)) case$messages[[arg]] else
            arg_pattern(arg)
          expect_match(conditionMessage(err), pattern,
                       label = sprintf("the message of %s(%s = <%s>)",
                                       case_label(case), arg, label))
        }
        expect_identical(serialize(args, NULL), before)
      })
    }
  }
}

test_that("the table covers every exported function", {
  exports <- getNamespaceExports("perturbgim")
  covered <- vapply(cases, function(case) sub("[(.].*$", "", case_label(case)),
                    character(1))
  # Interop functions are tested in test-interop-*.R until their files settle.
  interop <- c("bind_predictions", "context_cells", "gim_store", "gim_stored")
  expect_setequal(setdiff(exports, c(covered, interop)), character(0))
})

for (case in Filter(function(case) !isTRUE(case$no_valid), cases)) {
  test_that(sprintf("%s with valid arguments leaves them untouched", case_label(case)), {
    for (pkg in case$needs) skip_if_not_installed(pkg)
    if (isTRUE(case$plot)) skip_if_not_installed("ggplot2")
    before <- serialize(case$args, NULL)
    expect_no_error(suppressWarnings(run_case(case, case$args, quiet = TRUE)))
    expect_identical(serialize(case$args, NULL), before)
  })
}

# ---- Targeted cases: names, labels, dimensions, sizes -----------------------

expect_error_naming <- function(object, arg) {
  err <- expect_error(object)
  expect_match(conditionMessage(err), arg_pattern(arg))
}

test_that("duplicated gene names and mismatched variables are errors", {
  dup <- xg
  colnames(dup) <- c("a", "a", "c")
  expect_error_naming(gim_fit(dup, ctx, feat, mechanism = "linear", control = tiny_control,
                              verbose = FALSE), "x")
  expect_error_naming(mean_distance(x3, y3[, 1:2]), "predicted")
  renamed <- y3
  colnames(renamed) <- c("a", "c", "b")
  expect_error_naming(sinkhorn_w2(x3, renamed), "predicted")
  expect_error_naming(energy_distance(x3, renamed), "predicted")
  expect_error_naming(kde_nll(x3, renamed), "predicted")
  named <- matrix(0, 3, 3, dimnames = list(c("a", "b", "c"), c("a", "b", "c")))
  other <- matrix(0, 3, 3, dimnames = list(c("a", "c", "b"), c("a", "c", "b")))
  expect_error_naming(sid(named, other), "true")
  expect_error_naming(edge_f1(named, other), "true")
  expect_error_naming(target_f1(c(1, 0, 1), c(1, 0)), "true")
})

test_that("feature rows and columns are matched by name, never by position alone", {
  swapped <- new_feat[, c("kind", "dose"), drop = FALSE]
  p1 <- intervention_targets(tiny_fit, new_feat)
  p2 <- tryCatch(intervention_targets(tiny_fit, swapped), error = function(e) e)
  # Either reordered to the fit's columns (the same answer) or refused.
  if (inherits(p2, "error")) {
    expect_match(conditionMessage(p2), arg_pattern("features"))
  } else {
    expect_equal(p2, p1)
  }
  wrong <- new_feat
  colnames(wrong) <- c("dose", "zz")
  expect_error_naming(intervention_targets(tiny_fit, wrong), "features")
  expect_error_naming(predict(tiny_fit, wrong, n = 5), "newdata")
  expect_error_naming(predict(tiny_baseline, wrong, n = 5), "newdata")
})

test_that("context labels: factors with unused levels are their labels; duplicated cell names are fine", {
  with_unused <- factor(ctx, levels = c("obs", "p1", "p2", "p3", "never"))
  set.seed(5)
  a <- suppressWarnings(gim_fit(xg, ctx, feat, mechanism = "linear", control = tiny_control,
                                verbose = FALSE))
  set.seed(5)
  b <- suppressWarnings(gim_fit(xg, with_unused, feat, mechanism = "linear",
                                control = tiny_control, verbose = FALSE))
  expect_equal(coef(b), coef(a))
  expect_identical(b$contexts, a$contexts)
  base <- fit_baseline(xg, with_unused, feat, method = "observational")
  expect_false("never" %in% base$contexts$context)
  same_names <- xg
  rownames(same_names) <- rep("cell", nrow(xg))
  set.seed(5)
  d <- suppressWarnings(gim_fit(same_names, ctx, feat, mechanism = "linear",
                                control = tiny_control, verbose = FALSE))
  expect_equal(coef(d), coef(a))
  # Context labels that differ only by type are the same labels.
  expect_error_naming(gim_fit(xg, ctx, feat[c(1, 1), , drop = FALSE], mechanism = "linear",
                              control = tiny_control, verbose = FALSE), "features")
})

test_that("one-row and one-column inputs work or fail with a clear error", {
  one_gene <- xg[, 1, drop = FALSE]
  fit1 <- tryCatch(suppressWarnings(gim_fit(one_gene, ctx, feat, mechanism = "linear",
                                            control = tiny_control, verbose = FALSE)),
                   error = function(e) e)
  if (inherits(fit1, "error")) {
    expect_match(conditionMessage(fit1), arg_pattern("x"))
  } else {
    expect_identical(dim(causal_graph(fit1)), c(1L, 1L))
    expect_identical(dim(predict(fit1, new_feat, n = 3)), c(3L, 1L))
  }
  # A perturbed context with a single cell.
  ctx1 <- c("p1", rep("p2", 19), rep("obs", 20))
  fit2 <- suppressWarnings(gim_fit(xg, ctx1, feat[1:2, ], mechanism = "linear",
                                   control = tiny_control, verbose = FALSE))
  expect_s3_class(fit2, "gim")
  expect_error_naming(gim_fit(xg[1, , drop = FALSE], "p1", feat[1, , drop = FALSE],
                              control = tiny_control, verbose = FALSE), "x")
  # One sample against one: finite where defined, or an error naming it.
  expect_true(is.finite(mean_distance(x3[1, , drop = FALSE], y3[1, , drop = FALSE])))
  expect_true(is.finite(energy_distance(x3[1, , drop = FALSE], y3[1, , drop = FALSE])))
  expect_true(is.finite(sinkhorn_w2(x3[1, , drop = FALSE], y3[1, , drop = FALSE])))
  k <- tryCatch(suppressWarnings(kde_nll(x3[1, , drop = FALSE], y3)), error = function(e) e)
  if (inherits(k, "error")) expect_match(conditionMessage(k), arg_pattern("predicted"))
  else expect_true(is.finite(k))
})

test_that("sizes beyond integer range are errors, not overflows", {
  expect_error_naming(predict(tiny_fit, rbind(new_feat, p5 = c(2, 1)), n = c(2^30, 2^30)), "n")
  expect_error_naming(predict(tiny_fit, new_feat, n = 2^31), "n")
  expect_error_naming(simulate(tiny_fit, nsim = 2^31), "nsim")
  expect_error_naming(sample_scm(tiny_scm, n = 2^31), "n")
  expect_error_naming(simulate_gim_benchmark(d = 2^31), "d")
})

test_that("huge and tiny data give an error, never a silently wrong metric", {
  for (s in c(1e200, 1e-200)) {
    expect_error_naming(mean_distance(x3 * s, y3 * s), "predicted")
    expect_error_naming(energy_distance(x3 * s, y3 * s), "predicted")
    expect_error_naming(sinkhorn_w2(x3 * s, y3 * s), "predicted")
    expect_error_naming(kde_nll(x3 * s, y3 * s), "predicted")
  }
  # Within range, distances scale with the data.
  expect_equal(mean_distance(x3 * 1e100, y3 * 1e100), 1e100 * mean_distance(x3, y3))
  expect_equal(energy_distance(x3 * 1e-100, y3 * 1e-100),
               1e-100 * energy_distance(x3, y3))
  # An epsilon so small that cost / epsilon overflows.
  expect_error_naming(sinkhorn(x3, y3, epsilon = 1e-300), "epsilon")
})

# ---- The .Call boundary: wrong types straight into the engine ---------------

test_that("the engine's .Call entry points reject wrong types with R errors", {
  pr <- engine_problem("linear", "hard")
  adam <- list(m = numeric(length(pr$par)), v = numeric(length(pr$par)))
  wrong <- list(NULL, "a", list(), 1L, c(1, 2), matrix(1, 2, 2), NA_real_)
  before <- serialize(pr, NULL)
  for (w in wrong) {
    expect_error(.Call(pg_gim_objective, w, pr$par, pr$settings, 1, 1L, NULL, TRUE))
    expect_error(.Call(pg_gim_objective, pr$data, w, pr$settings, 1, 1L, NULL, TRUE))
    expect_error(.Call(pg_gim_objective, pr$data, pr$par, w, 1, 1L, NULL, TRUE))
    expect_error(.Call(pg_gim_objective, pr$data, pr$par, pr$settings, 1, 1L, NULL, w),
                 "want_graphs")
    expect_error(.Call(pg_gim_point_loglik, w, pr$par, pr$settings))
    expect_error(.Call(pg_gim_point_loglik, pr$data, w, pr$settings))
    expect_error(.Call(pg_gim_point_loglik, pr$data, pr$par, w))
    expect_error(.Call(pg_gim_train, w, pr$par, adam, pr$settings, 1, 0L, 1L))
    expect_error(.Call(pg_gim_train, pr$data, w, adam, pr$settings, 1, 0L, 1L))
    expect_error(.Call(pg_gim_train, pr$data, pr$par, w, pr$settings, 1, 0L, 1L))
    expect_error(.Call(pg_gim_train, pr$data, pr$par, adam, w, 1, 0L, 1L))
    if (!is.double(w)) expect_error(.Call(pg_gim_math, w, 1L))
    if (!identical(w, 1L)) {
      expect_error(.Call(pg_gim_math, 1, w))
      expect_error(.Call(pg_gim_noise, 1, w, 0L, 3L, 1L))
    }
  }
  # Non-finite values and inconsistent shapes inside otherwise valid lists.
  bad_x <- pr$data
  bad_x$x[1] <- NaN
  expect_error(.Call(pg_gim_objective, bad_x, pr$par, pr$settings, 1, 1L, NULL, TRUE), "data\\$x")
  short_x <- pr$data
  short_x$x <- short_x$x[, -1]
  expect_error(.Call(pg_gim_point_loglik, short_x, pr$par, pr$settings), "data\\$x")
  bad_start <- pr$data
  bad_start$start <- rev(bad_start$start)
  expect_error(.Call(pg_gim_point_loglik, bad_start, pr$par, pr$settings), "data\\$start")
  expect_error(.Call(pg_gim_train, pr$data, pr$par, adam, pr$settings, 1, -1L, 1L), "step0")
  expect_error(.Call(pg_gim_noise, -1, 1L, 0L, 3L, 1L), "seed")
  expect_error(.Call(pg_gim_noise, 1, 1L, 0L, -3L, 1L), "`n`")
  expect_error(.Call(pg_gim_math, 1, 9L), "fn")
  expect_identical(serialize(pr, NULL), before)
})

test_that("the engine does not write into its inputs", {
  pr <- engine_problem("mlp", "shift")
  adam <- list(m = numeric(length(pr$par)), v = numeric(length(pr$par)))
  before <- serialize(list(pr, adam), NULL)
  .Call(pg_gim_objective, pr$data, pr$par, pr$settings, 1, 1L, NULL, TRUE)
  .Call(pg_gim_point_loglik, pr$data, pr$par, pr$settings)
  .Call(pg_gim_train, pr$data, pr$par, adam, pr$settings, 1, 0L, 2L)
  expect_identical(serialize(list(pr, adam), NULL), before)
})
