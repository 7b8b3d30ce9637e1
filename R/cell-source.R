# Cells (rows) of the expression given to gim_fit(), read a block at a time:
# dense matrices are used as they are, sparse `Matrix` objects and
# DelayedArray matrices (e.g. HDF5Array's, on disk) are only densified row
# block by row block, so a fit never holds more of them in dense form than
# its training design needs (all training cells for the exact estimator, one
# minibatch at a time with `gim_control(minibatch = )`).

is_lazy_cells <- function(x) {
  methods::is(x, "sparseMatrix") || methods::is(x, "DelayedMatrix")
}

# Rows read per block when scanning or densifying a lazy matrix.
cell_block_rows <- function(x) max(1L, as.integer(2^22 %/% max(1L, ncol(x))))

# Checks the expression matrix; returns it dense unless it is lazy (sparse or
# delayed), which is checked block by block and returned as it is.
as_cell_source <- function(x, arg = "x", min_rows = 2L, non_negative = FALSE,
                           call = rlang::caller_env()) {
  if (!is_lazy_cells(x)) {
    x <- as_sample_matrix(x, arg, min_rows = min_rows, call = call)
    if (non_negative && any(x < 0)) stop_negative(arg, call)
    return(x)
  }
  if (length(dim(x)) != 2L || ncol(x) < 1L || nrow(x) < min_rows) {
    cli::cli_abort("{.arg {arg}} must have at least {min_rows} rows (cells) and one column (gene), not {nrow(x)} x {ncol(x)}.",
                   call = call)
  }
  type <- if (methods::is(x, "DelayedMatrix")) DelayedArray::type(x) else typeof(x@x)
  if (!type %in% c("double", "integer", "logical")) {
    cli::cli_abort("{.arg {arg}} must hold numbers, not values of type {.val {type}}.",
                   call = call)
  }
  for_cell_blocks(x, function(block) {
    if (anyNA(block) || any(!is.finite(block))) {
      cli::cli_abort("{.arg {arg}} must not contain NA, NaN or infinite values.", call = call)
    }
    if (non_negative && any(block < 0)) stop_negative(arg, call)
  })
  x
}

stop_negative <- function(arg, call) {
  cli::cli_abort(c("{.arg {arg}} must be non-negative for {.val zilognormal} mechanisms.",
                   "i" = "Use log-normalised counts (e.g. {.fn preprocess_perturbation})."),
                 call = call)
}

# Calls f on the non-zero values (sparse) or on dense row blocks (delayed).
for_cell_blocks <- function(x, f) {
  if (methods::is(x, "sparseMatrix")) {
    if (methods::.hasSlot(x, "x")) f(x@x)
    return(invisible())
  }
  n <- nrow(x)
  step <- cell_block_rows(x)
  for (from in seq(1L, n, by = step)) {
    f(cell_rows(x, seq.int(from, min(n, from + step - 1L))))
  }
  invisible()
}

# Dense double matrix of the given rows, in the given order, without
# dimnames (the engine does not need them).
cell_rows <- function(x, rows) {
  if (!is_lazy_cells(x)) {
    out <- x[rows, , drop = FALSE]
  } else {
    out <- matrix(0, length(rows), ncol(x))
    step <- cell_block_rows(x)
    for (from in seq(1L, length(rows), by = step)) {
      at <- seq.int(from, min(length(rows), from + step - 1L))
      out[at, ] <- as.matrix(x[rows[at], , drop = FALSE])
    }
  }
  storage.mode(out) <- "double"
  dimnames(out) <- NULL
  out
}

# Per-gene centre and scale of the cells (all rows), read a block at a time:
# what gim_control(standardise = TRUE) fits in. Constant genes keep scale 1.
gene_scaling <- function(x) {
  n <- nrow(x)
  sums <- squares <- numeric(ncol(x))
  step <- cell_block_rows(x)
  for (from in seq(1L, n, by = step)) {
    block <- cell_rows(x, seq.int(from, min(n, from + step - 1L)))
    sums <- sums + colSums(block)
    squares <- squares + colSums(block * block)
  }
  center <- sums / n
  scale <- sqrt(pmax(0, (squares - n * center^2) / max(1, n - 1)))
  scale[!is.finite(scale) | scale < 1e-8 * pmax(1, abs(center))] <- 1
  list(center = center, scale = scale)
}

# Cells on the fit's internal scale, and back.
standardise_cells <- function(x, scaling) {
  if (is.null(scaling)) return(x)
  x <- sweep(x, 2L, scaling$center, check.margin = FALSE)
  sweep(x, 2L, scaling$scale, "/", check.margin = FALSE)
}

unstandardise_cells <- function(x, scaling) {
  if (is.null(scaling)) return(x)
  x <- sweep(x, 2L, scaling$scale, "*", check.margin = FALSE)
  sweep(x, 2L, scaling$center, "+", check.margin = FALSE)
}
