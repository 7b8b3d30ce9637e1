# The learned causal graph: edge probabilities as a heat map, or a network
# drawn with ggplot2 alone (circle or layered layout, arrows whose colour,
# opacity and width show the edge probability, genes by symbol).

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
#' arrows, darker, more opaque and wider the more probable they are; when
#' more than `max_edges` edges pass the threshold, only the `max_edges` most
#' probable are drawn (the subtitle says so). With the default
#' `threshold = 0.5` these are the edges of the point estimate \eqn{G^*}
#' *before* any cycles are broken, so the drawing shows cycles that
#' [causal_graph()] would cut; pairs of opposite edges are drawn as two
#' arcs. Raise `threshold` (to 0.9, say) to see only the confident edges of
#' a fit. Genes that a training context targets with probability above 1/2
#' ([intervention_targets()]) are filled orange.
#'
#' Layouts: `"circle"` puts the genes on a circle in the order of the fit.
#' `"layered"` is the one to read the causal order from: each gene sits one
#' layer below its lowest parent among the drawn edges of the acyclic point
#' estimate (the graph of [causal_graph()], computed without its warning),
#' so parents are above their children and arrows point downwards. Within a
#' layer genes are ordered by the mean position of their parents (then of
#' their children), which uncrosses most edges, and a layer of more than six
#' genes wraps onto several rows so that labels do not overlap. Arrows that
#' skip rows bend a little; drawn edges against the causal order (those
#' [causal_graph()] cuts to break cycles) are dashed arcs. Genes without a
#' drawn edge are set aside in grey rows at the bottom, or left out with
#' `isolated = FALSE`.
#'
#' **Gene labels.** Genes are shown by their HGNC symbol when their name is
#' an Ensembl ID of the genes [simulate_sciplex()] uses (a table mapped once
#' from Bioconductor's org.Hs.eg.db, shipped as
#' `inst/extdata/gene_symbols.rds`), otherwise by their name. `labels`
#' overrides this, for example with the symbols of a
#' `SingleCellExperiment`: `labels = setNames(rowData(sce)$gene_symbol,
#' rownames(sce))`.
#'
#' @param fit A `gim` object from [gim_fit()].
#' @param type `"heatmap"` or `"network"`.
#' @param threshold Edges with probability above it are marked (heat map) or
#'   drawn (network); a number in `[0, 1)`.
#' @param layout Node placement of the network: `"circle"` or `"layered"`
#'   (parents above children; see Details).
#' @param labels How genes are labelled: `NULL` (default) for HGNC symbols
#'   where known and the gene names otherwise, `FALSE` for the gene names,
#'   or a character vector: one label per gene of the fit (in the order of
#'   `fit$nodes`), or labels named by gene for some of them.
#' @param max_edges The network draws at most this many edges, the most
#'   probable above `threshold`; a positive whole number (default 40).
#' @param isolated Layered network: draw the genes without a drawn edge in
#'   grey rows at the bottom (`TRUE`, default) or leave them out (`FALSE`).
#' @return A ggplot object.
#' @family plots
#' @examples
#' set.seed(1)
#' bench <- simulate_gim_benchmark(d = 5, n_perturbations = 4,
#'                                 n_test_perturbations = 0, n_cells = 20,
#'                                 n_observational = 100, n_components = 3)
#' # A short illustrative run (real fits train for 10,000 steps).
#' fit <- gim_fit(bench$train$x, bench$train$context, bench$train$features,
#'                mechanism = "linear",
#'                control = gim_control(steps = 100, n_mc = 4, gim_hidden = 10),
#'                verbose = FALSE)
#' plot_graph(fit)
#' plot_graph(fit, "network", threshold = 0.3)
#' plot_graph(fit, "network", layout = "layered")
#' # Only the confident edges, genes labelled by hand.
#' plot_graph(fit, "network", layout = "layered", threshold = 0.9,
#'            labels = c(x1 = "first gene"))
#' @export
plot_graph <- function(fit, type = c("heatmap", "network"), threshold = 0.5,
                       layout = c("circle", "layered"), labels = NULL,
                       max_edges = 40L, isolated = TRUE) {
  validate_gim(fit)
  type <- arg_match_checked(type)
  layout <- arg_match_checked(layout)
  check_fraction(threshold, "threshold")
  if (!is.numeric(max_edges) || length(max_edges) != 1L || is.na(max_edges) ||
      max_edges < 1 || max_edges != round(max_edges)) {
    cli::cli_abort("{.arg max_edges} must be a positive whole number, not {describe_value(max_edges)}.")
  }
  if (!is.logical(isolated) || length(isolated) != 1L || is.na(isolated)) {
    cli::cli_abort("{.arg isolated} must be TRUE or FALSE, not {describe_value(isolated)}.")
  }
  prob <- edge_probabilities(fit)
  shown <- gene_labels(fit$nodes, labels)
  dimnames(prob) <- list(shown, shown)
  if (type == "heatmap") {
    return(probability_heatmap(prob, prob > threshold, xlab = "child",
                               ylab = "parent", title = "Edge probabilities",
                               fill_label = "P(edge)"))
  }
  # The most probable edges above the threshold, at most max_edges of them.
  drawn <- prob > threshold & row(prob) != col(prob)
  n_above <- sum(drawn)
  if (n_above > max_edges) {
    keep <- order(prob[drawn], decreasing = TRUE)[seq_len(max_edges)]
    drawn[which(drawn)[-keep]] <- FALSE
  }
  targeted <- target_genes(fit)
  if (layout == "circle") {
    nodes <- circle_layout(shown)
    edges <- network_edges(ifelse(drawn, prob, 0), nodes, threshold)
  } else {
    dag <- dag_estimate(fit)$graph * drawn
    dimnames(dag) <- dimnames(prob)
    connected <- rowSums(drawn) + colSums(drawn) > 0
    if (!isolated) {
      keep <- connected
      prob <- prob[keep, keep, drop = FALSE]
      drawn <- drawn[keep, keep, drop = FALSE]
      dag <- dag[keep, keep, drop = FALSE]
      targeted <- targeted[keep]
      connected <- connected[keep]
    }
    nodes <- layered_layout(dag, aside = !connected)
    edges <- layered_edges(ifelse(drawn, prob, 0), nodes, threshold)
  }
  nodes$role <- factor(ifelse(targeted, "perturbation target", "other gene"),
                       levels = c("perturbation target", "other gene"))
  nodes$aside <- nodes$aside %||% FALSE
  network_plot(nodes, edges, layout,
               subtitle = network_subtitle(n_above, sum(drawn), threshold, layout),
               caption = network_caption(fit$nodes, shown, layout, any(nodes$aside)))
}

