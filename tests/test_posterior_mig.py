"""Posterior MIG against mutual information computed by numerical integration."""

import numpy as np
import pytest
from scipy import integrate, stats

from benchmark.metrics.posterior_mig import posterior_mig, stratified_factors

VALUES, SPACING, SIGMA = 4, 1.0, 0.6


def _true_mutual_info() -> float:
    """I(z; v) for v uniform on 0..3 and z | v ~ N(v, 0.6^2): H(mixture) - H(Gaussian)."""
    centres = SPACING * np.arange(VALUES)

    def density(z: float) -> float:
        return float(np.mean(stats.norm.pdf(z, centres, SIGMA)))

    def integrand(z: float) -> float:
        p = density(z)
        return -p * np.log(p) if p > 0 else 0.0

    entropy, _ = integrate.quad(integrand, -8, 12, limit=200)
    return entropy - 0.5 * np.log(2 * np.pi * np.e * SIGMA**2)


def _encoder(num: int, seed: int):
    """Latent 0 encodes factor 0; latent 1 encodes factor 1 (2 values) only; both Gaussian."""
    random_state = np.random.RandomState(seed)
    factors = stratified_factors((VALUES, 2), num, random_state)
    means = np.stack([SPACING * factors[:, 0], 3.0 * factors[:, 1]], axis=1).astype(float)
    stds = np.full_like(means, SIGMA)
    samples = means[:, None, :] + stds[:, None, :] * random_state.normal(size=(num, 2, 2))
    return samples, means, stds, factors


def test_estimate_approaches_the_integral_as_the_sample_grows():
    truth = _true_mutual_info()
    assert 0.3 < truth < np.log(VALUES)  # a partly informative code
    errors = []
    for num in (40, 400, 2000):
        estimates = [
            posterior_mig(*_encoder(num, seed))["posterior_mutual_info_matrix_codes_x_factors"][
                0, 0
            ]
            for seed in range(3)
        ]
        errors.append(np.mean(np.abs(np.array(estimates) - truth)))
    assert errors[-1] < 0.03
    assert errors[-1] < errors[0]


def test_mig_of_a_factorised_encoder():
    samples, means, stds, factors = _encoder(2000, 0)
    result = posterior_mig(samples, means, stds, factors)
    mi = result["posterior_mutual_info_matrix_codes_x_factors"]
    # Cross terms carry no information: latent 0 ignores factor 1 and vice versa.
    assert abs(mi[0, 1]) < 0.03 and abs(mi[1, 0]) < 0.03
    expected = _true_mutual_info() / np.log(VALUES)
    assert result["posterior_mig_per_factor"][0] == pytest.approx(expected, abs=0.03)
    assert result["posterior_mig_per_factor"].shape == (2,)


def test_stratified_factors_are_balanced():
    factors = stratified_factors((3, 40, 6), 120, np.random.RandomState(0))
    for k, size in enumerate((3, 40, 6)):
        np.testing.assert_array_equal(np.bincount(factors[:, k]), np.full(size, 120 // size))


def test_rejects_bad_shapes():
    with pytest.raises(ValueError, match="expected samples"):
        posterior_mig(np.zeros((4, 1, 2)), np.zeros((4, 3)), np.ones((4, 3)), np.zeros((4, 1)))
