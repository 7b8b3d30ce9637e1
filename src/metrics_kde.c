/* Gaussian kernel density estimate (KDE) log-likelihood, SPEC section 4.
 *
 * For predicted samples xhat_1..xhat_m and a kernel covariance H, every
 * observed sample x_i gets
 *
 *     log p(x_i) = log( mean_j N(x_i; xhat_j, H) ).
 *
 * The R wrapper (R/metrics-kde.R) chooses H (Scott or Silverman rule, or
 * h^2 I) and owns the policy for a singular H; this file factorises H,
 * whitens both sample sets and evaluates the log densities.
 *
 * With H = L L^T and z = L^{-1} (x - c), the Mahalanobis distance is a plain
 * squared distance of whitened points, and
 *     -|z_i - w_j|^2 / 2 = (z_i . w_j - |w_j|^2 / 2) - |z_i|^2 / 2,
 * so the m x n cross products come from one BLAS dgemm per tile and the rest
 * is a log-sum-exp over j.  Centring at the mean of the predicted samples (c)
 * keeps the norms small, so the expansion loses no accuracy to cancellation
 * when the data sit far from the origin. */

#define USE_FC_LEN_T
#include "pg_common.h"
#include <R_ext/BLAS.h>
#include <R_ext/Lapack.h>
#include <math.h>
#include <stddef.h>

#ifndef FCONE
#define FCONE
#endif

/* The m x n cross products are formed in tiles of at most KDE_TILE doubles
 * (32 MB), so memory stays bounded for any m and n.  A tile spans all
 * predicted samples whenever that leaves room for KDE_MIN_BI observed ones:
 * each tile costs one BLAS call and one parallel region, and under a loaded
 * machine every extra region (a barrier, and a hand-over between the BLAS
 * threads and ours) costs more than the arithmetic, so tiles are few and
 * large.  Only beyond m = KDE_TILE / KDE_MIN_BI are predicted samples split,
 * with a running log-sum-exp across their tiles. */
#define KDE_TILE (1 << 22)
#define KDE_MIN_BI 64

/* H counts as singular when a Cholesky pivot L_kk falls below this fraction
 * of sqrt(H_kk), i.e. when variable k is a linear function of the previous
 * ones up to a residual standard deviation of 1e-7 of its own (the same
 * tolerance qr() uses to declare columns collinear).  Beyond that the
 * whitening amplifies rounding errors into the result. */
#define KDE_PIVOT_TOL 1e-7

/* ---- plain-C kernels (no R API) ---------------------------------------- */

/* Lower Cholesky factor of the d x d matrix in L, in place.  Returns 0 when
 * H is numerically positive definite, 1 otherwise (dpotrf failed or a pivot
 * is below KDE_PIVOT_TOL). */
static int kde_cholesky(double *L, int d, double *diag)
{
    for (int k = 0; k < d; k++)
        diag[k] = L[k + (size_t) d * k];
    int info = 0;
    F77_CALL(dpotrf)("L", &d, L, &d, &info FCONE);
    if (info != 0)
        return 1;
    for (int k = 0; k < d; k++)
        if (!(L[k + (size_t) d * k] > KDE_PIVOT_TOL * sqrt(diag[k])))
            return 1;
    return 0;
}

/* x (n x d, column-major) <- (x - centre) L^{-T}, i.e. each row becomes
 * L^{-1} (row - centre); then half[i] = |row i|^2 / 2. */
static void kde_whiten(double *x, int n, int d, const double *centre,
                       const double *L, double *half)
{
    for (int k = 0; k < d; k++) {
        double *col = x + (size_t) n * k;
        const double c = centre[k];
        for (int i = 0; i < n; i++)
            col[i] -= c;
    }
    const double one = 1.0;
    F77_CALL(dtrsm)("R", "L", "T", "N", &n, &d, &one, L, &d, x, &n
                    FCONE FCONE FCONE FCONE);
    for (int i = 0; i < n; i++)
        half[i] = 0.0;
    /* Column by column for contiguous access; each row's sum still runs over
     * k = 0..d-1 in order, so it does not depend on any thread count. */
    for (int k = 0; k < d; k++) {
        const double *col = x + (size_t) n * k;
        for (int i = 0; i < n; i++)
            half[i] += 0.5 * col[i] * col[i];
    }
}

