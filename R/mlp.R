# The tanh MLPs of the package: the GIM's targets and intervention-parameter
# nets (R/engine-layout.R initialises them, predict() runs them) and the
# baseline MLP (R/baselines.R). A net is a list of layers
# list(weight = in x out, bias = out), tanh after every layer but the last.

# n Glorot-normal weights of a layer with fan_in inputs and fan_out outputs.
# The one place weights are drawn: init_parameters() and glorot_mlp() both
# come here, so the number and order of rnorm() draws (and with them fits
# under set.seed()) are fixed by their callers alone.
glorot <- function(fan_in, fan_out, n = fan_in * fan_out) {
  stats::rnorm(n, sd = sqrt(2 / (fan_in + fan_out)))
}

# A fresh net with layer sizes `sizes` (input first): Glorot-normal weights,
# zero biases, drawn layer by layer.
glorot_mlp <- function(sizes) {
  lapply(seq_len(length(sizes) - 1L), function(l) {
    fan_in <- sizes[l]
    fan_out <- sizes[l + 1L]
    list(weight = matrix(glorot(fan_in, fan_out), fan_in, fan_out),
         bias = numeric(fan_out))
  })
}

# The activations of every layer for the rows of `input`, input first and
# output last; back-propagation (baseline training) needs them all.
mlp_activations <- function(net, input) {
  h <- vector("list", length(net) + 1L)
  h[[1L]] <- input
  n_layers <- length(net)
  for (l in seq_len(n_layers)) {
    a <- h[[l]] %*% net[[l]]$weight
    a <- a + rep(net[[l]]$bias, each = nrow(a))
    h[[l + 1L]] <- if (l < n_layers) tanh(a) else a
  }
  h
}

# The output of the net for the rows of `input`, rownames kept.
mlp_forward <- function(net, input) {
  h <- mlp_activations(net, input)
  out <- h[[length(h)]]
  dimnames(out) <- list(rownames(input), NULL)
  out
}
