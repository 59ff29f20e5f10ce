"""Convergence of a run from its held-out ELBO curve: a slope that noise cannot fake (numpy, scipy).

The window is the tail of the curve that spans the last `WINDOW` (20%) of
the steps and holds at least `MIN_POINTS` (10) evaluations, whichever
reaches further back. Over it the Theil-Sen slope of the held-out ELBO
against the step is estimated with its 90% confidence interval
(`scipy.stats.theilslopes`, from Kendall's tau; Sen 1968), so each side is a
one-sided 95% bound. With `tolerance` in nats per 1,000 steps:

- **converged**: the whole interval lies inside (-tolerance, +tolerance): the
  curve is flat, shown as an equivalence test (TOST on the slope), not read
  off one noisy difference;
- **improving**: not converged and the lower bound is above 0;
- **degrading**: not converged and the upper bound is below 0 (a falling
  curve is not converged: training longer may not help it, but it has not
  stopped moving either);
- **undetermined**: none of these (the window is too short for its noise,
  or holds fewer than `MIN_POINTS` evaluations).

A noisier curve needs a longer window to be called flat: the interval
narrows as the window's evaluations grow. With evaluations every 500 steps
and noise of sd 3 nats (beta 16 in cpu_study), a window of about 25,000
steps brings the interval inside +-0.25 nats per 1,000 steps for a flat
curve; a curve still rising by 1 nat per 1,000 steps is never called
converged (tests/test_convergence.py simulates both).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CONFIDENCE",
    "DEFAULT_TOLERANCE",
    "MIN_POINTS",
    "MIN_POINTS_TO_STOP",
    "STATUSES",
    "WINDOW",
    "Convergence",
    "assess",
]

WINDOW = 0.2  # the window spans at least the last fifth of the steps
MIN_POINTS = 10  # and holds at least this many evaluations
MIN_POINTS_TO_STOP = MIN_POINTS  # kept for callers of the early stop
CONFIDENCE = 0.90  # two-sided: each bound is one-sided 95%
DEFAULT_TOLERANCE = 0.25  # nats per 1,000 steps, either way
STATUSES = ("converged", "improving", "degrading", "undetermined")


@dataclass(frozen=True)
class Convergence:
    """The criterion applied to one curve.

    status: one of `STATUSES`; converged: status == "converged";
    slope_per_1k_steps: Theil-Sen slope of the held-out ELBO over the window
    (nats per 1,000 steps; NaN under two points); slope_low / slope_high: its
    90% confidence bounds (same unit); improvement: slope times the window's
    span (nats); threshold: the tolerance (nats per 1,000 steps); points:
    evaluations in the window.
    """

    converged: bool
    slope_per_1k_steps: float
    improvement: float
    threshold: float
    points: int
    status: str = "undetermined"
    slope_low: float = math.nan
    slope_high: float = math.nan


def _window_start(x: np.ndarray) -> int:
    """Index of the first evaluation in the window (see the module docstring)."""
    before = np.flatnonzero(x <= (1.0 - WINDOW) * x[-1])
    by_span = int(before[-1]) if before.size else 0
    by_count = max(0, x.size - MIN_POINTS)
    return min(by_span, by_count)


def assess(
    steps: Sequence[int], elbo: Sequence[float], tolerance: float = DEFAULT_TOLERANCE
) -> Convergence:
    """Applies the criterion to a held-out ELBO curve: `steps [K]` ascending, `elbo [K]` nats.

    `tolerance`: the largest slope, in nats per 1,000 steps either way, that
    still counts as flat.
    """
    from scipy import stats

    x = np.asarray(steps, dtype=np.float64)
    y = np.asarray(elbo, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"steps and elbo must be 1-D of one length, got {x.shape} and {y.shape}")
    threshold = float(tolerance)
    if x.size == 0 or not np.all(np.isfinite(y)):
        return Convergence(False, math.nan, math.nan, threshold, int(x.size))
    first = _window_start(x)
    xs, ys = x[first:], y[first:]
    if xs.size < 2 or xs[-1] <= xs[0]:
        return Convergence(False, math.nan, math.nan, threshold, int(xs.size))
    fit = stats.theilslopes(ys, xs / 1000.0, alpha=CONFIDENCE)
    slope, low, high = float(fit.slope), float(fit.low_slope), float(fit.high_slope)
    improvement = slope * (xs[-1] - xs[0]) / 1000.0
    if xs.size < MIN_POINTS:
        status = "undetermined"
    elif -threshold < low and high < threshold:
        status = "converged"
    elif low > 0:
        status = "improving"
    elif high < 0:
        status = "degrading"
    else:
        status = "undetermined"
    return Convergence(
        status == "converged", slope, improvement, threshold, int(xs.size), status, low, high
    )
