"""Text from task files and databases, made safe to print on a terminal.

Labels, descriptions, argument values and error messages are user text: an
escape sequence in one could move the cursor, retitle the window or hide the
lines around it. `printable` shows every control character as a visible
escape instead (`\\x1b`, `\\n`), so one record stays one line.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

# C0 controls (tab included), DEL, C1 controls, and the bidirectional overrides and
# isolates that reorder what a line shows.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: object) -> str:
    """`str(text)` with control characters written as escapes (`\\x1b`, `\\u202e`)."""
    return _CONTROL.sub(_escape, str(text))
