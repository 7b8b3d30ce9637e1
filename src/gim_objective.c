/* The MAP objective J of SPEC section 2 and its gradient (ascent direction):
 *
 *   J = log p(Z) + log p(theta) + log p(sigma) + log p(phi)
 *       - beta_M sum_ij P(G_ij) - beta_I sum_kj P(I_kj)
 *         (or - beta_I sum_kj log(1 + exp(T_kj)), target_sparsity "softplus",
 *         or a mix of the two, "annealed")
 *       - mean_m [lambda c(G~^m) + mu / 2 c(G~^m)^2] + LL
 *
 * Noise: graph samples use logistic noise L; the same L gives the discrete
 * sample 1[logit + L > 0] (a Bernoulli(P(G_ij)) draw) and its Gumbel-sigmoid
 * relaxation sigmoid(tau (logit + L)), so both passes see one graph sample.
 * Targets are relaxed the same way; psi is reparameterised. */
#include <math.h>
#include <string.h>
#include "gim_engine.h"
#include "gim_likelihood.h"
#include "gim_rng.h"
#include "gim_simd.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#include "pg_sigmoid.h"

static double sum_squares(const double *x, size_t from, size_t to)
{
    double acc = 0.0;
    for (size_t e = from; e < to; e++) acc += x[e] * x[e];
    return acc;
}

static void add_prior(const double *par, double *grad, size_t from, size_t to, double var)
{
    for (size_t e = from; e < to; e++) grad[e] -= par[e] / var;
}

/* The edge weights: linear d x d weights, or the H x d x d first-layer
 * weights of the MLPs; edge (i, j) owns `per_edge` consecutive entries
 * from edge_weights + per_edge (i + d j). */
static void edge_weight_block(const gim_settings *s, const gim_layout *L, size_t *start,
                              size_t *per_edge)
{
    *start = s->mechanism == GIM_LINEAR ? L->w : L->w1;
    *per_edge = s->mechanism == GIM_LINEAR ? 1 : (size_t) s->H;
}

/* The Gaussian priors of the mechanism block [theta, phi): mechanisms,
 * noise scales, zero-inflation logits (constants dropped). With the masked
 * weight prior the edge weights are left to the caller. */
static double theta_prior(const gim_settings *s, const gim_layout *L, const double *par,
                          double *grad)
{
    size_t mech_end = L->log_sd, sd_end = L->log_sd + s->d;
    size_t w_start, per_edge, mech_start = L->theta;
    edge_weight_block(s, L, &w_start, &per_edge);
    if (s->weight_prior == GIM_PRIOR_MASKED)    /* the edge weights come first */
        mech_start = w_start + per_edge * (size_t) s->d * s->d;
    double lp = -sum_squares(par, mech_start, mech_end) / (2.0 * s->var_theta) -
        sum_squares(par, L->log_sd, sd_end) / (2.0 * s->var_sigma) -
        sum_squares(par, sd_end, L->phi) / (2.0 * s->var_theta);
    add_prior(par, grad, mech_start, mech_end, s->var_theta);
    add_prior(par, grad, L->log_sd, sd_end, s->var_sigma);
    add_prior(par, grad, sd_end, L->phi, s->var_theta);
    return lp;
}

/* Gaussian priors of SPEC section 2 (constants dropped). With the masked
 * weight prior the edge weights are left to masked_weight_prior(). */
static double log_prior(const gim_settings *s, const gim_layout *L, const double *par,
                        double *grad)
{
    int ordered = s->acyclicity == GIM_ACYCLIC_ORDER;
    size_t z_end = ordered ? L->order : L->theta;    /* potentials have their own prior */
    double lp = -sum_squares(par, L->u, z_end) / (2.0 * s->var_z) +
        theta_prior(s, L, par, grad) -
        sum_squares(par, L->phi, L->total) / (2.0 * s->var_phi);
    add_prior(par, grad, L->u, z_end, s->var_z);
    if (ordered) {
        lp -= sum_squares(par, L->order, L->theta) / (2.0 * s->var_order);
        add_prior(par, grad, L->order, L->theta, s->var_order);
    }
    add_prior(par, grad, L->phi, L->total, s->var_phi);
    return lp;
}

