"""Which figures a leaderboard has, and the data each one shows (pure; no matplotlib).

- one `<key>_vs_<x>.png` per headline column present: the metric against the
  swept argument `x` (usually beta), one line per series (the row fields
  other than `x`, e.g. entry and posterior family) with its Student-t band;
- `traversals_best.png`: the latent traversals artefact of the best run
  (best row by the main metric, then its best seed);
- `posterior_correlation.png`: the posterior correlation matrix (score
  `posterior_correlation_matrix`) of the best run of each series;
- `rate_distortion.png`: distortion against rate per run, family lines over
  beta (`benchmark.leaderboard.rate_distortion`);
- `correlation_vs_mig.png`: mean posterior |correlation| against MIG for
  every finished run, one marker style per posterior family, colour by beta;
- `heldout_elbo_curves.png`: the held-out ELBO against the training step
  (score `train/heldout_elbo_curve`), one panel per value of `x`, one line
  per series (the mean over seeds) and each seed as a thin line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmark.absent import POINT_MASS_REASON, absent_reason
from benchmark.columns import TRAJECTORY_FIELDS, column_for
from benchmark.leaderboard.axes import compared_field, layout, x_and_series
from benchmark.leaderboard.names import file_part
from benchmark.leaderboard.rate_distortion import rate_distortion_rows
from benchmark.leaderboard.results import RunRow, TaskResults
from benchmark.leaderboard.stats import Summary, seed_interval
from benchmark.leaderboard.tables import (
    build_rows,
    build_tables,
    finite_number,
    format_value,
    row_value,
    scalar_score,
)

__all__ = [
    "CONVERGED_KEY",
    "CORRELATION_KEY",
    "CURVE_KEY",
    "TRAVERSALS_ARTIFACT",
    "MEAN_CORRELATION_KEY",
    "Figure",
    "best_run",
    "correlation_vs_mig_rows",
    "correlation_runs",
    "heldout_curves",
    "trajectories",
    "TRAJECTORY_KEY",
    "TRAJECTORY_SCORES",
    "not_converged",
    "layout",
    "metric_series",
    "plan_figures",
]

CORRELATION_KEY = "posterior_correlation_matrix"
CURVE_KEY = "train/heldout_elbo_curve"
# The panel of point-mass runs (autoencoders): no ELBO, their curve is minus the held-out loss.
POINT_MASS_PANEL = "point mass (autoencoders): minus the held-out loss"
CONVERGED_KEY = "train/converged"
MEAN_CORRELATION_KEY = "posterior_mean_abs_correlation"
TRAVERSALS_ARTIFACT = "traversals"
_TRAVERSAL_SUFFIXES = (".png", ".npy")


@dataclass(frozen=True)
class Figure:
    """One planned figure: `kind` is metric_vs_x, traversals or correlation_heatmap."""

    kind: str
    filename: str
    title: str
    caption: str = ""
    key: str = ""
    run_ids: tuple[str, ...] = ()


def _series_label(run: RunRow, fields: list[str]) -> str:
    """A plotted line's name: the run's values of `fields`, unset ones left out (no "–")."""
    return " ".join(format_value(v) for f in fields if (v := row_value(run, f)) is not None)


def _series_fields(results: TaskResults) -> list[str]:
    """Row fields that name a line in plots: all but the x axis (and `sweep`, which holds it)."""
    fields, _, x_field = layout(results)
    return [f for f in fields if f not in (x_field, "sweep")] or ["entry"]


def metric_series(results: TaskResults, key: str) -> dict[str, list[tuple[float, Summary]]]:
    """`{series label: [(x, summary over seeds), ...]}` sorted by x, for runs with a numeric x."""
    _, _, x_field = layout(results)
    series_fields = _series_fields(results)
    points: dict[str, dict[float, list[float]]] = {}
    for run in sorted(results.runs, key=lambda r: r.position):
        x = finite_number(row_value(run, x_field))
        if run.status != "done" or x is None:
            continue
        label = _series_label(run, series_fields)
        bucket = points.setdefault(label, {}).setdefault(x, [])
        value = scalar_score(run, key)
        if value is not None:
            bucket.append(value)
    series = {}
    for label, by_x in points.items():
        line = [(x, seed_interval(v)) for x, v in sorted(by_x.items()) if v]
        if line:
            series[label] = [(x, s) for x, s in line if s is not None]
    return series


def best_run(results: TaskResults, require: Callable[[RunRow], bool]) -> RunRow | None:
    """The best run satisfying `require`: rows ranked by the main metric's mean, then seeds.

    Ties keep the earlier row and seed; rows without the main metric come last.
    """
    fields, main, _ = layout(results)
    direction = column_for(main).direction or 1
    rows = build_rows(results, fields)

    def rank(summary: Summary | None) -> float:
        return -math.inf if summary is None else direction * summary.mean

    for row in sorted(rows, key=lambda r: rank(r.summary(main)), reverse=True):
        candidates = [r for r in row.done if require(r)]
        if candidates:
            return max(
                candidates,
                key=lambda r: (
                    -math.inf
                    if scalar_score(r, main) is None
                    else direction * scalar_score(r, main)
                ),  # type: ignore[operator]
            )
    return None


def _has_traversals(run: RunRow) -> bool:
    filename = run.artifacts.get(TRAVERSALS_ARTIFACT, "")
    return filename.lower().endswith(_TRAVERSAL_SUFFIXES)


def _has_correlation(run: RunRow) -> bool:
    matrix: Any = run.scores.get(CORRELATION_KEY)
    return (
        isinstance(matrix, list)
        and len(matrix) > 0
        and all(isinstance(r, list) and len(r) == len(matrix) for r in matrix)
    )


def correlation_runs(results: TaskResults) -> list[tuple[str, RunRow]]:
    """`[(series label, best run of that series with a correlation matrix)]`."""
    series_fields = _series_fields(results)
    chosen = []
    labels: list[str] = []
    for run in sorted(results.runs, key=lambda r: r.position):
        label = _series_label(run, series_fields)
        if label not in labels:
            labels.append(label)
    for label in labels:
        members = [r for r in results.runs if _series_label(r, series_fields) == label]
        subset = TaskResults(results.task, results.config, tuple(members), ())
        run = best_run(subset, _has_correlation)
        if run is not None:
            chosen.append((label, run))
    return chosen


def correlation_vs_mig_rows(results: TaskResults) -> list[dict[str, object]]:
    """One point per finished run with a value of the compared field (`posterior`) and of the x
    field (`beta`), MIG and mean posterior correlation; keyed by those fields' names."""
    series, x_field = compared_field(results), layout(results)[2]
    rows = []
    for run in results.runs:
        place = x_and_series(results, run) if run.status == "done" else None
        if place is None:
            continue
        mig, corr = scalar_score(run, "mig"), scalar_score(run, MEAN_CORRELATION_KEY)
        if mig is None or corr is None:
            continue
        rows.append({series: place[1], x_field: place[0], "mig": mig, MEAN_CORRELATION_KEY: corr})
    return rows