# Genes that some training context targets with probability above 1/2.
target_genes <- function(fit) {
  if (is.null(fit$features) || nrow(fit$features) == 0L) {
    return(rep(FALSE, length(fit$nodes)))
  }
  colSums(intervention_targets(fit) > 0.5) > 0
}

network_subtitle <- function(n_above, n_drawn, threshold, layout) {
  edges <- if (n_drawn < n_above) {
    sprintf("the %d most probable of %d edges with P(edge) > %s", n_drawn, n_above,
            format(threshold))
  } else {
    sprintf("%d edge%s with P(edge) > %s", n_drawn, if (n_drawn == 1L) "" else "s",
            format(threshold))
  }
  if (layout == "layered") paste0(edges, "; parents above their children") else edges
}

network_caption <- function(genes, shown, layout, aside) {
  notes <- character()
  if (any(genes != shown)) {
    notes <- c(notes, "genes by HGNC symbol where known (org.Hs.eg.db), else by ID")
  }
  if (layout == "layered") {
    notes <- c(notes, "dashed: edge against the causal order (on a cycle of the graph)")
    if (aside) notes <- c(notes, "bottom row, grey: genes without a drawn edge")
  }
  if (length(notes)) paste(notes, collapse = "\n") else NULL
}

# The drawing shared by both layouts: edges as arrows (colour, opacity and
# width by probability), genes as labels filled by their role.
network_plot <- function(nodes, edges, layout, subtitle, caption) {
  arrow_head <- ggplot2::arrow(length = ggplot2::unit(2.5, "mm"), type = "closed")
  edge_aes <- ggplot2::aes(x = .data$x, y = .data$y, xend = .data$xend,
                           yend = .data$yend, alpha = .data$probability,
                           linewidth = .data$probability, colour = .data$probability)
  edges$style <- edges$style %||% ifelse(edges$reciprocal, "curved", "straight")
  part <- function(style) edges[edges$style == style, , drop = FALSE]
  curve <- function(style, curvature, linetype = "solid") {
    ggplot2::geom_curve(data = part(style), mapping = edge_aes, arrow = arrow_head,
                        curvature = curvature, linetype = linetype)
  }
  edge_layers <- list(
    ggplot2::geom_segment(data = part("straight"), mapping = edge_aes, arrow = arrow_head),
    curve("curved", 0.25)
  )
  if (layout == "layered") {
    edge_layers <- c(edge_layers, list(curve("long", 0.15), curve("against", 0.35, "dashed")))
  }
  p_scale <- list(limits = c(0, 1), breaks = c(0.25, 0.5, 0.75, 1), name = "P(edge)")
  text_colour <- ifelse(nodes$aside, "grey50", "black")
  label_colour <- ifelse(nodes$aside, "grey75", "grey40")
  p <- ggplot2::ggplot() +
    edge_layers +
    ggplot2::geom_label(data = nodes, ggplot2::aes(x = .data$x, y = .data$y,
                                                   label = .data$node, fill = .data$role),
                        colour = label_colour, size = 3, label.size = 0.25,
                        label.padding = ggplot2::unit(0.15, "lines")) +
    ggplot2::geom_text(data = nodes, ggplot2::aes(x = .data$x, y = .data$y,
                                                  label = .data$node),
                       size = 3, colour = text_colour) +
    do.call(ggplot2::scale_alpha_continuous, c(p_scale, list(range = c(0.15, 1)))) +
    do.call(ggplot2::scale_linewidth_continuous, c(p_scale, list(range = c(0.2, 1.4)))) +
    do.call(ggplot2::scale_colour_gradient, c(p_scale, list(low = "#9ecae1", high = "#08306b",
                                                            guide = "legend"))) +
    ggplot2::scale_fill_manual(values = c(`perturbation target` = "#fdd49e",
                                          `other gene` = "grey95"),
                               drop = FALSE, name = "gene",
                               guide = ggplot2::guide_legend(
                                 override.aes = list(label = "   ", colour = "grey40"))) +
    ggplot2::labs(title = "Learned causal graph", subtitle = subtitle, caption = caption) +
    ggplot2::theme_void() +
    ggplot2::theme(plot.caption = ggplot2::element_text(hjust = 0, colour = "grey30"),
                   plot.margin = ggplot2::margin(8, 8, 8, 8))
  if (layout == "circle") {
    p + ggplot2::coord_equal(clip = "off") +
      ggplot2::scale_x_continuous(expand = ggplot2::expansion(add = 0.25)) +
      ggplot2::scale_y_continuous(expand = ggplot2::expansion(add = 0.25))
  } else {
    # Room for the labels at the ends of the rows.
    ends <- abs(nodes$x) > 0.99
    room <- max(0.15, label_half_width(nchar(nodes$node[ends])) + 0.02)
    p + ggplot2::coord_cartesian(clip = "off") +
      ggplot2::scale_x_continuous(expand = ggplot2::expansion(add = room)) +
      ggplot2::scale_y_continuous(expand = ggplot2::expansion(add = 0.1))
  }
}

