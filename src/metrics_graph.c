/* Structural intervention distance (SID; Peters and Buehlmann 2015).
 *
 * SID counts the ordered pairs (i, j) for which the parents of i in the
 * estimated graph are not a valid adjustment set for the effect of i on j in
 * the true DAG.  The reference implementation (CRAN package SID, function
 * structIntervDist) decides this with dense 2d x 2d transitive closures, one
 * per node: O(d^4).  Here each node i costs a handful of graph searches,
 * O(d + e), and decides all j at once; the nodes are independent, so they run
 * in parallel.
 *
 * The decision per (i, Z = parents of i in the estimate) reproduces exactly
 * what SID's R code computes (structIntervDist + dSepAdji):
 *
 *   j in Z:                      wrong iff j is a descendant of i;
 *   Z == parents of i in true:   right (parent adjustment is always valid);
 *   j a descendant of a child c of i with c an ancestor of Z
 *   (Z holds a descendant of a node on a causal path i -> ... -> j):  wrong;
 *   otherwise:                   wrong iff j is reached by SID's search for
 *                                open non-causal paths (below).
 *
 * SID's search runs in the true graph without the edges of i.  It is a
 * reachability over states (node, arrived along -> node or along <- node)
 * with the usual d-separation moves (a non-collider passes when not in Z, a
 * collider when it is an ancestor of Z), started from
 *   (a) every parent p of i, arrived along i <- p, and
 *   (b) every parent u != i of a node k that is an ancestor of Z and is
 *       reached from i by a directed path whose inner nodes avoid Z (such a
 *       k is a collider i -> ... -> k <- u that Z opens).
 * SID then deletes the entries "u reaches k" from its closure; that only
 * changes the verdict for such k themselves, and those are already wrong by
 * the descendant rule above (k descends from the first node of its directed
 * path from i and has a descendant in Z), so a plain search is exact.  Like
 * SID's closure, the search follows walks, not only simple paths.
 *
 * Estimates with undirected edges (both G[i, j] and G[j, i] set) follow SID
 * too: every undirected component with 2..8 nodes that is chordal is expanded
 * into all DAGs SID's allDagsJonas() lists (orient the neighbours of a
 * simplicial node into it, remove it, repeat); node i is scored for each
 * distinct parent set it gets, the bounds take the best and worst DAG per
 * component, and sid counts the pairs wrong for at least one of i's parent
 * sets.  When a component is larger than 8 nodes or not chordal (for every
 * component), or from the first component (in order of its smallest node)
 * that also holds a directed edge, SID scores each node for every subset of
 * its undirected neighbours instead ("local expansion"); so do we.
 */
#include "pg_common.h"
#include "graph_order.h"
#include <string.h>
#include <stdint.h>
#include <stdlib.h>

/* Largest d with d (d - 1) <= INT_MAX, so every count fits an R integer. */
#define SID_MAX_NODES 46340
/* SID enumerates DAG extensions only for components up to this size. */
#define SID_MAX_EXPAND 8
/* Local expansion scores 2^k parent sets of a node with k undirected
 * neighbours; SID itself stores all of them as rows of p^2 numbers. */
#define SID_MAX_LOCAL 20
/* Graph-search steps between interrupt checks. */
#define SID_WORK_CHUNK 20000000.0
/* Below this many graph-search steps a chunk runs on one thread: starting
 * threads would cost more than the searches (about a millisecond). */
#define SID_PARALLEL_MIN_WORK 200000.0

/* ---------------------------------------------------------------------- */
/* Plain-C kernel: one node i of the true DAG, one candidate set Z         */
/* ---------------------------------------------------------------------- */

/* The true DAG in compressed sparse rows: children and parents. */
typedef struct {
    int d;
    const int *ch_off, *ch; /* children of v: ch[ch_off[v] .. ch_off[v+1]) */
    const int *pa_off, *pa; /* parents of v:  pa[pa_off[v] .. pa_off[v+1]) */
} sid_dag;

/* Per-thread scratch. */
typedef struct {
    unsigned char *mark; /* d bit sets, see below */
    int *stack;          /* 2 d: every node or search state is pushed once */
    int *z;              /* d: the candidate adjustment set */
    unsigned char *wrong;/* d: pairs (i, j) wrong for some set of node i */
} sid_scratch;

