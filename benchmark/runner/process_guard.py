"""Worker processes that die with the process that started them.

A worker calls `die_with_parent(parent_pid)` first thing. On Linux the
kernel then sends it SIGKILL the moment its parent exits, however the parent
ends (`kill -9` included): `prctl(PR_SET_PDEATHSIG)` (see prctl(2)). As a
fallback (other systems, or a parent that died before the call) a daemon
thread checks every `poll_s` seconds whether the parent pid changed and ends
the worker with `os._exit`. Either way no worker keeps training into a run
folder that a later `disbench run` may take over.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

__all__ = ["PARENT_POLL_S", "die_with_parent", "set_parent_death_signal"]

PARENT_POLL_S = 0.5
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_EXIT_ORPHANED = 70


def set_parent_death_signal(signum: int = signal.SIGKILL) -> bool:
    """Asks the Linux kernel to send `signum` to this process when its parent exits.

    Returns False where that is not available (not Linux, no libc).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int, poll_s: float) -> None:
    while True:
        time.sleep(poll_s)
        if os.getppid() != parent_pid:
            os._exit(_EXIT_ORPHANED)


def die_with_parent(parent_pid: int, poll_s: float = PARENT_POLL_S) -> None:
    """Ends this process when `parent_pid` (its parent) exits: a kernel signal, then a watcher.

    Exits at once if the parent is already gone (re-parented before the call).
    """
    set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(_EXIT_ORPHANED)
    threading.Thread(
        target=_watch_parent, args=(parent_pid, poll_s), name="parent-watch", daemon=True
    ).start()
