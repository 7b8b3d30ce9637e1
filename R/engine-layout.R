# The flat parameter vector of the C engine (src/gim_layout.c mirrors this
# order exactly; check_engine_layout() compares the two block by block) and
# its named, user-facing form in a `gim` object.

psi_parameter_names <- function(mechanism, intervention) {
  if (intervention == "shift") return("shift")
  c("mean", "log_sd", if (mechanism == "zilognormal") "zero_logit")
}

# Blocks in storage order: name path and dimensions. With acyclicity =
# "order" the latent graph also has one potential per gene.
engine_blocks <- function(mechanism, intervention, d, k, H, sizes, acyclicity = "penalty") {
  blocks <- list(
    list(path = c("graph_latent", "u"), dim = c(d, k)),
    list(path = c("graph_latent", "v"), dim = c(d, k))
  )
  if (acyclicity == "order") {
    blocks <- c(blocks, list(list(path = c("graph_latent", "order"), dim = d)))
  }
  theta <- if (mechanism == "linear") {
    list(list("weights", c(d, d)), list("bias", d))
  } else {
    list(list("w1", c(H, d, d)), list("b1", c(H, d)), list("w2", c(H, d)), list("b2", d))
  }
  theta <- c(theta, list(list("log_sd", d)))
  if (mechanism == "zilognormal") theta <- c(theta, list(list("zero_logit", d)))
  blocks <- c(blocks, lapply(theta, function(b) list(path = c("theta", b[[1]]), dim = b[[2]])))
  nets <- c("targets", paste0("psi.", psi_parameter_names(mechanism, intervention)))
  for (net in nets) {
    for (l in seq_len(length(sizes) - 1L)) {
      blocks <- c(blocks, list(
        list(path = c("phi", net, l, "weight"), dim = c(sizes[l], sizes[l + 1L])),
        list(path = c("phi", net, l, "bias"), dim = sizes[l + 1L])
      ))
    }
  }
  blocks
}

engine_length <- function(blocks) sum(vapply(blocks, function(b) prod(b$dim), numeric(1)))

# The 0-based offset of each block in the flat vector, named by its path
# ("graph_latent/u", "theta/w1", "phi/psi.mean/2/bias", ...), then where
# theta and phi start and the total length.
engine_offsets <- function(blocks) {
  len <- vapply(blocks, function(b) prod(b$dim), numeric(1))
  paths <- vapply(blocks, function(b) paste(b$path, collapse = "/"), character(1))
  off <- stats::setNames(cumsum(c(0, len))[seq_along(blocks)], paths)
  c(off, theta = off[[match("theta", vapply(blocks, function(b) b$path[1], ""))]],
    phi = off[[match("phi", vapply(blocks, function(b) b$path[1], ""))]],
    total = sum(len))
}

# The same offsets as the C engine lays them out (gim_layout_make() through
# pg_gim_layout), in the names of engine_offsets().
engine_c_offsets <- function(settings) {
  lay <- .Call(pg_gim_layout, settings)
  c_name <- c(u = "graph_latent/u", v = "graph_latent/v", order = "graph_latent/order",
              w = "theta/weights",
              b = "theta/bias")
  nm <- names(lay$offsets)
  off <- stats::setNames(lay$offsets,
                         ifelse(nm %in% names(c_name), c_name[nm], paste0("theta/", nm)))
  mechanism <- engine_codes$mechanism[settings$mechanism]
  intervention <- engine_codes$intervention[settings$intervention]
  nets <- c("targets", paste0("psi.", psi_parameter_names(mechanism, intervention)))
  for (q in seq_along(nets)) {
    for (l in seq_len(ncol(lay$net_w))) {
      off[paste("phi", nets[q], l, "weight", sep = "/")] <- lay$net_w[q, l]
      off[paste("phi", nets[q], l, "bias", sep = "/")] <- lay$net_b[q, l]
    }
  }
  c(off, theta = lay$theta, phi = lay$phi, total = lay$total)
}

# R's blocks and C's layout must agree field by field, not only in length:
# a block read at the wrong offset would train silently. Run at the start
# of every fit (one small .Call, no data).
check_engine_layout <- function(blocks, settings) {
  r <- engine_offsets(blocks)
  cc <- engine_c_offsets(settings)
  if (!identical(r, cc)) {
    both <- intersect(names(r), names(cc))
    differ <- c(setdiff(union(names(r), names(cc)), both), both[r[both] != cc[both]])
    stop("internal error: R's parameter layout differs from the C engine's at ",
         paste(differ, collapse = ", "), ".", call. = FALSE)
  }
  invisible(TRUE)
}

