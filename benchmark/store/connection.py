"""An open results database: the connection, its write transactions and their failures.

`Connection` opens the file (checked, created or migrated by
`benchmark.store.schema`), runs each write as one transaction, and turns a
write SQLite refuses into a `DatabaseError` of one line. `ResultStore`
builds on it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Self

from benchmark.store.schema import (
    _SCHEMA,
    SCHEMA_VERSION,
    DatabaseError,
    _add_optional_columns,
    _check_file,
    _check_schema,
    _connect_readonly,
    _migrate,
    _tables,
)

__all__ = ["Connection"]


class Connection:
    """An open results database file, checked; the base of `ResultStore`.

    `Connection(path)` creates the file and its folder if needed;
    `Connection(path, create=False)` requires it to exist. Use it as a
    context manager or call `close()`.
    """

    #: The schema version the file was opened at (unset in a file created here).
    _version: int
    #: Optional columns the file lacks (unset in a file created here; see `heartbeats`).
    _missing_optional: set[tuple[str, str]]

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
        _check_file(self.path, create and not readonly)
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

    def _prepare(self) -> None:
        """Checks the schema without writing; then (unless read-only) creates what a new file lacks.

        A database that is refused is left exactly as it was: nothing is
        written before every check has passed.
        """
        tables = _tables(self._conn)
        if tables:
            self._version, self._missing_optional = _check_schema(self._conn, self.path, tables)
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

    @property
    def _training_id_column(self) -> str:
        """`r.training_id`, or NULL in a version 1 database opened read-only (not migrated)."""
        return "r.training_id" if getattr(self, "_version", SCHEMA_VERSION) >= 2 else "NULL"

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
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
