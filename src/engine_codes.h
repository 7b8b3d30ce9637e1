/* The codes R and C share. Each enum mirrors a vector of `engine_codes` in
 * R/engine-codes.R: the name at position i there has the value i here.
 * pg_engine_codes() (engine_codes.c) returns these values by name, and
 * tests/testthat/test-engine-codes.R checks them against the R table, so a
 * new mechanism or intervention type is added in those two places. Plain C:
 * the kernels include it. */
#ifndef ENGINE_CODES_H
#define ENGINE_CODES_H

enum { GIM_LINEAR = 1, GIM_MLP = 2, GIM_ZILOGNORMAL = 3 };
#define GIM_MECHANISM_LAST GIM_ZILOGNORMAL

enum { GIM_HARD = 1, GIM_SHIFT = 2 };
#define GIM_INTERVENTION_LAST GIM_SHIFT

/* How the graph enters the likelihood (see gim_likelihood.c). */
enum { GIM_STRAIGHT_THROUGH = 1, GIM_RELAXED = 2 };
#define GIM_GRAPH_GRADIENT_LAST GIM_RELAXED

/* How beta_I moves over training: constant, or a cosine ramp from
 * beta_I_start (0 rising, or above beta_I decreasing). */
enum { GIM_SCHEDULE_CONSTANT = 1, GIM_SCHEDULE_COSINE = 2, GIM_SCHEDULE_DECREASING = 3 };
#define GIM_SCHEDULE_LAST GIM_SCHEDULE_DECREASING

/* Which edge weights the N(0, var_theta) prior covers: all d x d, or each
 * edge's in proportion to its probability, E_G[log p(theta | G)]. */
enum { GIM_PRIOR_ALL = 1, GIM_PRIOR_MASKED = 2 };
#define GIM_PRIOR_LAST GIM_PRIOR_MASKED

/* Graph samples as drawn (possibly cyclic), or each made a DAG by keeping
 * its edges greedily in decreasing order of their noisy logits (gim_dag.c). */
enum { GIM_SAMPLES_RAW = 1, GIM_SAMPLES_DAG = 2 };
#define GIM_SAMPLES_LAST GIM_SAMPLES_DAG

/* How the graph is kept acyclic: the NO-BEARS penalty with an augmented
 * Lagrangian (the paper's), or by construction, every edge following a
 * learned order of the genes (node potentials; gim_objective.c). */
enum { GIM_ACYCLIC_PENALTY = 1, GIM_ACYCLIC_ORDER = 2 };
#define GIM_ACYCLIC_LAST GIM_ACYCLIC_ORDER

/* How the Monte Carlo samples make the likelihood term: the log of their mean
 * likelihood (the paper's marginal estimate, whose gradient is a softmax-
 * weighted sum), or the mean of their log-likelihoods (every sample weighs
 * 1 / M; gim_likelihood.c). */
enum { GIM_MC_MARGINAL = 1, GIM_MC_EXPECTED = 2 };
#define GIM_MC_LAST GIM_MC_EXPECTED

/* The target sparsity term per (context, gene): beta_I P(I) (the paper's
 * expected number of targets), or beta_I log(1 + exp(T)) = -beta_I
 * log(1 - P(I)) of the target logit T, whose gradient does not vanish as
 * P(I) saturates near 1, or a mix of the two that moves from the second to
 * the first over the annealing (gim_objective.c, gim_call.c). */
enum { GIM_TARGETS_PROBABILITY = 1, GIM_TARGETS_SOFTPLUS = 2, GIM_TARGETS_ANNEALED = 3 };
#define GIM_TARGETS_LAST GIM_TARGETS_ANNEALED

#endif
