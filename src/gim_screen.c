/* Single-precision forward pass of an MLP configuration, for screening the
 * Monte Carlo samples (see gim_likelihood.c, fact 4).
 *
 * Units, tanh and means are computed in float: twice the lanes per vector
 * and a shorter exp polynomial than the double pass. Residuals r = y - f and
 * their per-context sums are formed in double from the float means, so the
 * only error is that of f, which gim_screen_forward() bounds a priori from
 * the weights and the largest |x| of each parent. */
#include <math.h>
#include <string.h>
#include <stdint.h>
#include "gim_screen.h"
#include "gim_simd.h"

#define EPS_FLOAT 5.9604644775390625e-08   /* unit roundoff of float, 2^-24 */
/* Bound on |gim_tanhf(a) - tanh(a)| (test-engine-math.R checks it). */
#define TANHF_ERROR 1e-6
/* Largest number of hidden units per mechanism (gim_call.c checks H <= 64). */
#define GIM_SCREEN_MAX_H 64

/* tanh in float: 1 - 2 / (exp(2|a|) + 1) with a degree-7 polynomial for
 * exp on |r| <= ln(2) / 2 (error below 1e-8, under float rounding). */
static GIM_ALWAYS_INLINE float gim_tanhf(float a)
{
    float x = 2.0f * fabsf(a);
    x = x - 0.5f * ((x - 40.0f) + fabsf(x - 40.0f));     /* min(x, 40): tanh(20) is 1 */
    const float shifter = 12582912.0f;                  /* 1.5 * 2^23 */
    float t = x * 1.44269504088896341f + shifter;
    float kd = t - shifter;
    float r = (x - kd * 0.693359375f) + kd * 2.12194440e-4f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t k, bits;
    memcpy(&k, &t, sizeof k);
    k -= 0x4B400000;                                    /* the bits of the shifter */
    bits = (k + 127) << 23;
    float two_k;
    memcpy(&two_k, &bits, sizeof two_k);
    return copysignf(1.0f - 2.0f / (p * two_k + 1.0f), a);
}

/* For the engine-math tests. */
double gim_tanhf_double(double a)
{
    return (double) gim_tanhf((float) a);
}

void gim_screen_data_make(gim_data *D, void *(*alloc)(size_t))
{
    size_t nd = (size_t) D->n * D->d;
    D->xf = alloc(sizeof(float) * (nd + GIM_SCREEN_PAD));
    D->xmax = alloc(sizeof(double) * (size_t) D->d);
    for (size_t e = 0; e < nd; e++) D->xf[e] = (float) D->xc[e];
    memset(D->xf + nd, 0, sizeof(float) * GIM_SCREEN_PAD);
    for (int j = 0; j < D->d; j++) {
        double mx = 0.0;
        const double *x = D->xc + (size_t) D->n * j;
        for (int c = 0; c < D->n; c++) if (fabs(x[c]) > mx) mx = fabs(x[c]);
        D->xmax[j] = mx;
    }
}

size_t gim_screen_scratch_len(int H, int d)
{
    return (size_t) GIM_SCREEN_BLOCK * (H + 1) + (size_t) d * H + (size_t) H;
}

#if defined(__GNUC__)
typedef float gim_f8 __attribute__((vector_size(32)));

/* Units h .. h + 3 for the 16 cells from c; unit u to tt[u * BLOCK + o]. */
static GIM_ALWAYS_INLINE void tile16x4(const float *xf, size_t n, int npa, const int *pa,
                                       const float *w, int H, const float *b1, int h, int c,
                                       float *tt)
{
    gim_f8 a0 = (gim_f8) {0} + b1[h], a1 = (gim_f8) {0} + b1[h + 1];
    gim_f8 a2 = (gim_f8) {0} + b1[h + 2], a3 = (gim_f8) {0} + b1[h + 3];
    gim_f8 e0 = a0, e1 = a1, e2 = a2, e3 = a3;
    for (int p = 0; p < npa; p++) {
        const float *x = xf + n * pa[p] + c, *wp = w + (size_t) p * H + h;
        gim_f8 xl, xh;
        memcpy(&xl, x, sizeof xl);
        memcpy(&xh, x + 8, sizeof xh);
        a0 += wp[0] * xl; e0 += wp[0] * xh;
        a1 += wp[1] * xl; e1 += wp[1] * xh;
        a2 += wp[2] * xl; e2 += wp[2] * xh;
        a3 += wp[3] * xl; e3 += wp[3] * xh;
    }
    float *t = tt + (size_t) h * GIM_SCREEN_BLOCK;
    memcpy(t, &a0, sizeof a0); memcpy(t + 8, &e0, sizeof e0); t += GIM_SCREEN_BLOCK;
    memcpy(t, &a1, sizeof a1); memcpy(t + 8, &e1, sizeof e1); t += GIM_SCREEN_BLOCK;
    memcpy(t, &a2, sizeof a2); memcpy(t + 8, &e2, sizeof e2); t += GIM_SCREEN_BLOCK;
    memcpy(t, &a3, sizeof a3); memcpy(t + 8, &e3, sizeof e3);
}

