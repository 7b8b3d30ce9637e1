/* Entropic optimal transport between uniform empirical measures (Sinkhorn
 * with log-domain stabilisation), SPEC section 4.
 *
 * Samples x_1..x_m (predicted) and y_1..y_n (observed), cost
 * C_ij = |x_i - y_j|^2, weights a_i = 1/m, b_j = 1/n, regularisation eps.
 * The plan is parametrised by two potentials in cost units,
 *
 *     P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps),
 *
 * and Sinkhorn alternates the two marginal projections
 *
 *     f_i <- eps log n - smax_j(g_j - C_ij),
 *     g_j <- eps log m - smax_i(f_i - C_ij),
 *     smax_k(z_k) = eps log sum_k exp(z_k / eps).
 *
 * The potentials are the state and never leave the log domain, so squared
 * costs in the thousands with eps = 0.1 are no problem.
 *
 * What the R side reports is a by-product of the two updates.  The row
 * update from g gives the row sums of the plan (f, g), the column update
 * from the new f its column sums, c_j = b_j exp((g_j - g_new_j) / eps).  The
 * L1 marginal error (rows plus columns) and the entropic cost
 *
 *     OT_eps = <P, C> + eps KL(P | a b^T)
 *            = sum_i f_i r_i + sum_j g_j c_j + eps (1 - sum P)
 *
 * (r, c the marginals of P; KL in its generalised form
 * sum P log(P / ab) - sum P + 1, the usual one for unit mass) therefore cost
 * nothing extra.  Iterations stop when that error is below the tolerance,
 * and the plan (f, g) that was measured is the one reported.
 *
 * Speed, without changing the estimator:
 * - C comes from one BLAS dgemm (|x|^2 + |y|^2 - 2 x.y) after centring both
 *   clouds at their pooled mean (so no accuracy is lost to cancellation when
 *   the data sit far from the origin); rounding negatives are set to 0.
 * - Log-domain stabilised kernel (Schmitzer 2019): the exponentials are
 *   taken once, relative to reference potentials (f0, g0),
 *       K_ij = exp((f0_i + g0_j - C_ij) / eps),
 *   and a soft maximum is then a matrix-vector product,
 *       smax_j(g_j - C_ij) = eps log sum_j K_ij exp((g_j - g0_j) / eps) - f0_i,
 *   with one exp() per potential instead of one per matrix entry.  Terms
 *   with f0_i + g0_j - C_ij < -lambda are dropped (truncated kernel).  The
 *   kernel is rebuilt before the potentials have moved far enough for a
 *   dropped term to matter or for the factors exp((g - g0) / eps) to grow
 *   large: every sum keeps a relative error below 1e-16 (SK_LOG_SKIP), and
 *   every exponent stays within +-SK_MARGIN + SK_LOG_SKIP + log(n).  Rows or
 *   columns that carry almost no mass are recomputed exactly in the log
 *   domain.  With eps small next to the spread of the costs, few terms
 *   survive and the kernel is kept as sparse lists (by row and by column);
 *   otherwise it is a dense matrix.
 * - Over-relaxation at the target eps, with a factor estimated from the
 *   observed rate of convergence and a safeguard that keeps every step an
 *   ascent step of the dual (sk_adapt_omega, sk_safe_omega).
 * - Epsilon scaling (annealing): start at SK_START times the largest cost,
 *   multiply eps by SK_SCALING per stage of a few iterations; the final stage
 *   at the target eps runs to the tolerance, so the fixed point, hence the
 *   estimator, is the one at the target eps.
 * - Rows are split over threads for the row update, columns for the column
 *   update (only where the work pays for a team, see sk_team).  Every row
 *   or column is summed in the same order whatever the thread count and
 *   totals are summed serially, so results are bit-identical for any
 *   n_threads.
 *
 * Self-transport terms of the debiased divergence, OT_eps(x, x), and the
 * main problem when x and y are identical, use the symmetric fixed point
 * f = T(f) with the averaged update f <- (f + T(f)) / 2 (Feydy et al. 2019),
 * which converges in a few iterations where alternating updates crawl. */

#define USE_FC_LEN_T
#include "pg_common.h"
#include <R_ext/BLAS.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#ifndef FCONE
#define FCONE
#endif

/* Terms below the guessed maximum by more than SK_LOG_SKIP + log(len) (in
 * units of eps) are dropped: together they weigh at most exp(-SK_LOG_SKIP)
 * relative to the maximum.  A soft maximum whose sum, relative to the guess,
 * is below SK_SUM_MIN = exp(-10) is recomputed exactly from the true
 * maximum, so every sum has a relative error below
 * exp(-SK_LOG_SKIP + 10) = 8.5e-17, less than its own rounding. */
#define SK_LOG_SKIP 47.0
#define SK_SUM_MIN 4.5399929762484854e-05
#define SK_LOG_SUM_MIN (-10.0)

/* The kernel keeps terms down to SK_LOG_SKIP + log(len) + SK_MARGIN (in
 * units of eps) below the guess; it stays valid while the potentials move
 * by less than SK_MARGIN eps in total. */
#define SK_MARGIN 60.0

/* A kernel is kept as lists when it has at most max(64 (m + n), m n / 16)
 * terms, else as a dense matrix when m n <= SK_DENSE_MAX (256 MB) and
 * low_memory is off, else not at all (every update then streams over C in
 * the log domain, with one exp() per entry that is not negligible). */
#define SK_DENSE_MAX 33554432.0

/* Over-relaxation at the target eps (see sk_adapt_omega): the rate of
 * convergence is measured over windows of SK_WINDOW iterations after
 * SK_WARMUP plain ones; the factor stays below SK_OMEGA_MAX, and a relaxed
 * step must keep SK_ASCENT of the ascent of a plain one (sk_safe_omega). */
#define SK_WARMUP 5
#define SK_WINDOW 10
#define SK_OMEGA_MAX 1.95
#define SK_ASCENT 0.1

/* Annealing: the first eps is SK_START times the largest cost, each stage
 * multiplies eps by SK_SCALING, and ends after SK_STAGE_ITERS iterations or
 * once the marginal error is below SK_STAGE_TOL. */
