"""Summaries over seeds: the mean and a percentile-bootstrap confidence interval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Summary", "bootstrap_ci"]


@dataclass(frozen=True)
class Summary:
    """Mean of `n` values and its confidence interval `[low, high]` (equal to the mean when n == 1)."""

    mean: float
    low: float
    high: float
    n: int


def bootstrap_ci(
    values: Sequence[float],
    *,
    confidence: float = 0.95,
    num_resamples: int = 10_000,
    seed: int = 0,
) -> Summary | None:
    """Percentile bootstrap of the mean over `values` (one per seed); None when there are none.

    Draws `num_resamples` resamples of size n with replacement from a
    `RandomState(seed)` (a fixed seed, so tables are reproducible), takes
    each resample's mean, and returns the `(1 - confidence) / 2` and
    `(1 + confidence) / 2` quantiles of those means (Efron & Tibshirani 1993).
    Non-finite values are left out.
    """
    data = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
    if data.size == 0:
        return None
    mean = float(data.mean())
    if data.size == 1:
        return Summary(mean, mean, mean, 1)
    rng = np.random.RandomState(seed)
    resampled = data[rng.randint(data.size, size=(num_resamples, data.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(resampled, [tail, 1.0 - tail])
    return Summary(mean, float(low), float(high), int(data.size))
