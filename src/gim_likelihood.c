/* The Monte Carlo likelihood of SPEC section 2 and its gradient.
 *
 *   LL = log mean_m exp(l_m),
 *   l_m = sum_j sum_k [ (1 - i^{mk}_j) Lobs_kj(G^m[, j]) + i^{mk}_j Lint^{mk}_kj ]
 *
 * where Lobs_kj sums log p(x_j | parents) over the cells of context k and
 * Lint^{mk}_kj the intervened log-density with the parameters psi^{mk}
 * (i = 0 in observational contexts), times the data's cell weight (1, or
 * N / B for a minibatch of B of N cells). Three facts make this cheap without
 * changing the estimator:
 *
 * 1. Lobs_kj depends on sample m only through column j of G^m, its parent
 *    configuration. With discrete graphs most columns repeat across the M
 *    samples, so each distinct configuration is evaluated once over the cells
 *    ("configs" below), not M times.
 * 2. Gaussian log-densities only need per-context sums of the residual and
 *    its square, so every target/psi sample costs O(1) per context: hard
 *    interventions use sums of x (fixed data statistics), shifts use the
 *    residual sums of the configuration.
 * 3. The gradient of LL is a weighted sum over m with softmax weights w_m,
 *    and with thousands of cells one sample nearly always carries all the
 *    weight. The backward pass of a configuration runs only for samples
 *    with w_m > GIM_NEGLIGIBLE_WEIGHT: the largest weight is at least 1 / M,
 *    so what the others would add to the gradient is below its rounding
 *    error. Late in training a few samples keep weights between 1e-300 and
 *    1e-20 besides the dominant one; skipping them made those steps about
 *    5% faster on the paper's synthetic data.
 *
 * 4. Only samples within 745 nats of the best can have a nonzero weight in
 *    double precision (exp(-746) underflows to 0). A forward pass in single
 *    precision (gim_screen.c), with an a priori bound on its error, finds
 *    the others; their parent configurations then skip the double pass
 *    unless another sample needs them. The result is the same to the bit:
 *    a screened-out sample's weight would have been exactly 0. Early in
 *    training, when nearly every sample has its own configurations, this
 *    halves the cost of a step.
 *
 * 5. Under the expected estimator (mean of the samples' log-likelihoods)
 *    every sample weighs 1 / M whatever its likelihood, so the backward
 *    pass needs nothing from the forward pass: it runs alone and forms the
 *    residual sums from the units it computes anyway, which saves computing
 *    every configuration's units twice.
 *
 * In both graph modes the forward pass of a configuration takes the graph
 * values g_ij as continuous input weights (x_i enters mechanism j as
 * g_ij x_i). Straight-through mode feeds the discrete sample and
 * differentiates at it; relaxed mode feeds the Gumbel-sigmoid values (one
 * configuration per sample). d l / d g_ij is formed for every i != j, so
 * edges absent from a sample still receive gradient. */
#include <math.h>
#include <string.h>
#include "gim_likelihood.h"
#include "gim_screen.h"
#include "gim_tanh.h"
#include "gim_simd.h"
#include "pg_sigmoid.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* Four doubles as one value (GCC/Clang vector extensions): register tiles
 * of the cell loops, whose partial sums must not round-trip through memory.
 * With SSE2 only, each operation is two instructions. */
#if defined(__GNUC__)
typedef double gim_v4 __attribute__((vector_size(32)));
#endif

static inline int gim_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Screening (fact 4) runs when there are at least this many distinct parent
 * sets per gene: with fewer, the double pass costs less than the second pass
 * over the samples that screening needs. */
#define GIM_SCREEN_MIN_CONFIGS 4

/* Softmax weights at or below this skip the backward pass (fact 3 above). */
#define GIM_NEGLIGIBLE_WEIGHT 1e-20

#define HALF_LOG_2PI 0.91893853320467274178

/* Parents of gene j in a configuration and their effective first-layer
 * weights g_ij * w (linear: one per parent; mlp: H per parent). */
typedef struct {
    int npa;
    int *pa;
    double *weff;
} config_view;

static void config_make(const gim_settings *s, const gim_layout *L, const double *par,
                        const double *gcol, int j, config_view *cv)
{
    int d = s->d, H = s->H;
    cv->npa = 0;
    for (int i = 0; i < d; i++) {
        if (i == j || gcol[i] == 0.0) continue;
        int p = cv->npa++;
        cv->pa[p] = i;
        if (s->mechanism == GIM_LINEAR) {
            cv->weff[p] = gcol[i] * par[L->w + i + (size_t) d * j];
        } else {
            const double *w1 = par + L->w1 + (size_t) H * (i + (size_t) d * j);
            for (int h = 0; h < H; h++) cv->weff[(size_t) p * H + h] = gcol[i] * w1[h];
        }
    }
}

#define GIM_BLOCK 64

/* Register tiles of the first-layer sums b + sum_p w_p x_{pa_p}, for a run of
 * cells of one gene (linear mechanism) or MLP unit. The plain loop over
 * parents (load, multiply-add and store of every partial sum) was bound by
 * stores; a tile keeps its sums in registers while the parents stream past.
 * Same operations in the same order, so the same results.
 *
 * A tile may cover cells past the end of a block (up to GIM_BLOCK): it then
 * reads x of the next cells, or of the next gene's column, and the results
 * for those cells are never used. tile_cells() says how far tiles may go:
 * nb rounded up to whole tiles, unless that would read past the end of x. */
static inline int tile_cells(const gim_data *D, int c0, int nb, int tile)
{
    int up = (nb + tile - 1) / tile * tile;
    return c0 + up <= D->n ? up : nb - nb % tile;
}

#if defined(__GNUC__)
#define GIM_HAVE_TILES 1
/* One sum (weights w[p * stride], bias b) for the 16 cells from c. */
static GIM_ALWAYS_INLINE void tile16(const gim_data *D, const config_view *cv, const double *w,
                                     int stride, double b, int c, double *out)
{
    gim_v4 s0 = {b, b, b, b}, s1 = s0, s2 = s0, s3 = s0;
    for (int p = 0; p < cv->npa; p++) {
        const double *x = D->xc + (size_t) D->n * cv->pa[p] + c;
        double wp = w[(size_t) p * stride];
        gim_v4 x0, x1, x2, x3;
        memcpy(&x0, x, sizeof x0); memcpy(&x1, x + 4, sizeof x1);
        memcpy(&x2, x + 8, sizeof x2); memcpy(&x3, x + 12, sizeof x3);
        s0 += wp * x0; s1 += wp * x1; s2 += wp * x2; s3 += wp * x3;
    }
    memcpy(out, &s0, sizeof s0); memcpy(out + 4, &s1, sizeof s1);
    memcpy(out + 8, &s2, sizeof s2); memcpy(out + 12, &s3, sizeof s3);
}

/* Four MLP units h .. h + 3 (weights w[p * H + h], biases b1[h]) for the 8
 * cells from c; unit u goes to tt[u * GIM_BLOCK ...]. */
static GIM_ALWAYS_INLINE void tile8x4(const gim_data *D, const config_view *cv, int H,
                                      const double *b1, int h, int c, double *tt)
{
    gim_v4 a0 = {b1[h], b1[h], b1[h], b1[h]}, a1 = {b1[h + 1], b1[h + 1], b1[h + 1], b1[h + 1]};
    gim_v4 a2 = {b1[h + 2], b1[h + 2], b1[h + 2], b1[h + 2]};
    gim_v4 a3 = {b1[h + 3], b1[h + 3], b1[h + 3], b1[h + 3]};
    gim_v4 e0 = a0, e1 = a1, e2 = a2, e3 = a3;
    for (int p = 0; p < cv->npa; p++) {
        const double *x = D->xc + (size_t) D->n * cv->pa[p] + c;
        const double *w = cv->weff + (size_t) p * H + h;
        gim_v4 xl, xh;
        memcpy(&xl, x, sizeof xl);
        memcpy(&xh, x + 4, sizeof xh);
        a0 += w[0] * xl; e0 += w[0] * xh;
        a1 += w[1] * xl; e1 += w[1] * xh;
        a2 += w[2] * xl; e2 += w[2] * xh;
        a3 += w[3] * xl; e3 += w[3] * xh;
    }
    double *t = tt + (size_t) h * GIM_BLOCK;
    memcpy(t, &a0, sizeof a0); memcpy(t + 4, &e0, sizeof e0); t += GIM_BLOCK;
    memcpy(t, &a1, sizeof a1); memcpy(t + 4, &e1, sizeof e1); t += GIM_BLOCK;
    memcpy(t, &a2, sizeof a2); memcpy(t + 4, &e2, sizeof e2); t += GIM_BLOCK;
    memcpy(t, &a3, sizeof a3); memcpy(t + 4, &e3, sizeof e3);
}
#else
#define GIM_HAVE_TILES 0
#endif

