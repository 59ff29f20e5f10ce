"""What a task name may be: it names files and folders (leaderboards/<name>.md, figure folders).

The task loader (`benchmark.config.validate`) checks the names it reads from a
task file, and the leaderboard checks the names it reads from a database before
it builds a path from one; both use `task_name_problem`, which sits below both
stages so that neither imports the other.
"""

from __future__ import annotations

import re

__all__ = ["MAX_NAME_LENGTH", "RESERVED_TASK_NAMES", "task_name_problem"]

# Task names become file names (leaderboards/<name>.md, plots); file systems allow 255 bytes.
MAX_NAME_LENGTH = 100
# Page names a task may not take (in any case): README.md is the leaderboards' index, and
# index.md is what a web server shows for the folder.
RESERVED_TASK_NAMES = ("README", "index")

_TASK_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def task_name_problem(name: object) -> str | None:
    """What is wrong with `name` as a task name, or None."""
    if not isinstance(name, str) or not _TASK_NAME.match(name):
        return (
            "expected a name of letters, digits, '_', '.' or '-' (starting with a letter), "
            f"got {_shown(name)}"
        )
    if len(name) > MAX_NAME_LENGTH:
        return f"expected at most {MAX_NAME_LENGTH} characters (it names files), got {len(name)}"
    if name.lower() in {r.lower() for r in RESERVED_TASK_NAMES}:
        return (
            f"{name!r} is reserved ({name}.md would be the leaderboards' index page); "
            "choose another name"
        )
    return None