/* One unit h for the 32 cells from c. */
static GIM_ALWAYS_INLINE void tile32(const float *xf, size_t n, int npa, const int *pa,
                                     const float *w, int H, float b, int h, int c, float *out)
{
    gim_f8 s0 = (gim_f8) {0} + b, s1 = s0, s2 = s0, s3 = s0;
    for (int p = 0; p < npa; p++) {
        const float *x = xf + n * pa[p] + c;
        float wp = w[(size_t) p * H + h];
        gim_f8 x0, x1, x2, x3;
        memcpy(&x0, x, sizeof x0); memcpy(&x1, x + 8, sizeof x1);
        memcpy(&x2, x + 16, sizeof x2); memcpy(&x3, x + 24, sizeof x3);
        s0 += wp * x0; s1 += wp * x1; s2 += wp * x2; s3 += wp * x3;
    }
    memcpy(out, &s0, sizeof s0); memcpy(out + 8, &s1, sizeof s1);
    memcpy(out + 16, &s2, sizeof s2); memcpy(out + 24, &s3, sizeof s3);
}
#endif

/* Units and means of the cells c0 .. c0 + nv - 1, nv a multiple of 32 (cells
 * past the block are computed on padding or the next cells, never used). */
static GIM_ALWAYS_INLINE void block_units_f(const float *xf, size_t n, int npa, const int *pa,
                                            const float *w, int H, const float *b1,
                                            const double *w2, float b2, int c0, int nv,
                                            float *tt, float *f)
{
    int h = 0;
#if defined(__GNUC__)
    for (; h + 4 <= H; h += 4)
        for (int c = 0; c < nv; c += 16)
            tile16x4(xf, n, npa, pa, w, H, b1, h, c0 + c, tt + c);
    for (; h < H; h++)
        for (int c = 0; c < nv; c += 32)
            tile32(xf, n, npa, pa, w, H, b1[h], h, c0 + c, tt + (size_t) h * GIM_SCREEN_BLOCK + c);
#else
    for (; h < H; h++) {
        float *a = tt + (size_t) h * GIM_SCREEN_BLOCK;
        for (int c = 0; c < nv; c++) a[c] = b1[h];
        for (int p = 0; p < npa; p++) {
            const float *x = xf + n * pa[p] + c0;
            float wp = w[(size_t) p * H + h];
            for (int c = 0; c < nv; c++) a[c] += wp * x[c];
        }
    }
#endif
    float w2f[GIM_SCREEN_MAX_H];
    for (h = 0; h < H; h++) w2f[h] = (float) w2[h];
    /* Sixteen cells at a time through all units: their means stay in
     * registers. */
    for (int c0 = 0; c0 < nv; c0 += 16) {
        float fc[16];
        for (int c = 0; c < 16; c++) fc[c] = b2;
        for (int u = 0; u < H; u++) {
            const float *a = tt + (size_t) u * GIM_SCREEN_BLOCK + c0;
            float w = w2f[u];
            #pragma omp simd
            for (int c = 0; c < 16; c++) fc[c] += w * gim_tanhf(a[c]);
        }
        memcpy(f + c0, fc, sizeof fc);
    }
}

/* q1 += sum r, q2 += sum r^2, sa += sum |r| over the cells c < nb, r = y -
 * f in double: four-lane partial sums in registers (a scalar loop was a
 * chain of dependent additions, a sixth of the float pass). Only the
 * screening bound uses these sums; its slack covers their rounding. */