# Genes evenly on the unit circle, the first at the top, clockwise.
circle_layout <- function(genes) {
  angle <- pi / 2 - 2 * pi * (seq_along(genes) - 1) / length(genes)
  data.frame(node = genes, x = cos(angle), y = sin(angle))
}

# Layer of a gene = length of the longest directed path into it in the DAG
# g; layers stacked top to bottom. Genes of a layer are spread across
# [-1, 1] in the order of their parents' mean position (then of their
# children's), which uncrosses most edges; a layer wraps onto several rows
# when its labels would not fit side by side (at most 6 genes a row, fewer
# for long names), so labels keep their room. Genes flagged `aside` (no
# drawn edge) go to rows of their own at the bottom.
layered_layout <- function(g, aside = rep(FALSE, nrow(g))) {
  d <- nrow(g)
  if (d == 0L) {
    return(data.frame(node = character(), x = numeric(), y = numeric(),
                      layer = integer(), aside = logical()))
  }
  layer <- integer(d)
  # In topological order every parent's layer is final before its children.
  for (j in topological_order(g)) {
    pa <- which(g[, j] != 0L)
    if (length(pa)) layer[j] <- max(layer[pa]) + 1L
  }
  if (any(aside)) {
    layer[aside] <- if (all(aside)) 0L else max(layer[!aside]) + 1L
  }
  # Position in the layer: start in the fit's order, then sweep down (by
  # parents) and up (by children), keeping ties in their order.
  pos <- stats::ave(seq_len(d), layer, FUN = function(i) (seq_along(i) - 0.5) / length(i))
  sweep <- function(levels, neighbours) {
    for (l in levels) {
      members <- which(layer == l & !aside)
      centre <- vapply(members, function(j) {
        nb <- neighbours(j)
        if (length(nb)) mean(pos[nb]) else pos[j]
      }, numeric(1))
      pos[members] <<- (rank(centre, ties.method = "first") - 0.5) / length(members)
    }
  }
  levels <- sort(unique(layer[!aside]))
  for (pass in 1:2) {
    sweep(levels[-1L], function(j) which(g[, j] != 0L))
    sweep(rev(levels)[-1L], function(j) which(g[j, ] != 0L))
  }
  # Rows: each layer wraps after per_row genes.
  x <- numeric(d)
  row <- integer(d)
  next_row <- 0L
  for (l in sort(unique(layer))) {
    members <- which(layer == l)
    members <- members[order(pos[members])]
    widest <- max(nchar(rownames(g)[members] %||% "00"))
    per_row <- max(2L, min(6L, floor(2.4 / (2 * label_half_width(widest) + 0.05))))
    chunks <- split(members, ceiling(seq_along(members) / per_row))
    for (chunk in chunks) {
      k <- length(chunk)
      x[chunk] <- if (k == 1L) 0 else seq(-1, 1, length.out = k)
      row[chunk] <- next_row
      next_row <- next_row + 1L
    }
  }
  y <- if (next_row == 1L) rep(0, d) else 1 - 2 * row / (next_row - 1L)
  data.frame(node = rownames(g) %||% as.character(seq_len(d)), x = x, y = y,
             layer = layer, aside = aside)
}

