"""Advisory `flock` locks, shared by the run-folder lock and the training lock.

The kernel drops a `flock` when its holder exits (even on `kill -9`), so a
stale lock file never blocks anyone. On a file system without locks (some
network mounts answer ENOLCK) the caller goes on unlocked rather than fail.
"""

from __future__ import annotations

import errno
import fcntl

__all__ = ["lock_or_wait", "try_lock"]

_NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)


def try_lock(fd: int) -> bool:
    """Takes the exclusive lock of open file `fd` if free; True also where there are no locks."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EWOULDBLOCK, errno.EACCES, errno.EAGAIN):
            return False
        if error.errno in _NO_LOCKS:
            return True
        raise
    return True


def lock_or_wait(fd: int) -> bool:
    """Takes the exclusive lock of `fd`, waiting for it if taken; True when it had to wait."""
    if try_lock(fd):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError as error:
        if error.errno not in _NO_LOCKS:
            raise
    return True
