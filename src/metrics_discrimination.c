/* Perturbation discrimination (Systema; the Virtual Cell Challenge): for each
 * context i, where the distance between its predicted mean profile and its
 * own observed mean profile ranks among the distances between that
 * prediction and every other context's observed mean profile.
 *
 *   score_i = (#{j != i: D_ij < D_ii} + #{j != i: D_ij == D_ii} / 2) / (T - 1)
 *
 * 0: its own observed cells are the closest; 1: the farthest. D is the L1 or
 * the squared L2 distance (the same ranking as L2) over the genes kept for
 * context i: the genes left out of context i are left out of every distance
 * from its prediction. Means come in as d x T matrices (genes in rows,
 * contexts in columns) so that each context's profile is contiguous. Each
 * score is computed by one thread alone: the result does not depend on the
 * number of threads. */
#include "pg_common.h"
#include <math.h>

static double masked_distance(const double *a, const double *b, const int *keep,
                              int d, int l2)
{
    double s = 0.0;
    for (int g = 0; g < d; g++) {
        if (!keep[g]) continue;
        double t = a[g] - b[g];
        s += l2 ? t * t : fabs(t);
    }
    return s;
}

static void discrimination_kernel(const double *pred, const double *obs,
                                  const int *keep, int d, int t, int l2,
                                  int n_threads, double *out)
{
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(n_threads)
#endif
    for (int i = 0; i < t; i++) {
        const double *p = pred + (size_t) i * d;
        const int *k = keep + (size_t) i * d;
        double own = masked_distance(p, obs + (size_t) i * d, k, d, l2);
        double closer = 0.0;
        for (int j = 0; j < t; j++) {
            if (j == i) continue;
            double dij = masked_distance(p, obs + (size_t) j * d, k, d, l2);
            if (dij < own) closer += 1.0;
            else if (dij == own) closer += 0.5;
        }
        out[i] = closer / (t - 1);
    }
    (void) n_threads;
}

SEXP pg_discrimination(SEXP predicted, SEXP observed, SEXP keep, SEXP l2,
                       SEXP n_threads)
{
    pg_check_double_matrix(predicted, "predicted", 1);
    pg_check_double_matrix(observed, "observed", 1);
    int d = Rf_nrows(predicted), t = Rf_ncols(predicted);
    if (Rf_nrows(observed) != d || Rf_ncols(observed) != t)
        Rf_error("`predicted` and `observed` must have the same dimensions.");
    if (t < 2)
        Rf_error("`predicted` must have at least 2 columns (contexts).");
    if (!Rf_isLogical(keep) || !Rf_isMatrix(keep) || Rf_nrows(keep) != d ||
        Rf_ncols(keep) != t)
        Rf_error("`keep` must be a logical matrix with the dimensions of `predicted`.");
    const int *k = LOGICAL(keep);
    for (R_xlen_t i = 0; i < XLENGTH(keep); i++)
        if (k[i] == NA_LOGICAL)
            Rf_error("`keep` must not contain NA.");
    int use_l2 = pg_scalar_logical(l2, "l2");
    int nt = pg_threads(n_threads);
    SEXP out = PROTECT(Rf_allocVector(REALSXP, t));
    discrimination_kernel(REAL(predicted), REAL(observed), k, d, t, use_l2, nt,
                          REAL(out));
    UNPROTECT(1);
    return out;
}
