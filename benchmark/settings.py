"""One typed setting: `Setting` (name, default, check, what it does) and the checks it uses.

Metrics (`benchmark.metrics.spec.MetricSpec.settings`), evaluation parts
(`benchmark.evaluation.part.EvaluationPart.settings`) and posterior families
(`benchmark.models.posteriors.PosteriorFamily.options`) declare their
settings with this one type. A check `check(name, value) -> value` returns the value
(ints as ints, numbers as floats) or raises `ArgumentError` saying what was
expected; the task loader runs every check before any training, so a value
that would fail in evaluation fails at load time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from benchmark.errors import ArgumentError

__all__ = ["Setting", "SettingCheck", "by_name", "choice", "integer", "number", "switch"]

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


def _shown(value: float) -> str:
    """1e-12, 0.5 and 10,000,000 as a reader writes them."""
    if float(value).is_integer() and abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}"


def number(minimum: float, maximum: float = math.inf) -> SettingCheck:
    """A check: a finite number in `[minimum, maximum]`."""
    expected = (
        f"a number >= {_shown(minimum)}"
        if math.isinf(maximum)
        else f"a number from {_shown(minimum)} to {_shown(maximum)}"
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


def switch(name: str, value: object) -> int:
    """A check: 0 (off) or 1 (on)."""
    if isinstance(value, bool) or value not in (0, 1):
        raise _fail(name, "0 or 1", value)
    return int(value)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Setting:
    """One typed setting: its name, default, check (`check(name, value) -> value`) and, for
    listings, what it does."""

    name: str
    default: object
    check: SettingCheck
    doc: str = ""

    def with_default(self, default: object) -> Setting:
        """The same setting with another default (e.g. batches of 64 for BetaVAE)."""
        return replace(self, default=default)


def by_name(*settings: Setting) -> dict[str, Setting]:
    """`{name: setting}`, for declarations looked up by name (a posterior family's options)."""
    named = {s.name: s for s in settings}
    if len(named) != len(settings):
        raise ValueError("a setting is declared twice")
    return named
