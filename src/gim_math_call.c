/* .Call entry points that expose the engine's vectorised math and its random
 * numbers to the tests (test-engine-math.R), which check them against R's
 * functions and distributions. Not used by the package's R code. */
#include "pg_common.h"
#include <math.h>
#include <string.h>
#include <stdint.h>
#include "gim_rng.h"
#include "gim_tanh.h"
#include "gim_engine.h"

double gim_tanhf_double(double a);   /* gim_screen.c */

/* fn: 1 exp, 2 log, 3 tanh, 4 sigmoid, 5 sin(2 pi x), 6 cos(2 pi x), 7 tanh in
 * single precision (the screening pass). */
SEXP pg_gim_math(SEXP x, SEXP fn)
{
    if (!Rf_isReal(x)) Rf_error("`x` must be a double vector.");
    int f = pg_scalar_int(fn, "fn");
    if (f < 1 || f > 7) Rf_error("`fn` must be 1 to 7.");
    R_xlen_t n = XLENGTH(x);
    SEXP out = PROTECT(Rf_allocVector(REALSXP, n));
    const double *a = REAL(x);
    double *o = REAL(out);
    for (R_xlen_t i = 0; i < n; i++) {
        double sn, cs;
        switch (f) {
        case 1: o[i] = gim_exp(a[i]); break;
        case 2: o[i] = gim_log(a[i]); break;
        case 3: o[i] = gim_tanh(a[i]); break;
        case 4: o[i] = gim_sigmoid(a[i]); break;
        case 7: o[i] = gim_tanhf_double(a[i]); break;
        default:
            gim_sincos_turn(a[i], &sn, &cs);
            o[i] = f == 5 ? sn : cs;
        }
    }
    UNPROTECT(1);
    return out;
}

/* n draws of one stream of one step: kind 1 uniform, 2 logistic, 3 normal
 * (n / 2 Box-Muller pairs, first halves then second halves interleaved as
 * drawn: z1, z2 of index 0, z1, z2 of index 1, ...). seed: a double holding
 * an integer in [0, 2^53). */
SEXP pg_gim_noise(SEXP seed, SEXP step, SEXP stream, SEXP n, SEXP kind)
{
    if (!Rf_isReal(seed) || XLENGTH(seed) != 1 || !(REAL(seed)[0] >= 0) ||
        !(REAL(seed)[0] < 9007199254740992.0))
        Rf_error("`seed` must be one double in [0, 2^53).");
    uint64_t key = gim_key((uint64_t) REAL(seed)[0], pg_scalar_int(step, "step"),
                           pg_scalar_int(stream, "stream"));
    int len = pg_scalar_int(n, "n"), k = pg_scalar_int(kind, "kind");
    if (len < 0 || k < 1 || k > 3) Rf_error("`n` must be >= 0 and `kind` 1 to 3.");
    SEXP out = PROTECT(Rf_allocVector(REALSXP, len));
    double *o = REAL(out);
    for (int i = 0; i < len; i++) {
        if (k == 1) o[i] = gim_unif(key, (uint64_t) i);
        else if (k == 2) o[i] = gim_logistic(key, (uint64_t) i);
        else if (i % 2 == 0) {
            double z1, z2;
            gim_normal_pair(key, (uint64_t) (i / 2), &z1, &z2);
            o[i] = z1;
            if (i + 1 < len) o[i + 1] = z2;
        }
    }
    UNPROTECT(1);
    return out;
}

/* gim_project_dag() on one d x d 0/1 graph g with edge weights z (both
 * double matrices), for test-fit-dag.R. Returns the projected graph. */
SEXP pg_gim_project_dag(SEXP g, SEXP z)
{
    if (!Rf_isReal(g) || !Rf_isMatrix(g) || Rf_nrows(g) != Rf_ncols(g))
        Rf_error("`g` must be a square double matrix.");
    if (!Rf_isReal(z) || XLENGTH(z) != XLENGTH(g)) Rf_error("`z` must match `g`.");
    int d = Rf_nrows(g);
    size_t dd = (size_t) d * d;
    SEXP out = PROTECT(Rf_duplicate(g));
    gim_edge *edges = (gim_edge *) R_alloc(dd ? dd : 1, sizeof(gim_edge));
    uint64_t *reach = (uint64_t *) R_alloc(gim_dag_scratch_words(d) + 1, sizeof(uint64_t));
    gim_project_dag(REAL(out), REAL(z), d, edges, reach);
    UNPROTECT(1);
    return out;
}
