"""Mutual Information Gap (MIG; Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs")."""

from __future__ import annotations

import numpy as np

from benchmark.metrics import settings
from benchmark.metrics.discretize import histogram_discretize
from benchmark.metrics.mutual_info import discrete_entropy, mutual_info_matrix
from benchmark.metrics.spec import HIGHER, Key, MetricSpec, register_metric

__all__ = ["METRIC", "mig", "mig_from_mutual_info"]


def mig_from_mutual_info(
    mutual_info: np.ndarray, factor_entropy: np.ndarray
) -> tuple[float, np.ndarray]:
    """`(mig, mig_per_factor [num_factors])` from an MI matrix `[num_codes, num_factors]` (nats).

    Per factor: (largest MI over codes - second largest) / factor entropy.
    With a single code the second largest is taken as 0; a factor with zero
    entropy scores 0 (nothing to capture).
    """
    mutual_info = np.asarray(mutual_info, dtype=np.float64)
    ordered = np.sort(mutual_info, axis=0)[::-1]
    second = ordered[1] if ordered.shape[0] > 1 else np.zeros(ordered.shape[1])
    entropy = np.asarray(factor_entropy, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_factor = np.where(entropy > 0, (ordered[0] - second) / entropy, 0.0)
    return float(np.mean(per_factor)), per_factor


def mig(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> dict[str, object]:
    """MIG of codes `[num_points, num_codes]` against factors `[num_points, num_factors]`.

    Codes are discretised per dimension into `num_bins` equal-width histogram
    bins; factors are used as they are. Mutual information is the plug-in
    estimate in nats from one contingency table (`np.bincount`).

    Returns keys `mig`, `mig_per_factor` `[num_factors]`, `factor_entropy_nats`
    `[num_factors]`, `mutual_info_matrix_codes_x_factors` `[num_codes, num_factors]`.
    Pure numpy: independent of the scikit-learn version.
    """
    mutual_info = mutual_info_matrix(histogram_discretize(codes, num_bins), factors)
    entropy = discrete_entropy(factors)
    score, per_factor = mig_from_mutual_info(mutual_info, entropy)
    return {
        "mig": score,
        "mig_per_factor": per_factor,
        "factor_entropy_nats": entropy,
        "mutual_info_matrix_codes_x_factors": mutual_info,
    }


METRIC = register_metric(
    MetricSpec(
        name="mig",
        summary="Mutual Information Gap: per factor, gap between the two most informative codes / H(factor)",
        keys=(
            Key("mig", "MIG", HIGHER, headline=True, margin=0.05),
            Key("mig_per_factor"),
            Key("factor_entropy_nats"),
            Key("mutual_info_matrix_codes_x_factors"),
        ),
        settings=(settings.NUM_BINS,),
        arrays=mig,
        inputs=("codes_train", "factors_train"),
        order=10,
        rotation_control=True,
    )
)
