# gim_control(): every knob of the training engine, validated once.

#' Settings for fitting a generative intervention model
#'
#' Gathers and checks the optimisation and prior settings of [gim_fit()]
#' (Schneider et al. 2025, section 4 and appendix D.4; SPEC section 2).
#'
#' @details
#' **Objective.** [gim_fit()] maximises the log joint density of the latent
#' graph `Z = (U, V)`, the mechanism parameters and the perturbation nets:
#' Gaussian priors (variances `prior_var_*`), the closed-form sparsity terms
#' `beta_M * sum P(G_ij)` and `beta_I * sum_k sum_j P(I_kj)`, the NO-BEARS
#' acyclicity penalty `lambda c(G) + mu / 2 c(G)^2` of the relaxed graphs
#' (spectral radius by `power_iterations` rounds of power iteration) and the
#' Monte Carlo log-likelihood over `n_mc` samples of the graph, the targets and
#' the intervention parameters. Adam with `learning_rate` runs for `steps`.
#'
#' **Schedules.** Edge probabilities are `plogis(alpha * u_i . v_j)`; `alpha`
#' grows linearly from `alpha_start` (1) to `alpha` (10) over the run. The
#' paper's objective is the relaxed model `M_alpha`, whose expectations tend to
#' those of the discrete-graph model as `alpha` grows (Lorch et al. 2021);
#' annealing it, as DiBS does, makes the graph samples concentrate, and since
#' repeated parent sets are evaluated once, later steps also get cheaper (on
#' the paper's synthetic data, about three times at 1,000 steps). Set
#' `alpha_start = alpha` for a constant inverse temperature.
#'
#' **Target sparsity.** By default (`beta_I_schedule = "constant"`) the
#' target sparsity weight is `beta_I` from the first step. With `"cosine"` it
#' rises from 0 to `beta_I` along a half cosine
#' (`beta_I * (1 - cos(pi t / steps)) / 2`), our reading of the paper's
#' "cosine annealing" of `beta_I`. Rising from 0 lets the fit explain a
#' perturbation's downstream genes as extra targets before the graph has
#' formed, and those targets then stay: on the paper's synthetic data
#' (mlp, seed 1) half of the inferred targets were children of true ones,
#' and the constant weight raised the in-distribution Target-F1 from 0.67
#' to 0.80 with the same Edge-F1 and a better held-out likelihood. With
#' `"decreasing"` it falls from `beta_I_start` (by default `10 * beta_I`) to
#' `beta_I` along a half cosine, the usual direction of cosine annealing:
#' early on a context must be explained by the graph and the mechanisms,
#' which then learn from the cells in which a parent was moved, rather than
#' by calling the moved parent's children targets, which would hide those
#' cells from the children's mechanisms. Both cosine schedules run over
#' `anneal_steps`.
#'
#' **Target sparsity.** With `target_sparsity = "probability"` (the paper's
#' term) the penalty of a (context, gene) pair is `beta_I` times its target
#' probability, whose gradient with respect to the target logit,
#' `beta_I p (1 - p)`, vanishes once `p` nears 1: a gene called a target
#' early, while the mechanisms are still poor, stays one even when its
#' mechanism would explain its cells better later. With `"softplus"` the
#' penalty is `-beta_I log(1 - p)`: the same for rare targets (`p` near 0),
#' but its gradient, `beta_I p`, keeps pulling a saturated call back. It
#' also holds true targets below saturation (their logits settle where the
#' likelihood's pull, which fades as `p` nears 1, meets `beta_I`), so each
#' is left out of a few Monte Carlo samples and weak ones are not called.
#' With `"annealed"` (the default) the term is `(1 - w)` times the softplus
#' term plus `w` times the paper's, `w` rising linearly from 0 to 1 over
#' `anneal_steps` (as `alpha` does), so that calls made while the
#' mechanisms are poor can be taken back, and the fit ends on the paper's
#' objective, where true targets saturate.
#'
#' **Augmented Lagrangian** (`acyclicity = "penalty"`). `lambda` starts at
#' `lambda_init` (0) and `mu` at `mu_init` (1e-9). Every `check_every` steps
#' the per-cell Monte Carlo log-likelihood of `holdout` held-out cells is
#' evaluated (with the same
#' graph and target samples at every check, so that the change reflects the
#' parameters, not Monte Carlo noise). The objective counts as converged when
#' that score moved by less than `convergence_tol` per cell and gene since
#' the last check, up or down: a falling score means the optimiser is still
#' adapting to the penalty. If it converged and the point-estimate graph
#' still has a cycle, `lambda <- lambda + mu * c` and `mu <- 2 * mu`, with `c`
#' the mean acyclicity of the last step.
#'
#' **Acyclic graph samples.** The factorised likelihood of a cyclic graph is
#' not a density: around a cycle every gene is predicted from its
#' neighbours, and its value can exceed the true model's. On the paper's
#' synthetic data a fit started at the true graph turned cyclic within 500
#' steps and reached a held-out score 0.9 nats per cell above the true
#' model's, which the acyclicity penalty then had to undo. With
#' `graph_samples = "dag"` every discrete graph sample is made acyclic
#' before the likelihood sees it: its edges are kept in decreasing order of
#' their noisy logits, skipping any edge that would close a cycle (the
#' point estimate of the training log-likelihood likewise). The relaxed
#' samples, and with them the gradient with respect to `Z` and the
#' acyclicity penalty, are unchanged. `"raw"` is the paper's estimator.
#'
#' **Acyclic by construction.** With `acyclicity = "order"` the latent
#' graph also has one potential `p_i` per gene, and an edge `i -> j` can only
#' be present when `i` comes before `j` in the order of the potentials:
#' `P(G_ij) = sigmoid(alpha u_i . v_j) sigmoid(alpha (p_j - p_i))`. Each
#' Monte Carlo sample draws an order by adding Gumbel noise to
#' `alpha p` (the difference of two Gumbels is logistic, which gives the
#' second factor), so every graph sample and the point estimate are DAGs;
#' the acyclicity penalty is then idle, and the gradient reaches the
#' potentials through the relaxed order `sigmoid(tau (q_j - q_i))` of the
#' noisy potentials `q`. Potentials start at 0 (every order equally
#' likely) and have the prior variance `prior_var_order`. With
#' `order_warmup > 0` (default 0.3) they stay at 0 for that share of the
#' annealing: the potentials otherwise settle an order within the first
#' thousand steps, before the mechanisms have learnt enough to tell a right
#' order from a wrong one, and the order, once settled, is not revised (on
#' linear data a settled order kept about half of the true edges).
#' `"penalty"` is the paper's
#' NO-BEARS penalty with the augmented Lagrangian below, under which a fit
#' is free to use cycles until the penalty grows.
#'
#' **Monte Carlo estimator.** With `mc_estimator = "marginal"` (the
#' paper's) the likelihood term is the log of the mean likelihood over the
#' `n_mc` samples of graphs and targets. Summed over thousands of cells,
#' the samples' log-likelihoods differ by hundreds of nats, so one sample
#' carries nearly all the weight (the trace's `ess` is then 1) and the
#' gradient, of the mechanisms as of the graph, comes from the best sample
#' alone. With `"expected"` it is the mean of the samples' log-likelihoods
#' (a lower bound of the marginal one): every sample weighs `1 / n_mc`, so
#' every sampled parent set trains its mechanism. The held-out score stays
#' the marginal estimate either way, so fits compare.
#'
#' **Edge-weight prior.** The paper's appendix B.2 writes the mechanism
#' prior as `p(theta | G)`. With `weight_prior = "masked"` the Gaussian prior
#' covers each edge's weights (the linear weight, or the first-layer MLP
#' weights from that parent) in proportion to the edge's probability,
#' `E_G[log p(theta | G)] = -sum_ij P(G_ij) |theta_ij|^2 / (2 prior_var_theta)`
#' (normalising constants dropped), as in DiBS and BaCaDI. With `"all"` every
#' weight is shrunk whether or not its edge is present, so the weights of an
#' absent edge decay to zero, and with them the straight-through gradient
#' that could bring the edge back.
#'
#' **Units.** With `standardise = TRUE` the model is fitted to genes centred
#' and scaled to unit variance over all cells (stored in the fit as
#' `x_scaling`); predictions are transformed back, and log-likelihoods, the
#' trace and [logLik()] are in the units of the data (the log Jacobian
#' `sum(log(scale))` per cell is subtracted). The mechanism and intervention
#' parameters (`coef()`, `predict(type = "parameters")`) stay on the
#' standardised scale. Zero-inflated log-normal mechanisms are never
#' standardised.
#'
#' **Stopping.** `steps` is the most a fit trains. With `stop_patience` set,
#' once the annealing of `alpha` (`anneal_steps`) is over, a fit stops at
#' the first check at which the point-estimate graph is acyclic and the
#' held-out score has not improved by more than `convergence_tol` per cell
#' and gene on its best value for `stop_patience` checks. `print()` says so
#' and `fit$state$stop_reason` is `"converged"` (otherwise `"max_steps"` or
#' `"interrupted"`). A stopped fit resumed with `init =` trains at least one
#' more chunk before the rule can stop it again.
#'
#' **Polishing.** Training samples graphs and targets, so each mechanism
#' is fitted to a mixture of parent sets and, with a learning rate of
#' `1e-3`, is still moving when the steps run out; but [predict()] and
#' [logLik()] use the point estimate. After training, `polish_steps` Adam
#' steps (fresh moments, the same learning rate) therefore refit the
#' mechanisms and noise scales alone at the point estimate: the graph `G*`,
#' the target probabilities and the intervention parameters of the nets
#' held fixed, the objective the training log-likelihood at that point plus
#' the priors of those parameters. No randomness is involved, so fits stay
#' reproducible. The held-out score before and after is in
#' `fit$state$polish`; the trace is that of training. A fit resumed with
#' `init =` continues from the polished parameters. Chosen on one
#' simulated data set (`bench/paper_synthetic.R`, ER/MLP/hard seed 3:
#' held-out score 0.21 nats per cell closer to the true model's); see NEWS
#' for the data sets it was checked on.
#'
#' **Graph gradient.** `graph_gradient = "relaxed"` is the paper's estimator:
#' the likelihood is evaluated with Gumbel-sigmoid graphs
#' `sigmoid(tau (logit + L))` for the gradient with respect to `Z`, and with
#' the discrete graphs `1[logit + L > 0]` (same noise `L`) for the mechanism
#' parameters. It costs a dense pass over all cells for every Monte Carlo
#' sample. The default `"straight_through"` evaluates the likelihood once, at
#' the discrete graphs, and takes the gradient with respect to `Z` through
#' the relaxation at that point (straight-through Gumbel estimator): parent
#' sets that repeat across samples are evaluated once, which makes a
#' paper-size fit minutes instead of hours. Target indicators are always
#' relaxed as in the paper.
#'
#' **Defaults.** `learning_rate`, `power_iterations`, `gim_hidden`,
#' `mechanism_hidden` and the prior variances are the paper's (appendix
#' D.4); `prior_var_z = NULL` means `1 / d`. `beta_M`, `beta_I` and `tau`
#' are taken from the paper's search grid (Table 1). `psi_sd` is the
#' standard deviation of the intervention parameters around the net output
#' (`eta_h`, not given in the paper): 0.1, except for `"linear"`
#' mechanisms, where it is 0. On linear data simulated as in the paper's
#' appendix D.1 (weights up to 3, noise variance 0.1) downstream genes are
#' nearly noiseless: after standardising, their noise standard deviation is
#' 0.001 to 0.01, and intervention parameters jittered by 0.1 made calling
#' such a gene a target costlier than leaving its shift to the noise: the
#' fitted noise scales stayed two to ten times the least-squares ones and
#' the held-out likelihood several nats per cell below the true model's.
#' With MLP mechanisms (noise about a third of a gene's spread) the jitter
#' is harmless, and without it three of four fits found slightly worse
#' graphs.
#' The paper does not say when the
#' held-out objective counts as converged; `convergence_tol` is ours.
#'
#' Seven defaults differ from the paper's, each chosen by experiment on
#' synthetic data generated as in its appendix D.1 (`bench/paper_synthetic.R`,
#' `bench/structure_ablation.R`; NEWS lists the numbers):
#' `acyclicity = "order"` (the paper's penalty left fits cyclic after
#' 10,000 steps, their held-out scores inflated by the cycles, and their
#' observational distributions several standard deviations off),
#' `mc_estimator = "expected"` (under the paper's estimator one sample
#' carried the whole gradient), `n_mc = 32` (with the expected estimator,
#' 128 samples found about the same graph, Edge-F1 0.59 against 0.57 on one
#' data set, in twice the time), `steps = 10000` (an order fit of 30,000
#' steps scored no better than one of 10,000: Edge-F1 0.36 against 0.47 on
#' one data set) and
#' `standardise = TRUE` (genes on different scales otherwise share one
#' prior scale; on linear data with standard deviations up to 8 it
#' raised Edge-F1 from 0.28 to 0.47), and, together, `order_warmup = 0.3`
#' and `target_sparsity = "annealed"` (under the paper's term, fits with
#' hard interventions called up to all context-gene pairs targets and kept
#' a handful of edges; with the two, on 12 simulated data sets not used to
#' choose them, Edge-F1 was higher on 10 and the held-out likelihood
#' closer to the true model's on 9; the exception is linear data with
#' shift interventions). `gim_control(acyclicity = "penalty", mc_estimator =
#' "marginal", n_mc = 128, steps = 30000, standardise = FALSE,
#' target_sparsity = "probability")` is the paper's setting.
#'
#' @param steps Adam steps.
#' @param anneal_steps Steps over which `alpha` grows from `alpha_start` to
#'   `alpha` (and the `"cosine"` `beta_I` schedule rises); `NULL`: all
#'   `steps`.
#' @param stop_patience `NULL` (train for all `steps`) or a number of
#'   held-out checks: training stops early, once the annealing is over, when
#'   the point-estimate graph is acyclic and the held-out score has not
#'   improved by more than `convergence_tol` per cell and gene for this many
#'   checks (see Details).
#' @param n_mc Monte Carlo samples per step.
#' @param learning_rate Adam learning rate.
#' @param beta_M,beta_I Graph and target sparsity weights.
#' @param beta_I_schedule `"constant"`, `"cosine"` (rising from 0) or
#'   `"decreasing"` (falling from `beta_I_start`; see Details).
#' @param beta_I_start Where the `"decreasing"` schedule starts; `NULL`:
#'   `10 * beta_I`.
#' @param target_sparsity The target sparsity term of each perturbed context
#'   and gene: `"annealed"`, moving from the softplus term to the paper's
#'   over the annealing (see Details); `"probability"`, `beta_I` times the
#'   probability that the gene is a target (the paper's: the expected
#'   number of targets); or `"softplus"`, `beta_I * log(1 + exp(logit))`,
#'   that is `-beta_I` times the log-probability that it is not.
#' @param tau Inverse temperature of the Gumbel-sigmoid relaxations.
#' @param alpha,alpha_start Inverse temperature of the edge probabilities at
#'   the end and at the start of training (`alpha_start = NULL`: `alpha`,
#'   constant).
#' @param latent_dim Rank `k` of `U` and `V`; `NULL` means `d`.
#' @param mechanism_hidden Hidden tanh units of each mechanism MLP (one
#'   hidden layer, at most 64).
#' @param gim_hidden Hidden layer widths of the nets `g_phi` and `h_phi`
#'   (at most 7 layers).
#' @param prior_var_z,prior_var_theta,prior_var_sigma,prior_var_phi Prior
#'   variances of `Z`, the mechanism weights, the log noise scales and the
#'   net weights.
#' @param weight_prior Which edge weights the `N(0, prior_var_theta)` prior
#'   covers: `"all"` (every one of the `d x d` linear weights or MLP
#'   first-layer weights) or `"masked"` (each edge's weights in proportion to
#'   the edge's probability, `E_G[log p(theta | G)]`; see Details).
#' @param graph_samples `"raw"` (the paper's graph samples, possibly
#'   cyclic) or `"dag"` (each sample made acyclic before the likelihood sees
#'   it; see Details).
#' @param acyclicity `"penalty"` (the paper's NO-BEARS penalty and augmented
#'   Lagrangian) or `"order"` (acyclic by construction: every edge follows a
#'   learned order of the genes; see Details).
#' @param mc_estimator `"marginal"` (the log of the mean likelihood over
#'   the Monte Carlo samples, the paper's) or `"expected"` (the mean of their
#'   log-likelihoods; see Details).
#' @param prior_var_order Prior variance of the node potentials of
#'   `acyclicity = "order"`; `NULL`: that of `Z`.
#' @param order_warmup Share of the annealing (`anneal_steps`), from 0 to
#'   below 1, during which the potentials of `acyclicity = "order"` stay at
#'   0, so that every Monte Carlo sample draws its own order while the
#'   mechanisms learn (see Details); 0 lets them move from the start.
#' @param latent_init_sd Standard deviation of the initial entries of `Z`.
#' @param standardise Fit the model to genes centred and scaled to unit
#'   variance (`"linear"` and `"mlp"` mechanisms; see Details). Predictions,
#'   log-likelihoods and the trace are reported in the units of the data.
#' @param psi_sd Standard deviation of sampled intervention parameters
#'   around the net output, in the units the model is fitted in; `NULL`: by
#'   mechanism, 0 for `"linear"`, 0.1 otherwise (see Details).
#' @param power_iterations Power-iteration rounds of the acyclicity term.
#' @param lambda_init,mu_init Starting augmented-Lagrangian coefficients.
#' @param check_every Steps between held-out checks (and chunk size of the
#'   training loop: progress, interrupts and the trace are per chunk).
#' @param convergence_tol Change of the held-out log-likelihood per cell and
#'   gene between two checks below which the objective counts as converged.
#' @param holdout Held-out cells for the convergence test: a count (at least
#'   1), or a fraction in `(0, 1)`. At most a tenth of the cells is held out.
#' @param minibatch `NULL` (the default: every step uses all training cells,
#'   the paper's estimator) or a number of cells: each chunk of
#'   `check_every` steps then trains on a fresh random subset of about that
#'   many training cells, drawn within every context in proportion to its
#'   size (at least one cell each), with the likelihood scaled by (training
#'   cells) / (subset size) so that it keeps its weight against the priors.
#'   A step then costs time in proportion to the subset, and a sparse or
#'   on-disk (DelayedArray, HDF5Array) `x` is only densified one subset at a
#'   time. An approximation: it adds noise to the gradient; see
#'   `bench/scale.R` for its effect. Subsets are drawn from the fit's seed, so
#'   `set.seed()` still reproduces the fit.
#' @param polish_steps Steps of polishing after training (see Details); 0
#'   leaves the trained parameters as they are.
#' @param graph_gradient `"straight_through"` or `"relaxed"` (see Details).
#' @param memory_limit The most memory, in bytes, that [gim_fit()] lets a
#'   fit need: before training it estimates the fit's peak memory
#'   ([estimate_fit_cost()]) and stops with an error if the estimate is
#'   larger. `NULL` (default): the option `perturbgim.memory_limit` if set,
#'   else the memory the system reports as available (`MemAvailable` of
#'   `/proc/meminfo` on Linux; elsewhere nothing is checked). `Inf` starts
#'   any fit.
#' @param n_threads OpenMP threads; results do not depend on it.
#' @return A list of class `gim_control`.
#' @family gim
#' @examples
#' gim_control(steps = 2000, n_mc = 32)
#' @export
gim_control <- function(steps = 10000L, anneal_steps = NULL, stop_patience = NULL,
                        n_mc = 32L, learning_rate = 1e-3,
                        beta_M = 50, beta_I = 10,
                        beta_I_schedule = c("constant", "cosine", "decreasing"),
                        beta_I_start = NULL,
                        target_sparsity = c("annealed", "probability", "softplus"), tau = 1,
                        alpha = 10, alpha_start = 1, latent_dim = NULL,
                        mechanism_hidden = 5L, gim_hidden = c(100L, 100L),
                        prior_var_z = NULL, prior_var_theta = 0.1,
                        prior_var_sigma = 4, prior_var_phi = 0.1, prior_var_order = NULL,
                        order_warmup = 0.3,
                        weight_prior = c("all", "masked"), graph_samples = c("raw", "dag"),
                        acyclicity = c("order", "penalty"),
                        mc_estimator = c("expected", "marginal"),
                        latent_init_sd = 1,
                        standardise = TRUE,
                        psi_sd = NULL,
                        power_iterations = 30L, lambda_init = 0, mu_init = 1e-9,
                        check_every = 100L, convergence_tol = 2e-3,
                        holdout = 100L, minibatch = NULL, polish_steps = 5000L,
                        graph_gradient = c("straight_through", "relaxed"),
                        memory_limit = NULL, n_threads = default_threads()) {
  beta_I_schedule <- arg_match_checked(beta_I_schedule)
  target_sparsity <- arg_match_checked(target_sparsity)
  graph_gradient <- arg_match_checked(graph_gradient)
  weight_prior <- arg_match_checked(weight_prior)
  graph_samples <- arg_match_checked(graph_samples)
  acyclicity <- arg_match_checked(acyclicity)
  mc_estimator <- arg_match_checked(mc_estimator)
  nonneg <- function(v, arg) {
    if (!is.numeric(v) || length(v) != 1L || is.na(v) || !is.finite(v) || v < 0) {
      cli::cli_abort("{.arg {arg}} must be a single number >= 0, not {describe_value(v)}.",
                     call = rlang::caller_env(2))
    }
    as.double(v)
  }
  optional_positive <- function(v, arg) {
    if (is.null(v)) return(NULL)
    check_positive_number(v, arg, call = rlang::caller_env(2))
  }
  if (!is.numeric(gim_hidden) || length(gim_hidden) < 1L || length(gim_hidden) > 7L ||
      anyNA(gim_hidden) || any(gim_hidden < 1) || any(gim_hidden > 1e5) ||
      any(gim_hidden != round(gim_hidden))) {
    cli::cli_abort(paste("{.arg gim_hidden} must be 1 to 7 whole numbers from 1 to 100,000",
                         "(hidden layer widths), not {describe_value(gim_hidden)}."))
  }
  mechanism_hidden <- check_count(mechanism_hidden, "mechanism_hidden")
  if (mechanism_hidden > 64L) {
    cli::cli_abort("{.arg mechanism_hidden} must be at most 64, not {mechanism_hidden}.")
  }
  if (!is.numeric(holdout) || length(holdout) != 1L || is.na(holdout) || holdout <= 0 ||
      (holdout >= 1 && holdout != round(holdout)) || !is.finite(holdout)) {
    cli::cli_abort(paste("{.arg holdout} must be a count >= 1 or a fraction in (0, 1),",
                         "not {describe_value(holdout)}."))
  }
  latent_dim <- if (is.null(latent_dim)) NULL else check_count(latent_dim, "latent_dim")
  out <- list(
    steps = check_count(steps, "steps"),
    anneal_steps = if (!is.null(anneal_steps)) check_count(anneal_steps, "anneal_steps", min = 1L),
    stop_patience = if (!is.null(stop_patience)) check_count(stop_patience, "stop_patience", min = 1L),
    n_mc = check_count(n_mc, "n_mc"),
    learning_rate = check_positive_number(learning_rate, "learning_rate"),
    beta_M = nonneg(beta_M, "beta_M"),
    beta_I = nonneg(beta_I, "beta_I"),
    beta_I_schedule = beta_I_schedule,
    beta_I_start = if (!is.null(beta_I_start)) nonneg(beta_I_start, "beta_I_start"),
    target_sparsity = target_sparsity,
    tau = check_positive_number(tau, "tau"),
    alpha = check_positive_number(alpha, "alpha"),
    alpha_start = optional_positive(alpha_start, "alpha_start"),
    latent_dim = latent_dim,
    mechanism_hidden = mechanism_hidden,
    gim_hidden = as.integer(gim_hidden),
    prior_var_z = optional_positive(prior_var_z, "prior_var_z"),
    prior_var_theta = check_positive_number(prior_var_theta, "prior_var_theta"),
    prior_var_sigma = check_positive_number(prior_var_sigma, "prior_var_sigma"),
    prior_var_phi = check_positive_number(prior_var_phi, "prior_var_phi"),
    prior_var_order = optional_positive(prior_var_order, "prior_var_order"),
    order_warmup = check_fraction(order_warmup, "order_warmup"),
    weight_prior = weight_prior,
    graph_samples = graph_samples,
    acyclicity = acyclicity,
    mc_estimator = mc_estimator,
    latent_init_sd = check_positive_number(latent_init_sd, "latent_init_sd"),
    standardise = check_flag(standardise, "standardise"),
    psi_sd = if (!is.null(psi_sd)) nonneg(psi_sd, "psi_sd"),
    power_iterations = check_count(power_iterations, "power_iterations"),
    lambda_init = nonneg(lambda_init, "lambda_init"),
    # mu doubles at each update: starting at 0 it would never switch on.
    mu_init = check_positive_number(mu_init, "mu_init"),
    check_every = check_count(check_every, "check_every"),
    convergence_tol = nonneg(convergence_tol, "convergence_tol"),
    holdout = as.double(holdout),
    minibatch = if (is.null(minibatch)) NULL else check_count(minibatch, "minibatch", min = 2L),
    polish_steps = check_count(polish_steps, "polish_steps", min = 0L),
    graph_gradient = graph_gradient,
    memory_limit = if (!is.null(memory_limit)) check_memory_limit(memory_limit),
    n_threads = resolve_threads(n_threads)
  )
  if (out$n_mc < 1L) cli::cli_abort("{.arg n_mc} must be at least 1.")
  if (out$check_every < 1L) cli::cli_abort("{.arg check_every} must be at least 1.")
  if (out$power_iterations < 1L) cli::cli_abort("{.arg power_iterations} must be at least 1.")
  if (!is.null(latent_dim) && latent_dim < 1L) cli::cli_abort("{.arg latent_dim} must be at least 1.")
  structure(out, class = "gim_control")
}

