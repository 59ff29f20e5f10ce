"""Preview grids of image data sets: one row per factor sweep, one row of random samples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.errors import UserInputError

__all__ = ["PreviewGrid", "preview_grid", "save_preview"]


@dataclass(frozen=True)
class PreviewGrid:
    """Images for a preview picture.

    images: `[rows, columns, H, W, C]` float32 in [0, 1]; cells past a short
    row's end are 0 and marked False in `filled` (`[rows, columns]` bool).
    row_labels: one label per row; cell_labels: `[rows][columns]` strings.
    """

    images: np.ndarray
    filled: np.ndarray
    row_labels: list[str]
    cell_labels: list[list[str]]


def _sweep_indices(size: int, columns: int) -> np.ndarray:
    """Up to `columns` evenly spaced indices over `0 .. size - 1`, both ends included."""
    return np.unique(np.round(np.linspace(0, size - 1, min(size, columns))).astype(np.int64))


def _value_label(dataset: GroundTruthData, k: int, index: int) -> str:
    """The label under a sweep image: the value's name, its value, or its index."""
    names = getattr(dataset, "factor_value_names", {}).get(dataset.factor_names[k])
    if names is not None and index < len(names):
        return names[index]
    values = getattr(dataset, "factor_values", None)
    if values is None:
        return str(index)
    value = float(values[k][index])
    return f"{value:.3g}" if value != int(value) else str(int(value))


def preview_grid(
    dataset: GroundTruthData,
    *,
    columns: int = 10,
    seed: int = 0,
    reference: Sequence[int] | None = None,
) -> PreviewGrid:
    """Sweeps each factor over up to `columns` of its values with the others fixed.

    The fixed factors are `reference`, else the data set's
    `preview_reference` attribute, else the middle index of every factor.
    The last row holds `columns` random samples. All randomness comes from
    `numpy.random.RandomState(seed)`.
    """
    shape = tuple(dataset.observation_shape)
    if len(shape) != 3:
        raise UserInputError(
            f"preview needs image observations [height, width, channels]; "
            f"this data set's observations have shape {shape}"
        )
    if columns < 1:
        raise UserInputError(f"preview: columns must be >= 1, got {columns}")
    sizes = dataset.factor_sizes
    if reference is None:
        reference = getattr(dataset, "preview_reference", None)
    if reference is None:
        reference = [(size - 1) // 2 for size in sizes]
    reference = np.asarray(reference, dtype=np.int64)
    if reference.shape != (len(sizes),) or np.any(reference < 0) or np.any(reference >= sizes):
        raise UserInputError(
            f"preview: reference factors must be {len(sizes)} indices below {tuple(sizes)}, "
            f"got {reference.tolist()}"
        )
    random_state = np.random.RandomState(seed)
    rows = dataset.num_factors + 1
    images = np.zeros((rows, columns, *shape), dtype=np.float32)
    filled = np.zeros((rows, columns), dtype=bool)
    cell_labels = [[""] * columns for _ in range(rows)]
    for k, size in enumerate(sizes):
        sweep = _sweep_indices(size, columns)
        factors = np.repeat(reference[None, :], len(sweep), axis=0)
        factors[:, k] = sweep
        images[k, : len(sweep)] = dataset.sample_observations_from_factors(factors, random_state)
        filled[k, : len(sweep)] = True
        for j, index in enumerate(sweep):
            cell_labels[k][j] = _value_label(dataset, k, int(index))
    _, samples = dataset.sample(columns, random_state)
    images[-1] = samples
    filled[-1] = True
    row_labels = [*dataset.factor_names, "random"]
    return PreviewGrid(np.clip(images, 0.0, 1.0), filled, row_labels, cell_labels)


def save_preview(
    dataset: GroundTruthData,
    path: str | Path,
    *,
    title: str = "",
    columns: int = 10,
    seed: int = 0,
    zoom: int = 1,
) -> Path:
    """Writes the `preview_grid` of `dataset` as a PNG at `path`; returns the path.

    Each image is drawn at `zoom` screen pixels per image pixel, without
    smoothing, on a white background; values are printed under the sweeps.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    grid = preview_grid(dataset, columns=columns, seed=seed)
    rows, cols, height, width, channels = grid.images.shape
    cells = grid.images if channels == 3 else np.repeat(grid.images, 3, axis=-1)
    cells = np.repeat(np.repeat(cells, zoom, axis=2), zoom, axis=3)
    cell_h, cell_w = height * zoom, width * zoom
    gap_x, gap_y = 4, 14  # room for the value under each image
    mosaic = np.ones((rows * (cell_h + gap_y), cols * (cell_w + gap_x) - gap_x, 3), np.float32)
    for r in range(rows):
        for c in range(cols):
            if grid.filled[r, c]:
                top, left = r * (cell_h + gap_y), c * (cell_w + gap_x)
                mosaic[top : top + cell_h, left : left + cell_w] = cells[r, c]
    margin_left, margin_top = 90, 24 if title else 6
    fig_w, fig_h = mosaic.shape[1] + margin_left + 6, mosaic.shape[0] + margin_top
    dpi = 100
    fig = Figure(figsize=(fig_w / dpi, fig_h / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes(
        (margin_left / fig_w, 0, mosaic.shape[1] / fig_w, mosaic.shape[0] / fig_h), frameon=False
    )
    ax.imshow(mosaic, interpolation="nearest", aspect="auto")
    ax.set_axis_off()
    for r in range(rows):
        top = r * (cell_h + gap_y)
        ax.text(-8, top + cell_h / 2, grid.row_labels[r], ha="right", va="center", fontsize=9)
        for c in range(cols):
            if grid.cell_labels[r][c]:
                left = c * (cell_w + gap_x)
                ax.text(
                    left + cell_w / 2,
                    top + cell_h + 1,
                    grid.cell_labels[r][c],
                    ha="center",
                    va="top",
                    fontsize=6.5,
                    color="0.3",
                )
    if title:
        fig.text(0.5, 1 - 4 / fig_h, title, ha="center", va="top", fontsize=10)
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise UserInputError(f"{path}: folder {path.parent} does not exist")
    fig.savefig(path, dpi=dpi)
    return path
