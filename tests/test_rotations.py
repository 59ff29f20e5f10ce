"""Rotation controls: a rotated disentangled code loses MIG as is and recovers it after ICA."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from benchmark.evaluation.rotations import active_directions, fit_rotation, rotated_representation
from benchmark.metrics.mig import mig


def _rotation(d: int, seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q * np.sign(np.diag(r))[None, :]


HADAMARD = 0.5 * np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])


def _disentangled(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four uniform discrete factors, each read by one code axis (plus a little noise)."""
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, 10, size=(n, 4))
    codes = (factors - 4.5) / 2.9 + 0.02 * rng.normal(size=(n, 4))
    return codes, factors


def test_rotated_code_scores_low_on_mig_and_high_after_ica():
    codes, factors = _disentangled()
    as_is = mig(codes, factors)["mig"]
    rotated = codes @ HADAMARD  # every axis mixes all four factors equally
    low = mig(rotated, factors)["mig"]
    recovered = mig(fit_rotation(rotated, "ica", seed=0)(rotated), factors)["mig"]
    assert as_is > 0.8
    assert low < 0.3
    assert recovered > 0.8
    # PCA alone cannot undo a rotation of an isotropic code (equal variances): it stays low
    assert mig(fit_rotation(rotated, "pca", seed=0)(rotated), factors)["mig"] < 0.5


def test_pca_whitening_gives_unit_covariance_and_a_fixed_map():
    rng = np.random.default_rng(2)
    codes = rng.normal(size=(500, 4)) @ rng.normal(size=(4, 4)) + 3.0
    transform = fit_rotation(codes, "pca", seed=0)
    white = transform(codes)
    np.testing.assert_allclose(np.cov(white, rowvar=False, bias=True), np.eye(4), atol=1e-8)
    # a fixed linear map: codes of other points go through the same map
    np.testing.assert_allclose(transform(codes[:10]), white[:10])
    with pytest.raises(ValueError, match="rotation kind"):
        fit_rotation(codes, "svd", seed=0)


def test_active_directions_count_eigenvalues_and_ignore_rotations():
    rng = np.random.default_rng(3)
    codes = np.concatenate([rng.normal(size=(2000, 2)), 0.01 * rng.normal(size=(2000, 3))], 1)
    assert active_directions(codes) == 2
    assert active_directions(codes @ _rotation(5, 4)) == 2  # per-axis variances would say 5
    assert int(np.sum(np.var(codes @ _rotation(5, 4), axis=0) > 0.01)) > 2


def test_rotated_representation_fits_once_then_maps():
    codes, _ = _disentangled(200)
    rotated = codes @ _rotation(4, 5)
    calls = []

    def represent(x):
        calls.append(len(x))
        return rotated[x.astype(int)]

    index = np.arange(200)
    function, rotation = rotated_representation(represent, index, "pca", seed=0)
    assert (rotation.iterations, rotation.converged) == (0, True)
    out = function(index[:50])
    assert calls == [200, 50]
    assert out.shape == (50, 4)


def test_ica_reports_its_fit_instead_of_warning():
    """A fit that reaches the iteration cap is kept and flagged, not printed to the run's log."""
    codes, _ = _disentangled(2000)
    gaussian = np.random.default_rng(0).normal(size=(1000, 6))  # no direction is non-Gaussian
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning, ConvergenceWarning included, fails here
        good = fit_rotation(codes @ HADAMARD, "ica", seed=0)
        noise = fit_rotation(gaussian, "ica", seed=0)
    assert good.converged and 0 < good.iterations < 1000
    assert 0 < noise.iterations <= 1000
    assert noise.converged == (noise.iterations < 1000)
    assert noise(gaussian).shape == (1000, 6)
