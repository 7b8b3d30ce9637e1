/* .Call boundary of the training engine: checks every argument, converts R
 * objects into the plain structs of gim_engine.h, and runs Adam over a chunk
 * of steps. R (R/fit.R) drives the chunks, which gives the progress bar,
 * the augmented-Lagrangian updates and clean interrupts between chunks. */
#include "pg_common.h"
#include <math.h>
#include <string.h>
#include <stdint.h>
#include "gim_engine.h"
#include "gim_screen.h"

static void *r_scratch(size_t bytes)
{
    return R_alloc(bytes > 0 ? bytes : 1, 1);
}

/* Scratch memory reused across the steps of a chunk. Every step asks for the
 * same sequence of buffer sizes (they depend on the problem's dimensions,
 * not on the data), so the k-th request of a step gets the k-th buffer of
 * the first step: no allocation, page faults or page zeroing per step
 * (about a tenth of a step's time otherwise). Buffers are R_alloc'ed, so R
 * frees them when the .Call returns or is interrupted. One arena at a time:
 * .Call runs on R's main thread and the engine allocates outside its
 * parallel regions. */
typedef struct {
    void **buf;
    size_t *size;
    int n, cap, next;
} step_arena;

static step_arena *arena_now = NULL;

static void *arena_alloc(size_t bytes)
{
    step_arena *a = arena_now;
    if (bytes == 0) bytes = 1;
    if (a->next < a->n && a->size[a->next] >= bytes) return a->buf[a->next++];
    if (a->next >= a->cap) {
        int cap = a->cap ? 2 * a->cap : 64;
        void **buf = (void **) R_alloc((size_t) cap, sizeof(void *));
        size_t *size = (size_t *) R_alloc((size_t) cap, sizeof(size_t));
        if (a->n) {
            memcpy(buf, a->buf, sizeof(void *) * (size_t) a->n);
            memcpy(size, a->size, sizeof(size_t) * (size_t) a->n);
        }
        a->buf = buf; a->size = size; a->cap = cap;
    }
    void *p = R_alloc(bytes, 1);
    /* A request that no longer fits replaces its slot; later slots stay. */
    if (a->next >= a->n) a->n = a->next + 1;
    a->buf[a->next] = p;
    a->size[a->next] = bytes;
    a->next++;
    return p;
}

static SEXP list_elt(SEXP list, const char *name, const char *arg)
{
    SEXP names = Rf_getAttrib(list, R_NamesSymbol);
    if (!Rf_isNull(names))
        for (R_xlen_t e = 0; e < XLENGTH(list); e++)
            if (strcmp(CHAR(STRING_ELT(names, e)), name) == 0) return VECTOR_ELT(list, e);
    Rf_error("`%s` has no element `%s`.", arg, name);
    return R_NilValue;
}

static double setting_num(SEXP list, const char *name)
{
    SEXP v = list_elt(list, name, "settings");
    if (!Rf_isReal(v) || XLENGTH(v) != 1 || !R_finite(REAL(v)[0]))
        Rf_error("`settings$%s` must be one finite double.", name);
    return REAL(v)[0];
}

static int setting_int(SEXP list, const char *name, int lo, int hi)
{
    double v = setting_num(list, name);
    if (v != floor(v) || v < lo || v > hi)
        Rf_error("`settings$%s` must be a whole number in [%d, %d].", name, lo, hi);
    return (int) v;
}