# Flat vector -> nested list(graph_latent, theta, phi); phi nets are lists of
# layers list(weight, bias), with the psi nets gathered under phi$psi.
unflatten_parameters <- function(par, blocks, nodes) {
  out <- list(graph_latent = list(), theta = list(), phi = list(targets = list(), psi = list()))
  at <- 0
  for (b in blocks) {
    len <- prod(b$dim)
    value <- par[at + seq_len(len)]
    at <- at + len
    value <- if (length(b$dim) > 1L) array(value, b$dim) else value
    p <- b$path
    if (p[1] == "graph_latent") {
      out$graph_latent[[p[2]]] <- value
    } else if (p[1] == "theta") {
      out$theta[[p[2]]] <- value
    } else {
      net <- p[2]
      layer <- as.integer(p[3])
      slot <- if (startsWith(net, "psi.")) c("psi", sub("^psi\\.", "", net)) else "targets"
      if (length(slot) == 1L) {
        if (length(out$phi$targets) < layer) out$phi$targets[[layer]] <- list()
        out$phi$targets[[layer]][[p[4]]] <- value
      } else {
        if (is.null(out$phi$psi[[slot[2]]])) out$phi$psi[[slot[2]]] <- list()
        if (length(out$phi$psi[[slot[2]]]) < layer) out$phi$psi[[slot[2]]][[layer]] <- list()
        out$phi$psi[[slot[2]]][[layer]][[p[4]]] <- value
      }
    }
  }
  name_model_parameters(out, nodes)
}

name_model_parameters <- function(out, nodes) {
  rownames(out$graph_latent$u) <- rownames(out$graph_latent$v) <- nodes
  if (!is.null(out$graph_latent$order)) names(out$graph_latent$order) <- nodes
  th <- out$theta
  for (nm in intersect(c("bias", "log_sd", "zero_logit", "b2"), names(th))) names(th[[nm]]) <- nodes
  if (!is.null(th$weights)) dimnames(th$weights) <- list(nodes, nodes)
  if (!is.null(th$b1)) colnames(th$b1) <- colnames(th$w2) <- nodes
  if (!is.null(th$w1)) dimnames(th$w1) <- list(NULL, nodes, nodes)
  out$theta <- th
  out
}

flatten_parameters <- function(parts, blocks) {
  unlist(lapply(blocks, function(b) {
    p <- b$path
    v <- if (p[1] == "phi") {
      net <- if (p[2] == "targets") parts$phi$targets else parts$phi$psi[[sub("^psi\\.", "", p[2])]]
      net[[as.integer(p[3])]][[p[4]]]
    } else {
      parts[[p[1]]][[p[2]]]
    }
    as.double(v)
  }), use.names = FALSE)
}

# Initialisation of SPEC section 2: Z ~ N(0, 1) (node potentials 0: every
# order equally likely, and no random draws); linear weights N(0, 0.1);
# MLP and net weights Glorot normal; log-sd 0. Departure (documented in
# ?gim_control): mechanism output biases start at each gene's mean (of log x
# over positive cells, and the zero fraction's logit, for zilognormal), so
# uncentred expression data does not start far off.
init_parameters <- function(blocks, x, mechanism, nodes, latent_sd = 1) {
  par <- lapply(blocks, function(b) {
    p <- b$path
    n <- prod(b$dim)
    if (identical(p, c("graph_latent", "order"))) return(numeric(n))
    if (p[1] == "graph_latent") return(stats::rnorm(n, sd = latent_sd))
    if (p[1] == "theta") {
      return(switch(p[2],
        weights = stats::rnorm(n, sd = sqrt(0.1)),
        w1 = glorot(b$dim[2], b$dim[1], n),
        w2 = glorot(b$dim[1], 1, n),
        bias = , b2 = gene_offsets(x, mechanism),
        zero_logit = zero_logits(x),
        numeric(n)
      ))
    }
    if (p[4] == "weight") glorot(b$dim[1], b$dim[2], n) else numeric(n)
  })
  unlist(par, use.names = FALSE)
}

gene_offsets <- function(x, mechanism) {
  if (mechanism != "zilognormal") return(unname(colMeans(x)))
  vapply(seq_len(ncol(x)), function(j) {
    pos <- x[, j][x[, j] > 0]
    if (length(pos)) mean(log(pos)) else 0
  }, numeric(1))
}

zero_logits <- function(x) {
  p0 <- (colSums(x <= 0) + 0.5) / (nrow(x) + 1)
  unname(stats::qlogis(p0))
}
