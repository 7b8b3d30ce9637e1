/* Registration only: every .Call entry point with its exact argument count. */
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>
#include <R_ext/Visibility.h>

/* metrics_graph.c */
extern SEXP pg_sid(SEXP, SEXP, SEXP);
/* metrics_f1.c */
extern SEXP pg_f1(SEXP, SEXP, SEXP);
/* metrics_sinkhorn.c */
extern SEXP pg_sinkhorn(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP,
                        SEXP);
/* metrics_kde.c */
extern SEXP pg_kde_nll(SEXP, SEXP, SEXP, SEXP);
/* metrics_means.c */
extern SEXP pg_mean_distance(SEXP, SEXP);
extern SEXP pg_pearson_delta(SEXP, SEXP, SEXP);
/* metrics_energy.c */
extern SEXP pg_energy_distance(SEXP, SEXP, SEXP);
/* metrics_discrimination.c */
extern SEXP pg_discrimination(SEXP, SEXP, SEXP, SEXP, SEXP);
/* threads.c */
extern SEXP pg_openmp_threads(void);
extern SEXP pg_blas_threads(SEXP);
/* scm_sample.c */
extern SEXP pg_scm_sample(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
/* engine_codes.c */
extern SEXP pg_engine_codes(void);
/* gim_call.c */
extern SEXP pg_gim_objective(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
extern SEXP pg_gim_point_loglik(SEXP, SEXP, SEXP);
extern SEXP pg_gim_polish(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
extern SEXP pg_gim_layout(SEXP);
extern SEXP pg_gim_train(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
extern SEXP pg_gim_math(SEXP, SEXP);
extern SEXP pg_gim_project_dag(SEXP, SEXP);
extern SEXP pg_gim_noise(SEXP, SEXP, SEXP, SEXP, SEXP);

static const R_CallMethodDef call_methods[] = {
    {"pg_sid",             (DL_FUNC) &pg_sid,             3},
    {"pg_f1",              (DL_FUNC) &pg_f1,              3},
    {"pg_sinkhorn",        (DL_FUNC) &pg_sinkhorn,       10},
    {"pg_kde_nll",         (DL_FUNC) &pg_kde_nll,         4},
    {"pg_mean_distance",   (DL_FUNC) &pg_mean_distance,   2},
    {"pg_pearson_delta",   (DL_FUNC) &pg_pearson_delta,   3},
    {"pg_energy_distance", (DL_FUNC) &pg_energy_distance, 3},
    {"pg_discrimination",  (DL_FUNC) &pg_discrimination,  5},
    {"pg_openmp_threads",  (DL_FUNC) &pg_openmp_threads,  0},
    {"pg_blas_threads",    (DL_FUNC) &pg_blas_threads,    1},
    {"pg_scm_sample",      (DL_FUNC) &pg_scm_sample,      7},
    {"pg_engine_codes",    (DL_FUNC) &pg_engine_codes,    0},
    {"pg_gim_objective",   (DL_FUNC) &pg_gim_objective,   7},
    {"pg_gim_point_loglik",(DL_FUNC) &pg_gim_point_loglik, 3},
    {"pg_gim_polish",      (DL_FUNC) &pg_gim_polish, 6},
    {"pg_gim_layout",      (DL_FUNC) &pg_gim_layout,      1},
    {"pg_gim_train",       (DL_FUNC) &pg_gim_train,       7},
    {"pg_gim_math",        (DL_FUNC) &pg_gim_math,        2},
    {"pg_gim_project_dag", (DL_FUNC) &pg_gim_project_dag, 2},
    {"pg_gim_noise",       (DL_FUNC) &pg_gim_noise,       5},
    {NULL, NULL, 0}
};

void attribute_visible R_init_perturbgim(DllInfo *dll)
{
    R_registerRoutines(dll, NULL, call_methods, NULL, NULL);
    R_useDynamicSymbols(dll, FALSE);
    R_forceSymbols(dll, TRUE);
}