static GIM_ALWAYS_INLINE void residual_sums(const double *y, const float *f, int nb,
                                            double *q1, double *q2, double *sa)
{
    int c = 0;
#if defined(__GNUC__)
    typedef double v4d __attribute__((vector_size(32)));
    typedef long long v4l __attribute__((vector_size(32)));
    const v4l nosign = { INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX };
    v4d a1 = {0, 0, 0, 0}, a2 = a1, a3 = a1, b1 = a1, b2 = a1, b3 = a1;
    for (; c + 8 <= nb; c += 8) {
        v4d yl, yh;
        memcpy(&yl, y + c, sizeof yl);
        memcpy(&yh, y + c + 4, sizeof yh);
        v4d fl = { f[c], f[c + 1], f[c + 2], f[c + 3] };
        v4d fh = { f[c + 4], f[c + 5], f[c + 6], f[c + 7] };
        v4d rl = yl - fl, rh = yh - fh;
        v4l il, ih;
        memcpy(&il, &rl, sizeof il);
        memcpy(&ih, &rh, sizeof ih);
        il &= nosign;
        ih &= nosign;
        v4d al, ah;
        memcpy(&al, &il, sizeof al);
        memcpy(&ah, &ih, sizeof ah);
        a1 += rl; a2 += rl * rl; a3 += al;
        b1 += rh; b2 += rh * rh; b3 += ah;
    }
    a1 += b1; a2 += b2; a3 += b3;
    *q1 += (a1[0] + a1[1]) + (a1[2] + a1[3]);
    *q2 += (a2[0] + a2[1]) + (a2[2] + a2[3]);
    *sa += (a3[0] + a3[1]) + (a3[2] + a3[3]);
#endif
    for (; c < nb; c++) {
        double r = y[c] - (double) f[c];
        *q1 += r; *q2 += r * r; *sa += fabs(r);
    }
}

GIM_TARGET_CLONES
double gim_screen_forward(const gim_settings *s, const gim_layout *L, const gim_data *D,
                          const double *par, int j, int npa,
                          const int *pa, const double *weff, double *Q1, double *Q2,
                          double *Sa, float *scratch)
{
    int H = s->H, zi = s->mechanism == GIM_ZILOGNORMAL;
    size_t n = (size_t) D->n;
    const double *b1 = par + L->b1 + (size_t) H * j, *w2 = par + L->w2 + (size_t) H * j;
    double b2 = par[L->b2 + j];
    float *tt = scratch, *f = tt + (size_t) GIM_SCREEN_BLOCK * H;
    float *w = f + GIM_SCREEN_BLOCK, *b1f = w + (size_t) npa * H;
    for (size_t e = 0; e < (size_t) npa * H; e++) w[e] = (float) weff[e];
    for (int h = 0; h < H; h++) b1f[h] = (float) b1[h];

    const double *xj = D->xc + n * j;
    for (int k = 0; k < D->K; k++) {
        double q1 = 0.0, q2 = 0.0, sa = 0.0;
        for (int c0 = D->start[k]; c0 < D->start[k + 1]; c0 += GIM_SCREEN_BLOCK) {
            int nb = D->start[k + 1] - c0 < GIM_SCREEN_BLOCK ? D->start[k + 1] - c0 :
                GIM_SCREEN_BLOCK;
            block_units_f(D->xf, n, npa, pa, w, H, b1f, w2, (float) b2, c0, (nb + 31) / 32 * 32,
                          tt, f);
            if (zi) {
                for (int c = 0; c < nb; c++) {
                    double y = xj[c0 + c];
                    if (y <= 0.0) continue;
                    double r = log(y) - (double) f[c];
                    q1 += r; q2 += r * r; sa += fabs(r);
                }
            } else {
                residual_sums(xj + c0, f, nb, &q1, &q2, &sa);
            }
        }
        Q1[k] = q1; Q2[k] = q2; Sa[k] = sa;
    }

    /* Error of f. Unit h: the float pre-activation sums npa + 1 terms, each
     * at most A_h = |b1_h| + sum_p |w_ph| max|x_p| in size, with x and w
     * rounded to float: error below (npa + 3) eps A_h. tanh adds its own
     * error and passes the input's on (its slope is at most 1). The output
     * sum of H + 1 terms adds (H + 2) eps (|b2| + sum_h |w2_h|). Doubled
     * for safety. */
    double df = 0.0, out = fabs(b2);
    for (int h = 0; h < H; h++) {
        double A = fabs(b1[h]);
        for (int p = 0; p < npa; p++) A += fabs(weff[(size_t) p * H + h]) * D->xmax[pa[p]];
        df += fabs(w2[h]) * ((npa + 3) * EPS_FLOAT * A + TANHF_ERROR);
        out += fabs(w2[h]);
    }
    df += (H + 2) * EPS_FLOAT * out;
    return 2.0 * df;
}
