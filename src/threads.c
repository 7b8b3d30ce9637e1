/* Thread counts: what OpenMP offers this process, so R can report and cap
 * them, and OpenBLAS's own threads, which the training engine switches off. */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE                 /* RTLD_DEFAULT */
#endif
#include "pg_common.h"
#ifndef _WIN32
#include <dlfcn.h>
#endif

SEXP pg_openmp_threads(void)
{
#ifdef _OPENMP
    int n = omp_get_num_procs();
    int limit = omp_get_thread_limit();
    return Rf_ScalarInteger(n < limit ? n : limit);
#else
    return Rf_ScalarInteger(1);
#endif
}

/* OpenBLAS's thread count: returns the current one (NA when R's BLAS is not
 * OpenBLAS) and sets it to `n` unless `n` is NA.
 *
 * Why: the engine's BLAS calls (the perturbation nets) are small, but
 * OpenBLAS still hands them to its worker threads, which then busy-wait for
 * the next call. During training that kept a second core fully busy for no
 * speed-up, and at 2 engine threads the spinning workers competed with
 * OpenMP's. The symbols are looked up at run time, so any BLAS works. */
SEXP pg_blas_threads(SEXP n)
{
    if (!Rf_isInteger(n) || XLENGTH(n) != 1)
        Rf_error("`n` must be a single integer (NA: only report).");
    int want = INTEGER(n)[0];
    if (want != NA_INTEGER && want < 1)
        Rf_error("`n` must be at least 1, not %d.", want);
#ifndef _WIN32
    typedef int (*get_fn)(void);
    typedef void (*set_fn)(int);
    get_fn get = (get_fn) dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
    set_fn set = (set_fn) dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (get && set) {
        int now = get();
        if (want != NA_INTEGER) set(want);
        return Rf_ScalarInteger(now);
    }
#endif
    return Rf_ScalarInteger(NA_INTEGER);
}
