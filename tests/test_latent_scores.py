"""latent_scores on hand-built linear-Gaussian models with known answers, and on tiny real models."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.errors import UserInputError
from benchmark.evaluation.latent_scores import importance_weighted_bound, latent_scores
from benchmark.metrics.unsupervised import unsupervised
from benchmark.tf_quiet import import_tensorflow, import_tfp

tf = import_tensorflow()
tfd = import_tfp().distributions

CORR = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]])
STD = np.array([1.0, 0.5, 0.3])
KNOWN_COV = CORR * STD[:, None] * STD[None, :]


class FakePosterior:
    """q(z|x) = N(loc, L L^T), implementing the posterior-object API.

    `closed_form_kl=False` makes it look like a sampled family (IAF): the
    scores must then come from draws, yet the exact answer is known.
    """

    def __init__(self, loc: tf.Tensor, scale_tril: tf.Tensor, closed_form_kl: bool) -> None:
        self.loc = loc
        self.scale_tril = scale_tril
        self.closed_form_kl = closed_form_kl
        self.dist = tfd.MultivariateNormalTriL(loc=loc, scale_tril=scale_tril)

    def sample_and_log_prob(self, num_samples, seed):
        return self.dist.experimental_sample_and_log_prob(num_samples, seed=tf.cast(seed, tf.int32))

    def mean(self, num_samples=None, seed=None):
        return self.loc

    def covariance(self, num_samples=None, seed=None):
        return tf.matmul(self.scale_tril, self.scale_tril, transpose_b=True)

    def log_prob(self, z):
        return self.dist.log_prob(z)

    def marginal_log_prob(self, z, num_samples=None, seed=None):
        std = tf.sqrt(tf.linalg.diag_part(self.covariance()))
        return tfd.Normal(self.loc, std).log_prob(z)

    def kl_to_standard_normal(self, num_samples=None, seed=None):
        prior = tfd.MultivariateNormalDiag(loc=tf.zeros_like(self.loc))
        return tfd.kl_divergence(self.dist, prior)


class LinearModel:
    """Encoder loc = x W + b with a fixed Cholesky factor L; decoder logits = z V + c."""

    def __init__(self, weights, scale_tril, *, closed_form_kl=True, seed=0):
        rng = np.random.default_rng(seed)
        self.weights = tf.constant(weights, tf.float32)  # [P, D]
        p, d = weights.shape
        self.observation_shape = (p,)
        self.bias = tf.constant(rng.normal(size=d) * 0.1, tf.float32)
        self.scale_tril = tf.constant(scale_tril, tf.float32)
        self.decoder = tf.constant(rng.normal(size=(d, p)), tf.float32)
        self.decoder_bias = tf.constant(rng.normal(size=p) * 0.1, tf.float32)
        self.closed_form_kl = closed_form_kl

    def encode(self, x):
        loc = tf.matmul(x, self.weights) + self.bias
        tril = tf.broadcast_to(self.scale_tril, [tf.shape(x)[0], *self.scale_tril.shape])
        return FakePosterior(loc, tril, self.closed_form_kl)

    def decode(self, z):
        return tf.tensordot(z, self.decoder, axes=1) + self.decoder_bias


def _data(num, p, seed):
    return np.random.default_rng(seed).uniform(size=(num, p)).astype(np.float32)


def _scores(model, num=96, seed=0, **kwargs):
    p = model.observation_shape[0]
    options = dict(posterior_samples=16, iw_samples=8, batch_size=32, tc_sample_size=48)
    options.update(kwargs)
    return latent_scores(model, _data(num, p, 1), _data(24, p, 2), seed=seed, **options)


def _closed_form(weights, bias, cov, x):
    """Numpy reference: mean codes, KL to N(0, I) and marginal KLs per input."""
    loc = x.astype(np.float64) @ weights + bias
    d = cov.shape[0]
    kl = 0.5 * (np.trace(cov) + np.sum(loc**2, axis=1) - d - np.linalg.slogdet(cov)[1])
    var = np.diag(cov)
    per_latent = 0.5 * (var + loc**2 - 1.0 - np.log(var))
    return loc, kl, per_latent


def test_full_covariance_posterior_gives_known_correlation_and_total_correlation():
    weights = np.random.default_rng(3).normal(size=(5, 3))
    scores = _scores(LinearModel(weights, np.linalg.cholesky(KNOWN_COV)))
    np.testing.assert_allclose(scores["posterior_mean_abs_correlation"], 1.1 / 3.0, rtol=1e-5)
    expected_tc = -0.5 * np.linalg.slogdet(CORR)[1]
    np.testing.assert_allclose(
        scores["posterior_gaussian_total_correlation_nats"], expected_tc, rtol=1e-4
    )
    np.testing.assert_allclose(scores["posterior_correlation_matrix"], CORR, atol=1e-5)


def test_diagonal_posterior_gives_zero_correlation():
    weights = np.random.default_rng(3).normal(size=(5, 3))
    scores = _scores(LinearModel(weights, np.diag(STD)))
    assert scores["posterior_mean_abs_correlation"] == pytest.approx(0.0, abs=1e-7)
    assert scores["posterior_gaussian_total_correlation_nats"] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(scores["posterior_correlation_matrix"], np.eye(3), atol=1e-7)


def test_sampled_family_estimate_approaches_closed_form_as_samples_grow():
    weights = np.random.default_rng(3).normal(size=(5, 3))
    model = LinearModel(weights, np.linalg.cholesky(KNOWN_COV), closed_form_kl=False)
    expected = {
        "posterior_mean_abs_correlation": 1.1 / 3.0,
        "posterior_gaussian_total_correlation_nats": -0.5 * np.linalg.slogdet(CORR)[1],
    }
    errors = {}
    for s in (8, 2048):
        scores = _scores(model, num=64, posterior_samples=s, iw_samples=2, tc_sample_size=8)
        errors[s] = [abs(scores[k] - v) for k, v in expected.items()]
    for small, large in zip(errors[8], errors[2048], strict=True):
        assert large < 0.3 * small
    assert max(errors[2048]) < 0.01


def test_rate_equals_closed_form_kl_for_gaussians():
    rng = np.random.default_rng(4)
    weights = rng.normal(size=(6, 3))
    model = LinearModel(weights, np.linalg.cholesky(KNOWN_COV))
    x = _data(96, 6, 1)
    _, kl, per_latent = _closed_form(weights, model.bias.numpy(), KNOWN_COV, x)
    scores = _scores(model)
    np.testing.assert_allclose(scores["rate_nats"], kl.mean(), rtol=1e-5)
    np.testing.assert_allclose(scores["rate_per_latent_nats"], per_latent.mean(0), rtol=1e-4)
    # KL of a Gaussian = sum of marginal KLs + its total correlation
    np.testing.assert_allclose(
        sum(scores["rate_per_latent_nats"]) + scores["posterior_gaussian_total_correlation_nats"],
        scores["rate_nats"],
        rtol=1e-4,
    )
    # ELBO = -reconstruction NLL - KL
    np.testing.assert_allclose(
        scores["elbo_nats"], -scores["reconstruction_nll_nats"] - kl.mean(), rtol=1e-5
    )
    # the sampled path (Monte Carlo KL) agrees within its error
    sampled = _scores(
        LinearModel(weights, np.linalg.cholesky(KNOWN_COV), closed_form_kl=False),
        posterior_samples=512,
    )
    np.testing.assert_allclose(sampled["rate_nats"], kl.mean(), atol=0.05)


def test_active_units_on_hand_built_encoder():
    # x ~ U[0, 1]^4, so Var(x w) = |w|^2 / 12: latent 0 ~ 0.33, latent 1 ignores x,
    # latent 2 ~ 0.0021 (below 0.01), latent 3 ~ 0.083.
    weights = np.zeros((4, 4))
    weights[:, 0] = 1.0
    weights[0, 2] = 0.16
    weights[1, 3] = 1.0
    model = LinearModel(weights, 0.1 * np.eye(4))
    scores = _scores(model, num=400)
    assert scores["active_units"] == 2.0
    # the mean codes' aggregate scores are the metrics' own
    x = _data(400, 4, 1)
    codes = x.astype(np.float64) @ weights + model.bias.numpy()
    reference = unsupervised(codes)
    for key in ("gaussian_total_correlation", "gaussian_wasserstein_correlation"):
        np.testing.assert_allclose(scores[f"aggregate_{key}"], reference[key], rtol=1e-4)


def _bounds(model, x, ks, seed=(7, 11)):
    """Mean IW bound and mean ELBO (nats) for each k, with one fixed seed."""
    out = {}
    for k in ks:
        iw, elbo = importance_weighted_bound(model, x, k, tf.constant(seed, tf.int32))
        out[k] = (float(tf.reduce_mean(iw)), float(tf.reduce_mean(elbo)))
    return out


def test_importance_weighted_bound_is_at_least_elbo_and_grows_with_k():
    # q has the wrong covariance for this decoder, so the bound has room to tighten.
    weights = np.random.default_rng(5).normal(size=(8, 3))
    model = LinearModel(weights, np.linalg.cholesky(KNOWN_COV))
    bounds = _bounds(model, tf.constant(_data(200, 8, 3)), (1, 10, 100))
    iw = {k: b[0] for k, b in bounds.items()}
    elbo = {k: b[1] for k, b in bounds.items()}
    assert iw[1] == pytest.approx(elbo[1], rel=0.03)  # k = 1 estimates the ELBO itself
    assert max(elbo.values()) + 1.0 < iw[10] < iw[100]


def _tiny_vae(posterior: str, iaf_steps: int):
    """An initialised fc beta-VAE on 6 binary pixels: 3 latents, width 8."""
    from benchmark.models import build_model

    model = build_model(
        "beta_vae",
        (6,),
        posterior=posterior,
        architecture="fc",
        fc_width=8,
        latent_dim=3,
        **({"iaf_steps": iaf_steps, "iaf_hidden_units": (8,)} if posterior == "iaf" else {}),
    )
    model.initialize(0)
    return model


def test_importance_weighted_bound_uses_the_iaf_log_q():
    model = _tiny_vae("iaf", iaf_steps=2)
    x = tf.constant((np.random.default_rng(1).uniform(size=(100, 6)) > 0.5).astype(np.float32))
    bounds = _bounds(model, x, (1, 10, 100))
    assert bounds[1][0] == pytest.approx(bounds[1][1], abs=0.02 * abs(bounds[1][1]))
    assert bounds[1][1] < bounds[10][0] < bounds[100][0]
    assert all(b[0] >= b[1] for b in bounds.values())


def test_scores_are_deterministic_for_a_seed_and_validate_inputs():
    weights = np.random.default_rng(6).normal(size=(5, 3))
    model = LinearModel(weights, np.linalg.cholesky(KNOWN_COV), closed_form_kl=False)
    first = _scores(model, seed=3)
    assert first == _scores(model, seed=3)
    assert first["rate_nats"] != _scores(model, seed=4)["rate_nats"]
    with pytest.raises(UserInputError, match="posterior_samples"):
        _scores(model, posterior_samples=3)
    with pytest.raises(UserInputError, match=r"observations: expected shape \[N, 5\]"):
        latent_scores(model, np.zeros((10, 4)), np.zeros((2, 5)), seed=0)
    with pytest.raises(UserInputError, match="heldout"):
        latent_scores(model, np.zeros((10, 5)), np.zeros((2, 4)), seed=0)


@pytest.mark.parametrize("posterior", ["diagonal", "full_covariance", "iaf"])
def test_real_models_give_finite_consistent_scores(posterior):
    model = _tiny_vae(posterior, iaf_steps=1)
    rng = np.random.default_rng(0)
    observations = (rng.uniform(size=(64, 6)) > 0.5).astype(np.float32)
    heldout = (rng.uniform(size=(16, 6)) > 0.5).astype(np.float32)
    scores = latent_scores(
        model,
        observations,
        heldout,
        seed=0,
        posterior_samples=16,
        iw_samples=16,
        batch_size=32,
        tc_sample_size=32,
    )
    floats = {k: v for k, v in scores.items() if not isinstance(v, list)}
    assert all(np.isfinite(v) for v in floats.values()), floats
    assert len(scores["rate_per_latent_nats"]) == 3
    assert np.asarray(scores["posterior_correlation_matrix"]).shape == (3, 3)
    assert 0.0 <= scores["posterior_mean_abs_correlation"] <= 1.0
    assert scores["iw_log_likelihood_nats"] >= scores["heldout_elbo_nats"]
    if posterior == "diagonal":
        assert scores["posterior_mean_abs_correlation"] == 0.0
    if posterior != "iaf":  # Gaussian families: the rate is the closed-form KL
        q = model.encode(tf.constant(observations))
        mu = q.mean().numpy().astype(np.float64)
        cov = q.covariance().numpy().astype(np.float64)
        kl = 0.5 * (
            np.trace(cov, axis1=1, axis2=2) + np.sum(mu**2, axis=1) - 3 - np.linalg.slogdet(cov)[1]
        )
        np.testing.assert_allclose(scores["rate_nats"], kl.mean(), rtol=1e-4, atol=1e-6)