# Bytes, or Inf for no limit.
check_memory_limit <- function(x, arg = "memory_limit", call = rlang::caller_env()) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || x <= 0) {
    cli::cli_abort(paste("{.arg {arg}} must be NULL or a single positive number of bytes",
                         "(or {.code Inf}), not {describe_value(x)}."), call = call)
  }
  as.double(x)
}

#' @export
print.gim_control <- function(x, ...) {
  cat("<gim_control>\n")
  shown <- vapply(names(x), function(nm) {
    v <- x[[nm]]
    if (!is.null(v)) return(paste(format(v), collapse = ", "))
    by <- mechanism_defaults[[nm]]
    if (is.null(by)) return("NULL (default)")
    paste0("NULL (by mechanism: ", paste(names(by), by, collapse = ", "), ")")
  }, character(1))
  cat(paste0("  ", format(names(shown)), " ", shown), sep = "\n")
  invisible(x)
}

# Everything the C engine reads, for d genes and p features. Choices travel
# as the codes of R/engine-codes.R.
engine_settings <- function(control, mechanism, intervention, d, p) {
  k <- control$latent_dim %||% d
  list(
    mechanism = engine_code("mechanism", mechanism) + 0,
    intervention = engine_code("intervention", intervention) + 0,
    graph_gradient = engine_code("graph_gradient", control$graph_gradient) + 0,
    d = d + 0, k = k + 0, H = control$mechanism_hidden + 0, n_mc = control$n_mc + 0,
    tau = control$tau, psi_sd = control$psi_sd %||% mechanism_default("psi_sd", mechanism),
    alpha = control$alpha, alpha_start = control$alpha_start %||% control$alpha,
    beta_M = control$beta_M, beta_I = control$beta_I,
    beta_I_schedule = engine_code("beta_I_schedule", control$beta_I_schedule) + 0,
    beta_I_start = beta_I_start(control),
    lambda = control$lambda_init, mu = control$mu_init,
    var_z = control$prior_var_z %||% (1 / d), var_theta = control$prior_var_theta,
    var_sigma = control$prior_var_sigma, var_phi = control$prior_var_phi,
    var_order = control$prior_var_order %||% control$prior_var_z %||% (1 / d),
    weight_prior = engine_code("weight_prior", control_setting(control, "weight_prior")) + 0,
    graph_samples = engine_code("graph_samples", control_setting(control, "graph_samples")) + 0,
    acyclicity = engine_code("acyclicity", control_setting(control, "acyclicity")) + 0,
    mc_estimator = engine_code("mc_estimator", control_setting(control, "mc_estimator")) + 0,
    target_sparsity = engine_code("target_sparsity",
                                  control_setting(control, "target_sparsity")) + 0,
    # Where "annealed" starts (all softplus); the training loop moves it.
    target_mix = 0,
    power_iterations = control$power_iterations + 0,
    # Single-precision screening of Monte Carlo samples; the same results
    # to the bit (src/gim_screen.c). 0 only in the tests that check that.
    screen = 1,
    n_threads = control$n_threads,
    sizes = as.integer(c(p, control$gim_hidden, d)),
    # The schedules of alpha and beta_I run over this many steps.
    learning_rate = control$learning_rate, steps = anneal_length(control) + 0,
    order_warmup = order_warmup_steps(control) + 0
  )
}

