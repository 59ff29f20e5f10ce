"""Discrete mutual information from one vectorised contingency table (np.bincount).

Plug-in estimates in nats, equal (to rounding) to `sklearn.metrics.mutual_info_score`
for every pair of columns, without a Python loop over the pairs.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "compact_labels",
    "contingency_tables",
    "discrete_entropy",
    "mutual_info_from_counts",
    "mutual_info_matrix",
]

# Largest number of (point, column pair) indices built at once; keeps memory near 64 MB.
_MAX_INDICES = 8_000_000
# Label ranges up to this many values are only shifted, not ranked.
_SHORT_RANGE = 1024
# Dense tables up to this many cells (128 MB); larger ones are counted pair by pair.
_MAX_CELLS = 16_000_000


def compact_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relabels each column of `[num_points, num_columns]` integer labels to `0 .. n_c - 1`.

    Mutual information does not depend on the label values, only on which
    points share one. Columns whose values span a short range (histogram bins,
    factor indices) are only shifted to start at 0, which may leave unused
    labels (empty rows of a contingency table, harmless); others are ranked
    with `np.unique`.

    Returns:
      `(codes, sizes)`: `[num_points, num_columns]` int64 and `[num_columns]`
      label counts (codes of column c are below sizes[c]).
    """
    labels = np.asarray(labels)
    if labels.shape[0] == 0:
        return labels.astype(np.int64), np.ones(labels.shape[1], dtype=np.int64)
    low = labels.min(axis=0).astype(np.int64)
    span = labels.max(axis=0).astype(np.int64) - low + 1
    if np.all(span <= _SHORT_RANGE):
        return labels.astype(np.int64) - low, span
    codes = np.empty(labels.shape, dtype=np.int64)
    sizes = np.empty(labels.shape[1], dtype=np.int64)
    for column in range(labels.shape[1]):  # columns are few
        values, inverse = np.unique(labels[:, column], return_inverse=True)
        codes[:, column] = inverse.reshape(-1)
        sizes[column] = values.size
    return codes, sizes


