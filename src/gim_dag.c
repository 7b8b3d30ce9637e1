/* Graph samples made acyclic (gim_control(graph_samples = "dag")).
 *
 * The factorised likelihood of a cyclic graph is not a density: with cycles
 * every gene can be predicted from its neighbours, and on simulated data a
 * fit started at the true DAG turned cyclic within a few hundred steps
 * because the cyclic "likelihood" beat the true model's. Each discrete
 * sample is therefore made a DAG before the likelihood sees it: its edges
 * are kept greedily in decreasing order of their noisy logits z =
 * logit + L (ties by index), skipping every edge that would close a cycle.
 * An acyclic sample is left as it is. The projection depends on the sample
 * alone, so results do not depend on the number of threads. */
#include <stdlib.h>
#include <string.h>
#include "gim_engine.h"

static int by_decreasing_z(const void *a, const void *b)
{
    const gim_edge *x = a, *y = b;
    if (x->z > y->z) return -1;
    if (x->z < y->z) return 1;
    return (x->e > y->e) - (x->e < y->e);
}

size_t gim_dag_scratch_words(int d)
{
    size_t words = ((size_t) d + 63) / 64;
    return words * (size_t) d;
}

/* g: d x d 0/1 sample (g[i + d j] = 1 for i -> j), z: the noisy logits of
 * the same entries. edges: d * d scratch; reach: gim_dag_scratch_words(d)
 * scratch, reach row a holding the nodes reachable from a (a included). */
void gim_project_dag(double *g, const double *z, int d, gim_edge *edges, uint64_t *reach)
{
    size_t words = ((size_t) d + 63) / 64, n = 0, dd = (size_t) d * d;
    for (size_t e = 0; e < dd; e++)
        if (g[e] != 0.0) { edges[n].z = z[e]; edges[n].e = (int) e; n++; }
    if (n < 2) return;
    qsort(edges, n, sizeof *edges, by_decreasing_z);
    memset(reach, 0, sizeof(uint64_t) * words * d);
    for (int a = 0; a < d; a++) reach[(size_t) a * words + a / 64] |= 1ULL << (a % 64);
    for (size_t t = 0; t < n; t++) {
        int e = edges[t].e, i = e % d, j = e / d;
        const uint64_t *from_j = reach + (size_t) j * words;
        if (from_j[i / 64] >> (i % 64) & 1ULL) {   /* j reaches i: i -> j closes a cycle */
            g[e] = 0.0;
            continue;
        }
        for (int a = 0; a < d; a++) {                /* whoever reaches i now reaches j's set */
            uint64_t *ra = reach + (size_t) a * words;
            if (ra[i / 64] >> (i % 64) & 1ULL)
                for (size_t w = 0; w < words; w++) ra[w] |= from_j[w];
        }
    }
}
