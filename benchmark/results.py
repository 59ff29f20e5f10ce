"""A task's stored scores as a table: one row per (run, score key, representation).

This is what researchers build their own plots from (disentanglement_lib's
`aggregate_results`, disent's W&B tables). Each row carries the run's
configuration (entry, label, data set, seed, model arguments, data-set
arguments as `dataset.<name>`, the swept fields), the score key without its
representation prefix, the representation (`mean`, `sampled`, `pca`, `ica`)
and the value. Only numeric scalar scores become rows (booleans as 0/1);
arrays, matrices and trajectories stay in the database.

    rows = benchmark.results.rows("cpu_study", "results/cpu_study.sqlite")
    frame = benchmark.results.load("cpu_study", "results/cpu_study.sqlite")  # pandas

`load` needs pandas (`pip install 'disbench[export]'`); `rows` does not.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from benchmark.columns import representation_prefix
from benchmark.errors import UserInputError
from benchmark.leaderboard.results import RunRow, load_results
from benchmark.store import ResultStore

__all__ = ["FIXED_COLUMNS", "column_order", "load", "rows"]

# Columns every row has, in order; model and data-set arguments follow them, then these last.
FIXED_COLUMNS = ("task", "run_id", "status", "entry", "label", "dataset", "seed")
VALUE_COLUMNS = ("key", "representation", "value")


def _scalar(value: object) -> float | None:
    """A stored score as a float for the table: finite numbers, and a flag (bool) as 1.0 or 0.0
    (the leaderboard's `finite_number` leaves bools out: it ranks and averages)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _configuration(task: str, run: RunRow) -> dict[str, Any]:
    config: dict[str, Any] = {
        "task": task,
        "run_id": run.run_id,
        "status": run.status,
        "entry": run.entry,
        "label": run.label,
        "dataset": run.dataset,
        "seed": run.seed,
    }
    config.update({name: value for name, value in sorted(run.model_args.items())})
    config.update({f"dataset.{n}": v for n, v in sorted(run.dataset_args.items())})
    return config


def rows(task: str, db: str | Path) -> list[dict[str, Any]]:
    """Every numeric scalar score of every run of `task` in `db`, one dict per (run, key).

    Raises `UserInputError` (one line) for a missing database or task.
    """
    path = Path(db)
    if not path.is_file():
        raise UserInputError(f"{path}: no such results database")
    with ResultStore(path, create=False, readonly=True) as store:
        results = load_results(store, task)
    table = []
    for run in results.runs:
        config = _configuration(task, run)
        for key, value in sorted(run.scores.items()):
            number = _scalar(value)
            if number is None:
                continue
            prefix = representation_prefix(key)
            table.append(
                {
                    **config,
                    "key": key.removeprefix(prefix),
                    "representation": prefix.rstrip("/") or "mean",
                    "value": number,
                }
            )
    return table


def column_order(table: list[dict[str, Any]]) -> list[str]:
    """Fixed columns, then argument columns in first-seen order, then key, representation, value."""
    names: dict[str, None] = dict.fromkeys(FIXED_COLUMNS)
    for row in table:
        names.update(dict.fromkeys(k for k in row if k not in VALUE_COLUMNS))
    return [*names, *VALUE_COLUMNS]


def load(task: str, db: str | Path) -> Any:
    """`rows(task, db)` as a pandas DataFrame (columns in `column_order`)."""
    try:
        import pandas
    except ImportError:
        raise UserInputError(
            "benchmark.results.load needs pandas: pip install 'disbench[export]'"
        ) from None
    table = rows(task, db)
    return pandas.DataFrame(table, columns=column_order(table))
