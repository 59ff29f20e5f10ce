"""What a result was made with: package versions, the git commit, the host, and who runs a run."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import benchmark
from benchmark.store import RECORDED_PACKAGES

__all__ = [
    "PACKAGES",
    "git_commit",
    "host_name",
    "owner_alive",
    "owner_id",
    "package_versions",
    "parse_owner",
    "process_start_ticks",
]

PACKAGES = RECORDED_PACKAGES
_REPOSITORY = Path(benchmark.__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """`{"python": "3.11.7", "numpy": "2.4.6", ...}` for the installed packages of `PACKAGES`."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    if "disbench" not in versions:
        versions["disbench"] = benchmark.__version__
    return versions


@lru_cache(maxsize=1)
def git_commit(repository: Path = _REPOSITORY) -> str:
    """The checkout's commit (`<sha>` or `<sha>-dirty` with uncommitted changes), or ''."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(repository), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repository), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{sha}-dirty" if dirty else sha


def host_name() -> str:
    return socket.gethostname()


def process_start_ticks(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot, `/proc/PID/stat` field 22), or None.

    None when the process does not exist, is a zombie (killed but not yet
    reaped: it runs nothing) or `/proc` cannot tell.
    """
    try:
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
    except (OSError, ValueError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):  # state, then fields 4.. of stat
        return None
    try:
        return int(fields[19])
    except ValueError:
        return None


@lru_cache(maxsize=4)
def _start_of(pid: int) -> int | None:
    """`process_start_ticks` of a running process never changes: read it once per pid."""
    return process_start_ticks(pid)


def owner_id() -> str:
    """`host:pid:start` of this process, the owner recorded on the runs it holds.

    `start` (the process start time, `process_start_ticks`) tells this
    process from a later one that reuses its pid; it is left out where
    `/proc` cannot give it (`host:pid`).
    """
    start = _start_of(os.getpid())
    suffix = f":{start}" if start is not None else ""
    return f"{host_name()}:{os.getpid()}{suffix}"


def parse_owner(owner: str) -> tuple[str, int, int | None] | None:
    """`(host, pid, start or None)` of an owner written by `owner_id`, or None when malformed."""
    parts = owner.rsplit(":", 2)
    try:
        if len(parts) == 3 and parts[2].isdigit() and parts[1].isdigit():
            return parts[0], int(parts[1]), int(parts[2])
        host, _, pid_text = owner.rpartition(":")
        return (host, int(pid_text), None) if host else None
    except ValueError:
        return None


def owner_alive(owner: str | None) -> bool | None:
    """Whether the process that wrote `owner` still runs: True, False, or None on another host.

    A zombie is dead, and so is a live process whose start time differs from
    the recorded one (its pid was reused). Without `/proc` it falls back to
    `kill(pid, 0)`.
    """
    if not owner:
        return False
    parsed = parse_owner(owner)
    if parsed is None:
        return False
    host, pid, start = parsed
    if host != host_name():
        return None
    if pid <= 0:
        return False
    if Path("/proc/self/stat").exists():
        now = process_start_ticks(pid)
        if now is None:
            return False
        return start is None or now == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
