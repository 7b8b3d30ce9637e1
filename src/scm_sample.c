/* Ancestral sampling from a structural causal model (SPEC sections 1 and 3).
 *
 * Mechanisms (variable j, parents pa(j) = {i : G[i, j] = 1}):
 *   linear       x_j = bias_j + sum_{i in pa(j)} weights[i, j] x_i + sd_j e
 *   mlp          x_j = MLP_j(x_pa(j)) + sd_j e,
 *                MLP_j(x) = b2_j + sum_h w2[h, j] tanh(b1[h, j] + sum_i w1[h, i, j] x_i)
 *   zilognormal  x_j = 0 with probability sigmoid(zero_logit_j),
 *                else exp(MLP_j(x_pa(j)) + sd_j e)
 * with e ~ N(0, 1) and sd_j = exp(log_sd_j).
 *
 * Interventions, one setting per row of `targets` (K x d, 0/1):
 *   hard   a target ignores its parents: x_j = psi_mean + exp(psi_log_sd) e
 *          (zilognormal: 0 with probability sigmoid(psi_zero_logit), else
 *          exp(psi_mean + exp(psi_log_sd) e));
 *   shift  a target keeps its mechanism and psi_shift is added to its value
 *          (zilognormal: to the log of its positive value).
 *
 * All randomness is drawn from R's RNG in the entry point, before the kernel
 * runs: N x d standard normals straight into the output matrix (and N x d
 * uniforms for the zero-inflation), in storage order. The kernel then turns
 * the noise into samples in place, variable by variable in a topological
 * order, so that a parent's column is final before any child reads it and a
 * variable's own column still holds its noise. That keeps the kernel free of
 * R (reusable by a prediction path with its own generator), makes set.seed()
 * reproduce the result exactly, and lets each mechanism be a tight loop over
 * contiguous columns of the cells of one setting. */
#include "pg_common.h"
#include "graph_order.h"
#include "engine_codes.h"
#include "pg_sigmoid.h"
#include <math.h>
#include <string.h>
#include <limits.h>


/* The causal model as plain C data. Parent lists are the sparse view of the
 * graph so that mechanisms cost O(edges), not O(d^2), per cell. */
typedef struct {
    int d, hidden, mechanism;
    const int *order;                    /* topological order, length d */
    const int *pa_start, *pa_idx;        /* parents of j: pa_idx[pa_start[j] .. pa_start[j+1]) */
    const double *weights, *bias;        /* linear */
    const double *w1, *b1, *w2, *b2;     /* mlp, zilognormal */
    const double *log_sd, *zero_logit;
} scm_model;

/* One intervention setting: row k of the K x d target and psi matrices. */
typedef struct {
    const int *targets;                  /* targets[j * ld] */
    const double *mean, *log_sd, *zero_logit, *shift;
    R_xlen_t ld;                         /* leading dimension K */
    int type;
} scm_setting;

/* Mean of the mechanism of variable j for cells 0..nk-1 of a block whose
 * column c starts at x + c * ldx. `pre` is scratch of length nk. */
static void mechanism_mean(const scm_model *m, int j, const double *x,
                           R_xlen_t ldx, int nk, double *mean, double *pre)
{
    const int *pa = m->pa_idx + m->pa_start[j];
    int npa = m->pa_start[j + 1] - m->pa_start[j];
    if (m->mechanism == GIM_LINEAR) {
        double b = m->bias[j];
        for (int r = 0; r < nk; r++) mean[r] = b;
        for (int p = 0; p < npa; p++) {
            int i = pa[p];
            double w = m->weights[i + (R_xlen_t) j * m->d];
            const double *xi = x + i * ldx;
            for (int r = 0; r < nk; r++) mean[r] += w * xi[r];
        }
        return;
    }
    int H = m->hidden;
    double b2 = m->b2[j];
    for (int r = 0; r < nk; r++) mean[r] = b2;
    for (int h = 0; h < H; h++) {
        double b1 = m->b1[h + (R_xlen_t) j * H];
        double w2 = m->w2[h + (R_xlen_t) j * H];
        for (int r = 0; r < nk; r++) pre[r] = b1;
        for (int p = 0; p < npa; p++) {
            int i = pa[p];
            /* w1 is hidden x d x d: w1[h, i, j]. */
            double w = m->w1[h + (R_xlen_t) H * (i + (R_xlen_t) m->d * j)];
            const double *xi = x + i * ldx;
            for (int r = 0; r < nk; r++) pre[r] += w * xi[r];
        }
        for (int r = 0; r < nk; r++) mean[r] += w2 * tanh(pre[r]);
    }
}