def _curve(run: RunRow) -> list[tuple[int, float]] | None:
    value: Any = run.scores.get(CURVE_KEY)
    if not isinstance(value, list) or not value:
        return None
    try:
        return [(int(step), float(elbo)) for step, elbo in value]
    except (TypeError, ValueError):
        return None


def heldout_curves(
    results: TaskResults,
) -> dict[str, dict[str, list[tuple[int, list[tuple[int, float]]]]]]:
    """`{x label: {series label: [(seed, [(step, held-out ELBO nats), ...]), ...]}}` of done runs."""
    _, _, x_field = layout(results)
    series_fields = _series_fields(results)
    panels: dict[str, dict[str, list[tuple[int, list[tuple[int, float]]]]]] = {}
    runs = sorted(
        results.runs, key=lambda r: (finite_number(row_value(r, x_field)) or 0.0, r.position)
    )
    for run in runs:
        curve = _curve(run) if run.status == "done" else None
        if curve is None:
            continue
        x_label = (
            POINT_MASS_PANEL
            if absent_reason(run.scores.get("heldout_elbo_nats")) == POINT_MASS_REASON
            else f"{x_field}={format_value(row_value(run, x_field))}"
        )
        label = _series_label(run, series_fields)
        panels.setdefault(x_label, {}).setdefault(label, []).append((run.seed, curve))
    return panels


TRAJECTORY_KEY = "train/trajectory"
# The scores of a trajectory point drawn against images seen, with their axis labels.
TRAJECTORY_SCORES = (
    ("mig", "MIG ↑"),
    ("factor_vae", "FactorVAE score ↑"),
    ("active_units", "active units"),
    ("heldout_elbo", "held-out ELBO (nats) ↑"),
)


