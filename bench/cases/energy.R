# Energy distance vs the energy package (eqdist.e without permutations, which
# computes the same statistic scaled by n m / (n + m)).
run_case <- function() {
  set.seed(11)
  n <- 2000L; m <- 2000L; d <- 50L
  x <- matrix(rnorm(n * d), n, d)
  y <- matrix(rnorm(m * d, mean = 0.1), m, d)
  ours <- perturbgim::energy_distance(x, y)
  ref <- unname(energy::eqdist.e(rbind(x, y), c(n, m))) * (n + m) / (n * m)
  t_ours <- median_seconds(perturbgim::energy_distance(x, y), reps = 3)
  t_ref <- median_seconds(energy::eqdist.e(rbind(x, y), c(n, m)), reps = 3)
  bench_row("energy_distance", sprintf("%d x %d, d = %d", n, m, d), t_ours,
            "energy::eqdist.e", t_ref,
            sprintf("rel. diff %.1e", abs(ours - ref) / ref))
}
