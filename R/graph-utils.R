# Directed graphs as 0/1 adjacency matrices (`g[i, j] = 1` for an edge
# i -> j): the order and cycle tests that the sampler (scm.R), the training
# loop (fit.R), the graph estimates and the plots share. The C kernels have
# their own copy in src/graph_order.h.

# A topological order of the variables (Kahn's algorithm: parents before
# children, ties in index order), or NULL when the graph has a cycle.
topological_order <- function(graph) {
  d <- nrow(graph)
  indeg <- colSums(graph)
  order <- integer(d)
  ready <- which(indeg == 0)
  k <- 0L
  while (length(ready)) {
    i <- ready[1L]
    ready <- ready[-1L]
    k <- k + 1L
    order[k] <- i
    children <- which(graph[i, ] != 0)
    indeg[children] <- indeg[children] - 1
    ready <- c(ready, children[indeg[children] == 0])
  }
  if (k < d) NULL else order
}

# Whether the graph is acyclic (a DAG).
is_dag <- function(g) !is.null(topological_order(g))

# The variables along one directed cycle of a 0/1 adjacency matrix (each has
# an edge to the next, the last to the first), or NULL when it is acyclic.
# Iterative depth-first search, so deep graphs do not exhaust R's stack.
find_cycle <- function(g) {
  if (is_dag(g)) return(NULL)
  d <- nrow(g)
  children <- lapply(seq_len(d), function(i) which(g[i, ] != 0L))
  state <- integer(d) # 0 unvisited, 1 on the current path, 2 finished
  next_child <- integer(d)
  for (s in seq_len(d)) {
    if (state[s] != 0L) next
    path <- s
    state[s] <- 1L
    while (length(path)) {
      v <- path[length(path)]
      next_child[v] <- next_child[v] + 1L
      if (next_child[v] > length(children[[v]])) {
        state[v] <- 2L
        path <- path[-length(path)]
        next
      }
      w <- children[[v]][next_child[v]]
      if (state[w] == 1L) return(path[match(w, path):length(path)])
      if (state[w] == 0L) {
        state[w] <- 1L
        path <- c(path, w)
      }
    }
  }
  NULL # not reached: is_dag() found a cycle
}
