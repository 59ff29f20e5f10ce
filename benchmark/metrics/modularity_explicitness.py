"""Modularity and explicitness (Ridgeway & Mozer 2018, "Learning Deep Disentangled Embeddings
with the F-Statistic Loss")."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from benchmark.metrics import settings
from benchmark.metrics.discretize import histogram_discretize
from benchmark.metrics.mutual_info import mutual_info_matrix
from benchmark.metrics.spec import ARRAY_INPUTS, HIGHER, Key, MetricSpec, register_metric

__all__ = ["METRIC", "explicitness", "modularity", "modularity_explicitness", "standardize"]


def modularity(mutual_info: np.ndarray) -> float:
    """Modularity from an MI matrix `[num_codes, num_factors]`.

    With `m2 = MI^2`, per code `1 - (sum(m2) - max(m2)) / (max(m2) * (K - 1))`,
    0 for a code whose max is 0 (and 1 for any informative code when K = 1);
    averaged over codes.
    """
    squared = np.square(np.asarray(mutual_info, dtype=np.float64))
    num_factors = squared.shape[1]
    largest = squared.max(axis=1)
    if num_factors == 1:
        return float(np.mean(np.where(largest > 0, 1.0, 0.0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = (squared.sum(axis=1) - largest) / (largest * (num_factors - 1.0))
    return float(np.mean(np.where(largest == 0.0, 0.0, 1.0 - delta)))


def standardize(
    codes: np.ndarray, mean: np.ndarray | None = None, std: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(codes - mean) / std` per dimension; mean/std (ddof 0) from `codes` unless given.

    A zero standard deviation is replaced by 1 (the reference divides by 0).
    """
    codes = np.asarray(codes)
    if mean is None:
        mean = np.mean(codes, axis=0)
    if std is None:
        std = np.std(codes, axis=0)
        std = np.where(std > 0, std, np.ones_like(std))
    return (codes - mean) / std, mean, std


def _macro_roc_auc(labels: np.ndarray, classes: np.ndarray, proba: np.ndarray) -> float:
    """Macro one-vs-rest ROC-AUC over the classes whose AUC is defined in `labels`."""
    one_hot = (np.asarray(labels)[:, None] == classes[None, :]).astype(np.int64)
    positives = one_hot.sum(axis=0)
    defined = (positives > 0) & (positives < one_hot.shape[0])
    if not defined.any():
        return float("nan")
    return float(roc_auc_score(one_hot[:, defined], proba[:, defined], average="macro"))


def explicitness(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray | None = None,
    factors_test: np.ndarray | None = None,
) -> tuple[float, float | None]:
    """`(explicitness_train, explicitness_test)`: mean one-vs-rest ROC-AUC over factors.

    Codes are standardised with the training mean and std (ddof 0). Per factor
    a `LogisticRegression()` with scikit-learn's defaults (lbfgs, multinomial,
    100 iterations; convergence warnings muted, as the reference runs the same
    defaults) is fit on the training codes; the score is the macro ROC-AUC of
    `predict_proba` against the one-hot labels. `explicitness_test` is None
    without test points.

    Depends on scikit-learn: old versions' one-vs-rest liblinear gives about
    0.02 lower on informative codes. Matched to scikit-learn 1.9.1.
    """
    train_norm, mean, std = standardize(codes_train)
    test_norm = None if codes_test is None else standardize(codes_test, mean, std)[0]
    factors_train = np.asarray(factors_train)
    train_scores, test_scores = [], []
    for k in range(factors_train.shape[1]):  # one classifier per factor
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = LogisticRegression().fit(train_norm, factors_train[:, k])
        train_scores.append(
            _macro_roc_auc(factors_train[:, k], model.classes_, model.predict_proba(train_norm))
        )
        if test_norm is not None and factors_test is not None:
            test_scores.append(
                _macro_roc_auc(
                    np.asarray(factors_test)[:, k], model.classes_, model.predict_proba(test_norm)
                )
            )
    train = float(np.mean(train_scores))
    return train, (float(np.mean(test_scores)) if test_scores else None)


def modularity_explicitness(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray | None = None,
    factors_test: np.ndarray | None = None,
    num_bins: int = 20,
) -> dict[str, object]:
    """Modularity (training MI, `num_bins` histogram bins) and explicitness.

    Returns keys `modularity`, `explicitness_train` and, with test points,
    `explicitness_test`. Modularity is pure numpy; explicitness depends on
    scikit-learn's logistic regression (see `explicitness`).
    """
    mutual_info = mutual_info_matrix(histogram_discretize(codes_train, num_bins), factors_train)
    train, test = explicitness(codes_train, factors_train, codes_test, factors_test)
    result: dict[str, object] = {"modularity": modularity(mutual_info), "explicitness_train": train}
    if test is not None:
        result["explicitness_test"] = test
    return result


METRIC = register_metric(
    MetricSpec(
        name="modularity_explicitness",
        summary="modularity (each code informs about one factor) and explicitness (linear ROC-AUC)",
        keys=(
            Key("modularity", "Modularity", HIGHER),
            Key("explicitness_train", sklearn=True),
            Key("explicitness_test", "Explicitness", HIGHER, needs_test=True, sklearn=True),
        ),
        settings=(settings.NUM_BINS,),
        arrays=modularity_explicitness,
        inputs=ARRAY_INPUTS,
        order=60,
    )
)
