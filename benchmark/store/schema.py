"""What a results database file holds, and the checks and changes made when one is opened.

The tables (`_SCHEMA`), the schema version and the statuses a run can have;
the checks that refuse a file before anything in it is written (not a
regular file, not SQLite, a newer or incomplete schema), each a
`DatabaseError` of one line; the read-only connection; and the migration of
an older version (`_migrate`) and of columns added without one
(`_add_optional_columns`).
"""

from __future__ import annotations

import functools
import sqlite3
import urllib.parse
from pathlib import Path

from benchmark.errors import UserInputError

__all__ = ["DEFAULT_DB", "SCHEMA_VERSION", "STATUSES", "DatabaseError"]

SCHEMA_VERSION = 2

# Columns a database of an older schema version may lack: `_migrate` adds them.
_ADDED_COLUMNS = {("runs", "training_id")}
# Columns any version may lack (older code ignores them): `_add_optional_columns` adds them.
_OPTIONAL_COLUMNS = {("runs", "heartbeat_at"): "TEXT"}
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


def _check_file(path: Path, create: bool) -> None:
    """Refuses, before SQLite opens anything, a path that is not (or cannot become) a
    database file: a folder, a FIFO or device (reading one would block), a missing
    file without `create`, a file below a file, or a file of another kind."""
    if path.is_dir():
        raise DatabaseError(f"{path}: is a folder, expected an SQLite database file")
    if not path.exists():
        blocked = next((p for p in path.parents if p.exists()), None)
        if blocked is not None and not blocked.is_dir():
            raise DatabaseError(
                f"{path}: {blocked} is a file, not a folder; give another --db path"
            )
        if not create:
            raise DatabaseError(
                f"{path}: no results database here; `disbench run TASK --db {path}` creates it"
            )
        return
    if not path.is_file():
        raise DatabaseError(
            f"{path}: not a regular file (a FIFO, socket or device); "
            "expected an SQLite database file"
        )
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except OSError as error:
        raise DatabaseError(f"{path}: cannot read it: {error.strerror or error}") from None
    if head and head != _SQLITE_MAGIC:
        raise DatabaseError(
            f"{path}: not an SQLite database (it starts with {head!r}); "
            "give another --db path or move the file away"
        )


def _check_schema(
    conn: sqlite3.Connection, path: Path, tables: set[str]
) -> tuple[int, set[tuple[str, str]]]:
    """`(schema version, optional columns missing)` of a database this code can use.

    Refuses (DatabaseError, one line) anything but a complete schema this code knows.
    """
    if "schema_version" not in tables:
        raise DatabaseError(
            f"{path}: an SQLite database, but not a disbench results database "
            f"(no schema_version table; it has {', '.join(sorted(tables))})"
        )
    rows = conn.execute("SELECT version, typeof(version) FROM schema_version LIMIT 2").fetchall()
    if len(rows) != 1 or rows[0][1] != "integer":
        found = "no row" if not rows else ("several rows" if len(rows) > 1 else repr(rows[0][0]))
        raise DatabaseError(
            f"{path}: schema_version.version: expected one integer row, got {found}; "
            "not a results database this disbench wrote (use another --db)"
        )
    version = rows[0][0]
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"{path}: written by a newer disbench (schema version {version}; "
            f"this one reads up to {SCHEMA_VERSION}); upgrade disbench or use another --db"
        )
    if version < 1:
        raise DatabaseError(
            f"{path}: schema_version.version: expected 1 to {SCHEMA_VERSION}, got {version}"
        )
    missing = []
    missing_optional: set[tuple[str, str]] = set()
    for table, columns in _expected_columns().items():
        if table not in tables:
            missing.append(f"table {table}")
            continue
        have = {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}
        added = _ADDED_COLUMNS if version < SCHEMA_VERSION else set()
        missing += [
            f"{table}.{c}"
            for c in columns
            if c not in have and (table, c) not in added and (table, c) not in _OPTIONAL_COLUMNS
        ]
        missing_optional |= {
            (table, c) for c in columns if c not in have and (table, c) in _OPTIONAL_COLUMNS
        }
    if missing:
        raise DatabaseError(
            f"{path}: schema version {version} but incomplete (missing "
            f"{', '.join(missing[:6])}{', ...' if len(missing) > 6 else ''}); "
            "the file was left unchanged: use another --db"
        )
    return version, missing_optional


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