/* One edge's weights w (per_edge of them) under the masked prior with edge
 * probability prob: adds prob d/dw of -|w|^2 / (2 var_theta) to gw and
 * returns |w|^2 / (2 var_theta). */
static double edge_weight_prior(const gim_settings *s, const double *w, double *gw,
                                size_t per_edge, double prob)
{
    double sq = 0.0;
    for (size_t h = 0; h < per_edge; h++) {
        sq += w[h] * w[h];
        gw[h] -= prob * w[h] / s->var_theta;
    }
    return sq / (2.0 * s->var_theta);
}

/* The masked weight prior E_G[log p(theta | G)] = -sum_ij P(G_ij)
 * |theta_ij|^2 / (2 var_theta) (constants dropped), as in DiBS and BaCaDI:
 * an edge's weights are pulled to 0 only as far as the edge is believed in,
 * so the weights of an absent edge keep the value the likelihood last gave
 * them, and with it the gradient that can bring the edge back. With node
 * potentials P(G_ij) = sigmoid(logit) sigmoid(gate) (gate NULL: 1). Adds
 * d/d theta to grad and d/d logit (d/d gate) to dlogit (dgate); returns the
 * term. */
static double masked_weight_prior(const gim_settings *s, const gim_layout *L,
                                  const double *par, const double *logit, const double *gate,
                                  double *grad, double *dlogit, double *dgate)
{
    int d = s->d;
    size_t w_start, per_edge;
    edge_weight_block(s, L, &w_start, &per_edge);
    double lp = 0.0;
    for (size_t e = 0; e < (size_t) d * d; e++) {
        if (e % (d + 1) == 0) continue;         /* self-loops are never used */
        double pe = pg_sigmoid(logit[e]), po = gate ? pg_sigmoid(gate[e]) : 1.0;
        double prob = pe * po;
        double sq = edge_weight_prior(s, par + w_start + per_edge * e,
                                      grad + w_start + per_edge * e, per_edge, prob);
        lp -= prob * sq;
        dlogit[e] -= sq * pe * (1.0 - pe) * po;
        if (gate) dgate[e] -= sq * pe * po * (1.0 - po);
    }
    return lp;
}

/* Rows r0 .. r0 + w - 1 (w <= 8) of y = A x for a d x d column-major A,
 * each y[r] summed over the columns in order (0 + x_0 A[r, 0] + ...):
 * columns stream past w rows whose sums stay in registers. */
static GIM_ALWAYS_INLINE void matvec_rows(const double *A, int d, const double *x, double *y,
                                          int r0, int w)
{
    double acc[8] = { 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0 };
    for (int c = 0; c < d; c++) {
        const double *a = A + r0 + (size_t) d * c;
        double xc = x[c];
        #pragma omp simd
        for (int r = 0; r < w; r++) acc[r] += a[r] * xc;
    }
    memcpy(y + r0, acc, sizeof(double) * w);
}

/* y = A x, eight rows at a time, then four, then one. */
static GIM_ALWAYS_INLINE void matvec_cols(const double *A, int d, const double *x, double *y)
{
    int r0 = 0;
    for (; r0 + 8 <= d; r0 += 8) matvec_rows(A, d, x, y, r0, 8);
    for (; r0 + 4 <= d; r0 += 4) matvec_rows(A, d, x, y, r0, 4);
    for (; r0 < d; r0++) matvec_rows(A, d, x, y, r0, 1);
}

/* NO-BEARS spectral radius of a d x d matrix by power iteration (Lee et al.
 * 2019): returns c = u'Gv / u'v and writes d c / d G = u v' / (u'v) into dc,
 * with u, v treated as constants. */