enum {
    M_Z = 1,      /* in the adjustment set */
    M_DESC = 2,   /* proper descendant of i */
    M_ANC = 4,    /* ancestor of Z (Z included) */
    M_FORB = 8,   /* descendant (or self) of a child of i that is in M_ANC */
    M_D2 = 16,    /* reached from i by a directed path avoiding Z inside */
    M_IN = 32,    /* search state: reached along -> v */
    M_OUT = 64    /* search state: reached along <- v */
};

#define VISIT_IN(v)                                                        \
    do {                                                                   \
        if (!(mk[v] & M_IN)) { mk[v] |= M_IN; st[top++] = 2 * (v); }       \
    } while (0)
#define VISIT_OUT(v)                                                       \
    do {                                                                   \
        if (!(mk[v] & M_OUT)) { mk[v] |= M_OUT; st[top++] = 2 * (v) + 1; } \
    } while (0)

/* Number of j != i for which Z (nz distinct nodes, i not among them) is not
 * a valid adjustment set in SID's sense; sets wrong[j] = 1 for those j when
 * `wrong` is not NULL.  O(d + e). */
static int sid_kernel(const sid_dag *g, int i, const int *z, int nz,
                      sid_scratch *s, unsigned char *wrong)
{
    const int d = g->d;
    const int *ch_off = g->ch_off, *ch = g->ch, *pa_off = g->pa_off, *pa = g->pa;
    unsigned char *mk = s->mark;
    int *st = s->stack;
    int top = 0;

    memset(mk, 0, (size_t) d);
    for (int k = 0; k < nz; k++) mk[z[k]] |= M_Z;

    /* Adjusting for the true parents is always valid (SID checks this before
     * anything else for j outside Z, and no parent descends from i). */
    if (pa_off[i + 1] - pa_off[i] == nz) {
        int same = 1;
        for (int k = pa_off[i]; k < pa_off[i + 1]; k++)
            if (!(mk[pa[k]] & M_Z)) { same = 0; break; }
        if (same) return 0;
    }

    /* Proper descendants of i. */
    st[top++] = i;
    while (top) {
        int v = st[--top];
        for (int k = ch_off[v]; k < ch_off[v + 1]; k++) {
            int c = ch[k];
            if (!(mk[c] & M_DESC)) { mk[c] |= M_DESC; st[top++] = c; }
        }
    }

    /* Ancestors of Z, Z included: the colliders that Z opens. */
    for (int k = 0; k < nz; k++)
        if (!(mk[z[k]] & M_ANC)) { mk[z[k]] |= M_ANC; st[top++] = z[k]; }
    while (top) {
        int v = st[--top];
        for (int k = pa_off[v]; k < pa_off[v + 1]; k++) {
            int u = pa[k];
            if (!(mk[u] & M_ANC)) { mk[u] |= M_ANC; st[top++] = u; }
        }
    }

    /* Forbidden: j below a child of i that has a descendant in Z.  Such a
     * child starts a causal path to j, and Z holds a descendant of it. */
    for (int k = ch_off[i]; k < ch_off[i + 1]; k++) {
        int c = ch[k];
        if ((mk[c] & M_ANC) && !(mk[c] & M_FORB)) { mk[c] |= M_FORB; st[top++] = c; }
    }
    while (top) {
        int v = st[--top];
        for (int k = ch_off[v]; k < ch_off[v + 1]; k++) {
            int c = ch[k];
            if (!(mk[c] & M_FORB)) { mk[c] |= M_FORB; st[top++] = c; }
        }
    }

    /* Reached from i by directed paths that do not pass through Z (SID's
     * PathMatrix2: the true graph without the edges out of Z). */
    st[top++] = i;
    while (top) {
        int v = st[--top];
        for (int k = ch_off[v]; k < ch_off[v + 1]; k++) {
            int c = ch[k];
            if (!(mk[c] & M_D2)) {
                mk[c] |= M_D2;
                if (!(mk[c] & M_Z)) st[top++] = c;
            }
        }
    }

    /* Search for open non-causal paths; the edges of i are left out. */
    for (int k = pa_off[i]; k < pa_off[i + 1]; k++) VISIT_OUT(pa[k]);
    for (int v = 0; v < d; v++) {
        if ((mk[v] & (M_D2 | M_ANC)) != (M_D2 | M_ANC)) continue;
        for (int k = pa_off[v]; k < pa_off[v + 1]; k++)
            if (pa[k] != i) VISIT_OUT(pa[k]);
    }
    while (top) {
        int state = st[--top];
        int v = state >> 1, out = state & 1;
        if (!(mk[v] & M_Z)) {
            /* non-collider outside Z: on to the children, and when we came
             * in along <- v (v a tail), also on to the parents */
            for (int k = ch_off[v]; k < ch_off[v + 1]; k++)
                if (ch[k] != i) VISIT_IN(ch[k]);
            if (out)
                for (int k = pa_off[v]; k < pa_off[v + 1]; k++)
                    if (pa[k] != i) VISIT_OUT(pa[k]);
        }
        if (!out && (mk[v] & M_ANC)) {
            /* collider opened by Z */
            for (int k = pa_off[v]; k < pa_off[v + 1]; k++)
                if (pa[k] != i) VISIT_OUT(pa[k]);
        }
    }

    int count = 0;
    for (int j = 0; j < d; j++) {
        if (j == i) continue;
        unsigned m = mk[j];
        int bad;
        if (m & M_Z) bad = (m & M_DESC) != 0;
        else if (m & M_FORB) bad = 1;
        else bad = (m & (M_IN | M_OUT)) != 0;
        if (bad) {
            count++;
            if (wrong) wrong[j] = 1;
        }
    }
    return count;
}

