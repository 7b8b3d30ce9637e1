/* Argument checks at the .Call boundary (see pg_common.h). */
#include "pg_common.h"
#include <math.h>

void pg_check_double_matrix(SEXP x, const char *arg, int min_rows)
{
    if (!Rf_isReal(x) || !Rf_isMatrix(x))
        Rf_error("`%s` must be a double matrix.", arg);
    int nr = Rf_nrows(x), nc = Rf_ncols(x);
    if (nc < 1)
        Rf_error("`%s` must have at least one column.", arg);
    if (nr < min_rows)
        Rf_error("`%s` must have at least %d row%s, not %d.", arg, min_rows,
                 min_rows == 1 ? "" : "s", nr);
    pg_check_finite(x, arg);
}

void pg_check_finite(SEXP x, const char *arg)
{
    const double *p = REAL(x);
    R_xlen_t n = XLENGTH(x);
    for (R_xlen_t i = 0; i < n; i++)
        if (!R_FINITE(p[i]))
            Rf_error("`%s` must not contain NA, NaN or infinite values.", arg);
}

void pg_check_graph(SEXP g, const char *arg)
{
    if (!Rf_isInteger(g) || !Rf_isMatrix(g))
        Rf_error("`%s` must be an integer adjacency matrix.", arg);
    int d = Rf_nrows(g);
    if (Rf_ncols(g) != d)
        Rf_error("`%s` must be square, not %d x %d.", arg, d, Rf_ncols(g));
    if (d < 1)
        Rf_error("`%s` must have at least one node.", arg);
    const int *p = INTEGER(g);
    for (R_xlen_t i = 0; i < (R_xlen_t) d * d; i++)
        if (p[i] != 0 && p[i] != 1)
            Rf_error("`%s` must contain only 0 and 1.", arg);
}

double pg_scalar_double(SEXP x, const char *arg)
{
    if (!Rf_isReal(x) || XLENGTH(x) != 1 || !R_FINITE(REAL(x)[0]))
        Rf_error("`%s` must be a single finite double.", arg);
    return REAL(x)[0];
}

int pg_scalar_int(SEXP x, const char *arg)
{
    if (!Rf_isInteger(x) || XLENGTH(x) != 1 || INTEGER(x)[0] == NA_INTEGER)
        Rf_error("`%s` must be a single non-missing integer.", arg);
    return INTEGER(x)[0];
}

int pg_scalar_logical(SEXP x, const char *arg)
{
    if (!Rf_isLogical(x) || XLENGTH(x) != 1 || LOGICAL(x)[0] == NA_LOGICAL)
        Rf_error("`%s` must be TRUE or FALSE.", arg);
    return LOGICAL(x)[0];
}

int pg_threads(SEXP n_threads)
{
    int n = pg_scalar_int(n_threads, "n_threads");
    if (n < 1)
        Rf_error("`n_threads` must be at least 1, not %d.", n);
#ifdef _OPENMP
    int limit = omp_get_thread_limit();
    if (n > limit) n = limit;
    return n;
#else
    return 1;
#endif
}