/* One tile: predicted samples j0 .. j0+bj-1 against observed samples
 * i0 .. i0+bi-1.  W (m x d) and Z (n x d) are the whitened predicted and
 * observed samples and whalf their half squared norms; tile holds bj * bi
 * doubles.  For each observed sample c of the block, rmax[c] and rsum[c]
 * carry a running log-sum-exp of a_j = z_c . w_j - |w_j|^2 / 2 over the
 * tiles seen so far: the largest a_j and the sum of exp(a_j - rmax), rescaled
 * when a later tile raises the maximum.  Start with rmax = -Inf, rsum = 0.
 * Each observed sample is handled by one thread in a fixed order, so the
 * result is bit-identical for any number of threads. */
static void kde_tile(const double *W, const double *whalf, int m,
                     const double *Z, int n, int d, int j0, int bj, int i0,
                     int bi, double *tile, double *rmax, double *rsum, int nt)
{
    const double one = 1.0, zero = 0.0;
    (void) nt; /* unused without OpenMP */
    /* tile (bj x bi) = W[j0 + ., ] %*% t(Z[i0 + ., ]); BLAS is called outside
     * the parallel region so that it may use its own threads. */
    F77_CALL(dgemm)("N", "T", &bj, &bi, &d, &one, W + j0, &m, Z + i0, &n,
                    &zero, tile, &bj FCONE FCONE);
    const double *wh = whalf + j0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16)
#endif
    for (int c = 0; c < bi; c++) {
        double *a = tile + (size_t) bj * c;
        double mx = -INFINITY;
        for (int j = 0; j < bj; j++) {
            a[j] -= wh[j];
            if (a[j] > mx)
                mx = a[j];
        }
        double cur = rmax[c];
        if (mx > cur) {
            /* exp(-Inf) = 0 on the first tile, where rsum is 0 anyway */
            rsum[c] *= exp(cur - mx);
            rmax[c] = cur = mx;
        }
        double s = 0.0;
        for (int j = 0; j < bj; j++)
            s += exp(a[j] - cur);
        rsum[c] += s;
    }
}

/* ---- .Call entry point -------------------------------------------------- */

/* pg_kde_nll(predicted, observed, bandwidth, n_threads)
 *   predicted  m x d double matrix (kernel centres), m >= 1
 *   observed   n x d double matrix (evaluation points), n >= 1
 *   bandwidth  d x d symmetric double matrix: the kernel covariance H
 *   n_threads  single integer >= 1
 * Returns list(ok, log_density): ok = FALSE (and log_density = NULL) when H
 * is not numerically positive definite, so that R can regularise it and
 * warn; otherwise log_density[i] = log( mean_j N(observed_i; predicted_j, H) ).
 * The mean over observed samples is left to R (a serial sum). */