/* ---------------------------------------------------------------------- */
/* Plain-C helpers: graphs, cycles, components, DAG extensions             */
/* ---------------------------------------------------------------------- */

/* A directed cycle of a column-major d x d 0/1 matrix (with `directed_only`,
 * of its directed edges only: see graph_order.h).  Returns -1 for an acyclic
 * graph, else a node on a directed cycle.  Scratch: 3 d ints. */
static int find_cycle(const int *g, int d, int directed_only, int *work)
{
    int *indeg = work, *queue = work + d, *left = work + 2 * d;
    if (pg_topological_order(g, d, directed_only, queue, indeg) == d) return -1;
    /* Every node left over has a parent left over; walking up d steps from
     * one of them ends on a cycle. */
    for (int v = 0; v < d; v++) left[v] = indeg[v] > 0;
    int v = 0;
    while (!left[v]) v++;
    for (int step = 0; step < d; step++) {
        for (int a = 0; a < d; a++) {
            if (pg_graph_edge(g, d, a, v, directed_only) && left[a]) { v = a; break; }
        }
    }
    return v;
}

/* Is the undirected graph on m <= 8 nodes (adjacency bit masks) chordal?
 * Remove simplicial nodes (neighbours pairwise adjacent) while possible. */
static int is_chordal_small(const unsigned *adj, int m)
{
    unsigned left = (1u << m) - 1u;
    for (;;) {
        if (!left) return 1;
        int found = -1;
        for (int x = 0; x < m && found < 0; x++) {
            if (!(left >> x & 1u)) continue;
            unsigned nb = adj[x] & left;
            int clique = 1;
            for (int y = 0; y < m && clique; y++)
                if ((nb >> y & 1u) && (nb & ~adj[y] & ~(1u << y))) clique = 0;
            if (clique) found = x;
        }
        if (found < 0) return 0;
        left &= ~(1u << found);
    }
}

/* DAG extensions of one undirected component, as SID's allDagsIntern()
 * lists them: pick a node x that still has neighbours and whose neighbours
 * are pairwise adjacent, orient all its remaining neighbours into it, drop x,
 * repeat until no edge is left.  A DAG is stored as a key: byte b holds the
 * in-component parents (bit mask) of member b. */
typedef struct {
    const unsigned *adj;
    int m;
    unsigned parents[SID_MAX_EXPAND];
    uint64_t *keys;
    int nkeys;
} sid_extender;

