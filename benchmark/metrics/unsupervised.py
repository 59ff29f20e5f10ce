"""The study's unsupervised scores of a representation: Gaussian total correlation,
Gaussian Wasserstein correlation and mean pairwise mutual information."""

from __future__ import annotations

import numpy as np

from benchmark.metrics import settings
from benchmark.metrics.discretize import histogram_discretize
from benchmark.metrics.mutual_info import mutual_info_matrix
from benchmark.metrics.spec import CORRELATION, LOWER, Key, MetricSpec, register_metric

__all__ = [
    "METRIC",
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "mean_pairwise_mutual_info",
    "unsupervised",
]


def gaussian_total_correlation(cov: np.ndarray) -> float:
    """Total correlation (nats) of a Gaussian with covariance `[D, D]`.

    `0.5 * (sum ln diag(C) - ln det C)`: the KL divergence from the Gaussian
    to the product of its marginals. Infinite for a singular `C`.
    """
    cov = np.asarray(cov, dtype=np.float64)
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        return float("inf")
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - logdet))


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
    """`2 tr C - 2 tr sqrtm(C * diag(C)[:, None])` for a covariance `[D, D]`.

    The squared 2-Wasserstein distance between the Gaussian and the product
    of its marginals. `diag(d) C` is similar to `d^1/2 C d^1/2` (symmetric,
    positive semi-definite), so the trace of its square root is the sum of
    the square roots of that matrix's eigenvalues.
    """
    cov = np.asarray(cov, dtype=np.float64)
    root_diag = np.sqrt(np.diag(cov))
    eigenvalues = np.linalg.eigvalsh(root_diag[:, None] * cov * root_diag[None, :])
    return float(2.0 * np.trace(cov) - 2.0 * np.sum(np.sqrt(np.clip(eigenvalues, 0.0, None))))


def mean_pairwise_mutual_info(codes: np.ndarray, num_bins: int = 20) -> float:
    """Mean discrete MI (nats) over ordered pairs of distinct codes `[num_points, num_codes]`.

    Codes are discretised with the `num_bins` histogram; one contingency
    table for all pairs. 0 for a single code.
    """
    labels = histogram_discretize(codes, num_bins)
    num_codes = labels.shape[1]
    if num_codes < 2:
        return 0.0
    matrix = mutual_info_matrix(labels, labels)
    np.fill_diagonal(matrix, 0.0)
    return float(np.sum(matrix) / (num_codes**2 - num_codes))


def unsupervised(codes: np.ndarray, num_bins: int = 20) -> dict[str, object]:
    """Unsupervised scores of training codes `[num_points, num_codes]`; pure numpy.

    Returns `gaussian_total_correlation` (nats), `gaussian_wasserstein_correlation`,
    `gaussian_wasserstein_correlation_norm` (divided by `tr C`) and
    `mutual_info_score` (see `mean_pairwise_mutual_info`). `C = np.cov`
    (ddof 1). Constant code dimensions (all values equal) are left out of the Gaussian scores
    (a constant is independent of everything; the reference would give NaN);
    with none left all three are 0.
    """
    codes = np.asarray(codes)
    active = codes[:, np.ptp(codes, axis=0) > 0]  # exactly constant dims (var may round above 0)
    if active.shape[1] == 0:
        total, wasserstein, trace = 0.0, 0.0, 0.0
    else:
        cov = np.atleast_2d(np.cov(active, rowvar=False))
        total = gaussian_total_correlation(cov)
        wasserstein = gaussian_wasserstein_correlation(cov)
        trace = float(np.trace(cov))
    return {
        "gaussian_total_correlation": total,
        "gaussian_wasserstein_correlation": wasserstein,
        "gaussian_wasserstein_correlation_norm": wasserstein / trace if trace > 0 else 0.0,
        "mutual_info_score": mean_pairwise_mutual_info(codes, num_bins),
    }


METRIC = register_metric(
    MetricSpec(
        name="unsupervised",
        summary="Gaussian total correlation, Gaussian Wasserstein correlation (+ normalised), mean pairwise MI",
        keys=(
            Key("gaussian_total_correlation", "Gaussian TC (nats)", LOWER),
            Key("gaussian_wasserstein_correlation"),
            Key("gaussian_wasserstein_correlation_norm", "Wasserstein corr.", LOWER),
            Key("mutual_info_score", "pairwise MI (nats)", LOWER),
        ),
        settings=(settings.NUM_BINS,),
        arrays=unsupervised,
        inputs=("codes_train",),
        group=CORRELATION,
        order=80,
    )
)