#define SK_START 0.01
#define SK_SCALING 0.1
#define SK_STAGE_ITERS 3
#define SK_STAGE_TOL 1e-1

/* Threads for a loop of `work` units (about a nanosecond each: 1 per entry
 * of a plain pass, 2 per term of a kernel product, 4 per entry of a
 * log-domain pass, 8 per exp()): one below SK_PAR_MIN (some 15 ms of
 * work), where a team costs more than it saves.  Sparse updates take tens
 * of microseconds, and a team is expensive beyond its start: on a loaded
 * machine it waits for descheduled threads, and after every parallel loop
 * libgomp's idle threads spin for milliseconds by default, slowing the
 * serial code that follows (measured: 1000 x 1000 samples took 30% longer
 * with two threads than with one at a threshold four times lower). */
#define SK_PAR_MIN 16777216.0

/* ---- plain-C kernels (no R API) ---------------------------------------- */

static int sk_team(int nt, double work)
{
    return work < SK_PAR_MIN ? 1 : nt;
}

/* Drop distance in cost units for sums of `len` terms. */
static double sk_skip(double eps, int len)
{
    return eps * (SK_LOG_SKIP + log((double) len));
}

/* Streams z_k = h_k - c_k (k = 0..len-1, c with stride `stride`) into a
 * running soft maximum: on return *u >= max_k z_k (up to dropped terms),
 * *s = sum_k exp((z_k - *u) / eps).  *u enters as a guess of the maximum.
 * A term above the running maximum rescales the sum (an online
 * log-sum-exp), so any guess is correct; a good one only saves work. */
static void sk_stream(const double *c, ptrdiff_t stride, const double *h,
                      int len, double inv_eps, double skip, double *u,
                      double *s)
{
    double uu = *u, thr = uu - skip, ss = 0.0;
    for (int k = 0; k < len; k++) {
        const double z = h[k] - c[stride * k];
        if (z > thr) {
            const double t = (z - uu) * inv_eps;
            if (t <= 0.0) {
                ss += exp(t);
            } else {
                ss = ss * exp(-t) + 1.0;
                uu = z;
                thr = z - skip;
            }
        }
    }
    *u = uu;
    *s = ss;
}

/* smax_k(h_k - c_k) of one row or column of C, in the log domain, from a
 * guess of the maximum; recomputed from the exact maximum when the sum
 * relative to the guess is too small to trust the dropped terms. */
static double sk_smax(const double *c, ptrdiff_t stride, const double *h,
                      int len, double eps, double guess)
{
    const double inv_eps = 1.0 / eps, skip = sk_skip(eps, len);
    double u = guess, s;
    sk_stream(c, stride, h, len, inv_eps, skip, &u, &s);
    if (!(s >= SK_SUM_MIN)) {
        u = -INFINITY;
        for (int k = 0; k < len; k++) {
            const double z = h[k] - c[stride * k];
            if (z > u) u = z;
        }
        sk_stream(c, stride, h, len, inv_eps, skip, &u, &s);
    }
    return u + eps * log(s);
}

/* The stabilised kernel of an m x n row-major C (see the top of the file):
 * terms with f0_i + g0_j - C_ij >= -lambda, as lists by row (rp, ci, kr)
 * and, unless symmetric, by column (cp, ri, kc), or as a dense matrix K. */
enum { SK_NONE, SK_SPARSE, SK_DENSE };
typedef struct {
    int mode;
    ptrdiff_t cap, *rp, *cp, *next;
    int *ci, *ri;
    double *kr, *kc, *K; /* K is NULL when a dense kernel is not allowed */
    double *f0, *g0, lambda, eps;
    int fail_iter;
    double fail_eps;
} sk_kernel;

/* Builds the kernel of C for potentials (f, g) (g = f if sym), eps and drop
 * distance lambda.  Returns 0 (kernel unusable) when it would need more
 * than k->cap terms and K is NULL, or when some exponent is too large to be
 * taken safely (potentials far from consistent, e.g. early on). */
static int sk_kernel_build(sk_kernel *k, const double *C, int m, int n,
                           const double *f, const double *g, double eps,
                           double lambda, int sym, int nt)
{
#ifndef _OPENMP
    (void) nt; /* the team size matters only with OpenMP */
#endif
    ptrdiff_t *rp = k->rp;
    double *top = k->kr; /* per-row maximum exponent, before kr is filled */
    const double inv_eps = 1.0 / eps;
    k->mode = SK_NONE;
    if (k->cap < m)
        return 0;
#ifdef _OPENMP
    const int team = sk_team(nt, (double) m * n);
#pragma omp parallel for num_threads(team) if (team > 1) schedule(static)
#endif
    for (int i = 0; i < m; i++) {
        const double *c = C + (size_t) n * i, thr = -lambda - f[i];
        ptrdiff_t cnt = 0;
        double mx = -INFINITY;
        for (int j = 0; j < n; j++) {
            const double q = g[j] - c[j];
            cnt += q >= thr;
            if (q > mx) mx = q;
        }
        rp[i + 1] = cnt;
        top[i] = (f[i] + mx) * inv_eps;
    }
    double qmax = -INFINITY;
    rp[0] = 0;
    for (int i = 0; i < m; i++) {
        rp[i + 1] += rp[i];
        if (top[i] > qmax) qmax = top[i];
    }
    /* Kernel values stay below exp(300); the scalings exp((g - g0) / eps)
     * that multiply them stay below exp(SK_MARGIN) (see sk_prepare), so
     * products and sums are far from overflow. */
    if (!(qmax <= 300.0))
        return 0;
    if (rp[m] > k->cap) {
        if (k->K == NULL)
            return 0;
#ifdef _OPENMP
        const int team = sk_team(nt, 8.0 * m * n);
#pragma omp parallel for num_threads(team) if (team > 1) schedule(static)
#endif
        for (int i = 0; i < m; i++) {
            const double *c = C + (size_t) n * i, thr = -lambda - f[i];
            double *kk = k->K + (size_t) n * i;
            for (int j = 0; j < n; j++) {
                const double q = g[j] - c[j];
                /* Exact zeros below the drop distance: no denormals. */
                kk[j] = q >= thr ? exp((f[i] + q) * inv_eps) : 0.0;
            }
        }
        k->mode = SK_DENSE;
    } else {
#ifdef _OPENMP
        const int team = sk_team(nt, (double) m * n + 8.0 * rp[m]);
#pragma omp parallel for num_threads(team) if (team > 1) schedule(static)
#endif
        for (int i = 0; i < m; i++) {
            const double *c = C + (size_t) n * i, thr = -lambda - f[i];
            ptrdiff_t p = rp[i];
            for (int j = 0; j < n; j++) {
                const double q = g[j] - c[j];
                if (q >= thr) {
                    k->ci[p] = j;
                    k->kr[p] = exp((f[i] + q) * inv_eps);
                    p++;
                }
            }
        }
        if (!sym) {
            /* Column lists by a counting transposition, rows in order. */
            ptrdiff_t *cp = k->cp, *next = k->next;
            for (int j = 0; j <= n; j++) cp[j] = 0;
            for (ptrdiff_t p = 0; p < rp[m]; p++) cp[k->ci[p] + 1]++;
            for (int j = 0; j < n; j++) cp[j + 1] += cp[j];
            memcpy(next, cp, sizeof(ptrdiff_t) * n);
            for (int i = 0; i < m; i++)
                for (ptrdiff_t p = rp[i]; p < rp[i + 1]; p++) {
                    const ptrdiff_t q = next[k->ci[p]]++;
                    k->ri[q] = i;
                    k->kc[q] = k->kr[p];
                }
        }
        k->mode = SK_SPARSE;
    }
    memcpy(k->f0, f, sizeof(double) * m);
    if (!sym)
        memcpy(k->g0, g, sizeof(double) * n);
    k->lambda = lambda;
    k->eps = eps;
    return 1;
}

