# A tiny CRISPR-like screen for the interop tests: a guide per cell ("NT"
# the non-targeting control, then "A", "B", "C" with `n` cells each), 8
# genes of Poisson counts (genes x cells, named), guide A raising gene 1,
# B gene 3 and C lowering gene 5.
screen_counts <- function(n = c(60, 25, 25, 25), seed = 3) {
  withr::with_seed(seed, {
    guide <- rep(c("NT", "A", "B", "C"), n)
    mu <- matrix(4, length(guide), 8)
    mu[guide == "A", 1] <- 12
    mu[guide == "B", 3] <- 12
    mu[guide == "C", 5] <- 1
    counts <- t(matrix(stats::rpois(length(mu), mu), length(guide), 8))
    sample <- sample(c("s1", "s2"), length(guide), replace = TRUE)
  })
  dimnames(counts) <- list(paste0("g", 1:8), paste0("cell", seq_along(guide)))
  list(counts = counts, guide = guide, sample = sample)
}
