/* The perturbation nets g_phi (target logits) and h_phi (one net per
 * intervention parameter), SPEC section 1: tanh MLPs from the standardised
 * features of the Kp perturbed contexts to d outputs, identity last layer.
 * All contexts go through each layer as one BLAS product. */
#define USE_FC_LEN_T
#include <R_ext/BLAS.h>
#ifndef FCONE
#define FCONE
#endif
#include <math.h>
#include <string.h>
#include "gim_engine.h"
#include "gim_simd.h"
#include "gim_tanh.h"

/* z[, o] += b[o], then tanh for hidden layers: the vectorised gim_tanh
 * (libm's scalar tanh and expm1 took 4% of a late training step). */
GIM_TARGET_CLONES
static void add_bias(double *z, const double *b, int Kp, int out, int hidden)
{
    for (int o = 0; o < out; o++) {
        double *zo = z + (size_t) o * Kp, bo = b[o];
        if (hidden) {
            #pragma omp simd
            for (int r = 0; r < Kp; r++) zo[r] = gim_tanh(zo[r] + bo);
        } else {
            for (int r = 0; r < Kp; r++) zo[r] += bo;
        }
    }
}

void gim_nets_alloc(const gim_settings *s, int Kp, gim_net_cache *c,
                    void *(*alloc)(size_t))
{
    c->Kp = Kp;
    for (int q = 0; q <= s->n_psi; q++)
        for (int l = 1; l <= s->n_layers; l++)
            c->act[q][l] = alloc(sizeof(double) * (size_t) Kp * s->sizes[l]);
}

void gim_nets_forward(const gim_settings *s, const gim_layout *L, const double *par,
                      const double *feat, gim_net_cache *c)
{
    int Kp = c->Kp;
    const double one = 1.0, zero = 0.0;
    for (int q = 0; q <= s->n_psi; q++) {
        c->act[q][0] = (double *) feat;
        for (int l = 0; l < s->n_layers; l++) {
            int in = s->sizes[l], out = s->sizes[l + 1];
            double *z = c->act[q][l + 1];
            const double *W = par + L->net_w[q][l], *b = par + L->net_b[q][l];
            F77_CALL(dgemm)("N", "N", &Kp, &out, &in, &one, c->act[q][l], &Kp, W, &in,
                            &zero, z, &Kp FCONE FCONE);
            add_bias(z, b, Kp, out, l + 1 < s->n_layers);
        }
    }
}

const double *gim_net_output(const gim_settings *s, const gim_net_cache *c, int q)
{
    return c->act[q][s->n_layers];
}

/* Adds d J / d (weights of net q) to grad. `scratch` holds 2 Kp x max width. */
void gim_nets_backward(const gim_settings *s, const gim_layout *L, const double *par,
                       gim_net_cache *c, int q, double *dout, double *grad,
                       double *scratch)
{
    int Kp = c->Kp, wmax = 0;
    for (int l = 0; l <= s->n_layers; l++) if (s->sizes[l] > wmax) wmax = s->sizes[l];
    double *dz = dout, *dprev = scratch, *spare = scratch + (size_t) Kp * wmax;
    const double one = 1.0, zero = 0.0;
    for (int l = s->n_layers - 1; l >= 0; l--) {
        int in = s->sizes[l], out = s->sizes[l + 1];
        const double *W = par + L->net_w[q][l];
        F77_CALL(dgemm)("T", "N", &in, &out, &Kp, &one, c->act[q][l], &Kp, dz, &Kp,
                        &one, grad + L->net_w[q][l], &in FCONE FCONE);
        double *gb = grad + L->net_b[q][l];
        for (int o = 0; o < out; o++) {
            const double *dzo = dz + (size_t) o * Kp;
            double acc = 0.0;
            for (int r = 0; r < Kp; r++) acc += dzo[r];
            gb[o] += acc;
        }
        if (l == 0) break;
        F77_CALL(dgemm)("N", "T", &Kp, &in, &out, &one, dz, &Kp, W, &in, &zero,
                        dprev, &Kp FCONE FCONE);
        const double *a = c->act[q][l];      /* tanh output of layer l */
        for (size_t e = 0; e < (size_t) Kp * in; e++) dprev[e] *= 1.0 - a[e] * a[e];
        dz = dprev;
        double *t = dprev; dprev = spare; spare = t;
    }
}
