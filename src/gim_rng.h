/* Counter-based random numbers for the training engine.
 *
 * Every draw is a pure function of (seed, step, stream, index), so the noise
 * of a step does not depend on the order in which threads consume it: one and
 * two threads give bit-identical fits, and a fit resumed at step t sees the
 * same noise as an uninterrupted one. The seed itself comes from R's RNG, so
 * set.seed() reproduces everything. The mixer is SplitMix64's finaliser
 * applied to a Weyl-sequence key, which passes BigCrush as a counter-based
 * generator (Steele, Lea & Flood 2014). */
#ifndef GIM_RNG_H
#define GIM_RNG_H

#include <stdint.h>
#include <math.h>
#include "gim_vmath.h"

static GIM_ALWAYS_INLINE uint64_t gim_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Key of one stream of one step; index varies fastest. */
static inline uint64_t gim_key(uint64_t seed, int64_t step, int stream)
{
    return gim_mix64(seed + 0x9e3779b97f4a7c15ULL * (uint64_t) (step + 1)) ^
        ((uint64_t) stream << 56);
}

/* Uniform on (0, 1): 52 random bits as the mantissa of a double in [1, 2)
 * (no integer-to-double conversion, so loops vectorise), offset by half a
 * unit so that 0 and 1 never occur. */
static GIM_ALWAYS_INLINE double gim_unif(uint64_t key, uint64_t index)
{
    uint64_t z = gim_mix64(key + 0x9e3779b97f4a7c15ULL * (index + 1));
    return gim_bits_to_double((int64_t) ((z >> 12) | 0x3ff0000000000000ULL)) -
        (1.0 - 0x1.0p-53);
}

/* Standard logistic: log(u / (1 - u)), one logarithm (u is never 0 or 1). */
static GIM_ALWAYS_INLINE double gim_logistic(uint64_t key, uint64_t index)
{
    double u = gim_unif(key, index);
    return gim_log(u / (1.0 - u));
}

/* Two independent standard normals by Box-Muller from the two uniforms of
 * one index (both halves are used: the intervention parameters come in
 * pairs, mean and log-sd). */
static GIM_ALWAYS_INLINE void gim_normal_pair(uint64_t key, uint64_t index,
                                           double *z1, double *z2)
{
    double u1 = gim_unif(key, 2 * index), u2 = gim_unif(key, 2 * index + 1);
    /* sqrt(y) as exp(log(y) / 2), y = -2 log u1 > 0: the library sqrt keeps
     * a branch for errno that stops the loops over draws from vectorising. */
    double r = gim_exp_core(0.5 * gim_log(-2.0 * gim_log(u1))), sn, cs;   /* exponent in [-18, 3] */
    gim_sincos_turn(u2, &sn, &cs);
    *z1 = r * cs;
    *z2 = r * sn;
}

#endif
