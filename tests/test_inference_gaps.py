"""Inference gaps on a linear-Gaussian model whose true posterior and log p(x) are known."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.evaluation.inference_gaps import gap_summary, inference_gaps
from benchmark.models.families.diagonal import DiagonalGaussian
from benchmark.models.families.full_covariance import FullCovarianceGaussian
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

D, P, NOISE = 3, 5, 1.0


def _model(seed: int = 0):
    """p(z) = N(0, I), p(x|z) = N(W z + b, NOISE^2 I): the posterior is Gaussian, in closed form."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(P, D))
    w[:, 1] += 0.6 * w[:, 0]  # correlated posterior: the diagonal family cannot fit it
    b = rng.normal(size=P) * 0.1
    precision = np.eye(D) + w.T @ w / NOISE**2
    covariance = np.linalg.inv(precision)

    def truth(x: np.ndarray):
        mean = (x - b) @ w @ covariance.T / NOISE**2
        marginal = w @ w.T + NOISE**2 * np.eye(P)
        diff = x - b
        log_px = -0.5 * (
            np.einsum("ni,ij,nj->n", diff, np.linalg.inv(marginal), diff)
            + np.linalg.slogdet(marginal)[1]
            + P * np.log(2 * np.pi)
        )
        return mean, log_px

    wt, bt = tf.constant(w, tf.float32), tf.constant(b, tf.float32)

    def log_likelihood(x, z):
        mean = tf.tensordot(z, tf.transpose(wt), axes=1) + bt
        return tf.reduce_sum(
            -0.5 * tf.square((x - mean) / NOISE) - np.log(NOISE) - 0.5 * np.log(2 * np.pi), -1
        )

    return w, b, precision, covariance, truth, log_likelihood


def _images(n: int, w, b, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, D))
    return (z @ w.T + b + NOISE * rng.normal(size=(n, P))).astype(np.float32)


def _amortised_encoder(truth, family: str):
    """A deliberately imperfect encoder: shifted means, too-wide scales (a known amortisation gap)."""

    def encode(x):
        mean, _ = truth(x.numpy().astype(np.float64))
        loc = tf.constant(mean + 0.1, tf.float32)
        if family == "diagonal":
            return DiagonalGaussian(loc, tf.fill(loc.shape, -1.0))
        tril = tf.broadcast_to(tf.eye(D) * 0.6, [loc.shape[0], D, D])
        return FullCovarianceGaussian(loc, tril)

    return encode


SETTINGS = dict(
    iw_samples=4000,
    steps=600,
    learning_rate=0.03,
    step_samples=32,
    eval_samples=4000,
    check_every=50,
    tolerance=1e-3,
)


def test_diagonal_gap_equals_kl_to_best_diagonal_and_full_covariance_gap_vanishes():
    w, b, precision, _, truth, log_likelihood = _model()
    x = _images(12, w, b)
    _, log_px = truth(x.astype(np.float64))
    # KL(q || p) minimised over diagonal q: variances 1/diag(precision), mean the posterior mean;
    # its value is 0.5 (sum_d log precision_dd - log det precision), the same for every x.
    expected = 0.5 * (np.sum(np.log(np.diag(precision))) - np.linalg.slogdet(precision)[1])
    assert expected > 0.2  # the test would be weak on a nearly diagonal posterior

    diagonal = inference_gaps(
        _amortised_encoder(truth, "diagonal"), log_likelihood, x, seed=0, **SETTINGS
    )
    full = inference_gaps(_amortised_encoder(truth, "full"), log_likelihood, x, seed=0, **SETTINGS)

    for scores in (diagonal, full):
        # log p(x): the IW bound with q* as proposal is within MC error of the exact value
        assert scores["gap_log_px_nats"] == pytest.approx(np.mean(log_px), abs=0.02)
        # q* never has a lower ELBO than q, and here the encoder is far off, so it is much higher
        assert scores["gap_elbo_qstar_nats"] > scores["gap_elbo_q_nats"] + 0.5
        assert scores["amortisation_gap_nats"] > 0.5
        assert scores["approximation_gap_check_failed"] == 0.0
        assert 0 < scores["gap_qstar_steps_mean"] <= SETTINGS["steps"]
        assert scores["gap_qstar_at_cap_share"] == 0.0  # 600 steps: every image converged
    assert diagonal["approximation_gap_nats"] == pytest.approx(expected, abs=0.03)
    assert full["approximation_gap_nats"] == pytest.approx(0.0, abs=0.02)


