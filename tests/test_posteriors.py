"""Posterior families: log-densities, moments and KL against references."""

import numpy as np
import pytest
from scipy import stats

from benchmark.errors import UserInputError
from benchmark.models import posteriors as P
from benchmark.models.families import diagonal as diagonal_family
from benchmark.models.families import full_covariance as full_family
from benchmark.models.families import iaf as iaf_family
from benchmark.tf_quiet import import_tensorflow, import_tfp

tf = import_tensorflow()
tfd = import_tfp().distributions

RNG = np.random.default_rng(0)
N, D = 4, 3
LOC = RNG.normal(size=(N, D)).astype(np.float32)
LOG_VAR = RNG.normal(scale=0.5, size=(N, D)).astype(np.float32)


def _tril(n: int, d: int) -> np.ndarray:
    raw = RNG.normal(scale=0.4, size=(n, d, d)).astype(np.float32)
    tril = np.tril(raw, -1)
    idx = np.arange(d)
    tril[:, idx, idx] = np.exp(RNG.normal(scale=0.3, size=(n, d))).astype(np.float32)
    return tril


TRIL = _tril(N, D)
FEATURES = RNG.normal(size=(N, 5)).astype(np.float32)


def _mc_kl(posterior: P.Posterior, num: int = 40_000, seed: int = 7):
    z, log_q = posterior.sample_and_log_prob(num, seed)
    per_draw = (log_q - P.log_standard_normal(z)).numpy()
    return per_draw.mean(axis=0), per_draw.std(axis=0) / np.sqrt(num)


