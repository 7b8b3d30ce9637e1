# Single-precision screening of the Monte Carlo samples (src/gim_screen.c,
# fact 4 in src/gim_likelihood.c): samples that the float pass proves to be
# more than 745 nats behind the best would get a weight of exactly 0, so
# leaving them out must not change a single bit of the objective or gradient.

test_that("screening rules samples out and changes nothing, to the bit", {
  for (mech in c("mlp", "zilognormal")) {
    for (intv in c("hard", "shift")) {
      for (gg in c("straight_through", "relaxed")) {
        # Enough cells that most samples fall far behind the best one, and
        # enough samples for the 4 distinct parent sets per gene that
        # screening needs (GIM_SCREEN_MIN_CONFIGS).
        pr <- engine_problem(mech, intv, gg, n_mc = 40L, n_per = c(300L, 250L, 280L, 400L),
                             hidden = 5L)
        on <- engine_eval(pr)
        unscreened <- pr$settings
        unscreened$screen <- 0
        off <- engine_eval(pr, settings = unscreened)
        label <- paste(mech, intv, gg)
        expect_gt(on$screened, 0, label = label)
        expect_identical(off$screened, 0, label = label)
        on$screened <- off$screened <- NULL
        expect_identical(on, off, label = label)
      }
    }
  }
})

test_that("the linear mechanism and single samples are never screened", {
  pr <- engine_problem("linear", "hard", "straight_through", n_mc = 24L,
                       n_per = c(300L, 250L, 280L, 400L))
  expect_identical(engine_eval(pr)$screened, 0)
  pr <- engine_problem("mlp", "hard", "straight_through", n_mc = 1L,
                       n_per = c(300L, 250L, 280L, 400L))
  expect_identical(engine_eval(pr)$screened, 0)
})