static void read_settings(SEXP settings, gim_settings *s)
{
    if (TYPEOF(settings) != VECSXP) Rf_error("`settings` must be a list.");
    memset(s, 0, sizeof *s);
    s->mechanism = setting_int(settings, "mechanism", GIM_LINEAR, GIM_MECHANISM_LAST);
    s->intervention = setting_int(settings, "intervention", GIM_HARD, GIM_INTERVENTION_LAST);
    s->graph_gradient = setting_int(settings, "graph_gradient", GIM_STRAIGHT_THROUGH,
                                     GIM_GRAPH_GRADIENT_LAST);
    s->d = setting_int(settings, "d", 1, 100000);
    s->k = setting_int(settings, "k", 1, 100000);
    s->H = setting_int(settings, "H", 1, 64);
    s->M = setting_int(settings, "n_mc", 1, 1000000);
    s->tau = setting_num(settings, "tau");
    s->psi_sd = setting_num(settings, "psi_sd");
    s->alpha = setting_num(settings, "alpha");
    s->beta_M = setting_num(settings, "beta_M");
    s->beta_I = setting_num(settings, "beta_I");
    s->lambda = setting_num(settings, "lambda");
    s->mu = setting_num(settings, "mu");
    s->var_z = setting_num(settings, "var_z");
    s->var_theta = setting_num(settings, "var_theta");
    s->var_sigma = setting_num(settings, "var_sigma");
    s->var_phi = setting_num(settings, "var_phi");
    s->var_order = setting_num(settings, "var_order");
    s->weight_prior = setting_int(settings, "weight_prior", GIM_PRIOR_ALL, GIM_PRIOR_LAST);
    s->graph_samples = setting_int(settings, "graph_samples", GIM_SAMPLES_RAW, GIM_SAMPLES_LAST);
    s->acyclicity = setting_int(settings, "acyclicity", GIM_ACYCLIC_PENALTY, GIM_ACYCLIC_LAST);
    s->mc_estimator = setting_int(settings, "mc_estimator", GIM_MC_MARGINAL, GIM_MC_LAST);
    s->target_sparsity = setting_int(settings, "target_sparsity", GIM_TARGETS_PROBABILITY,
                                     GIM_TARGETS_LAST);
    s->target_mix = s->target_sparsity == GIM_TARGETS_PROBABILITY ? 1.0 :
        s->target_sparsity == GIM_TARGETS_SOFTPLUS ? 0.0 : setting_num(settings, "target_mix");
    if (!(s->target_mix >= 0.0 && s->target_mix <= 1.0))
        Rf_error("`settings$target_mix` must be in [0, 1].");
    s->power_iter = setting_int(settings, "power_iterations", 1, 100000);
    s->screen = setting_int(settings, "screen", 0, 1);
    s->n_threads = pg_threads(list_elt(settings, "n_threads", "settings"));
    if (s->tau <= 0 || s->psi_sd < 0 || s->alpha <= 0 || s->var_z <= 0 ||
        s->var_theta <= 0 || s->var_sigma <= 0 || s->var_phi <= 0 || s->var_order <= 0 ||
        s->mu < 0)
        Rf_error("`settings` has a scale that must be positive.");
    SEXP sizes = list_elt(settings, "sizes", "settings");
    if (!Rf_isInteger(sizes) || XLENGTH(sizes) < 2 || XLENGTH(sizes) > GIM_MAX_LAYERS + 1)
        Rf_error("`settings$sizes` must be an integer vector of 2 to %d layer widths.",
                 GIM_MAX_LAYERS + 1);
    s->n_layers = (int) XLENGTH(sizes) - 1;
    for (int l = 0; l <= s->n_layers; l++) {
        s->sizes[l] = INTEGER(sizes)[l];
        if (s->sizes[l] == NA_INTEGER || s->sizes[l] < 1)
            Rf_error("`settings$sizes` must hold positive widths.");
    }
    if (s->sizes[s->n_layers] != s->d) Rf_error("`settings$sizes` must end with d.");
    s->p = s->sizes[0];
    s->n_psi = s->intervention == GIM_SHIFT ? 1 : (s->mechanism == GIM_ZILOGNORMAL ? 3 : 2);
    s->alloc = r_scratch;
}

/* data = list(x = n x d matrix, start = K + 1 integers, n_perturbed, features,
 * optional weight). */
