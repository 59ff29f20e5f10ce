"""Checks for model-entry arguments: a bad value is an `ArgumentError` naming the argument.

Every check has the form `check(name, value) -> value`, the form of a
`benchmark.settings.Setting`'s check, so entries can declare them
(`VAE.argument_checks`) and the task loader can run them before training;
an argument's default is the one in the entry's signature.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from benchmark.errors import ArgumentError
from benchmark.settings import SettingCheck

__all__ = [
    "MAX_INT",
    "MAX_WEIGHT",
    "ArgumentCheck",
    "boolean",
    "bounded_int",
    "non_negative_number",
    "positive_int",
    "positive_int_list",
    "positive_number",
]

# Counts and sizes go into TensorFlow as int32; nothing larger can run.
MAX_INT = 2**31 - 1
# Loss weights (beta, gamma, ...) and nats (free bits, c_max): far above any studied value
# (beta 16), and small enough that a weighted float32 loss of thousands of nats stays finite.
MAX_WEIGHT = 1e6

ArgumentCheck = SettingCheck


def _fail(name: str, expected: str, value: object) -> ArgumentError:
    detail = f"expected {expected}, got {value!r}"
    return ArgumentError(
        f"model argument {name!r}: {detail}", argument=name.split("[")[0], detail=detail
    )


def positive_int(name: str, value: object, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """`value` as an int in `minimum .. maximum` (bools and fractional numbers are refused)."""
    expected = f"an integer from {minimum} to {maximum:,}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(name, expected, value)
    if not math.isfinite(value) or int(value) != value:
        raise _fail(name, expected, value)
    if not minimum <= int(value) <= maximum:
        raise _fail(name, expected, value)
    return int(value)


def bounded_int(minimum: int, maximum: int) -> ArgumentCheck:
    """A declared check: an integer in `minimum .. maximum`."""

    def check(name: str, value: object) -> int:
        return positive_int(name, value, minimum, maximum)

    return check


def _number(name: str, value: object, expected: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(name, expected, value)
    return float(value)


def non_negative_number(name: str, value: object) -> float:
    """`value` as a finite float in `0 .. MAX_WEIGHT`."""
    number = _number(name, value, "a finite number >= 0")
    if number < 0:
        raise _fail(name, "a finite number >= 0", value)
    if number > MAX_WEIGHT:
        raise _fail(name, f"a number from 0 to {MAX_WEIGHT:,.0f}", value)
    return number


def positive_number(name: str, value: object) -> float:
    """`value` as a finite float in `(0, MAX_WEIGHT]`."""
    number = _number(name, value, "a finite number > 0")
    if number <= 0:
        raise _fail(name, "a finite number > 0", value)
    if number > MAX_WEIGHT:
        raise _fail(name, f"a number > 0 and at most {MAX_WEIGHT:,.0f}", value)
    return number


def boolean(name: str, value: object) -> bool:
    """True or False (YAML's true/false), nothing else."""
    if not isinstance(value, bool):
        raise _fail(name, "true or false", value)
    return value


def positive_int_list(name: str, value: object, maximum: int = MAX_INT) -> tuple[int, ...]:
    """A non-empty list of integers in `1 .. maximum`, e.g. hidden-layer widths."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
        raise _fail(name, "a non-empty list of integers >= 1", value)
    return tuple(positive_int(f"{name}[{i}]", v, 1, maximum) for i, v in enumerate(value))
