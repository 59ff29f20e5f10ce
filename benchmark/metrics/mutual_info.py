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


def compact_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relabels each column of `[num_points, num_columns]` integer labels to `0 .. n_c - 1`.

    Mutual information does not depend on the label values, only on which
    points share one, so this keeps the contingency table as small as possible.

    Returns:
      `(codes, sizes)`: `[num_points, num_columns]` int64 and `[num_columns]`
      number of distinct labels per column.
    """
    labels = np.asarray(labels)
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
      `[num_a, num_b, size_a, size_b]` int64 counts, where `size_a` is the
      largest number of distinct labels in a column of `a` (likewise `b`).
      Entry `[i, j, u, v]` counts the points with the `u`-th smallest label in
      `a[:, i]` and the `v`-th smallest in `b[:, j]`.
    """
    a_codes, a_sizes = compact_labels(a)
    b_codes, b_sizes = compact_labels(b)
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


def mutual_info_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`[num_a, num_b]` discrete mutual information (nats) between columns of `a` and of `b`.

    Equal to `mutual_info_score(b[:, j], a[:, i])` at `[i, j]`, computed from
    one contingency table for all pairs.
    """
    return mutual_info_from_counts(contingency_tables(a, b))


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