GIM_TARGET_CLONES
static double spectral_radius(const double *G, int d, int rounds, double *u, double *v,
                              double *tmp, double *dc)
{
    /* u' G row by row of G (column by column of G', kept in dc until the
     * end): each tmp[j] is the same sum in the same order as a dot product
     * down column j, but d of them advance together instead of one chain
     * of dependent additions at a time. */
    double *Gt = dc;
    for (int j = 0; j < d; j++)
        for (int i = 0; i < d; i++) Gt[j + (size_t) d * i] = G[i + (size_t) d * j];
    for (int i = 0; i < d; i++) u[i] = v[i] = 1.0 / sqrt((double) d);
    for (int t = 0; t < rounds; t++) {
        double nu = 0.0, nv = 0.0;
        matvec_cols(Gt, d, u, tmp);              /* u' G */
        for (int j = 0; j < d; j++) nu += tmp[j] * tmp[j];
        if (nu == 0.0) break;                    /* nilpotent: keep the last vectors */
        nu = sqrt(nu);
        for (int j = 0; j < d; j++) u[j] = tmp[j] / nu;
        matvec_cols(G, d, v, tmp);               /* G v */
        for (int i = 0; i < d; i++) nv += tmp[i] * tmp[i];
        if (nv == 0.0) break;
        nv = sqrt(nv);
        for (int i = 0; i < d; i++) v[i] = tmp[i] / nv;
    }
    double uv = 0.0, uGv = 0.0;
    for (int i = 0; i < d; i++) uv += u[i] * v[i];
    for (int j = 0; j < d; j++)
        for (int i = 0; i < d; i++) uGv += u[i] * G[i + (size_t) d * j] * v[j];
    if (uv <= 1e-300) {                          /* orthogonal eigenvectors: no usable signal */
        memset(dc, 0, sizeof(double) * (size_t) d * d);
        return 0.0;
    }
    for (int j = 0; j < d; j++)
        for (int i = 0; i < d; i++) dc[i + (size_t) d * j] = u[i] * v[j] / uv;
    return uGv / uv;
}

/* M graph samples from the edge logits: the discrete 1[logit + L > 0] and
 * the relaxed sigmoid(tau (logit + L)) share the logistic noise L. */
GIM_TARGET_CLONES
static void sample_graphs(const double *logit, int d, int M, double tau, uint64_t key,
                          int nth, double *soft, double *hard)
{
    size_t dd = (size_t) d * d;
    #pragma omp parallel for num_threads(nth) schedule(static)
    for (int m = 0; m < M; m++) {
        double *so = soft + (size_t) m * dd, *ha = hard + (size_t) m * dd;
        #pragma omp simd
        for (size_t e = 0; e < dd; e++) {
            double z = logit[e] + gim_logistic(key, (size_t) m * dd + e);
            int diag = e % (d + 1) == 0;
            so[e] = diag ? 0.0 : gim_sigmoid(tau * z);
            ha[e] = !diag && z > 0.0 ? 1.0 : 0.0;
        }
    }
}

/* Each discrete sample made a DAG (graph_samples = "dag", gim_dag.c), with
 * the noisy logits of its own draw; per-thread scratch. */
static void project_samples(const double *logit, int d, int M, uint64_t key, int nth,
                            double *hard, void *(*alloc)(size_t))
{
    size_t dd = (size_t) d * d, rw = gim_dag_scratch_words(d);
    gim_edge *edges = alloc(sizeof(gim_edge) * dd * nth);
    uint64_t *reach = alloc(sizeof(uint64_t) * rw * nth);
    double *zs = alloc(sizeof(double) * dd * nth);
    #pragma omp parallel for num_threads(nth) schedule(static)
    for (int m = 0; m < M; m++) {
#ifdef _OPENMP
        int t = omp_get_thread_num();
#else
        int t = 0;
#endif
        double *z = zs + (size_t) t * dd;
        for (size_t e = 0; e < dd; e++) z[e] = logit[e] + gim_logistic(key, (size_t) m * dd + e);
        gim_project_dag(hard + (size_t) m * dd, z, d, edges + (size_t) t * dd,
                        reach + (size_t) t * rw);
    }
}

/* acyclicity = "order": gene i has a potential p_i, and edge i -> j can be
 * present only if i comes before j in the order of the potentials. Each
 * sample m draws an order from p by Gumbel noise, q_i = alpha p_i + G_i
 * (Plackett-Luce), so every discrete sample is a DAG, and the pairwise
 * probability that i precedes j is sigmoid(alpha (p_j - p_i)), the
 * difference of two Gumbels being logistic. The edge's probability is
 * sigmoid(logit_ij) sigmoid(gate_ij), gate_ij = alpha (p_j - p_i); the
 * relaxed sample is the relaxed edge times sigmoid(tau (q_j - q_i)).
 * No acyclicity penalty is needed, and a point estimate (both factors
 * above 1/2) follows the order of the potentials, so it is a DAG too. */