/* Samples one block of nk cells under one setting. On entry the block's
 * columns hold standard normal noise (and `u`, with the same layout, uniforms
 * for zilognormal); on exit they hold the samples. */
static void sample_block(const scm_model *m, const scm_setting *s, double *x,
                         const double *u, R_xlen_t ldx, int nk, double *mean,
                         double *pre)
{
    int ziln = m->mechanism == GIM_ZILOGNORMAL;
    for (int o = 0; o < m->d; o++) {
        int j = m->order[o];
        double *xj = x + j * ldx;
        const double *uj = ziln ? u + j * ldx : NULL;
        int targeted = s->targets[j * s->ld] != 0;
        if (targeted && s->type == GIM_HARD) {
            double mu = s->mean[j * s->ld], sd = exp(s->log_sd[j * s->ld]);
            if (ziln) {
                double p0 = pg_sigmoid(s->zero_logit[j * s->ld]);
                for (int r = 0; r < nk; r++)
                    xj[r] = uj[r] < p0 ? 0.0 : exp(mu + sd * xj[r]);
            } else {
                for (int r = 0; r < nk; r++) xj[r] = mu + sd * xj[r];
            }
            continue;
        }
        mechanism_mean(m, j, x, ldx, nk, mean, pre);
        double sd = exp(m->log_sd[j]);
        if (ziln) {
            double p0 = pg_sigmoid(m->zero_logit[j]);
            for (int r = 0; r < nk; r++)
                xj[r] = uj[r] < p0 ? 0.0 : exp(mean[r] + sd * xj[r]);
        } else {
            for (int r = 0; r < nk; r++) xj[r] = mean[r] + sd * xj[r];
        }
        if (targeted) {
            /* shift: the value moves by psi; for zero-inflated genes the
             * positive part moves on the log scale (a fold change), which
             * keeps the values non-negative and matches the fitted model. */
            double shift = s->shift[j * s->ld];
            if (ziln) {
                double fold = exp(shift);
                for (int r = 0; r < nk; r++) xj[r] *= fold;
            } else {
                for (int r = 0; r < nk; r++) xj[r] += shift;
            }
        }
    }
}

/* ---- .Call boundary ------------------------------------------------------ */

/* Element `name` of the list `params`, a finite double array whose dims
 * (or length, when ndim == 1) are `dims`. */
static const double *get_array(SEXP list, const char *list_arg, const char *name,
                               int ndim, const int *dims)
{
    SEXP names = Rf_getAttrib(list, R_NamesSymbol);
    SEXP x = R_NilValue;
    if (!Rf_isNull(names))
        for (R_xlen_t k = 0; k < XLENGTH(list); k++)
            if (strcmp(CHAR(STRING_ELT(names, k)), name) == 0) {
                x = VECTOR_ELT(list, k);
                break;
            }
    if (Rf_isNull(x))
        Rf_error("`%s` must have an element `%s`.", list_arg, name);
    if (!Rf_isReal(x))
        Rf_error("`%s$%s` must be a double vector or array.", list_arg, name);
    R_xlen_t expected = 1;
    for (int a = 0; a < ndim; a++) expected *= dims[a];
    if (ndim == 1) {
        if (XLENGTH(x) != expected)
            Rf_error("`%s$%s` must have length %d, not %lld.", list_arg, name,
                     dims[0], (long long) XLENGTH(x));
    } else {
        SEXP dim = Rf_getAttrib(x, R_DimSymbol);
        int ok = !Rf_isNull(dim) && Rf_length(dim) == ndim;
        for (int a = 0; ok && a < ndim; a++) ok = INTEGER(dim)[a] == dims[a];
        if (!ok) {
            if (ndim == 2)
                Rf_error("`%s$%s` must be a %d x %d matrix.", list_arg, name,
                         dims[0], dims[1]);
            Rf_error("`%s$%s` must be a %d x %d x %d array.", list_arg, name,
                     dims[0], dims[1], dims[2]);
        }
    }
    const double *p = REAL(x);
    for (R_xlen_t k = 0; k < expected; k++)
        if (!R_FINITE(p[k]))
            Rf_error("`%s$%s` must not contain NA, NaN or infinite values.",
                     list_arg, name);
    return p;
}