def test_diagonal_log_prob_moments_and_kl():
    q = diagonal_family.DiagonalGaussian(tf.constant(LOC), tf.constant(LOG_VAR))
    sigma = np.exp(LOG_VAR / 2)
    z = RNG.normal(size=(5, N, D)).astype(np.float32)
    expected = stats.norm(LOC, sigma).logpdf(z).sum(-1)
    np.testing.assert_allclose(q.log_prob(z).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(
        q.marginal_log_prob(z).numpy(), stats.norm(LOC, sigma).logpdf(z), rtol=1e-5
    )
    np.testing.assert_allclose(
        q.covariance().numpy(), np.stack([np.diag(s**2) for s in sigma]), rtol=1e-6
    )
    kl_hand = 0.5 * (LOC**2 + sigma**2 - 1 - LOG_VAR)
    np.testing.assert_allclose(q.kl_per_latent().numpy(), kl_hand, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(q.kl_to_standard_normal().numpy(), kl_hand.sum(-1), rtol=1e-5)
    mc, se = _mc_kl(q)
    assert np.all(np.abs(mc - kl_hand.sum(-1)) < 4 * se + 1e-3)


def test_full_covariance_log_prob_moments_and_kl():
    q = full_family.FullCovarianceGaussian(tf.constant(LOC), tf.constant(TRIL))
    cov = TRIL @ np.transpose(TRIL, (0, 2, 1))
    np.testing.assert_allclose(q.covariance().numpy(), cov, rtol=1e-5)
    z = RNG.normal(size=(N, D)).astype(np.float32)
    expected = [stats.multivariate_normal(LOC[n], cov[n]).logpdf(z[n]) for n in range(N)]
    np.testing.assert_allclose(q.log_prob(z).numpy(), expected, rtol=1e-5)
    marginal = stats.norm(LOC, np.sqrt(np.diagonal(cov, axis1=1, axis2=2))).logpdf(z)
    np.testing.assert_allclose(q.marginal_log_prob(z).numpy(), marginal, rtol=1e-5)
    reference = tfd.kl_divergence(
        tfd.MultivariateNormalTriL(LOC, TRIL), tfd.MultivariateNormalDiag(tf.zeros(D), tf.ones(D))
    )
    closed = q.kl_to_standard_normal().numpy()
    np.testing.assert_allclose(closed, reference.numpy(), rtol=1e-5)
    mc, se = _mc_kl(q)
    assert np.all(np.abs(mc - closed) < 4 * se + 1e-3)
    assert q.kl_per_latent() is None


def test_full_covariance_with_diagonal_cholesky_is_the_diagonal_posterior():
    diagonal = diagonal_family.DiagonalGaussian(tf.constant(LOC), tf.constant(LOG_VAR))
    full = full_family.FullCovarianceGaussian(tf.constant(LOC), tf.linalg.diag(tf.exp(LOG_VAR / 2)))
    z = RNG.normal(size=(2, N, D)).astype(np.float32)
    np.testing.assert_allclose(full.log_prob(z), diagonal.log_prob(z), rtol=1e-6)
    np.testing.assert_allclose(full.marginal_log_prob(z), diagonal.marginal_log_prob(z), rtol=1e-6)
    np.testing.assert_allclose(
        full.kl_to_standard_normal(), diagonal.kl_to_standard_normal(), rtol=1e-5
    )
    np.testing.assert_allclose(full.covariance(), diagonal.covariance(), rtol=1e-6)
    z_full, lq_full = full.sample_and_log_prob(3, 11)
    z_diag, lq_diag = diagonal.sample_and_log_prob(3, 11)
    np.testing.assert_allclose(z_full, z_diag, rtol=1e-6)
    np.testing.assert_allclose(lq_full, lq_diag, rtol=1e-6)


def test_full_covariance_head_is_a_unit_lower_factor_times_sigma():
    """scale_tril = L diag(sigma): L unit lower-triangular from the off-diagonal head, sigma
    = exp(log_var / 2) from the diagonal family's head (linear IAF, Kingma et al. 2016)."""
    family = full_family.FullCovarianceFamily(D)
    features = tf.constant(FEATURES)
    family.posterior(features)  # builds both heads
    assert family.off_diagonal.kernel.shape == (5, D * (D - 1) // 2)
    rng = np.random.default_rng(4)
    for layer in (family.head, family.off_diagonal):
        for variable in layer.trainable_variables:
            variable.assign(rng.normal(scale=0.3, size=variable.shape).astype(np.float32))
    q = family.posterior(features)
    head = FEATURES @ family.head.kernel.numpy() + family.head.bias.numpy()
    entries = FEATURES @ family.off_diagonal.kernel.numpy() + family.off_diagonal.bias.numpy()
    sigma = np.exp(head[:, D:] / 2)
    rows, cols = np.tril_indices(D, -1)
    unit = np.tile(np.eye(D, dtype=np.float32), (N, 1, 1))
    unit[:, rows, cols] = entries
    np.testing.assert_allclose(q.loc.numpy(), head[:, :D], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(q.scale_tril.numpy(), unit * sigma[:, None, :], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        q.covariance().numpy()[0], (unit[0] * sigma[0] ** 2) @ unit[0].T, rtol=1e-5
    )


def test_sample_from_noise_is_the_reparameterisation_with_its_density():
    """z = mu + A eps and log q(z) from the noise agree with each family's own log_prob."""
    eps = RNG.normal(size=(6, N, D)).astype(np.float32)
    diagonal = diagonal_family.DiagonalGaussian(tf.constant(LOC), tf.constant(LOG_VAR))
    z, log_q = diagonal.sample_from_noise(eps)
    np.testing.assert_allclose(z, LOC + np.exp(LOG_VAR / 2) * eps, rtol=1e-6)
    np.testing.assert_allclose(log_q, diagonal.log_prob(z), rtol=1e-5)
    full = full_family.FullCovarianceGaussian(tf.constant(LOC), tf.constant(TRIL))
    z, log_q = full.sample_from_noise(eps)
    np.testing.assert_allclose(z, LOC + np.einsum("nde,sne->snd", TRIL, eps), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(log_q, full.log_prob(z), rtol=1e-5)
    iaf = _iaf(FEATURES, steps=3)
    z, log_q = iaf.sample_from_noise(eps)
    np.testing.assert_allclose(log_q, iaf.log_prob(z), rtol=1e-4, atol=1e-4)
    z_seeded, log_q_seeded = iaf.sample_and_log_prob(6, 13)
    eps_seeded = iaf.distribution.distribution.sample(6, seed=P.stateless_seed(13)) - iaf.loc
    z_noise, log_q_noise = iaf.sample_from_noise(eps_seeded / tf.exp(0.5 * iaf.log_variance))
    np.testing.assert_allclose(z_noise, z_seeded, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(log_q_noise, log_q_seeded, rtol=1e-4, atol=1e-4)


def _randomise(network, seed: int = 0) -> None:
    """Random weights for a MADE (masks re-applied: its kernels keep their constraints)."""
    rng = np.random.default_rng(seed)
    for variable in network.trainable_variables:
        variable.assign(rng.normal(scale=0.3, size=variable.shape).astype(np.float32))
    for module in network.submodules:
        if getattr(module, "kernel_constraint", None) is not None:
            module.kernel.assign(module.kernel_constraint(module.kernel))


def _iaf(
    features: np.ndarray, zero_networks: bool = False, steps: int = 2
) -> iaf_family.IAFPosterior:
    """An IAF posterior with random (masked) networks, or with all-zero ones."""
    family = iaf_family.IAFFamily(
        D, iaf_steps=steps, iaf_hidden_units=[16], context_dim=features.shape[-1]
    )
    posterior = family.posterior(tf.constant(features))
    posterior.sample_and_log_prob(1, 0)  # creates the networks' variables
    for k, network in enumerate(family.networks):
        if zero_networks:
            for variable in network.trainable_variables:
                variable.assign(tf.zeros_like(variable))
        else:
            _randomise(network, seed=k)
    return family.posterior(tf.constant(features))


def test_iaf_log_prob_of_its_samples_matches_the_sampling_density():
    q = _iaf(FEATURES, steps=3)
    z, log_q = q.sample_and_log_prob(64, 3)
    assert z.shape == (64, N, D) and log_q.shape == (64, N)
    exact = q.log_prob(z).numpy()  # the sequential inverse of every step
    np.testing.assert_allclose(exact, log_q.numpy(), rtol=1e-4, atol=1e-4)


def test_iaf_log_prob_stays_finite_for_extreme_inputs():
    """Bounded log-scales keep the sequential inverse finite (no NaN rows)."""
    q = _iaf(FEATURES * 5.0, steps=3)  # base scales up to e^5, draws up to ~1e5
    z, log_q = q.sample_and_log_prob(256, 3)
    assert np.all(np.isfinite(log_q.numpy()))
    assert np.all(np.isfinite(q.log_prob(z).numpy()))
    assert np.all(np.isfinite(q.log_prob(tf.fill([N, D], 1e4)).numpy()))


def test_iaf_cross_log_prob_pairs_every_sample_with_every_posterior():
    q = _iaf(FEATURES)
    z, _ = q.sample_and_log_prob(1, 5)
    cross = q.log_prob(z[0][:, None, :]).numpy()  # [i, j] = log q(z_i | x_j)
    assert cross.shape == (N, N)
    np.testing.assert_allclose(np.diag(cross), q.log_prob(z[0]).numpy(), rtol=1e-5, atol=1e-5)
    for j in range(N):
        single = _iaf_row(q, j)
        np.testing.assert_allclose(cross[:, j], single.log_prob(z[0]).numpy(), rtol=1e-4, atol=1e-4)


def _iaf_row(q: iaf_family.IAFPosterior, j: int) -> iaf_family.IAFPosterior:
    """The posterior of input j alone, repeated over a batch of N points."""
    return iaf_family.IAFPosterior(
        tf.repeat(q.loc[j : j + 1], N, 0),
        tf.repeat(q.log_variance[j : j + 1], N, 0),
        tf.repeat(q.context[j : j + 1], N, 0),
        q.networks,
    )


def test_iaf_with_identity_steps_is_its_diagonal_base():
    q = _iaf(FEATURES, zero_networks=True)
    base = diagonal_family.DiagonalGaussian(q.loc, q.log_variance)
    z = RNG.normal(size=(2, N, D)).astype(np.float32)
    np.testing.assert_allclose(q.log_prob(z), base.log_prob(z), rtol=1e-5)
    mc = q.kl_to_standard_normal(num_samples=20_000, seed=1).numpy()
    closed = base.kl_to_standard_normal().numpy()
    np.testing.assert_allclose(mc, closed, atol=0.05 + 0.02 * np.abs(closed).max())
    np.testing.assert_allclose(q.mean(num_samples=20_000), base.mean(), atol=0.05)
    np.testing.assert_allclose(
        q.covariance(num_samples=20_000), base.covariance(), rtol=0.05, atol=0.1
    )  # variance sd: v sqrt(2 / 20000) = 1% of v


def test_iaf_moments_and_kl_are_sample_estimates():
    q = _iaf(FEATURES)
    z, log_q = q.sample_and_log_prob(4000, 9)
    np.testing.assert_allclose(
        q.mean(num_samples=4000, seed=9), z.numpy().mean(0), rtol=1e-5, atol=1e-6
    )
    cov = q.covariance(num_samples=4000, seed=9).numpy()
    centred = z.numpy() - z.numpy().mean(0)
    np.testing.assert_allclose(
        cov, np.einsum("snd,sne->nde", centred, centred) / 3999, rtol=1e-4, atol=1e-5
    )
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    kl = q.kl_to_standard_normal(num_samples=4000, seed=9).numpy()
    np.testing.assert_allclose(kl, (log_q - P.log_standard_normal(z)).numpy().mean(0), rtol=1e-5)
    assert q.kl_per_latent() is None and not q.closed_form_kl
    assert q.mean().shape == (N, D)  # default: moment_samples draws with seed 0
    np.testing.assert_array_equal(q.mean(), q.mean())


def test_samples_are_stateless_in_and_out_of_tf_function():
    q = diagonal_family.DiagonalGaussian(tf.constant(LOC), tf.constant(LOG_VAR))
    eager, _ = q.sample_and_log_prob(2, tf.constant([3, 4]))
    graph = tf.function(lambda s: q.sample_and_log_prob(2, s)[0])(tf.constant([3, 4]))
    # Same draws; graph rewrites (fused CPU kernels) may round the arithmetic on them differently.
    np.testing.assert_allclose(eager, graph, rtol=1e-6, atol=1e-7)
    other, _ = q.sample_and_log_prob(2, tf.constant([3, 5]))
    assert not np.allclose(eager, other)


def test_unknown_family_lists_the_known_ones():
    with pytest.raises(UserInputError, match="diagonal, full_covariance, iaf"):
        P.make_family("diagonl", 3, context_dim=4)
    assert P.POSTERIORS.names() == ["diagonal", "full_covariance", "iaf"]


def test_families_declare_their_options_and_reject_others():
    assert P.family_options("diagonal", {}) == {"kl_samples": 0}
    assert P.POSTERIORS.get("full_covariance").options == {}
    iaf = P.family_options("iaf", {"iaf_steps": 3})
    assert iaf == {
        "iaf_steps": 3,
        "iaf_hidden_units": (64, 64),
        "kl_samples": 1,
        "moment_samples": 64,
        "iaf_trainable": True,
    }
    assert set(P.family_option_names()) == set(iaf)
    with pytest.raises(UserInputError, match="not used by posterior family 'full_covariance'"):
        P.make_family("full_covariance", 3, context_dim=4, kl_samples=2)
    with pytest.raises(UserInputError, match="'iaf_steps': expected an integer from 1 to 64"):
        P.make_family("iaf", 3, context_dim=4, iaf_steps=0)