static void gate_logits(const gim_settings *s, const gim_layout *L, const double *par,
                        double *gate)
{
    int d = s->d;
    const double *p = par + L->order;
    for (int j = 0; j < d; j++)
        for (int i = 0; i < d; i++) gate[i + (size_t) d * j] = s->alpha * (p[j] - p[i]);
}

/* Noisy potentials q (M x d, stream key_o), then each sample's edges
 * against i before j: hard edges kept only in that order, relaxed edges
 * multiplied by the relaxed gate. */
static void sample_orders(const gim_settings *s, const gim_layout *L, const double *par,
                          uint64_t key_o, double *q, double *soft, double *hard)
{
    int d = s->d, M = s->M;
    size_t dd = (size_t) d * d;
    const double *p = par + L->order;
    #pragma omp parallel for num_threads(s->n_threads) schedule(static)
    for (int m = 0; m < M; m++) {
        double *qm = q + (size_t) m * d;
        for (int i = 0; i < d; i++)
            qm[i] = s->alpha * p[i] - gim_log(-gim_log(gim_unif(key_o, (size_t) m * d + i)));
        double *so = soft + (size_t) m * dd, *ha = hard + (size_t) m * dd;
        for (int j = 0; j < d; j++)
            for (int i = 0; i < d; i++) {
                size_t e = i + (size_t) d * j;
                so[e] *= gim_sigmoid(s->tau * (qm[j] - qm[i]));
                if (!(qm[i] < qm[j])) ha[e] = 0.0;
            }
    }
}

/* The graph samples' gradient dg back to the edge logits and the gate
 * log-odds, plus the graph sparsity -beta_M sum P(G_ij); the relaxed edge
 * is recomputed from its noise (key_g) rather than stored. Returns sum P. */
static double order_backward(const gim_settings *s, const double *logit, const double *gate,
                             const double *q, const double *dg, uint64_t key_g,
                             double *dlogit, double *dgate)
{
    int d = s->d, M = s->M;
    size_t dd = (size_t) d * d;
    double tau = s->tau, sparsity = 0.0;
    for (int j = 0; j < d; j++)
        for (int i = 0; i < d; i++) {
            size_t e = i + (size_t) d * j;
            if (i == j) { dlogit[e] = dgate[e] = 0.0; continue; }
            double acc_l = 0.0, acc_o = 0.0;
            for (int m = 0; m < M; m++) {
                double se = gim_sigmoid(tau * (logit[e] + gim_logistic(key_g, (size_t) m * dd + e)));
                const double *qm = q + (size_t) m * d;
                double sg = gim_sigmoid(tau * (qm[j] - qm[i])), g = dg[(size_t) m * dd + e];
                acc_l += g * tau * se * (1.0 - se) * sg;
                acc_o += g * tau * se * sg * (1.0 - sg);
            }
            double pe = pg_sigmoid(logit[e]), po = pg_sigmoid(gate[e]);
            sparsity += pe * po;
            dlogit[e] = acc_l - s->beta_M * pe * (1.0 - pe) * po;
            dgate[e] = acc_o - s->beta_M * pe * po * (1.0 - po);
        }
    return sparsity;
}

/* Relaxed target samples sigmoid(tau (T + L)) and intervention parameters
 * psi + psi_sd N(0, 1) for every sample m and (context, gene) e; T and Pt
 * are in (context, gene) order. Normals come in Box-Muller pairs: psi
 * parameters 1 and 2 share a pair, the third uses a second stream. */
GIM_TARGET_CLONES
static void sample_interventions(const double *Tt, double *const *Pt, int n_psi, size_t Kd,
                                 int M, double tau, double sd, uint64_t key_t,
                                 const uint64_t *key_p, int nth, double *ti, double **ps)
{
    #pragma omp parallel for num_threads(nth) schedule(static)
    for (int m = 0; m < M; m++) {
        size_t base = (size_t) m * Kd;
        #pragma omp simd
        for (size_t e = 0; e < Kd; e++)
            ti[base + e] = gim_sigmoid(tau * (Tt[e] + gim_logistic(key_t, base + e)));
        for (int pair = 0; 2 * pair < n_psi; pair++) {
            double *a = ps[2 * pair] + base;
            double *b = 2 * pair + 1 < n_psi ? ps[2 * pair + 1] + base : NULL;
            const double *pa = Pt[2 * pair], *pb = b ? Pt[2 * pair + 1] : NULL;
            if (!(sd > 0.0)) {
                memcpy(a, pa, sizeof(double) * Kd);
                if (b) memcpy(b, pb, sizeof(double) * Kd);
                continue;
            }
            /* Two loops without a condition inside, so that both vectorise. */
            if (b) {
                #pragma omp simd
                for (size_t e = 0; e < Kd; e++) {
                    double z1, z2;
                    gim_normal_pair(key_p[pair], base + e, &z1, &z2);
                    a[e] = pa[e] + sd * z1;
                    b[e] = pb[e] + sd * z2;
                }
            } else {
                #pragma omp simd
                for (size_t e = 0; e < Kd; e++) {
                    double z1, z2;
                    gim_normal_pair(key_p[pair], base + e, &z1, &z2);
                    a[e] = pa[e] + sd * z1;
                }
            }
        }
    }
}

