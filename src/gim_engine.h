/* The GIM training engine (SPEC section 2) as plain C data and kernels.
 *
 * Nothing here knows R: gim_call.c converts the R objects into these structs,
 * checks them, and owns all memory (R_alloc), so an error or an interrupt
 * leaks nothing. The parameter vector is one flat double array whose layout
 * (gim_layout) is mirrored by R/engine-layout.R. src/README.md maps the
 * files and says what to edit to add a mechanism or an intervention type. */
#ifndef GIM_ENGINE_H
#define GIM_ENGINE_H

#include <stdint.h>
#include <stddef.h>
#include "engine_codes.h"   /* mechanism, intervention, ... codes shared with R */


#define GIM_MAX_LAYERS 8
#define GIM_MAX_NETS 4            /* targets + at most 3 psi nets */

typedef struct {
    int mechanism, intervention, graph_gradient;
    int d, k, H, p;               /* genes, latent rank, mechanism hidden, features */
    int n_layers;                 /* layers of each g/h net (hidden + output) */
    int sizes[GIM_MAX_LAYERS + 1];/* p, hidden..., d */
    int n_psi;                    /* psi nets: 2 hard, 3 hard zilognormal, 1 shift */
    int M;                        /* Monte Carlo samples */
    double tau, psi_sd;
    double alpha, beta_M, beta_I, lambda, mu;
    double var_z, var_theta, var_sigma, var_phi;
    double var_order;             /* prior variance of the node potentials */
    int weight_prior;             /* GIM_PRIOR_ALL or GIM_PRIOR_MASKED (gim_objective.c) */
    int graph_samples;            /* GIM_SAMPLES_RAW or GIM_SAMPLES_DAG (gim_dag.c) */
    int acyclicity;               /* GIM_ACYCLIC_PENALTY or GIM_ACYCLIC_ORDER */
    int mc_estimator;             /* GIM_MC_MARGINAL or GIM_MC_EXPECTED (gim_likelihood.c) */
    int target_sparsity;          /* GIM_TARGETS_* */
    double target_mix;            /* weight of the paper's term P(I) in the target
                                   * sparsity, the softplus term having 1 - target_mix:
                                   * 1 "probability", 0 "softplus", the annealing's
                                   * progress "annealed" (gim_call.c) */
    int power_iter;
    int screen;                   /* single-precision screening of samples (gim_screen.c) */
    int n_threads;
    void *(*alloc)(size_t);       /* scratch allocator (R_alloc via gim_call.c) */
} gim_settings;

/* Offsets into the flat parameter vector. */
typedef struct {
    size_t u, v;                  /* d x k each */
    size_t order;                 /* d node potentials (GIM_ACYCLIC_ORDER only) */
    size_t theta;                 /* start of the mechanism block */
    size_t w, b;                  /* linear: d x d weights, d bias */
    size_t w1, b1, w2, b2;        /* mlp: H x d x d, H x d, H x d, d */
    size_t log_sd, zero_logit;    /* d each; zero_logit only for zilognormal */
    size_t phi;                   /* start of the nets */
    size_t net_w[GIM_MAX_NETS][GIM_MAX_LAYERS], net_b[GIM_MAX_NETS][GIM_MAX_LAYERS];
    size_t total;
} gim_layout;

/* Training (or held-out) cells sorted by context: contexts 0..Kp-1 are the
 * perturbed ones (row k of `feat`), Kp..K-1 observational. */
typedef struct {
    int n, d, K, Kp;
    const double *xc;             /* n x d, column-major (a gene's cells contiguous) */
    const int *start;             /* K + 1 block starts */
    double weight;                /* each cell's log-likelihood counts this many
                                   * times: N / B for a minibatch of B of N cells */
    const double *feat;           /* Kp x p, column-major, standardised */
    /* Sufficient statistics per context and gene (index k + K * j); for
     * zilognormal, s1/s2 are sums of log x and (log x)^2 over positive cells. */
    double *cnt, *n0, *s1, *s2;
    /* For the single-precision screening (gim_screen.c), made once per
     * .Call rather than every step: x in float (n x d, then padding) and
     * each gene's max |x|. NULL when screening cannot run. */
    float *xf;
    double *xmax;
} gim_data;

