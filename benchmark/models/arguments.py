"""Checks for model-entry arguments: a bad value is a `UserInputError` naming the argument."""

from __future__ import annotations

import math
from collections.abc import Sequence

from benchmark.errors import UserInputError

__all__ = ["non_negative_number", "positive_int", "positive_int_list", "positive_number"]


def _fail(name: str, expected: str, value: object) -> UserInputError:
    return UserInputError(f"model argument {name!r}: expected {expected}, got {value!r}")


def positive_int(name: str, value: object, minimum: int = 1) -> int:
    """`value` as an int >= `minimum` (bools and fractional numbers are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise _fail(name, f"an integer >= {minimum}", value)
    if int(value) < minimum:
        raise _fail(name, f"an integer >= {minimum}", value)
    return int(value)


def _number(name: str, value: object, expected: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(name, expected, value)
    return float(value)


def non_negative_number(name: str, value: object) -> float:
    """`value` as a finite float >= 0."""
    number = _number(name, value, "a finite number >= 0")
    if number < 0:
        raise _fail(name, "a finite number >= 0", value)
    return number


def positive_number(name: str, value: object) -> float:
    """`value` as a finite float > 0."""
    number = _number(name, value, "a finite number > 0")
    if number <= 0:
        raise _fail(name, "a finite number > 0", value)
    return number


def positive_int_list(name: str, value: object) -> tuple[int, ...]:
    """A non-empty list of integers >= 1, e.g. hidden-layer widths."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
        raise _fail(name, "a non-empty list of integers >= 1", value)
    return tuple(positive_int(f"{name}[{i}]", v) for i, v in enumerate(value))