SEXP pg_kde_nll(SEXP predicted, SEXP observed, SEXP bandwidth, SEXP n_threads)
{
    pg_check_double_matrix(predicted, "predicted", 1);
    pg_check_double_matrix(observed, "observed", 1);
    const int m = Rf_nrows(predicted), n = Rf_nrows(observed);
    const int d = Rf_ncols(predicted);
    if (Rf_ncols(observed) != d)
        Rf_error("`observed` must have the same number of columns as "
                 "`predicted` (%d), not %d.", d, Rf_ncols(observed));
    pg_check_double_matrix(bandwidth, "bandwidth", 1);
    if (Rf_nrows(bandwidth) != d || Rf_ncols(bandwidth) != d)
        Rf_error("`bandwidth` must be a %d x %d matrix, not %d x %d.", d, d,
                 Rf_nrows(bandwidth), Rf_ncols(bandwidth));
    const double *H = REAL(bandwidth);
    for (int k = 0; k < d; k++)
        for (int l = 0; l < k; l++)
            if (H[k + (size_t) d * l] != H[l + (size_t) d * k])
                Rf_error("`bandwidth` must be a symmetric matrix.");
    const int nt = pg_threads(n_threads);

    const char *names[] = {"ok", "log_density", ""};
    SEXP ans = PROTECT(Rf_mkNamed(VECSXP, names));

    /* Factorise first: a singular H is reported before any heavy work. */
    double *L = (double *) R_alloc((size_t) d * d, sizeof(double));
    double *diag = (double *) R_alloc(d, sizeof(double));
    for (size_t t = 0; t < (size_t) d * d; t++)
        L[t] = H[t];
    if (kde_cholesky(L, d, diag) != 0) {
        SET_VECTOR_ELT(ans, 0, Rf_ScalarLogical(FALSE));
        UNPROTECT(1);
        return ans;
    }
    double log_norm = log((double) m) + 0.5 * d * log(2.0 * M_PI);
    for (int k = 0; k < d; k++)
        log_norm += log(L[k + (size_t) d * k]);

    /* Centre: column means of the predicted samples. */
    const double *P = REAL(predicted), *X = REAL(observed);
    double *centre = (double *) R_alloc(d, sizeof(double));
    for (int k = 0; k < d; k++) {
        const double *col = P + (size_t) m * k;
        double s = 0.0;
        for (int j = 0; j < m; j++)
            s += col[j];
        centre[k] = s / m;
    }

    /* Whitened copies (the arguments are never modified). */
    double *W = (double *) R_alloc((size_t) m * d, sizeof(double));
    double *Z = (double *) R_alloc((size_t) n * d, sizeof(double));
    double *whalf = (double *) R_alloc(m, sizeof(double));
    double *zhalf = (double *) R_alloc(n, sizeof(double));
    for (size_t t = 0; t < (size_t) m * d; t++)
        W[t] = P[t];
    for (size_t t = 0; t < (size_t) n * d; t++)
        Z[t] = X[t];
    kde_whiten(W, m, d, centre, L, whalf);
    kde_whiten(Z, n, d, centre, L, zhalf);

    int bj_max = m < KDE_TILE / KDE_MIN_BI ? m : KDE_TILE / KDE_MIN_BI;
    int bi_max = KDE_TILE / bj_max < n ? KDE_TILE / bj_max : n;
    double *tile = (double *) R_alloc((size_t) bj_max * bi_max, sizeof(double));
    double *rmax = (double *) R_alloc(bi_max, sizeof(double));
    double *rsum = (double *) R_alloc(bi_max, sizeof(double));

    SEXP out = PROTECT(Rf_allocVector(REALSXP, n));
    double *po = REAL(out);
    for (int i0 = 0; i0 < n; i0 += bi_max) {
        int bi = n - i0 < bi_max ? n - i0 : bi_max;
        for (int c = 0; c < bi; c++) {
            rmax[c] = -INFINITY;
            rsum[c] = 0.0;
        }
        for (int j0 = 0; j0 < m; j0 += bj_max) {
            /* Between tiles, outside any parallel region. */
            R_CheckUserInterrupt();
            int bj = m - j0 < bj_max ? m - j0 : bj_max;
            kde_tile(W, whalf, m, Z, n, d, j0, bj, i0, bi, tile, rmax, rsum,
                     nt);
        }
        /* log mean_j N(x_i; xhat_j, H) = log sum_j exp(a_j) - |z_i|^2 / 2
         * - log_norm */
        for (int c = 0; c < bi; c++)
            po[i0 + c] = rmax[c] + log(rsum[c]) - zhalf[i0 + c] - log_norm;
    }

    SET_VECTOR_ELT(ans, 0, Rf_ScalarLogical(TRUE));
    SET_VECTOR_ELT(ans, 1, out);
    UNPROTECT(2);
    return ans;
}
