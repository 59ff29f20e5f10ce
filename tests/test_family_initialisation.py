"""The correlated families start as the diagonal one: same model at step 0, different capacity.

With one initialisation seed the three families share encoder, (mu, log sigma^2)
head and decoder weights; the full-covariance off-diagonal head and the IAF
output layers start at zero, so samples, log q and KL agree for the same noise.
"""

import numpy as np
import pytest

from benchmark.models import build_model
from benchmark.models.posteriors import log_standard_normal
from benchmark.tf_quiet import import_tensorflow
from tests.vae_cases import FAMILIES, Squares, small_family

tf = import_tensorflow()


def _args(family: str) -> dict[str, object]:
    options = {"iaf_hidden_units": [8]} if family == "iaf" else {}
    return small_family(family, latent_dim=4, **options)


@pytest.fixture(scope="module")
def models():
    data = Squares()
    built = {}
    for family in FAMILIES:
        model = build_model("beta_vae", data.observation_shape, **_args(family))
        model.initialize(5)
        built[family] = model
    _, x = data.sample(6, np.random.RandomState(2))
    return built, tf.constant(x)


def test_shared_parts_get_the_same_initial_weights(models):
    built, _ = models
    reference = built["diagonal"]
    for family in ("full_covariance", "iaf"):
        model = built[family]
        for a, b in zip(
            reference.encoder.weights + reference.decoder.weights + reference.family.head.weights,
            model.encoder.weights + model.decoder.weights + model.family.head.weights,
            strict=True,
        ):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_same_noise_gives_same_samples_log_q_and_kl(models):
    built, x = models
    noise = tf.random.stateless_normal([50, 6, 4], seed=[3, 1])
    draws = {f: built[f].encode(x).sample_from_noise(noise) for f in FAMILIES}
    z_ref, log_q_ref = draws["diagonal"]
    for family in ("full_covariance", "iaf"):
        z, log_q = draws[family]
        np.testing.assert_allclose(z, z_ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(log_q, log_q_ref, rtol=1e-5, atol=1e-5)
    # Seeded draws (the training path) agree too.
    seeded = {f: built[f].encode(x).sample_and_log_prob(3, 17) for f in FAMILIES}
    for family in ("full_covariance", "iaf"):
        np.testing.assert_allclose(seeded[family][0], seeded["diagonal"][0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(seeded[family][1], seeded["diagonal"][1], rtol=1e-5, atol=1e-5)
    closed = built["diagonal"].encode(x).kl_to_standard_normal().numpy()
    full = built["full_covariance"].encode(x).kl_to_standard_normal().numpy()
    np.testing.assert_allclose(full, closed, rtol=1e-5, atol=1e-6)
    # The IAF KL is a Monte Carlo mean of log q - log p; on the same draws it is the
    # diagonal family's per-draw KL estimate exactly, and its mean the closed form.
    iaf = built["iaf"].encode(x)
    z, log_q = draws["iaf"]
    per_draw_ref = (log_q_ref - log_standard_normal(z_ref)).numpy().mean(0)
    np.testing.assert_allclose(iaf.kl_from_samples(z, log_q), per_draw_ref, rtol=1e-5, atol=1e-5)
    many = iaf.kl_to_standard_normal(num_samples=20_000, seed=4).numpy()
    np.testing.assert_allclose(many, closed, atol=0.05 + 0.02 * np.abs(closed).max())


def test_iaf_density_at_any_point_is_the_diagonal_density(models):
    built, x = models
    z = tf.random.stateless_normal([2, 6, 4], seed=[9, 9])
    np.testing.assert_allclose(
        built["iaf"].encode(x).log_prob(z),
        built["diagonal"].encode(x).log_prob(z),
        rtol=1e-5,
        atol=1e-5,
    )


def test_every_iaf_step_is_the_identity_with_zero_log_det(models):
    built, x = models
    posterior = built["iaf"].encode(x)
    z0 = tf.random.stateless_normal([3, 6, 4], seed=[1, 1])
    for step in posterior.distribution.bijector.bijectors:
        kwargs = posterior._bijector_kwargs[step.name]
        np.testing.assert_array_equal(step.forward(z0, **kwargs), z0)
        log_det = step.forward_log_det_jacobian(z0, event_ndims=1, **kwargs)
        np.testing.assert_array_equal(log_det, np.zeros((3, 6)))
    # The hidden layers are not zero, so the output layer gets gradients.
    hidden = [v for v in built["iaf"].family.networks[0].trainable_variables if "dense" in v.name]
    assert any(np.any(v.numpy() != 0) for v in hidden)


def test_full_covariance_covariance_is_diagonal_at_initialisation(models):
    built, x = models
    covariance = built["full_covariance"].encode(x).covariance().numpy()
    off = covariance * (1 - np.eye(4))
    np.testing.assert_array_equal(off, np.zeros_like(off))
    np.testing.assert_allclose(
        covariance, built["diagonal"].encode(x).covariance().numpy(), rtol=1e-6
    )


def test_loss_terms_agree_at_step_zero(models):
    built, x = models
    terms = {f: built[f].loss_terms(x, 0.0, [4, 2])[1] for f in FAMILIES}
    for family in ("full_covariance", "iaf"):
        np.testing.assert_allclose(
            terms[family]["reconstruction"], terms["diagonal"]["reconstruction"], rtol=1e-5
        )
    np.testing.assert_allclose(terms["full_covariance"]["kl"], terms["diagonal"]["kl"], rtol=1e-5)


def test_parameter_counts_by_hand():
    """Head 2D(F + 1); full-covariance flow K(F + 1) with K = D(D-1)/2; IAF flow: the MADE's
    unmasked entries (Germain et al. 2015), counted by hand for D = 2, one hidden layer of 4."""
    data = Squares()
    f = 32  # the small models' fc_width: the feature (context) width
    counts = {}
    for family in FAMILIES:
        options = {"iaf_hidden_units": [4]} if family == "iaf" else {}
        args = small_family(family, latent_dim=2, **options)
        counts[family] = build_model("beta_vae", data.observation_shape, **args).parameter_counts()
    for family in FAMILIES:
        assert counts[family]["posterior_head"] == 2 * 2 * (f + 1)
        assert counts[family]["encoder"] == counts["diagonal"]["encoder"] == 256 * f + f + f * f + f
        assert counts[family]["decoder"] == counts["diagonal"]["decoder"]
    assert counts["diagonal"]["flow"] == 0
    assert counts["full_covariance"]["flow"] == 1 * (f + 1)
    # Per step: hidden degrees are all 1 (D - 1 = 1), so only the first input in the order
    # feeds the 4 hidden units (4) and only the second latent's 2 outputs read them (8);
    # context kernels F x 4 and F x 4; biases 4 + 4.
    per_step = 4 + 8 + f * 4 + f * 4 + 4 + 4
    assert counts["iaf"]["flow"] == 2 * per_step