static void read_data(SEXP data, const gim_settings *s, gim_data *D)
{
    if (TYPEOF(data) != VECSXP) Rf_error("`data` must be a list.");
    SEXP x = list_elt(data, "x", "data"), start = list_elt(data, "start", "data");
    SEXP feat = list_elt(data, "features", "data");
    pg_check_double_matrix(x, "data$x", 0);
    pg_check_finite(x, "data$x");
    int n = Rf_nrows(x), d = Rf_ncols(x);
    if (d != s->d) Rf_error("`data$x` must have %d columns, not %d.", s->d, d);
    if (!Rf_isInteger(start) || XLENGTH(start) < 2)
        Rf_error("`data$start` must be an integer vector of at least 2 block starts.");
    int K = (int) XLENGTH(start) - 1;
    const int *st = INTEGER(start);
    if (st[0] != 0 || st[K] != n)
        Rf_error("`data$start` must run from 0 to the number of cells.");
    for (int k = 0; k < K; k++)
        if (st[k + 1] == NA_INTEGER || st[k + 1] < st[k])
            Rf_error("`data$start` must be non-decreasing.");
    int Kp = (int) setting_num(data, "n_perturbed");
    if (Kp < 0 || Kp > K) Rf_error("`data$n_perturbed` must be in [0, %d].", K);
    pg_check_double_matrix(feat, "data$features", 0);
    pg_check_finite(feat, "data$features");
    if (Rf_nrows(feat) != Kp || Rf_ncols(feat) != s->p)
        Rf_error("`data$features` must be %d x %d.", Kp, s->p);
    const double *xc = REAL(x);
    if (s->mechanism == GIM_ZILOGNORMAL)
        for (R_xlen_t e = 0; e < XLENGTH(x); e++)
            if (xc[e] < 0) Rf_error("`data$x` must be non-negative for zilognormal mechanisms.");
    D->n = n; D->d = d; D->K = K; D->Kp = Kp;
    D->xc = xc; D->start = st; D->feat = REAL(feat);
    /* Optional cell weight (minibatches); absent means 1. */
    SEXP names = Rf_getAttrib(data, R_NamesSymbol);
    D->weight = 1.0;
    for (R_xlen_t i = 0; i < XLENGTH(data); i++)
        if (strcmp(CHAR(STRING_ELT(names, i)), "weight") == 0) {
            D->weight = pg_scalar_double(VECTOR_ELT(data, i), "data$weight");
            if (!(D->weight > 0) || !isfinite(D->weight))
                Rf_error("`data$weight` must be a positive number.");
        }
    size_t Kd = (size_t) K * d;
    D->cnt = (double *) R_alloc(Kd, sizeof(double));
    D->n0 = (double *) R_alloc(Kd, sizeof(double));
    D->s1 = (double *) R_alloc(Kd, sizeof(double));
    D->s2 = (double *) R_alloc(Kd, sizeof(double));
    gim_data_stats(s, D);
    D->xf = NULL;
    D->xmax = NULL;
    if (s->screen && s->mechanism != GIM_LINEAR) gim_screen_data_make(D, r_scratch);
}

/* Below about a million cell-gene-sample terms per step, thread start-up
 * and spinning cost more than they save (seconds instead of milliseconds
 * on a loaded machine), so small problems run on one thread. Results are
 * the same either way. */
static void small_problem_threads(gim_settings *s, const gim_data *D)
{
    if ((double) D->n * s->d * s->M < 1e6) s->n_threads = 1;
}

static const double *read_par(SEXP par, const gim_layout *L, const char *arg)
{
    if (!Rf_isReal(par) || (size_t) XLENGTH(par) != L->total)
        Rf_error("`%s` must be a double vector of length %lu.", arg,
                 (unsigned long) L->total);
    pg_check_finite(par, arg);
    return REAL(par);
}

/* Seeds arrive as doubles holding 32-bit integers (R has no 64-bit ints). */
static uint64_t read_seed(SEXP seed)
{
    double v = pg_scalar_double(seed, "seed");
    if (v < 0 || v > 4294967295.0 || v != floor(v))
        Rf_error("`seed` must be a whole number in [0, 2^32).");
    return (uint64_t) v;
}

static const char *status_term(int status)
{
    switch (status) {
    case GIM_BAD_LOGLIK: return "log-likelihood";
    case GIM_BAD_ACYCLICITY: return "acyclicity penalty";
    case GIM_BAD_GRADIENT: return "gradient";
    case GIM_BAD_NETS: return "perturbation nets";
    default: return "";
    }
}