# What fits made before an option existed used: their stored control has no
# entry for it. Read such options through control_setting().
legacy_settings <- list(weight_prior = "all", graph_samples = "raw", acyclicity = "penalty",
                        mc_estimator = "marginal", order_warmup = 0,
                        target_sparsity = "probability", polish_steps = 0L)

control_setting <- function(control, name) control[[name]] %||% legacy_settings[[name]]

# Settings whose default (NULL) depends on the mechanism, as the paper tuned
# its settings separately for linear and nonlinear data. Linear: no noise on
# the intervention parameters, which on nearly noiseless genes swamped the
# mechanisms' fit (see ?gim_control and NEWS).
mechanism_defaults <- list(
  psi_sd = c(linear = 0, mlp = 0.1, zilognormal = 0.1)
)

mechanism_default <- function(name, mechanism) unname(mechanism_defaults[[name]][[mechanism]])

# Where the cosine schedules of beta_I start: "cosine" rises from 0,
# "decreasing" falls from beta_I_start (by default ten times beta_I).
beta_I_start <- function(control) {
  switch(control$beta_I_schedule,
         constant = control$beta_I,
         cosine = 0,
         decreasing = control$beta_I_start %||% (10 * control$beta_I))
}

# Steps over which alpha grows and the cosine beta_I schedule rises.
anneal_length <- function(control) min(control$anneal_steps %||% control$steps, control$steps)

# The steps during which the potentials of acyclicity = "order" stay at 0:
# the share `order_warmup` of the annealing.
order_warmup_steps <- function(control) {
  round(control_setting(control, "order_warmup") * anneal_length(control))
}
