"""Drawing the planned figures with matplotlib's Agg backend (no pyplot state, no display)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure

from benchmark.columns import column_for
from benchmark.errors import UserInputError
from benchmark.leaderboard.axes import compared_field
from benchmark.leaderboard.correlation_vs_mig import plot_correlation_vs_mig
from benchmark.leaderboard.figures import (
    CORRELATION_KEY,
    POINT_MASS_PANEL,
    TRAJECTORY_SCORES,
    Figure,
    correlation_runs,
    correlation_vs_mig_rows,
    heldout_curves,
    layout,
    metric_series,
    trajectories,
)
from benchmark.leaderboard.rate_distortion import plot_rate_distortion, rate_distortion_rows
from benchmark.leaderboard.results import TaskResults
from benchmark.leaderboard.tables import format_value

__all__ = [
    "curves_title",
    "draw_correlations",
    "draw_heldout_curves",
    "draw_metric_vs_x",
    "draw_traversal_grid",
    "draw_trajectories",
    "write_figure",
]

_DPI = 110


def _save(figure: MplFigure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=_DPI, metadata={"Software": None})
    return path


_POPULATION_KEY = "decomposition_population"


def _same_population(
    results: TaskResults, key: str, series: dict[str, list]
) -> tuple[dict[str, list], list[str]]:
    """The series of `key` estimated over the largest population, and the others' names.

    A KL-decomposition term is an estimate over a population of N images (the
    whole grid, or a subset where a family cannot afford it, IAF); I(x; z) is
    bounded by log N, so terms over different N are not comparable on one axis.
    """
    if not key.startswith("decomposition_") or key == _POPULATION_KEY:
        return series, []
    sizes = {
        label: {s.mean for _, s in line}
        for label, line in metric_series(results, _POPULATION_KEY).items()
    }
    largest = max((max(v) for v in sizes.values() if v), default=None)
    if largest is None:
        return series, []
    kept = {label: line for label, line in series.items() if sizes.get(label) == {largest}}
    left_out = [
        f"{label} (N = {', '.join(f'{n:,.0f}' for n in sorted(sizes.get(label, ())))})"
        for label in series
        if label not in kept
    ]
    return kept, left_out


def draw_metric_vs_x(results: TaskResults, key: str, path: Path) -> Path:
    """One line per series: the metric's mean against x, with its Student-t band, and the
    score's noise floor (`<key>_noise_floor`, the same score on codes that carry nothing),
    dashed in the series' colour, where the runs stored one."""
    _, _, x_field = layout(results)
    column = column_for(key)
    series = metric_series(results, key)
    series, left_out = _same_population(results, key, series)
    floors = metric_series(results, f"{key}_noise_floor")
    figure = MplFigure(figsize=(5.5, 3.6), layout="constrained")
    axes = figure.add_subplot()
    all_x = sorted({x for line in series.values() for x, _ in line})
    for label, line in series.items():
        xs = np.array([x for x, _ in line])
        means = np.array([s.mean for _, s in line])
        (drawn,) = axes.plot(xs, means, marker="o", label=label)
        axes.fill_between(
            xs, [s.low for _, s in line], [s.high for _, s in line], alpha=0.2, linewidth=0
        )
        if floors.get(label):
            axes.plot(
                [x for x, _ in floors[label]],
                [s.mean for _, s in floors[label]],
                linestyle="--",
                color=drawn.get_color(),
                label=f"{label}: noise floor" if len(series) > 1 else "noise floor",
            )
    if all_x and all(x > 0 for x in all_x) and max(all_x) / min(all_x) >= 4:
        axes.set_xscale("log", base=2)
        axes.set_xticks(all_x, [f"{x:g}" for x in all_x])
        axes.minorticks_off()
    axes.set_xlabel(x_field)
    axes.set_ylabel(f"{column.label} {column.arrow}".strip())
    axes.set_title(f"{results.task}: {column.label} against {x_field}")
    if left_out:
        axes.text(
            0.5, -0.25, "not drawn (estimated over another population N, not comparable): "
            + "; ".join(left_out), transform=axes.transAxes, ha="center", va="top",
            fontsize="x-small", wrap=True,
        )  # fmt: skip
    axes.grid(alpha=0.3)
    if len(series) > 1 or floors:
        axes.legend(fontsize="small")
    return _save(figure, path)


