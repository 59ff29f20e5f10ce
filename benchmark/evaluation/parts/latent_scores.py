"""Correlation and information of the posterior, reconstruction and likelihood bounds.

The scores of `benchmark.evaluation.latent_scores.latent_scores` on
`num_points` images of the data set, with the importance-weighted bound on
`num_heldout` more. A point-mass encoder (no density) gets the scores its
codes have (`benchmark.evaluation.point_mass`); its density-based keys are
absent. Durations: `latent_s/<piece>` and `latent_scores_s`.
"""

from __future__ import annotations

import time

import numpy as np

from benchmark.evaluation.part import (
    RECONSTRUCTION,
    EvaluationPart,
    PartContext,
    PartResult,
    ScoreKey,
    register_part,
    with_latent_scores,
)
from benchmark.metrics.settings import MAX_POINTS
from benchmark.metrics.spec import CORRELATION
from benchmark.settings import Setting, integer

__all__ = ["SCORE_SETTINGS"]

# Seed offset so these draws never coincide with training's.
_DRAWS = 1_000_003

# Keyword settings of `latent_scores` (a test keeps them in step with its signature).
SCORE_SETTINGS = (
    Setting("posterior_samples", 1000, integer(2, 1_000_000), "draws per x of a sampled family"),
    Setting("marginal_samples", 64, integer(2, 1_000_000), "draws per x of the IAF marginals"),
    Setting("iw_samples", 100, integer(1, 100_000), "importance samples of the IW bound"),
    Setting("batch_size", 64, integer(1, 65_536), "images per encoder call"),
    Setting("reconstruction_samples", 1, integer(1, 10_000), "draws z per x of the NLL"),
    Setting("tc_sample_size", 1000, integer(2, MAX_POINTS), "codes M of the TC estimate"),
)
# What it draws: images the scores average over (at least two) and held-out images.
SAMPLE_SETTINGS = (
    Setting("num_points", 1000, integer(2, MAX_POINTS), "images the scores average over"),
    Setting("num_heldout", 500, integer(1, MAX_POINTS), "held-out images of the IW bound"),
)


def _floor(name: str, label: str) -> ScoreKey:
    return ScoreKey(f"{name}_noise_floor", label, CORRELATION)


KEYS = (
    ScoreKey(
        "posterior_mean_abs_correlation",
        "mean abs corr q(z|x)",
        CORRELATION,
        -1,
        headline=True,
        margin=0.05,
        absent_without="density",
    ),
    _floor("posterior_mean_abs_correlation", "mean abs corr noise floor"),
    # The same over pairs of active latents only (Var_x E[z|x] > 0.01).
    ScoreKey(
        "posterior_mean_abs_correlation_active",
        "mean abs corr q(z|x), active latents",
        CORRELATION,
        -1,
        margin=0.05,
        absent_without="density",
    ),
    _floor("posterior_mean_abs_correlation_active", "mean abs corr, active latents, noise floor"),
    ScoreKey(
        "posterior_gaussian_total_correlation_nats",
        "TC q(z|x) (nats)",
        CORRELATION,
        -1,
        absent_without="density",
    ),
    _floor("posterior_gaussian_total_correlation_nats", "TC q(z|x) noise floor"),
    # The M-code minibatch estimate of TC q(z) is biased low (it can come out negative):
    # never bolded; the headline is the mixture estimate of the KL decomposition.
    ScoreKey(
        "aggregate_total_correlation_nats",
        "TC q(z), M codes, biased low (nats)",
        CORRELATION,
        absent_without="density",
    ),
    ScoreKey(
        "aggregate_gaussian_total_correlation",
        "Gaussian TC (nats)",
        CORRELATION,
        -1,
        duplicate_of="gaussian_total_correlation",
    ),
    ScoreKey(
        "aggregate_gaussian_wasserstein_correlation_norm",
        "Wasserstein corr.",
        CORRELATION,
        -1,
        duplicate_of="gaussian_wasserstein_correlation_norm",
    ),
    ScoreKey("aggregate_gaussian_wasserstein_correlation", secondary=True),
    ScoreKey("rate_nats", "rate (nats)", CORRELATION, absent_without="density"),
    ScoreKey("rate_per_latent_nats", absent_without="density"),
    ScoreKey("posterior_correlation_matrix", absent_without="density"),
    ScoreKey("active_units", "active units", CORRELATION, margin=0.5),
    ScoreKey("active_units_noise_floor", "active units noise floor", CORRELATION),
    ScoreKey("active_directions", "active directions", CORRELATION),
    ScoreKey("active_directions_noise_floor", "active directions noise floor", CORRELATION),
    ScoreKey(
        "reconstruction_nll_nats", "reconstruction NLL (nats)", RECONSTRUCTION, -1, headline=True
    ),
    ScoreKey("elbo_nats", "ELBO (nats)", RECONSTRUCTION, 1, absent_without="density"),
    ScoreKey(
        "heldout_elbo_nats", "held-out ELBO (nats)", RECONSTRUCTION, 1, absent_without="density"
    ),
    ScoreKey(
        "iw_log_likelihood_nats",
        "IW log p(x) (nats)",
        RECONSTRUCTION,
        1,
        absent_without="density",
    ),
)


def compute(context: PartContext) -> PartResult:
    settings = context.settings
    dataset = context.dataset
    started = time.perf_counter()
    random_state = np.random.RandomState(context.seed + _DRAWS)
    _, observations = dataset.sample(int(settings["num_points"]), random_state)
    _, heldout = dataset.sample(int(settings["num_heldout"]), random_state)
    spent = {"draws": time.perf_counter() - started}
    if "density" not in context.capabilities:
        from benchmark.evaluation.point_mass import point_mass_latent_scores

        scores = point_mass_latent_scores(
            context.model, observations, batch_size=int(settings["batch_size"])
        )
    else:
        from benchmark.evaluation.latent_scores import latent_scores

        # The stratified TC estimator weighs each point's own posterior by 1 / (data set
        # size): the procedural data sets stand for their whole factor grid.
        size = int(np.prod(dataset.factor_sizes, dtype=np.float64))
        scores = latent_scores(
            context.model,
            observations,
            heldout,
            seed=context.seed,
            timings=spent,
            dataset_size=size,
            **{s.name: settings[s.name] for s in SCORE_SETTINGS},
        )
    durations = {f"latent_s/{name}": value for name, value in spent.items()}
    durations["latent_scores_s"] = time.perf_counter() - started
    return PartResult(dict(scores), durations)


PART = register_part(
    EvaluationPart(
        name="latent_scores",
        summary="posterior correlation, rate, active units, TC q(z), reconstruction, ELBO, IW bound",
        compute=compute,
        order=20,
        keys=KEYS,
        settings=(*SCORE_SETTINGS, *SAMPLE_SETTINGS),
        **with_latent_scores(),
        cost="num_points x posterior_samples draws (IAF); tc_sample_size^2 x marginal_samples",
    )
)
