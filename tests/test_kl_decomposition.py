"""The KL decomposition on hand-built encoders whose answers are known."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from benchmark.evaluation.kl_decomposition import encode_population, kl_decomposition
from benchmark.models import build_model
from benchmark.models.families.diagonal import DiagonalGaussian
from benchmark.models.families.full_covariance import FullCovarianceGaussian
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()


def _diagonal_encoder(locs: np.ndarray, log_variance: float):
    """'Images' are row indices into `locs`: x [N, 1] -> N(locs[x], exp(log_variance) I)."""
    table = tf.constant(locs, tf.float32)

    def encode(x):
        loc = tf.gather(table, tf.cast(x[:, 0], tf.int32))
        return DiagonalGaussian(loc, tf.fill(tf.shape(loc), log_variance))

    return encode


def _population(n: int, batch: int = 7) -> list[np.ndarray]:
    index = np.arange(n, dtype=np.float32)[:, None]
    return [index[i : i + batch] for i in range(0, n, batch)]


def test_independent_latents_have_zero_total_correlation():
    # a product grid of per-latent locations with a shared diagonal variance: q(z) is exactly the
    # product of its marginals, so every draw's log q(z) - sum_j log q(z_j) is 0
    locs = np.array(list(itertools.product([-1.5, 0.0, 1.2], [-0.5, 0.7], [0.3, -2.0])))
    params, build = encode_population(_diagonal_encoder(locs, -1.0), _population(len(locs)))
    scores = kl_decomposition(params, build, outer_draws=100, seed=0, batch_size=5)
    assert scores["decomposition_total_correlation_nats"] == pytest.approx(0.0, abs=1e-5)


def test_near_deterministic_encoder_on_a_small_grid_carries_log_n_nats():
    n = 16
    locs = np.stack([np.arange(n) * 3.0 - 22.0, np.zeros(n)], axis=1)  # far apart vs sd 1e-3
    params, build = encode_population(_diagonal_encoder(locs, math.log(1e-6)), _population(n))
    scores = kl_decomposition(params, build, outer_draws=64, seed=1, batch_size=4)
    assert scores["decomposition_mutual_information_nats"] == pytest.approx(math.log(n), abs=1e-3)
    assert scores["decomposition_log_population"] == pytest.approx(math.log(n))


def test_terms_sum_to_the_closed_form_rate_within_monte_carlo_error():
    rng = np.random.default_rng(2)
    n, d = 300, 3
    locs = tf.constant(rng.normal(size=(n, d)) * 0.8, tf.float32)
    raw = rng.normal(size=(n, d, d)) * 0.3
    tril = np.tril(raw, -1) + np.eye(d)[None] * np.exp(rng.normal(size=(n, 1, d)) * 0.3 - 0.5)
    tril = tf.constant(tril, tf.float32)

    def encode(x):
        index = tf.cast(x[:, 0], tf.int32)
        return FullCovarianceGaussian(tf.gather(locs, index), tf.gather(tril, index))

    params, build = encode_population(encode, _population(n, batch=64))
    scores = kl_decomposition(params, build, outer_draws=300, seed=3, batch_size=128)
    # the closed-form rate, computed here from the parameters
    cov = np.einsum("nij,nkj->nik", tril.numpy(), tril.numpy()).astype(np.float64)
    mu = locs.numpy().astype(np.float64)
    rate = 0.5 * (
        np.trace(cov, axis1=1, axis2=2) + np.sum(mu**2, 1) - d - np.linalg.slogdet(cov)[1]
    )
    assert scores["decomposition_rate_nats"] == pytest.approx(rate.mean(), rel=1e-4)
    total = sum(
        scores[f"decomposition_{t}_nats"]
        for t in ("mutual_information", "total_correlation", "dimension_wise_kl")
    )
    assert total == pytest.approx(scores["decomposition_sum_nats"], abs=1e-9)
    assert abs(total - rate.mean()) < 3 * scores["decomposition_sum_se_nats"] + 1e-3
    assert 0 < scores["decomposition_mutual_information_nats"] <= math.log(n) + 1e-3
    assert scores["decomposition_total_correlation_nats"] > -0.05
    assert scores["decomposition_dimension_wise_kl_nats"] > -0.05


@pytest.mark.slow
def test_iaf_posterior_decomposes_with_its_own_density():
    model = build_model(
        "beta_vae", (6,), posterior="iaf", architecture="fc", fc_width=16, latent_dim=2,
        iaf_hidden_units=[8],
    )  # fmt: skip
    model.initialize(seed=0)
    x = np.random.default_rng(4).uniform(size=(40, 6)).astype(np.float32)
    params, build = encode_population(model.encode, [x[:25], x[25:]])
    assert set(params) == {"loc", "log_variance", "context"}
    scores = kl_decomposition(params, build, outer_draws=40, seed=5, batch_size=16)
    assert scores["decomposition_population"] == 40.0
    assert 0 <= scores["decomposition_mutual_information_nats"] <= math.log(40) + 1e-3
    # the sum is the Monte Carlo rate; the population mean KL is an independent estimate of it
    gap = abs(scores["decomposition_sum_nats"] - scores["decomposition_rate_nats"])
    assert gap < 4 * scores["decomposition_sum_se_nats"] + 0.05