def draw_traversal_grid(images: np.ndarray, title: str, path: Path) -> Path:
    """A grid of traversal images `[num_latents, num_steps, H, W(, C)]`, one row per latent."""
    array = np.asarray(images, dtype=np.float64)
    if array.ndim == 4:
        array = array[..., None]
    if array.ndim != 5 or array.shape[-1] not in (1, 3):
        raise UserInputError(
            f"traversals: expected images [num_latents, num_steps, H, W(, 1 or 3)], "
            f"got shape {images.shape}"
        )
    rows, cols, height, width, channels = array.shape
    grid = array.transpose(0, 2, 1, 3, 4).reshape(rows * height, cols * width, channels)
    grid = np.clip(grid, 0.0, 1.0)
    figure = MplFigure(figsize=(max(3.0, cols * 0.8), max(2.0, rows * 0.8)), layout="constrained")
    axes = figure.add_subplot()
    axes.imshow(grid[..., 0] if channels == 1 else grid, cmap="gray", vmin=0, vmax=1)
    axes.set_yticks([height * (i + 0.5) for i in range(rows)], [f"z{i}" for i in range(rows)])
    axes.set_xticks([])
    axes.set_title(title, fontsize="small")
    return _save(figure, path)


def draw_correlations(results: TaskResults, path: Path) -> Path:
    """One heatmap per series: the chosen run's posterior correlation matrix."""
    chosen = correlation_runs(results)
    count = len(chosen)
    cols = min(count, 3)
    rows = math.ceil(count / cols)
    figure = MplFigure(figsize=(3.4 * cols + 0.8, 3.2 * rows), layout="constrained")
    image = None
    for index, (label, run) in enumerate(chosen):
        axes = figure.add_subplot(rows, cols, index + 1)
        matrix = np.asarray(run.scores[CORRELATION_KEY], dtype=np.float64)
        image = axes.imshow(matrix, cmap="RdBu_r", vmin=-1.0, vmax=1.0)
        swept = ", ".join(f"{k}={format_value(v)}" for k, v in run.sweep.items())
        axes.set_title(f"{label}\n{swept + ', ' if swept else ''}seed {run.seed}", fontsize="small")
        axes.set_xticks(range(matrix.shape[0]))
        axes.set_yticks(range(matrix.shape[0]))
        axes.tick_params(labelsize="x-small")
    if image is not None:
        figure.colorbar(image, ax=figure.axes, shrink=0.8, label="correlation")
    return _save(figure, path)


def curves_title(task: str, panels: list[str]) -> str:
    """The held-out curve figure's title; it names the autoencoders' quantity when they are in it."""
    shown = "held-out ELBO"
    if POINT_MASS_PANEL in panels:
        shown += " (autoencoders: minus the held-out loss)"
    return f"{task}: {shown} during training"