SEXP pg_gim_objective(SEXP data, SEXP par, SEXP settings, SEXP seed, SEXP step,
                      SEXP graph_override, SEXP want_graphs)
{
    gim_settings s; gim_layout L; gim_data D;
    read_settings(settings, &s);
    gim_layout_make(&s, &L);
    read_data(data, &s, &D);
    const double *p = read_par(par, &L, "par");
    uint64_t sd = read_seed(seed);
    int st = pg_scalar_int(step, "step");
    size_t Mdd = (size_t) s.M * s.d * s.d;
    gim_debug dbg = { NULL, NULL, NULL };
    if (!Rf_isNull(graph_override)) {
        if (!Rf_isReal(graph_override) || (size_t) XLENGTH(graph_override) != Mdd)
            Rf_error("`graph_override` must be NULL or a double array of n_mc x d x d.");
        pg_check_finite(graph_override, "graph_override");
        dbg.graph_override = REAL(graph_override);
    }
    const char *names[] = { "objective", "loglik", "loglik_relaxed", "acyclicity",
                            "log_prior", "sparsity_graph", "sparsity_targets", "ess",
                            "screened", "status", "gradient", "dgraph", "graph_relaxed", "" };
    /* The graph samples and their gradient (n_mc x d x d each) only when
     * asked: the held-out check needs neither, and at thousands of genes
     * they are gigabytes. */
    int graphs = pg_scalar_logical(want_graphs, "want_graphs");
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
    SEXP grad = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t) L.total));
    SEXP dg = PROTECT(graphs ? Rf_allocVector(REALSXP, (R_xlen_t) Mdd) : R_NilValue);
    SEXP gr = PROTECT(graphs ? Rf_allocVector(REALSXP, (R_xlen_t) Mdd) : R_NilValue);
    if (graphs) {
        dbg.dgraph = REAL(dg); dbg.graph_relaxed = REAL(gr);
        memset(REAL(dg), 0, sizeof(double) * Mdd);
        memset(REAL(gr), 0, sizeof(double) * Mdd);
    }
    gim_report rep;
    gim_objective(&s, &L, &D, p, sd, st, REAL(grad), &rep, &dbg);
    double vals[] = { rep.objective, rep.loglik, rep.loglik_relaxed, rep.acyclicity,
                      rep.log_prior, rep.sparsity_graph, rep.sparsity_targets, rep.ess,
                      rep.screened };
    for (int e = 0; e < 9; e++) SET_VECTOR_ELT(out, e, Rf_ScalarReal(vals[e]));
    SET_VECTOR_ELT(out, 9, Rf_mkString(status_term(rep.status)));
    SET_VECTOR_ELT(out, 10, grad);
    SET_VECTOR_ELT(out, 11, dg);
    SET_VECTOR_ELT(out, 12, gr);
    UNPROTECT(4);
    return out;
}

SEXP pg_gim_point_loglik(SEXP data, SEXP par, SEXP settings)
{
    gim_settings s; gim_layout L; gim_data D;
    read_settings(settings, &s);
    gim_layout_make(&s, &L);
    read_data(data, &s, &D);
    const double *p = read_par(par, &L, "par");
    return Rf_ScalarReal(gim_point_loglik(&s, &L, &D, p));
}

/* The parameter layout of gim_layout_make() as R data, for checking it
 * against R's engine_blocks() field by field: list(offsets = named 0-based
 * offsets of the graph and mechanism blocks in use, net_w and net_b = (nets
 * x layers) offsets of the perturbation nets' weights and biases, theta,
 * phi, total). */
SEXP pg_gim_layout(SEXP settings)
{
    gim_settings s; gim_layout L;
    read_settings(settings, &s);
    gim_layout_make(&s, &L);
    int mlp = s.mechanism != GIM_LINEAR, zi = s.mechanism == GIM_ZILOGNORMAL;
    int ord = s.acyclicity == GIM_ACYCLIC_ORDER;
    const char *fields[] = { "u", "v", "order", mlp ? "w1" : "w", mlp ? "b1" : "b", "w2",
                             "b2", "log_sd", "zero_logit" };
    size_t where[] = { L.u, L.v, L.order, mlp ? L.w1 : L.w, mlp ? L.b1 : L.b, L.w2, L.b2,
                       L.log_sd, L.zero_logit };
    int use[] = { 1, 1, ord, 1, 1, mlp, mlp, 1, zi };
    int n = 0;
    for (int f = 0; f < 9; f++) n += use[f];
    const char *names[] = { "offsets", "net_w", "net_b", "theta", "phi", "total", "" };
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
    SEXP off = PROTECT(Rf_allocVector(REALSXP, n));
    SEXP off_names = PROTECT(Rf_allocVector(STRSXP, n));
    for (int f = 0, i = 0; f < 9; f++) {
        if (!use[f]) continue;
        REAL(off)[i] = (double) where[f];
        SET_STRING_ELT(off_names, i++, Rf_mkChar(fields[f]));
    }
    Rf_setAttrib(off, R_NamesSymbol, off_names);
    SET_VECTOR_ELT(out, 0, off);
    int n_nets = s.n_psi + 1;
    SEXP nw = PROTECT(Rf_allocMatrix(REALSXP, n_nets, s.n_layers));
    SEXP nb = PROTECT(Rf_allocMatrix(REALSXP, n_nets, s.n_layers));
    for (int q = 0; q < n_nets; q++)
        for (int l = 0; l < s.n_layers; l++) {
            REAL(nw)[q + (size_t) n_nets * l] = (double) L.net_w[q][l];
            REAL(nb)[q + (size_t) n_nets * l] = (double) L.net_b[q][l];
        }
    SET_VECTOR_ELT(out, 1, nw);
    SET_VECTOR_ELT(out, 2, nb);
    SET_VECTOR_ELT(out, 3, Rf_ScalarReal((double) L.theta));
    SET_VECTOR_ELT(out, 4, Rf_ScalarReal((double) L.phi));
    SET_VECTOR_ELT(out, 5, Rf_ScalarReal((double) L.total));
    UNPROTECT(5);
    return out;
}