/* Number of hidden units of the MLP mechanisms, from dim(w1). */
static int hidden_units(SEXP params, int d)
{
    SEXP names = Rf_getAttrib(params, R_NamesSymbol);
    if (!Rf_isNull(names))
        for (R_xlen_t k = 0; k < XLENGTH(params); k++)
            if (strcmp(CHAR(STRING_ELT(names, k)), "w1") == 0) {
                SEXP dim = Rf_getAttrib(VECTOR_ELT(params, k), R_DimSymbol);
                if (Rf_isNull(dim) || Rf_length(dim) != 3 || INTEGER(dim)[0] < 1)
                    Rf_error("`parameters$w1` must be a hidden x %d x %d array.",
                             d, d);
                return INTEGER(dim)[0];
            }
    Rf_error("`parameters` must have an element `w1`.");
    return 0; /* not reached */
}

/* pg_scm_sample(graph, mechanism, parameters, targets, psi, intervention, n)
 *   graph         d x d integer 0/1 DAG, G[i, j] = 1 for i -> j
 *   mechanism     1 linear, 2 mlp, 3 zilognormal (engine_codes.h)
 *   parameters    named list (layout in R/scm.R)
 *   targets       K x d integer 0/1, one intervention setting per row
 *   psi           named list of K x d double matrices: mean, log_sd (and
 *                 zero_logit for zilognormal) for hard, shift for shift;
 *                 entries off the targets are not used
 *   intervention  1 hard, 2 shift (engine_codes.h)
 *   n             integer vector of length K, cells per setting
 * Returns the sum(n) x d samples, the settings stacked in order. */
