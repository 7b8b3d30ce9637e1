/* Shared declarations for the .Call boundary: argument checks and thread counts.
 * Kernels under the boundary never include this file: they take plain C data. */
#ifndef PG_COMMON_H
#define PG_COMMON_H

#include <R.h>
#include <Rinternals.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Each check raises an R error naming `arg` when `x` is not what the kernel
 * needs.  The R wrappers validate first with friendlier messages; these guard
 * direct .Call use so that bad input can never reach a kernel. */
void pg_check_double_matrix(SEXP x, const char *arg, int min_rows);
void pg_check_finite(SEXP x, const char *arg);
void pg_check_graph(SEXP g, const char *arg);
double pg_scalar_double(SEXP x, const char *arg);
int pg_scalar_int(SEXP x, const char *arg);
int pg_scalar_logical(SEXP x, const char *arg);

/* Validated thread count, capped by what OpenMP allows (1 without OpenMP). */
int pg_threads(SEXP n_threads);

#endif
