/* The logistic function 1 / (1 + exp(-z)) at libm precision, for the scalar
 * uses in the engine and the sampler; both branches avoid exp overflow for
 * large |z|. (The vectorised approximation for the cell and sample loops is
 * gim_sigmoid() in gim_vmath.h.) Plain C: kernels include it. */
#ifndef PG_SIGMOID_H
#define PG_SIGMOID_H

#include <math.h>

static inline double pg_sigmoid(double z)
{
    if (z >= 0.0) return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

/* log(sigmoid(z)) without overflow; -pg_log_sigmoid(-z) = log(1 + exp(z)). */
static inline double pg_log_sigmoid(double z)
{
    return z >= 0.0 ? -log1p(exp(-z)) : z - log1p(exp(z));
}

#endif
