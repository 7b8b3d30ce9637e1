# The learned causal graph: edge probabilities as a heat map, or a network
# drawn with ggplot2 alone (circle or layered layout, arrows whose opacity
# and width show the edge probability).

#' Plot the learned causal graph
#'
#' Shows the graph distribution of a fitted GIM: a heat map of
#' [edge_probabilities()] (parents in rows, children in columns), or a drawing
#' of the network of edges more probable than `threshold`.
#'
#' @details
#' **Heat map.** Entry `[i, j]` is the probability of the edge `i -> j`;
#' dots mark the edges with probability above `threshold`.
#'
#' **Network.** The edges with probability above `threshold` are drawn as
#' arrows, more opaque and wider the more probable they are. With the
#' default `threshold = 0.5` these are the edges of the point estimate
#' \eqn{G^*} *before* any cycles are broken, so the drawing shows cycles
#' that [causal_graph()] would cut; pairs of opposite edges are drawn as two
#' arcs. Layouts: `"circle"` puts the genes on a circle in the order of the
#' fit; `"layered"` puts each gene one layer below its lowest parent in the
#' acyclic point estimate (the graph of [causal_graph()], computed without
#' its warning), so most arrows point downwards.
#'
#' @param fit A `gim` object from [gim_fit()].
#' @param type `"heatmap"` or `"network"`.
#' @param threshold Edges with probability above it are marked (heat map) or
#'   drawn (network); a number in `[0, 1)`.
#' @param layout Node placement of the network: `"circle"` or `"layered"`.
#' @return A ggplot object.
#' @family plots
#' @examples
#' set.seed(1)
#' bench <- simulate_gim_benchmark(d = 5, n_perturbations = 4,
#'                                 n_test_perturbations = 0, n_cells = 20,
#'                                 n_observational = 100, n_components = 3)
#' # A short illustrative run (real fits train for 30,000 steps).
#' fit <- gim_fit(bench$train$x, bench$train$context, bench$train$features,
#'                mechanism = "linear",
#'                control = gim_control(steps = 100, n_mc = 4, gim_hidden = 10),
#'                verbose = FALSE)
#' plot_graph(fit)
#' plot_graph(fit, "network", threshold = 0.3)
#' plot_graph(fit, "network", layout = "layered")
#' @export
plot_graph <- function(fit, type = c("heatmap", "network"), threshold = 0.5,
                       layout = c("circle", "layered")) {
  validate_gim(fit)
  type <- arg_match_checked(type)
  layout <- arg_match_checked(layout)
  if (!is.numeric(threshold) || length(threshold) != 1L || is.na(threshold) ||
      threshold < 0 || threshold >= 1) {
    cli::cli_abort("{.arg threshold} must be a single number in [0, 1), not {describe_value(threshold)}.")
  }
  prob <- edge_probabilities(fit)
  if (type == "heatmap") {
    return(probability_heatmap(prob, prob > threshold, xlab = "child",
                               ylab = "parent", title = "Edge probabilities",
                               fill_label = "P(edge)"))
  }
  nodes <- switch(layout,
    circle = circle_layout(fit$nodes),
    layered = layered_layout(dag_estimate(fit)$graph)
  )
  edges <- network_edges(prob, nodes, threshold)
  straight <- edges[!edges$reciprocal, , drop = FALSE]
  curved <- edges[edges$reciprocal, , drop = FALSE]
  arrow_head <- ggplot2::arrow(length = ggplot2::unit(2.5, "mm"), type = "closed")
  edge_aes <- ggplot2::aes(x = .data$x, y = .data$y, xend = .data$xend,
                           yend = .data$yend, alpha = .data$probability,
                           linewidth = .data$probability)
  ggplot2::ggplot() +
    ggplot2::geom_segment(data = straight, mapping = edge_aes, arrow = arrow_head,
                          colour = "#08306b") +
    ggplot2::geom_curve(data = curved, mapping = edge_aes, arrow = arrow_head,
                        curvature = 0.25, colour = "#08306b") +
    ggplot2::geom_point(data = nodes, ggplot2::aes(x = .data$x, y = .data$y),
                        size = 9, shape = 21, fill = "white", colour = "grey30") +
    ggplot2::geom_text(data = nodes, ggplot2::aes(x = .data$x, y = .data$y,
                                                  label = .data$node),
                       size = 3) +
    ggplot2::scale_alpha_continuous(limits = c(0, 1), range = c(0.15, 1),
                                    name = "P(edge)") +
    ggplot2::scale_linewidth_continuous(limits = c(0, 1), range = c(0.2, 1.4),
                                        name = "P(edge)") +
    ggplot2::coord_equal(clip = "off") +
    ggplot2::scale_x_continuous(expand = ggplot2::expansion(add = 0.25)) +
    ggplot2::scale_y_continuous(expand = ggplot2::expansion(add = 0.25)) +
    ggplot2::labs(title = "Learned causal graph",
                  subtitle = sprintf("edges with probability above %s", format(threshold))) +
    ggplot2::theme_void()
}

# Genes evenly on the unit circle, the first at the top, clockwise.
circle_layout <- function(genes) {
  angle <- pi / 2 - 2 * pi * (seq_along(genes) - 1) / length(genes)
  data.frame(node = genes, x = cos(angle), y = sin(angle))
}

# Layer of a gene = length of the longest directed path into it in the DAG
# g; layers stacked top to bottom, genes of a layer spread across [-1, 1].
layered_layout <- function(g) {
  d <- nrow(g)
  layer <- integer(d)
  # In topological order every parent's layer is final before its children.
  for (j in topological_order(g)) {
    pa <- which(g[, j] != 0L)
    if (length(pa)) layer[j] <- max(layer[pa]) + 1L
  }
  n_layers <- max(layer) + 1L
  x <- numeric(d)
  for (l in unique(layer)) {
    members <- which(layer == l)
    k <- length(members)
    x[members] <- if (k == 1L) 0 else seq(-1, 1, length.out = k)
  }
  y <- if (n_layers == 1L) rep(0, d) else 1 - 2 * layer / (n_layers - 1L)
  data.frame(node = rownames(g) %||% as.character(seq_len(d)), x = x, y = y)
}

# Edges above the threshold with their end points pulled back from the node
# centres, so arrow heads stop at the node circles rather than under them.
network_edges <- function(prob, nodes, threshold) {
  hit <- which(prob > threshold & row(prob) != col(prob), arr.ind = TRUE)
  from <- hit[, 1L]
  to <- hit[, 2L]
  reciprocal <- prob[cbind(to, from)] > threshold
  dx <- nodes$x[to] - nodes$x[from]
  dy <- nodes$y[to] - nodes$y[from]
  len <- sqrt(dx^2 + dy^2)
  # Node circles are about 0.12 layout units across at the usual sizes;
  # coincident nodes (len 0) would divide by zero, so keep their ends.
  gap <- ifelse(len > 0, pmin(0.12, len / 3) / len, 0)
  data.frame(
    from = rownames(prob)[from] %||% as.character(from),
    to = colnames(prob)[to] %||% as.character(to),
    probability = prob[hit],
    reciprocal = reciprocal,
    x = nodes$x[from] + gap * dx,
    y = nodes$y[from] + gap * dy,
    xend = nodes$x[to] - gap * dx,
    yend = nodes$y[to] - gap * dy
  )
}