/* Largest |a_i - b_i|. */
static double sk_maxdiff(const double *a, const double *b, int len)
{
    double mx = 0.0;
    for (int i = 0; i < len; i++) {
        const double d = fabs(a[i] - b[i]);
        if (d > mx) mx = d;
    }
    return mx;
}

/* Row soft maxima out_i = smax_j(h_j - C_ij) for the plan with row
 * potentials p and column potentials h, through the kernel k when it is
 * usable (k->mode != SK_NONE), else streamed over C in the log domain.
 * `sp` (length n) is scratch.  The guess of the maximum of h_j - C_ij is
 * eps log m - p_i: after an exact column update p_i + h_j - C_ij <=
 * eps log m.  The sum relative to that guess, u_i (K v)_i / m, is n times
 * the row sum of the plan; rows below SK_SUM_MIN go the exact way. */
static void sk_rows(const double *C, int m, int n, const sk_kernel *k,
                    const double *p, const double *h, double eps,
                    double *out, double *sp, int nt)
{
#ifndef _OPENMP
    (void) nt; /* the team size matters only with OpenMP */
#endif
    const double inv_eps = 1.0 / eps, log_m = log((double) m);
    const double lm = eps * log_m;
    if (k->mode == SK_NONE) {
#ifdef _OPENMP
        const int team = sk_team(nt, 4.0 * m * n);
#pragma omp parallel for num_threads(team) if (team > 1) schedule(static)
#endif
        for (int i = 0; i < m; i++)
            out[i] = sk_smax(C + (size_t) n * i, 1, h, n, eps, lm - p[i]);
        return;
    }
    const double *h0 = k->g0 ? k->g0 : k->f0;
    for (int j = 0; j < n; j++) sp[j] = exp((h[j] - h0[j]) * inv_eps);
    const int sparse = k->mode == SK_SPARSE;
#ifdef _OPENMP
    const int team = sk_team(nt, 2.0 * (sparse ? (double) k->rp[m]
                                               : (double) m * n));
#pragma omp parallel for num_threads(team) if (team > 1) schedule(static)
#endif
    for (int i = 0; i < m; i++) {
        double s = 0.0;
        if (sparse) {
            for (ptrdiff_t q = k->rp[i]; q < k->rp[i + 1]; q++)
                s += k->kr[q] * sp[k->ci[q]];
        } else {
            /* Four partial sums for instruction-level parallelism; the
             * order is fixed, so the result is too. */
            const double *kk = k->K + (size_t) n * i;
            double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
            int j = 0;
            for (; j + 4 <= n; j += 4) {
                s0 += kk[j] * sp[j];
                s1 += kk[j + 1] * sp[j + 1];
                s2 += kk[j + 2] * sp[j + 2];
                s3 += kk[j + 3] * sp[j + 3];
            }
            for (; j < n; j++) s0 += kk[j] * sp[j];
            s = (s0 + s1) + (s2 + s3);
        }
        const double ls = log(s);
        if ((p[i] - k->f0[i]) * inv_eps + ls - log_m >= SK_LOG_SUM_MIN)
            out[i] = eps * ls - k->f0[i];
        else
            out[i] = sk_smax(C + (size_t) n * i, 1, h, n, eps, lm - p[i]);
    }
}

/* Column soft maxima out_j = smax_i(h_i - C_ij) for the plan with row
 * potentials h and column potentials p, the column analogue of sk_rows.  A
 * dense C or K is streamed row by row into one running sum per column (a
 * block of columns per thread), so it is read with unit stride and never
 * transposed.  sp (length m) and acc (length n) are scratch. */
