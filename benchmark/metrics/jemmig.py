"""JEMMIG (Do & Tran 2020, "Theory and Evaluation Metrics for Learning Disentangled
Representations", ICLR, section 4): joint-entropy-minus-mutual-information gap.

MIG credits a factor to its best latent but does not ask whether that latent
holds anything else. JEMMIG charges the best latent z* of factor k for
everything it and the factor do not share, H(v_k, z*) - I(v_k; z*) =
H(v_k | z*) + H(z* | v_k), and the second-best latent z° for what it also knows
about v_k. Normalised by its largest value, H(v_k) + log(num_bins), and
turned so that higher is better (Do & Tran's normalised form):

    JEMMIG = 1 - mean_k [H(v_k, z*) - I(v_k; z*) + I(v_k; z°)] / (H(v_k) + log B)

in [0, 1] (nats; B equal-width bins per code, the plug-in estimates of `mig`).
"""

from __future__ import annotations

import numpy as np

from benchmark.metrics import settings
from benchmark.metrics.discretize import histogram_discretize
from benchmark.metrics.mutual_info import discrete_entropy, mutual_info_matrix
from benchmark.metrics.spec import HIGHER, Key, MetricSpec, register_metric

__all__ = ["METRIC", "jemmig", "jemmig_from_entropies"]


def jemmig_from_entropies(
    mutual_info: np.ndarray, code_entropy: np.ndarray, factor_entropy: np.ndarray, num_bins: int
) -> tuple[float, np.ndarray]:
    """`(jemmig, per factor [num_factors])` from MI `[num_codes, num_factors]` and entropies (nats).

    The joint entropy is H(v, z) = H(v) + H(z) - I(v; z).
    """
    mutual_info = np.asarray(mutual_info, dtype=np.float64)
    factor_entropy = np.asarray(factor_entropy, dtype=np.float64)
    order = np.argsort(mutual_info, axis=0)[::-1]  # [num_codes, num_factors], best first
    columns = np.arange(mutual_info.shape[1])
    best = order[0]
    best_mi = mutual_info[best, columns]
    second_mi = mutual_info[order[1], columns] if mutual_info.shape[0] > 1 else 0.0
    joint = factor_entropy + np.asarray(code_entropy, dtype=np.float64)[best] - best_mi
    normaliser = factor_entropy + np.log(num_bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        penalty = np.where(normaliser > 0, (joint - best_mi + second_mi) / normaliser, 1.0)
    per_factor = np.clip(1.0 - penalty, 0.0, 1.0)
    return float(np.mean(per_factor)), per_factor


def jemmig(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> dict[str, object]:
    """JEMMIG of codes `[num_points, num_codes]` against factors `[num_points, num_factors]`."""
    binned = histogram_discretize(np.asarray(codes), num_bins)
    score, per_factor = jemmig_from_entropies(
        mutual_info_matrix(binned, factors),
        discrete_entropy(binned),
        discrete_entropy(factors),
        num_bins,
    )
    return {"jemmig": score, "jemmig_per_factor": per_factor}


METRIC = register_metric(
    MetricSpec(
        name="jemmig",
        summary="JEMMIG (Do & Tran 2020): MIG that also charges the best latent's other content",
        keys=(Key("jemmig", "JEMMIG", HIGHER, margin=0.05), Key("jemmig_per_factor")),
        settings=(settings.NUM_BINS,),
        arrays=jemmig,
        inputs=("codes_train", "factors_train"),
        order=14,
        rotation_control=True,
    )
)
