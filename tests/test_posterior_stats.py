"""Posterior correlation, Gaussian total correlation, sample estimators, active units, KL terms."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.evaluation import posterior_stats as ps


def _known_covariance() -> np.ndarray:
    """Covariance with stds (1, 2, 0.5) and correlations 0.6, -0.3, 0.2."""
    corr = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]])
    std = np.array([1.0, 2.0, 0.5])
    return corr * std[:, None] * std[None, :]


def test_full_covariance_gives_known_correlation_and_total_correlation():
    cov = _known_covariance()
    corr = ps.correlation_from_covariance(cov[None]).numpy()[0]
    np.testing.assert_allclose(np.diag(corr), 1.0, atol=1e-6)
    np.testing.assert_allclose(corr[0, 1], 0.6, atol=1e-6)
    np.testing.assert_allclose(corr[0, 2], -0.3, atol=1e-6)
    # mean |off-diagonal| over the 6 ordered pairs = (0.6 + 0.3 + 0.2) / 3
    mean_abs = ps.mean_abs_off_diagonal(corr[None]).numpy()[0]
    np.testing.assert_allclose(mean_abs, 1.1 / 3.0, rtol=1e-6)
    # TC = 0.5 (sum log diag - log det) with det from numpy, independent of Cholesky
    expected_tc = 0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1])
    tc = ps.gaussian_total_correlation(cov[None]).numpy()[0]
    np.testing.assert_allclose(tc, expected_tc, rtol=1e-5)
    # two latents with correlation rho: TC = -0.5 log(1 - rho^2)
    two = np.array([[[4.0, 0.8 * 2 * 3], [0.8 * 2 * 3, 9.0]]])
    np.testing.assert_allclose(
        ps.gaussian_total_correlation(two).numpy()[0], -0.5 * np.log(1 - 0.64), rtol=1e-5
    )


def test_diagonal_posterior_gives_zero():
    rng = np.random.default_rng(0)
    variances = rng.uniform(0.01, 3.0, size=(5, 4))
    cov = np.einsum("nd,de->nde", variances, np.eye(4))
    np.testing.assert_allclose(
        ps.mean_abs_off_diagonal(ps.correlation_from_covariance(cov)).numpy(), 0.0, atol=1e-7
    )
    np.testing.assert_allclose(ps.gaussian_total_correlation(cov).numpy(), 0.0, atol=1e-6)
    assert ps.mean_abs_off_diagonal(np.ones((2, 1, 1))).numpy().tolist() == [0.0, 0.0]


def test_sample_estimator_approaches_closed_form():
    rng = np.random.default_rng(1)
    num_posteriors, d = 8, 3
    factors = rng.normal(size=(num_posteriors, d, d)) * 0.7 + np.eye(d)
    covs = factors @ np.transpose(factors, (0, 2, 1))
    chol = np.linalg.cholesky(covs)
    true_corr = ps.mean_abs_off_diagonal(ps.correlation_from_covariance(covs)).numpy()
    true_tc = ps.gaussian_total_correlation(covs).numpy()
    errors = {}
    for s in (100, 10000):
        eps = rng.normal(size=(s, num_posteriors, d))
        samples = 3.0 + np.einsum("nij,snj->sni", chol, eps)
        est = ps.sample_covariance(samples).numpy()
        assert est.shape == (num_posteriors, d, d)
        corr = ps.mean_abs_off_diagonal(ps.correlation_from_covariance(est)).numpy()
        tc = ps.gaussian_total_correlation(est).numpy()
        errors[s] = (
            np.mean(np.abs(est - covs)),
            np.mean(np.abs(corr - true_corr)),
            np.mean(np.abs(tc - true_tc)),
        )
    for small, large in zip(errors[100], errors[10000], strict=True):
        assert large < 0.3 * small
    assert errors[10000][1] < 0.01 and errors[10000][2] < 0.01


def test_sample_covariance_is_unbiased_formula():
    samples = np.array([[[0.0, 1.0]], [[2.0, 5.0]], [[4.0, 3.0]]])  # S=3, N=1, D=2
    np.testing.assert_allclose(
        ps.sample_covariance(samples).numpy()[0], np.cov(samples[:, 0, :].T), rtol=1e-6
    )
    with pytest.raises(ValueError, match="at least 2 samples"):
        ps.sample_covariance(samples[:1])
    with pytest.raises(ValueError, match=r"\[S, N, D\]"):
        ps.sample_covariance(samples[:, 0, :])


def test_active_units_threshold():
    rng = np.random.default_rng(2)
    base = rng.normal(size=(500, 1))
    # latent 0: variance ~1, latent 1: constant, latent 2: variance ~0.0025, latent 3: ~0.04
    codes = np.concatenate([base, np.full_like(base, 3.0), 0.05 * base, 0.2 * base], axis=1)
    activity = ps.latent_activity(codes).numpy()
    np.testing.assert_allclose(activity, np.var(codes, axis=0), rtol=1e-4, atol=1e-7)
    assert ps.active_units(codes) == 2
    assert ps.active_units(codes, threshold=0.001) == 3


def test_per_latent_kl_matches_closed_form_and_sums_with_tc_to_full_kl():
    cov = _known_covariance()
    mean = np.array([0.5, -1.0, 0.2])
    per_latent = ps.per_latent_kl_to_standard_normal(mean, np.diag(cov)).numpy()
    expected = 0.5 * (np.diag(cov) + mean**2 - 1 - np.log(np.diag(cov)))
    np.testing.assert_allclose(per_latent, expected, rtol=1e-5)
    full_kl = 0.5 * (np.trace(cov) + mean @ mean - 3 - np.linalg.slogdet(cov)[1])
    tc = ps.gaussian_total_correlation(cov[None]).numpy()[0]
    np.testing.assert_allclose(per_latent.sum() + tc, full_kl, rtol=1e-5)


def test_standard_normal_log_prob():
    z = np.array([[0.0, 0.0], [1.0, -2.0]])
    expected = -0.5 * np.sum(z**2, axis=1) - np.log(2 * np.pi)
    np.testing.assert_allclose(ps.standard_normal_log_prob(z).numpy(), expected, rtol=1e-6)


def _gaussian_log_q_matrices(means, cov, z):
    """log q(z_i | x_j) and per-dimension marginals for q(z|x_j) = N(means_j, cov)."""
    diff = z[:, None, :] - means[None, :, :]  # [M, M, D]
    prec = np.linalg.inv(cov)
    d = cov.shape[0]
    joint = -0.5 * (
        np.einsum("ijd,de,ije->ij", diff, prec, diff)
        + d * np.log(2 * np.pi)
        + np.linalg.slogdet(cov)[1]
    )
    var = np.diag(cov)
    marg = -0.5 * (diff**2 / var + np.log(2 * np.pi * var))
    return joint, marg


def test_aggregate_total_correlation_of_a_known_gaussian():
    # Every posterior is the same N(0, S): q(z) = N(0, S), TC = -0.5 log det R.
    rng = np.random.default_rng(3)
    cov = _known_covariance()
    m = 2000
    z = rng.multivariate_normal(np.zeros(3), cov, size=m)
    joint, marg = _gaussian_log_q_matrices(np.zeros((m, 3)), cov, z)
    expected = 0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1])
    for size in (None, m, 10 * m):
        est = float(ps.aggregate_total_correlation(joint, marg, dataset_size=size))
        assert abs(est - expected) < 0.05, (size, est, expected)


def test_aggregate_total_correlation_is_near_zero_for_independent_latents():
    # Means independent across dimensions, isotropic posteriors: q(z) factorises.
    rng = np.random.default_rng(4)
    m = 1500
    means = rng.normal(size=(m, 2)) * np.array([2.0, 1.0])
    cov = 0.25 * np.eye(2)
    z = means + 0.5 * rng.normal(size=(m, 2))
    joint, marg = _gaussian_log_q_matrices(means, cov, z)
    assert abs(float(ps.aggregate_total_correlation(joint, marg))) < 0.05
    # correlated means (z_2 ~ z_1) make q(z) correlated: TC clearly positive
    means_corr = np.stack([means[:, 0], means[:, 0] + 0.3 * means[:, 1]], axis=1)
    z_corr = means_corr + 0.5 * rng.normal(size=(m, 2))
    joint, marg = _gaussian_log_q_matrices(means_corr, cov, z_corr)
    assert float(ps.aggregate_total_correlation(joint, marg)) > 0.5


def test_aggregate_total_correlation_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\[M, M\]"):
        ps.aggregate_total_correlation(np.zeros((3, 4)), np.zeros((3, 4, 2)))
    with pytest.raises(ValueError, match=r"\[M, M, D\]"):
        ps.aggregate_total_correlation(np.zeros((3, 3)), np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="dataset_size"):
        ps.aggregate_total_correlation(np.zeros((3, 3)), np.zeros((3, 3, 2)), dataset_size=2)