def test_qstar_never_below_q_even_when_q_is_already_optimal():
    w, b, precision, _, truth, log_likelihood = _model(seed=2)
    x = _images(8, w, b, seed=3)

    def optimal_diagonal(images):
        mean, _ = truth(images.numpy().astype(np.float64))
        log_var = np.broadcast_to(-np.log(np.diag(precision)), mean.shape)
        return DiagonalGaussian(tf.constant(mean, tf.float32), tf.constant(log_var, tf.float32))

    scores = inference_gaps(
        optimal_diagonal, log_likelihood, x, seed=1, iw_samples=200, steps=60,
        learning_rate=0.05, step_samples=4, eval_samples=200, check_every=20, tolerance=0.0,
    )  # fmt: skip
    assert scores["gap_elbo_qstar_nats"] >= scores["gap_elbo_q_nats"]
    assert scores["amortisation_gap_nats"] == pytest.approx(0.0, abs=0.02)


def test_a_negative_gap_beyond_its_standard_error_is_a_failed_check_not_clipped():
    log_px = np.array([-10.0, -10.2, -9.9, -10.1])
    elbo_qstar = log_px + np.array([0.3, 0.2, 0.4, 0.3])  # above the bound: impossible
    scores = gap_summary(log_px, elbo_qstar, elbo_qstar - 1.0)
    assert scores["approximation_gap_nats"] == pytest.approx(-0.3)
    assert scores["approximation_gap_check_failed"] == 1.0
    assert scores["amortisation_gap_nats"] == pytest.approx(1.0)
    assert scores["amortisation_gap_se_nats"] == pytest.approx(0.0, abs=1e-12)
    within = gap_summary(log_px, log_px + np.array([0.1, -0.1, 0.05, -0.06]), log_px - 1.0)
    assert within["approximation_gap_check_failed"] == 0.0


def test_exact_full_covariance_posterior_has_no_gap():
    w, b, _, covariance, truth, log_likelihood = _model(seed=4)
    x = _images(10, w, b, seed=5)

    def exact_full(images):
        mean, _ = truth(images.numpy().astype(np.float64))
        tril = np.broadcast_to(np.linalg.cholesky(covariance), (len(mean), D, D))
        return FullCovarianceGaussian(tf.constant(mean, tf.float32), tf.constant(tril, tf.float32))

    scores = inference_gaps(
        exact_full, log_likelihood, x, seed=2, iw_samples=16, steps=1, step_samples=1,
        eval_samples=4000, check_every=1,
    )  # fmt: skip
    _, log_px = truth(x.astype(np.float64))
    # with the exact posterior every importance weight is p(x): the bound is exact
    np.testing.assert_allclose(scores["gap_log_px_nats"], np.mean(log_px), atol=1e-3)
    assert scores["approximation_gap_nats"] == pytest.approx(0.0, abs=0.02)


def test_images_stopped_by_the_step_cap_are_counted():
    """Ten steps from a far-off encoder: every image is still gaining when the cap ends it."""
    w, b, _, _, truth, log_likelihood = _model()
    x = _images(6, w, b)
    scores = inference_gaps(
        _amortised_encoder(truth, "diagonal"), log_likelihood, x, seed=0, iw_samples=100,
        steps=10, learning_rate=0.001, step_samples=4, eval_samples=100, check_every=5,
        tolerance=1e-6,
    )  # fmt: skip
    assert scores["gap_qstar_steps_max"] == 10.0
    assert scores["gap_qstar_at_cap_share"] == 1.0