/* Schedules of SPEC section 2: a ramp from `start` to `end` over the `total`
 * steps, linear or cosine, as a function of the global step. */
enum { RAMP_LINEAR, RAMP_COSINE };

static double ramp_value(double start, double end, int shape, double step, double total)
{
    double f = total > 0 ? step / total : 1.0;
    if (f > 1.0) f = 1.0;
    if (shape == RAMP_COSINE) f = 0.5 * (1.0 - cos(M_PI * f));
    return start + (end - start) * f;
}

/* The optimiser's settings, read once per chunk before the step loop (the
 * model's are in gim_settings): Adam's step size and moment decays, and the
 * schedules of alpha, beta_I and the annealed target sparsity over the
 * annealing. */
typedef struct {
    double learning_rate;
    double b1, b2, eps;           /* Adam's moment decays and denominator guard */
    double total;                 /* steps of the whole fit: the schedules' length */
    double alpha_start, alpha;    /* alpha ramps linearly from alpha_start to alpha */
    double beta_I;                /* beta_I: constant, or a cosine ramp from 0 */
    int beta_I_schedule;          /* GIM_SCHEDULE_* */
    double beta_I_start;          /* where the cosine schedules start */
    double order_warmup;          /* steps during which the potentials stay put */
} gim_optimiser;

static void read_optimiser(SEXP settings, const gim_settings *s, gim_optimiser *o)
{
    o->learning_rate = setting_num(settings, "learning_rate");
    o->total = setting_num(settings, "steps");
    o->alpha_start = setting_num(settings, "alpha_start");
    o->beta_I_schedule = setting_int(settings, "beta_I_schedule", GIM_SCHEDULE_CONSTANT,
                                     GIM_SCHEDULE_LAST);
    o->beta_I_start = setting_num(settings, "beta_I_start");
    o->order_warmup = setting_num(settings, "order_warmup");
    if (!(o->learning_rate > 0)) Rf_error("`settings$learning_rate` must be positive.");
    o->alpha = s->alpha;
    o->beta_I = s->beta_I;
    o->b1 = 0.9; o->b2 = 0.999; o->eps = 1e-8;
}

/* The schedules' values at the global step t, into the model's settings. */
static void schedules_at(const gim_optimiser *o, int t, gim_settings *s)
{
    s->beta_I = o->beta_I_schedule == GIM_SCHEDULE_CONSTANT ? o->beta_I :
        ramp_value(o->beta_I_start, o->beta_I, RAMP_COSINE, t, o->total);
    s->alpha = ramp_value(o->alpha_start, o->alpha, RAMP_LINEAR, t, o->total);
    if (s->target_sparsity == GIM_TARGETS_ANNEALED)
        s->target_mix = ramp_value(0.0, 1.0, RAMP_LINEAR, t, o->total);
}

/* Adam step t (0-based) on the n parameters p with moments m, v; `grad` is
 * the ascent direction of J, and Adam minimises -J. */
static void adam_step(const gim_optimiser *o, int t, const double *grad, size_t n,
                      double *p, double *m, double *v)
{
    const double b1 = o->b1, b2 = o->b2, eps = o->eps, lr = o->learning_rate;
    double c1 = 1.0 - pow(b1, t + 1), c2 = 1.0 - pow(b2, t + 1);
    for (size_t e = 0; e < n; e++) {
        double g = -grad[e];
        m[e] = b1 * m[e] + (1.0 - b1) * g;
        v[e] = b2 * v[e] + (1.0 - b2) * g * g;
        p[e] -= lr * (m[e] / c1) / (sqrt(v[e] / c2) + eps);
    }
}