static void extend_dags(sid_extender *ex, unsigned left)
{
    int any = 0;
    for (int x = 0; x < ex->m; x++) {
        if (!(left >> x & 1u)) continue;
        unsigned nb = ex->adj[x] & left;
        if (!nb) continue;
        any = 1;
        int clique = 1;
        for (int y = 0; y < ex->m && clique; y++)
            if ((nb >> y & 1u) && (nb & ~ex->adj[y] & ~(1u << y))) clique = 0;
        if (!clique) continue;
        ex->parents[x] = nb;
        extend_dags(ex, left & ~(1u << x));
        ex->parents[x] = 0;
    }
    if (!any) {
        uint64_t key = 0;
        for (int b = 0; b < ex->m; b++) key |= (uint64_t) ex->parents[b] << (8 * b);
        ex->keys[ex->nkeys++] = key;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

static int cmp_uchar(const void *a, const void *b)
{
    return (int) *(const unsigned char *) a - (int) *(const unsigned char *) b;
}

/* ---------------------------------------------------------------------- */
/* Scoring plan: which parent sets each node is scored for                 */
/* ---------------------------------------------------------------------- */

enum { MODE_SINGLE = 0, MODE_CLASS = 1, MODE_LOCAL = 2 };

typedef struct {
    int d;
    const int *cp_off, *cp;  /* directed parents of i in the estimate */
    const int *un_off, *un;  /* undirected neighbours of i in the estimate */
    const int *mode;         /* MODE_* per node */
    const int *comp_of;      /* component of i */
    const int *comp_off, *comp_mem; /* members of each component, sorted */
    const int *set_off;      /* MODE_CLASS: sets of i at set_off[i].. */
    const unsigned char *set_mask; /* in-component parent masks */
    int *set_count;          /* MODE_CLASS: count per set (output) */
    int *lo, *hi, *uni;      /* per node (output) */
} sid_plan;

static double node_work(const sid_plan *p, int i, double graph_size)
{
    double sets = 1.0;
    if (p->mode[i] == MODE_CLASS) sets = p->set_off[i + 1] - p->set_off[i];
    if (p->mode[i] == MODE_LOCAL) sets = (double) (1L << (p->un_off[i + 1] - p->un_off[i]));
    return sets * graph_size;
}

/* Scores node i for each of its parent sets.  Thread-safe: writes only the
 * outputs of node i. */
static void score_node(const sid_dag *g, const sid_plan *p, int i, sid_scratch *s)
{
    const int d = g->d;
    int *z = s->z;
    int ncert = 0;
    for (int k = p->cp_off[i]; k < p->cp_off[i + 1]; k++) z[ncert++] = p->cp[k];

    if (p->mode[i] == MODE_SINGLE) {
        int c = sid_kernel(g, i, z, ncert, s, NULL);
        p->lo[i] = p->hi[i] = p->uni[i] = c;
        return;
    }

    memset(s->wrong, 0, (size_t) d);
    int lo = d, hi = 0;
    if (p->mode[i] == MODE_CLASS) {
        const int *mem = p->comp_mem + p->comp_off[p->comp_of[i]];
        for (int t = p->set_off[i]; t < p->set_off[i + 1]; t++) {
            int nz = ncert;
            unsigned mask = p->set_mask[t];
            for (int b = 0; b < SID_MAX_EXPAND; b++)
                if (mask >> b & 1u) z[nz++] = mem[b];
            int c = sid_kernel(g, i, z, nz, s, s->wrong);
            p->set_count[t] = c;
            if (c < lo) lo = c;
            if (c > hi) hi = c;
        }
    } else {
        const int *nb = p->un + p->un_off[i];
        int k = p->un_off[i + 1] - p->un_off[i];
        long nsub = 1L << k;
        for (long sub = 0; sub < nsub; sub++) {
            int nz = ncert;
            for (int b = 0; b < k; b++)
                if (sub >> b & 1L) z[nz++] = nb[b];
            int c = sid_kernel(g, i, z, nz, s, s->wrong);
            if (c < lo) lo = c;
            if (c > hi) hi = c;
        }
    }
    int u = 0;
    for (int j = 0; j < d; j++) u += s->wrong[j];
    p->lo[i] = lo;
    p->hi[i] = hi;
    p->uni[i] = u;
}

/* ---------------------------------------------------------------------- */
/* Plain-C set-up: graphs in sparse form, components, parent sets, totals  */
/* ---------------------------------------------------------------------- */

/* Offsets of the true DAG's children and parents (arrays of d + 1); returns
 * the number of edges. */
static int dag_offsets(const int *g, int d, int *ch_off, int *pa_off)
{
    memset(ch_off, 0, ((size_t) d + 1) * sizeof(int));
    memset(pa_off, 0, ((size_t) d + 1) * sizeof(int));
    for (int b = 0; b < d; b++)
        for (int a = 0; a < d; a++)
            if (g[a + (R_xlen_t) b * d]) { ch_off[a + 1]++; pa_off[b + 1]++; }
    for (int v = 0; v < d; v++) { ch_off[v + 1] += ch_off[v]; pa_off[v + 1] += pa_off[v]; }
    return ch_off[d];
}

/* Fills children and parents; scanning column by column keeps both sorted.
 * Scratch: d ints. */
static void dag_fill(const int *g, int d, const int *ch_off, int *ch, int *pa, int *fill)
{
    for (int v = 0; v < d; v++) fill[v] = ch_off[v];
    int pos = 0;
    for (int b = 0; b < d; b++)
        for (int a = 0; a < d; a++)
            if (g[a + (R_xlen_t) b * d]) { ch[fill[a]++] = b; pa[pos++] = a; }
}

/* The estimate split into directed parents (cp) and undirected neighbours
 * (un) of each node.  With cp and un NULL only the offsets are filled. */
static void estimate_lists(const int *ge, int d, int *cp_off, int *cp, int *un_off, int *un)
{
    cp_off[0] = un_off[0] = 0;
    for (int i = 0; i < d; i++) {
        int nc = cp_off[i], nu = un_off[i];
        for (int a = 0; a < d; a++) {
            if (!ge[a + (R_xlen_t) i * d]) continue;
            if (ge[i + (R_xlen_t) a * d]) {
                if (un) un[nu] = a;
                nu++;
            } else {
                if (cp) cp[nc] = a;
                nc++;
            }
        }
        cp_off[i + 1] = nc;
        un_off[i + 1] = nu;
    }
}

/* Connected components of the undirected edges, numbered by their smallest
 * node (the order in which SID visits them), members sorted.  Returns the
 * number of components. */
static int undirected_components(int d, const int *un_off, const int *un,
                                 int *comp_of, int *comp_off, int *comp_mem)
{
    for (int v = 0; v < d; v++) comp_of[v] = -1;
    int ncomp = 0, nmem = 0;
    for (int s0 = 0; s0 < d; s0++) {
        if (comp_of[s0] >= 0) continue;
        comp_off[ncomp] = nmem;
        int head = nmem;
        comp_of[s0] = ncomp;
        comp_mem[nmem++] = s0;
        while (head < nmem) {
            int v = comp_mem[head++];
            for (int k = un_off[v]; k < un_off[v + 1]; k++)
                if (comp_of[un[k]] < 0) { comp_of[un[k]] = ncomp; comp_mem[nmem++] = un[k]; }
        }
        int size = nmem - comp_off[ncomp];
        if (size > 1) R_isort(comp_mem + comp_off[ncomp], size);
        ncomp++;
    }
    comp_off[ncomp] = nmem;
    return ncomp;
}

/* Bit masks of the edges of the estimate among the m <= 8 members: with
 * `undirected_only`, only edges present in both directions. */
static void member_adjacency(const int *ge, int d, const int *mem, int m,
                             int undirected_only, unsigned *adj)
{
    for (int x = 0; x < m; x++) {
        adj[x] = 0;
        for (int y = 0; y < m; y++) {
            int e = ge[mem[x] + (R_xlen_t) mem[y] * d];
            if (undirected_only) e = e && ge[mem[y] + (R_xlen_t) mem[x] * d];
            if (e) adj[x] |= 1u << y;
        }
    }
}

/* SID expands components into DAGs only when every component with an
 * undirected edge is chordal and has at most 8 nodes. */
static int components_expandable(const int *ge, int d, int ncomp,
                                 const int *comp_off, const int *comp_mem)
{
    unsigned adj[SID_MAX_EXPAND];
    for (int c = 0; c < ncomp; c++) {
        int m = comp_off[c + 1] - comp_off[c];
        if (m == 1) continue;
        if (m > SID_MAX_EXPAND) return 0;
        member_adjacency(ge, d, comp_mem + comp_off[c], m, 1, adj);
        if (!is_chordal_small(adj, m)) return 0;
    }
    return 1;
}

/* Does the component also hold a directed edge between two members?  (SID's
 * allDagsJonas() then gives up, and SID expands locally from there on.) */
static int has_inner_directed_edge(const int *ge, int d, const int *mem, int m)
{
    for (int x = 0; x < m; x++)
        for (int y = 0; y < m; y++)
            if (ge[mem[x] + (R_xlen_t) mem[y] * d] != ge[mem[y] + (R_xlen_t) mem[x] * d])
                return 1;
    return 0;
}

/* The distinct DAG extensions of a component (m <= 8 members, only
 * undirected edges inside), sorted; returns their number.  `keys` holds
 * 8! = 40320 entries, one per possible order of elimination. */
static int component_extensions(const int *ge, int d, const int *mem, int m, uint64_t *keys)
{
    unsigned adj[SID_MAX_EXPAND];
    member_adjacency(ge, d, mem, m, 0, adj);
    sid_extender ex;
    ex.adj = adj;
    ex.m = m;
    memset(ex.parents, 0, sizeof ex.parents);
    ex.keys = keys;
    ex.nkeys = 0;
    extend_dags(&ex, (1u << m) - 1u);
    qsort(keys, (size_t) ex.nkeys, sizeof(uint64_t), cmp_u64);
    int ndag = 0;
    for (int r = 0; r < ex.nkeys; r++)
        if (r == 0 || keys[r] != keys[r - 1]) keys[ndag++] = keys[r];
    return ndag;
}

/* The distinct in-component parent sets of member x over the extensions,
 * ascending; returns their number (at most 2^7 = 128). */
static int member_parent_sets(const uint64_t *keys, int ndag, int x, unsigned char *ms)
{
    unsigned char seen[256];
    memset(seen, 0, sizeof seen);
    for (int r = 0; r < ndag; r++) seen[(keys[r] >> (8 * x)) & 0xffu] = 1;
    int n = 0;
    for (int t = 0; t < 256; t++) if (seen[t]) ms[n++] = (unsigned char) t;
    return n;
}

/* Serial totals over the scored nodes, so that they do not depend on the
 * thread count: sid adds the pairs wrong for some parent set of each node;
 * the bounds add, per component, the best and worst DAG (expanded
 * components) or the best and worst parent set of each node (otherwise). */
static void sid_totals(const sid_plan *p, int ncomp, const int *comp_ndag,
                       uint64_t *const *comp_keys, int *total, int *lower, int *upper)
{
    *total = *lower = *upper = 0;
    for (int v = 0; v < p->d; v++) *total += p->uni[v];
    for (int c = 0; c < ncomp; c++) {
        const int *mem = p->comp_mem + p->comp_off[c];
        int m = p->comp_off[c + 1] - p->comp_off[c];
        if (p->mode[mem[0]] != MODE_CLASS) {
            for (int x = 0; x < m; x++) { *lower += p->lo[mem[x]]; *upper += p->hi[mem[x]]; }
            continue;
        }
        int best = 0, worst = 0;
        for (int r = 0; r < comp_ndag[c]; r++) {
            int sum = 0;
            for (int x = 0; x < m; x++) {
                int v = mem[x];
                unsigned char mask = (unsigned char) (comp_keys[c][r] >> (8 * x));
                const unsigned char *ms = p->set_mask + p->set_off[v];
                int n = p->set_off[v + 1] - p->set_off[v];
                const unsigned char *hit = bsearch(&mask, ms, (size_t) n, 1, cmp_uchar);
                sum += p->set_count[p->set_off[v] + (int) (hit - ms)];
            }
            if (r == 0 || sum < best) best = sum;
            if (r == 0 || sum > worst) worst = sum;
        }
        *lower += best;
        *upper += worst;
    }
}

/* ---------------------------------------------------------------------- */
/* .Call entry point                                                       */
/* ---------------------------------------------------------------------- */

static SEXP sid_result(int sid, int lower, int upper, int expansion, int status, int node)
{
    const char *names[6] = {"sid", "lower", "upper", "expansion", "status", "node"};
    int vals[6] = {sid, lower, upper, expansion, status, node};
    SEXP res = PROTECT(Rf_allocVector(INTSXP, 6));
    SEXP nms = PROTECT(Rf_allocVector(STRSXP, 6));
    for (int k = 0; k < 6; k++) {
        INTEGER(res)[k] = vals[k];
        SET_STRING_ELT(nms, k, Rf_mkChar(names[k]));
    }
    Rf_setAttrib(res, R_NamesSymbol, nms);
    UNPROTECT(2);
    return res;
}

/* An expected failure, reported as a status for the R wrapper. */
static SEXP sid_failure(int status, int node)
{
    return sid_result(NA_INTEGER, NA_INTEGER, NA_INTEGER, NA_INTEGER, status, node + 1);
}

/* Returns c(sid, lower, upper, expansion, status, node).
 * expansion: 0 = the estimate has no undirected edge, 1 = every undirected
 *   component was expanded into its DAGs, 2 = SID's local expansion was used.
 * status: 0 = ok; 1 = `true` has a directed cycle through `node`;
 *   2 = `est` has a self-loop at `node`; 3 = the directed edges of `est` form
 *   a cycle through `node`; 4 = `node` has more than SID_MAX_LOCAL undirected
 *   neighbours that local expansion would have to combine.  With status > 0
 *   the counts are NA; the R wrapper turns the status into an error. */
SEXP pg_sid(SEXP true_graph, SEXP est_graph, SEXP n_threads)
{
    pg_check_graph(true_graph, "true");
    pg_check_graph(est_graph, "est");
    int d = Rf_nrows(true_graph);
    if (Rf_nrows(est_graph) != d)
        Rf_error("`true` and `est` must have the same number of nodes (%d and %d).",
                 d, Rf_nrows(est_graph));
    int nth = pg_threads(n_threads);
    if (d > SID_MAX_NODES)
        Rf_error("`true` has %d nodes; at most %d are supported.", d, SID_MAX_NODES);
    const int *gt = INTEGER(true_graph), *ge = INTEGER(est_graph);

    int *work = (int *) R_alloc((size_t) 3 * d, sizeof(int));
    int bad = find_cycle(gt, d, 0, work);
    if (bad >= 0) return sid_failure(1, bad);
    for (int v = 0; v < d; v++)
        if (ge[v + (R_xlen_t) v * d]) return sid_failure(2, v);
    bad = find_cycle(ge, d, 1, work);
    if (bad >= 0) return sid_failure(3, bad);

    /* The true DAG in sparse form. */
    int *ch_off = (int *) R_alloc((size_t) d + 1, sizeof(int));
    int *pa_off = (int *) R_alloc((size_t) d + 1, sizeof(int));
    int ne = dag_offsets(gt, d, ch_off, pa_off);
    int *ch = (int *) R_alloc((size_t) ne + 1, sizeof(int));
    int *pa = (int *) R_alloc((size_t) ne + 1, sizeof(int));
    dag_fill(gt, d, ch_off, ch, pa, work);
    sid_dag g = {d, ch_off, ch, pa_off, pa};

    /* The estimate: directed parents, undirected neighbours, components. */
    int *cp_off = (int *) R_alloc((size_t) d + 1, sizeof(int));
    int *un_off = (int *) R_alloc((size_t) d + 1, sizeof(int));
    estimate_lists(ge, d, cp_off, NULL, un_off, NULL);
    int *cp = (int *) R_alloc((size_t) cp_off[d] + 1, sizeof(int));
    int *un = (int *) R_alloc((size_t) un_off[d] + 1, sizeof(int));
    estimate_lists(ge, d, cp_off, cp, un_off, un);
    int *comp_of = (int *) R_alloc((size_t) d, sizeof(int));
    int *comp_off = (int *) R_alloc((size_t) d + 1, sizeof(int));
    int *comp_mem = (int *) R_alloc((size_t) d, sizeof(int));
    int ncomp = undirected_components(d, un_off, un, comp_of, comp_off, comp_mem);

    /* Which parent sets each node is scored for (its mode), and the DAG
     * extensions of the components that SID expands. */
    int expand = components_expandable(ge, d, ncomp, comp_off, comp_mem);
    int used_local = 0;
    int *mode = (int *) R_alloc((size_t) d, sizeof(int));
    int *node_nset = (int *) R_alloc((size_t) d, sizeof(int));
    unsigned char *node_masks = (unsigned char *) R_alloc((size_t) d * 128, 1);
    uint64_t **comp_keys = (uint64_t **) R_alloc((size_t) ncomp, sizeof(uint64_t *));
    int *comp_ndag = (int *) R_alloc((size_t) ncomp, sizeof(int));
    uint64_t *key_buf = (uint64_t *) R_alloc(40320, sizeof(uint64_t));
    for (int c = 0; c < ncomp; c++) {
        int m = comp_off[c + 1] - comp_off[c];
        const int *mem = comp_mem + comp_off[c];
        comp_ndag[c] = 0;
        comp_keys[c] = NULL;
        if (m == 1) {
            mode[mem[0]] = MODE_SINGLE;
            node_nset[mem[0]] = 1;
            continue;
        }
        if (expand && has_inner_directed_edge(ge, d, mem, m)) expand = 0;
        if (!expand) {
            used_local = 1;
            for (int x = 0; x < m; x++) {
                int v = mem[x];
                if (un_off[v + 1] - un_off[v] > SID_MAX_LOCAL) return sid_failure(4, v);
                mode[v] = MODE_LOCAL;
                node_nset[v] = 1;
            }
            continue;
        }
        int ndag = component_extensions(ge, d, mem, m, key_buf);
        comp_ndag[c] = ndag;
        comp_keys[c] = (uint64_t *) R_alloc((size_t) ndag, sizeof(uint64_t));
        memcpy(comp_keys[c], key_buf, (size_t) ndag * sizeof(uint64_t));
        for (int x = 0; x < m; x++) {
            mode[mem[x]] = MODE_CLASS;
            node_nset[mem[x]] = member_parent_sets(comp_keys[c], ndag, x,
                                                   node_masks + (size_t) mem[x] * 128);
        }
    }
    int *set_off = (int *) R_alloc((size_t) d + 1, sizeof(int));
    set_off[0] = 0;
    for (int v = 0; v < d; v++)
        set_off[v + 1] = set_off[v] + (mode[v] == MODE_CLASS ? node_nset[v] : 0);
    unsigned char *set_mask = (unsigned char *) R_alloc((size_t) set_off[d] + 1, 1);
    int *set_count = (int *) R_alloc((size_t) set_off[d] + 1, sizeof(int));
    for (int v = 0; v < d; v++)
        if (mode[v] == MODE_CLASS)
            memcpy(set_mask + set_off[v], node_masks + (size_t) v * 128, (size_t) node_nset[v]);
    int *lo = (int *) R_alloc((size_t) d, sizeof(int));
    int *hi = (int *) R_alloc((size_t) d, sizeof(int));
    int *uni = (int *) R_alloc((size_t) d, sizeof(int));
    sid_plan plan = {d, cp_off, cp, un_off, un, mode, comp_of, comp_off, comp_mem,
                     set_off, set_mask, set_count, lo, hi, uni};

    /* Per-thread scratch, allocated before any parallel region. */
    sid_scratch *scr = (sid_scratch *) R_alloc((size_t) nth, sizeof(sid_scratch));
    for (int t = 0; t < nth; t++) {
        scr[t].mark = (unsigned char *) R_alloc((size_t) d, 1);
        scr[t].stack = (int *) R_alloc((size_t) 2 * d, sizeof(int));
        scr[t].z = (int *) R_alloc((size_t) d, sizeof(int));
        scr[t].wrong = (unsigned char *) R_alloc((size_t) d, 1);
    }

    /* Nodes in chunks of bounded work: a parallel loop per chunk, an
     * interrupt check between chunks. */
    double graph_size = (double) d + (double) ne + 1.0;
    int start = 0;
    while (start < d) {
        int end = start;
        double w = 0.0;
        while (end < d && (w == 0.0 || w + node_work(&plan, end, graph_size) <= SID_WORK_CHUNK)) {
            w += node_work(&plan, end, graph_size);
            end++;
        }
#ifdef _OPENMP
#pragma omp parallel for num_threads(nth) schedule(dynamic, 1) \
    if (nth > 1 && w >= SID_PARALLEL_MIN_WORK)
#endif
        for (int i = start; i < end; i++) {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            score_node(&g, &plan, i, &scr[tid]);
        }
        start = end;
        R_CheckUserInterrupt();
    }

    int total, lower, upper;
    sid_totals(&plan, ncomp, comp_ndag, comp_keys, &total, &lower, &upper);
    int expansion = un_off[d] == 0 ? 0 : (used_local ? 2 : 1);
    return sid_result(total, lower, upper, expansion, 0, NA_INTEGER);
}
