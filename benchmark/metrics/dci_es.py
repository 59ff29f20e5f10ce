"""DCI-ES: explicitness (E) and size (S), the two measures Eastwood et al. (2023), "DCI-ES: An
Extended Disentanglement Framework with Connections to Identifiability", ICLR, add to DCI.

Explicitness asks how much probe capacity it takes to read a factor from the
codes. Per factor k, probes of growing capacity c_1 < ... < c_P are fit on the
training codes and scored by their mean squared error on the test codes, the
factor standardised with its training mean and standard deviation. The
loss-capacity curve keeps, at each capacity, the lowest loss so far (a larger
probe can always do what a smaller one did). With the lowest reachable loss
l* = 0 and the baseline loss l_b (the test MSE of predicting the training mean,
about 1), as in the paper's experiments:

    AULCC_k = integral over [c_1, c_P] of the curve (trapezoids)
    E_k     = 1 - AULCC_k / Z_k,   Z_k = (c_P - c_1) * l_b / 2

E = mean_k E_k lies in [-1, 1]: 1 when the smallest probe already reads the
factor without loss, 0 when the loss falls linearly from l_b to 0, -1 when no
probe beats the baseline. The probe family is stated: scikit-learn random
forests of regression trees (`n_trees` trees) whose capacity is the maximum
depth, 1 to `max_depth` (the paper's random-forest probes on MPI3D, depth up to
8). Trees are invariant to monotone maps of each latent, so E is too, unlike
linear explicitness.

Size is S = K / D: K factors over D code dimensions (all of them, active or
not): 1 when the representation has exactly one dimension per factor, smaller
when it spends more. It sits beside the classic DCI (`dci`), which is unchanged.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestRegressor

from benchmark.metrics import settings
from benchmark.metrics.spec import ARRAY_INPUTS, HIGHER, Key, MetricSpec, register_metric

__all__ = ["METRIC", "dci_es", "explicitness_from_curve", "loss_capacity_curve"]

MAX_DEPTH = settings.Setting("max_depth", 8, settings.integer(2, 32))
N_TREES = settings.Setting("n_trees", 10, settings.integer(1, 1000))
PROBE_RANDOM_STATE = settings.Setting("probe_random_state", 0, settings.integer(0, 2**32 - 1))


def explicitness_from_curve(
    capacities: np.ndarray, losses: np.ndarray, baseline_loss: float
) -> float:
    """E = 1 - AULCC / Z of one loss-capacity curve (lowest loss l* = 0).

    `losses[i]` is the probe loss at `capacities[i]` (increasing); the running
    minimum is taken first. Z = (c_P - c_1) * baseline_loss / 2.
    """
    capacities = np.asarray(capacities, dtype=np.float64)
    envelope = np.minimum.accumulate(np.asarray(losses, dtype=np.float64))
    area = float(np.sum(0.5 * (envelope[1:] + envelope[:-1]) * np.diff(capacities)))
    normaliser = 0.5 * (capacities[-1] - capacities[0]) * baseline_loss
    return 1.0 - area / normaliser if normaliser > 0 else 0.0


def loss_capacity_curve(
    codes_train: np.ndarray,
    target_train: np.ndarray,
    codes_test: np.ndarray,
    target_test: np.ndarray,
    max_depth: int = 8,
    n_trees: int = 10,
    probe_random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray, float]:
    """`(capacities [P], test MSE [P], baseline MSE)` of forests of depth 1..max_depth.

    The target is standardised with its training mean and standard deviation
    (a constant target is only centred).
    """
    mean, std = float(np.mean(target_train)), float(np.std(target_train))
    scale = std if std > 0 else 1.0
    train = (np.asarray(target_train, dtype=np.float64) - mean) / scale
    test = (np.asarray(target_test, dtype=np.float64) - mean) / scale
    capacities = np.arange(1, max_depth + 1)
    losses = np.empty(capacities.size)
    for i, depth in enumerate(capacities):  # a handful of probe sizes
        forest = RandomForestRegressor(
            n_estimators=n_trees, max_depth=int(depth), random_state=probe_random_state, n_jobs=1
        )
        forest.fit(codes_train, train)
        losses[i] = float(np.mean((forest.predict(codes_test) - test) ** 2))
    return capacities, losses, float(np.mean(test**2))


def dci_es(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray | None = None,
    factors_test: np.ndarray | None = None,
    max_depth: int = 8,
    n_trees: int = 10,
    probe_random_state: int = 0,
) -> dict[str, object]:
    """DCI-ES explicitness and size of codes `[num_points, num_codes]` against factors.

    The probes are scored on test points: without them nothing is returned
    (every key is listed as skipped, as for DCI's test informativeness).

    Returns `dci_es_explicitness` (mean over factors), `dci_es_explicitness_per_factor`
    `[num_factors]`, `dci_es_loss_factors_x_depths` `[num_factors, max_depth]` (test MSE per
    depth, before the running minimum) and `dci_es_size` (factors / code dimensions).
    """
    if codes_test is None or factors_test is None:
        return {}
    codes_train = np.asarray(codes_train, dtype=np.float64)
    codes_test = np.asarray(codes_test, dtype=np.float64)
    factors_train, factors_test = np.asarray(factors_train), np.asarray(factors_test)
    num_factors = factors_train.shape[1]
    per_factor = np.zeros(num_factors)
    curves = np.zeros((num_factors, max_depth))
    for k in range(num_factors):  # one curve per factor
        capacities, losses, baseline = loss_capacity_curve(
            codes_train,
            factors_train[:, k],
            codes_test,
            factors_test[:, k],
            max_depth,
            n_trees,
            probe_random_state,
        )
        curves[k] = losses
        per_factor[k] = explicitness_from_curve(capacities, losses, baseline)
    return {
        "dci_es_explicitness": float(np.mean(per_factor)),
        "dci_es_explicitness_per_factor": per_factor,
        "dci_es_loss_factors_x_depths": curves,
        "dci_es_size": num_factors / codes_train.shape[1],
    }


METRIC = register_metric(
    MetricSpec(
        name="dci_es",
        summary="DCI-ES (Eastwood et al. 2023): explicitness from a forest loss-capacity curve, and size",
        keys=(
            Key(
                "dci_es_explicitness",
                "DCI-ES explicitness",
                HIGHER,
                needs_test=True,
                sklearn=True,
                margin=0.05,
            ),
            Key("dci_es_size", "DCI-ES size", HIGHER, needs_test=True),
            Key("dci_es_explicitness_per_factor", needs_test=True, sklearn=True),
            Key("dci_es_loss_factors_x_depths", needs_test=True, sklearn=True),
        ),
        settings=(MAX_DEPTH, N_TREES, PROBE_RANDOM_STATE),
        arrays=dci_es,
        inputs=ARRAY_INPUTS,
        order=31,
        rotation_control=True,
    )
)