/* The plain loop: one sum (weights w[p * stride], bias b) for the cells
 * from .. nb - 1 of the block at c0. */
static GIM_ALWAYS_INLINE void sum_plain(const gim_data *D, const config_view *cv, const double *w,
                                        int stride, double b, int c0, int from, int nb,
                                        double *out)
{
    for (int c = from; c < nb; c++) out[c] = b;
    for (int p = 0; p < cv->npa; p++) {
        const double *xi = D->xc + (size_t) D->n * cv->pa[p] + c0;
        double wp = w[(size_t) p * stride];
        #pragma omp simd
        for (int c = from; c < nb; c++) out[c] += wp * xi[c];
    }
}

/* Linear mechanism means of gene j for the cells c0 .. c0 + nb - 1
 * (nb <= GIM_BLOCK) into f (which holds GIM_BLOCK doubles). */
static GIM_ALWAYS_INLINE void linear_block(const gim_layout *L, const gim_data *D,
                                           const double *par, int j, const config_view *cv,
                                           int c0, int nb, double *f)
{
    double b = par[L->b + j];
    int from = 0;
#if GIM_HAVE_TILES
    int nt = tile_cells(D, c0, nb, 16);
    for (; from < nt; from += 16) tile16(D, cv, cv->weff, 1, b, c0 + from, f + from);
#endif
    if (from < nb) sum_plain(D, cv, cv->weff, 1, b, c0, from, nb, f);
}

/* Response of gene j on the scale of its Gaussian: x, or log x for the
 * positive part of a zero-inflated gene (returns 0 for a zero cell). */
static inline int response(int zi, double x, double *y)
{
    if (!zi) { *y = x; return 1; }
    if (x <= 0.0) return 0;
    *y = log(x);
    return 1;
}

/* Adds the residuals y - f of nb cells, and their squares, to *q1 and *q2
 * (for a zero-inflated gene, of its positive cells on the log scale). The
 * forward pass and the fused backward pass (the expected estimator) share it,
 * so that both give a configuration the same sums. */
static GIM_ALWAYS_INLINE void residual_sums(int zi, const double *y, const double *f, int nb,
                                            double *q1, double *q2)
{
    double a1 = *q1, a2 = *q2;
    if (!zi) {
        #pragma omp simd reduction(+:a1, a2)
        for (int c = 0; c < nb; c++) {
            double r = y[c] - f[c];
            a1 += r; a2 += r * r;
        }
    } else {
        for (int c = 0; c < nb; c++) {
            double yc;
            if (!response(zi, y[c], &yc)) continue;
            double r = yc - f[c];
            a1 += r; a2 += r * r;
        }
    }
    *q1 = a1; *q2 = a2;
}

/* tanh of the units tt[h * GIM_BLOCK + c] in place and the means f[c] =
 * b2 + sum_h w2[h] tanh(...) of the cells c < nv (nv a multiple of 8;
 * cells nb .. nv - 1 are padding, set to 0 first).
 * tanh over whole vectors: a scalar tail of up to seven cells cost as much
 * as the vector part in blocks of about 55 (one context). The padding cells
 * stay inside the buffers and are never read. Eight cells go through all
 * units at a time, so that their means stay in registers (the same sum,
 * b2 + w2_1 t_1 + ..., in the same order). */
static GIM_ALWAYS_INLINE void unit_means(int H, const double *w2, double b2, int nb, int nv,
                                         double *tt, double *f)
{
    for (int h = 0; h < H; h++)
        for (int c = nb; c < nv; c++) tt[(size_t) h * GIM_BLOCK + c] = 0.0;
    for (int c0 = 0; c0 < nv; c0 += 8) {
        double fc[8];
        for (int c = 0; c < 8; c++) fc[c] = b2;
        for (int h = 0; h < H; h++) {
            double *a = tt + (size_t) h * GIM_BLOCK + c0, w = w2[h];
            #pragma omp simd
            for (int c = 0; c < 8; c++) { a[c] = gim_tanh(a[c]); fc[c] += w * a[c]; }
        }
        memcpy(f + c0, fc, sizeof fc);
    }
}

/* MLP units of gene j for the cells c0 .. c0 + nb - 1 (nb <= GIM_BLOCK):
 * tt[h * GIM_BLOCK + c] receives tanh unit h, f[c] the mechanism mean. Cells
 * are contiguous per gene (column-major x), so the loops vectorise. Units
 * go four at a time through tile8x4(), the rest one at a time through
 * tile16(); cells the tiles cannot reach through the plain loop. */
static GIM_ALWAYS_INLINE void block_units(const gim_settings *s, const gim_layout *L, const gim_data *D,
                        const double *par, int j, const config_view *cv, int c0, int nb,
                        double *tt, double *f)
{
    int H = s->H, h = 0;
    const double *b1 = par + L->b1 + (size_t) H * j, *w2 = par + L->w2 + (size_t) H * j;
    if (cv->npa == 0) {
        /* No parents: every cell has the units and mean of the first eight,
         * computed by the loop below (a root gene's configuration). */
        for (; h < H; h++)
            for (int c = 0; c < 8; c++) tt[(size_t) h * GIM_BLOCK + c] = b1[h];
        unit_means(H, w2, par[L->b2 + j], 8, 8, tt, f);
        for (int c = 8; c < nb; c++) f[c] = f[0];
        for (h = 0; h < H; h++) {
            double *a = tt + (size_t) h * GIM_BLOCK;
            for (int c = 8; c < nb; c++) a[c] = a[0];
        }
        return;
    }
#if GIM_HAVE_TILES
    int n8 = tile_cells(D, c0, nb, 8), n16 = tile_cells(D, c0, nb, 16);
    for (; h + 4 <= H; h += 4) {
        for (int c = 0; c < n8; c += 8) tile8x4(D, cv, H, b1, h, c0 + c, tt + c);
        if (n8 < nb)
            for (int u = h; u < h + 4; u++)
                sum_plain(D, cv, cv->weff + u, H, b1[u], c0, n8, nb, tt + (size_t) u * GIM_BLOCK);
    }
    for (; h < H; h++) {
        double *a = tt + (size_t) h * GIM_BLOCK;
        for (int c = 0; c < n16; c += 16) tile16(D, cv, cv->weff + h, H, b1[h], c0 + c, a + c);
        if (n16 < nb) sum_plain(D, cv, cv->weff + h, H, b1[h], c0, n16, nb, a);
    }
#else
    for (; h < H; h++)
        sum_plain(D, cv, cv->weff + h, H, b1[h], c0, 0, nb, tt + (size_t) h * GIM_BLOCK);
#endif
    unit_means(H, w2, par[L->b2 + j], nb, (nb + 7) / 8 * 8, tt, f);
}

/* Forward pass of one configuration: residual sums per context. MLPs run
 * over blocks of cells with a gene's cells contiguous, so that the inner
 * loops (and gim_tanh) vectorise; `t` holds GIM_BLOCK * (H + 1) doubles. */
