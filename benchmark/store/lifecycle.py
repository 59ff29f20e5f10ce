"""A run's life in the database: registered, claimed, kept alive, released or given up, recorded.

The writes of the runner (`benchmark.runner`): `register_task`, `claim`,
`beat` and `heartbeats` (leases), `release`, `give_up`, `record_outcome`,
`copy_done_run` (a run whose training another already did), `set_training_ids`,
and the `disbench run` invocations (`start_invocation`, `finish_invocation`).
Each write is one transaction.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from benchmark.errors import UserInputError
from benchmark.store.connection import Connection
from benchmark.store.records import RunOutcome, _encode_score, utc_now
from benchmark.store.schema import DatabaseError

__all__ = ["Lifecycle"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class Lifecycle(Connection):
    """The writes of a run's lifecycle (see the module docstring); a part of `ResultStore`."""

    # ---- tasks and runs ------------------------------------------------------------------

    def register_task(
        self, name: str, config: Mapping[str, Any], specs: Sequence[Any], source: str = ""
    ) -> None:
        """Records a task and its runs: new runs as pending, existing runs untouched.

        `specs` are `RunSpec`s (anything with `run_id`, `entry`, `label`,
        `dataset`, `seed`, `model_args`, `sweep` and `to_dict()`). The task's
        membership is replaced, so runs dropped from a task file leave its
        leaderboard but keep their results.
        """
        for spec in specs:
            if not isinstance(spec.seed, int) or not _INT64_MIN <= spec.seed <= _INT64_MAX:
                raise UserInputError(
                    f"task {name!r}, run {spec.run_id}: seed {spec.seed!r} does not fit the "
                    "results database (SQLite integers are 64-bit): expected a seed from 0 "
                    f"to {_INT64_MAX}"
                )
        now = utc_now()
        statements: list[tuple[str, Sequence[object]]] = [
            (
                "INSERT INTO tasks (name, config, source, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET config = excluded.config, "
                "source = excluded.source, updated_at = excluded.updated_at",
                (name, json.dumps(config, sort_keys=True), source, now),
            ),
            ("DELETE FROM task_runs WHERE task = ?", (name,)),
        ]
        for position, spec in enumerate(specs):
            statements.append(
                (
                    "INSERT OR IGNORE INTO runs (run_id, task, entry, label, dataset, seed, args, "
                    "spec, status, created_at, training_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                    (
                        spec.run_id,
                        name,
                        spec.entry,
                        spec.label or spec.entry,
                        spec.dataset,
                        spec.seed,
                        json.dumps(spec.model_args, sort_keys=True),
                        json.dumps(spec.to_dict(), sort_keys=True),
                        now,
                        getattr(spec, "training_id", None),
                    ),
                )
            )
            if getattr(spec, "training_id", None):  # an existing row from before training_id
                statements.append(
                    (
                        "UPDATE runs SET training_id = ? WHERE run_id = ? AND training_id IS NULL",
                        (spec.training_id, spec.run_id),
                    )
                )
            statements.append(
                (
                    "INSERT INTO task_runs (task, run_id, position, label, sweep) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (name, spec.run_id, position, spec.label or spec.entry, json.dumps(spec.sweep)),
                )
            )
        self._write(statements)

    def set_training_ids(self, training_ids: Mapping[str, str]) -> None:
        """Fills in `{run_id: training_id}` for rows that have none (existing ids are kept)."""
        self._write(
            (
                "UPDATE runs SET training_id = ? WHERE run_id = ? AND training_id IS NULL",
                (training_id, run_id),
            )
            for run_id, training_id in training_ids.items()
        )

    def copy_done_run(self, source: str, target: str, note: Mapping[str, float]) -> bool:
        """Records pending run `target` as done with done run `source`'s result, in one transaction.

        Copies the times, durations (with `note` added), versions, commit,
        host, scores and artefacts. Returns False, changing nothing, unless
        `source` is done and `target` is pending and unowned (so a run another
        process has claimed is left to it).
        """
        row = self._conn.execute(
            "SELECT durations FROM runs WHERE run_id = ? AND status = 'done'", (source,)
        ).fetchone()
        if row is None:
            return False
        durations = json.dumps({**json.loads(row[0] or "{}"), **note}, sort_keys=True)
        try:
            with self.transaction() as conn:
                cursor = conn.execute(
                    "UPDATE runs SET (status, owner, started_at, finished_at, duration_s, "
                    "total_duration_s, durations, error, error_detail, versions, git_commit, "
                    "host) = (SELECT 'done', NULL, started_at, finished_at, 0.0, 0.0, ?, NULL, "
                    "NULL, versions, git_commit, host FROM runs WHERE run_id = ?) "
                    "WHERE run_id = ? AND status = 'pending' AND owner IS NULL",
                    (durations, source, target),
                )
                if cursor.rowcount != 1:
                    raise _NotOwned
                conn.execute("DELETE FROM scores WHERE run_id = ?", (target,))
                conn.execute("DELETE FROM artifacts WHERE run_id = ?", (target,))
                conn.execute(
                    "INSERT INTO scores (run_id, key, value, json) "
                    "SELECT ?, key, value, json FROM scores WHERE run_id = ?",
                    (target, source),
                )
                conn.execute(
                    "INSERT INTO artifacts (run_id, name, filename, data) "
                    "SELECT ?, name, filename, data FROM artifacts WHERE run_id = ?",
                    (target, source),
                )
        except _NotOwned:
            return False
        except sqlite3.OperationalError as error:
            raise self._cannot_write(error, kept=True) from None
        return True

    def claim(
        self,
        run_id: str,
        owner: str,
        *,
        expected_status: str,
        expected_owner: str | None,
        count_attempt: bool = True,
    ) -> bool:
        """Marks a run running for `owner` if it is still as expected; False if someone else took it.

        `attempts` counts the attempts since the run last failed: a retried
        failed run starts again at 1 (see `release` and `give_up`). With
        `count_attempt` False (the run executes in a worker process, whose
        crash the runner records itself) the claim charges no attempt, so the
        runner's own death never counts against the run. The claim is the run's
        first heartbeat (`beat`).
        """
        counted = 1 if count_attempt else 0
        now = utc_now()
        try:
            with self.transaction() as conn:
                cursor = conn.execute(
                    "UPDATE runs SET status = 'running', owner = ?, started_at = ?, "
                    "heartbeat_at = ?, "
                    "attempts = CASE WHEN status = 'failed' THEN ? ELSE attempts + ? END, "
                    "error = NULL, error_detail = NULL "
                    "WHERE run_id = ? AND status = ? AND owner IS ?",
                    (
                        owner,
                        now,
                        now,
                        counted,
                        counted,
                        run_id,
                        expected_status,
                        expected_owner,
                    ),
                )
                return cursor.rowcount == 1
        except sqlite3.OperationalError as error:
            raise self._cannot_write(error) from None

    def release(
        self, run_ids: Iterable[str], owner: str, reason: str, *, uncount: bool = True
    ) -> None:
        """Puts this owner's running runs back to pending (an interrupted suite).

        The interrupted attempt is not counted: only attempts that ended
        without a word (a crash) count towards `--max-attempts`. `uncount`
        takes back the attempt the claim charged; pass False for runs claimed
        with `count_attempt=False`, whose earlier attempts must stay counted.
        """
        taken_back = 1 if uncount else 0
        self._write(
            (
                "UPDATE runs SET status = 'pending', owner = NULL, error = ?, "
                "attempts = MAX(attempts - ?, 0) "
                "WHERE run_id = ? AND status = 'running' AND owner = ?",
                (reason, taken_back, run_id, owner),
            )
            for run_id in run_ids
        )

    def beat(self, run_ids: Iterable[str], owner: str) -> None:
        """Sets the heartbeat (now) of those of `run_ids` that are still running for `owner`."""
        now = utc_now()
        self._write(
            (
                "UPDATE runs SET heartbeat_at = ? "
                "WHERE run_id = ? AND status = 'running' AND owner = ?",
                (now, run_id, owner),
            )
            for run_id in sorted(run_ids)
        )

    def heartbeats(self, run_ids: Iterable[str]) -> dict[str, str | None]:
        """`{run_id: heartbeat_at or None}` (ISO 8601 UTC) for `run_ids` that exist.

        None where no heartbeat was written (a run claimed by a disbench from
        before heartbeats), also for every run of a database without the column
        opened read-only.
        """
        ids = sorted(set(run_ids))
        if ("runs", "heartbeat_at") in getattr(self, "_missing_optional", set()):
            found = {row[0] for row in self._select_in("SELECT run_id FROM runs", ids)}
            return dict.fromkeys(sorted(found))
        return dict(self._select_in("SELECT run_id, heartbeat_at FROM runs", ids))

    def _select_in(self, select: str, run_ids: list[str]) -> list[tuple[Any, ...]]:
        """The rows of `select ... WHERE run_id IN (run_ids)`, 500 ids per statement."""
        rows: list[tuple[Any, ...]] = []
        for chunk in range(0, len(run_ids), 500):
            part = run_ids[chunk : chunk + 500]
            marks = ", ".join("?" * len(part))
            rows += self._conn.execute(f"{select} WHERE run_id IN ({marks})", part).fetchall()
        return rows

    def keep_done(self, run_id: str, owner: str) -> bool:
        """Puts a done run that `owner` claimed to score again back to done, its stored scores
        and artefacts untouched (the new attempt failed; the earlier result stands)."""
        try:
            with self.transaction() as conn:
                cursor = conn.execute(
                    "UPDATE runs SET status = 'done', owner = NULL "
                    "WHERE run_id = ? AND status = 'running' AND owner IS ?",
                    (run_id, owner),
                )
                return cursor.rowcount == 1
        except sqlite3.OperationalError as error:
            raise self._cannot_write(error) from None

    def give_up(self, run_id: str, expected_owner: str | None, reason: str) -> bool:
        """Marks a run left `running` by `expected_owner` failed with `reason` (compare-and-set)."""
        try:
            with self.transaction() as conn:
                cursor = conn.execute(
                    "UPDATE runs SET status = 'failed', owner = NULL, finished_at = ?, error = ? "
                    "WHERE run_id = ? AND status = 'running' AND owner IS ?",
                    (utc_now(), reason, run_id, expected_owner),
                )
                return cursor.rowcount == 1
        except sqlite3.OperationalError as error:
            raise self._cannot_write(error) from None

    def record_outcome(self, outcome: RunOutcome, owner: str | None = None) -> bool:
        """Records a finished attempt in one transaction: status, times, scores, artefacts.

        A done run's scores and artefacts replace any earlier ones; a failed
        run keeps none. With `owner`, only a run still held by that owner is
        written, and False is returned otherwise (another process took it over).
        A done outcome that SQLite cannot hold (an artefact over its blob size
        limit, an integer over 64 bits) is recorded as a failed run with that
        reason instead, so the run does not come back on every retry.
        """
        if outcome.status not in ("done", "failed"):
            raise ValueError(f"outcome status must be done or failed, got {outcome.status!r}")
        encoded = [(key, *_encode_score(value)) for key, value in outcome.scores.items()]
        statements: list[tuple[str, Sequence[object]]] = [
            (
                "UPDATE runs SET status = ?, owner = NULL, started_at = ?, finished_at = ?, "
                "duration_s = ?, total_duration_s = total_duration_s + ?, durations = ?, "
                "error = ?, error_detail = ?, versions = ?, git_commit = ?, host = ? "
                "WHERE run_id = ?" + (" AND owner IS ?" if owner is not None else ""),
                (
                    outcome.status,
                    outcome.started_at,
                    outcome.finished_at,
                    outcome.duration_s,
                    outcome.duration_s,
                    json.dumps(dict(outcome.durations), sort_keys=True),
                    outcome.error,
                    outcome.error_detail,
                    json.dumps(dict(outcome.versions), sort_keys=True),
                    outcome.git_commit,
                    outcome.host,
                    outcome.run_id,
                    *((owner,) if owner is not None else ()),
                ),
            ),
            ("DELETE FROM scores WHERE run_id = ?", (outcome.run_id,)),
            ("DELETE FROM artifacts WHERE run_id = ?", (outcome.run_id,)),
        ]
        if outcome.status == "done":
            statements += [
                (
                    "INSERT INTO scores (run_id, key, value, json) VALUES (?, ?, ?, ?)",
                    (outcome.run_id, key, value, text),
                )
                for key, value, text in encoded
            ]
            statements += [
                (
                    "INSERT INTO artifacts (run_id, name, filename, data) VALUES (?, ?, ?, ?)",
                    (outcome.run_id, name, filename, sqlite3.Binary(data)),
                )
                for name, (filename, data) in outcome.artifacts.items()
            ]
        try:
            with self.transaction() as conn:
                cursor = conn.execute(*statements[0])
                if cursor.rowcount != 1:
                    raise _NotOwned
                for sql, params in statements[1:]:
                    conn.execute(sql, params)
        except _NotOwned:
            return False
        except (sqlite3.DataError, OverflowError) as error:
            smaller = _unstorable(outcome, error, self._blob_limit())
            if smaller == outcome:  # nothing left to drop
                raise DatabaseError(
                    f"{self.path}: run {outcome.run_id}: cannot record it: {error}"
                ) from None
            return self.record_outcome(smaller, owner)
        except sqlite3.OperationalError as error:
            raise self._cannot_write(error, kept=True) from None
        return True

    def _blob_limit(self) -> int:
        """The most bytes SQLite stores in one value on this connection (default 10^9)."""
        return int(self._conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH))

    # ---- invocations -----------------------------------------------------------------------

    def start_invocation(
        self,
        task: str,
        command: str,
        executor: str,
        *,
        git_commit: str = "",
        versions: Mapping[str, str] | None = None,
        host: str = "",
    ) -> int:
        """Records the start of a `disbench run`; returns its id for `finish_invocation`."""
        try:
            with self.transaction() as conn:
                cursor = conn.execute(
                    "INSERT INTO invocations (task, command, executor, started_at, git_commit, "
                    "versions, host) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        task,
                        command,
                        executor,
                        utc_now(),
                        git_commit,
                        json.dumps(dict(versions or {}), sort_keys=True),
                        host,
                    ),
                )
                return int(cursor.lastrowid or 0)
        except sqlite3.OperationalError as error:
            raise self._cannot_write(error) from None

    def finish_invocation(self, invocation_id: int, exit_code: int) -> None:
        self._write(
            [
                (
                    "UPDATE invocations SET finished_at = ?, exit_code = ? WHERE id = ?",
                    (utc_now(), exit_code, invocation_id),
                )
            ]
        )


def _unstorable(outcome: RunOutcome, error: BaseException, blob_limit: int) -> RunOutcome:
    """What is recorded in place of an outcome the database cannot hold: a failed run, small.

    A done run becomes failed with the reason (and without its scores and
    artefacts); a failed run keeps its one-line reason and drops its traceback.
    """
    if outcome.status != "done":
        return dataclasses.replace(
            outcome, error=(outcome.error or "")[:500] or None, error_detail=None
        )
    sizes = sorted(
        ((len(data), name) for name, (_, data) in outcome.artifacts.items()), reverse=True
    )
    reason = f"the results could not be stored: {type(error).__name__}: {error}"
    if sizes and sizes[0][0] > blob_limit:
        size, name = sizes[0]
        reason += (
            f" (artefact {name!r} is {size:,} bytes; SQLite stores at most {blob_limit:,} "
            "bytes in one value: write a smaller file or lower --max-artifact-mb)"
        )
    return dataclasses.replace(
        outcome, status="failed", scores={}, artifacts={}, error=reason, error_detail=None
    )


class _NotOwned(Exception):
    """The run was taken over by another owner; its newer state wins."""
