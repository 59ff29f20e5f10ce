"""Histogram discretisation of codes, as in disentanglement_lib's study (20 equal-width bins)."""

from __future__ import annotations

import numpy as np

__all__ = ["histogram_discretize"]


def histogram_discretize(values: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Bin labels `[num_points, num_columns]` int64 in `1 .. num_bins`, per column.

    For each column separately: the edges of a `num_bins`-bin `np.histogram`
    over that column (equal width from its minimum to its maximum), the last
    edge dropped, then `np.digitize` against the remaining left edges. The
    minimum lands in bin 1 and the maximum in bin `num_bins`; a constant
    column lands in one bin. This is disentanglement_lib's
    `_histogram_discretize`, written for `[num_points, dim]` arrays.

    The edges are computed in the column's own floating dtype (float32 codes
    stay float32), as the reference does.

    Args:
      values: `[num_points, num_columns]` real array, finite.
      num_bins: number of equal-width bins.
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"expected a 2-D array [num_points, num_columns], got shape {values.shape}")
    if int(num_bins) < 1:
        raise ValueError(f"num_bins must be >= 1, got {num_bins}")
    labels = np.empty(values.shape, dtype=np.int64)
    for column in range(values.shape[1]):  # one histogram per column; columns are few
        edges = np.histogram_bin_edges(values[:, column], bins=int(num_bins))
        labels[:, column] = np.digitize(values[:, column], edges[:-1])
    return labels