GIM_TARGET_CLONES
static void config_forward(const gim_settings *s, const gim_layout *L, const gim_data *D,
                           const double *par, int j, const config_view *cv,
                           double *Q1, double *Q2, double *t)
{
    int n = D->n, H = s->H, zi = s->mechanism == GIM_ZILOGNORMAL;
    int linear = s->mechanism == GIM_LINEAR;
    double *f = t + (size_t) GIM_BLOCK * (linear ? 0 : H);
    const double *xj = D->xc + (size_t) n * j;
    for (int k = 0; k < D->K; k++) {
        double q1 = 0.0, q2 = 0.0;
        for (int c0 = D->start[k]; c0 < D->start[k + 1]; c0 += GIM_BLOCK) {
            int nb = D->start[k + 1] - c0 < GIM_BLOCK ? D->start[k + 1] - c0 : GIM_BLOCK;
            if (linear) linear_block(L, D, par, j, cv, c0, nb, f);
            else block_units(s, L, D, par, j, cv, c0, nb, t, f);
            residual_sums(zi, xj + c0, f, nb, &q1, &q2);
        }
        Q1[k] = q1; Q2[k] = q2;
    }
}

/* A gene's noise model, with the transcendental functions of its log-sd and
 * zero-inflation logit evaluated once (they are used M x K times a step). */
typedef struct {
    double ls, v;               /* log-sd and exp(-2 log-sd) */
    double lp0, lp1;            /* log P(zero), log P(positive) */
} noise_terms;

static inline noise_terms noise_make(int zi, double ls, double zl)
{
    noise_terms t = { ls, exp(-2.0 * ls), 0.0, 0.0 };
    if (zi) { t.lp0 = pg_log_sigmoid(zl); t.lp1 = pg_log_sigmoid(-zl); }
    return t;
}

/* Log-density of a context's cells of one gene, given its residual square
 * sum q2 (for zilognormal: over positive cells, plus the zeros and the
 * -log x Jacobian). */
static inline double lobs(int zi, double cnt, double n0, double s1, double q2,
                          noise_terms t)
{
    double npos = cnt - n0;
    double out = -npos * (t.ls + HALF_LOG_2PI) - 0.5 * q2 * t.v;
    if (zi) out += n0 * t.lp0 + npos * t.lp1 - s1;
    return out;
}

/* out[h] += sum_c z[h * GIM_BLOCK + c] x[c] over the cells c < nb, for the
 * units h < H: x is loaded once for four units, and the partial sums stay
 * in four-lane registers until one horizontal sum per unit. (A reduction
 * under `omp simd` summed its lanes back through memory, a store-to-load
 * stall per sum that took a third of the backward pass with contexts of
 * about 55 cells.) */
static GIM_ALWAYS_INLINE void unit_dots(const double *z, const double *x, int nb, int H,
                                        double *out)
{
    int h = 0;
#if GIM_HAVE_TILES
    int n4 = nb - nb % 4;
    for (; h + 4 <= H; h += 4) {
        const double *z0 = z + (size_t) h * GIM_BLOCK, *z1 = z0 + GIM_BLOCK;
        const double *z2 = z1 + GIM_BLOCK, *z3 = z2 + GIM_BLOCK;
        gim_v4 a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0, xv, zv;
        for (int c = 0; c < n4; c += 4) {
            memcpy(&xv, x + c, sizeof xv);
            memcpy(&zv, z0 + c, sizeof zv); a0 += zv * xv;
            memcpy(&zv, z1 + c, sizeof zv); a1 += zv * xv;
            memcpy(&zv, z2 + c, sizeof zv); a2 += zv * xv;
            memcpy(&zv, z3 + c, sizeof zv); a3 += zv * xv;
        }
        double s0 = (a0[0] + a0[1]) + (a0[2] + a0[3]), s1 = (a1[0] + a1[1]) + (a1[2] + a1[3]);
        double s2 = (a2[0] + a2[1]) + (a2[2] + a2[3]), s3 = (a3[0] + a3[1]) + (a3[2] + a3[3]);
        for (int c = n4; c < nb; c++) {
            s0 += z0[c] * x[c]; s1 += z1[c] * x[c]; s2 += z2[c] * x[c]; s3 += z3[c] * x[c];
        }
        out[h] += s0; out[h + 1] += s1; out[h + 2] += s2; out[h + 3] += s3;
    }
    for (; h < H; h++) {
        const double *zh = z + (size_t) h * GIM_BLOCK;
        gim_v4 a0 = {0, 0, 0, 0}, a1 = a0, xv, zv;
        int c = 0;
        for (; c + 8 <= nb; c += 8) {
            memcpy(&xv, x + c, sizeof xv); memcpy(&zv, zh + c, sizeof zv); a0 += zv * xv;
            memcpy(&xv, x + c + 4, sizeof xv); memcpy(&zv, zh + c + 4, sizeof zv); a1 += zv * xv;
        }
        a0 += a1;
        double s0 = (a0[0] + a0[1]) + (a0[2] + a0[3]);
        for (; c < nb; c++) s0 += zh[c] * x[c];
        out[h] += s0;
    }
#else
    for (; h < H; h++) {
        const double *zh = z + (size_t) h * GIM_BLOCK;
        double s0 = 0.0;
        for (int c = 0; c < nb; c++) s0 += zh[c] * x[c];
        out[h] += s0;
    }
#endif
}

/* unit_dots() for two vectors xa and xb at once, into outa and outb: each
 * sum in the same order as unit_dots() gives it, so the same results. Alone,
 * unit_dots() waits on its few accumulators (each addition needs the one
 * before); two genes side by side give the core twice as many independent
 * sums to work on. */
static GIM_ALWAYS_INLINE void unit_dots2(const double *z, const double *xa, const double *xb,
                                         int nb, int H, double *outa, double *outb)
{
#if GIM_HAVE_TILES
    int h = 0, n4 = nb - nb % 4;
    for (; h + 4 <= H; h += 4) {
        const double *z0 = z + (size_t) h * GIM_BLOCK, *z1 = z0 + GIM_BLOCK;
        const double *z2 = z1 + GIM_BLOCK, *z3 = z2 + GIM_BLOCK;
        gim_v4 a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
        gim_v4 b0 = a0, b1 = a0, b2 = a0, b3 = a0, xv, yv, zv;
        for (int c = 0; c < n4; c += 4) {
            memcpy(&xv, xa + c, sizeof xv);
            memcpy(&yv, xb + c, sizeof yv);
            memcpy(&zv, z0 + c, sizeof zv); a0 += zv * xv; b0 += zv * yv;
            memcpy(&zv, z1 + c, sizeof zv); a1 += zv * xv; b1 += zv * yv;
            memcpy(&zv, z2 + c, sizeof zv); a2 += zv * xv; b2 += zv * yv;
            memcpy(&zv, z3 + c, sizeof zv); a3 += zv * xv; b3 += zv * yv;
        }
        double s0 = (a0[0] + a0[1]) + (a0[2] + a0[3]), s1 = (a1[0] + a1[1]) + (a1[2] + a1[3]);
        double s2 = (a2[0] + a2[1]) + (a2[2] + a2[3]), s3 = (a3[0] + a3[1]) + (a3[2] + a3[3]);
        double t0 = (b0[0] + b0[1]) + (b0[2] + b0[3]), t1 = (b1[0] + b1[1]) + (b1[2] + b1[3]);
        double t2 = (b2[0] + b2[1]) + (b2[2] + b2[3]), t3 = (b3[0] + b3[1]) + (b3[2] + b3[3]);
        for (int c = n4; c < nb; c++) {
            s0 += z0[c] * xa[c]; s1 += z1[c] * xa[c]; s2 += z2[c] * xa[c]; s3 += z3[c] * xa[c];
            t0 += z0[c] * xb[c]; t1 += z1[c] * xb[c]; t2 += z2[c] * xb[c]; t3 += z3[c] * xb[c];
        }
        outa[h] += s0; outa[h + 1] += s1; outa[h + 2] += s2; outa[h + 3] += s3;
        outb[h] += t0; outb[h + 1] += t1; outb[h + 2] += t2; outb[h + 3] += t3;
    }
    for (; h < H; h++) {
        const double *zh = z + (size_t) h * GIM_BLOCK;
        gim_v4 a0 = {0, 0, 0, 0}, a1 = a0, b0 = a0, b1 = a0, xv, yv, zv;
        int c = 0;
        for (; c + 8 <= nb; c += 8) {
            memcpy(&zv, zh + c, sizeof zv);
            memcpy(&xv, xa + c, sizeof xv); a0 += zv * xv;
            memcpy(&yv, xb + c, sizeof yv); b0 += zv * yv;
            memcpy(&zv, zh + c + 4, sizeof zv);
            memcpy(&xv, xa + c + 4, sizeof xv); a1 += zv * xv;
            memcpy(&yv, xb + c + 4, sizeof yv); b1 += zv * yv;
        }
        a0 += a1;
        b0 += b1;
        double s0 = (a0[0] + a0[1]) + (a0[2] + a0[3]), t0 = (b0[0] + b0[1]) + (b0[2] + b0[3]);
        for (; c < nb; c++) { s0 += zh[c] * xa[c]; t0 += zh[c] * xb[c]; }
        outa[h] += s0;
        outb[h] += t0;
    }
#else
    unit_dots(z, xa, nb, H, outa);
    unit_dots(z, xb, nb, H, outb);
#endif
}

