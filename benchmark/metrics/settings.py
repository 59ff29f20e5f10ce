"""Typed metric settings: `Setting` (name, default, check) and the checks they use.

A metric's spec (`benchmark.metrics.spec.MetricSpec`) lists its settings;
a check `check(name, value) -> value` raises `ArgumentError` with what was
expected. The task loader runs them, so a value that would fail in
evaluation fails before any training.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from benchmark.errors import ArgumentError, UserInputError
from benchmark.registry import suggest

__all__ = [
    "BATCH_SIZE",
    "GBT_RANDOM_STATE",
    "MAX_JOBS",
    "MAX_POINTS",
    "NUM_BINS",
    "NUM_EVAL",
    "NUM_TEST",
    "NUM_TRAIN",
    "N_JOBS",
    "POINTS_PER_CALL",
    "Setting",
    "SettingCheck",
    "check_names",
    "choice",
    "integer",
    "number",
]

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


def choice(*options: str) -> SettingCheck:
    """A check: one of the strings `options`."""
    expected = "one of " + ", ".join(repr(o) for o in options)

    def check(name: str, value: object) -> str:
        if not isinstance(value, str) or value not in options:
            raise _fail(name, expected, value)
        return value

    return check


@dataclass(frozen=True)
class Setting:
    """One typed metric setting: its name, default and check (`check(name, value) -> value`)."""

    name: str
    default: object
    check: SettingCheck

    def with_default(self, default: object) -> Setting:
        """The same setting with another default (e.g. batches of 64 for BetaVAE)."""
        return replace(self, default=default)


def check_names(owner: str, given: Mapping[str, object], allowed: tuple[str, ...]) -> None:
    """UserInputError for a setting name `owner` does not take, with the close matches."""
    for key in given:
        if key not in allowed:
            raise UserInputError(
                f"settings for metric {owner!r}: unknown argument {key!r}"
                f"{suggest(key, list(allowed))}; allowed: {', '.join(allowed) or '(none)'}"
            )


# Settings shared by several metrics; a metric lists the ones it takes in its spec.
# Draws: every factor must take two values among the training points.
NUM_TRAIN = Setting("num_train", 10000, integer(2, MAX_POINTS))
NUM_TEST = Setting("num_test", 5000, integer(1, MAX_POINTS))
NUM_EVAL = Setting("num_eval", 5000, integer(1, MAX_POINTS))
BATCH_SIZE = Setting("batch_size", 16, integer(1, 65_536))
POINTS_PER_CALL = Setting("points_per_call", 32, integer(1, 65_536))
NUM_BINS = Setting("num_bins", 20, integer(1, 100_000))
# A numpy RandomState seed for scikit-learn's gradient boosted trees.
GBT_RANDOM_STATE = Setting("gbt_random_state", 0, integer(0, 2**32 - 1, none=True))
N_JOBS = Setting("n_jobs", None, integer(1, MAX_JOBS, none=True, also=(-1,)))
