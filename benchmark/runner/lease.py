"""Leases: a run held by a process on another host is alive only while its heartbeat is fresh.

On its own host a runner can tell whether the owner of a `running` run
still runs (`benchmark.runner.environment.owner_alive`). A process on
another host (another machine, a new container) cannot be seen, so every
runner writes a heartbeat, the time in `runs.heartbeat_at`, for each run it
has in flight, every `HEARTBEAT_EVERY_S` seconds (`Heartbeat`). A run owned
on another host whose heartbeat is older than `LEASE_S` seconds is judged
dead and taken over. A run without a heartbeat (held by a disbench from
before heartbeats) stays held: only `--take-over` runs it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from benchmark.store import DatabaseError, ResultStore

__all__ = [
    "HEARTBEAT_EVERY_S",
    "LEASE_S",
    "Heartbeat",
    "heartbeat_age_s",
    "lease_expired",
]

# A run owned on another host with no heartbeat for this long (seconds) is judged dead:
# ten beats missed, far beyond a slow disk or a busy database.
LEASE_S = 600.0
# How often (seconds) a runner refreshes the heartbeat of each run it has in flight.
HEARTBEAT_EVERY_S = 60.0
# How long (seconds) one heartbeat write waits for the database lock before it skips a beat.
_WRITE_TIMEOUT_S = 10.0


def heartbeat_age_s(heartbeat: str | None, now: datetime | None = None) -> float | None:
    """Seconds since `heartbeat` (ISO 8601 UTC, as `utc_now` writes it); None if absent or unreadable.

    A heartbeat ahead of this host's clock (the other host's clock runs fast) is 0 s old.
    """
    if not heartbeat:
        return None
    try:
        beat = datetime.fromisoformat(heartbeat)
    except (TypeError, ValueError):
        return None
    if beat.tzinfo is None:
        beat = beat.replace(tzinfo=UTC)
    return max(0.0, ((now or datetime.now(UTC)) - beat).total_seconds())


def lease_expired(age_s: float | None, lease_s: float = LEASE_S) -> bool:
    """Whether a heartbeat `age_s` seconds old means its owner is gone (never without one)."""
    return age_s is not None and age_s > lease_s


class Heartbeat:
    """A daemon thread that writes the heartbeat of every run in flight every `every_s` seconds.

    It opens its own connection to the database at `db_path` (SQLite
    connections stay in their thread); `in_flight()` gives the run ids to
    refresh, and only runs still `running` for `owner` are written. A write
    that fails (the database busy or gone) skips one beat; the lease is ten
    beats long. Use as a context manager: the thread stops when the block ends.
    """

    def __init__(
        self,
        db_path: Path,
        owner: str,
        in_flight: Callable[[], set[str]],
        every_s: float | None = None,
    ) -> None:
        """`every_s` seconds between beats (None: `HEARTBEAT_EVERY_S`)."""
        self.db_path = db_path
        self.owner = owner
        self.every_s = HEARTBEAT_EVERY_S if every_s is None else every_s
        self._in_flight = in_flight
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)

    def _beat(self, store: ResultStore) -> None:
        run_ids = self._in_flight()
        if run_ids:
            with contextlib.suppress(DatabaseError):
                store.beat(run_ids, self.owner)

    def _loop(self) -> None:
        store = None
        try:
            while not self._stop.wait(self.every_s):
                if store is None:
                    try:
                        store = ResultStore(self.db_path, create=False, timeout=_WRITE_TIMEOUT_S)
                    except DatabaseError:
                        continue
                self._beat(store)
        finally:
            if store is not None:
                store.close()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(1.0)  # a beat stuck on a busy database is not waited for
