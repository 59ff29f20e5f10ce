"""Scores that do not exist for a run, stored with the reason instead of a number.

A point-mass encoder (an autoencoder) has no rate, no ELBO and no posterior
correlation: those keys are stored as `{"absent": "point mass"}` (a JSON
value in the results database), never as 0, and the leaderboard shows
"n/a (point mass)" for them. Plain data, no imports: the pipeline, the
worker and the leaderboard all use it.
"""

from __future__ import annotations

__all__ = ["POINT_MASS_REASON", "absent", "absent_reason"]

_KEY = "absent"
#: Why a point-mass encoder's density-based scores are absent.
POINT_MASS_REASON = "point mass"


def absent(reason: str) -> dict[str, str]:
    """The stored value of a score that does not exist, with its one-line reason."""
    if not isinstance(reason, str) or not reason:
        raise ValueError("absent: the reason must be a non-empty string")
    return {_KEY: reason}


def absent_reason(value: object) -> str | None:
    """The reason when `value` is an absent marker, else None."""
    if isinstance(value, dict) and set(value) == {_KEY} and isinstance(value[_KEY], str):
        return value[_KEY]
    return None