/* Edge scores u_i . v_j into a d x d matrix, diagonal 0 (no self-loops). */
static void latent_scores(const gim_settings *s, const gim_layout *L, const double *par,
                          double *out)
{
    int d = s->d, kz = s->k;
    const double *U = par + L->u, *V = par + L->v;
    for (int j = 0; j < d; j++)
        for (int i = 0; i < d; i++) {
            double a = 0.0;
            if (i != j)
                for (int c = 0; c < kz; c++) a += U[i + (size_t) d * c] * V[j + (size_t) d * c];
            out[i + (size_t) d * j] = a;
        }
}

static int all_finite(const double *x, size_t n)
{
    for (size_t e = 0; e < n; e++) if (!isfinite(x[e])) return 0;
    return 1;
}

void gim_objective(const gim_settings *s, const gim_layout *L, const gim_data *D,
                   const double *par, uint64_t seed, int64_t step,
                   double *grad, gim_report *rep, const gim_debug *dbg)
{
    int d = s->d, kz = s->k, M = s->M, Kp = D->Kp, nth = s->n_threads;
    size_t dd = (size_t) d * d, MKd = (size_t) M * Kp * d, Kd = (size_t) Kp * d;
    void *(*alloc)(size_t) = s->alloc;
    memset(grad, 0, sizeof(double) * L->total);
    memset(rep, 0, sizeof *rep);
    (void) nth;

    /* Edge logits alpha u_i . v_j (diagonal unused). */
    double *logit = alloc(sizeof(double) * dd);
    const double *U = par + L->u, *V = par + L->v;
    latent_scores(s, L, par, logit);
    for (size_t e = 0; e < dd; e++) logit[e] *= s->alpha;

    /* Graph samples: discrete and relaxed from the same logistic noise. */
    double *soft = alloc(sizeof(double) * M * dd), *hard = alloc(sizeof(double) * M * dd);
    uint64_t key_g = gim_key(seed, step, 1);
    sample_graphs(logit, d, M, s->tau, key_g, nth, soft, hard);
    int ordered = s->acyclicity == GIM_ACYCLIC_ORDER;
    double *gate = NULL, *q = NULL;
    if (ordered) {
        gate = alloc(sizeof(double) * dd);
        q = alloc(sizeof(double) * (size_t) M * d);
        gate_logits(s, L, par, gate);
        sample_orders(s, L, par, gim_key(seed, step, 5), q, soft, hard);
    }
    if (s->graph_samples == GIM_SAMPLES_DAG) project_samples(logit, d, M, key_g, nth, hard, alloc);
    const double *g_hard = hard, *g_soft = soft;
    if (dbg && dbg->graph_override) g_hard = g_soft = dbg->graph_override;
    if (dbg && dbg->graph_relaxed) memcpy(dbg->graph_relaxed, soft, sizeof(double) * M * dd);

    /* Perturbation nets, then target and psi samples per (m, context). */
    gim_net_cache nets;
    double *T = NULL, *Psi[3] = { NULL, NULL, NULL };
    double *ti = alloc(sizeof(double) * (MKd ? MKd : 1));
    double *ps[3] = { NULL, NULL, NULL };
    for (int q = 0; q < s->n_psi; q++) ps[q] = alloc(sizeof(double) * (MKd ? MKd : 1));
    if (Kp > 0) {
        gim_nets_alloc(s, Kp, &nets, alloc);
        gim_nets_forward(s, L, par, D->feat, &nets);
        T = (double *) gim_net_output(s, &nets, 0);
        for (int q = 0; q < s->n_psi; q++) Psi[q] = (double *) gim_net_output(s, &nets, q + 1);
        if (!all_finite(T, Kd)) { rep->status = GIM_BAD_NETS; return; }
        /* Net outputs in the samples' (context, gene) order, so that the
         * loops below run over contiguous memory and vectorise. */
        double *Tt = alloc(sizeof(double) * Kd), *Pt[3] = { NULL, NULL, NULL };
        for (int q = 0; q < s->n_psi; q++) Pt[q] = alloc(sizeof(double) * Kd);
        for (int k = 0; k < Kp; k++)
            for (int j = 0; j < d; j++) {
                size_t e = (size_t) k * d + j, o = k + (size_t) Kp * j;
                Tt[e] = T[o];
                for (int q = 0; q < s->n_psi; q++) Pt[q][e] = Psi[q][o];
            }
        uint64_t key_t = gim_key(seed, step, 2);
        uint64_t key_p[2] = { gim_key(seed, step, 3), gim_key(seed, step, 4) };
        sample_interventions(Tt, Pt, s->n_psi, Kd, M, s->tau, s->psi_sd, key_t, key_p, nth,
                             ti, ps);
    }

    /* Likelihood passes. */
    double *dT = alloc(sizeof(double) * (Kd ? Kd : 1));
    double *dPsi[3];
    memset(dT, 0, sizeof(double) * Kd);
    for (int q = 0; q < 3; q++) {
        dPsi[q] = alloc(sizeof(double) * (Kd ? Kd : 1));
        memset(dPsi[q], 0, sizeof(double) * Kd);
    }
    double *dg = alloc(sizeof(double) * M * dd);
    memset(dg, 0, sizeof(double) * M * dd);
    double *ell = alloc(sizeof(double) * M), *w = alloc(sizeof(double) * M);
    int relaxed = s->graph_gradient == GIM_RELAXED;
    gim_pass P = {
        .M = M, .graph = g_hard, .dedup = 1, .ti = ti, .ps = { ps[0], ps[1], ps[2] },
        .want_theta = 1, .want_graph = !relaxed, .want_phi = !relaxed,
        .ell = ell, .w = w, .dT = dT, .dPsi = { dPsi[0], dPsi[1], dPsi[2] }, .dg = dg
    };
    gim_pass_run(s, L, D, par, &P, grad);
    rep->loglik = P.loglik;
    rep->configs = P.configs;
    rep->screened = P.screened;
    double ll_J = P.loglik;
    if (relaxed) {
        gim_pass R = {
            .M = M, .graph = g_soft, .dedup = 0, .ti = ti, .ps = { ps[0], ps[1], ps[2] },
            .want_theta = 0, .want_graph = 1, .want_phi = 1,
            .ell = ell, .w = w, .dT = dT, .dPsi = { dPsi[0], dPsi[1], dPsi[2] }, .dg = dg
        };
        gim_pass_run(s, L, D, par, &R, grad);
        rep->configs += R.configs;
        rep->screened += R.screened;
        rep->loglik_relaxed = ll_J = R.loglik;
    }
    if (!isfinite(ll_J)) { rep->status = GIM_BAD_LOGLIK; return; }
    double ess = 0.0;
    for (int m = 0; m < M; m++) ess += w[m] * w[m];
    rep->ess = 1.0 / ess;

    /* Acyclicity on the relaxed graphs: gradient into dg. */
    /* Scratch per thread (d x d for dc), not per sample. */
    double *uu = alloc(sizeof(double) * nth * d), *vv = alloc(sizeof(double) * nth * d);
    double *tmp = alloc(sizeof(double) * nth * d), *dc_all = alloc(sizeof(double) * nth * dd);
    double *cm = alloc(sizeof(double) * M);
    #pragma omp parallel for num_threads(nth) schedule(static)
    for (int m = 0; m < M; m++) {
#ifdef _OPENMP
        int t = omp_get_thread_num();
#else
        int t = 0;
#endif
        double *dc = dc_all + (size_t) t * dd;
        cm[m] = spectral_radius(g_soft + (size_t) m * dd, d, s->power_iter, uu + (size_t) t * d,
                                vv + (size_t) t * d, tmp + (size_t) t * d, dc);
        double scale = -(s->lambda + s->mu * cm[m]) / M;
        for (size_t e = 0; e < dd; e++) dg[(size_t) m * dd + e] += scale * dc[e];
    }
    double acyc = 0.0, penalty = 0.0;
    for (int m = 0; m < M; m++) {
        acyc += cm[m] / M;
        penalty += (s->lambda * cm[m] + 0.5 * s->mu * cm[m] * cm[m]) / M;
    }
    rep->acyclicity = acyc;
    if (!isfinite(penalty)) { rep->status = GIM_BAD_ACYCLICITY; return; }
    if (dbg && dbg->dgraph) memcpy(dbg->dgraph, dg, sizeof(double) * M * dd);

    /* Graph values -> edge logits -> Z, plus the closed-form graph sparsity. */
    double *dlogit = alloc(sizeof(double) * dd), *dgate = NULL, sparsity_g = 0.0;
    if (ordered) {
        dgate = alloc(sizeof(double) * dd);
        sparsity_g = order_backward(s, logit, gate, q, dg, key_g, dlogit, dgate);
    }
    for (size_t e = 0; e < dd && !ordered; e++) {
        if (e % (d + 1) == 0) { dlogit[e] = 0.0; continue; }
        double acc = 0.0;
        for (int m = 0; m < M; m++) {
            double gs = soft[(size_t) m * dd + e];
            acc += dg[(size_t) m * dd + e] * s->tau * gs * (1.0 - gs);
        }
        double pe = pg_sigmoid(logit[e]);
        sparsity_g += pe;
        dlogit[e] = acc - s->beta_M * pe * (1.0 - pe);
    }
    double weight_lp = s->weight_prior == GIM_PRIOR_MASKED ?
        masked_weight_prior(s, L, par, logit, gate, grad, dlogit, dgate) : 0.0;
    if (ordered) {
        double *gp = grad + L->order;
        for (int j = 0; j < d; j++)
            for (int i = 0; i < d; i++) {
                double a = s->alpha * dgate[i + (size_t) d * j];
                gp[j] += a;
                gp[i] -= a;
            }
    }
    double *gU = grad + L->u, *gV = grad + L->v;
    for (int c = 0; c < kz; c++)
        for (int j = 0; j < d; j++)
            for (int i = 0; i < d; i++) {
                double a = s->alpha * dlogit[i + (size_t) d * j];
                gU[i + (size_t) d * c] += a * V[j + (size_t) d * c];
                gV[j + (size_t) d * c] += a * U[i + (size_t) d * c];
            }

    /* Target sparsity, then back through the nets. */
    double sparsity_t = 0.0;
    if (Kp > 0) {
        /* w P(I) + (1 - w) log(1 + exp(T)), whose derivative in T is
         * p (1 - w p); w = 1 and w = 0 give either term exactly. The paper's
         * term alone (w = 1) needs no logarithm. */
        double w = s->target_mix;
        for (size_t o = 0; o < Kd; o++) {
            double pt = pg_sigmoid(T[o]);
            double softplus = w < 1.0 ? -pg_log_sigmoid(-T[o]) : 0.0;
            sparsity_t += w * pt + (1.0 - w) * softplus;
            dT[o] -= s->beta_I * (pt * (1.0 - w * pt));
        }
        int wmax = 0;
        for (int l = 0; l <= s->n_layers; l++) if (s->sizes[l] > wmax) wmax = s->sizes[l];
        double *scratch = alloc(sizeof(double) * 2 * (size_t) Kp * wmax);
        gim_nets_backward(s, L, par, &nets, 0, dT, grad, scratch);
        for (int q = 0; q < s->n_psi; q++)
            gim_nets_backward(s, L, par, &nets, q + 1, dPsi[q], grad, scratch);
    }

    rep->log_prior = log_prior(s, L, par, grad) + weight_lp;
    rep->sparsity_graph = sparsity_g;
    rep->sparsity_targets = sparsity_t;
    rep->objective = ll_J + rep->log_prior - s->beta_M * sparsity_g -
        s->beta_I * sparsity_t - penalty;
    if (!all_finite(grad, L->total)) rep->status = GIM_BAD_GRADIENT;
}

