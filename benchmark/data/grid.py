"""Full factor grids: checking factor arrays and the flat index, both ways.

A full grid with factor sizes `(n_0, ..., n_{K-1})` numbers its points in
row-major order, the last factor fastest: `index = sum_k f_k * base_k` with
`base_k = n_{k+1} * ... * n_{K-1}`. This is the order of the dSprites file.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["check_factors", "factor_bases", "factors_to_flat", "flat_to_factors"]


def factor_bases(factor_sizes: Sequence[int]) -> np.ndarray:
    """`[K]` int64 strides of the flat index: the last factor has base 1."""
    sizes = np.asarray(factor_sizes, dtype=np.int64)
    return np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]]).astype(np.int64)


def check_factors(
    factors: ArrayLike, factor_sizes: Sequence[int], factor_names: Sequence[str], what: str
) -> np.ndarray:
    """`factors` as a `[N, K]` int64 array, or a ValueError naming the bad factor.

    Every column k must hold integers in `0 .. factor_sizes[k] - 1`.
    """
    array = np.asarray(factors)
    num = len(factor_sizes)
    if array.ndim != 2 or array.shape[1] != num:
        raise ValueError(
            f"{what}: factors must have shape [num_points, {num}] "
            f"({', '.join(factor_names)}), got shape {array.shape}"
        )
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not (np.issubdtype(array.dtype, np.floating) and np.all(array == np.round(array))):
            raise ValueError(f"{what}: factors must be integer indices, got dtype {array.dtype}")
    array = array.astype(np.int64, copy=False)
    if array.size:
        low, high = array.min(axis=0), array.max(axis=0)
        for k, (name, size) in enumerate(zip(factor_names, factor_sizes, strict=True)):
            if low[k] < 0 or high[k] >= size:
                bad = low[k] if low[k] < 0 else high[k]
                raise ValueError(
                    f"{what}: factor {name!r} (column {k}) must be in 0..{size - 1}, got {bad}"
                )
    return array


def factors_to_flat(
    factors: ArrayLike, factor_sizes: Sequence[int], factor_names: Sequence[str] | None = None
) -> np.ndarray:
    """`[N]` int64 flat indices of `[N, K]` factor indices (last factor fastest)."""
    names = factor_names or tuple(f"factor_{k}" for k in range(len(factor_sizes)))
    array = check_factors(factors, factor_sizes, names, "factors_to_flat")
    return array @ factor_bases(factor_sizes)


def flat_to_factors(index: ArrayLike, factor_sizes: Sequence[int]) -> np.ndarray:
    """`[N, K]` int64 factor indices of `[N]` flat indices (inverse of `factors_to_flat`)."""
    flat = np.asarray(index)
    total = int(np.prod(factor_sizes))
    if flat.size and not np.issubdtype(flat.dtype, np.integer):
        raise ValueError(f"flat_to_factors: indices must be integers, got dtype {flat.dtype}")
    flat = flat.astype(np.int64, copy=False).reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= total):
        bad = flat.min() if flat.min() < 0 else flat.max()
        raise ValueError(f"flat_to_factors: indices must be in 0..{total - 1}, got {bad}")
    bases = factor_bases(factor_sizes)
    sizes = np.asarray(factor_sizes, dtype=np.int64)
    return (flat[:, None] // bases[None, :]) % sizes[None, :]