/* Backward pass of an MLP configuration over the cells of one context, in
 * blocks as config_forward: recomputes the units (and, when q12 is given,
 * adds the residual sums of config_forward to q12[0] and q12[1]), adds d J / d theta_j
 * (upstream d J / d mean = (wc r - bc) v per cell) when grad is given, and
 * the sums acc1[i, h] = sum r q_h x_i and acc0[i, h] = sum q_h x_i (q_h =
 * d mean / d pre-activation h) over all genes i when acc1 is given: those
 * give d J / d g_ij for parents and non-parents alike. `buf` holds
 * GIM_BLOCK * (3 H + 4) + H doubles. */
GIM_TARGET_CLONES
static void config_backward_mlp(const gim_settings *s, const gim_layout *L,
                                const gim_data *D, const double *par, int j,
                                const config_view *cv, const double *col, int from, int to,
                                double wc, double bc, double v, double *grad,
                                double *acc1, double *acc0, double *q12, double *buf)
{
    int d = D->d, n = D->n, H = s->H, zi = s->mechanism == GIM_ZILOGNORMAL;
    const double *w2 = par + L->w2 + (size_t) H * j;
    double *tt = buf, *q = tt + (size_t) GIM_BLOCK * H, *rq = q + (size_t) GIM_BLOCK * H;
    double *f = rq + (size_t) GIM_BLOCK * H, *r = f + GIM_BLOCK, *delta = r + GIM_BLOCK;
    const double *xj = D->xc + (size_t) n * j;
    for (int c0 = from; c0 < to; c0 += GIM_BLOCK) {
        int nb = to - c0 < GIM_BLOCK ? to - c0 : GIM_BLOCK;
        block_units(s, L, D, par, j, cv, c0, nb, tt, f);
        if (q12) residual_sums(zi, xj + c0, f, nb, q12, q12 + 1);
        /* Zero cells of a zero-inflated gene have no Gaussian part: weight 0. */
        for (int c = 0; c < nb; c++) {
            double y;
            int ok = response(zi, xj[c0 + c], &y);
            r[c] = ok ? y - f[c] : 0.0;
            delta[c] = ok ? (wc * r[c] - bc) * v : 0.0;
            if (!ok) f[c] = 0.0;                      /* marks the cell as skipped */
            else f[c] = 1.0;
        }
        for (int h = 0; h < H; h++) {
            const double *a = tt + (size_t) h * GIM_BLOCK;
            double *qh = q + (size_t) h * GIM_BLOCK, *rqh = rq + (size_t) h * GIM_BLOCK, w = w2[h];
            #pragma omp simd
            for (int c = 0; c < nb; c++) {
                qh[c] = f[c] * w * (1.0 - a[c] * a[c]);
                rqh[c] = r[c] * qh[c];
            }
        }
        if (grad) {
            double *gw2 = grad + L->w2 + (size_t) H * j, *gb1 = grad + L->b1 + (size_t) H * j;
            double sd = 0.0;
            for (int c = 0; c < nb; c++) sd += delta[c];
            grad[L->b2 + j] += sd;
            unit_dots(tt, delta, nb, H, gw2);
            unit_dots(q, delta, nb, H, gb1);
            double *dx = delta + GIM_BLOCK, *gp = dx + GIM_BLOCK;
            for (int p = 0; p < cv->npa; p++) {
                int i = cv->pa[p];
                const double *xi = D->xc + (size_t) n * i + c0;
                double *gw1 = grad + L->w1 + (size_t) H * (i + (size_t) d * j);
                #pragma omp simd
                for (int c = 0; c < nb; c++) dx[c] = delta[c] * xi[c];
                for (int h = 0; h < H; h++) gp[h] = 0.0;
                unit_dots(q, dx, nb, H, gp);
                for (int h = 0; h < H; h++) gw1[h] += col[i] * gp[h];
            }
        }
        if (acc1) {
            int i = 0;
            for (; i + 2 <= d; i += 2) {
                const double *xa = D->xc + (size_t) n * i + c0, *xb = xa + n;
                double *o1 = acc1 + (size_t) i * H;
                unit_dots2(rq, xa, xb, nb, H, o1, o1 + H);
                if (acc0) unit_dots2(q, xa, xb, nb, H, acc0 + (size_t) i * H, acc0 + (size_t) (i + 1) * H);
            }
            for (; i < d; i++) {
                const double *xi = D->xc + (size_t) n * i + c0;
                unit_dots(rq, xi, nb, H, acc1 + (size_t) i * H);
                if (acc0) unit_dots(q, xi, nb, H, acc0 + (size_t) i * H);
            }
        }
    }
}

/* Backward pass of a linear configuration over the cells from .. to - 1,
 * as config_backward_mlp with one "unit" per parent (q12 likewise): adds d J / d theta_j
 * when grad is given, and acc1[i] = sum r x_i, acc0[i] = sum x_i over all
 * genes i when acc1 is given. `buf` holds 3 GIM_BLOCK doubles. */
GIM_TARGET_CLONES
static void config_backward_linear(const gim_layout *L, const gim_data *D, const double *par,
                                   int j, const config_view *cv, const double *col, int from,
                                   int to, double wc, double bc, double v, double *grad,
                                   double *acc1, double *acc0, double *q12, double *buf)
{
    int d = D->d, n = D->n;
    double *f = buf, *r = f + GIM_BLOCK, *delta = r + GIM_BLOCK;
    const double *xj = D->xc + (size_t) n * j;
    for (int c0 = from; c0 < to; c0 += GIM_BLOCK) {
        int nb = to - c0 < GIM_BLOCK ? to - c0 : GIM_BLOCK;
        linear_block(L, D, par, j, cv, c0, nb, f);
        if (q12) residual_sums(0, xj + c0, f, nb, q12, q12 + 1);
        double sd = 0.0;
        #pragma omp simd reduction(+:sd)
        for (int c = 0; c < nb; c++) {
            r[c] = xj[c0 + c] - f[c];
            delta[c] = (wc * r[c] - bc) * v;             /* d J / d mean */
            sd += delta[c];
        }
        if (grad) {
            grad[L->b + j] += sd;
            for (int p = 0; p < cv->npa; p++) {
                int i = cv->pa[p];
                const double *xi = D->xc + (size_t) n * i + c0;
                double acc = 0.0;
                #pragma omp simd reduction(+:acc)
                for (int c = 0; c < nb; c++) acc += delta[c] * xi[c];
                grad[L->w + i + (size_t) d * j] += col[i] * acc;
            }
        }
        if (acc1)
            for (int i = 0; i < d; i++) {
                const double *xi = D->xc + (size_t) n * i + c0;
                double a1 = 0.0, a0 = 0.0;
                #pragma omp simd reduction(+:a1, a0)
                for (int c = 0; c < nb; c++) { a1 += r[c] * xi[c]; a0 += xi[c]; }
                acc1[i] += a1;
                if (acc0) acc0[i] += a0;
            }
    }
}