# Half the width of a gene label of `n` characters in layout units, at the
# usual sizes (text size 3 on a panel about 16 cm wide).
label_half_width <- function(n) 0.014 * n + 0.035

# Edges of the layered drawing: arrows between neighbouring rows are
# straight, longer ones bend a little so they pass beside the rows between,
# and edges that do not point downwards (against the causal order, on a
# cycle of the graph) are dashed arcs. End points stop short of the labels.
layered_edges <- function(prob, nodes, threshold) {
  edges <- network_edges(prob, nodes, threshold)
  if (!nrow(edges)) {
    edges$style <- character()
    return(edges)
  }
  from <- match(edges$from, nodes$node)
  to <- match(edges$to, nodes$node)
  x0 <- nodes$x[from]
  y0 <- nodes$y[from]
  x1 <- nodes$x[to]
  y1 <- nodes$y[to]
  rows <- sort(unique(nodes$y))
  step <- if (length(rows) > 1L) min(diff(rows)) else 1
  down <- y1 < y0 - 1e-9
  edges$style <- ifelse(!down, "against",
                        ifelse(y0 - y1 > step * 1.5, "long", "straight"))
  # Pull the ends back along the edge to the rim of the labels: boxes about
  # 0.05 layout units tall and 0.014 wide per character at the usual sizes.
  rim <- function(node, dx, dy) {
    half_w <- label_half_width(nchar(nodes$node[node]))
    t <- pmin(ifelse(dy > 0, 0.06 / dy, Inf), ifelse(dx > 0, half_w / dx, Inf))
    pmin(t, 0.45)
  }
  dx <- abs(x1 - x0)
  dy <- abs(y1 - y0)
  t0 <- rim(from, dx, dy)
  t1 <- rim(to, dx, dy)
  edges$x <- x0 + t0 * (x1 - x0)
  edges$y <- y0 + t0 * (y1 - y0)
  edges$xend <- x1 - t1 * (x1 - x0)
  edges$yend <- y1 - t1 * (y1 - y0)
  edges
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
