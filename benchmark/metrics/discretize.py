"""Histogram discretisation of codes, as in disentanglement_lib's study (20 equal-width bins)."""

from __future__ import annotations

import numpy as np

__all__ = ["histogram_discretize", "histogram_left_edges"]


def histogram_left_edges(values: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """`[num_bins, num_columns]` left edges of each column's `num_bins`-bin `np.histogram`.

    The same numbers `np.histogram_bin_edges(values[:, j], num_bins)[:-1]`
    gives (equal width from the minimum to the maximum, +-0.5 around a
    constant column, in the column's floating dtype), for all columns at once.
    """
    low, high = values.min(axis=0), values.max(axis=0)
    if values.dtype.kind in "iub":  # numpy computes integer columns' edges in float64
        low, high = low.astype(np.float64), high.astype(np.float64)
    constant = low == high
    low = np.where(constant, low - 0.5, low)
    high = np.where(constant, high + 0.5, high)
    return np.linspace(low, high, int(num_bins) + 1, axis=0)[:-1]


def histogram_discretize(values: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Bin labels `[num_points, num_columns]` int64 in `1 .. num_bins`, per column.

    For each column separately: the edges of a `num_bins`-bin `np.histogram`
    over that column, the last edge dropped, then `np.digitize` against the
    remaining left edges. The minimum lands in bin 1 and the maximum in bin
    `num_bins`; a constant column lands in one bin. This is
    disentanglement_lib's `_histogram_discretize`, written for
    `[num_points, dim]` arrays.

    Vectorised over columns: each label is first guessed from the bin width,
    then corrected against the actual edges, so it equals `np.digitize`'s
    exactly (a column whose guess cannot be confirmed falls back to it).

    Args:
      values: `[num_points, num_columns]` real array, finite.
      num_bins: number of equal-width bins.
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(
            f"expected a 2-D array [num_points, num_columns], got shape {values.shape}"
        )
    if int(num_bins) < 1:
        raise ValueError(f"num_bins must be >= 1, got {num_bins}")
    num_bins = int(num_bins)
    num_columns = values.shape[1]
    edges = histogram_left_edges(values, num_bins)  # [num_bins, num_columns]
    # Row num_bins is +inf, so "the next edge" exists for every bin.
    padded = np.concatenate([edges, np.full((1, num_columns), np.inf, dtype=edges.dtype)]).ravel()
    width = (edges[-1] - edges[0]) / (num_bins - 1) if num_bins > 1 else np.ones(num_columns)
    usable = np.isfinite(width) & (width > 0) if num_bins > 1 else np.ones(num_columns, bool)
    with np.errstate(invalid="ignore", over="ignore"):
        ratio = (values - edges[0]) / np.where(usable, width, 1.0)
    guess = np.clip(ratio, 0, num_bins - 1)  # finite values: ratio is never NaN
    columns = np.arange(num_columns)
    flat = guess.astype(np.int64) * num_columns + columns  # index of the guessed left edge
    down = values < padded[flat]
    up = values >= padded[flat + num_columns]
    flat += (up.astype(np.int64) - down) * num_columns
    labels = flat // num_columns + 1  # digitize: the number of left edges <= value
    moved = np.flatnonzero(down | up)
    suspect = np.zeros(num_columns, dtype=bool)
    if moved.size:  # a moved guess must now be confirmed: left edge <= value < next edge
        flat_moved, value_moved = flat.ravel()[moved], values.ravel()[moved]
        inside = (flat_moved >= 0) & (flat_moved < num_bins * num_columns)
        flat_moved = np.where(inside, flat_moved, 0)
        ok = inside & (padded[flat_moved] <= value_moved)
        ok &= value_moved < padded[flat_moved + num_columns]
        suspect[moved[~ok] % num_columns] = True
    for column in np.flatnonzero(suspect | ~usable):  # rare: fall back to np.digitize
        labels[:, column] = np.digitize(values[:, column], edges[:, column])
    return labels