static void sk_cols(const double *C, int m, int n, const sk_kernel *k,
                    const double *p, const double *h, double eps,
                    double *out, double *sp, double *acc, double *acc2,
                    int nt)
{
    const double inv_eps = 1.0 / eps, log_n = log((double) n);
    const double ln = eps * log_n;
    if (k->mode == SK_SPARSE) {
        for (int i = 0; i < m; i++) sp[i] = exp((h[i] - k->f0[i]) * inv_eps);
#ifdef _OPENMP
        const int team = sk_team(nt, 2.0 * (double) k->cp[n]);
#pragma omp parallel for num_threads(team) if (team > 1) schedule(static)
#endif
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (ptrdiff_t q = k->cp[j]; q < k->cp[j + 1]; q++)
                s += k->kc[q] * sp[k->ri[q]];
            const double ls = log(s);
            if ((p[j] - k->g0[j]) * inv_eps + ls - log_n >= SK_LOG_SUM_MIN)
                out[j] = eps * ls - k->g0[j];
            else
                out[j] = sk_smax(C + j, n, h, m, eps, ln - p[j]);
        }
        return;
    }
    const int dense = k->mode == SK_DENSE;
    if (dense)
        for (int i = 0; i < m; i++) sp[i] = exp((h[i] - k->f0[i]) * inv_eps);
    const int team = sk_team(nt, (dense ? 2.0 : 4.0) * m * n);
    const int nb = team < n ? team : n;
    const double skip = sk_skip(eps, m);
#ifdef _OPENMP
#pragma omp parallel for num_threads(team) if (team > 1) schedule(static)
#endif
    for (int b = 0; b < nb; b++) {
        const int j0 = (int) (((long long) n * b) / nb);
        const int j1 = (int) (((long long) n * (b + 1)) / nb);
        /* acc: sums; acc2: running maxima of the log-domain stream. */
        for (int j = j0; j < j1; j++) {
            acc[j] = 0.0;
            acc2[j] = ln - p[j];
        }
        for (int i = 0; i < m; i++) {
            if (dense) {
                const double *kk = k->K + (size_t) n * i, ui = sp[i];
                for (int j = j0; j < j1; j++) acc[j] += kk[j] * ui;
            } else {
                const double *c = C + (size_t) n * i, hi = h[i];
                for (int j = j0; j < j1; j++) {
                    const double z = hi - c[j];
                    if (z > acc2[j] - skip) {
                        const double t = (z - acc2[j]) * inv_eps;
                        if (t <= 0.0) {
                            acc[j] += exp(t);
                        } else {
                            acc[j] = acc[j] * exp(-t) + 1.0;
                            acc2[j] = z;
                        }
                    }
                }
            }
        }
        for (int j = j0; j < j1; j++) {
            const double ls = log(acc[j]);
            if (dense && (p[j] - k->g0[j]) * inv_eps + ls - log_n >=
                         SK_LOG_SUM_MIN)
                out[j] = eps * ls - k->g0[j];
            else if (!dense && ls >= SK_LOG_SUM_MIN)
                out[j] = acc2[j] + eps * ls;
            else
                out[j] = sk_smax(C + j, n, h, m, eps, ln - p[j]);
        }
    }
}

/* <P, C> for the plan of potentials (f, g) (g = f if sym), through the
 * kernel when it is usable, else with one exp() per entry. */
static double sk_transport(const double *C, int m, int n, const sk_kernel *k,
                           const double *f, const double *g, double eps,
                           double *rows, double *sp, int nt)
{
#ifndef _OPENMP
    (void) nt; /* the team size matters only with OpenMP */
#endif
    const double inv_eps = 1.0 / eps;
    const int mode = k->mode;
    if (mode != SK_NONE) {
        const double *g0 = k->g0 ? k->g0 : k->f0;
        for (int j = 0; j < n; j++) sp[j] = exp((g[j] - g0[j]) * inv_eps);
    }
#ifdef _OPENMP
    const int team = sk_team(nt, mode == SK_SPARSE ? 2.0 * (double) k->rp[m]
                                 : (mode == SK_DENSE ? 2.0 : 8.0) * m * n);
#pragma omp parallel for num_threads(team) if (team > 1) schedule(static)
#endif
    for (int i = 0; i < m; i++) {
        const double *c = C + (size_t) n * i;
        double s = 0.0;
        if (mode == SK_SPARSE) {
            for (ptrdiff_t q = k->rp[i]; q < k->rp[i + 1]; q++)
                s += k->kr[q] * sp[k->ci[q]] * c[k->ci[q]];
            s *= exp((f[i] - k->f0[i]) * inv_eps);
        } else if (mode == SK_DENSE) {
            const double *kk = k->K + (size_t) n * i;
            for (int j = 0; j < n; j++) s += kk[j] * sp[j] * c[j];
            s *= exp((f[i] - k->f0[i]) * inv_eps);
        } else {
            for (int j = 0; j < n; j++)
                s += exp((f[i] + g[j] - c[j]) * inv_eps) * c[j];
        }
        rows[i] = s;
    }
    double t = 0.0;
    for (int i = 0; i < m; i++) t += rows[i];
    return t / ((double) m * n);
}

/* Squared norms of the rows of a column-major m x d matrix, summed over
 * columns in order (so every caller gets bit-identical norms). */
static void sk_row_norms(const double *xc, int m, int d, double *nx)
{
    for (int i = 0; i < m; i++) nx[i] = 0.0;
    for (int k = 0; k < d; k++) {
        const double *xck = xc + (size_t) m * k;
        for (int i = 0; i < m; i++) nx[i] += xck[i] * xck[i];
    }
}

static double sk_max(const double *v, int len)
{
    double mx = 0.0;
    for (int i = 0; i < len; i++)
        if (v[i] > mx) mx = v[i];
    return mx;
}

/* C (m x n, row-major) = squared distances between the rows of x (m x d)
 * and y (n x d), both column-major.  Returns max C.  xc, yc: scratch of
 * m d and n d doubles; nx, ny: m and n. */
