"""The results database: runs, their scores and artefacts, in one SQLite file.

Tables (schema version 2):

- `schema_version(version)`: one integer row; a newer version than this code knows, a
  text version, or missing tables or columns are refused before anything is written.
- `tasks(name, config, source, updated_at)`: each task's resolved configuration (JSON).
- `runs(run_id, task, entry, label, dataset, seed, args, spec, status, attempts, owner,
  created_at, started_at, finished_at, duration_s, total_duration_s, durations, error,
  error_detail, versions, git_commit, host, training_id, heartbeat_at)`: one row per run;
  `status` is one of pending, running, done, failed; `spec` is the full `RunSpec` as
  JSON; `training_id` is the hash of the run's training part (runs sharing it share
  trained weights; see `benchmark.config.runs`); `heartbeat_at` is when the process
  holding a running run last said it is alive (`benchmark.runner.lease`).
- `task_runs(task, run_id, position, label, sweep)`: which runs make up a task (a run
  may belong to several tasks), in expansion order, with the task's labels.
- `scores(run_id, key, value, json)`: one row per score; `value` holds finite numbers,
  `json` anything else (lists, NaN).
- `artifacts(run_id, name, filename, data)`: files a run produced (e.g. latent traversal
  images), as bytes, so leaderboards need nothing but this file.
- `invocations(id, task, command, executor, started_at, finished_at, exit_code, git_commit,
  versions, host)`: each `disbench run`, for the leaderboard header.

Version 1 databases (before `training_id`) are migrated when opened: the column is
added empty and the runner fills it from each row's stored `spec`; rows whose spec
cannot be read keep NULL. Nothing else in them changes. `runs.heartbeat_at` came later
without a new version: a disbench that does not know it ignores it, so it is added
(empty) whenever a database without it is opened for writing, and read as absent
from one opened read-only.

Every write is one transaction (`BEGIN IMMEDIATE ... COMMIT`), so a process
killed at any point leaves each run either as it was or fully recorded. The
journal is in WAL mode, so readers never block the writer and several
processes may write (each write waits up to `timeout` seconds for the lock).
`ResultStore(path, readonly=True)` never writes (leaderboards), also in a
folder it cannot write. Only `sqlite3` is used.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmark.errors import UserInputError

__all__ = [
    "RECORDED_PACKAGES",
    "RunResult",
    "DEFAULT_DB",
    "SCHEMA_VERSION",
    "STATUSES",
    "DatabaseError",
    "ResultStore",
    "RunOutcome",
    "RunRecord",
    "utc_now",
]

SCHEMA_VERSION = 2

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
# Columns a database of an older schema version may lack: `_migrate` adds them.
_ADDED_COLUMNS = {("runs", "training_id")}
# Columns any version may lack (older code ignores them): `_add_optional_columns` adds them.
_OPTIONAL_COLUMNS = {("runs", "heartbeat_at"): "TEXT"}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
STATUSES = ("pending", "running", "done", "failed")
DEFAULT_DB = Path("results") / "disbench.sqlite"
_SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    entry TEXT NOT NULL,
    label TEXT NOT NULL,
    dataset TEXT NOT NULL,
    seed INTEGER NOT NULL,
    args TEXT NOT NULL,
    spec TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ({", ".join(repr(s) for s in STATUSES)})),
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    duration_s REAL,
    total_duration_s REAL NOT NULL DEFAULT 0,
    durations TEXT NOT NULL DEFAULT '{{}}',
    error TEXT,
    error_detail TEXT,
    versions TEXT NOT NULL DEFAULT '{{}}',
    git_commit TEXT NOT NULL DEFAULT '',
    host TEXT NOT NULL DEFAULT '',
    training_id TEXT,
    heartbeat_at TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status);
CREATE TABLE IF NOT EXISTS task_runs (
    task TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    position INTEGER NOT NULL,
    label TEXT NOT NULL,
    sweep TEXT NOT NULL,
    PRIMARY KEY (task, run_id)
);
CREATE TABLE IF NOT EXISTS scores (
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    key TEXT NOT NULL,
    value REAL,
    json TEXT,
    PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    name TEXT NOT NULL,
    filename TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS invocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task TEXT NOT NULL,
    command TEXT NOT NULL,
    executor TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    exit_code INTEGER,
    git_commit TEXT NOT NULL DEFAULT '',
    versions TEXT NOT NULL DEFAULT '{{}}',
    host TEXT NOT NULL DEFAULT ''
);
"""


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }


