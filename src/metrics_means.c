/* Metrics on per-variable means: the distance between the predicted and
 * observed means, and the Pearson correlation of their shifts from control. */
#include "pg_common.h"
#include <math.h>

/* Means of the columns of a column-major n x d matrix. */
static void column_means(const double *x, int n, int d, double *out)
{
    for (int j = 0; j < d; j++) {
        const double *col = x + (R_xlen_t) j * n;
        double s = 0.0;
        for (int i = 0; i < n; i++) s += col[i];
        out[j] = s / n;
    }
}

static double mean_distance_kernel(const double *x, int nx, const double *y,
                                   int ny, int d, double *work)
{
    double *mx = work, *my = work + d;
    column_means(x, nx, d, mx);
    column_means(y, ny, d, my);
    double s = 0.0;
    for (int j = 0; j < d; j++) s += (mx[j] - my[j]) * (mx[j] - my[j]);
    return sqrt(s);
}

/* Returns NaN when either shift is constant across variables: the correlation
 * is undefined there and the R wrapper says so. */
static double pearson_delta_kernel(const double *x, int nx, const double *y,
                                   int ny, const double *c, int nc, int d,
                                   double *work)
{
    double *dx = work, *dy = work + d, *mc = work + 2 * d;
    column_means(x, nx, d, dx);
    column_means(y, ny, d, dy);
    column_means(c, nc, d, mc);
    double sx = 0.0, sy = 0.0;
    for (int j = 0; j < d; j++) {
        dx[j] -= mc[j];
        dy[j] -= mc[j];
        sx += dx[j];
        sy += dy[j];
    }
    sx /= d;
    sy /= d;
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (int j = 0; j < d; j++) {
        double a = dx[j] - sx, b = dy[j] - sy;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if (sxx <= 0.0 || syy <= 0.0) return R_NaN;
    double r = sxy / sqrt(sxx * syy);
    /* Rounding can push |r| a hair past 1. */
    return r > 1.0 ? 1.0 : (r < -1.0 ? -1.0 : r);
}

static void check_same_columns(SEXP a, SEXP b, const char *a_arg, const char *b_arg)
{
    if (Rf_ncols(a) != Rf_ncols(b))
        Rf_error("`%s` and `%s` must have the same number of columns.", a_arg, b_arg);
}

SEXP pg_mean_distance(SEXP predicted, SEXP observed)
{
    pg_check_double_matrix(predicted, "predicted", 1);
    pg_check_double_matrix(observed, "observed", 1);
    check_same_columns(predicted, observed, "predicted", "observed");
    int d = Rf_ncols(predicted);
    double *work = (double *) R_alloc(2 * (size_t) d, sizeof(double));
    return Rf_ScalarReal(mean_distance_kernel(REAL(predicted), Rf_nrows(predicted),
                                              REAL(observed), Rf_nrows(observed),
                                              d, work));
}

SEXP pg_pearson_delta(SEXP predicted, SEXP observed, SEXP control)
{
    pg_check_double_matrix(predicted, "predicted", 1);
    pg_check_double_matrix(observed, "observed", 1);
    pg_check_double_matrix(control, "control", 1);
    check_same_columns(predicted, observed, "predicted", "observed");
    check_same_columns(predicted, control, "predicted", "control");
    int d = Rf_ncols(predicted);
    if (d < 2)
        Rf_error("`predicted` must have at least 2 columns for a correlation.");
    double *work = (double *) R_alloc(3 * (size_t) d, sizeof(double));
    return Rf_ScalarReal(pearson_delta_kernel(REAL(predicted), Rf_nrows(predicted),
                                              REAL(observed), Rf_nrows(observed),
                                              REAL(control), Rf_nrows(control),
                                              d, work));
}
