/* pg_engine_codes(): the C side of the table in R/engine-codes.R, so that a
 * test can check that both sides number the same names alike. */
#include "pg_common.h"
#include "engine_codes.h"

typedef struct { const char *name; int code; } code_entry;

static const code_entry mechanism[] = {
    {"linear", GIM_LINEAR}, {"mlp", GIM_MLP}, {"zilognormal", GIM_ZILOGNORMAL}, {NULL, 0}
};
static const code_entry intervention[] = {
    {"hard", GIM_HARD}, {"shift", GIM_SHIFT}, {NULL, 0}
};
static const code_entry graph_gradient[] = {
    {"straight_through", GIM_STRAIGHT_THROUGH}, {"relaxed", GIM_RELAXED}, {NULL, 0}
};
static const code_entry beta_I_schedule[] = {
    {"constant", GIM_SCHEDULE_CONSTANT}, {"cosine", GIM_SCHEDULE_COSINE},
    {"decreasing", GIM_SCHEDULE_DECREASING}, {NULL, 0}
};
static const code_entry weight_prior[] = {
    {"all", GIM_PRIOR_ALL}, {"masked", GIM_PRIOR_MASKED}, {NULL, 0}
};

static const code_entry graph_samples[] = {
    {"raw", GIM_SAMPLES_RAW}, {"dag", GIM_SAMPLES_DAG}, {NULL, 0}
};

static const code_entry acyclicity[] = {
    {"penalty", GIM_ACYCLIC_PENALTY}, {"order", GIM_ACYCLIC_ORDER}, {NULL, 0}
};

static const code_entry mc_estimator[] = {
    {"marginal", GIM_MC_MARGINAL}, {"expected", GIM_MC_EXPECTED}, {NULL, 0}
};

static const code_entry target_sparsity[] = {
    {"probability", GIM_TARGETS_PROBABILITY}, {"softplus", GIM_TARGETS_SOFTPLUS},
    {"annealed", GIM_TARGETS_ANNEALED}, {NULL, 0}
};

static SEXP named_codes(const code_entry *e)
{
    int n = 0;
    while (e[n].name) n++;
    SEXP out = PROTECT(Rf_allocVector(INTSXP, n));
    SEXP names = PROTECT(Rf_allocVector(STRSXP, n));
    for (int i = 0; i < n; i++) {
        INTEGER(out)[i] = e[i].code;
        SET_STRING_ELT(names, i, Rf_mkChar(e[i].name));
    }
    Rf_setAttrib(out, R_NamesSymbol, names);
    UNPROTECT(2);
    return out;
}

SEXP pg_engine_codes(void)
{
    const char *names[] = { "mechanism", "intervention", "graph_gradient",
                            "beta_I_schedule", "weight_prior", "graph_samples", "acyclicity",
                            "mc_estimator", "target_sparsity", "" };
    const code_entry *tables[] = { mechanism, intervention, graph_gradient,
                                   beta_I_schedule, weight_prior, graph_samples, acyclicity,
                                   mc_estimator, target_sparsity };
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
    for (int i = 0; names[i][0]; i++) SET_VECTOR_ELT(out, i, named_codes(tables[i]));
    UNPROTECT(1);
    return out;
}
