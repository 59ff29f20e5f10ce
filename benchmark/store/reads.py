"""The read API: tasks, runs, counts, scores, artefacts and invocations, as stored.

Every read leaves the file unchanged; a value that cannot be what its
column holds, or a page SQLite cannot read, is a `DatabaseError` of one line
naming the table (and the row and field).
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from benchmark.store.connection import Connection
from benchmark.store.records import (
    RunRecord,
    _Damaged,
    _describe_stored,
    _json_field,
    _json_or_none,
    _run_fields,
    _stored_score,
)
from benchmark.store.schema import STATUSES, DatabaseError

__all__ = ["Reads"]


def _reads(table: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A read method whose failure is one line naming `table` (and the row and field).

    SQLite's own errors (a damaged page, text that is not UTF-8) and stored
    values that cannot be decoded become `DatabaseError`; nothing is changed.
    """

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def read(self: Connection, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except _Damaged as error:
                row = f" row {error.row}" if getattr(error, "row", None) is not None else ""
                raise DatabaseError(
                    f"{self.path}: {table}{row}: {error}; the database is damaged "
                    "(restore a copy, or use another --db)"
                ) from None
            except sqlite3.DatabaseError as error:
                raise DatabaseError(
                    f"{self.path}: cannot read table {table}: {error}; the database may be "
                    "damaged (restore a copy, or use another --db)"
                ) from None

        return read

    return wrap


@contextlib.contextmanager
def _in_row(row: object) -> Iterator[None]:
    """Names `row` in a `_Damaged` raised while one row is decoded."""
    try:
        yield
    except _Damaged as error:
        error.row = _describe_stored(row)  # type: ignore[attr-defined]
        raise


class Reads(Connection):
    """The reads of the results database (see the module docstring); a part of `ResultStore`."""

    @_reads("tasks")
    def task_names(self) -> list[str]:
        return [row[0] for row in self._conn.execute("SELECT name FROM tasks ORDER BY name")]

    @_reads("tasks")
    def task_config(self, name: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT config FROM tasks WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        with _in_row(name):
            return _json_field("config", row[0])

    @_reads("runs")
    def runs(self, task: str) -> list[RunRecord]:
        """The task's runs in expansion order."""
        cursor = self._conn.cursor()
        cursor.row_factory = sqlite3.Row  # columns by name, not position
        rows = cursor.execute(
            "SELECT r.run_id, r.task, r.entry, t.label, r.dataset, r.seed, r.args, r.spec, "
            "r.status, r.attempts, r.owner, r.created_at, r.started_at, r.finished_at, "
            "r.duration_s, r.total_duration_s, r.durations, r.error, r.error_detail, r.versions, "
            f"r.git_commit, r.host, t.position, t.sweep, {self._training_id_column} AS training_id "
            "FROM task_runs t JOIN runs r ON r.run_id = t.run_id WHERE t.task = ? "
            "ORDER BY t.position",
            (task,),
        ).fetchall()
        records = []
        for row in rows:
            with _in_row(row["run_id"]):
                records.append(RunRecord(**_run_fields(row)))
        return records

    @_reads("runs")
    def specs_without_training_id(self) -> dict[str, dict[str, Any]]:
        """`{run_id: stored spec}` of the rows whose `training_id` is not filled in yet.

        A row whose spec is not a JSON mapping is left out (it keeps NULL).
        """
        return {
            run_id: data
            for run_id, spec in self._conn.execute(
                "SELECT run_id, spec FROM runs WHERE training_id IS NULL ORDER BY run_id"
            )
            if (data := _json_or_none(spec)) is not None
        }

    @_reads("runs")
    def specs_by_status(self, statuses: Iterable[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """`{run_id: (status, stored spec)}` of every run with one of `statuses`, over every task.

        A row whose spec is not a JSON mapping is left out: nothing can be taken from it (the
        task it belongs to reports it when its runs are read).
        """
        wanted = sorted(set(statuses))
        marks = ", ".join("?" * len(wanted))
        return {
            run_id: (status, data)
            for run_id, status, spec in self._conn.execute(
                f"SELECT run_id, status, spec FROM runs WHERE status IN ({marks}) ORDER BY run_id",
                wanted,
            )
            if (data := _json_or_none(spec)) is not None
        }

    @_reads("runs")
    def done_runs_by_training(self, training_ids: Iterable[str]) -> dict[str, list[str]]:
        """`{training_id: [run ids of done runs]}` over every task, oldest finished first."""
        ids = sorted(set(training_ids))
        result: dict[str, list[str]] = {}
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            marks = ", ".join("?" * len(part))
            for training_id, run_id in self._conn.execute(
                f"SELECT training_id, run_id FROM runs WHERE status = 'done' "
                f"AND training_id IN ({marks}) ORDER BY finished_at, run_id",
                part,
            ):
                result.setdefault(training_id, []).append(run_id)
        return result

    @_reads("runs")
    def counts(self, task: str) -> dict[str, int]:
        """Number of the task's runs per status (every status present, 0 if none)."""
        counts = dict.fromkeys(STATUSES, 0)
        for status, number in self._conn.execute(
            "SELECT r.status, COUNT(*) FROM task_runs t JOIN runs r ON r.run_id = t.run_id "
            "WHERE t.task = ? GROUP BY r.status",
            (task,),
        ):
            counts[status] = number
        return counts

    # ---- scores and artefacts --------------------------------------------------------------

    @_reads("scores")
    def scores(self, run_ids: Iterable[str]) -> dict[str, dict[str, float | list]]:
        """Scores per run id (runs without scores map to {})."""
        ids = list(run_ids)
        result: dict[str, dict[str, float | list]] = {run_id: {} for run_id in ids}
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            marks = ", ".join("?" * len(part))
            for run_id, key, value, text in self._conn.execute(
                f"SELECT run_id, key, value, json FROM scores WHERE run_id IN ({marks}) "
                "ORDER BY run_id, key",
                part,
            ):
                with _in_row(f"{run_id}/{key}"):
                    result[run_id][key] = _stored_score(value, text)
        return result

    @_reads("artifacts")
    def artifact_names(self, run_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """`{run_id: {name: filename}}` of stored artefacts (without their bytes)."""
        ids = list(run_ids)
        result: dict[str, dict[str, str]] = {run_id: {} for run_id in ids}
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            marks = ", ".join("?" * len(part))
            for run_id, name, filename in self._conn.execute(
                f"SELECT run_id, name, filename FROM artifacts WHERE run_id IN ({marks}) "
                "ORDER BY run_id, name",
                part,
            ):
                result[run_id][name] = filename
        return result

    @_reads("artifacts")
    def artifact(self, run_id: str, name: str) -> tuple[str, bytes] | None:
        """`(filename, bytes)` of one stored artefact, or None."""
        row = self._conn.execute(
            "SELECT filename, data FROM artifacts WHERE run_id = ? AND name = ?", (run_id, name)
        ).fetchone()
        if row is None:
            return None
        with _in_row(f"{run_id}/{name}"):
            if not isinstance(row[0], str) or not isinstance(row[1], bytes | str):
                raise _Damaged(
                    "data", f"expected a file name and bytes, got {_describe_stored(row)}"
                )
        data = row[1].encode("utf-8", "surrogateescape") if isinstance(row[1], str) else row[1]
        return row[0], bytes(data)

    @_reads("invocations")
    def invocations(self, task: str) -> list[dict[str, Any]]:
        """The task's `disbench run` invocations, oldest first."""
        rows = self._conn.execute(
            "SELECT id, task, command, executor, started_at, finished_at, exit_code, git_commit, "
            "versions, host FROM invocations WHERE task = ? ORDER BY id",
            (task,),
        ).fetchall()
        names = ("id", "task", "command", "executor", "started_at", "finished_at", "exit_code")
        found = []
        for r in rows:
            with _in_row(r[0]):
                versions = _json_field("versions", r[8])
            found.append(
                {**dict(zip(names, r[:7], strict=True)), "git_commit": r[7], "versions": versions}
                | {"host": r[9]}
            )
        return found
