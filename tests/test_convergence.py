"""The convergence criterion on held-out ELBO curves whose answer is known."""

import math

import numpy as np
import pytest

from benchmark.training.convergence import WINDOW, assess


def test_a_straight_line_gives_its_slope_and_the_window_improvement():
    steps = np.arange(100, 10_001, 100)
    elbo = -100.0 + 0.002 * steps  # 2 nats per 1,000 steps
    verdict = assess(steps, elbo, tolerance=0.005)
    assert verdict.slope_per_1k_steps == pytest.approx(2.0)
    assert verdict.improvement == pytest.approx(0.002 * WINDOW * 10_000)  # 4 nats
    assert verdict.threshold == pytest.approx(0.005 * 80.0)  # final ELBO -80
    assert not verdict.converged  # 4 nats >= 0.4 nats
    assert assess(steps, elbo, tolerance=0.06).converged  # 4 nats < 4.8 nats
    assert verdict.points == 21  # steps 8,000 .. 10,000


def test_a_saturating_curve_converges_once_flat():
    steps = np.arange(250, 20_001, 250)
    elbo = -60.0 - 300.0 * np.exp(-steps / 1500.0)
    assert assess(steps, elbo).converged
    early = steps <= 2500
    assert not assess(steps[early], elbo[early]).converged


def test_a_falling_curve_counts_as_converged():
    steps = np.arange(1, 11) * 10
    assert assess(steps, -50.0 - 0.1 * steps).converged


def test_a_coarse_log_anchors_the_window_before_it():
    # Log points 0 .. 1000 every 500: the window reaches back to step 500 (last at or before 800).
    verdict = assess([500, 1000], [-100.0, -99.0])
    assert verdict.points == 2 and verdict.slope_per_1k_steps == pytest.approx(2.0)


def test_one_point_or_a_nan_is_not_converged():
    assert not assess([100], [-50.0]).converged
    assert math.isnan(assess([100], [-50.0]).slope_per_1k_steps)
    assert not assess([100, 200], [-50.0, math.nan]).converged