/* Log-densities of gene j without intervention in every context, lo[k],
 * from the residual square sums Q2[k] of one configuration; returns their
 * sum over the observational contexts. */
static double config_logliks(int zi, const gim_data *D, int j, const double *Q2,
                             noise_terms nt, double *lo)
{
    double acc = 0.0;
    for (int k = 0; k < D->K; k++) {
        size_t e = k + (size_t) D->K * j;
        lo[k] = lobs(zi, D->cnt[e], D->n0[e], D->s1[e], Q2[k], nt);
        if (k >= D->Kp) acc += lo[k];
    }
    return acc;
}

/* Bound on how far the float pass can move the log-likelihood terms of a
 * configuration, over all contexts: a mean off by at most delta changes a
 * context's sum of r^2 by at most 2 delta sum |r| + npos delta^2 (sum
 * |r - psi| <= sum |r| + npos |psi| for shifts), and the log-density by half
 * that times the precision v. Soft targets mix the observational and
 * intervened terms, so the larger bound serves both. */
static double config_error(const gim_data *D, int j, const double *Sa, double delta, double v,
                           double psi_max)
{
    double err = 0.0;
    for (int k = 0; k < D->K; k++) {
        size_t e = k + (size_t) D->K * j;
        double npos = D->cnt[e] - D->n0[e];
        err += 0.5 * v * (2.0 * (Sa[k] + npos * psi_max) * delta + npos * delta * delta);
    }
    return err;
}

GIM_TARGET_CLONES
static void intervened_precisions(const double *log_sd, size_t n, double *out)
{
    #pragma omp simd
    for (size_t e = 0; e < n; e++) out[e] = gim_exp(-2.0 * log_sd[e]);
}

/* What the phases of one pass share. Arrays of configurations are indexed
 * by c = j * M + u: gene j's u-th distinct parent set. */
typedef struct {
    int M, d, K, Kp, H, zi, shift, nth, wmax;
    size_t dd, MK;
    int *cfg_of;                  /* m * d + j -> u */
    int *nU;                      /* d: distinct parent sets of each gene */
    int *rep;                     /* c -> a sample m with that parent set */
    double *Q1, *Q2;              /* c * K + k: residual sums of a configuration */
    double *lobs_obs;             /* c: its observational log-density */
    double *lo_c;                 /* c * K + k: its log-density in context k */
    double *cnt_t, *n0_t, *s1_t, *s2_t; /* the data's statistics, index k * d + j */
    double *lj_all;               /* per thread: d partial sums of sample_loglik */
    size_t *off_all;              /* per thread: d offsets */
    noise_terms *gene_noise;      /* d */
    double *vint;                 /* M x Kp x d intervened precisions (hard), or NULL */
    char *needed, *active;        /* configurations to evaluate, samples still in play */
    double *lint;                 /* M x Kp x d intervened log-densities */
    double *Wc, *Bc;              /* c * K + k: weights of the backward pass */
    /* Per-thread scratch, allocated outside the parallel regions (the
     * allocator is R's). */
    int *pa_all;
    double *weff_all, *t_all;
    size_t t_len;
} pass_work;

/* l_m / weight for sample m: each gene's observational log-density over
 * the observational contexts (lobs_obs of its configuration) plus, in every
 * perturbed context, the mixture (1 - i) log p_obs + i log p_int with the
 * sample's soft target i. Writes log p_int to lint when lint is given.
 * Genes run innermost (contiguous in the sample arrays), each gene's sum
 * over contexts in context order as before; `lj` and `off` are d-long
 * scratch. */
static double sample_loglik(const gim_settings *s, const gim_data *D, const gim_pass *P,
                            const pass_work *W, int m, double *lint, double *lj, size_t *off)
{
    int M = P->M, d = D->d, K = D->K, Kp = D->Kp;
    int zi = W->zi, shift = W->shift;
    const int *cfg_of = W->cfg_of;
    const double *Q1 = W->Q1, *Q2 = W->Q2, *lo_c = W->lo_c;
    for (int j = 0; j < d; j++) {
        size_t c = (size_t) j * M + cfg_of[(size_t) m * d + j];
        off[j] = c * K;
        lj[j] = W->lobs_obs[c];
    }
    for (int k = 0; k < Kp; k++) {
        size_t base = ((size_t) m * Kp + k) * d;
        const double *cnt = W->cnt_t + (size_t) k * d, *n0 = W->n0_t + (size_t) k * d;
        const double *s1 = W->s1_t + (size_t) k * d, *s2 = W->s2_t + (size_t) k * d;
        const double *ti = P->ti + base, *p0 = P->ps[0] + base;
        double *li_out = lint ? lint + base : NULL;
        if (!shift && !zi) {
            /* The common case, without branches: vectorises. */
            const double *p1 = P->ps[1] + base, *vi = W->vint + base;
            for (int j = 0; j < d; j++) {
                double npos = cnt[j] - n0[j], mu = p0[j];
                double q2 = s2[j] - 2.0 * mu * s1[j] + npos * mu * mu;
                noise_terms ni = { p1[j], vi[j], 0.0, 0.0 };
                double li = lobs(0, cnt[j], n0[j], s1[j], q2, ni), i = ti[j];
                if (li_out) li_out[j] = li;
                lj[j] += (1.0 - i) * lo_c[off[j] + k] + i * li;
            }
            continue;
        }
        for (int j = 0; j < d; j++) {
            double npos = cnt[j] - n0[j], lo = lo_c[off[j] + k], li;
            if (shift) {
                double psi = p0[j];
                double q2 = Q2[off[j] + k] - 2.0 * psi * Q1[off[j] + k] + npos * psi * psi;
                li = lobs(zi, cnt[j], n0[j], s1[j], q2, W->gene_noise[j]);
            } else {
                double mu = p0[j];
                double q2 = s2[j] - 2.0 * mu * s1[j] + npos * mu * mu;
                noise_terms ni = { P->ps[1][base + j], W->vint[base + j], 0.0, 0.0 };
                if (zi) {
                    ni.lp0 = pg_log_sigmoid(P->ps[2][base + j]);
                    ni.lp1 = pg_log_sigmoid(-P->ps[2][base + j]);
                }
                li = lobs(zi, cnt[j], n0[j], s1[j], q2, ni);
            }
            if (li_out) li_out[j] = li;
            double i = ti[j];
            lj[j] += (1.0 - i) * lo + i * li;
        }
    }
    double lm = 0.0;
    for (int j = 0; j < d; j++) lm += lj[j];
    return lm;
}

/* ---- 1. distinct parent configurations per gene (fact 1) -------------- */
static void pass_configs(const gim_settings *s, const gim_data *D, gim_pass *P,
                         pass_work *W)
{
    int M = P->M, d = D->d;
    size_t dd = (size_t) d * d;
    void *(*alloc)(size_t) = s->alloc;
    *W = (pass_work) {
        .M = M, .d = d, .K = D->K, .Kp = D->Kp, .H = s->H,
        .zi = s->mechanism == GIM_ZILOGNORMAL, .shift = s->intervention == GIM_SHIFT,
        .nth = s->n_threads, .wmax = s->H > 1 ? s->H : 1,
        .dd = dd, .MK = (size_t) M * D->K
    };
    int *cfg_of = W->cfg_of = alloc(sizeof(int) * (size_t) M * d);
    int *nU = W->nU = alloc(sizeof(int) * d);
    int *rep = W->rep = alloc(sizeof(int) * (size_t) M * d);
    for (int j = 0; j < d; j++) {
        int u_count = 0;
        for (int m = 0; m < M; m++) {
            const double *col = P->graph + m * dd + (size_t) d * j;
            int found = -1;
            if (P->dedup)
                for (int u = 0; u < u_count && found < 0; u++) {
                    const double *other = P->graph + rep[(size_t) j * M + u] * dd +
                        (size_t) d * j;
                    if (memcmp(col, other, sizeof(double) * d) == 0) found = u;
                }
            if (found < 0) { found = u_count; rep[(size_t) j * M + u_count++] = m; }
            cfg_of[(size_t) m * d + j] = found;
        }
        nU[j] = u_count;
    }
    P->configs = 0;
    for (int j = 0; j < d; j++) P->configs += nU[j];
}