def draw_heldout_curves(results: TaskResults, path: Path) -> Path:
    """Held-out ELBO against step: one panel per x value, one colour per series, seeds thin."""
    panels = heldout_curves(results)
    count = len(panels)
    cols = min(count, 3)
    rows = math.ceil(count / cols)
    figure = MplFigure(figsize=(4.2 * cols, 3.2 * rows + 0.4), layout="constrained")
    labels = sorted({label for lines in panels.values() for label in lines})
    colours = {label: f"C{i % 10}" for i, label in enumerate(labels)}
    for index, (x_label, lines) in enumerate(panels.items()):
        axes = figure.add_subplot(rows, cols, index + 1)
        low = high = None
        for label, seeds in lines.items():
            for _, curve in seeds:
                steps, elbo = zip(*curve, strict=True)
                axes.plot(steps, elbo, color=colours[label], linewidth=0.6, alpha=0.5)
                tail = elbo[len(elbo) // 5 :]  # y range from each curve after its first fifth
                low = min(tail) if low is None else min(low, min(tail))
                high = max(tail) if high is None else max(high, max(tail))
            common = sorted(set.intersection(*(set(s for s, _ in c) for _, c in seeds)))
            if common:
                by_seed = [dict(c) for _, c in seeds]
                mean = [float(np.mean([d[s] for d in by_seed])) for s in common]
                axes.plot(common, mean, color=colours[label], linewidth=2.0, label=label)
        axes.set_title(x_label, fontsize="small")
        axes.set_xlabel("step")
        quantity = "minus held-out loss" if x_label == POINT_MASS_PANEL else "held-out ELBO"
        axes.set_ylabel(f"{quantity} (nats) ↑")
        axes.grid(alpha=0.3)
        axes.legend(fontsize="x-small")
        if low is not None and high is not None and high > low:
            # The first fifth (the fall from the initial ELBO) would flatten the rest.
            margin = 0.15 * (high - low)
            axes.set_ylim(low - margin, high + margin)
    figure.suptitle(curves_title(results.task, list(panels)), fontsize="medium")
    return _save(figure, path)


def draw_trajectories(results: TaskResults, path: Path) -> Path:
    """Scores against images seen: one panel per `TRAJECTORY_SCORES` entry, one colour per row."""
    rows = trajectories(results)
    figure = MplFigure(figsize=(4.2 * len(TRAJECTORY_SCORES), 3.6), layout="constrained")
    colours = {label: f"C{i % 10}" for i, label in enumerate(rows)}
    for index, (key, axis_label) in enumerate(TRAJECTORY_SCORES):
        axes = figure.add_subplot(1, len(TRAJECTORY_SCORES), index + 1)
        for label, seeds in rows.items():
            by_images: dict[float, list[float]] = {}
            for _, points in seeds:
                line = [(p["images"] / 1e6, p[key]) for p in points if key in p]
                if line:
                    axes.plot(*zip(*line, strict=True), color=colours[label], lw=0.6, alpha=0.4)
                for images, value in line:
                    by_images.setdefault(images, []).append(value)
            if by_images:
                xs = sorted(by_images)
                means = [float(np.mean(by_images[x])) for x in xs]
                axes.plot(xs, means, color=colours[label], lw=2.0, label=label)
        axes.set_xlabel("images seen (millions)")
        axes.set_ylabel(axis_label)
        axes.grid(alpha=0.3)
        if index == 0:
            axes.legend(fontsize="x-small")
    figure.suptitle(f"{results.task}: scores along training", fontsize="medium")
    return _save(figure, path)


def write_figure(
    figure: Figure, results: TaskResults, artifact: tuple[str, bytes] | None, path: Path
) -> Path:
    """Draws (or copies) one planned figure to `path`.

    `artifact` is the stored `(filename, bytes)` a traversal figure comes
    from: a PNG is copied as it is, a `.npy` image array is drawn as a grid.
    """
    if figure.kind == "metric_vs_x":
        return draw_metric_vs_x(results, figure.key, path)
    if figure.kind == "correlation_heatmap":
        return draw_correlations(results, path)
    if figure.kind == "heldout_curves":
        return draw_heldout_curves(results, path)
    if figure.kind == "trajectories":
        return draw_trajectories(results, path)
    axes = {"series": compared_field(results), "x": layout(results)[2]}
    if figure.kind == "rate_distortion":
        title = f"{results.task}: rate against distortion"
        return plot_rate_distortion(rate_distortion_rows(results), title, path, **axes)
    if figure.kind == "correlation_vs_mig":
        return plot_correlation_vs_mig(correlation_vs_mig_rows(results), path, **axes)
    if figure.kind == "traversals":
        if artifact is None:
            raise UserInputError(f"traversals: run {figure.run_ids[0]} has no stored artefact")
        filename, data = artifact
        if filename.lower().endswith(".png"):
            path.write_bytes(data)
            return path
        images = np.load(io.BytesIO(data), allow_pickle=False)
        return draw_traversal_grid(images, f"latent traversals, run {figure.run_ids[0]}", path)
    raise ValueError(f"unknown figure kind {figure.kind!r}")
