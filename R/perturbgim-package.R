#' perturbgim: generative intervention models for single-cell perturbation data
#'
#' perturbgim learns a causal model of gene expression jointly with a map from
#' perturbation features to atomic interventions, and predicts the expression
#' distribution of perturbations that were never run (Schneider et al., 2025).
#'
#' The evaluation metrics are implemented in C:
#' * graphs and targets: [sid()], [sid_bounds()], [edge_f1()], [target_f1()];
#' * distributions: [sinkhorn()], [sinkhorn_w2()], [kde_nll()],
#'   [energy_distance()], [mean_distance()], [pearson_delta()];
#' * everything at once, per context: [gim_evaluate()].
#'
#' Computations that can use several threads take `n_threads`, which defaults to
#' `getOption("perturbgim.threads", 2L)`. Results never depend on the number of
#' threads.
#'
#' @keywords internal
#' @useDynLib perturbgim, .registration = TRUE
"_PACKAGE"
