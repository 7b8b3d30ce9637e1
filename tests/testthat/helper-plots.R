# Shared by the test-plot-*.R files: one real tiny fit (made once per test
# run) and a way to read what a ggplot draws.

# A real fit from gim_fit(): 5 genes, linear mechanisms, 100 steps in chunks
# of 20 (so the trace has 5 rows), with its benchmark for data.
plots_tiny_fit <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      cache <<- withr::with_seed(3, {
        bench <- simulate_gim_benchmark(d = 5, n_perturbations = 4,
                                        n_test_perturbations = 2, n_cells = 20,
                                        n_observational = 100, n_components = 3)
        fit <- gim_fit(bench$train$x, bench$train$context, bench$train$features,
                       mechanism = "linear",
                       control = gim_control(steps = 100, n_mc = 8, gim_hidden = 10,
                                             check_every = 20, n_threads = 1),
                       verbose = FALSE)
        list(bench = bench, fit = fit)
      })
    }
    cache
  }
})

# The built data of the layers of plot `p` drawn by geom `geom` (e.g.
# "GeomLine"; the exact class, as GeomCurve inherits from GeomSegment): the
# rows of all such layers, in their common columns.
plot_layer_data <- function(p, geom) {
  built <- ggplot2::ggplot_build(p)
  hit <- which(vapply(p$layers, function(l) class(l$geom)[1L] == geom, logical(1)))
  parts <- built$data[hit]
  common <- Reduce(intersect, lapply(parts, names))
  do.call(rbind, lapply(parts, function(d) d[common]))
}

# The facet panels of plot `p`: the layout table of the built plot.
plot_panels <- function(p) {
  ggplot2::ggplot_build(p)$layout$layout
}

# Saving works (the whole drawing pipeline runs); files go to tempdir().
expect_plot_saves <- function(p) {
  path <- tempfile(fileext = ".png", tmpdir = tempdir())
  on.exit(unlink(path))
  ggplot2::ggsave(path, p, width = 5, height = 4, dpi = 40)
  testthat::expect_true(file.exists(path) && file.size(path) > 0)
}
