"""Field checks that fail with the file, the field path and what was expected.

A field path is a tuple of keys and list indices, printed the way a reader
finds the field in the YAML file: ``("sweep", "beta", 2)`` is ``sweep.beta[2]``.
Every check raises `UserInputError` with a message of the form
``tasks/x.yaml: sweep.beta[2]: expected a number, got 'four'``.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from benchmark.errors import UserInputError
from benchmark.registry import suggest

__all__ = [
    "FieldPath",
    "Sources",
    "check_keys",
    "describe",
    "format_path",
    "in_range",
    "is_number",
    "shown_number",
    "unique",
]

FieldPath = tuple[str | int, ...]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

# `describe` shows at most this much of a value: a large (or aliased) list is never
# rendered in full just to be cut to one line.
_SHORT = reprlib.Repr()  # Python 3.11's takes no keywords
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict = 3, 8, 8, 6
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 60, 60, 40


def format_path(path: FieldPath) -> str:
    """``("models", 0, "args", "beta")`` -> ``models[0].args.beta``; ``()`` -> ``(top level)``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def describe(value: object) -> str:
    """A short rendering of a YAML value for 'got ...' in messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        kind = "a mapping"
    elif isinstance(value, list | tuple):
        kind = "a list"
    else:
        text = _short_repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    text = _short_repr(value)
    return f"{kind} {text if len(text) <= 50 else text[:47] + '...'}"


def _short_repr(value: object) -> str:
    """`repr(value)` of at most a few items per level: the cost does not grow with the value."""
    if isinstance(value, float):
        return repr(value)
    return _SHORT.repr(value)


def in_range(minimum: float, maximum: float, *, integer: bool, above: bool = False) -> str:
    """'an integer from 1 to 1,000' / 'a number > 0 and at most 2,000,000': what was expected."""
    if integer:
        return f"an integer from {minimum:,} to {maximum:,}"
    low = f"> {minimum:g}" if above else f">= {minimum:g}"
    return f"a number {low} and at most {shown_number(maximum)}"


def shown_number(value: float) -> str:
    """A number as a message shows it: thousands separated, huge ones in scientific notation."""
    if isinstance(value, int) and abs(value) < 10**15:
        return f"{value:,}"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:g}"


def is_number(value: object) -> bool:
    """True for ints and floats (not bools)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class Sources:
    """Which file each field came from, so errors name the right file.

    `origins` maps field paths to the file that set them; a path not listed
    takes the file of its longest listed prefix, and `default` otherwise.
    """

    def __init__(self, default: Path, origins: Mapping[FieldPath, Path] | None = None) -> None:
        self.default = default
        self.origins = dict(origins or {})

    def file_for(self, path: FieldPath) -> Path:
        for end in range(len(path), -1, -1):
            if path[:end] in self.origins:
                return self.origins[path[:end]]
        return self.default

    def display(self, path: FieldPath) -> str:
        """The file of `path`, relative to the working directory when it lies below it."""
        file = self.file_for(path)
        try:
            return str(file.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(file)

    def error(self, path: FieldPath, message: str) -> UserInputError:
        """`UserInputError('<file>: <path>: <message>')`."""
        return UserInputError(f"{self.display(path)}: {format_path(path)}: {message}")

    # ---- typed getters -------------------------------------------------------------------

    def mapping(self, value: object, path: FieldPath) -> Mapping[str, object]:
        if not isinstance(value, Mapping):
            raise self.error(path, f"expected a mapping (key: value), got {describe(value)}")
        for key in value:
            if not isinstance(key, str):
                # The file that wrote this key (an included file may have set its neighbours).
                raise UserInputError(
                    f"{self.display((*path, key))}: {format_path(path)}: keys must be strings, "
                    f"got {describe(key)}"
                )
        return value

    def sequence(self, value: object, path: FieldPath, *, nonempty: bool = True) -> list[object]:
        if not isinstance(value, list | tuple):
            raise self.error(path, f"expected a list, got {describe(value)}")
        if nonempty and not value:
            raise self.error(path, "expected a non-empty list, got an empty one")
        return list(value)

    def string(self, value: object, path: FieldPath, *, identifier: bool = False) -> str:
        if not isinstance(value, str) or not value:
            raise self.error(path, f"expected a non-empty string, got {describe(value)}")
        if identifier and not _NAME.match(value):
            raise self.error(
                path,
                f"expected a name of letters, digits, '_', '.' or '-' (starting with a letter), "
                f"got {value!r}",
            )
        return value

    def number(
        self,
        value: object,
        path: FieldPath,
        *,
        positive: bool = False,
        maximum: float | None = None,
    ) -> float:
        """A finite number (> 0 with `positive`; at most `maximum` when given)."""
        if not is_number(value) or not math.isfinite(float(value)):  # type: ignore[arg-type]
            raise self.error(path, f"expected a number, got {describe(value)}")
        if positive and float(value) <= 0:  # type: ignore[arg-type]
            raise self.error(path, f"expected a number > 0, got {describe(value)}")
        if maximum is not None and float(value) > maximum:  # type: ignore[arg-type]
            expected = in_range(0, maximum, integer=False, above=positive)
            raise self.error(path, f"expected {expected}, got {shown_number(value)}")  # type: ignore[arg-type]
        return float(value)  # type: ignore[arg-type]

    def integer(
        self,
        value: object,
        path: FieldPath,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        if isinstance(value, float) and value.is_integer():
            if maximum is not None and value > maximum:  # 1e300 is shown as written, not in digits
                raise self.error(
                    path, f"expected {in_range(minimum or 0, maximum, integer=True)}, got {value:g}"
                )
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(path, f"expected an integer, got {describe(value)}")
        if minimum is not None and value < minimum:
            raise self.error(path, f"expected an integer >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.error(
                path,
                f"expected {in_range(minimum or 0, maximum, integer=True)}, "
                f"got {shown_number(value)}",
            )
        return value

    def boolean(self, value: object, path: FieldPath) -> bool:
        if not isinstance(value, bool):
            raise self.error(path, f"expected true or false, got {describe(value)}")
        return value

    def scalar(self, value: object, path: FieldPath) -> bool | int | float | str:
        """A number, string or boolean (what a model or data-set argument may be)."""
        if isinstance(value, bool | str) or is_number(value):
            if is_number(value) and not math.isfinite(float(value)):  # type: ignore[arg-type]
                raise self.error(path, f"expected a finite number, got {describe(value)}")
            return value  # type: ignore[return-value]
        raise self.error(path, f"expected a number, string or true/false, got {describe(value)}")

    def choice(self, value: object, path: FieldPath, known: Sequence[str], what: str) -> str:
        """A string that is one of `known`, with close matches suggested."""
        name = self.string(value, path)
        if name not in known:
            raise self.error(
                path,
                f"unknown {what} {name!r}{suggest(name, list(known))}; "
                f"known: {', '.join(known) or '(none)'}",
            )
        return name


def check_keys(
    sources: Sources,
    value: Mapping[str, object],
    path: FieldPath,
    *,
    allowed: Sequence[str],
    required: Sequence[str] = (),
) -> None:
    """Unknown keys and missing required keys are errors naming the field."""
    for key in value:
        if key not in allowed:
            raise sources.error(
                (*path, key),
                f"unknown key{suggest(key, list(allowed))}; allowed here: {', '.join(allowed)}",
            )
    for key in required:
        if key not in value:
            raise sources.error((*path, key), "required, but missing")


def unique(sources: Sources, values: list[object], path: FieldPath, key: Callable = repr) -> None:
    """Duplicate list entries are an error naming the second occurrence."""
    seen: dict[object, int] = {}
    for index, item in enumerate(values):
        marker = key(item)
        if marker in seen:
            raise sources.error(
                (*path, index),
                f"duplicate of {format_path((*path, seen[marker]))} ({describe(item)})",
            )
        seen[marker] = index