/* The point estimate's graph G* (d x d, 0/1) into G: 1[u.v > 0], in the
 * order of the potentials, made a DAG as the graph samples are. */
void gim_point_graph(const gim_settings *s, const gim_layout *L, const double *par, double *G)
{
    int d = s->d;
    size_t dd = (size_t) d * d;
    void *(*alloc)(size_t) = s->alloc;
    latent_scores(s, L, par, G);
    double *score = NULL;
    if (s->graph_samples == GIM_SAMPLES_DAG) {      /* the point estimate made a DAG too */
        score = alloc(sizeof(double) * dd);
        memcpy(score, G, sizeof(double) * dd);
    }
    for (size_t e = 0; e < dd; e++) G[e] = G[e] > 0.0 ? 1.0 : 0.0;
    if (s->acyclicity == GIM_ACYCLIC_ORDER) {       /* and in the order of the potentials */
        const double *p = par + L->order;
        for (int j = 0; j < d; j++)
            for (int i = 0; i < d; i++) if (!(p[i] < p[j])) G[i + (size_t) d * j] = 0.0;
    }
    if (score)
        gim_project_dag(G, score, d, alloc(sizeof(gim_edge) * dd),
                        alloc(sizeof(uint64_t) * gim_dag_scratch_words(d)));
}

