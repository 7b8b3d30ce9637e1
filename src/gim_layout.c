/* The flat parameter layout (mirrored by R/engine-layout.R, and compared
 * with it block by block through pg_gim_layout at every fit start) and the
 * per-context sufficient statistics that make intervened genes cost O(1) per
 * context instead of O(cells) (see gim_likelihood.c). */
#include <math.h>
#include <string.h>
#include "gim_engine.h"

void gim_layout_make(const gim_settings *s, gim_layout *L)
{
    size_t d = s->d, k = s->k, H = s->H, o = 0;
    memset(L, 0, sizeof *L);
    L->u = o; o += d * k;
    L->v = o; o += d * k;
    if (s->acyclicity == GIM_ACYCLIC_ORDER) { L->order = o; o += d; }
    L->theta = o;
    if (s->mechanism == GIM_LINEAR) {
        L->w = o; o += d * d;
        L->b = o; o += d;
    } else {
        L->w1 = o; o += H * d * d;
        L->b1 = o; o += H * d;
        L->w2 = o; o += H * d;
        L->b2 = o; o += d;
    }
    L->log_sd = o; o += d;
    if (s->mechanism == GIM_ZILOGNORMAL) { L->zero_logit = o; o += d; }
    L->phi = o;
    for (int q = 0; q <= s->n_psi; q++)
        for (int l = 0; l < s->n_layers; l++) {
            L->net_w[q][l] = o; o += (size_t) s->sizes[l] * s->sizes[l + 1];
            L->net_b[q][l] = o; o += (size_t) s->sizes[l + 1];
        }
    L->total = o;
}

void gim_data_stats(const gim_settings *s, gim_data *D)
{
    int K = D->K, d = D->d;
    size_t Kd = (size_t) K * d;
    memset(D->cnt, 0, sizeof(double) * Kd);
    memset(D->n0, 0, sizeof(double) * Kd);
    memset(D->s1, 0, sizeof(double) * Kd);
    memset(D->s2, 0, sizeof(double) * Kd);
    int zi = s->mechanism == GIM_ZILOGNORMAL;
    for (int j = 0; j < d; j++) {
        const double *xj = D->xc + (size_t) D->n * j;
        for (int k = 0; k < K; k++) {
            size_t e = k + (size_t) K * j;
            for (int n = D->start[k]; n < D->start[k + 1]; n++) {
                D->cnt[e] += 1.0;
                if (zi) {
                    if (xj[n] <= 0.0) { D->n0[e] += 1.0; continue; }
                    double lx = log(xj[n]);
                    D->s1[e] += lx; D->s2[e] += lx * lx;
                } else {
                    D->s1[e] += xj[n]; D->s2[e] += xj[n] * xj[n];
                }
            }
        }
    }
}
