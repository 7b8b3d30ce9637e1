/* One pass of the Monte Carlo likelihood over the cells (gim_likelihood.c). */
#ifndef GIM_LIKELIHOOD_H
#define GIM_LIKELIHOOD_H

#include "gim_engine.h"

/* One pass: its inputs, what it is asked for, and its outputs. Fill it with
 * designated initialisers (.M = ..., .graph = ...); fields left out are 0. */
typedef struct {
    int M;
    const double *graph;      /* M x d x d graph values fed to the mechanisms */
    int dedup;                /* merge identical columns (discrete graphs) */
    const double *ti;         /* M x Kp x d relaxed targets, index (m Kp + k) d + j */
    const double *ps[3];      /* psi samples, same index: mean, log_sd, zero_logit or shift */
    int want_theta, want_graph, want_phi;
    double *ell, *w;          /* M: per-sample log-likelihood, softmax weights */
    double loglik;
    int configs;              /* distinct (gene, parent set) pairs evaluated */
    double *dT, *dPsi[3];     /* Kp x d (k + Kp j): d J / d target logit, d J / d psi */
    double *dg;               /* M x d x d: d J / d graph value */
    int screened;             /* out: samples ruled out by the float pass (fact 4) */
} gim_pass;

/* Adds the requested gradients (mechanism block into grad; targets, psi and
 * graph values into the pass arrays, which the caller zeroes). */
void gim_pass_run(const gim_settings *s, const gim_layout *L, const gim_data *D,
                  const double *par, gim_pass *P, double *grad);

#endif
