"""Loss terms of every objective against values worked out by hand."""

import math

import numpy as np
import pytest
from vae_cases import FAMILIES, Squares, small_args

from benchmark.models import build_model
from benchmark.models import objectives as O
from benchmark.models.families import diagonal as diagonal_family
from benchmark.models.families import full_covariance as full_family
from benchmark.models.families import iaf as iaf_family
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

LOG_2PI = math.log(2 * math.pi)


def test_bernoulli_nll_sums_sigmoid_cross_entropy_over_pixels():
    x = tf.constant([[1.0, 0.0], [0.0, 1.0]])
    logits = tf.constant([[0.0, math.log(3.0)], [2.0, -1.0]])
    expected = [math.log(2) + math.log(4), math.log(1 + math.e**2) + math.log(1 + math.e)]
    np.testing.assert_allclose(O.bernoulli_nll(x, logits, event_ndims=1), expected, rtol=1e-6)
    images = tf.reshape(tf.tile(x, [1, 2]), [2, 2, 2, 1])  # every row twice: twice the nats
    image_logits = tf.reshape(tf.tile(logits, [1, 2]), [2, 2, 2, 1])
    np.testing.assert_allclose(
        O.bernoulli_nll(images, image_logits, event_ndims=3), 2 * np.array(expected), rtol=1e-6
    )


@pytest.mark.parametrize("step, expected", [(0, 0.0), (50, 5.0), (100, 10.0), (250, 10.0)])
def test_annealed_capacity_grows_linearly_then_stays(step, expected):
    assert float(O.annealed_capacity(tf.constant(step), 10.0, 100)) == pytest.approx(expected)


def test_total_correlation_by_hand_for_two_diagonal_posteriors():
    """z_i at the means of N(mu_j, I): TC = log(1 + e^-1) - 2 log(1 + e^-1/2)."""
    loc = tf.constant([[0.0, 0.0], [1.0, -1.0]])
    posterior = diagonal_family.DiagonalGaussian(loc, tf.zeros_like(loc))
    expected = math.log(1 + math.exp(-1)) - 2 * math.log(1 + math.exp(-0.5))
    assert float(O.total_correlation(loc, posterior)) == pytest.approx(expected, rel=1e-5)


def test_total_correlation_uses_the_full_covariance_density():
    """One correlated Gaussian at its mean: TC = -1/2 log(1 - rho^2); a diagonal shortcut gives 0."""
    rho = 0.6
    scale_tril = tf.linalg.cholesky(tf.constant([[[1.0, rho], [rho, 1.0]]]))
    loc = tf.zeros([1, 2])
    posterior = full_family.FullCovarianceGaussian(loc, scale_tril)
    expected = -0.5 * math.log(1 - rho**2)
    assert float(O.total_correlation(loc, posterior)) == pytest.approx(expected, rel=1e-5)


def test_total_correlation_with_identity_iaf_matches_its_base():
    family = iaf_family.IAFFamily(
        2, iaf_steps=1, iaf_hidden_units=[4], context_dim=3, moment_samples=20_000
    )
    features = tf.constant(np.random.default_rng(1).normal(size=(3, 3)).astype(np.float32))
    family.posterior(features).sample_and_log_prob(1, 0)
    for variable in family.networks[0].trainable_variables:
        variable.assign(tf.zeros_like(variable))
    iaf = family.posterior(features)
    base = diagonal_family.DiagonalGaussian(iaf.loc, iaf.log_variance)
    z = base.mean()
    assert float(O.total_correlation(z, iaf, seed=tf.constant([1, 2]))) == pytest.approx(
        float(O.total_correlation(z, base)), abs=0.05
    )


def test_dip_regularizer_by_hand():
    covariance = tf.constant([[2.0, 0.5], [0.5, 1.0]])
    # off-diagonal: 2 * 0.5^2 = 0.5 (x3); diagonal: (2-1)^2 + 0 = 1 (x5)
    assert float(O.dip_regularizer(covariance, lambda_od=3.0, lambda_d=5.0)) == pytest.approx(6.5)


