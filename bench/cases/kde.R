# kde_nll() against scipy.stats.gaussian_kde(predicted.T).logpdf(observed.T)
# (Scott's rule) at the size of the speed goal: 5000 predicted and 5000
# observed samples in 50 dimensions. Both timings include building the
# estimate (covariance, Cholesky) and evaluating it; `agreement` is the
# relative difference of the two mean negative log-likelihoods.
run_case <- function() {
  set.seed(42)
  m <- 5000L
  n <- 5000L
  d <- 50L
  # Correlated variables with unequal spreads, observed shifted a little.
  mix <- qr.Q(qr(matrix(stats::rnorm(d * d), d))) * stats::runif(d, 0.5, 2)
  predicted <- matrix(stats::rnorm(m * d), m, d) %*% mix
  observed <- matrix(stats::rnorm(n * d), n, d) %*% mix + 0.1

  threads <- getOption("perturbgim.threads", 2L)
  ours_value <- kde_nll(predicted, observed, n_threads = threads)
  ours <- median_seconds(kde_nll(predicted, observed, n_threads = threads))
  ours_1 <- median_seconds(kde_nll(predicted, observed, n_threads = 1L))

  pred_file <- write_matrix_bin(predicted)
  obs_file <- write_matrix_bin(observed)
  on.exit(unlink(c(pred_file, obs_file)))
  ref <- run_python_json(sprintf('
import json, time
import numpy as np
from scipy.stats import gaussian_kde
P = np.fromfile("%s", dtype="<f8").reshape(%d, %d)
X = np.fromfile("%s", dtype="<f8").reshape(%d, %d)
times = []
for _ in range(3):
    t0 = time.perf_counter()
    value = -gaussian_kde(P.T).logpdf(X.T).mean()
    times.append(time.perf_counter() - t0)
print(json.dumps({"seconds": float(np.median(times)), "value": float(value)}))
', pred_file, m, d, obs_file, n, d))

  agreement <- sprintf("rel. diff %.1e",
                       abs(ours_value - ref$value) / abs(ref$value))
  case <- "m = n = 5000, d = 50, Scott"
  thread_rows("kde_nll", case, threads, ours, ours_1, "scipy gaussian_kde",
              ref$seconds, agreement)
}
