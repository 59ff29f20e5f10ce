"""What each metric setting may be: declared once, checked when a task is loaded.

`SETTING_CHECKS` maps every keyword setting of the metrics' sampled entry
points (`num_train`, `num_bins`, ...) to a check `check(name, value) -> value`
that raises `ArgumentError` with what was expected. The task loader runs
them, so a value that would fail in evaluation fails before any training.
A test keeps the table and the metrics' signatures in step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from benchmark.errors import ArgumentError

__all__ = ["MAX_JOBS", "MAX_POINTS", "SETTING_CHECKS", "SettingCheck", "integer", "number"]

# More points than this do not fit in memory as codes and factors on a usual machine
# (the study uses 10,000); counts above it are refused at load time.
MAX_POINTS = 10_000_000
# Parallel classifier fits (scikit-learn / joblib `n_jobs`): -1 means all cores.
MAX_JOBS = 1024

SettingCheck = Callable[[str, object], object]


def _fail(name: str, expected: str, value: object) -> ArgumentError:
    detail = f"expected {expected}, got {value!r}"
    return ArgumentError(f"setting {name!r}: {detail}", argument=name, detail=detail)


def integer(minimum: int, maximum: int, *, none: bool = False, also: tuple[int, ...] = ()):
    """A check: an integer in `minimum .. maximum` (or one of `also`, or None if `none`)."""
    expected = f"an integer from {minimum} to {maximum:,}"
    if also:
        expected = f"{' or '.join(str(a) for a in also)} or {expected}"
    if none:
        expected += " or null"

    def check(name: str, value: object) -> object:
        if value is None and none:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(name, expected, value)
        if value not in also and not minimum <= value <= maximum:
            raise _fail(name, expected, value)
        return value

    return check


def number(minimum: float, maximum: float = math.inf) -> SettingCheck:
    """A check: a finite number in `[minimum, maximum]`."""
    expected = (
        f"a number >= {minimum:g}"
        if math.isinf(maximum)
        else f"a number from {minimum:g} to {maximum:g}"
    )

    def check(name: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(name, expected, value)
        if not math.isfinite(value) or not minimum <= value <= maximum:
            raise _fail(name, expected, value)
        return float(value)

    return check


SETTING_CHECKS: Mapping[str, SettingCheck] = {
    # draws: every factor must take two values among the training points
    "num_train": integer(2, MAX_POINTS),
    "num_test": integer(1, MAX_POINTS),
    "num_eval": integer(1, MAX_POINTS),
    "num_variance_estimate": integer(2, MAX_POINTS),  # variances with ddof 1
    "batch_size": integer(1, 65_536),
    "points_per_call": integer(1, 65_536),
    "num_bins": integer(1, 100_000),
    "diff_quantile": number(0.0, 1.0),
    "prune_threshold": number(0.0),
    "gbt_random_state": integer(0, 2**32 - 1, none=True),  # a numpy RandomState seed
    "n_jobs": integer(1, MAX_JOBS, none=True, also=(-1,)),
    # downstream task: the training sizes of the sample-efficiency ratio
    "efficiency_small": integer(1, MAX_POINTS),
    "efficiency_large": integer(1, MAX_POINTS),
}