/* Scratch of the forward pass, each gene's noise terms and the precision
 * exp(-2 log-sd) of every intervened noise draw (hard), in one vectorised
 * sweep: phases 2 to 4 need it. */
static void pass_scratch(const gim_settings *s, const gim_layout *L, const gim_data *D,
                         const double *par, const gim_pass *P, pass_work *W)
{
    int M = W->M, d = W->d, Kp = W->Kp, zi = W->zi, nth = W->nth, wmax = W->wmax;
    void *(*alloc)(size_t) = s->alloc;
    W->Q1 = alloc(sizeof(double) * W->MK * d);
    W->Q2 = alloc(sizeof(double) * W->MK * d);
    W->lobs_obs = alloc(sizeof(double) * (size_t) M * d);
    W->lo_c = alloc(sizeof(double) * W->MK * d);
    int K = W->K;
    double *st = alloc(sizeof(double) * 4 * (size_t) K * d);
    W->cnt_t = st; W->n0_t = st + (size_t) K * d;
    W->s1_t = st + 2 * (size_t) K * d; W->s2_t = st + 3 * (size_t) K * d;
    for (int j = 0; j < d; j++)
        for (int k = 0; k < K; k++) {
            size_t e = k + (size_t) K * j, t = (size_t) k * d + j;
            W->cnt_t[t] = D->cnt[e]; W->n0_t[t] = D->n0[e];
            W->s1_t[t] = D->s1[e]; W->s2_t[t] = D->s2[e];
        }
    W->lj_all = alloc(sizeof(double) * (size_t) nth * d);
    W->off_all = alloc(sizeof(size_t) * (size_t) nth * d);
    W->pa_all = alloc(sizeof(int) * (size_t) nth * d);
    W->weff_all = alloc(sizeof(double) * (size_t) nth * d * wmax);
    W->t_len = (size_t) GIM_BLOCK * (wmax + 1);
    W->t_all = alloc(sizeof(double) * (size_t) nth * W->t_len);
    noise_terms *gene_noise = W->gene_noise = alloc(sizeof(noise_terms) * d);
    for (int j = 0; j < d; j++)
        gene_noise[j] = noise_make(zi, par[L->log_sd + j], zi ? par[L->zero_logit + j] : 0.0);
    W->vint = NULL;
    if (!W->shift) {
        size_t MKd = (size_t) M * Kp * d;
        W->vint = alloc(sizeof(double) * (MKd ? MKd : 1));
        intervened_precisions(P->ps[1], MKd, W->vint);
    }
}

/* ---- 2a. screening in single precision (fact 4) ----------------------- */
/* Float pass of every configuration with a bound on its error, then the
 * samples that can still carry weight (active), then the configurations
 * they use (needed). */
static void pass_screen(const gim_settings *s, const gim_layout *L, const gim_data *D,
                        const double *par, gim_pass *P, pass_work *W)
{
    int M = W->M, d = W->d, K = W->K, Kp = W->Kp, zi = W->zi, shift = W->shift;
    int nth = W->nth, wmax = W->wmax;
    size_t dd = W->dd;
    const int *cfg_of = W->cfg_of, *nU = W->nU, *rep = W->rep;
    double *Q1 = W->Q1, *Q2 = W->Q2, *lobs_obs = W->lobs_obs;
    const noise_terms *gene_noise = W->gene_noise;
    const double *vint = W->vint;
    char *needed = W->needed, *active = W->active;
    int *pa_all = W->pa_all;
    double *weff_all = W->weff_all;
    void *(*alloc)(size_t) = s->alloc;

    double *err = alloc(sizeof(double) * M * d), *psi_max = alloc(sizeof(double) * d);
    for (int j = 0; j < d; j++) psi_max[j] = 0.0;
    if (shift)
        for (size_t e = 0; e < (size_t) M * Kp * d; e++)
            if (fabs(P->ps[0][e]) > psi_max[e % d]) psi_max[e % d] = fabs(P->ps[0][e]);
    size_t f_len = gim_screen_scratch_len(wmax, d);
    float *f_all = alloc(sizeof(float) * (size_t) nth * f_len);
    double *sa_all = alloc(sizeof(double) * (size_t) nth * K);
    #pragma omp parallel num_threads(nth)
    {
        int tid = gim_thread_id();
        config_view cv = { 0, pa_all + (size_t) tid * d, weff_all + (size_t) tid * d * wmax };
        double *Sa = sa_all + (size_t) tid * K;
        #pragma omp for schedule(dynamic, 1)
        for (int j = 0; j < d; j++)
            for (int u = 0; u < nU[j]; u++) {
                size_t c = (size_t) j * M + u;
                config_make(s, L, par, P->graph + rep[c] * dd + (size_t) d * j, j, &cv);
                double delta = gim_screen_forward(s, L, D, par, j, cv.npa, cv.pa,
                                                  cv.weff, Q1 + c * K, Q2 + c * K, Sa,
                                                  f_all + (size_t) tid * f_len);
                err[c] = config_error(D, j, Sa, delta, gene_noise[j].v, psi_max[j]);
                lobs_obs[c] = config_logliks(zi, D, j, Q2 + c * K, gene_noise[j],
                                             W->lo_c + c * K);
            }
    }
    double *lo_f = alloc(sizeof(double) * M), *hi_f = alloc(sizeof(double) * M);
    #pragma omp parallel for num_threads(nth) schedule(static)
    for (int m = 0; m < M; m++) {
        int tid = gim_thread_id();
        double l = sample_loglik(s, D, P, W, m, NULL, W->lj_all + (size_t) tid * d,
                                 W->off_all + (size_t) tid * d);
        /* Plus slack for the rounding of the double sums themselves. */
        double e = 1.0 + 1e-9 * fabs(l);
        for (int j = 0; j < d; j++) e += err[(size_t) j * M + cfg_of[(size_t) m * d + j]];
        lo_f[m] = D->weight * (l - e);
        hi_f[m] = D->weight * (l + e);
    }
    double best = -INFINITY;
    for (int m = 0; m < M; m++) if (lo_f[m] > best) best = lo_f[m];
    for (int m = 0; m < M; m++) {
        /* NaN bounds keep the sample: the double pass decides. */
        active[m] = !(hi_f[m] < best - 746.0);
        P->screened += !active[m];
        if (active[m])
            for (int j = 0; j < d; j++) needed[(size_t) j * M + cfg_of[(size_t) m * d + j]] = 1;
    }
}

/* ---- 2. forward pass of every configuration needed -------------------- */
/* Scratch, and which configurations and samples phase 2 must evaluate:
 * all of them, unless screening rules some out. */
static void pass_prepare(const gim_settings *s, const gim_layout *L, const gim_data *D,
                         const double *par, gim_pass *P, pass_work *W)
{
    pass_scratch(s, L, D, par, P, W);
    int M = W->M, d = W->d;
    char *needed = W->needed = s->alloc((size_t) M * d);
    char *active = W->active = s->alloc((size_t) M);
    /* With few distinct parent sets (late in training) the double pass is
     * cheaper than screening, which costs a second pass over the samples. */
    int screen = D->xf && M > 1 && P->configs >= GIM_SCREEN_MIN_CONFIGS * d &&
                 s->mc_estimator == GIM_MC_MARGINAL;
    memset(needed, !screen, (size_t) M * d);
    memset(active, !screen, (size_t) M);
    P->screened = 0;
    if (screen) pass_screen(s, L, D, par, P, W);
}

