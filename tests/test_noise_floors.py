"""Sample-based latent scores carry no Monte Carlo floor, and each reports the floor beside it.

References nobody here wrote: for S draws of an independent bivariate Gaussian
the sample correlation r has E|r| = Gamma((S-1)/2) / (sqrt(pi) Gamma(S/2));
the sample correlation matrix R of D independent Gaussians has
det R ~ prod_{i=1}^{D-1} Beta((S-1-i)/2, i/2) (Bartlett 1937), so
E[-1/2 log det R] = -1/2 sum_i [psi((S-1-i)/2) - psi((S-1)/2)].
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import digamma, gammaln
from scipy.stats import ortho_group

from benchmark.evaluation import posterior_stats as ps
from benchmark.evaluation.latent_scores import NOISE_FLOOR_KEYS, latent_scores
from tests.test_latent_scores import LinearModel

D = 10


def expected_abs_correlation(s: int) -> float:
    return float(np.exp(gammaln((s - 1) / 2) - gammaln(s / 2)) / np.sqrt(np.pi))


def expected_gaussian_tc(s: int, d: int) -> float:
    i = np.arange(1, d)
    return float(-0.5 * np.sum(digamma((s - 1 - i) / 2) - digamma((s - 1) / 2)))


def test_reference_values_match_the_issue():
    """64 draws: mean |r| 0.101 and Gaussian TC 0.38 nats over 10 latents."""
    assert expected_abs_correlation(64) == pytest.approx(0.1005, abs=5e-4)
    assert expected_gaussian_tc(64, D) == pytest.approx(0.38, abs=0.01)


def _independent_model(sampled: bool) -> LinearModel:
    """q(z|x) = N(x W, diag(s^2)): latents 0-3 move with x (active), 4-9 do not (unit scale)."""
    weights = np.zeros((6, D))
    weights[:, :4] = 2.0 * ortho_group.rvs(6, random_state=5)[:, :4]  # Cov_x eigenvalues 1/3
    scales = np.r_[np.full(4, 0.3), np.ones(D - 4)]
    return LinearModel(weights, np.diag(scales), closed_form_kl=not sampled)


def _scores(model: LinearModel, posterior_samples: int, num: int = 300) -> dict:
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(num, 6)).astype(np.float32)
    heldout = rng.uniform(size=(8, 6)).astype(np.float32)
    return latent_scores(
        model,
        x,
        heldout,
        seed=0,
        posterior_samples=posterior_samples,
        iw_samples=2,
        batch_size=100,
        tc_sample_size=8,
        marginal_samples=16,
    )


@pytest.mark.parametrize("draws", [64, 1000])
def test_an_independent_sampled_gaussian_scores_its_floor(draws):
    scores = _scores(_independent_model(sampled=True), draws)
    # Posterior correlation: score, floor and the closed form agree (independent streams).
    tolerance = {
        "posterior_mean_abs_correlation": 0.006,
        "posterior_gaussian_total_correlation_nats": 0.03,
    }
    expected = {
        "posterior_mean_abs_correlation": expected_abs_correlation(draws),
        "posterior_gaussian_total_correlation_nats": expected_gaussian_tc(draws, D),
    }
    for key, value in expected.items():
        floor = scores[key + "_noise_floor"]
        assert floor == pytest.approx(value, abs=tolerance[key]), key
        assert scores[key] == pytest.approx(value, abs=tolerance[key]), key
    # Active units: 4 moving latents; the 6 others are noise of variance 1/S in the mean
    # codes (1/64 > 0.01), which the correction removes; the floor counts none.
    assert scores["active_units"] == 4
    assert scores["active_directions"] == 4
    assert scores["active_units_noise_floor"] == 0
    assert scores["active_directions_noise_floor"] == 0


def test_without_the_correction_64_draws_count_noise_as_activity():
    """The artefact the correction removes: the mean codes' variance from 64 draws."""
    model = _independent_model(sampled=True)
    x = np.random.default_rng(1).uniform(size=(300, 6)).astype(np.float32)
    z, _ = model.encode(x).sample_and_log_prob(64, np.array([1, 2], np.int32))
    codes = z.numpy().mean(axis=0)
    assert ps.active_units(codes) == D
    within = np.mean([np.cov(z.numpy()[:, n, :].T) for n in range(300)], axis=0)
    corrected = ps.mean_code_covariance(codes, within, 64)
    assert ps.active_units_from_covariance(corrected) == 4


def test_closed_form_families_have_a_zero_floor():
    scores = _scores(_independent_model(sampled=False), 64)
    for key in NOISE_FLOOR_KEYS:
        assert scores[key + "_noise_floor"] == 0.0, key
    assert scores["posterior_mean_abs_correlation"] == pytest.approx(0.0, abs=1e-7)
    assert scores["active_units"] == scores["active_directions"] == 4


def test_active_directions_are_rotation_invariant():
    """2 active directions rotated into 8 axes: 8 active units, 2 active directions."""
    rng = np.random.default_rng(0)
    latent = np.zeros((2000, 8))
    latent[:, :2] = rng.normal(size=(2000, 2))
    latent += 0.01 * rng.normal(size=latent.shape)
    rotated = latent @ ortho_group.rvs(8, random_state=1)
    for codes, units in ((latent, 2), (rotated, 8)):
        covariance = ps.mean_code_covariance(codes)
        assert ps.active_units_from_covariance(covariance) == units
        assert ps.active_units(codes) == units
        assert ps.active_directions(covariance) == 2


def test_mean_code_covariance_subtracts_the_monte_carlo_noise():
    rng = np.random.default_rng(3)
    true = rng.normal(size=(5000, 3)) * np.array([1.0, 0.2, 0.0])
    within = np.diag([0.5, 2.0, 1.0])
    s = 16
    codes = true + rng.normal(size=true.shape) * np.sqrt(np.diag(within) / s)
    corrected = ps.mean_code_covariance(codes, within, s).numpy()
    np.testing.assert_allclose(np.diag(corrected), [1.0, 0.04, 0.0], atol=0.04)
    raw = ps.mean_code_covariance(codes).numpy()
    assert raw[2, 2] == pytest.approx(1 / 16, rel=0.1)
