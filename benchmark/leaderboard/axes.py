"""A leaderboard's axes, read from the task: its row fields, headline metric, x and compared field.

The task's `leaderboard` block names them (`rows`, `main_metric`,
`plot_against`); the figures and tables that compare models (rate-distortion,
correlation against MIG, the decomposition table, the diagnostics cells, the
model sizes) read them here instead of assuming `posterior` and `beta`.
"""

from __future__ import annotations

from benchmark.leaderboard.results import RunRow, TaskResults
from benchmark.leaderboard.tables import row_value

__all__ = ["compared_field", "layout", "x_and_series"]

_DEFAULT_ROWS = ("entry", "posterior", "beta")


def layout(results: TaskResults) -> tuple[tuple[str, ...], str, str]:
    """`(row fields, main metric, plot x field)` from the stored task configuration."""
    board = results.config.get("leaderboard", {})
    rows = tuple(board.get("rows", _DEFAULT_ROWS))
    return rows, str(board.get("main_metric", "mig")), str(board.get("plot_against", "beta"))


def compared_field(results: TaskResults) -> str:
    """The field whose values the comparison figures draw as separate series: the first row
    field other than `entry`, `dataset`, `sweep` (which holds the x value too) and the x field
    (`posterior` in the family studies), else `entry`."""
    rows, _, x_field = layout(results)
    return next((f for f in rows if f not in ("entry", "dataset", "sweep", x_field)), "entry")


def x_and_series(results: TaskResults, run: RunRow) -> tuple[object, object] | None:
    """`(x value, series value)` of a run, or None when it lacks either (an autoencoder has no
    posterior family and no beta)."""
    x_value = row_value(run, layout(results)[2])
    series = row_value(run, compared_field(results))
    if x_value is None or series is None:
        return None
    return x_value, series