static double sk_cost_matrix(const double *x, int m, const double *y, int n,
                             int d, double *C, double *xc, double *yc,
                             double *nx, double *ny, int nt)
{
#ifndef _OPENMP
    (void) nt; /* the team size matters only with OpenMP */
#endif
    /* Centring at the pooled mean leaves every distance unchanged and keeps
     * |x|^2 + |y|^2 - 2 x.y free of cancellation for data far from 0. */
    for (int k = 0; k < d; k++) {
        const double *xk = x + (size_t) m * k, *yk = y + (size_t) n * k;
        double sum = 0.0;
        for (int i = 0; i < m; i++) sum += xk[i];
        for (int j = 0; j < n; j++) sum += yk[j];
        const double mu = sum / ((double) m + (double) n);
        double *xck = xc + (size_t) m * k, *yck = yc + (size_t) n * k;
        for (int i = 0; i < m; i++) xck[i] = xk[i] - mu;
        for (int j = 0; j < n; j++) yck[j] = yk[j] - mu;
    }
    sk_row_norms(xc, m, d, nx);
    sk_row_norms(yc, n, d, ny);
    /* The column-major n x m matrix -2 yc xc^T is C in row-major order. */
    const double alpha = -2.0, beta = 0.0;
    F77_CALL(dgemm)("N", "T", &n, &m, &d, &alpha, yc, &n, xc, &m, &beta, C,
                    &n FCONE FCONE);
    double *rowmax = xc; /* free again after dgemm */
#ifdef _OPENMP
    const int team = sk_team(nt, (double) m * n);
#pragma omp parallel for num_threads(team) if (team > 1) schedule(static)
#endif
    for (int i = 0; i < m; i++) {
        double *c = C + (size_t) n * i, mx = 0.0;
        for (int j = 0; j < n; j++) {
            double v = c[j] + nx[i] + ny[j];
            if (v < 0.0) v = 0.0;
            c[j] = v;
            if (v > mx) mx = v;
        }
        rowmax[i] = mx;
    }
    return sk_max(rowmax, m);
}

/* Symmetric version for x against itself: dsyrk fills one triangle, which
 * is mirrored, so C is exactly symmetric with a zero diagonal. */