/* The log-likelihood at the point estimate with graph G (see
 * gim_point_loglik()), summed over the cells (times their weight); with
 * grad, adds its gradient with respect to the mechanisms and noise scales. */
static double point_pass(const gim_settings *s, const gim_layout *L, const gim_data *D,
                         const double *par, const double *G, double *grad)
{
    int d = s->d, Kp = D->Kp;
    size_t Kd = (size_t) Kp * d;
    void *(*alloc)(size_t) = s->alloc;
    double *ti = alloc(sizeof(double) * (Kd ? Kd : 1));
    double *ps[3] = { NULL, NULL, NULL };
    for (int q = 0; q < s->n_psi; q++) ps[q] = alloc(sizeof(double) * (Kd ? Kd : 1));
    if (Kp > 0) {
        gim_net_cache nets;
        gim_nets_alloc(s, Kp, &nets, alloc);
        gim_nets_forward(s, L, par, D->feat, &nets);
        const double *T = gim_net_output(s, &nets, 0);
        for (int k = 0; k < Kp; k++)
            for (int j = 0; j < d; j++) {
                size_t o = k + (size_t) Kp * j, idx = (size_t) k * d + j;
                ti[idx] = pg_sigmoid(T[o]);
                for (int q = 0; q < s->n_psi; q++) ps[q][idx] = gim_net_output(s, &nets, q + 1)[o];
            }
    }
    double ell, w;
    gim_pass P = {
        .M = 1, .graph = G, .dedup = 1, .ti = ti, .ps = { ps[0], ps[1], ps[2] },
        .want_theta = grad != NULL, .want_graph = 0, .want_phi = 0, .ell = &ell, .w = &w
    };
    gim_pass_run(s, L, D, par, &P, grad);
    return P.loglik;
}