/* The columns of the training trace, one row per step; R (train_chunks() in
 * R/fit.R) reads them by these names. */
static const char *trace_columns[] = { "objective", "loglik", "acyclicity", "ess",
                                       "beta_I", "alpha", "configs" };
#define TRACE_COLUMNS ((int) (sizeof trace_columns / sizeof trace_columns[0]))

static void trace_row(double *tr, size_t n_rows, int row, const gim_report *rep,
                      const gim_settings *s)
{
    double val[TRACE_COLUMNS] = { rep->objective, rep->loglik, rep->acyclicity, rep->ess,
                                  s->beta_I, s->alpha, rep->configs };
    for (int c = 0; c < TRACE_COLUMNS; c++) tr[row + n_rows * c] = val[c];
}

/* An n_rows x TRACE_COLUMNS matrix with the trace's column names. */
static SEXP trace_matrix(int n_rows)
{
    SEXP tr = PROTECT(Rf_allocMatrix(REALSXP, n_rows, TRACE_COLUMNS));
    SEXP cols = PROTECT(Rf_allocVector(STRSXP, TRACE_COLUMNS));
    for (int c = 0; c < TRACE_COLUMNS; c++) SET_STRING_ELT(cols, c, Rf_mkChar(trace_columns[c]));
    SEXP dn = PROTECT(Rf_allocVector(VECSXP, 2));
    SET_VECTOR_ELT(dn, 1, cols);
    Rf_setAttrib(tr, R_DimNamesSymbol, dn);
    UNPROTECT(3);
    return tr;
}

/* The inputs of a run of Adam steps (pg_gim_train, pg_gim_polish), read
 * and checked: the model, the data, the parameters, the moments
 * adam = list(m, v), the first step and the number of steps. */
typedef struct {
    gim_settings s;
    gim_layout L;
    gim_data D;
    gim_optimiser opt;
    const double *m0, *v0;
    int t0, nst;
} adam_run;

static void read_adam_run(SEXP data, SEXP par, SEXP adam, SEXP settings, SEXP step0,
                          SEXP n_steps, adam_run *r)
{
    read_settings(settings, &r->s);
    gim_layout_make(&r->s, &r->L);
    read_data(data, &r->s, &r->D);
    small_problem_threads(&r->s, &r->D);
    read_par(par, &r->L, "par");
    if (TYPEOF(adam) != VECSXP) Rf_error("`adam` must be a list.");
    r->m0 = read_par(list_elt(adam, "m", "adam"), &r->L, "adam$m");
    r->v0 = read_par(list_elt(adam, "v", "adam"), &r->L, "adam$v");
    r->t0 = pg_scalar_int(step0, "step0");
    r->nst = pg_scalar_int(n_steps, "n_steps");
    if (r->t0 < 0 || r->nst < 0) Rf_error("`step0` and `n_steps` must be >= 0.");
    read_optimiser(settings, &r->s, &r->opt);
}

/* Runs n_steps Adam steps from the global step `step0`. adam = list(m, v).
 * Returns list(par, m, v, trace (n_done x trace_columns), status, step). */
