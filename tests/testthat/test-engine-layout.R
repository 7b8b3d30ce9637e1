test_that("R's parameter blocks and C's layout agree field by field", {
  for (mechanism in engine_codes$mechanism) {
    for (intervention in engine_codes$intervention) {
      for (hidden in list(3L, c(4L, 2L), integer(0))) {
        for (acyclicity in engine_codes$acyclicity) {
          control <- gim_control(gim_hidden = if (length(hidden)) hidden else 3L,
                                 latent_dim = 2, mechanism_hidden = 3L,
                                 acyclicity = acyclicity)
          if (!length(hidden)) control$gim_hidden <- integer(0)
          settings <- engine_settings(control, mechanism, intervention, d = 5, p = 3)
          blocks <- engine_blocks(mechanism, intervention, 5, settings$k, settings$H,
                                  settings$sizes, acyclicity)
          r <- engine_offsets(blocks)
          expect_identical(engine_c_offsets(settings), r)
          expect_identical(r[["total"]], engine_length(blocks))
          expect_true(check_engine_layout(blocks, settings))
        }
      }
    }
  }
})

test_that("a layout mismatch is an internal error that names the blocks", {
  settings <- engine_settings(gim_control(gim_hidden = 3L), "mlp", "hard", d = 4, p = 2)
  blocks <- engine_blocks("mlp", "hard", 4, settings$k, settings$H, settings$sizes)
  swapped <- blocks[c(1, 2, 4, 3, 5:length(blocks))]
  expect_error(check_engine_layout(swapped, settings), "internal error.*theta/w1")
  expect_error(check_engine_layout(blocks[-length(blocks)], settings), "total")
})

test_that("pg_gim_layout rejects what is not a settings list", {
  for (w in list(NULL, "a", list(), 1L, NA_real_)) {
    expect_error(.Call(pg_gim_layout, w))
  }
})
