# autoplot() for a fit: one entry point to the ggplot2 views of plot-*.R.

#' ggplot2 views of a fitted GIM
#'
#' `autoplot()` method for `gim` fits, dispatching to the `plot_*()`
#' functions: the training trace ([plot_training()]), the edge probabilities
#' ([plot_graph()] as a heat map or a network) and the target probabilities
#' of the training contexts ([plot_targets()]). [plot.gim()] draws the same
#' views on the current device.
#'
#' @param object A `gim` object from [gim_fit()].
#' @param type `"trace"`, `"graph"` (edge probability heat map), `"network"`
#'   or `"targets"`.
#' @param ... Passed to the plotting function: `quantities` for `"trace"`,
#'   `threshold` and `labels` (and `layout`, `max_edges`, `isolated` for
#'   `"network"`) for `"graph"` and `"network"`, `newdata` for `"targets"`.
#' @return A ggplot object.
#' @family plots
#' @examples
#' set.seed(1)
#' bench <- simulate_gim_benchmark(d = 5, n_perturbations = 4,
#'                                 n_test_perturbations = 0, n_cells = 20,
#'                                 n_observational = 100, n_components = 3)
#' fit <- gim_fit(bench$train$x, bench$train$context, bench$train$features,
#'                mechanism = "linear",
#'                control = gim_control(steps = 100, n_mc = 4, gim_hidden = 10),
#'                verbose = FALSE)
#' ggplot2::autoplot(fit)
#' ggplot2::autoplot(fit, "network", threshold = 0.3)
#' @importFrom ggplot2 autoplot
#' @method autoplot gim
#' @export
autoplot.gim <- function(object, type = c("trace", "graph", "network", "targets"),
                         ...) {
  validate_gim(object)
  type <- arg_match_checked(type)
  switch(type,
    trace = plot_training(object, ...),
    graph = plot_graph(object, type = "heatmap", ...),
    network = plot_graph(object, type = "network", ...),
    targets = plot_targets(object, ...)
  )
}
