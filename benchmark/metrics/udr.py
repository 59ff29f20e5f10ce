"""Unsupervised Disentanglement Ranking (UDR; Duan et al. 2020, "Unsupervised Model Selection
for Variational Disentangled Representation Learning", ICLR), as disentanglement_lib computes it.

Every model encodes the same images. For each ordered pair of models (i, j):
codes are standardised per latent; latents with mean KL(q(z_d|x) || N(0, 1))
at or below 0.01 nats are zeroed; a similarity matrix R `[D_i, D_j]` is the
absolute Spearman rank correlation of every latent of i with every latent of
j, or the absolute coefficients of a Lasso (alpha 0.1) regressing j's codes on
i's; rows and columns of latents with KL above `kl_filter_threshold` are kept;
the pair's score is the relative strength

    S(R) = 1/2 [ mean_b max_a R_ab^2 / sum_a R_ab + mean_a max_b R_ab^2 / sum_b R_ab ]

(a 0/0 term counts as 0). A model's UDR is the median of S over its pairs
(j, i) with every other model j. Permuted and sign-flipped copies of one code
give Spearman UDR 1, and Lasso UDR 1 - alpha = 0.9 (the Lasso shrinks a unit
coefficient of standardised data by alpha); independent codes give about 0.

Stated differences from the reference: a pair where one model has no latent
above the KL threshold scores 0 (the reference fails on the empty matrix);
standardisation is numpy's (population standard deviation, as sklearn's
StandardScaler; a constant latent stays 0).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import scipy.stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso

__all__ = [
    "CORRELATIONS",
    "lasso_correlation_matrix",
    "relative_strength_disentanglement",
    "spearman_correlation_matrix",
    "udr",
]

CORRELATIONS = ("lasso", "spearman")
_ACTIVE_KL = 0.01  # the reference zeroes latents at or below this KL (nats) before fitting


def spearman_correlation_matrix(codes_a: np.ndarray, codes_b: np.ndarray) -> np.ndarray:
    """`|Spearman rho|` `[D_a, D_b]` between every latent of `codes_a` `[N, D_a]` and of
    `codes_b` `[N, D_b]`; NaN where a latent is constant."""
    ranks_a = scipy.stats.rankdata(codes_a, axis=0)
    ranks_b = scipy.stats.rankdata(codes_b, axis=0)
    centred_a = ranks_a - ranks_a.mean(axis=0)
    centred_b = ranks_b - ranks_b.mean(axis=0)
    norms = np.outer(np.linalg.norm(centred_a, axis=0), np.linalg.norm(centred_b, axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(centred_a.T @ centred_b / norms)


def lasso_correlation_matrix(
    codes_a: np.ndarray, codes_b: np.ndarray, alpha: float = 0.1
) -> np.ndarray:
    """`|W|` `[D_a, D_b]` of the Lasso (sklearn, coordinate descent) predicting `codes_b` from
    `codes_a`: entry (a, b) is how much latent a of the first model explains latent b."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        model = Lasso(alpha=alpha).fit(codes_a, codes_b)
    return np.abs(np.atleast_2d(model.coef_)).T


def relative_strength_disentanglement(matrix: np.ndarray) -> float:
    """S(R) of the module docstring for a non-negative similarity matrix `[D_a, D_b]`."""
    matrix = np.nan_to_num(np.asarray(matrix, dtype=np.float64))
    if matrix.size == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        by_column = np.nan_to_num(matrix.max(axis=0) ** 2 / matrix.sum(axis=0))
        by_row = np.nan_to_num(matrix.max(axis=1) ** 2 / matrix.sum(axis=1))
    return float((by_column.mean() + by_row.mean()) / 2)


def _standardise(codes: np.ndarray, keep: np.ndarray) -> np.ndarray:
    codes = np.asarray(codes, dtype=np.float64)
    std = codes.std(axis=0)
    scaled = (codes - codes.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return scaled * keep


def udr(
    codes: Sequence[np.ndarray],
    kl_per_latent: Sequence[np.ndarray],
    correlation: str = "lasso",
    filter_low_kl: bool = True,
    kl_filter_threshold: float = 0.01,
    lasso_alpha: float = 0.1,
    active: Sequence[np.ndarray | None] | None = None,
) -> dict[str, np.ndarray]:
    """UDR of M >= 2 models from their codes of the same images.

    Args:
      codes: M arrays `[N, D_m]`, row n of each the code of the same image n.
      kl_per_latent: M arrays `[D_m]`, mean KL(q(z_d|x) || N(0, 1)) per latent (nats).
      correlation: "lasso" or "spearman".
      filter_low_kl: keep only latents with KL above `kl_filter_threshold` in S.
      lasso_alpha: the Lasso's penalty (0.1 in the reference).
      active: optional M bool masks `[D_m]` (None for a model: all): a latent
        enters only if it is also active. The KL filter alone lets a sampled
        family's noise through: an IAF's inactive latents have Monte Carlo mean
        codes and moment-matched KLs of 0.02-0.05 nats, above the 0.01 cut, and
        would then be scored as latents (the activity the pipeline stores is
        noise-floor corrected, `benchmark.evaluation.posterior_codes`).

    Returns:
      `model_scores` `[M]` (the UDR of each model) and
      `pairwise_scores` `[M, M]` (S of each ordered pair; 0 on the diagonal).
    """
    if correlation not in CORRELATIONS:
        raise ValueError(
            f"correlation: expected one of {', '.join(CORRELATIONS)}, got {correlation!r}"
        )
    if len(codes) < 2 or len(codes) != len(kl_per_latent):
        raise ValueError(
            f"udr: expected at least 2 models with one KL vector each, got {len(codes)} codes "
            f"and {len(kl_per_latent)} KL vectors"
        )
    if len({len(c) for c in codes}) != 1:
        raise ValueError("udr: every model's codes must be of the same images (same row count)")
    given = list(active) if active is not None else [None] * len(codes)
    alive = [
        np.asarray(k) > _ACTIVE_KL if a is None else (np.asarray(k) > _ACTIVE_KL) & np.asarray(a)
        for k, a in zip(kl_per_latent, given, strict=True)
    ]
    reps = [_standardise(c, keep) for c, keep in zip(codes, alive, strict=True)]
    masks = [
        np.asarray(k) > kl_filter_threshold
        if a is None
        else (np.asarray(k) > kl_filter_threshold) & a
        for k, a in zip(kl_per_latent, given, strict=True)
    ]
    num = len(reps)
    pairwise = np.zeros((num, num))
    for i in range(num):  # pairs of models, not data points
        for j in range(num):
            if i == j:
                continue
            if correlation == "lasso":
                matrix = lasso_correlation_matrix(reps[i], reps[j], lasso_alpha)
            else:
                matrix = spearman_correlation_matrix(reps[i], reps[j])
            if filter_low_kl:
                matrix = matrix[masks[i]][:, masks[j]]
            pairwise[i, j] = relative_strength_disentanglement(matrix)
    scores = np.array([np.median(np.delete(pairwise[:, i], i)) for i in range(num)])
    return {"model_scores": scores, "pairwise_scores": pairwise}
