"""UDR on hand-built representations whose answer is known."""

import numpy as np
import pytest

from benchmark.metrics.udr import (
    lasso_correlation_matrix,
    relative_strength_disentanglement,
    spearman_correlation_matrix,
    udr,
)


def _copies(rng, num_models=4, values=5, dim=4):
    """A code whose latents are the axes of a full `values^dim` grid (so their sample rank
    and linear correlations are exactly 0), and permuted, sign-flipped, rescaled copies."""
    axes = np.meshgrid(*[np.linspace(-1.0, 1.0, values)] * dim, indexing="ij")
    base = np.stack([a.ravel() for a in axes], axis=1)
    codes = [base]
    for _ in range(num_models - 1):
        perm = rng.permutation(dim)
        signs = rng.choice([-1.0, 1.0], size=dim)
        scale = rng.uniform(0.5, 3.0, size=dim)
        codes.append(base[:, perm] * signs * scale + rng.uniform(-1, 1, size=dim))
    return codes


def test_permuted_sign_flipped_copies_score_one_with_spearman():
    rng = np.random.default_rng(0)
    codes = _copies(rng)
    kl = [np.ones(4)] * len(codes)
    result = udr(codes, kl, correlation="spearman")
    np.testing.assert_allclose(result["model_scores"], 1.0, atol=1e-12)


def test_permuted_copies_score_one_minus_alpha_with_lasso():
    # Lasso of standardised x on itself: coefficient 1 - alpha, others 0, so S = (1 - alpha).
    rng = np.random.default_rng(1)
    codes = _copies(rng)
    kl = [np.ones(4)] * len(codes)
    for alpha in (0.1, 0.3):
        result = udr(codes, kl, correlation="lasso", lasso_alpha=alpha)
        np.testing.assert_allclose(result["model_scores"], 1 - alpha, atol=1e-6)


@pytest.mark.parametrize("correlation", ["lasso", "spearman"])
def test_independent_noise_scores_near_zero(correlation):
    rng = np.random.default_rng(2)
    codes = [rng.normal(size=(1000, 6)) for _ in range(4)]
    result = udr(codes, [np.ones(6)] * 4, correlation=correlation)
    # Spearman of independent codes: |rho| ~ 1/sqrt(N); Lasso at alpha 0.1 zeroes them.
    assert np.all(result["model_scores"] < 0.1)


def test_low_kl_latents_are_left_out():
    rng = np.random.default_rng(3)
    base = _copies(rng, num_models=1, values=8, dim=3)[0]  # 512 points
    noise = rng.normal(size=(512, 3))
    # Model 2 copies model 1's informative latents; its extra latents are noise with KL ~0.
    a = np.concatenate([base, noise], axis=1)
    b = np.concatenate([base[:, ::-1], rng.normal(size=(512, 3))], axis=1)
    kl = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    filtered = udr([a, b], [kl, kl], correlation="spearman")
    unfiltered = udr([a, b], [kl, kl], correlation="spearman", filter_low_kl=False)
    np.testing.assert_allclose(filtered["model_scores"], 1.0, atol=1e-12)
    assert np.all(unfiltered["model_scores"] < 0.75)  # three all-zero rows and columns count 0


def test_relative_strength_by_hand():
    matrix = np.array([[1.0, 0.0], [1.0, 1.0]])
    # columns: max^2/sum = 1/2, 1/1; rows: 1/1, 1/2 -> (0.75 + 0.75) / 2
    assert relative_strength_disentanglement(matrix) == pytest.approx(0.75)
    assert relative_strength_disentanglement(np.zeros((0, 3))) == 0.0


def test_correlation_matrices_by_hand():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(200, 2))
    y = np.stack([np.exp(x[:, 1]), -(x[:, 0] ** 3)], axis=1)  # monotone maps: |rho| = 1
    spearman = spearman_correlation_matrix(x, y)
    np.testing.assert_allclose(spearman[[1, 0], [0, 1]], 1.0, atol=1e-12)
    assert spearman.shape == (2, 2)
    lasso = lasso_correlation_matrix(x, x[:, :1] * 2.0 + 0.0)
    assert lasso.shape == (2, 1)
    assert lasso[1, 0] == pytest.approx(0.0, abs=1e-9)


def test_udr_rejects_a_single_model():
    with pytest.raises(ValueError, match="at least 2 models"):
        udr([np.zeros((3, 2))], [np.ones(2)])


@pytest.mark.parametrize("correlation", ["lasso", "spearman"])
def test_an_iaf_with_noisy_inactive_latents_scores_as_the_diagonal_model_with_the_same_active(
    correlation,
):
    """Three shared active latents; the 'IAF' models' three inactive latents carry Monte Carlo
    noise (sd 0.13) and a moment-matched KL of 0.03 nats, which passes the 0.01 KL cut; the
    diagonal models' inactive latents are exactly 0 with KL 0. With the activity masks the
    pipeline stores (noise-floor corrected), both get the same UDR."""
    rng = np.random.default_rng(4)
    base = _copies(rng, num_models=1, values=8, dim=3)[0]  # 512 points
    kl = np.array([1.0, 1.0, 1.0, 0.03, 0.03, 0.03])
    active = np.array([True, True, True, False, False, False])

    def iaf(order):
        return np.concatenate([base[:, order], rng.normal(0, 0.13, (512, 3))], axis=1)

    def diagonal(order):
        return np.concatenate([base[:, order], np.zeros((512, 3))], axis=1)

    orders = ([0, 1, 2], [2, 0, 1], [1, 2, 0])
    zero_kl = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    reference = udr([diagonal(o) for o in orders], [zero_kl] * 3, correlation=correlation)
    masked = udr([iaf(o) for o in orders], [kl] * 3, correlation=correlation, active=[active] * 3)
    unmasked = udr([iaf(o) for o in orders], [kl] * 3, correlation=correlation)
    np.testing.assert_allclose(masked["model_scores"], reference["model_scores"], atol=1e-9)
    assert np.all(unmasked["model_scores"] < reference["model_scores"] - 0.05)
