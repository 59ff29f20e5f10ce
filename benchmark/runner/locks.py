"""One writer per run folder: an exclusive `flock` on `RUN_FOLDER/.lock`.

The process that executes a run holds the lock for as long as it writes
the folder; the driver checks it at claim time and leaves a locked folder
alone. The kernel drops the lock when its holder exits (even on `kill -9`),
so a stale lock file never blocks a run. The holder's pid is written into
the file, for messages only. On a file system without locks (some network
mounts answer ENOLCK) runs go on unlocked rather than fail.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from benchmark.flock import try_lock

__all__ = ["LOCK_NAME", "RunFolderBusy", "folder_holder", "hold_run_folder"]

LOCK_NAME = ".lock"


class RunFolderBusy(RuntimeError):
    """Another process holds the run folder's lock."""

    def __init__(self, folder: Path, holder: str) -> None:
        who = f"process {holder}" if holder else "another process"
        super().__init__(f"{folder}: the run folder is being written by {who}")
        self.folder = folder
        self.holder = holder


def _read_holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()[:40]
    except OSError:
        return ""


def folder_holder(folder: Path) -> str | None:
    """None when nobody holds `folder`'s lock, else the holder's pid as written ('' if unknown)."""
    path = folder / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if try_lock(fd):
            return None
        return _read_holder(path)
    finally:
        os.close(fd)  # closing drops a lock taken just for this check


@contextlib.contextmanager
def hold_run_folder(folder: Path, wait_s: float = 5.0) -> Iterator[None]:
    """Holds `folder`'s lock (creating the folder) for the block; `RunFolderBusy` if it stays taken.

    Waits up to `wait_s` seconds: long enough for a dying previous holder to go.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while not try_lock(fd):
            if time.monotonic() >= deadline:
                raise RunFolderBusy(folder, _read_holder(path))
            time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)
