"""File and folder names made from text read from a results database.

A database is input like any other: a label, a posterior name or a plotted
field may hold `/`, `..` or control characters. Every name a leaderboard
builds from such text goes through `file_part`, so each path stays one
plain name inside its folder under `--out`.
"""

from __future__ import annotations

import re

__all__ = ["file_part"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]")
_MAX_PART = 120  # bytes: file systems allow 255, and a suffix or two is added


def file_part(text: object) -> str:
    """`text` as one safe path component: other characters become `_`, no leading dot."""
    part = _UNSAFE.sub("_", str(text))[:_MAX_PART]
    if not part or part.startswith("."):
        part = "_" + part
    return part
