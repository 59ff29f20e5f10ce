"""Convergence of a run from its held-out ELBO curve (pure numpy).

A run of T steps is *converged* when its held-out ELBO improved by less than
`tolerance * |ELBO(T)|` nats over the last 20% of its steps. The improvement
is the least-squares slope of the held-out ELBO against the step over that
window, times the window's length (0.2 T steps): a fit over every evaluation
in the window is less sensitive to the noise of a single evaluation than the
difference of two points. The window starts at the last evaluation at or
before 0.8 T, so a coarse log still gives it two points. A falling held-out
ELBO (overfitting) counts as converged: training longer would not help it.

The criterion can be fooled by a plateau that training later leaves (the
held-out ELBO of a VAE can stall for hundreds of steps early on); the early
stop therefore waits until the window holds `MIN_POINTS_TO_STOP` evaluations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_TOLERANCE",
    "MIN_POINTS_TO_STOP",
    "WINDOW",
    "Convergence",
    "assess",
]

WINDOW = 0.2  # the last fifth of the steps
DEFAULT_TOLERANCE = 0.005  # 0.5% of |ELBO|
MIN_POINTS_TO_STOP = 3


@dataclass(frozen=True)
class Convergence:
    """The criterion applied to one curve.

    converged: improvement < threshold; slope_per_1k_steps: least-squares
    slope of the held-out ELBO over the window (nats per 1,000 steps; NaN
    when the window has fewer than two points); improvement: slope times the
    window's length (nats); threshold: tolerance * |final ELBO| (nats);
    points: evaluations in the window.
    """

    converged: bool
    slope_per_1k_steps: float
    improvement: float
    threshold: float
    points: int


def assess(
    steps: Sequence[int], elbo: Sequence[float], tolerance: float = DEFAULT_TOLERANCE
) -> Convergence:
    """Applies the criterion to a held-out ELBO curve: `steps [K]` ascending, `elbo [K]` nats."""
    x = np.asarray(steps, dtype=np.float64)
    y = np.asarray(elbo, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"steps and elbo must be 1-D of one length, got {x.shape} and {y.shape}")
    if x.size == 0 or not np.all(np.isfinite(y)):
        return Convergence(False, math.nan, math.nan, math.nan, int(x.size))
    total = x[-1]
    threshold = float(tolerance * abs(y[-1]))
    before = np.flatnonzero(x <= (1.0 - WINDOW) * total)
    first = int(before[-1]) if before.size else 0
    xs, ys = x[first:], y[first:]
    if xs.size < 2:
        return Convergence(False, math.nan, math.nan, threshold, int(xs.size))
    slope = float(np.polyfit(xs, ys, 1)[0])  # nats per step
    improvement = slope * WINDOW * total
    return Convergence(
        bool(improvement < threshold), 1000.0 * slope, improvement, threshold, xs.size
    )
