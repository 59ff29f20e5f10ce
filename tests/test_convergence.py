"""The convergence criterion on held-out ELBO curves whose answer is known."""

import math

import numpy as np
import pytest

from benchmark.training.convergence import DEFAULT_TOLERANCE, MIN_POINTS, assess

LOG_EVERY = 500


def _statuses(slope_per_1k: float, noise_sd: float, steps: int, repeats: int, seed: int):
    rng = np.random.default_rng(seed)
    x = np.arange(LOG_EVERY, steps + 1, LOG_EVERY)
    return [
        assess(x, -100.0 + slope_per_1k * x / 1000.0 + rng.normal(0.0, noise_sd, x.size)).status
        for _ in range(repeats)
    ]


def test_a_curve_still_rising_under_beta16_noise_is_almost_never_converged():
    """1 nat per 1,000 steps with sd 3 noise (beta 16 in cpu_study): at most 5% pass."""
    for steps in (20_000, 60_000, 125_000):
        statuses = _statuses(1.0, 3.0, steps, 200, seed=steps)
        assert statuses.count("converged") <= 0.05 * len(statuses)
    # over the long window the rise itself is detected
    assert _statuses(1.0, 3.0, 125_000, 200, seed=1).count("improving") >= 190


def test_a_flat_curve_with_the_same_noise_converges_within_its_window():
    """Flat with sd 3: converged in at least 95% once the window (25,000 steps) is long enough."""
    statuses = _statuses(0.0, 3.0, 125_000, 200, seed=2)
    assert statuses.count("converged") >= 0.95 * len(statuses)


def test_a_short_noisy_window_is_undetermined_not_converged():
    statuses = _statuses(0.0, 3.0, 10_000, 100, seed=3)
    assert statuses.count("converged") == 0
    assert statuses.count("undetermined") >= 90


def test_a_falling_curve_is_degrading():
    x = np.arange(LOG_EVERY, 40_001, LOG_EVERY)
    verdict = assess(x, -100.0 - 2.0 * x / 1000.0)
    assert verdict.status == "degrading" and not verdict.converged
    assert verdict.slope_per_1k_steps == pytest.approx(-2.0)


def test_a_straight_line_gives_its_slope_bounds_and_the_window_gain():
    steps = np.arange(100, 10_001, 100)
    verdict = assess(steps, -100.0 + 0.002 * steps)  # 2 nats per 1,000 steps, no noise
    assert verdict.slope_per_1k_steps == pytest.approx(2.0)
    assert verdict.slope_low == pytest.approx(2.0) and verdict.slope_high == pytest.approx(2.0)
    assert verdict.points == 21  # steps 8,000 .. 10,000
    assert verdict.improvement == pytest.approx(4.0)
    assert verdict.status == "improving"
    assert assess(steps, -100.0 + 0.002 * steps, tolerance=2.5).converged
    assert verdict.threshold == DEFAULT_TOLERANCE


def test_a_saturating_curve_converges_once_flat():
    steps = np.arange(250, 40_001, 250)
    elbo = -60.0 - 300.0 * np.exp(-steps / 1500.0)
    assert assess(steps, elbo).converged
    early = steps <= 2500
    assert assess(steps[early], elbo[early]).status == "improving"


def test_the_window_holds_at_least_min_points_evaluations():
    verdict = assess(np.arange(1, 16) * 1000, np.full(15, -50.0))
    assert verdict.points == MIN_POINTS and verdict.converged
    short = assess(np.arange(1, MIN_POINTS) * 1000, np.full(MIN_POINTS - 1, -50.0))
    assert short.status == "undetermined" and not short.converged


def test_one_point_or_a_nan_is_not_converged():
    assert not assess([100], [-50.0]).converged
    assert math.isnan(assess([100], [-50.0]).slope_per_1k_steps)
    assert not assess([100, 200], [-50.0, math.nan]).converged
