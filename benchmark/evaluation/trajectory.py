"""Scores along training: a few cheap scores of a checkpoint, so a run's trajectory can be drawn.

At each trajectory point the posterior means of `num_points` grid images
(drawn once per run with `seed`, the same images at every point) are scored:

- `mig`: disentanglement_lib's MIG (20 equal-width bins; `benchmark.metrics.mig`);
- `factor_vae`: the FactorVAE score (`benchmark.metrics.factor_vae`) with
  `num_votes` (400) training and `num_votes // 2` evaluation votes (its
  standard error is then at most 0.035; the final evaluation uses more);
- `active_units`: latents with Var_x E[z_j|x] > 0.01 (Burda et al. 2016);
- `nmi`: normalised MI of every (latent, factor) pair, `[D][K]`, each MI
  divided by the factor's entropy.

The trajectory is how "converged" is judged for the interpretability scores
too: a run whose MIG still moves between its last points by more than the
seed-to-seed spread has not stopped moving, whatever its ELBO does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.metrics.factor_vae import compute_factor_vae
from benchmark.metrics.mig import mig
from benchmark.models.representation import representation_function
from benchmark.models.vae import VAE

__all__ = ["ACTIVITY_THRESHOLD", "trajectory_point"]

ACTIVITY_THRESHOLD = 0.01  # Var_x E[z_j|x] above this: an active unit (Burda et al. 2016)


def trajectory_point(
    model: VAE,
    dataset: GroundTruthData,
    *,
    seed: int,
    num_points: int = 5000,
    num_votes: int = 400,
) -> dict[str, Any]:
    """`{mig, factor_vae, active_units, nmi}` of the model's posterior means (see module docstring)."""
    random_state = np.random.RandomState(seed + 7919)
    factors = dataset.sample_factors(num_points, random_state)
    images = dataset.sample_observations_from_factors(factors, random_state)
    represent = representation_function(model, "mean", batch_size=500, seed=seed)
    codes = represent(images)
    scored = mig(codes, factors)
    entropy = np.maximum(scored["factor_entropy_nats"], 1e-12)
    nmi = scored["mutual_info_matrix_codes_x_factors"] / entropy
    factor_vae = compute_factor_vae(
        dataset,
        represent,
        np.random.RandomState(seed + 104729),
        num_train=num_votes,
        num_eval=max(1, num_votes // 2),
        num_variance_estimate=num_points,
    )
    return {
        "mig": float(scored["mig"]),
        "factor_vae": float(factor_vae["factorvae_eval_accuracy"]),
        "active_units": int((np.var(codes, axis=0) > ACTIVITY_THRESHOLD).sum()),
        "nmi": np.round(nmi, 4).tolist(),
    }
