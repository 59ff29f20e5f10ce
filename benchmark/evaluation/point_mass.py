"""The latent scores of a point-mass encoder (an autoencoder): those its codes have.

A deterministic code z = f(x) has a reconstruction NLL, activity per axis
and the aggregate Gaussian scores of its codes. It has no density: the rate,
the ELBO, the bounds on log p(x), the posterior correlation and the
density-based total correlation of q(z) are declared `absent_without:
density` by the latent-scores part (`benchmark.evaluation.parts.latent_scores`)
and stored absent, never as 0. Keys match
`benchmark.evaluation.latent_scores.latent_scores`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.evaluation import posterior_stats as ps
from benchmark.metrics.unsupervised import unsupervised
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

__all__ = ["point_mass_latent_scores"]


def point_mass_latent_scores(
    model: Any, observations: np.ndarray, *, batch_size: int = 64
) -> dict[str, object]:
    """Scores of codes `f(x)` for `observations [N, *obs]` (N >= 2); nats where noted.

    Returns `reconstruction_nll_nats` (E_x[-log p(x | f(x))]), `active_units`
    (#{d : Var_x(f(x)_d) > 0.01}), `active_directions` (eigenvalues of
    Cov_x(f(x)) above 0.01), the aggregate Gaussian total and
    Wasserstein correlations of the codes.
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
    }
