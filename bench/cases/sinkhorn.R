# sinkhorn_w2() against POT's log-domain Sinkhorn,
#   ot.sinkhorn(a, b, M, reg, method = "sinkhorn_log", stopThr = 1e-3),
# at the size of the speed goal: 1000 predicted and 1000 observed samples in
# 50 dimensions, epsilon = 0.1, tolerance 1e-3, uniform weights.
#
# Data: two Gaussian clouds with the spread of log-normalised marker genes,
# predicted ~ N(0, I_50) and observed ~ N(0.5, I_50) (each gene shifted by
# half a standard deviation), so squared distances are about 100 +- 15 and
# epsilon is small next to them: a hard, nearly unregularised problem.
#
# Both timings include the cost matrix (POT: ot.dist, squared Euclidean).
# The stopping rules differ: we stop when the L1 error of both marginals is
# below 1e-3, POT when the L2 norm of its column-marginal error is (checked
# every 10 iterations), which is up to sqrt(n) = 32 times weaker, so POT
# stops earlier and less converged. `agreement` is the relative difference
# of the two W2 values (sqrt of <P, C> + eps KL(P | a b^T), POT's computed
# from its plan), "yes" when it is below the tolerance 1e-3, the L1
# marginal errors of both plans, and how far each value is from a nearly
# converged one (ours at tolerance 1e-5).
run_case <- function() {
  set.seed(7)
  m <- 1000L
  n <- 1000L
  d <- 50L
  eps <- 0.1
  tol <- 1e-3
  predicted <- matrix(stats::rnorm(m * d), m, d)
  observed <- matrix(stats::rnorm(n * d, mean = 0.5), n, d)

  threads <- getOption("perturbgim.threads", 2L)
  ours_res <- sinkhorn(predicted, observed, epsilon = eps, tolerance = tol,
                       plan = FALSE, divergence = FALSE, n_threads = threads)
  ours_value <- sqrt(ours_res$cost)
  ours <- median_seconds(
    sinkhorn_w2(predicted, observed, epsilon = eps, tolerance = tol,
                n_threads = threads))
  ours_1 <- median_seconds(
    sinkhorn_w2(predicted, observed, epsilon = eps, tolerance = tol,
                n_threads = 1L))

  pred_file <- write_matrix_bin(predicted)
  obs_file <- write_matrix_bin(observed)
  on.exit(unlink(c(pred_file, obs_file)))
  ref <- run_python_json(sprintf('
import json, time, warnings
import numpy as np
import ot
warnings.simplefilter("ignore")
X = np.fromfile("%s", dtype="<f8").reshape(%d, %d)
Y = np.fromfile("%s", dtype="<f8").reshape(%d, %d)
eps = %.17g
a = np.full(X.shape[0], 1.0 / X.shape[0])
b = np.full(Y.shape[0], 1.0 / Y.shape[0])
times = []
for _ in range(3):
    t0 = time.perf_counter()
    M = ot.dist(X, Y)
    P, log = ot.sinkhorn(a, b, M, eps, method="sinkhorn_log", stopThr=%.17g,
                         numItermax=1000000, log=True)
    times.append(time.perf_counter() - t0)
pos = P > 0
kl = np.sum(P[pos] * np.log(P[pos] / np.outer(a, b)[pos])) - P.sum() + 1.0
cost = float(np.sum(P * M) + eps * kl)
err = float(np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum())
print(json.dumps({"seconds": float(np.median(times)),
                  "value": float(np.sqrt(cost)),
                  "iterations": int(log["niter"]), "error": err}))
', pred_file, m, d, obs_file, n, d, eps, tol))

  tight <- sqrt(sinkhorn(predicted, observed, epsilon = eps, tolerance = 1e-5,
                         max_iterations = 1e5, plan = FALSE,
                         divergence = FALSE, n_threads = threads)$cost)
  rel <- abs(ours_value - ref$value) / abs(ref$value)
  agreement <- sprintf(paste(
    "%s: W2 %.6f vs POT %.6f, rel. diff %.1e;",
    "L1 marginal error %.1e (%d it.) vs POT %.1e (%d it.);",
    "rel. error vs W2 at tol 1e-5 (%.6f): %.1e vs POT %.1e"),
    if (rel < tol) "yes" else "no", ours_value, ref$value, rel,
    ours_res$marginal_error, ours_res$iterations, ref$error, ref$iterations,
    tight, abs(ours_value - tight) / tight, abs(ref$value - tight) / tight)
  case <- "m = n = 1000, d = 50, eps = 0.1, tol = 1e-3"
  thread_rows("sinkhorn_w2", case, threads, ours, ours_1,
              "POT ot.sinkhorn (sinkhorn_log)", ref$seconds, agreement)
}