def contingency_tables(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Joint counts of every column of `a` with every column of `b`.

    Args:
      a: `[num_points, num_a]` labels (any integers).
      b: `[num_points, num_b]` labels (any integers).

    Returns:
      `[num_a, num_b, size_a, size_b]` int64 counts, with labels compacted by
      `compact_labels` (`size_a` is the largest label count of a column of
      `a`, likewise `b`): entry `[i, j, u, v]` counts the points whose
      compact labels are `u` in `a[:, i]` and `v` in `b[:, j]`.
    """
    a_codes, a_sizes = compact_labels(a)
    b_codes, b_sizes = compact_labels(b)
    return _dense_tables(a_codes, a_sizes, b_codes, b_sizes)


def _dense_tables(
    a_codes: np.ndarray, a_sizes: np.ndarray, b_codes: np.ndarray, b_sizes: np.ndarray
) -> np.ndarray:
    """`contingency_tables` of compact labels (see there)."""
    num_points, num_a = a_codes.shape
    num_b = b_codes.shape[1]
    size_a, size_b = int(a_sizes.max(initial=1)), int(b_sizes.max(initial=1))
    cell = size_a * size_b
    # Flat index of (i, j, u, v) = ((i * num_b + j) * size_a + u) * size_b + v.
    b_part = np.arange(num_b, dtype=np.int64)[None, None, :] * cell + b_codes[:, None, :]
    counts = np.zeros(num_a * num_b * cell, dtype=np.int64)
    rows_per_chunk = max(1, _MAX_INDICES // max(1, num_points * num_b))
    for start in range(0, num_a, rows_per_chunk):  # one chunk unless the arrays are huge
        stop = min(num_a, start + rows_per_chunk)
        a_part = (np.arange(start, stop, dtype=np.int64)[None, :, None] * num_b * cell) + (
            a_codes[:, start:stop, None] * size_b
        )
        flat = (a_part + b_part).ravel()
        counts += np.bincount(flat, minlength=counts.size)
    return counts.reshape(num_a, num_b, size_a, size_b)


def mutual_info_from_counts(counts: np.ndarray) -> np.ndarray:
    """Plug-in mutual information (nats) of joint count tables `[..., size_a, size_b]`.

    `I = sum_uv p_uv ln(p_uv / (p_u p_v))` with `p = counts / N`. A table whose
    row or column marginal has a single non-empty label gives exactly 0, as
    scikit-learn's `mutual_info_score` does. Returns shape `[...]`, clipped at 0.
    """
    counts = np.asarray(counts, dtype=np.int64)
    total = counts.sum(axis=(-2, -1), keepdims=True).astype(np.float64)
    row = counts.sum(axis=-1, keepdims=True).astype(np.float64)
    col = counts.sum(axis=-2, keepdims=True).astype(np.float64)
    nonzero = counts > 0
    safe = np.where(nonzero, counts, 1).astype(np.float64)
    log_ratio = np.log(safe) + np.log(total) - np.log(np.where(nonzero, row, 1.0))
    log_ratio -= np.log(np.where(nonzero, col, 1.0))
    terms = np.where(nonzero, safe * log_ratio, 0.0)
    mi = terms.sum(axis=(-2, -1)) / total[..., 0, 0]
    single_label = ((row > 0).sum(axis=(-2, -1)) <= 1) | ((col > 0).sum(axis=(-2, -1)) <= 1)
    return np.clip(np.where(single_label, 0.0, mi), 0.0, None)


def _pair_mutual_info(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information (nats) of two compact label vectors, from their distinct pairs."""
    _, joint = np.unique(a * (int(b.max()) + 1) + b, return_counts=True)
    _, row = np.unique(a, return_counts=True)
    _, col = np.unique(b, return_counts=True)
    if row.size <= 1 or col.size <= 1:
        return 0.0
    total = float(a.size)
    h_joint = -np.sum(joint / total * np.log(joint / total))
    h_row = -np.sum(row / total * np.log(row / total))
    h_col = -np.sum(col / total * np.log(col / total))
    return max(0.0, float(h_row + h_col - h_joint))


def mutual_info_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`[num_a, num_b]` discrete mutual information (nats) between columns of `a` and of `b`.

    Equal to `mutual_info_score(b[:, j], a[:, i])` at `[i, j]`, computed from
    one contingency table for all pairs. Columns with so many distinct values
    that the dense table would pass 16 million cells are counted pair by
    pair from their distinct label pairs instead.
    """
    a_codes, a_sizes = compact_labels(a)
    b_codes, b_sizes = compact_labels(b)
    cells = (
        a_codes.shape[1]
        * b_codes.shape[1]
        * int(a_sizes.max(initial=1))
        * int(b_sizes.max(initial=1))
    )
    if cells <= _MAX_CELLS:
        return mutual_info_from_counts(_dense_tables(a_codes, a_sizes, b_codes, b_sizes))
    return np.array(
        [
            [_pair_mutual_info(a_codes[:, i], b_codes[:, j]) for j in range(b_codes.shape[1])]
            for i in range(a_codes.shape[1])
        ]
    )


def discrete_entropy(labels: np.ndarray) -> np.ndarray:
    """`[num_columns]` plug-in entropy (nats) of each column of integer labels.

    This is the mutual information of a column with itself, which is how
    disentanglement_lib computes it.
    """
    codes, sizes = compact_labels(labels)
    num_points = codes.shape[0]
    size = int(sizes.max(initial=1))
    flat = (np.arange(codes.shape[1], dtype=np.int64)[None, :] * size + codes).ravel()
    counts = np.bincount(flat, minlength=codes.shape[1] * size).reshape(codes.shape[1], size)
    p = counts / float(num_points)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(counts > 0, -p * np.log(np.where(counts > 0, p, 1.0)), 0.0)
    return terms.sum(axis=1)
