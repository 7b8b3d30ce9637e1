/* exp, log and the sine/cosine of a fraction of a turn, written so that loops
 * over many arguments vectorise.
 *
 * glibc's versions are scalar calls; in a training step they are evaluated
 * for every Monte Carlo sample x context x gene (the target and intervention
 * parameter draws, the intervened noise scales), hundreds of thousands of
 * times. These use range reduction and polynomials only, no branches and no
 * tables: relative error below 1e-15 on the ranges the engine uses (checked
 * against R's functions in test-engine-math.R). */
#ifndef GIM_VMATH_H
#define GIM_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Always inlined, so that they vectorise inside the callers' loops (and get
 * the instruction set of a cloned caller, see gim_simd.h). */
#if defined(__GNUC__)
#define GIM_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define GIM_ALWAYS_INLINE inline
#endif

static GIM_ALWAYS_INLINE double gim_bits_to_double(int64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static GIM_ALWAYS_INLINE int64_t gim_double_to_bits(double x)
{
    int64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

/* min(x, c) by arithmetic alone: a conditional here stops GCC from
 * vectorising the loops that use it (with -ftrapping-math, the default),
 * and this form is exact for x <= c: (x - c) + |x - c| is exactly 0. */
static GIM_ALWAYS_INLINE double gim_clamp_above(double x, double c)
{
    return x - 0.5 * ((x - c) + fabs(x - c));
}

/* x clamped to [-c, c], the same way on both sides. */
static GIM_ALWAYS_INLINE double gim_clamp(double x, double c)
{
    x = gim_clamp_above(x, c);
    return x + 0.5 * ((-c - x) + fabs(-c - x));
}

/* x rounded to the nearest integer (|x| < 2^51), by adding and removing
 * 1.5 * 2^52; floor() is a library call under -ftrapping-math and would not
 * vectorise. */
static GIM_ALWAYS_INLINE double gim_round(double x)
{
    const double shifter = 6755399441055744.0;
    return (x + shifter) - shifter;
}

/* exp(x) for |x| <= 708 (the result stays a normal number). Cody-Waite
 * reduction x = k ln 2 + r (ln 2 split in a 32-bit head and a tail), a
 * degree-13 Taylor polynomial on |r| <= ln(2) / 2, and 2^k built in the
 * exponent bits. Callers that know their range skip gim_exp()'s clamp,
 * which costs a third as much as the rest. */
static GIM_ALWAYS_INLINE double gim_exp_core(double x)
{
    const double shifter = 6755399441055744.0;  /* 1.5 * 2^52: rounds to an integer */
    double t = x * 1.4426950408889634074 + shifter;
    double kd = t - shifter;
    double r = (x - kd * 6.93147180369123816490e-01) - kd * 1.90821492927058770002e-10;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    int64_t k = gim_double_to_bits(t) - 0x4338000000000000LL;
    return p * gim_bits_to_double((k + 1023) << 52);
}

/* exp(x), x clamped to [-708, 708]. */
static GIM_ALWAYS_INLINE double gim_exp(double x)
{
    return gim_exp_core(gim_clamp(x, 708.0));
}

/* The logistic function 1 / (1 + exp(-x)), for any finite x. */
static GIM_ALWAYS_INLINE double gim_sigmoid(double x)
{
    return 1.0 / (1.0 + gim_exp(-x));
}

/* log(x) for positive normal x: x = 2^e m with m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh(f), f = (m - 1) / (m + 1), |f| < 0.172, by its series to
 * f^23. */
static GIM_ALWAYS_INLINE double gim_log(double x)
{
    /* Shift the bits so that the mantissa lands in [sqrt(1/2), sqrt(2)) and
     * the exponent absorbs the rest: integer operations, no branch. */
    const uint64_t sqrt_half = 0x3fe6a09e667f3bcdULL;
    uint64_t ix = (uint64_t) gim_double_to_bits(x) - sqrt_half;
    /* The exponent, biased so that a logical shift suffices, converted to
     * double through the 2^52 trick (no 64-bit integer conversion in AVX2). */
    uint64_t eb = (ix + 0x3ff0000000000000ULL) >> 52;
    double ed = gim_bits_to_double((int64_t) (eb | 0x4330000000000000ULL)) -
        4503599627370496.0 - 1023.0;
    double m = gim_bits_to_double((int64_t) ((ix & 0x000fffffffffffffULL) + sqrt_half));
    double f = (m - 1.0) / (m + 1.0), f2 = f * f;
    double s = 1.0 / 23.0;
    s = s * f2 + 1.0 / 21.0;
    s = s * f2 + 1.0 / 19.0;
    s = s * f2 + 1.0 / 17.0;
    s = s * f2 + 1.0 / 15.0;
    s = s * f2 + 1.0 / 13.0;
    s = s * f2 + 1.0 / 11.0;
    s = s * f2 + 1.0 / 9.0;
    s = s * f2 + 1.0 / 7.0;
    s = s * f2 + 1.0 / 5.0;
    s = s * f2 + 1.0 / 3.0;
    s = s * f2 + 1.0;
    return ed * 6.93147180369123816490e-01 + (2.0 * f * s + ed * 1.90821492927058770002e-10);
}

/* sin and cos of the angle 2 pi u, u in [0, 1): u is reduced exactly in turns
 * (quarter turn q, remainder |theta| <= pi / 4), Taylor polynomials to
 * theta^17 and theta^16, then the quadrant's sign and swap. */
static GIM_ALWAYS_INLINE void gim_sincos_turn(double u, double *sn, double *cs)
{
    double v = 4.0 * u;
    double qd = gim_round(v);                               /* 0 .. 4 */
    double th = (v - qd) * 1.57079632679489661923;
    /* Quadrant bits as 0/1 doubles (selects would stop vectorisation). */
    double qm = qd - 4.0 * gim_round(0.25 * qd - 0.375);    /* q mod 4 */
    double hi = gim_round(0.5 * qm - 0.25), odd = qm - 2.0 * hi;
    double t2 = th * th;
    double s = -1.0 / 355687428096000.0;          /* -1 / 17! */
    s = s * t2 + 1.0 / 1307674368000.0;
    s = s * t2 - 1.0 / 6227020800.0;
    s = s * t2 + 1.0 / 39916800.0;
    s = s * t2 - 1.0 / 362880.0;
    s = s * t2 + 1.0 / 5040.0;
    s = s * t2 - 1.0 / 120.0;
    s = s * t2 + 1.0 / 6.0;
    s = th - th * t2 * s;
    double c = 1.0 / 20922789888000.0;            /* 1 / 16! */
    c = c * t2 - 1.0 / 87178291200.0;
    c = c * t2 + 1.0 / 479001600.0;
    c = c * t2 - 1.0 / 3628800.0;
    c = c * t2 + 1.0 / 40320.0;
    c = c * t2 - 1.0 / 720.0;
    c = c * t2 + 1.0 / 24.0;
    c = c * t2 - 0.5;
    c = 1.0 + t2 * c;
    /* 2 pi u = q pi / 2 + theta: rotate (cos, sin) of theta by q quarters:
     * q odd swaps them, q >= 2 negates sin, q = 1 or 2 negates cos. */
    double ss = s + odd * (c - s), cc = c + odd * (s - c);
    double neg_c = odd + hi - 2.0 * odd * hi;
    *sn = (1.0 - 2.0 * hi) * ss;
    *cs = (1.0 - 2.0 * neg_c) * cc;
}

#endif
