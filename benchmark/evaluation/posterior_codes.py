"""Posterior scores beyond the means: the posterior MIG and the codes UDR compares across runs.

- `posterior_mig_scores`: the MIG of Chen et al. (2018) from each point's
  marginals q(z_j|x) over a stratified sample of the factor grid
  (`benchmark.metrics.posterior_mig`): exact Gaussian marginals for the
  diagonal and full-covariance families; for IAF the moment-matched Gaussian of
  `moment_samples` flow draws (its draws z still come from the flow).
- `write_shared_codes`: the posterior means and per-latent KL of every run on
  one shared sample of images (the same for every run of a data set), saved as
  the `udr_codes` artefact; the leaderboard computes UDR (Duan et al. 2020)
  across runs from these, so adding a seed updates UDR without retraining.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.metrics.posterior_mig import posterior_mig, stratified_factors
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

__all__ = [
    "POSTERIOR_MIG_KEYS",
    "UDR_ARTIFACT",
    "UDR_NUM_POINTS",
    "posterior_marginals",
    "posterior_mig_scores",
    "write_shared_codes",
]

POSTERIOR_MIG_KEYS = (
    "posterior_mig",
    "posterior_mig_chen",
    "posterior_mig_per_factor",
    "posterior_mutual_info_matrix_codes_x_factors",
    "posterior_latent_entropy_nats",
)
# disentanglement_lib's UDR study encodes 1,000 images; one fixed draw shared by all runs.
UDR_NUM_POINTS = 1000
_UDR_SAMPLE_SEED = 2020
UDR_ARTIFACT = "udr_codes"
_MIG_DRAWS, _MIG_SAMPLING = 3_000_017, 3_000_019  # seed offsets, apart from the other draws
_BATCH = 256


# Draws per point behind a sampled family's (IAF's) moment-matched marginals.
MOMENT_SAMPLES = 64


def posterior_marginals(
    model: Any, observations: np.ndarray, *, seed: int, moment_samples: int = MOMENT_SAMPLES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(draws [N, 1, D], means [N, D], stds [N, D])` of q(z|x) for observations `[N, *obs]`.

    One draw per point from the family's own sampler; means and standard
    deviations of the marginals q(z_j|x): closed form for Gaussian families,
    moments of `moment_samples` draws for IAF (moment-matched).
    """

    # One trace whatever the batch sizes (the last batch is smaller).
    images = tf.TensorSpec([None, *np.shape(observations)[1:]], tf.float32)

    @tf.function(input_signature=[images, tf.TensorSpec([2], tf.int32)])
    def encode(x: tf.Tensor, s: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        posterior = model.encode(x)
        z, _ = posterior.sample_and_log_prob(1, s)
        if getattr(posterior, "closed_form_kl", False):
            mean = posterior.mean()
            variance = tf.linalg.diag_part(posterior.covariance())
        else:
            draws, _ = posterior.sample_and_log_prob(moment_samples, s + 1)
            mean, variance = tf.nn.moments(draws, axes=[0])
        return tf.transpose(z, [1, 0, 2]), mean, tf.sqrt(variance + 1e-12)

    state = np.random.SeedSequence([int(seed), _MIG_DRAWS]).generate_state(2, np.uint32)
    base = (state % np.uint32(2**30)).astype(np.int32)
    parts = [
        [
            t.numpy().astype(np.float64)
            for t in encode(
                tf.constant(observations[start : start + _BATCH], tf.float32),
                tf.constant(base + np.array([0, 2 * b], np.int32)),
            )
        ]
        for b, start in enumerate(range(0, len(observations), _BATCH))
    ]
    draws, means, stds = (np.concatenate([p[i] for p in parts]) for i in range(3))
    return draws, means, stds


def posterior_mig_scores(
    model: Any, dataset: GroundTruthData, *, seed: int, posterior_mig_points: int = 2000
) -> dict[str, object]:
    """Posterior MIG keys (see `benchmark.metrics.posterior_mig`) on a stratified sample of
    `posterior_mig_points` points of the factor grid (balanced values of every factor).

    `posterior_mig_chen` is the same MIG under Chen et al.'s protocol: the mean
    over the factors they keep (dSprites: all but shape;
    `GroundTruthData.chen_mig_excluded_factors`).

    Needs a density: a deterministic code has no marginal density, so the
    entropies the MI is made of do not exist (they are not 0); the part
    (`benchmark.evaluation.parts.posterior_codes`) stores them absent.
    """
    random_state = np.random.RandomState(seed + _MIG_SAMPLING)
    factors = stratified_factors(dataset.factor_sizes, int(posterior_mig_points), random_state)
    observations = dataset.sample_observations_from_factors(factors, random_state)
    draws, means, stds = posterior_marginals(model, observations, seed=seed)
    scores = posterior_mig(draws, means, stds, factors)
    kept = [n not in dataset.chen_mig_excluded_factors for n in dataset.factor_names]
    scores["posterior_mig_chen"] = float(np.mean(scores["posterior_mig_per_factor"][kept]))
    return scores


def shared_images(dataset: GroundTruthData) -> np.ndarray:
    """The `UDR_NUM_POINTS` images every run of this data set encodes (a fixed draw)."""
    _, observations = dataset.sample(UDR_NUM_POINTS, np.random.RandomState(_UDR_SAMPLE_SEED))
    return observations


def write_shared_codes(
    model: Any, dataset: GroundTruthData, workdir: Path, *, seed: int
) -> dict[str, str]:
    """Saves `udr_codes.npz`: `codes` `[1000, D]` posterior means of the shared images,
    `kl_per_latent` `[D]` mean KL(q(z_j|x) || N(0, 1)) of the marginals (nats) and
    `mean_code_activity` `[D]`: Var_x(E[z_j|x]) less the variance its estimator adds
    (0 for closed-form means; mean_x Var(z_j|x) / MOMENT_SAMPLES for a sampled family),
    so that Monte Carlo noise in an inactive latent's mean code does not read as activity."""
    images = shared_images(dataset)
    _, means, stds = posterior_marginals(model, images, seed=seed)
    variance = stds**2
    kl = 0.5 * (means**2 + variance - 1.0 - np.log(variance))
    sampled = not getattr(
        model.encode(tf.constant(images[:1], tf.float32)), "closed_form_kl", False
    )
    noise = variance.mean(axis=0) / MOMENT_SAMPLES if sampled else 0.0
    path = Path(workdir) / f"{UDR_ARTIFACT}.npz"
    np.savez(
        path,
        codes=means.astype(np.float32),
        kl_per_latent=kl.mean(axis=0),
        mean_code_activity=means.var(axis=0) - noise,
    )
    return {UDR_ARTIFACT: path.name}