@functools.lru_cache(maxsize=1)
def _expected_columns() -> dict[str, tuple[str, ...]]:
    """`{table: columns}` of `_SCHEMA`, read from an in-memory database built from it."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(_SCHEMA)
        return {
            table: tuple(row[1] for row in conn.execute(f'PRAGMA table_info("{table}")'))
            for table in sorted(_tables(conn))
        }
    finally:
        conn.close()


def _connect_readonly(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection that cannot write `path`, also when its folder is not writable.

    `mode=ro` reads a WAL database through its `-shm` file, which SQLite must
    find or create. In a folder this process cannot write, and with no
    `-wal` file left (the last writer closed cleanly, so every result is in
    the main file), the file is opened `immutable` instead.
    """
    uri = "file:" + urllib.parse.quote(str(path.resolve()))
    conn = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=timeout, isolation_level=None)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise
    conn = sqlite3.connect(
        uri + "?mode=ro&immutable=1", uri=True, timeout=timeout, isolation_level=None
    )
    conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    return conn


class DatabaseError(UserInputError):
    """The results database cannot be used: not SQLite, a newer schema, a full disk, ..."""


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


def _reads(table: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A read method whose failure is one line naming `table` (and the row and field).

    SQLite's own errors (a damaged page, text that is not UTF-8) and stored
    values that cannot be decoded become `DatabaseError`; nothing is changed.
    """

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def read(self: ResultStore, *args: Any, **kwargs: Any) -> Any:
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


class ResultStore:
    """An open results database (see the module docstring for the tables).

    `ResultStore(path)` creates the file and its folder if needed;
    `ResultStore(path, create=False)` requires it to exist. Use it as a
    context manager or call `close()`.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        timeout: float = 60.0,
        readonly: bool = False,
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._check_file(create and not readonly)
        try:
            if readonly:
                self._conn = _connect_readonly(self.path, timeout)
            else:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as error:  # read-only, no permission, a file in the way
                    raise DatabaseError(
                        f"{self.path}: cannot create its folder: {error.strerror or error}"
                    ) from None
                self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
                self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._prepare()
        except sqlite3.DatabaseError as error:
            with contextlib.suppress(Exception):
                self._conn.close()
            raise DatabaseError(f"{self.path}: cannot open the results database: {error}") from None
        except BaseException:
            with contextlib.suppress(Exception):
                self._conn.close()
            raise

    # ---- opening -------------------------------------------------------------------------

    def _check_file(self, create: bool) -> None:
        """Refuses, before SQLite opens anything, a path that is not (or cannot become) a
        database file: a folder, a FIFO or device (reading one would block), a missing
        file without `create`, a file below a file, or a file of another kind."""
        if self.path.is_dir():
            raise DatabaseError(f"{self.path}: is a folder, expected an SQLite database file")
        if not self.path.exists():
            blocked = next((p for p in self.path.parents if p.exists()), None)
            if blocked is not None and not blocked.is_dir():
                raise DatabaseError(
                    f"{self.path}: {blocked} is a file, not a folder; give another --db path"
                )
            if not create:
                raise DatabaseError(
                    f"{self.path}: no results database here; `disbench run TASK --db {self.path}` "
                    "creates it"
                )
            return
        if not self.path.is_file():
            raise DatabaseError(
                f"{self.path}: not a regular file (a FIFO, socket or device); "
                "expected an SQLite database file"
            )
        try:
            with self.path.open("rb") as handle:
                head = handle.read(len(_SQLITE_MAGIC))
        except OSError as error:
            raise DatabaseError(f"{self.path}: cannot read it: {error.strerror or error}") from None
        if head and head != _SQLITE_MAGIC:
            raise DatabaseError(
                f"{self.path}: not an SQLite database (it starts with {head!r}); "
                "give another --db path or move the file away"
            )

    def _prepare(self) -> None:
        """Checks the schema without writing; then (unless read-only) creates what a new file lacks.

        A database that is refused is left exactly as it was: nothing is
        written before every check has passed.
        """
        tables = _tables(self._conn)
        if tables:
            self._check_schema(tables)
        elif self.readonly:
            raise DatabaseError(
                f"{self.path}: an empty database, not a disbench results database; "
                f"`disbench run TASK --db {self.path}` fills it"
            )
        if self.readonly:
            return
        self._conn.execute("PRAGMA foreign_keys = ON")
        if self._conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            self._conn.execute("PRAGMA journal_mode = WAL")
        if tables:
            if self._version < SCHEMA_VERSION:
                with self.transaction() as conn:
                    _migrate(conn)
                self._version = SCHEMA_VERSION
            if self._missing_optional:
                with self.transaction() as conn:
                    _add_optional_columns(conn)
                self._missing_optional = set()
            return
        with self.transaction() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            _migrate(conn)  # its indexes

    def _check_schema(self, tables: set[str]) -> None:
        """Refuses (DatabaseError, one line) anything but a complete schema this code knows."""
        if "schema_version" not in tables:
            raise DatabaseError(
                f"{self.path}: an SQLite database, but not a disbench results database "
                f"(no schema_version table; it has {', '.join(sorted(tables))})"
            )
        rows = self._conn.execute(
            "SELECT version, typeof(version) FROM schema_version LIMIT 2"
        ).fetchall()
        if len(rows) != 1 or rows[0][1] != "integer":
            found = (
                "no row" if not rows else ("several rows" if len(rows) > 1 else repr(rows[0][0]))
            )
            raise DatabaseError(
                f"{self.path}: schema_version.version: expected one integer row, got {found}; "
                "not a results database this disbench wrote (use another --db)"
            )
        version = rows[0][0]
        if version > SCHEMA_VERSION:
            raise DatabaseError(
                f"{self.path}: written by a newer disbench (schema version {version}; "
                f"this one reads up to {SCHEMA_VERSION}); upgrade disbench or use another --db"
            )
        if version < 1:
            raise DatabaseError(
                f"{self.path}: schema_version.version: expected 1 to {SCHEMA_VERSION}, got {version}"
            )
        missing = []
        self._missing_optional: set[tuple[str, str]] = set()
        for table, columns in _expected_columns().items():
            if table not in tables:
                missing.append(f"table {table}")
                continue
            have = {row[1] for row in self._conn.execute(f'PRAGMA table_info("{table}")')}
            added = _ADDED_COLUMNS if version < SCHEMA_VERSION else set()
            missing += [
                f"{table}.{c}"
                for c in columns
                if c not in have and (table, c) not in added and (table, c) not in _OPTIONAL_COLUMNS
            ]
            self._missing_optional |= {
                (table, c) for c in columns if c not in have and (table, c) in _OPTIONAL_COLUMNS
            }
        if missing:
            raise DatabaseError(
                f"{self.path}: schema version {version} but incomplete (missing "
                f"{', '.join(missing[:6])}{', ...' if len(missing) > 6 else ''}); "
                "the file was left unchanged: use another --db"
            )
        self._version = version

    @property
    def _training_id_column(self) -> str:
        """`r.training_id`, or NULL in a version 1 database opened read-only (not migrated)."""
        return "r.training_id" if getattr(self, "_version", SCHEMA_VERSION) >= 2 else "NULL"

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _cannot_write(self, error: sqlite3.Error, *, kept: bool = False) -> DatabaseError:
        """The one translation of a failed write: the file, SQLite's reason and, with `kept`,
        that results recorded before this write are kept."""
        note = "; results recorded before this one are kept" if kept else ""
        return DatabaseError(f"{self.path}: cannot write the results database: {error}{note}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none of it.

        A damaged file (SQLite's DatabaseError itself, not a lock or a constraint)
        is a `DatabaseError` of one line; results committed before are kept.
        """
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as error:
            raise self._cannot_write(error) from None
        try:
            yield self._conn
        except BaseException as error:
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            if type(error) is sqlite3.DatabaseError:  # corruption, not a constraint or lock
                raise self._cannot_write(error, kept=True) from None
            raise
        try:
            self._conn.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            raise self._cannot_write(error, kept=True) from None

    def _write(self, statements: Iterable[tuple[str, Sequence[object]]]) -> None:
        try:
            with self.transaction() as conn:
                for sql, params in statements:
                    conn.execute(sql, params)
        except (OverflowError, sqlite3.DataError) as error:
            raise DatabaseError(
                f"{self.path}: a value does not fit the results database ({error}); "
                "nothing of this write was kept"
            ) from None
        except sqlite3.DatabaseError as error:  # locked, read-only, full, damaged
            raise self._cannot_write(error, kept=True) from None

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

    def set_training_ids(self, training_ids: Mapping[str, str]) -> None:
        """Fills in `{run_id: training_id}` for rows that have none (existing ids are kept)."""
        self._write(
            (
                "UPDATE runs SET training_id = ? WHERE run_id = ? AND training_id IS NULL",
                (training_id, run_id),
            )
            for run_id, training_id in training_ids.items()
        )

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


def _migrate(conn: sqlite3.Connection) -> None:
    """Brings an older database up to `SCHEMA_VERSION` (inside the opening transaction).

    1 -> 2: adds `runs.training_id` (NULL until the runner fills it from `spec`).
    """
    columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    if "training_id" not in columns:
        conn.execute("ALTER TABLE runs ADD COLUMN training_id TEXT")
    conn.execute("CREATE INDEX IF NOT EXISTS runs_by_training ON runs (training_id)")
    conn.execute("UPDATE schema_version SET version = ? WHERE version < ?", (SCHEMA_VERSION,) * 2)


def _add_optional_columns(conn: sqlite3.Connection) -> None:
    """Adds the `_OPTIONAL_COLUMNS` a database lacks (inside the opening transaction)."""
    for (table, column), kind in sorted(_OPTIONAL_COLUMNS.items()):
        have = {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}
        if column not in have:
            conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {kind}')


class _NotOwned(Exception):
    """The run was taken over by another owner; its newer state wins."""
