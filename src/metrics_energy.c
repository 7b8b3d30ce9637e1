/* Energy distance between two samples (V-statistics, Euclidean):
 *   2 E|X - Y| - E|X - X'| - E|Y - Y'|.
 * Distances are computed directly rather than from the BLAS expansion
 * |a|^2 + |b|^2 - 2ab, whose cancellation would cost digits for close
 * points; the O(n m d) loop is vectorisable and shared over threads by rows. */
#include "pg_common.h"
#include <math.h>

/* Row-major copy so that one sample's coordinates are contiguous. */
static double *to_row_major(const double *x, int n, int d)
{
    double *out = (double *) R_alloc((size_t) n * d, sizeof(double));
    for (int j = 0; j < d; j++)
        for (int i = 0; i < n; i++)
            out[(size_t) i * d + j] = x[(size_t) j * n + i];
    return out;
}

static inline double euclidean(const double *a, const double *b, int d)
{
    double s = 0.0;
    for (int k = 0; k < d; k++) {
        double t = a[k] - b[k];
        s += t * t;
    }
    return sqrt(s);
}

/* Sum over all ordered pairs (a_i, b_j). With `same` (a == b), only j > i is
 * visited and doubled: the diagonal is zero. Each row's sum goes to
 * row_sums[i] and the rows are added serially, so the result does not depend
 * on the number of threads. */
static double pair_sum(const double *a, int na, const double *b, int nb, int d,
                       int same, double *row_sums, int n_threads)
{
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 16) num_threads(n_threads)
#endif
    for (int i = 0; i < na; i++) {
        const double *ai = a + (size_t) i * d;
        double s = 0.0;
        for (int j = same ? i + 1 : 0; j < nb; j++)
            s += euclidean(ai, b + (size_t) j * d, d);
        row_sums[i] = same ? 2.0 * s : s;
    }
    (void) n_threads;
    double total = 0.0;
    for (int i = 0; i < na; i++) total += row_sums[i];
    return total;
}

static double energy_kernel(const double *x, int nx, const double *y, int ny,
                            int d, int n_threads)
{
    double *xr = to_row_major(x, nx, d), *yr = to_row_major(y, ny, d);
    int nmax = nx > ny ? nx : ny;
    double *row_sums = (double *) R_alloc((size_t) nmax, sizeof(double));
    double xy = pair_sum(xr, nx, yr, ny, d, 0, row_sums, n_threads);
    double xx = pair_sum(xr, nx, xr, nx, d, 1, row_sums, n_threads);
    double yy = pair_sum(yr, ny, yr, ny, d, 1, row_sums, n_threads);
    return 2.0 * xy / ((double) nx * ny) - xx / ((double) nx * nx) -
           yy / ((double) ny * ny);
}

SEXP pg_energy_distance(SEXP predicted, SEXP observed, SEXP n_threads)
{
    pg_check_double_matrix(predicted, "predicted", 1);
    pg_check_double_matrix(observed, "observed", 1);
    if (Rf_ncols(predicted) != Rf_ncols(observed))
        Rf_error("`predicted` and `observed` must have the same number of columns.");
    int nt = pg_threads(n_threads);
    double e = energy_kernel(REAL(predicted), Rf_nrows(predicted), REAL(observed),
                             Rf_nrows(observed), Rf_ncols(predicted), nt);
    /* V-statistics make e >= 0 in exact arithmetic; clip rounding noise. */
    return Rf_ScalarReal(e < 0.0 ? 0.0 : e);
}
