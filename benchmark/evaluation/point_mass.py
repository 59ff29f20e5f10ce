"""The latent scores of a point-mass encoder (an autoencoder): those that exist, the rest absent.

A deterministic code z = f(x) has a reconstruction NLL, activity per axis
and the aggregate Gaussian scores of its codes; it has no density, so the
rate, the ELBO, the bounds on log p(x), the posterior correlation and the
density-based total correlation of q(z) are returned absent with the reason
"point mass" (`benchmark.absent`), never as 0. Keys match
`benchmark.evaluation.latent_scores.latent_scores`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.evaluation import posterior_stats as ps
from benchmark.evaluation.posterior_scores import point_mass_absent
from benchmark.metrics.unsupervised import unsupervised
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

__all__ = ["ABSENT_FOR_POINT_MASS", "point_mass_latent_scores"]

ABSENT_FOR_POINT_MASS = (
    "posterior_mean_abs_correlation",
    "posterior_mean_abs_correlation_active",
    "posterior_gaussian_total_correlation_nats",
    "posterior_correlation_matrix",
    "aggregate_total_correlation_nats",
    "rate_nats",
    "rate_per_latent_nats",
    "elbo_nats",
    "heldout_elbo_nats",
    "iw_log_likelihood_nats",
)


def point_mass_latent_scores(
    model: Any, observations: np.ndarray, *, batch_size: int = 64
) -> dict[str, object]:
    """Scores of codes `f(x)` for `observations [N, *obs]` (N >= 2); nats where noted.

    Returns `reconstruction_nll_nats` (E_x[-log p(x | f(x))]), `active_units`
    (#{d : Var_x(f(x)_d) > 0.01}), `active_directions` (eigenvalues of
    Cov_x(f(x)) above 0.01), the aggregate Gaussian total and
    Wasserstein correlations of the codes, and `ABSENT_FOR_POINT_MASS` as absent.
    """
    x = np.asarray(observations, np.float32)

    @tf.function(reduce_retracing=True)
    def batch(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        code = model.encode(images).mean()
        return code, model.reconstruction_nll(images, code)

    parts = [batch(tf.constant(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
    codes = np.concatenate([p[0].numpy() for p in parts]).astype(np.float64)
    nll = np.concatenate([p[1].numpy() for p in parts]).astype(np.float64)
    aggregate = unsupervised(codes)
    return {
        "reconstruction_nll_nats": float(np.mean(nll)),
        "active_units": float(ps.active_units(codes)),
        "active_directions": float(ps.active_directions(np.cov(codes, rowvar=False))),
        "aggregate_gaussian_total_correlation": float(aggregate["gaussian_total_correlation"]),
        "aggregate_gaussian_wasserstein_correlation": float(
            aggregate["gaussian_wasserstein_correlation"]
        ),
        "aggregate_gaussian_wasserstein_correlation_norm": float(
            aggregate["gaussian_wasserstein_correlation_norm"]
        ),
        **point_mass_absent(ABSENT_FOR_POINT_MASS),
    }
