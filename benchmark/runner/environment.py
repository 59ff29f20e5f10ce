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

__all__ = ["PACKAGES", "git_commit", "host_name", "owner_alive", "owner_id", "package_versions"]

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


def owner_id() -> str:
    """`host:pid` of this process, the owner recorded on the runs it holds."""
    return f"{host_name()}:{os.getpid()}"


def owner_alive(owner: str | None) -> bool | None:
    """Whether the process `host:pid` still runs: True, False, or None when it is on another host."""
    if not owner or ":" not in owner:
        return False
    host, _, pid_text = owner.rpartition(":")
    if host != host_name():
        return None
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