double gim_point_loglik(const gim_settings *s, const gim_layout *L, const gim_data *D,
                        const double *par)
{
    double *G = s->alloc(sizeof(double) * (size_t) s->d * s->d);
    gim_point_graph(s, L, par, G);
    double ll = point_pass(s, L, D, par, G, NULL);
    return D->n > 0 ? ll / (D->n * D->weight) : 0.0;
}

double gim_point_objective(const gim_settings *s, const gim_layout *L, const gim_data *D,
                           const double *par, const double *G, double *grad)
{
    /* The pass adds to the mechanism block only (no graph or net gradient
     * asked for), and so do the priors. */
    memset(grad, 0, sizeof(double) * L->total);
    double lp = point_pass(s, L, D, par, G, grad) + theta_prior(s, L, par, grad);
    if (s->weight_prior == GIM_PRIOR_MASKED) {
        /* An edge's weights weighed by G*, the point estimate of P(G_ij). */
        size_t w_start, per_edge;
        edge_weight_block(s, L, &w_start, &per_edge);
        for (size_t e = 0; e < (size_t) s->d * s->d; e++)
            if (G[e] != 0.0)
                lp -= edge_weight_prior(s, par + w_start + per_edge * e,
                                        grad + w_start + per_edge * e, per_edge, 1.0);
    }
    return lp;
}

