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

The package, one job per module (imports point down this list):

- `benchmark.store.schema`: the tables, the schema version and its
  migration, the checks that refuse a file, the read-only connection;
- `benchmark.store.records`: `RunResult`, `RunOutcome`, `RunRecord`, scores
  encoded for their columns and stored values decoded with a check;
- `benchmark.store.connection`: the open file, its write transactions and
  the one-line message of a write that failed;
- `benchmark.store.lifecycle`: a run's life (register, claim, beat, release,
  give up, record, copy) and the invocations;
- `benchmark.store.reads`: every read.

`ResultStore` joins the last two; import everything from `benchmark.store`.
"""

from __future__ import annotations

from benchmark.store.lifecycle import Lifecycle
from benchmark.store.reads import Reads
from benchmark.store.records import (
    RECORDED_PACKAGES,
    RunOutcome,
    RunRecord,
    RunResult,
    utc_now,
)
from benchmark.store.schema import DEFAULT_DB, SCHEMA_VERSION, STATUSES, DatabaseError

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


class ResultStore(Lifecycle, Reads):
    """An open results database (see the package docstring for the tables).

    `ResultStore(path)` creates the file and its folder if needed;
    `ResultStore(path, create=False)` requires it to exist. Use it as a
    context manager or call `close()`. Opening and transactions come from
    `Connection`, the writes of a run's life from `Lifecycle`, the reads
    from `Reads`.
    """
