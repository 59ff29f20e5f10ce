"""The values the store takes and gives, and how they are written to and read from columns.

`RunResult` (what a pipeline returns), `RunOutcome` (one attempt, as
recorded), `RunRecord` (one stored run); scores encoded for their two
columns and decoded back; stored values checked as they are decoded
(`_Damaged` names the field that is not what it should be); `utc_now`.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from benchmark.store.schema import STATUSES

__all__ = ["RECORDED_PACKAGES", "RunOutcome", "RunRecord", "RunResult", "utc_now"]

# The packages whose versions every stored run records (with Python's), in display order.
RECORDED_PACKAGES = (
    "disbench",
    "tensorflow",
    "tensorflow-probability",
    "tf-keras",
    "numpy",
    "scipy",
    "scikit-learn",
    "ray",
)


def utc_now() -> str:
    """The current time as ISO 8601 UTC with seconds, e.g. `2025-01-31T12:00:00Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RunResult:
    """What a pipeline returns for one run: its scores, the files it wrote and its durations.

    `scores` maps score keys to numbers or (nested) lists of numbers;
    `artifacts` maps names to files relative to the run's folder (their bytes
    are stored with the run); `durations` maps names to seconds.
    """

    scores: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RunOutcome:
    """What one attempt at a run produced, as recorded by `record_outcome`.

    `status` is "done" or "failed". `scores` maps keys to floats or (nested)
    lists of floats; `artifacts` maps names to (file name, bytes). Times are
    ISO 8601 UTC; `duration_s` is this attempt's wall time in seconds;
    `durations` holds the pipeline's own timings (e.g. train_s, eval_s).
    """

    run_id: str
    status: str
    started_at: str
    finished_at: str
    duration_s: float
    scores: Mapping[str, float | list] = field(default_factory=dict)
    artifacts: Mapping[str, tuple[str, bytes]] = field(default_factory=dict)
    durations: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None
    error_detail: str | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    git_commit: str = ""
    host: str = ""


@dataclass(frozen=True)
class RunRecord:
    """One row of `runs`, joined with the task's view of it (`position`, `label`, `sweep`)."""

    run_id: str
    task: str
    entry: str
    label: str
    dataset: str
    seed: int
    args: dict[str, Any]
    spec: dict[str, Any]
    status: str
    attempts: int
    owner: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    duration_s: float | None
    total_duration_s: float
    durations: dict[str, float]
    error: str | None
    error_detail: str | None
    versions: dict[str, str]
    git_commit: str
    host: str
    position: int
    sweep: dict[str, Any]
    training_id: str | None = None


def _encode_score(value: object) -> tuple[float | None, str | None]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, json.dumps(value)
    number = float(value)
    return (number, None) if math.isfinite(number) else (None, json.dumps(number))


def _decode_score(value: float | None, text: str | None) -> float | list:
    return float(value) if value is not None else json.loads(text or "null")


class _Damaged(Exception):
    """A stored value that cannot be what its field holds: `field` and what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def _json_field(field: str, text: object, kind: type | None = dict) -> Any:
    """A JSON column's value (of type `kind` when given); `_Damaged` when it is not."""
    if not isinstance(text, str):
        raise _Damaged(field, f"expected JSON text, got {type(text).__name__}")
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise _Damaged(field, f"not valid JSON ({error})") from None
    if kind is not None and not isinstance(value, kind):
        raise _Damaged(field, f"expected a JSON {kind.__name__}, got {type(value).__name__}")
    return value


def _json_or_none(text: object) -> dict | None:
    """A JSON mapping column's value, or None when it is not one (a damaged row)."""
    try:
        return _json_field("spec", text)
    except _Damaged:
        return None


def _stored_score(value: object, text: object) -> float | list:
    """A `scores` row's value: the number in `value`, else the JSON in `json`."""
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Damaged("value", f"expected a number, got {_describe_stored(value)}")
        return float(value)
    if text is None:
        return None  # type: ignore[return-value]
    return _json_field("json", text, None)


_RUN_JSON_FIELDS = ("args", "spec", "durations", "versions", "sweep")


def _run_fields(row: sqlite3.Row) -> dict[str, Any]:
    """A `runs` row (joined with `task_runs`) as `RunRecord` fields, each checked."""
    fields = {name: row[name] for name in row.keys()}
    for name in _RUN_JSON_FIELDS:
        fields[name] = _json_field(name, fields[name])
    if fields["status"] not in STATUSES:
        raise _Damaged(
            "status",
            f"unknown status {_describe_stored(fields['status'])}; known: {', '.join(STATUSES)}",
        )
    for name in ("seed", "attempts", "position"):
        if isinstance(fields[name], bool) or not isinstance(fields[name], int):
            raise _Damaged(name, f"expected an integer, got {_describe_stored(fields[name])}")
    for name in ("run_id", "task", "entry", "label", "dataset"):
        if not isinstance(fields[name], str):
            raise _Damaged(name, f"expected text, got {_describe_stored(fields[name])}")
    return fields


def _describe_stored(value: object) -> str:
    """A short rendering of a stored value for a message (at most 40 characters)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
