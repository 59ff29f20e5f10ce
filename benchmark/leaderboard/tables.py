"""Leaderboard rows and cells as data: runs grouped by the row fields, summarised over seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from benchmark.columns import (
    GROUPS,
    OTHER,
    REPRESENTATION_PREFIXES,
    Column,
    column_for,
    columns,
    is_secondary,
    representation_prefix,
)
from benchmark.leaderboard.results import RunRow, TaskResults
from benchmark.leaderboard.stats import Summary, seed_interval

__all__ = [
    "MISSING",
    "Row",
    "Table",
    "best_indices",
    "build_rows",
    "build_tables",
    "format_number",
    "format_value",
    "row_value",
    "scalar_score",
]

MISSING = "–"


@dataclass(frozen=True)
class Row:
    """Runs that share the row fields' values (one per seed), any status."""

    key: tuple[str, ...]
    runs: tuple[RunRow, ...]

    @property
    def done(self) -> tuple[RunRow, ...]:
        return tuple(r for r in self.runs if r.status == "done")

    def summary(self, key: str) -> Summary | None:
        """Mean and Student-t interval of score `key` over this row's finished runs."""
        values = [scalar_score(r, key) for r in self.done]
        return seed_interval([v for v in values if v is not None])


@dataclass(frozen=True)
class Table:
    """One leaderboard table: a group of columns for one representation."""

    title: str
    columns: tuple[Column, ...]


def finite_number(value: object) -> float | None:
    """`value` as a float when it is a finite int or float (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def scalar_score(run: RunRow, key: str) -> float | None:
    """The run's finite number under `key`, or None (missing, NaN or a list)."""
    return finite_number(run.scores.get(key))


def format_value(value: object) -> str:
    """A row-field value as text: `8`, `0.5`, `iaf`, `pair=posX,posY`."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, "g")
    if isinstance(value, list | tuple):
        return ",".join(format_value(v) for v in value)
    return str(value)


def format_number(value: float) -> str:
    """Three decimals below 10, fewer above (a score, not a physical constant)."""
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 10:
        return f"{value:.2f}"
    return f"{value:.3f}"


def row_value(run: RunRow, name: str) -> object:
    """The value of row field `name` for a run (`entry`, `dataset`, `sweep` or an argument)."""
    if name == "entry":
        return run.label
    if name == "dataset":
        return run.dataset
    if name == "sweep":
        return " ".join(f"{k}={format_value(v)}" for k, v in run.sweep.items()) or None
    if name in run.model_args:
        return run.model_args[name]
    return run.dataset_args.get(name)


def _sort_key(value: object) -> tuple[int, float, str]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, format_value(value))


def build_rows(results: TaskResults, fields: Sequence[str]) -> list[Row]:
    """Runs grouped by `fields`; rows ordered field by field (text in order of first appearance
    in the task, numbers ascending)."""
    runs = sorted(results.runs, key=lambda r: r.position)
    first_seen: list[dict[str, int]] = [{} for _ in fields]
    groups: dict[tuple[str, ...], list[RunRow]] = {}
    raw: dict[tuple[str, ...], tuple[object, ...]] = {}
    for run in runs:
        values = tuple(row_value(run, f) for f in fields)
        key = tuple(format_value(v) for v in values)
        for index, text in enumerate(key):
            first_seen[index].setdefault(text, len(first_seen[index]))
        groups.setdefault(key, []).append(run)
        raw.setdefault(key, values)

    def order(key: tuple[str, ...]) -> tuple:
        parts = []
        for index, value in enumerate(raw[key]):
            kind, number, _ = _sort_key(value)
            parts.append((kind, number, first_seen[index][key[index]]))
        return tuple(parts)

    return [Row(key, tuple(groups[key])) for key in sorted(groups, key=order)]


def _present_keys(results: TaskResults) -> set[str]:
    return {
        key
        for run in results.runs
        if run.status == "done"
        for key in run.scores
        if scalar_score(run, key) is not None
    }


def build_tables(results: TaskResults) -> list[Table]:
    """Tables with at least one value: groups in order, mean representation before sampled.

    Catalogued keys keep the catalogue's order; unknown keys go to 'Other
    scores' in alphabetical order; secondary keys (training-set duplicates,
    counts) and duplicates of a shown key are not tabled.
    """
    present = _present_keys(results)
    catalogue = columns()
    tables = []
    for prefix, suffix in (("", ""), *REPRESENTATION_PREFIXES.items()):
        for group in GROUPS:
            if group == OTHER:
                known = {prefix + c.key for c in catalogue} | {c.key for c in catalogue}
                keys = sorted(
                    k
                    for k in present
                    if representation_prefix(k) == prefix and k not in known and not is_secondary(k)
                )
                shown = tuple(column_for(k) for k in keys)
            else:
                shown = tuple(
                    column_for(prefix + c.key)
                    for c in catalogue
                    if c.group == group
                    and prefix + c.key in present
                    and not is_secondary(prefix + c.key)
                    and not (c.duplicate_of and prefix + c.duplicate_of in present)
                )
            if shown:
                tables.append(Table(group + suffix, shown))
    return tables


def best_indices(summaries: Sequence[Summary | None], direction: int) -> set[int]:
    """The row whose mean is the best of the column and whose interval clears every other
    row's interval; none when the best intervals overlap (no winner is named among them),
    without a direction, or with fewer than two rows holding a value."""
    held = [(i, s) for i, s in enumerate(summaries) if s is not None]
    if direction == 0 or len(held) < 2:
        return set()
    best_i, best = max(held, key=lambda item: direction * item[1].mean)
    others = [s for i, s in held if i != best_i]
    if direction > 0:
        clear = all(best.low > s.high for s in others)
    else:
        clear = all(best.high < s.low for s in others)
    return {best_i} if clear else set()