static double sk_cost_matrix_self(const double *x, int m, int d, double *C,
                                  double *xc, double *nx, int nt)
{
#ifndef _OPENMP
    (void) nt; /* the team size matters only with OpenMP */
#endif
    for (int k = 0; k < d; k++) {
        const double *xk = x + (size_t) m * k;
        double sum = 0.0;
        for (int i = 0; i < m; i++) sum += xk[i];
        const double mu = sum / (double) m;
        double *xck = xc + (size_t) m * k;
        for (int i = 0; i < m; i++) xck[i] = xk[i] - mu;
    }
    sk_row_norms(xc, m, d, nx);
    const double alpha = -2.0, beta = 0.0;
    /* Upper triangle, column-major: C[i + m j] for i <= j. */
    F77_CALL(dsyrk)("U", "N", &m, &d, &alpha, xc, &m, &beta, C, &m
                    FCONE FCONE);
    double *colmax = xc;
#ifdef _OPENMP
    const int team = sk_team(nt, (double) m * m);
#pragma omp parallel for num_threads(team) if (team > 1) schedule(static)
#endif
    for (int j = 0; j < m; j++) {
        double *c = C + (size_t) m * j, mx = 0.0;
        for (int i = 0; i < j; i++) {
            double v = c[i] + nx[i] + nx[j];
            if (v < 0.0) v = 0.0;
            c[i] = v;
            if (v > mx) mx = v;
        }
        c[j] = 0.0;
        colmax[j] = mx;
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(team) if (team > 1) schedule(static)
#endif
    for (int j = 0; j < m; j++)
        for (int i = j + 1; i < m; i++)
            C[i + (size_t) m * j] = C[j + (size_t) m * i];
    return sk_max(colmax, m);
}

/* One Sinkhorn problem and the state of its iterations.  The caller sets
 * the problem fields and the arrays (lengths in comments). */
typedef struct {
    const double *C;      /* m x n row-major (n x n symmetric if sym) */
    int m, n, sym, nt, max_iter, annealing, low_memory;
    double eps_target, tol, cost_max;
    /* state */
    double eps;           /* of the current stage */
    int stage_iter, iter, done, converged;
    double err, cost, transport;
    double omega, theta, win_err; /* over-relaxation, see sk_adapt_omega */
    double *f, *g, *gnew; /* m, n (g = f if sym), n */
    double *lr, *r;       /* m */
    double *lc, *c;       /* n */
    double *sm, *sn, *acc, *acc2; /* scratch: m, n, n, n */
    sk_kernel k;
} sk_solver;

static void sk_init(sk_solver *s)
{
    for (int i = 0; i < s->m; i++) s->f[i] = 0.0;
    if (!s->sym)
        for (int j = 0; j < s->n; j++) s->g[j] = 0.0;
    s->eps = s->eps_target;
    if (s->annealing && SK_START * s->cost_max > s->eps_target &&
        s->max_iter > 1)
        s->eps = SK_START * s->cost_max;
    s->stage_iter = 0;
    s->omega = 1.0;
    s->theta = 0.0;
    s->win_err = INFINITY;
    s->iter = 0;
    s->done = 0;
    s->converged = 0;
    s->err = INFINITY;
    s->cost = NAN;
    s->transport = NAN;
    s->k.mode = SK_NONE;
    s->k.fail_iter = -1;
    s->k.fail_eps = INFINITY;
}

/* Makes s->k usable for an update with potentials (f, g), or marks it
 * unusable (SK_NONE: log-domain update).  The kernel is rebuilt when eps
 * has changed or the potentials have moved too far since it was built; a
 * failed build is retried only at a smaller eps or after a few
 * iterations. */
static void sk_prepare(sk_solver *s, const double *f, const double *g)
{
    sk_kernel *k = &s->k;
    const int len = s->m > s->n ? s->m : s->n;
    const double skip = sk_skip(s->eps, len);
    if (k->mode != SK_NONE && k->eps == s->eps) {
        double moved = sk_maxdiff(f, k->f0, s->m);
        moved += s->sym ? moved : sk_maxdiff(g, k->g0, s->n);
        if (k->lambda - moved >= skip)
            return;
    }
    if (k->fail_iter >= 0 && s->eps >= k->fail_eps &&
        s->iter - k->fail_iter < 8) {
        k->mode = SK_NONE;
        return;
    }
    if (sk_kernel_build(k, s->C, s->m, s->n, f, g, s->eps,
                        skip + SK_MARGIN * s->eps, s->sym, s->nt)) {
        k->fail_iter = -1;
    } else {
        k->fail_iter = s->iter;
        k->fail_eps = s->eps;
    }
}

/* Chooses the over-relaxation factor of the alternating solver at the
 * target eps.  Near the solution the marginal error of plain Sinkhorn
 * shrinks by a factor theta per iteration, and over-relaxation with
 * omega = 2 / (1 + sqrt(1 - theta)) shrinks it by omega - 1 instead, far
 * less when theta is close to 1 (Young's SOR theory, which applies to
 * Sinkhorn: Thibault et al. 2021, Lehmann et al. 2022).  theta is measured
 * from the rate rho over a window: rho itself with omega = 1, otherwise
 * from rho = |lambda| of (lambda + omega - 1)^2 = lambda omega^2 theta.
 * Estimates only ever raise theta; a window without progress halves
 * omega - 1.  Whatever omega, sk_safe_omega keeps every step an ascent
 * step, so the iterations converge as plain Sinkhorn does. */
static void sk_adapt_omega(sk_solver *s)
{
    const int k = s->stage_iter - SK_WARMUP;
    if (k < 0 || k % SK_WINDOW != 0)
        return;
    const double start = s->win_err;
    s->win_err = s->err;
    if (k == 0)
        return;
    const double rho = pow(s->err / start, 1.0 / SK_WINDOW), w = s->omega;
    if (!(rho < 1.0 && rho > 0.0)) {
        s->omega = 1.0 + (w - 1.0) / 2.0;
        s->theta = 4.0 * (s->omega - 1.0) / (s->omega * s->omega);
        return;
    }
    const double theta = w == 1.0 ? rho
        : (rho + w - 1.0) * (rho + w - 1.0) / (rho * w * w);
    if (theta > s->theta)
        s->theta = theta < 1.0 ? theta : 1.0;
    const double opt = 2.0 / (1.0 + sqrt(1.0 - s->theta));
    s->omega = opt < SK_OMEGA_MAX ? opt : SK_OMEGA_MAX;
}

/* Stage logic after an iteration that measured s->err: returns 1 when the
 * measured plan is final (converged or out of iterations). */
static int sk_after(sk_solver *s)
{
    s->iter++;
    s->stage_iter++;
    if (s->eps <= s->eps_target) {
        if (s->err < s->tol) {
            s->converged = 1;
            return 1;
        }
        if (!s->sym)
            sk_adapt_omega(s);
        return s->iter >= s->max_iter;
    }
    if (s->stage_iter >= SK_STAGE_ITERS || s->err < SK_STAGE_TOL) {
        s->eps *= SK_SCALING;
        s->stage_iter = 0;
    }
    /* The last iteration allowed always runs at the target eps, so that
     * even an unconverged result is a plan of the problem asked for. */
    if (s->eps < s->eps_target || s->iter >= s->max_iter - 1)
        s->eps = s->eps_target;
    return 0;
}

/* Over-relaxed block step x <- x + w d of the dual ascent, d = T - x the
 * exact (w = 1) step.  The dual objective along the step changes by
 *     gain(w) = w mean(d) - eps mean(exp((w - 1) d / eps) - exp(-d / eps)),
 * concave in w with its maximum at w = 1.  Returns the largest of w,
 * 1 + (w - 1) / 2, 1 + (w - 1) / 4, 1 whose gain is at least SK_ASCENT
 * times gain(1): every step then keeps a fixed share of the ascent of plain
 * Sinkhorn, so over-relaxation can never make the iterations diverge.
 * e[k] = exp((w - 1) d_k / eps) / len on return, for the chosen w (these
 * are the marginals of the relaxed plan). */
static double sk_safe_omega(const double *d, int len, double eps, double w,
                            double *e)
{
    const double inv_eps = 1.0 / eps;
    if (w != 1.0) {
        double md = 0.0, e0 = 0.0;
        for (int k = 0; k < len; k++) {
            md += d[k];
            e0 += exp(-d[k] * inv_eps);
        }
        md /= len;
        e0 /= len;
        const double gain1 = md - eps * (1.0 - e0);
        for (int a = 0; a < 3; a++, w = 1.0 + (w - 1.0) / 2.0) {
            double ew = 0.0;
            for (int k = 0; k < len; k++) {
                e[k] = exp((w - 1.0) * d[k] * inv_eps) / len;
                ew += e[k];
            }
            if (w * md - eps * (ew - e0) >= SK_ASCENT * gain1)
                return w;
        }
    }
    for (int k = 0; k < len; k++) e[k] = 1.0 / len;
    return 1.0;
}

/* One iteration of the alternating solver. */
static void sk_iterate(sk_solver *s)
{
    const int m = s->m, n = s->n, nt = s->nt;
    const double eps = s->eps, inv_eps = 1.0 / eps;
    const double lm = eps * log((double) m), ln = eps * log((double) n);
    const double w = s->eps <= s->eps_target ? s->omega : 1.0;
    double *f = s->f, *g = s->g, *gn = s->gnew, *r = s->r, *c = s->c;

    /* Row update: the projection T(g)_i = eps log n - lr_i gives the row
     * sums of the plan (f_new, g): r_i = a_i exp((f_new_i - T(g)_i) / eps). */
    sk_prepare(s, f, g);
    sk_rows(s->C, m, n, &s->k, f, g, eps, s->lr, s->sn, nt);
    double *d = s->lr;
    for (int i = 0; i < m; i++) d[i] = ln - s->lr[i] - f[i];
    const double wf = sk_safe_omega(d, m, eps, w, r);
    double err = 0.0;
    for (int i = 0; i < m; i++) {
        err += fabs(r[i] - 1.0 / m);
        f[i] += wf * d[i];
    }

    /* Column update; it measures the plan (f, g). */
    sk_prepare(s, f, g);
    sk_cols(s->C, m, n, &s->k, g, f, eps, s->lc, s->sm, s->acc, s->acc2,
            nt);
    for (int j = 0; j < n; j++) {
        gn[j] = lm - s->lc[j];
        c[j] = exp((g[j] - gn[j]) * inv_eps) / n;
        err += fabs(c[j] - 1.0 / n);
    }
    s->err = err;
    if (sk_after(s)) {
        /* Report the plan (f, g) just measured. */
        double sf = 0.0, sg = 0.0, sc = 0.0;
        for (int i = 0; i < m; i++) sf += f[i] * r[i];
        for (int j = 0; j < n; j++) {
            sg += g[j] * c[j];
            sc += c[j];
        }
        const double cost = sf + sg + eps * (1.0 - sc);
        s->cost = cost > 0.0 ? cost : 0.0;
        s->transport = sk_transport(s->C, m, n, &s->k, f, g, eps, s->sm,
                                    s->sn, nt);
        s->done = 1;
    } else if (w == 1.0) {
        memcpy(g, gn, sizeof(double) * n);
    } else {
        for (int j = 0; j < n; j++) gn[j] -= g[j];
        const double wg = sk_safe_omega(gn, n, eps, w, c);
        for (int j = 0; j < n; j++) g[j] += wg * gn[j];
    }
}

/* One iteration of the symmetric solver (x against itself, m = n). */
static void sk_iterate_sym(sk_solver *s)
{
    const int n = s->n, nt = s->nt;
    const double eps = s->eps, inv_eps = 1.0 / eps;
    const double ln = eps * log((double) n);
    double *f = s->f, *r = s->r;

    sk_prepare(s, f, f);
    sk_rows(s->C, n, n, &s->k, f, f, eps, s->lr, s->sn, nt);
    /* T(f)_i = eps log n - lr_i; the plan (f, f) has row (and column) sums
     * r_i = exp((f_i - T(f)_i) / eps) / n. */
    double err = 0.0;
    for (int i = 0; i < n; i++) {
        r[i] = exp((f[i] - (ln - s->lr[i])) * inv_eps) / n;
        err += 2.0 * fabs(r[i] - 1.0 / n);
    }
    s->err = err;
    if (sk_after(s)) {
        double sf = 0.0, sr = 0.0;
        for (int i = 0; i < n; i++) {
            sf += f[i] * r[i];
            sr += r[i];
        }
        const double cost = 2.0 * sf + eps * (1.0 - sr);
        s->cost = cost > 0.0 ? cost : 0.0;
        s->transport = sk_transport(s->C, n, n, &s->k, f, f, eps, s->sm,
                                    s->sn, nt);
        s->done = 1;
    } else {
        for (int i = 0; i < n; i++)
            f[i] = 0.5 * (f[i] + (ln - s->lr[i]));
    }
}

/* The plan (m x n, column-major) of a finished solver, exactly from C. */
static void sk_plan(const sk_solver *s, double *P)
{
    const int m = s->m, n = s->n;
    const double inv_eps = 1.0 / s->eps, w = 1.0 / ((double) m * n);
#ifdef _OPENMP
    const int team = sk_team(s->nt, 8.0 * m * n);
#pragma omp parallel for num_threads(team) if (team > 1) schedule(static)
#endif
    for (int j = 0; j < n; j++) {
        const double gj = s->g[j];
        double *p = P + (size_t) m * j;
        for (int i = 0; i < m; i++)
            p[i] = w * exp((s->f[i] + gj - s->C[(size_t) n * i + j]) * inv_eps);
    }
}

/* ---- .Call boundary ---------------------------------------------------- */

#define SK_ALLOC(len, type) ((type *) R_alloc((size_t) (len), sizeof(type)))

/* Allocates the solver's arrays with R_alloc (released by the caller's
 * vmaxset, or when .Call returns, also after an error or an interrupt) and
 * runs it, checking for interrupts between iterations. */
static void sk_run(sk_solver *s)
{
    const int m = s->m, n = s->n;
    s->f = SK_ALLOC(m, double);
    s->g = s->sym ? s->f : SK_ALLOC(n, double);
    s->gnew = SK_ALLOC(n, double);
    s->lr = SK_ALLOC(m, double);
    s->r = SK_ALLOC(m, double);
    s->lc = SK_ALLOC(n, double);
    s->c = SK_ALLOC(n, double);
    s->sm = SK_ALLOC(m, double);
    s->sn = SK_ALLOC(n, double);
    s->acc = SK_ALLOC(n, double);
    s->acc2 = SK_ALLOC(n, double);
    /* Kernel lists longer than this are kept dense; the bound keeps their
     * memory well below that of C. */
    const double mn = (double) m * n;
    double cap = 64.0 * ((double) m + n);
    if (cap < mn / 16) cap = mn / 16;
    if (cap > mn) cap = mn;
    sk_kernel *k = &s->k;
    k->cap = (ptrdiff_t) cap;
    k->rp = SK_ALLOC(m + 1, ptrdiff_t);
    k->ci = SK_ALLOC(k->cap, int);
    k->kr = SK_ALLOC(k->cap, double);
    k->f0 = SK_ALLOC(m, double);
    k->K = mn <= SK_DENSE_MAX && !s->low_memory ? SK_ALLOC(mn, double)
                                                : NULL;
    if (!s->sym) {
        k->cp = SK_ALLOC(n + 1, ptrdiff_t);
        k->next = SK_ALLOC(n, ptrdiff_t);
        k->ri = SK_ALLOC(k->cap, int);
        k->kc = SK_ALLOC(k->cap, double);
        k->g0 = SK_ALLOC(n, double);
    }
    sk_init(s);
    while (!s->done) {
        if (s->sym)
            sk_iterate_sym(s);
        else
            sk_iterate(s);
        R_CheckUserInterrupt();
    }
}

/* Solves z against itself (nz x d) with the symmetric solver. */
static void sk_run_self(sk_solver *s, const double *z, int nz, int d)
{
    double *C = SK_ALLOC((size_t) nz * nz, double);
    double *zc = SK_ALLOC((size_t) nz * d, double);
    double *nzv = SK_ALLOC(nz, double);
    s->C = C;
    s->m = nz;
    s->n = nz;
    s->sym = 1;
    s->cost_max = sk_cost_matrix_self(z, nz, d, C, zc, nzv, s->nt);
    sk_run(s);
}

/* x (m x d), y (n x d): samples in rows.  epsilon, tolerance: positive;
 * max_iterations >= 1; annealing, low_memory, plan, divergence: logical;
 * n_threads >= 1.  Returns list(cost, transport_cost, iterations,
 * converged, marginal_error, transport (NULL unless plan), self_cost,
 * self_iterations, self_converged, self_marginal_error (each for x then y;
 * NULL unless divergence)). */
SEXP pg_sinkhorn(SEXP x, SEXP y, SEXP epsilon, SEXP tolerance,
                 SEXP max_iterations, SEXP annealing, SEXP low_memory,
                 SEXP plan, SEXP divergence, SEXP n_threads)
{
    pg_check_double_matrix(x, "x", 1);
    pg_check_double_matrix(y, "y", 1);
    if (Rf_ncols(x) != Rf_ncols(y))
        Rf_error("`x` and `y` must have the same number of columns, "
                 "not %d and %d.", Rf_ncols(x), Rf_ncols(y));
    const double eps = pg_scalar_double(epsilon, "epsilon");
    if (!(eps > 0.0))
        Rf_error("`epsilon` must be positive.");
    const double tol = pg_scalar_double(tolerance, "tolerance");
    if (!(tol > 0.0))
        Rf_error("`tolerance` must be positive.");
    const int max_iter = pg_scalar_int(max_iterations, "max_iterations");
    if (max_iter < 1)
        Rf_error("`max_iterations` must be at least 1.");
    const int anneal = pg_scalar_logical(annealing, "annealing");
    const int low_mem = pg_scalar_logical(low_memory, "low_memory");
    const int want_plan = pg_scalar_logical(plan, "plan");
    const int want_div = pg_scalar_logical(divergence, "divergence");
    const int nt = pg_threads(n_threads);

    const int m = Rf_nrows(x), n = Rf_nrows(y), d = Rf_ncols(x);
    if ((double) m * n > (double) R_XLEN_T_MAX ||
        (double) m * m > (double) R_XLEN_T_MAX ||
        (double) n * n > (double) R_XLEN_T_MAX)
        Rf_error("`x` and `y` are too large: a %d x %d cost matrix.", m, n);
    /* Identical samples: the symmetric solver finds the same solution, in
     * far fewer iterations, and the divergence is exactly 0. */
    const int same = m == n &&
        memcmp(REAL(x), REAL(y), sizeof(double) * (size_t) m * d) == 0;

    const char *names[] = {"cost", "transport_cost", "iterations",
                           "converged", "marginal_error", "transport",
                           "self_cost", "self_iterations", "self_converged",
                           "self_marginal_error", ""};
    SEXP ans = PROTECT(Rf_mkNamed(VECSXP, names));
    SEXP scost = PROTECT(Rf_allocVector(REALSXP, 2));
    SEXP siters = PROTECT(Rf_allocVector(INTSXP, 2));
    SEXP sconv = PROTECT(Rf_allocVector(LGLSXP, 2));
    SEXP serr = PROTECT(Rf_allocVector(REALSXP, 2));

    /* The main problem, then (if asked) x against x and y against y; the
     * scratch of each is released before the next one is allocated. */
    const void *vmax = vmaxget();
    {
        sk_solver s;
        memset(&s, 0, sizeof s);
        s.nt = nt;
        s.max_iter = max_iter;
        s.annealing = anneal;
        s.low_memory = low_mem;
        s.eps_target = eps;
        s.tol = tol;
        if (same) {
            sk_run_self(&s, REAL(x), m, d);
        } else {
            double *C = SK_ALLOC((size_t) m * n, double);
            double *xc = SK_ALLOC((size_t) m * d, double);
            double *yc = SK_ALLOC((size_t) n * d, double);
            double *nx = SK_ALLOC(m, double), *ny = SK_ALLOC(n, double);
            s.C = C;
            s.m = m;
            s.n = n;
            s.cost_max = sk_cost_matrix(REAL(x), m, REAL(y), n, d, C, xc,
                                        yc, nx, ny, nt);
            sk_run(&s);
        }
        SET_VECTOR_ELT(ans, 0, Rf_ScalarReal(s.cost));
        SET_VECTOR_ELT(ans, 1, Rf_ScalarReal(s.transport));
        SET_VECTOR_ELT(ans, 2, Rf_ScalarInteger(s.iter));
        SET_VECTOR_ELT(ans, 3, Rf_ScalarLogical(s.converged));
        SET_VECTOR_ELT(ans, 4, Rf_ScalarReal(s.err));
        if (want_plan) {
            SEXP P = PROTECT(Rf_allocMatrix(REALSXP, m, n));
            sk_plan(&s, REAL(P));
            SET_VECTOR_ELT(ans, 5, P);
            UNPROTECT(1);
        }
        for (int k = 0; k < 2; k++) {
            REAL(scost)[k] = s.cost;
            INTEGER(siters)[k] = s.iter;
            LOGICAL(sconv)[k] = s.converged;
            REAL(serr)[k] = s.err;
        }
    }
    vmaxset(vmax);

    if (want_div) {
        for (int k = 0; k < 2 && !same; k++) {
            SEXP z = k == 0 ? x : y;
            sk_solver s;
            memset(&s, 0, sizeof s);
            s.nt = nt;
            s.max_iter = max_iter;
            s.annealing = anneal;
            s.low_memory = low_mem;
            s.eps_target = eps;
            s.tol = tol;
            sk_run_self(&s, REAL(z), Rf_nrows(z), d);
            REAL(scost)[k] = s.cost;
            INTEGER(siters)[k] = s.iter;
            LOGICAL(sconv)[k] = s.converged;
            REAL(serr)[k] = s.err;
            vmaxset(vmax);
        }
        SET_VECTOR_ELT(ans, 6, scost);
        SET_VECTOR_ELT(ans, 7, siters);
        SET_VECTOR_ELT(ans, 8, sconv);
        SET_VECTOR_ELT(ans, 9, serr);
    }
    UNPROTECT(5);
    return ans;
}
