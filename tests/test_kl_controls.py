"""The controls a family difference is checked against: the KL estimator and a frozen flow."""

import numpy as np
import pytest

from benchmark.models import build_model
from benchmark.tf_quiet import lazy_tensorflow

tf = lazy_tensorflow()
SHAPE = (8, 8, 1)


def _model(posterior: str, **options):
    model = build_model(
        "beta_vae", SHAPE, architecture="fc", fc_width=16, latent_dim=3, posterior=posterior,
        beta=1.0, **options,
    )  # fmt: skip
    model.initialize(seed=0)
    return model


def test_a_diagonal_family_trains_on_the_monte_carlo_kl_when_asked():
    x = tf.constant(np.random.default_rng(0).uniform(size=(64, *SHAPE)), tf.float32)
    closed = _model("diagonal")
    sampled = _model("diagonal", kl_samples=1)
    many = _model("diagonal", kl_samples=2000)
    exact = float(closed.loss_terms(x, 0, [1, 2])[1]["kl"])
    one = float(sampled.loss_terms(x, 0, [1, 2])[1]["kl"])
    averaged = float(many.loss_terms(x, 0, [1, 2])[1]["kl"])
    assert one != pytest.approx(exact, abs=1e-6)  # one draw: an unbiased but noisy estimate
    assert averaged == pytest.approx(exact, abs=0.05)  # the mean of draws tends to it
    # Evaluation keeps the closed form whatever the training estimator.
    posterior = sampled.encode(x)
    assert posterior.closed_form_kl and posterior.training_kl_samples == 1
    np.testing.assert_allclose(
        posterior.kl_to_standard_normal(), closed.encode(x).kl_to_standard_normal(), rtol=1e-6
    )


def test_a_frozen_iaf_stays_the_identity_and_trains_only_its_base():
    model = _model("iaf", iaf_trainable=False)
    flow = model.family.networks
    assert flow and all(not net.trainable_weights for net in flow)
    assert model.parameter_counts()["flow"] == 0
    x = tf.constant(np.random.default_rng(1).uniform(size=(32, *SHAPE)), tf.float32)
    posterior = model.encode(x)
    z, log_q = posterior.sample_and_log_prob(4, [3, 4])
    base = posterior.distribution.distribution  # the diagonal Gaussian before the flow
    np.testing.assert_allclose(log_q, base.log_prob(z), rtol=1e-5, atol=1e-5)
    trained = _model("iaf")
    assert trained.parameter_counts()["flow"] > 0