def trajectories(results: TaskResults) -> dict[str, list[tuple[int, list[dict[str, float]]]]]:
    """`{row label: [(seed, [point, ...]), ...]}` of done runs with a stored trajectory
    (`benchmark.evaluation.trajectory`); a point holds `images` and `TRAJECTORY_SCORES`."""
    fields, _, _ = layout(results)
    found: dict[str, list[tuple[int, list[dict[str, float]]]]] = {}
    for run in results.runs:
        value: Any = run.scores.get(TRAJECTORY_KEY)
        if run.status != "done" or not isinstance(value, list) or not value:
            continue
        points = []
        for row in value:
            if not isinstance(row, list) or len(row) != len(TRAJECTORY_FIELDS):
                continue
            point = {
                field: float(number)
                for field, number in zip(TRAJECTORY_FIELDS, row, strict=True)
                if isinstance(number, int | float) and math.isfinite(number)
            }
            if "images" in point:
                points.append(point)
        if points:
            found.setdefault(_series_label(run, [*fields]), []).append((run.seed, points))
    return found


def not_converged(results: TaskResults) -> tuple[int, int]:
    """`(runs not converged, runs with a convergence record)` among the finished runs."""
    flags = [scalar_score(r, CONVERGED_KEY) for r in results.runs if r.status == "done"]
    known = [f for f in flags if f is not None]
    return sum(1 for f in known if f < 0.5), len(known)


def _describe(run: RunRow) -> str:
    parts = [run.label, *(f"{k}={format_value(v)}" for k, v in run.sweep.items())]
    return " ".join([*parts, f"seed={run.seed}"]) + f" (run {run.run_id})"


def plan_figures(results: TaskResults) -> list[Figure]:
    """The figures this task's leaderboard shows, in order."""
    _, main, x_field = layout(results)
    figures = []
    shown = [c for table in build_tables(results) for c in table.columns]
    for column in shown:
        if column.headline and metric_series(results, column.key):
            figures.append(
                Figure(
                    kind="metric_vs_x",
                    filename=file_part(f"{column.key}_vs_{x_field}") + ".png",
                    title=f"{column.label} against {x_field}",
                    caption="Mean over seeds; the band is the 95% Student-t interval of the mean.",
                    key=column.key,
                )
            )
    best = best_run(results, _has_traversals)
    if best is not None:
        figures.append(
            Figure(
                kind="traversals",
                filename="traversals_best.png",
                title="Latent traversals of the best model",
                caption=f"Best by {column_for(main).label}: {_describe(best)}.",
                run_ids=(best.run_id,),
            )
        )
    chosen = correlation_runs(results)
    if chosen:
        figures.append(
            Figure(
                kind="correlation_heatmap",
                filename="posterior_correlation.png",
                title="Posterior correlations",
                caption="Best run of each series by "
                f"{column_for(main).label}: "
                + "; ".join(_describe(run) for _, run in chosen)
                + ".",
                key=CORRELATION_KEY,
                run_ids=tuple(run.run_id for _, run in chosen),
            )
        )
    if heldout_curves(results):
        figures.append(
            Figure(
                kind="heldout_curves",
                filename="heldout_elbo_curves.png",
                title="Held-out ELBO during training",
                caption="The ELBO of a fixed held-out batch at every log point; one panel per "
                f"{x_field}, one colour per series: the thick line is the mean over seeds, "
                "thin lines are single seeds. A run is converged when the 90% interval of this "
                "curve's Theil-Sen slope over the last 20% of its steps lies within the task's "
                "tolerance.",
            )
        )
    if trajectories(results):
        figures.append(
            Figure(
                kind="trajectories",
                filename="trajectories.png",
                title="Scores along training",
                caption="Each run scored at equal steps of its training (MIG, FactorVAE score, "
                "active units and the held-out ELBO of the posterior means; "
                "benchmark.evaluation.trajectory) against the images it had seen; one colour "
                "per row, thin lines single seeds, the thick line their mean.",
            )
        )
    if len(rate_distortion_rows(results)) > 1:
        figures.append(
            Figure(
                kind="rate_distortion",
                filename="rate_distortion.png",
                title="Rate against distortion",
                caption="One point per run; lines join each family's means over seeds in order "
                "of beta; the dashed line R + D = const passes through the best ELBO "
                "(Alemi et al. 2018).",
            )
        )
    if correlation_vs_mig_rows(results):
        figures.append(
            Figure(
                kind="correlation_vs_mig",
                filename="correlation_vs_mig.png",
                title="Posterior correlation against MIG",
                caption="One point per run; marker: posterior family; colour: beta; "
                "grey lines join each family's means over seeds in order of beta.",
            )
        )
    return figures
