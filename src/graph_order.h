/* Topological order of a directed graph given as a column-major d x d 0/1
 * adjacency matrix (g[a + b d] = 1 for an edge a -> b), by Kahn's algorithm.
 * One copy for the C kernels that need it: the sampler (scm_sample.c: the
 * order in which variables are drawn) and the SID checks (metrics_graph.c:
 * is the graph acyclic, and where is a cycle). Plain C, no R. The R side
 * has the same algorithm in R/graph-utils.R. */
#ifndef PG_GRAPH_ORDER_H
#define PG_GRAPH_ORDER_H

#include <stddef.h>

/* Whether a -> b counts as an edge. With `directed_only` an edge needs
 * G[a, b] = 1 and G[b, a] = 0: the undirected edges of a CPDAG are skipped. */
static inline int pg_graph_edge(const int *g, int d, int a, int b, int directed_only)
{
    int e = g[a + (ptrdiff_t) b * d];
    if (e && directed_only && a != b && g[b + (ptrdiff_t) a * d]) e = 0;
    return e;
}

/* Writes the nodes in topological order (ties by index) to order[0 ..) and
 * returns how many it placed: d for an acyclic graph, fewer when there is a
 * cycle. indeg (d ints) is scratch; on return, indeg[v] > 0 exactly for the
 * nodes left unplaced, those on or below a cycle. */
static inline int pg_topological_order(const int *g, int d, int directed_only,
                                       int *order, int *indeg)
{
    for (int b = 0; b < d; b++) {
        indeg[b] = 0;
        for (int a = 0; a < d; a++) indeg[b] += pg_graph_edge(g, d, a, b, directed_only);
    }
    int head = 0, tail = 0;
    for (int b = 0; b < d; b++)
        if (indeg[b] == 0) order[tail++] = b;
    while (head < tail) {
        int a = order[head++];
        for (int b = 0; b < d; b++)
            if (pg_graph_edge(g, d, a, b, directed_only) && --indeg[b] == 0) order[tail++] = b;
    }
    return tail;
}

#endif
