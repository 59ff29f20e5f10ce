"""Separated Attribute Predictability (SAP; Kumar et al. 2018, "Variational Inference of
Disentangled Latent Concepts from Unlabeled Observations")."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from benchmark.metrics.spec import ARRAY_INPUTS, HIGHER, Key, MetricSpec, register_metric

__all__ = ["METRIC", "sap", "sap_matrix_continuous", "sap_matrix_discrete", "top_two_gap"]


def top_two_gap(score_matrix: np.ndarray) -> float:
    """Mean over factors of (best - second best) over codes of `[num_codes, num_factors]`.

    With a single code the second best is taken as 0.
    """
    ordered = np.sort(np.asarray(score_matrix, dtype=np.float64), axis=0)
    second = ordered[-2] if ordered.shape[0] > 1 else np.zeros(ordered.shape[1])
    return float(np.mean(ordered[-1] - second))


def sap_matrix_continuous(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """`[num_codes, num_factors]` squared correlations `cov(z_i, y_j)^2 / (var z_i var y_j)`.

    Covariances with ddof 1 on the given points; 0 where `var z_i <= 1e-12`
    (or the factor is constant). Pure numpy.
    """
    codes = np.asarray(codes, dtype=np.float64)
    factors = np.asarray(factors, dtype=np.float64)
    scale = 1.0 / (codes.shape[0] - 1)
    centred_codes = codes - codes.mean(axis=0)
    centred_factors = factors - factors.mean(axis=0)
    cov = (centred_codes.T @ centred_factors) * scale
    var_codes = np.einsum("ni,ni->i", centred_codes, centred_codes) * scale
    var_factors = np.einsum("nj,nj->j", centred_factors, centred_factors) * scale
    denominator = var_codes[:, None] * var_factors[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        matrix = np.square(cov) / denominator
    keep = (var_codes[:, None] > 1e-12) & (var_factors[None, :] > 0)
    return np.where(keep, matrix, 0.0)


def sap_matrix_discrete(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
) -> np.ndarray:
    """`[num_codes, num_factors]` test accuracy of one-feature linear SVMs.

    Entry `[i, j]`: `LinearSVC(C=0.01, class_weight="balanced")` (other
    settings scikit-learn's defaults) fit on the single training column
    `z_i` to predict factor `j`, scored on the test points. Depends on
    liblinear through scikit-learn: primal vs dual solvers differ by about
    1e-4. Matched to scikit-learn 1.9.1 (`dual="auto"`); convergence warnings
    are muted, as the reference runs the same defaults.
    """
    codes_train = np.asarray(codes_train)
    codes_test = np.asarray(codes_test)
    factors_train = np.asarray(factors_train)
    factors_test = np.asarray(factors_test)
    matrix = np.zeros((codes_train.shape[1], factors_train.shape[1]))
    for i in range(codes_train.shape[1]):  # one small fit per (code, factor) pair
        for j in range(factors_train.shape[1]):
            model = LinearSVC(C=0.01, class_weight="balanced")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(codes_train[:, i : i + 1], factors_train[:, j])
            matrix[i, j] = np.mean(model.predict(codes_test[:, i : i + 1]) == factors_test[:, j])
    return matrix


def sap(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray | None = None,
    factors_test: np.ndarray | None = None,
) -> dict[str, object]:
    """SAP, discrete-factor variant (the study's) and continuous variant.

    Returns `sap_continuous` (training points only; pure numpy) and, with test
    points, `sap_discrete` and `sap_discrete_score_matrix` `[num_codes, num_factors]`
    (scikit-learn dependent, see `sap_matrix_discrete`).
    """
    result: dict[str, object] = {}
    if codes_test is not None and factors_test is not None:
        matrix = sap_matrix_discrete(codes_train, factors_train, codes_test, factors_test)
        result["sap_discrete"] = top_two_gap(matrix)
        result["sap_discrete_score_matrix"] = matrix
    result["sap_continuous"] = top_two_gap(sap_matrix_continuous(codes_train, factors_train))
    return result


METRIC = register_metric(
    MetricSpec(
        name="sap",
        summary="Separated Attribute Predictability, discrete (linear SVM) and continuous variants",
        keys=(
            Key("sap_discrete", "SAP", HIGHER, needs_test=True, sklearn=True),
            Key("sap_discrete_score_matrix", needs_test=True, sklearn=True),
            Key("sap_continuous"),
        ),
        arrays=sap,
        inputs=ARRAY_INPUTS,
        order=30,
        rotation_control=True,
    )
)
