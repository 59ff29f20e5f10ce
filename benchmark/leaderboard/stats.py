"""Summaries over seeds: the mean and its Student-t confidence interval.

A leaderboard cell holds a handful of seeds (five in `cpu_study`). With so few
values a percentile bootstrap is too narrow (with two seeds its "95% interval"
is just their minimum and maximum), while the Student-t interval of the mean,
`mean +- t_{(1+c)/2, n-1} * s / sqrt(n)` with `s` the sample standard
deviation (ddof 1), has its stated coverage for any n >= 2 when the seeds'
scores are roughly normal (Student 1908; any statistics text). It is the
interval every cell and every figure band shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["INTERVAL_DESCRIPTION", "Summary", "seed_interval"]

INTERVAL_DESCRIPTION = "95% Student-t confidence interval of the mean over seeds"


@dataclass(frozen=True)
class Summary:
    """Mean of `n` values and its confidence interval `[low, high]` (equal to the mean when n == 1)."""

    mean: float
    low: float
    high: float
    n: int


def seed_interval(values: Sequence[float], *, confidence: float = 0.95) -> Summary | None:
    """Mean of `values` (one per seed) and its Student-t interval; None when there are none.

    Non-finite values are left out. One value gives a zero-width interval
    (there is no spread to estimate), identical values too.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    data = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
    if data.size == 0:
        return None
    mean = float(data.mean())
    if data.size == 1:
        return Summary(mean, mean, mean, 1)
    standard_error = float(data.std(ddof=1)) / math.sqrt(data.size)
    half_width = float(stats.t.ppf(0.5 + confidence / 2.0, df=data.size - 1)) * standard_error
    return Summary(mean, mean - half_width, mean + half_width, int(data.size))
