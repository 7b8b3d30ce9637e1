# Shared by the test-plot-*.R files: one real tiny fit (made once per test
# run) and a way to read what a ggplot draws.

# A real fit (see cached_tiny_fit() in helper-gim.R) trained in chunks of 20
# steps, so that its trace has 5 rows.
plots_tiny_fit <- cached_tiny_fit(seed = 3, n_mc = 8, check_every = 20)

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