static void pass_forward(const gim_settings *s, const gim_layout *L, const gim_data *D,
                         const double *par, gim_pass *P, pass_work *W)
{
    int M = W->M, d = W->d, K = W->K, zi = W->zi, wmax = W->wmax;
    size_t dd = W->dd;
    const char *needed = W->needed;
    const int *nU = W->nU, *rep = W->rep;
    double *Q1 = W->Q1, *Q2 = W->Q2, *lobs_obs = W->lobs_obs;
    const noise_terms *gene_noise = W->gene_noise;
    int *pa_all = W->pa_all;
    double *weff_all = W->weff_all, *t_all = W->t_all;
    size_t t_len = W->t_len;
    #pragma omp parallel num_threads(W->nth)
    {
        int tid = gim_thread_id();
        int *pa_buf = pa_all + (size_t) tid * d;
        double *weff_buf = weff_all + (size_t) tid * d * wmax, *t = t_all + (size_t) tid * t_len;
        #pragma omp for schedule(dynamic, 1)
        for (int j = 0; j < d; j++) {
            config_view cv = { 0, pa_buf, weff_buf };
            for (int u = 0; u < nU[j]; u++) {
                size_t c = (size_t) j * M + u;
                if (!needed[c]) continue;
                const double *col = P->graph + rep[c] * dd + (size_t) d * j;
                config_make(s, L, par, col, j, &cv);
                config_forward(s, L, D, par, j, &cv, Q1 + c * K, Q2 + c * K, t);
                lobs_obs[c] = config_logliks(zi, D, j, Q2 + c * K, gene_noise[j],
                                             W->lo_c + c * K);
            }
        }
    }
}

/* ---- 3. per-sample log-likelihoods l_m, their weights, LL ------------- */
static void pass_weights(const gim_settings *s, const gim_data *D, gim_pass *P,
                         pass_work *W)
{
    int M = W->M, d = W->d, Kp = W->Kp;
    const int *cfg_of = W->cfg_of;
    const char *active = W->active;
    double *lint = W->lint = s->alloc(sizeof(double) * (size_t) M * Kp * d);
    #pragma omp parallel for num_threads(W->nth) schedule(static)
    for (int m = 0; m < M; m++)
        P->ell[m] = active[m] ? D->weight * sample_loglik(s, D, P, W, m, lint,
                                                          W->lj_all + (size_t) gim_thread_id() * d,
                                                          W->off_all + (size_t) gim_thread_id() * d)
                              : -INFINITY;
    if (s->mc_estimator == GIM_MC_EXPECTED) {
        double sum = 0.0;
        for (int m = 0; m < M; m++) { P->w[m] = 1.0 / M; sum += P->ell[m]; }
        P->loglik = sum / M;
        return;
    }
    double mx = -INFINITY;
    for (int m = 0; m < M; m++) if (P->ell[m] > mx) mx = P->ell[m];
    double z = 0.0;
    for (int m = 0; m < M; m++) { P->w[m] = exp(P->ell[m] - mx); z += P->w[m]; }
    for (int m = 0; m < M; m++) P->w[m] /= z;
    P->loglik = mx + log(z / M);
}

/* ---- 4. gradients through targets, psi, log_sd, zero_logit ------------ */
static void pass_noise_gradients(const gim_settings *s, const gim_layout *L,
                                 const gim_data *D, const double *par, gim_pass *P,
                                 pass_work *W, double *grad)
{
    int M = W->M, d = W->d, K = W->K, Kp = W->Kp, zi = W->zi, shift = W->shift;
    const int *cfg_of = W->cfg_of;
    const double *Q1 = W->Q1, *Q2 = W->Q2, *vint = W->vint, *lint = W->lint;
    #pragma omp parallel for num_threads(W->nth) schedule(dynamic, 1)
    for (int j = 0; j < d; j++) {
        double ls = par[L->log_sd + j], zl = zi ? par[L->zero_logit + j] : 0.0;
        double v = exp(-2.0 * ls), pz = pg_sigmoid(zl);
        double g_ls = 0.0, g_zl = 0.0;
        for (int m = 0; m < M; m++) {
            double wm = P->w[m] * D->weight;      /* d LL / d l_m, cells weighted */
            if (wm == 0.0) continue;
            size_t c = (size_t) j * M + cfg_of[(size_t) m * d + j];
            for (int k = 0; k < K; k++) {
                size_t e = k + (size_t) K * j;
                double cnt = D->cnt[e], n0 = D->n0[e], npos = cnt - n0;
                double q1 = Q1[c * K + k], q2 = Q2[c * K + k];
                double d_lo_ls = -npos + q2 * v, d_zl = n0 * (1.0 - pz) - npos * pz;
                if (k >= Kp) {
                    g_ls += wm * d_lo_ls;
                    g_zl += wm * d_zl;
                    continue;
                }
                size_t idx = ((size_t) m * Kp + k) * d + j;
                double i = P->ti[idx];
                double lo = W->lo_c[c * K + k], li = lint[idx];
                if (P->want_phi)
                    P->dT[k + (size_t) Kp * j] += wm * s->tau * i * (1.0 - i) * (li - lo);
                if (shift) {
                    double psi = P->ps[0][idx];
                    double q2s = q2 - 2.0 * psi * q1 + npos * psi * psi;
                    g_ls += wm * ((1.0 - i) * d_lo_ls + i * (-npos + q2s * v));
                    g_zl += wm * d_zl;
                    if (P->want_phi)
                        P->dPsi[0][k + (size_t) Kp * j] += wm * i * (q1 - npos * psi) * v;
                } else {
                    g_ls += wm * (1.0 - i) * d_lo_ls;
                    g_zl += wm * (1.0 - i) * d_zl;
                    if (P->want_phi) {
                        double mu = P->ps[0][idx], vi = vint[idx];
                        double s1 = D->s1[e], s2 = D->s2[e];
                        size_t o = k + (size_t) Kp * j;
                        P->dPsi[0][o] += wm * i * (s1 - npos * mu) * vi;
                        P->dPsi[1][o] += wm * i *
                            (-npos + (s2 - 2.0 * mu * s1 + npos * mu * mu) * vi);
                        if (zi) {
                            double pi = pg_sigmoid(P->ps[2][idx]);
                            P->dPsi[2][o] += wm * i * (n0 * (1.0 - pi) - npos * pi);
                        }
                    }
                }
            }
        }
        if (P->want_theta) {
            grad[L->log_sd + j] += g_ls;
            if (zi) grad[L->zero_logit + j] += g_zl;
        }
    }
}

/* ---- 5a. the weights of the backward pass ------------------------------ */
/* Per configuration c and context k: Wc, the weight of the residual in
 * d J / d mean, and for shifts Bc, that of the shift (d J / d mean =
 * (Wc r - Bc) v per cell). They need the samples' weights and targets but
 * not the forward pass. */
static void pass_backward_weights(const gim_settings *s, const gim_data *D, const gim_pass *P,
                                  pass_work *W)
{
    int M = W->M, d = W->d, K = W->K, Kp = W->Kp, shift = W->shift;
    size_t MK = W->MK;
    const int *cfg_of = W->cfg_of;
    double *Wc = W->Wc = s->alloc(sizeof(double) * MK * d);
    double *Bc = W->Bc = s->alloc(sizeof(double) * MK * d);
    memset(Wc, 0, sizeof(double) * MK * d);
    memset(Bc, 0, sizeof(double) * MK * d);
    #pragma omp parallel for num_threads(W->nth) schedule(dynamic, 1)
    for (int j = 0; j < d; j++)
        for (int m = 0; m < M; m++) {
            double wm = P->w[m] * D->weight;
            if (wm == 0.0) continue;
            size_t c = (size_t) j * M + cfg_of[(size_t) m * d + j];
            for (int k = 0; k < K; k++) {
                if (k >= Kp) { Wc[c * K + k] += wm; continue; }
                size_t idx = ((size_t) m * Kp + k) * d + j;
                double i = P->ti[idx];
                if (shift) {
                    Wc[c * K + k] += wm;
                    Bc[c * K + k] += wm * i * P->ps[0][idx];
                } else {
                    Wc[c * K + k] += wm * (1.0 - i);
                }
            }
        }
}

