/* Single-precision screening of the Monte Carlo samples (gim_likelihood.c,
 * fact 4): a cheap forward pass of an MLP configuration in float, with a
 * bound on how far its residual sums can be from the double ones. */
#ifndef GIM_SCREEN_H
#define GIM_SCREEN_H

#include "gim_engine.h"

/* Cells per block of the float pass; tiles may run up to GIM_SCREEN_PAD
 * cells past a block, into the padding after the data. */
#define GIM_SCREEN_BLOCK 64
#define GIM_SCREEN_PAD 64

/* Fills D->xf (n x d column-major copy of x, then GIM_SCREEN_PAD zeros) and
 * D->xmax (max |x| of each gene), from `alloc`. */
void gim_screen_data_make(gim_data *D, void *(*alloc)(size_t));

/* Floats of scratch per thread for gim_screen_forward(). */
size_t gim_screen_scratch_len(int H, int d);

/* Forward pass of the MLP configuration of gene j with parents pa[0 .. npa-1]
 * (first-layer weights weff[p * H + h], already multiplied by the graph
 * values) in single precision. Writes the residual sums Q1[k], Q2[k] and
 * sum |r| Sa[k] of every context k (accumulated in double), and returns a
 * bound on |f_float - f| for every cell, f the mechanism mean in double. */
double gim_screen_forward(const gim_settings *s, const gim_layout *L, const gim_data *D,
                          const double *par, int j, int npa,
                          const int *pa, const double *weff, double *Q1, double *Q2,
                          double *Sa, float *scratch);

#endif
