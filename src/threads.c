/* What OpenMP offers this process, so R can report and cap thread counts. */
#include "pg_common.h"

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
