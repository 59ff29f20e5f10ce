"""Codes of sampled families: per-input noise (batching never moves them) and antithetic means."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.errors import UserInputError
from benchmark.models import build_model, representation_function
from benchmark.models.draws import per_input_noise
from benchmark.tf_quiet import import_tensorflow
from tests.vae_cases import Squares, small_family

tf = import_tensorflow()


def _model(posterior: str):
    data = Squares()
    model = build_model("beta_vae", data.observation_shape, **small_family(posterior))
    model.initialize(1)
    if posterior == "iaf":  # a flow away from the identity, masks kept
        rng = np.random.default_rng(0)
        for network in model.family.networks:
            for variable in network.trainable_variables:
                variable.assign(rng.normal(scale=0.3, size=variable.shape).astype(np.float32))
            for module in network.submodules:
                if getattr(module, "kernel_constraint", None) is not None:
                    module.kernel.assign(module.kernel_constraint(module.kernel))
    _, x = data.sample(40, np.random.RandomState(3))
    return model, x


def test_noise_of_an_input_depends_on_its_index_only():
    seed = tf.constant([4, 5])
    whole = per_input_noise(seed, 0, 70, 6, 3).numpy()
    parts = [per_input_noise(seed, s, min(9, 70 - s), 6, 3).numpy() for s in range(0, 70, 9)]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)
    other_stream = per_input_noise(seed, 0, 70, 6, 3, stream=1).numpy()
    assert not np.allclose(other_stream, whole)


def test_iaf_codes_do_not_depend_on_the_batch_size():
    model, x = _model("iaf")
    for kind in ("mean", "sampled"):
        codes = [
            representation_function(model, kind, batch_size=b, seed=2, mean_samples=300)(x)
            for b in (40, 7)
        ]
        for other in codes[1:]:
            np.testing.assert_allclose(other, codes[0], rtol=1e-5, atol=1e-6)


def test_duplicated_inputs_get_independent_noise():
    model, x = _model("iaf")
    twice = np.concatenate([x[:1], x[:1]])
    codes = representation_function(model, "mean", batch_size=2, seed=0, mean_samples=50)(twice)
    assert not np.allclose(codes[0], codes[1])


def test_antithetic_mean_codes_are_exact_for_the_identity_start_flow():
    """At initialisation the IAF is its diagonal base: each pair (eps, -eps) averages to mu."""
    data = Squares()
    model = build_model("beta_vae", data.observation_shape, **small_family("iaf"))
    model.initialize(1)
    _, x = data.sample(100, np.random.RandomState(4))
    codes = representation_function(model, "mean", batch_size=64, seed=0)(x)  # 100 draws
    posterior = model.encode(tf.constant(x))
    sigma = np.exp(0.5 * posterior.log_variance.numpy())
    # 1,000 independent draws would leave an error of sigma / 31.6.
    assert np.abs(codes - posterior.loc.numpy()).max() < 1e-3 * sigma.min()


def test_antithetic_mean_codes_beat_independent_draws_on_a_nonlinear_flow():
    """Unbiased, and on a flow far from affine closer to E[z|x] than 1,000 independent draws."""
    model, x = _model("iaf")
    reference = representation_function(model, "mean", seed=9, mean_samples=4000)(x)
    errors = np.stack(
        [representation_function(model, "mean", seed=s)(x) - reference for s in range(4)]
    )
    posterior = model.encode(tf.constant(x))
    draws, _ = posterior.sample_and_log_prob(2000, seed=[1, 2])
    iid_1000_variance = np.var(draws.numpy(), axis=0).mean(axis=0) / 1000  # [D]
    mean_squared_error = (errors**2).mean(axis=(0, 1))  # [D]
    assert np.all(mean_squared_error < iid_1000_variance)
    # Unbiased: the error averaged over 4 seeds x 40 inputs is within 4 standard errors of 0.
    assert np.all(
        np.abs(errors.mean(axis=(0, 1))) < 4 * np.sqrt(mean_squared_error / errors[..., 0].size)
    )


def test_mean_samples_must_be_even():
    model, _ = _model("iaf")
    with pytest.raises(UserInputError, match="even"):
        representation_function(model, "mean", mean_samples=101)


def test_closed_form_families_keep_exact_means():
    model, x = _model("full_covariance")
    codes = representation_function(model, "mean", batch_size=7)(x)
    np.testing.assert_allclose(codes, model.encode(tf.constant(x)).loc.numpy(), rtol=1e-6)
