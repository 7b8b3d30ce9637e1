/* tanh for the mechanism MLPs, written so that loops over cells vectorise.
 *
 * glibc's tanh is a scalar call and took two thirds of a training step.
 * Here tanh(a) = sign(a) (1 - 2 / (exp(2|a|) + 1)) with the vectorisable
 * gim_exp. The absolute error is below 3e-15, which is all an MLP unit needs
 * (its output enters sums); forward and backward passes use the same
 * function, so gradients stay exact for the computed objective. */
#ifndef GIM_TANH_H
#define GIM_TANH_H

#include <math.h>
#include "gim_vmath.h"

static GIM_ALWAYS_INLINE double gim_tanh(double a)
{
    double x = 2.0 * fabs(a);
    x = gim_clamp(x, 40.0);                      /* tanh(20) is 1 */
    double th = 1.0 - 2.0 / (gim_exp(x) + 1.0);
    return copysign(th, a);
}

#endif
