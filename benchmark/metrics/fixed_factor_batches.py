"""Batches of given points that share one factor's value: the intervention metrics' draws
(BetaVAE, FactorVAE) made from a fixed set of codes instead of a simulator.

Carbonneau et al. (2022), "Measuring Disentanglement: A Review of Metrics",
compute Z-diff (the BetaVAE score) and Z-min Variance (the FactorVAE score)
this way, so that they need only `(factors, codes)` pairs: a batch "with
factor k fixed at v" is a random draw, with replacement, from the points whose
factor k equals v. On a full factor grid this is the simulator's draw; on a
sample, other factors are only as varied as the sample is.
"""

from __future__ import annotations

import numpy as np

from benchmark.metrics import settings

__all__ = ["DRAW_RANDOM_STATE", "fixed_factor_batches"]

# The seed of the metric's own batch draws (a numpy RandomState), a setting of each metric
# that draws from the given points.
DRAW_RANDOM_STATE = settings.Setting("draw_random_state", 0, settings.integer(0, 2**32 - 1))


def fixed_factor_batches(
    factors: np.ndarray, num_batches: int, batch_size: int, random_state: np.random.RandomState
) -> tuple[np.ndarray, np.ndarray]:
    """`(indices [num_batches, batch_size], fixed factor [num_batches])`.

    Each batch picks a factor k uniformly, then one of the given points and
    takes k's value v from it (so values are drawn as often as they occur),
    then `batch_size` points with factor k = v, uniformly with replacement.
    Vectorised: points are sorted by (factor, value) once; a batch's points
    are offsets into its value's run.
    """
    factors = np.asarray(factors)
    num_points, num_factors = factors.shape
    fixed = random_state.randint(num_factors, size=num_batches)
    anchor = random_state.randint(num_points, size=num_batches)
    order = np.argsort(factors, axis=0, kind="stable")  # [num_points, num_factors]
    values = factors[anchor, fixed]
    start = np.empty(num_batches, dtype=np.int64)
    count = np.empty(num_batches, dtype=np.int64)
    for k in range(num_factors):  # factors are few; each handles all its batches at once
        mine = fixed == k
        runs, first, size = np.unique(
            factors[order[:, k], k], return_index=True, return_counts=True
        )
        which = np.searchsorted(runs, values[mine])
        start[mine], count[mine] = first[which], size[which]
    offsets = (random_state.random_sample((num_batches, batch_size)) * count[:, None]).astype(
        np.int64
    )
    return order[start[:, None] + offsets, fixed[:, None]], fixed