/* ---- 5. backward pass of every configuration with weight (fact 3) ----- */
/* With `fused`, it also does phase 2's work: the residual sums and
 * log-densities of every configuration, from the units it computes anyway
 * (the expected estimator, whose weights 1 / M are known before the
 * forward pass; phase 2 then does not run). */
static void pass_backward(const gim_settings *s, const gim_layout *L, const gim_data *D,
                          const double *par, gim_pass *P, const pass_work *W, double *grad,
                          int fused)
{
    int M = W->M, d = W->d, K = W->K, Kp = W->Kp, H = W->H, shift = W->shift;
    int nth = W->nth, wmax = W->wmax;
    size_t dd = W->dd;
    const int *cfg_of = W->cfg_of, *nU = W->nU, *rep = W->rep;
    const double *Wc = W->Wc, *Bc = W->Bc;
    int *pa_all = W->pa_all;
    double *weff_all = W->weff_all;
    void *(*alloc)(size_t) = s->alloc;
    int *members_all = alloc(sizeof(int) * (size_t) nth * M);
    double *acc_all = alloc(sizeof(double) * (size_t) nth * 2 * d * wmax);
    double *E_all = alloc(sizeof(double) * (size_t) nth * 2 * K * d);
    size_t b_len = (size_t) GIM_BLOCK * (3 * wmax + 4) + wmax;
    double *bbuf_all = alloc(sizeof(double) * (size_t) nth * b_len);
    #pragma omp parallel num_threads(nth)
    {
        int tid = gim_thread_id();
        double *bbuf = bbuf_all + (size_t) tid * b_len;
        int *pa_buf = pa_all + (size_t) tid * d, *members = members_all + (size_t) tid * M;
        double *weff_buf = weff_all + (size_t) tid * d * wmax;
        double *acc1 = acc_all + (size_t) tid * 2 * d * wmax, *acc0 = acc1 + (size_t) d * wmax;
        double *E1 = E_all + (size_t) tid * 2 * K * d, *E0 = E1 + (size_t) K * d;
        #pragma omp for schedule(dynamic, 1)
        for (int j = 0; j < d; j++) {
            config_view cv = { 0, pa_buf, weff_buf };
            double ls = par[L->log_sd + j], v = exp(-2.0 * ls);
            for (int u = 0; u < nU[j]; u++) {
                size_t c = (size_t) j * M + u;
                int nm = 0;
                for (int m = 0; m < M; m++)
                    if (cfg_of[(size_t) m * d + j] == u && P->w[m] > GIM_NEGLIGIBLE_WEIGHT)
                        members[nm++] = m;
                if (nm == 0 && !fused) continue;
                const double *col = P->graph + rep[c] * dd + (size_t) d * j;
                config_make(s, L, par, col, j, &cv);
                int hw = s->mechanism == GIM_LINEAR ? 1 : H;
                for (int k = 0; k < K; k++) {
                    double wc = Wc[c * K + k], bc = Bc[c * K + k], q12[2] = { 0.0, 0.0 };
                    if (P->want_graph) {
                        memset(acc1, 0, sizeof(double) * (size_t) d * hw);
                        if (shift) memset(acc0, 0, sizeof(double) * (size_t) d * hw);
                    }
                    if (s->mechanism != GIM_LINEAR) {
                        config_backward_mlp(s, L, D, par, j, &cv, col, D->start[k],
                                            D->start[k + 1], wc, bc, v,
                                            P->want_theta ? grad : NULL,
                                            P->want_graph ? acc1 : NULL,
                                            P->want_graph && shift ? acc0 : NULL,
                                            fused ? q12 : NULL, bbuf);
                    } else {
                        config_backward_linear(L, D, par, j, &cv, col, D->start[k],
                                               D->start[k + 1], wc, bc, v,
                                               P->want_theta ? grad : NULL,
                                               P->want_graph ? acc1 : NULL,
                                               P->want_graph && shift ? acc0 : NULL,
                                               fused ? q12 : NULL, bbuf);
                    }
                    if (fused) { W->Q1[c * K + k] = q12[0]; W->Q2[c * K + k] = q12[1]; }
                    if (!P->want_graph) continue;
                    /* Contract the hidden units with w1 (or theta): E[k, i] =
                     * sum over cells of (r or 1) * d mean / d g_ij. */
                    for (int i = 0; i < d; i++) {
                        double e1 = 0.0, e0 = 0.0;
                        if (s->mechanism == GIM_LINEAR) {
                            double wij = par[L->w + i + (size_t) d * j];
                            e1 = wij * acc1[i];
                            if (shift) e0 = wij * acc0[i];
                        } else {
                            const double *w1 = par + L->w1 + (size_t) H * (i + (size_t) d * j);
                            for (int h = 0; h < H; h++) {
                                e1 += w1[h] * acc1[(size_t) i * H + h];
                                if (shift) e0 += w1[h] * acc0[(size_t) i * H + h];
                            }
                        }
                        E1[k + (size_t) K * i] = e1;
                        E0[k + (size_t) K * i] = e0;
                    }
                }
                if (fused)
                    W->lobs_obs[c] = config_logliks(W->zi, D, j, W->Q2 + c * K,
                                                    W->gene_noise[j], W->lo_c + c * K);
                if (!P->want_graph) continue;
                for (int a = 0; a < nm; a++) {
                    int m = members[a];
                    double wm = P->w[m] * D->weight * v;
                    for (int i = 0; i < d; i++) {
                        if (i == j) continue;
                        const double *e1 = E1 + (size_t) K * i, *e0 = E0 + (size_t) K * i;
                        double acc = 0.0;
                        for (int k = 0; k < Kp; k++) {
                            double ti = P->ti[((size_t) m * Kp + k) * d + j];
                            if (shift)
                                acc += e1[k] - ti * P->ps[0][((size_t) m * Kp + k) * d + j] * e0[k];
                            else
                                acc += (1.0 - ti) * e1[k];
                        }
                        for (int k = Kp; k < K; k++) acc += e1[k];
                        P->dg[m * dd + i + (size_t) d * j] += wm * acc;
                    }
                }
            }
        }
    }
}

void gim_pass_run(const gim_settings *s, const gim_layout *L, const gim_data *D,
                  const double *par, gim_pass *P, double *grad)
{
    pass_work W;
    pass_configs(s, D, P, &W);
    pass_prepare(s, L, D, par, P, &W);
    /* Fact 5: under the expected estimator every sample weighs 1 / M before
     * any likelihood is known, so the backward pass runs first and does the
     * forward pass's work as well. (With a non-finite log-likelihood the
     * gradients it added are never used: the caller rejects the step.) */
    int fused = s->mc_estimator == GIM_MC_EXPECTED && (P->want_theta || P->want_graph);
    if (fused) {
        for (int m = 0; m < P->M; m++) P->w[m] = 1.0 / P->M;
        pass_backward_weights(s, D, P, &W);
        pass_backward(s, L, D, par, P, &W, grad, 1);
    } else {
        pass_forward(s, L, D, par, P, &W);
    }
    pass_weights(s, D, P, &W);
    if (!isfinite(P->loglik) || !(P->want_theta || P->want_graph || P->want_phi)) return;
    pass_noise_gradients(s, L, D, par, P, &W, grad);
    if (fused || !(P->want_theta || P->want_graph)) return;
    pass_backward_weights(s, D, P, &W);
    pass_backward(s, L, D, par, P, &W, grad, 0);
}