def test_covariance_of_means_divides_by_batch_size():
    means = tf.constant([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    np.testing.assert_allclose(O.covariance_of_means(means), np.eye(2), atol=1e-7)


def test_dip_covariance_adds_each_familys_expected_covariance():
    loc = tf.constant([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    tril = tf.tile(tf.constant([[[1.0, 0.0], [0.5, 2.0]]]), [4, 1, 1])
    posterior = full_family.FullCovarianceGaussian(loc, tril)
    np.testing.assert_allclose(O.dip_covariance(posterior, "i"), np.eye(2), atol=1e-6)
    expected_ii = np.eye(2) + np.array([[1.0, 0.5], [0.5, 4.25]])  # + L L^T
    np.testing.assert_allclose(O.dip_covariance(posterior, "ii"), expected_ii, atol=1e-6)
    with pytest.raises(ValueError, match="kind"):
        O.dip_covariance(posterior, "iii")


def test_factor_vae_terms_by_hand():
    joint = tf.constant([[2.0, 0.0], [0.0, 1.0]])
    shuffled = tf.constant([[0.0, 0.0], [1.0, 3.0]])
    tc, discriminator = O.factor_vae_terms(joint, shuffled)
    assert float(tc) == pytest.approx(0.5)
    log_p_joint = [2 - math.log(math.e**2 + 1), -math.log(1 + math.e)]
    log_p_shuffled = [-math.log(2), 3 - math.log(math.e + math.e**3)]
    expected = -0.5 * (np.mean(log_p_joint) + np.mean(log_p_shuffled))
    assert float(discriminator) == pytest.approx(expected, rel=1e-6)


def test_shuffle_latents_permutes_each_latent_independently():
    z = tf.reshape(tf.range(150, dtype=tf.float32), [50, 3])
    shuffled = O.shuffle_latents(z, tf.constant([4, 2])).numpy()
    for d in range(3):
        assert sorted(shuffled[:, d]) == sorted(z.numpy()[:, d])
    rows = (shuffled - z.numpy()[:1]) // 3  # the source row of every entry
    assert not np.array_equal(rows[:, 0], rows[:, 1])
    np.testing.assert_array_equal(shuffled, O.shuffle_latents(z, tf.constant([4, 2])))


BATCH = tf.constant(Squares().sample(8, np.random.RandomState(0))[1])


def _terms(entry: str, posterior: str = "diagonal", step: float = 50.0, **kwargs):
    model = build_model(entry, (16, 16, 1), **small_args(entry, posterior, **kwargs))
    model.initialize(seed=0)
    losses, terms = model.loss_terms(BATCH, step=step, seed=tf.constant([3, 4]))
    return model, losses, {k: v.numpy() for k, v in terms.items()}


@pytest.mark.parametrize("posterior", FAMILIES)
def test_beta_vae_loss_is_reconstruction_plus_beta_kl(posterior):
    _, losses, t = _terms("beta_vae", posterior, beta=4.0)
    assert t["loss"] == pytest.approx(t["reconstruction"] + 4.0 * t["kl"], rel=1e-5)
    assert t["elbo"] == pytest.approx(-(t["reconstruction"] + t["kl"]), rel=1e-6)
    assert float(losses["vae"]) == t["loss"]
    assert ("kl_per_latent" in t) == (posterior == "diagonal")
    if posterior == "diagonal":
        assert t["kl_per_latent"].sum() == pytest.approx(t["kl"], rel=1e-5)


def test_beta_vae_terms_recomputed_from_the_model_pieces():
    model, _, t = _terms("beta_vae", beta=2.0)
    seeds = tf.random.experimental.stateless_split(tf.constant([3, 4]), 2)
    posterior = model.encode(BATCH)
    z, _ = posterior.sample_and_log_prob(1, seeds[0])
    reconstruction = O.bernoulli_nll(BATCH, model.decode(z[0]), event_ndims=3)
    assert t["reconstruction"] == pytest.approx(float(tf.reduce_mean(reconstruction)), rel=1e-6)
    assert t["kl"] == pytest.approx(
        float(tf.reduce_mean(posterior.kl_to_standard_normal())), rel=1e-6
    )


@pytest.mark.parametrize("posterior", FAMILIES)
def test_annealed_vae_penalises_distance_to_capacity(posterior):
    _, _, t = _terms("annealed_vae", posterior, gamma=3.0, c_max=10.0, iteration_threshold=100)
    assert t["capacity"] == pytest.approx(5.0)
    assert t["loss"] == pytest.approx(t["reconstruction"] + 3.0 * abs(t["kl"] - 5.0), rel=1e-5)


@pytest.mark.parametrize("posterior", FAMILIES)
def test_beta_tcvae_adds_beta_minus_one_tc(posterior):
    _, _, t = _terms("beta_tcvae", posterior, beta=3.0)
    assert np.isfinite(t["tc"])
    assert t["loss"] == pytest.approx(t["reconstruction"] + t["kl"] + 2.0 * t["tc"], rel=1e-5)


@pytest.mark.parametrize("entry, kind", [("dip_vae_i", "i"), ("dip_vae_ii", "ii")])
def test_dip_vae_penalty_on_the_familys_covariance(entry, kind):
    model, _, t = _terms(entry, "full_covariance", lambda_od=2.0, lambda_d=3.0)
    covariance = O.dip_covariance(model.encode(BATCH), kind)
    assert t["dip"] == pytest.approx(float(O.dip_regularizer(covariance, 2.0, 3.0)), rel=1e-5)
    assert t["loss"] == pytest.approx(t["reconstruction"] + t["kl"] + t["dip"], rel=1e-5)


def test_factor_vae_loss_and_discriminator_loss():
    _, losses, t = _terms("factor_vae", "iaf", gamma=7.0)
    assert t["loss"] == pytest.approx(t["reconstruction"] + t["kl"] + 7.0 * t["tc"], rel=1e-5)
    assert float(losses["discriminator"]) == t["discriminator"] > 0
    assert set(losses) == {"vae", "discriminator"}


def test_free_bits_floor_the_kl():
    _, _, t = _terms("beta_vae_free_bits", beta=2.0, free_bits=5.0)  # floor 15 nats > KL at init
    assert t["kl"] < 15.0
    assert t["loss"] == pytest.approx(t["reconstruction"] + 2.0 * 15.0, rel=1e-6)
    _, _, t = _terms("beta_vae_free_bits", beta=2.0, free_bits=0.0)
    assert t["loss"] == pytest.approx(t["reconstruction"] + 2.0 * t["kl"], rel=1e-6)