/* Everything one evaluation of the objective reports. */
typedef struct {
    double objective;             /* J of the pass whose gradient is reported for Z */
    double loglik;                /* log-mean-exp likelihood, hard graphs */
    double loglik_relaxed;        /* same with relaxed graphs (relaxed mode only) */
    double acyclicity;            /* mean spectral radius of the relaxed graphs */
    double log_prior;             /* Gaussian priors */
    double sparsity_graph, sparsity_targets;
    double ess;                   /* effective sample size of the MC weights */
    double configs;               /* parent configurations evaluated (all passes) */
    double screened;              /* samples the float pass ruled out (all passes) */
    int status;                   /* 0 ok, else a GIM_BAD_* code */
} gim_report;

enum { GIM_OK = 0, GIM_BAD_LOGLIK = 1, GIM_BAD_ACYCLICITY = 2, GIM_BAD_GRADIENT = 3,
       GIM_BAD_NETS = 4 };

/* Optional inputs/outputs used by the gradient tests: explicit graph values
 * per Monte Carlo sample (M x d x d) replace the sampled ones, and the
 * gradient with respect to them is written back. */
typedef struct {
    const double *graph_override;
    double *dgraph;               /* M x d x d, d J / d g^m_ij (may be NULL) */
    double *graph_relaxed;        /* M x d x d, the relaxed samples (may be NULL) */
} gim_debug;

void gim_layout_make(const gim_settings *s, gim_layout *L);

/* Acyclic graph samples (gim_dag.c). */
typedef struct { double z; int e; } gim_edge;
size_t gim_dag_scratch_words(int d);
void gim_project_dag(double *g, const double *z, int d, gim_edge *edges, uint64_t *reach);
void gim_data_stats(const gim_settings *s, gim_data *D);

/* One evaluation: objective and its gradient (ascent direction) at the noise
 * keyed by (seed, step). `grad` has layout.total entries. */
void gim_objective(const gim_settings *s, const gim_layout *L, const gim_data *D,
                   const double *par, uint64_t seed, int64_t step,
                   double *grad, gim_report *rep, const gim_debug *dbg);

/* Log-likelihood at the point estimate: G* = 1[u.v > 0], target
 * probabilities as soft targets, psi at the net outputs. Per-cell mean over
 * the data. No randomness. */
double gim_point_loglik(const gim_settings *s, const gim_layout *L, const gim_data *D,
                        const double *par);

/* The polishing objective (gim_control(polish_steps)): the log-likelihood at
 * the point estimate (graph G, d x d 0/1, from gim_point_graph()) summed over
 * the cells, plus the priors of the mechanism block [theta, phi). Writes its
 * gradient with respect to that block into grad (L->total entries, 0
 * outside the block). */
double gim_point_objective(const gim_settings *s, const gim_layout *L, const gim_data *D,
                           const double *par, const double *G, double *grad);
void gim_point_graph(const gim_settings *s, const gim_layout *L, const double *par, double *G);

/* g/h nets (gim_nets.c): forward over the Kp perturbed contexts, keeping
 * activations for the backward pass. */
typedef struct {
    int Kp;
    double *act[GIM_MAX_NETS][GIM_MAX_LAYERS + 1];   /* act[q][0] = features */
} gim_net_cache;

void gim_nets_alloc(const gim_settings *s, int Kp, gim_net_cache *c,
                    void *(*alloc)(size_t));
void gim_nets_forward(const gim_settings *s, const gim_layout *L, const double *par,
                      const double *feat, gim_net_cache *c);
/* out[q] points at the Kp x d output of net q. */
const double *gim_net_output(const gim_settings *s, const gim_net_cache *c, int q);
/* dout: Kp x d gradient of J w.r.t. the output of net q (overwritten). */
void gim_nets_backward(const gim_settings *s, const gim_layout *L, const double *par,
                       gim_net_cache *c, int q, double *dout, double *grad,
                       double *scratch);

#endif
