"""Preview grids of image data sets: one row per factor sweep, one row of random samples."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.errors import UserInputError

__all__ = [
    "MAX_PICTURE_SIDE",
    "PreviewGrid",
    "picture_size",
    "preview_grid",
    "preview_path",
    "save_preview",
]

# Pictures larger than this on a side are refused before anything is drawn: Agg
# cannot draw 2**16 px, and a 16384 x 16384 RGB canvas already takes 1 GB.
MAX_PICTURE_SIDE = 16_384
_GAP_X, _GAP_Y = 4, 14  # room for the value under each image
_MARGIN_LEFT, _MARGIN_RIGHT = 90, 6


def preview_path(out: str | Path | None, name: str) -> Path:
    """Where a preview goes: `out` (a `.png` file), or `out/<name>.png` for a folder.

    `out` names a folder when it ends with a slash or is an existing folder;
    None means `<name>.png` here. Raises `UserInputError` for another suffix,
    a missing folder, or a folder this process cannot write in, so nothing
    is drawn for a picture that cannot be saved.
    """
    if out is None:
        path = Path(f"{name}.png")
    else:
        text = str(out)
        folder = text.endswith(("/", os.sep)) or Path(text).is_dir()
        if folder and not Path(text).is_dir():
            raise UserInputError(f"{text}: no such folder")
        path = Path(text) / f"{name}.png" if folder else Path(text)
    if path.suffix.lower() != ".png":
        raise UserInputError(
            f"{path}: expected a .png file name (or a folder), got {path.suffix or 'no'} suffix"
        )
    parent = path.parent
    if not parent.is_dir():
        raise UserInputError(f"{path}: folder {parent} does not exist")
    if path.is_dir():
        raise UserInputError(f"{path}: is a folder; expected a .png file name")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserInputError(f"{path}: cannot write there (permission denied)")
    return path


def picture_size(dataset: GroundTruthData, columns: int, zoom: int, title: bool) -> tuple[int, int]:
    """`(width, height)` in pixels of the preview picture of `dataset`."""
    height, width = (int(s) for s in tuple(dataset.observation_shape)[:2])
    rows = dataset.num_factors + 1
    mosaic_w = columns * (width * zoom + _GAP_X) - _GAP_X
    mosaic_h = rows * (height * zoom + _GAP_Y)
    return mosaic_w + _MARGIN_LEFT + _MARGIN_RIGHT, mosaic_h + (24 if title else 6)


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
    if not 0 <= seed < 2**32:
        raise UserInputError(f"preview: seed: expected an integer from 0 to 2**32 - 1, got {seed}")
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

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UserInputError(f"{path}: expected a .png file name, got {path.suffix or 'no'} suffix")
    if path.parent and not path.parent.is_dir():
        raise UserInputError(f"{path}: folder {path.parent} does not exist")
    if columns < 1 or zoom < 1:
        raise UserInputError(f"preview: columns and zoom must be >= 1, got {columns} and {zoom}")
    if len(tuple(dataset.observation_shape)) == 3:
        size = picture_size(dataset, columns, zoom, bool(title))
        if max(size) > MAX_PICTURE_SIDE:
            raise UserInputError(
                f"preview: the picture would be {size[0]:,} x {size[1]:,} pixels; expected at most "
                f"{MAX_PICTURE_SIDE:,} on a side (fewer columns or a smaller zoom)"
            )
    grid = preview_grid(dataset, columns=columns, seed=seed)
    rows, cols, height, width, channels = grid.images.shape
    cells = grid.images if channels == 3 else np.repeat(grid.images, 3, axis=-1)
    cells = np.repeat(np.repeat(cells, zoom, axis=2), zoom, axis=3)
    cell_h, cell_w = height * zoom, width * zoom
    gap_x, gap_y = _GAP_X, _GAP_Y
    mosaic = np.ones((rows * (cell_h + gap_y), cols * (cell_w + gap_x) - gap_x, 3), np.float32)
    for r in range(rows):
        for c in range(cols):
            if grid.filled[r, c]:
                top, left = r * (cell_h + gap_y), c * (cell_w + gap_x)
                mosaic[top : top + cell_h, left : left + cell_w] = cells[r, c]
    margin_left, margin_top = _MARGIN_LEFT, 24 if title else 6
    fig_w, fig_h = mosaic.shape[1] + margin_left + _MARGIN_RIGHT, mosaic.shape[0] + margin_top
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
    try:
        fig.savefig(path, dpi=dpi)
    except OSError as error:
        raise UserInputError(
            f"{path}: cannot write the picture: {error.strerror or error}"
        ) from None
    return path