SEXP pg_gim_train(SEXP data, SEXP par, SEXP adam, SEXP settings, SEXP seed, SEXP step0,
                  SEXP n_steps)
{
    adam_run r;
    read_adam_run(data, par, adam, settings, step0, n_steps, &r);
    gim_settings s = r.s;
    gim_layout L = r.L;
    gim_data D = r.D;
    uint64_t sd = read_seed(seed);

    const char *names[] = { "par", "m", "v", "trace", "status", "step", "" };
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
    SEXP P = PROTECT(Rf_duplicate(par)), Mv = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t) L.total));
    SEXP Vv = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t) L.total));
    SEXP trace = PROTECT(trace_matrix(r.nst));
    double *p = REAL(P), *m = REAL(Mv), *v = REAL(Vv), *tr = REAL(trace);
    memcpy(m, r.m0, sizeof(double) * L.total);
    memcpy(v, r.v0, sizeof(double) * L.total);
    double *grad = (double *) R_alloc(L.total, sizeof(double));
    step_arena arena = { NULL, NULL, 0, 0, 0 };
    arena_now = &arena;
    s.alloc = arena_alloc;
    int status = 0, done = 0;
    for (int it = 0; it < r.nst; it++) {
        int t = r.t0 + it;
        schedules_at(&r.opt, t, &s);
        gim_report rep;
        arena.next = 0;
        gim_objective(&s, &L, &D, p, sd, t, grad, &rep, NULL);
        if (rep.status) { status = rep.status; break; }
        if (s.acyclicity == GIM_ACYCLIC_ORDER && t < r.opt.order_warmup)
            memset(grad + L.order, 0, sizeof(double) * (size_t) s.d);
        adam_step(&r.opt, t, grad, L.total, p, m, v);
        trace_row(tr, (size_t) r.nst, it, &rep, &s);
        done++;
        R_CheckUserInterrupt();
    }
    if (done < r.nst) {                                    /* keep the rows that ran */
        SEXP tr2 = PROTECT(trace_matrix(done));
        for (int c = 0; c < TRACE_COLUMNS; c++)
            memcpy(REAL(tr2) + (size_t) done * c, tr + (size_t) r.nst * c, sizeof(double) * done);
        trace = tr2;
    } else {
        PROTECT(trace);
    }
    SET_VECTOR_ELT(out, 0, P);
    SET_VECTOR_ELT(out, 1, Mv);
    SET_VECTOR_ELT(out, 2, Vv);
    SET_VECTOR_ELT(out, 3, trace);
    SET_VECTOR_ELT(out, 4, Rf_mkString(status_term(status)));
    SET_VECTOR_ELT(out, 5, Rf_ScalarInteger(r.t0 + done));
    arena_now = NULL;
    UNPROTECT(6);
    return out;
}

/* Polishing (gim_control(polish_steps)): n_steps Adam steps from polishing
 * step step0 (moments adam = list(m, v)), with the training learning rate,
 * on the mechanism block alone, ascending gim_point_objective() at the
 * point-estimate graph of `par`; the graph latents and the nets stay as they
 * are. No randomness. Returns list(par, m, v, objective (one value per step,
 * before it), gradient (at the first step), status). */
SEXP pg_gim_polish(SEXP data, SEXP par, SEXP adam, SEXP settings, SEXP step0, SEXP n_steps)
{
    adam_run r;
    read_adam_run(data, par, adam, settings, step0, n_steps, &r);
    gim_settings s = r.s;
    gim_layout L = r.L;
    gim_data D = r.D;
    const char *names[] = { "par", "m", "v", "objective", "gradient", "status", "" };
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
    SEXP P = PROTECT(Rf_duplicate(par)), Mv = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t) L.total));
    SEXP Vv = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t) L.total));
    SEXP obj = PROTECT(Rf_allocVector(REALSXP, r.nst));
    SEXP g0 = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t) L.total));
    double *p = REAL(P), *m = REAL(Mv), *v = REAL(Vv);
    memcpy(m, r.m0, sizeof(double) * L.total);
    memcpy(v, r.v0, sizeof(double) * L.total);
    memset(REAL(g0), 0, sizeof(double) * L.total);
    double *grad = (double *) R_alloc(L.total, sizeof(double));
    double *G = (double *) R_alloc((size_t) s.d * s.d, sizeof(double));
    step_arena arena = { NULL, NULL, 0, 0, 0 };
    arena_now = &arena;
    s.alloc = arena_alloc;
    gim_point_graph(&s, &L, p, G);
    int status = 0, done = 0;
    for (int it = 0; it < r.nst; it++) {
        arena.next = 0;
        double o = gim_point_objective(&s, &L, &D, p, G, grad);
        if (!isfinite(o)) { status = GIM_BAD_LOGLIK; break; }
        if (it == 0) memcpy(REAL(g0), grad, sizeof(double) * L.total);
        REAL(obj)[it] = o;
        adam_step(&r.opt, r.t0 + it, grad, L.total, p, m, v);
        done++;
        R_CheckUserInterrupt();
    }
    arena_now = NULL;
    SET_VECTOR_ELT(out, 0, P);
    SET_VECTOR_ELT(out, 1, Mv);
    SET_VECTOR_ELT(out, 2, Vv);
    SET_VECTOR_ELT(out, 3, Rf_lengthgets(obj, done));
    SET_VECTOR_ELT(out, 4, g0);
    SET_VECTOR_ELT(out, 5, Rf_mkString(status_term(status)));
    UNPROTECT(6);
    return out;
}
