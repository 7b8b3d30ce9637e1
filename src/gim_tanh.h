/* tanh for the mechanism MLPs, written so that loops over cells vectorise.
 *
 * glibc's tanh is a scalar call and took two thirds of a training step.
 * Here tanh(a) = sign(a) (1 - 2 / (exp(2|a|) + 1)), with exp by Cody-Waite
 * reduction (k ln 2 split in a 32-bit head and a tail), a degree-13 Taylor
 * polynomial on |r| <= ln(2) / 2 and the power of two built in the exponent
 * bits. The absolute error is below 3e-15, which is all an MLP unit needs
 * (its output enters sums); forward and backward passes use the same
 * function, so gradients stay exact for the computed objective. */
#ifndef GIM_TANH_H
#define GIM_TANH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef _OPENMP
#pragma omp declare simd notinbranch
#endif
static inline double gim_tanh(double a)
{
    double x = 2.0 * fabs(a);
    x = 0.5 * (x + 40.0 - fabs(x - 40.0));    /* min(x, 40) without a branch; tanh(20) is 1 */
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
    int64_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits - 0x4338000000000000LL + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    double th = 1.0 - 2.0 / (p * scale + 1.0);
    return copysign(th, a);
}

#endif
