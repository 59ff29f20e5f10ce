"""Interventional Robustness Score (IRS; Suter et al. 2019, "Robustly Disentangled Causal
Mechanisms: Validating Deep Representations for Interventional Robustness")."""

from __future__ import annotations

import numpy as np

from benchmark.metrics import settings
from benchmark.metrics.discretize import histogram_discretize
from benchmark.metrics.spec import HIGHER, Key, MetricSpec, register_metric

__all__ = ["METRIC", "irs", "irs_matrix"]


def irs_matrix(
    codes: np.ndarray, factor_labels: np.ndarray, diff_quantile: float = 0.99
) -> tuple[np.ndarray, np.ndarray]:
    """`(irs_matrix [num_codes, num_factors], max_deviations [num_codes])`.

    For factor j and each of its values v: the `diff_quantile` quantile (numpy's
    linear interpolation) of `|z - E[z | y_j = v]|` per code, averaged over
    the values; divided by the code's maximum `|z - mean z|`; `1 -` that.
    Codes must not be constant (their maximum deviation would be 0).
    """
    codes = np.asarray(codes)
    factor_labels = np.asarray(factor_labels)
    max_deviations = np.max(np.abs(codes - codes.mean(axis=0)), axis=0)
    mean_deviations = np.zeros((codes.shape[1], factor_labels.shape[1]))
    for j in range(factor_labels.shape[1]):  # loops over factors and their values, not points
        values = np.unique(factor_labels[:, j])
        for value in values:
            group = codes[factor_labels[:, j] == value]
            spread = np.abs(group - group.mean(axis=0))
            mean_deviations[:, j] += np.percentile(spread, q=diff_quantile * 100, axis=0)
        mean_deviations[:, j] /= values.size
    return 1.0 - mean_deviations / max_deviations[:, None], max_deviations


def irs(
    codes: np.ndarray, factors: np.ndarray, diff_quantile: float = 0.99, num_bins: int = 20
) -> dict[str, object]:
    """IRS of codes `[num_points, num_codes]` against factors `[num_points, num_factors]`.

    Factors are discretised with the `num_bins` histogram (a relabelling for
    factors with at most `num_bins` values); constant code dimensions (all
    values equal) are dropped (IRS 0 if all are). Per code the best factor's score (see
    `irs_matrix`), averaged over codes weighted by each code's maximum
    deviation, so it is invariant to one common rescaling of the codes but not
    to rescaling single dimensions. Training points only; pure numpy.

    Returns key `irs`.
    """
    codes = np.asarray(codes)
    active = codes[:, np.ptp(codes, axis=0) > 0]  # exactly constant dims (var may round above 0)
    if active.shape[1] == 0:
        return {"irs": 0.0}
    matrix, max_deviations = irs_matrix(
        active, histogram_discretize(factors, num_bins), diff_quantile
    )
    per_code = matrix.max(axis=1)
    if np.sum(max_deviations) > 0.0:
        score = np.average(per_code, weights=max_deviations)
    else:
        score = np.mean(per_code)
    return {"irs": float(score)}


METRIC = register_metric(
    MetricSpec(
        name="irs",
        summary="Interventional Robustness Score (99th percentile of code shifts per factor value)",
        keys=(Key("irs", "IRS", HIGHER),),
        settings=(
            settings.Setting("diff_quantile", 0.99, settings.number(0.0, 1.0)),
            settings.NUM_BINS,
        ),
        arrays=irs,
        inputs=("codes_train", "factors_train"),
        order=70,
    )
)
