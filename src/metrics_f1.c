/* F1 score of a 0/1 estimate against a 0/1 truth: edges of graphs and
 * intervention targets share this kernel. */
#include "pg_common.h"

/* Counts over `n` entries; with `skip_diagonal`, the entries are a d x d
 * column-major matrix and its diagonal (self-loops) is ignored. */
static double f1_kernel(const int *truth, const int *est, R_xlen_t n,
                        int skip_diagonal, int d)
{
    R_xlen_t tp = 0, fp = 0, fn = 0;
    for (R_xlen_t k = 0; k < n; k++) {
        if (skip_diagonal && k / d == k % d) continue;
        int t = truth[k], e = est[k];
        tp += t & e;
        fp += (!t) & e;
        fn += t & (!e);
    }
    /* Both empty: the estimate is exactly right. */
    if (tp + fp + fn == 0) return 1.0;
    return 2.0 * (double) tp / (2.0 * (double) tp + (double) fp + (double) fn);
}

static void check_binary(SEXP x, const char *arg)
{
    if (!Rf_isInteger(x))
        Rf_error("`%s` must be an integer vector or matrix of 0 and 1.", arg);
    const int *p = INTEGER(x);
    for (R_xlen_t k = 0; k < XLENGTH(x); k++)
        if (p[k] != 0 && p[k] != 1)
            Rf_error("`%s` must contain only 0 and 1.", arg);
}

SEXP pg_f1(SEXP truth, SEXP est, SEXP skip_diagonal)
{
    check_binary(truth, "true");
    check_binary(est, "est");
    int skip = pg_scalar_logical(skip_diagonal, "skip_diagonal");
    if (XLENGTH(truth) != XLENGTH(est))
        Rf_error("`true` and `est` must have the same length.");
    int d = 0;
    if (skip) {
        if (!Rf_isMatrix(truth) || Rf_nrows(truth) != Rf_ncols(truth))
            Rf_error("`true` must be a square matrix when `skip_diagonal` is TRUE.");
        d = Rf_nrows(truth);
        if (d < 1) Rf_error("`true` must have at least one node.");
    }
    return Rf_ScalarReal(f1_kernel(INTEGER(truth), INTEGER(est), XLENGTH(truth),
                                   skip, d));
}
