"""`training_lock`: one process at a time trains into a checkpoint folder.

Runs that share a training (same `training_id`) share its checkpoint folder;
two of them started at once must not write checkpoints into it side by side.
The lock is an advisory `flock` on `<folder>/train.lock`, released by the
operating system when its holder exits or is killed, so a dead process never
leaves it held (`benchmark.flock`, shared with the run-folder lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import sys
from collections.abc import Iterator
from pathlib import Path

from benchmark.flock import lock_or_wait, try_lock

__all__ = ["LOCK_FILE", "training_lock"]

LOCK_FILE = "train.lock"


@contextlib.contextmanager
def training_lock(directory: Path) -> Iterator[None]:
    """Holds the exclusive lock of `directory` (created if missing), waiting for it if taken."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    with open(Path(directory) / LOCK_FILE, "a+b") as handle:
        if not try_lock(handle.fileno()):
            print(
                f"{directory}: another process is training into this folder; waiting for it",
                file=sys.stderr,
                flush=True,
            )
            lock_or_wait(handle.fileno())
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