SEXP pg_scm_sample(SEXP graph, SEXP mechanism, SEXP parameters, SEXP targets,
                   SEXP psi, SEXP intervention, SEXP n)
{
    pg_check_graph(graph, "graph");
    int d = Rf_nrows(graph);
    int mech = pg_scalar_int(mechanism, "mechanism");
    if (mech < GIM_LINEAR || mech > GIM_MECHANISM_LAST)
        Rf_error("`mechanism` must be 1 (linear), 2 (mlp) or 3 (zilognormal).");
    int type = pg_scalar_int(intervention, "intervention");
    if (type < GIM_HARD || type > GIM_INTERVENTION_LAST)
        Rf_error("`intervention` must be 1 (hard) or 2 (shift).");
    if (TYPEOF(parameters) != VECSXP)
        Rf_error("`parameters` must be a list.");
    if (TYPEOF(psi) != VECSXP)
        Rf_error("`psi` must be a list.");

    if (!Rf_isInteger(targets) || !Rf_isMatrix(targets))
        Rf_error("`targets` must be an integer matrix.");
    int K = Rf_nrows(targets);
    if (Rf_ncols(targets) != d)
        Rf_error("`targets` must have %d columns (one per variable), not %d.", d,
                 Rf_ncols(targets));
    if (K < 1)
        Rf_error("`targets` must have at least one row.");
    const int *tg = INTEGER(targets);
    for (R_xlen_t k = 0; k < (R_xlen_t) K * d; k++)
        if (tg[k] != 0 && tg[k] != 1)
            Rf_error("`targets` must contain only 0 and 1.");

    if (!Rf_isInteger(n) || XLENGTH(n) != K)
        Rf_error("`n` must be an integer vector of length %d (one per row of `targets`).",
                 K);
    const int *nk = INTEGER(n);
    R_xlen_t N = 0;
    for (int k = 0; k < K; k++) {
        if (nk[k] == NA_INTEGER || nk[k] < 0)
            Rf_error("`n` must contain non-negative whole numbers.");
        N += nk[k];
    }
    if (N > INT_MAX)
        Rf_error("`n` asks for %.0f cells; at most %d fit in one matrix.",
                 (double) N, INT_MAX);

    scm_model m;
    memset(&m, 0, sizeof m);
    m.d = d;
    m.mechanism = mech;
    int dv[1] = {d}, dd[2] = {d, d};
    m.log_sd = get_array(parameters, "parameters", "log_sd", 1, dv);
    if (mech == GIM_LINEAR) {
        m.weights = get_array(parameters, "parameters", "weights", 2, dd);
        m.bias = get_array(parameters, "parameters", "bias", 1, dv);
    } else {
        int H = hidden_units(parameters, d);
        int dw1[3] = {H, d, d}, dh[2] = {H, d};
        m.hidden = H;
        m.w1 = get_array(parameters, "parameters", "w1", 3, dw1);
        m.b1 = get_array(parameters, "parameters", "b1", 2, dh);
        m.w2 = get_array(parameters, "parameters", "w2", 2, dh);
        m.b2 = get_array(parameters, "parameters", "b2", 1, dv);
        if (mech == GIM_ZILOGNORMAL)
            m.zero_logit = get_array(parameters, "parameters", "zero_logit", 1, dv);
    }

    scm_setting s;
    memset(&s, 0, sizeof s);
    s.type = type;
    s.ld = K;
    int dkd[2] = {K, d};
    if (type == GIM_HARD) {
        s.mean = get_array(psi, "psi", "mean", 2, dkd);
        s.log_sd = get_array(psi, "psi", "log_sd", 2, dkd);
        if (mech == GIM_ZILOGNORMAL)
            s.zero_logit = get_array(psi, "psi", "zero_logit", 2, dkd);
    } else {
        s.shift = get_array(psi, "psi", "shift", 2, dkd);
    }

    /* Graph structure: topological order and parent lists. */
    const int *g = INTEGER(graph);
    int *order = (int *) R_alloc(d, sizeof(int));
    int *work = (int *) R_alloc(d, sizeof(int));
    if (pg_topological_order(g, d, 0, order, work) < d)
        Rf_error("`graph` must be acyclic.");
    int *pa_start = (int *) R_alloc((size_t) d + 1, sizeof(int));
    int n_edges = 0;
    for (int j = 0; j < d; j++)
        for (int i = 0; i < d; i++) n_edges += g[i + (R_xlen_t) j * d];
    int *pa_idx = (int *) R_alloc(n_edges > 0 ? n_edges : 1, sizeof(int));
    pa_start[0] = 0;
    for (int j = 0, e = 0; j < d; j++) {
        for (int i = 0; i < d; i++)
            if (g[i + (R_xlen_t) j * d]) pa_idx[e++] = i;
        pa_start[j + 1] = e;
    }
    m.order = order;
    m.pa_start = pa_start;
    m.pa_idx = pa_idx;

    int nmax = 1;
    for (int k = 0; k < K; k++)
        if (nk[k] > nmax) nmax = nk[k];
    double *mean = (double *) R_alloc(nmax, sizeof(double));
    double *pre = (double *) R_alloc(nmax, sizeof(double));
    double *u = NULL;
    if (mech == GIM_ZILOGNORMAL)
        u = (double *) R_alloc(N * d > 0 ? (size_t) N * d : 1, sizeof(double));

    SEXP out = PROTECT(Rf_allocMatrix(REALSXP, (int) N, d));
    double *x = REAL(out);

    GetRNGstate();
    for (R_xlen_t k = 0; k < N * d; k++) {
        if ((k & 0xFFFFF) == 0) R_CheckUserInterrupt();
        x[k] = norm_rand();
    }
    if (u)
        for (R_xlen_t k = 0; k < N * d; k++) u[k] = unif_rand();
    PutRNGstate();

    R_xlen_t start = 0;
    for (int k = 0; k < K; k++) {
        if (nk[k] > 0) {
            scm_setting sk = s;
            sk.targets = tg + k;
            if (sk.mean) sk.mean += k;
            if (sk.log_sd) sk.log_sd += k;
            if (sk.zero_logit) sk.zero_logit += k;
            if (sk.shift) sk.shift += k;
            sample_block(&m, &sk, x + start, u ? u + start : NULL, N, nk[k],
                         mean, pre);
            start += nk[k];
        }
        R_CheckUserInterrupt();
    }

    /* Column names from the graph, so that samples name their variables. */
    SEXP gdn = Rf_getAttrib(graph, R_DimNamesSymbol);
    if (!Rf_isNull(gdn)) {
        SEXP cn = VECTOR_ELT(gdn, 1);
        if (Rf_isNull(cn)) cn = VECTOR_ELT(gdn, 0);
        if (!Rf_isNull(cn)) {
            SEXP dn = PROTECT(Rf_allocVector(VECSXP, 2));
            SET_VECTOR_ELT(dn, 1, cn);
            Rf_setAttrib(out, R_DimNamesSymbol, dn);
            UNPROTECT(1);
        }
    }
    UNPROTECT(1);
    return out;
}
