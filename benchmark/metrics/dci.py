"""DCI: disentanglement, completeness, informativeness (Eastwood & Williams 2018, "A Framework
for the Quantitative Evaluation of Disentangled Representations")."""

from __future__ import annotations

import numpy as np
import scipy.stats
from joblib import Parallel, delayed
from sklearn.ensemble import GradientBoostingClassifier

from benchmark.metrics import settings
from benchmark.metrics.spec import ARRAY_INPUTS, HIGHER, Key, MetricSpec, register_metric
from benchmark.resources import dci_n_jobs

__all__ = ["METRIC", "completeness", "dci", "disentanglement", "importance_gbt"]

_EPSILON = 1e-11  # added to importances before the entropies, as in the reference


def _fit_one_factor(
    codes_train: np.ndarray,
    labels_train: np.ndarray,
    codes_test: np.ndarray | None,
    labels_test: np.ndarray | None,
    random_state: int | None,
) -> tuple[np.ndarray, float, float | None]:
    """Importances `[num_codes]`, train accuracy and test accuracy (or None) for one factor."""
    model = GradientBoostingClassifier(random_state=random_state)
    model.fit(codes_train, labels_train)
    train = float(np.mean(model.predict(codes_train) == labels_train))
    test = None
    if codes_test is not None and labels_test is not None:
        test = float(np.mean(model.predict(codes_test) == labels_test))
    return np.abs(model.feature_importances_), train, test


def importance_gbt(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray | None = None,
    factors_test: np.ndarray | None = None,
    gbt_random_state: int | None = 0,
    n_jobs: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradient-boosted-tree importances and accuracies, one classifier per factor.

    Each factor gets `GradientBoostingClassifier(random_state=gbt_random_state)`
    (100 stages, depth 3, learning rate 0.1) fit on all training codes. The
    factors are fitted in parallel with joblib threads (the tree builder
    releases the GIL), biggest factor first; the result does not depend on
    `n_jobs`.

    Args:
      codes_train, factors_train: `[num_train, num_codes]`, `[num_train, num_factors]`.
      codes_test, factors_test: test points, or None.
      gbt_random_state: the trees' tie-breaking seed (0 in the goldens).
      n_jobs: parallel fits; -1 is all cores, 1 is serial; None (default) is this
        process's setting (`benchmark.resources.dci_n_jobs`: `DISBENCH_THREADS`, else
        all cores), so several runs on one machine do not oversubscribe it.

    Returns:
      `(importance [num_codes, num_factors], train_accuracy [num_factors],
      test_accuracy [num_factors] or None)`.
    """
    codes_train = np.asarray(codes_train)
    factors_train = np.asarray(factors_train)
    num_factors = factors_train.shape[1]
    has_test = codes_test is not None and factors_test is not None
    tests = np.asarray(factors_test) if has_test else None
    # Cost grows with the number of classes (one tree per class per stage): start the big ones.
    order = sorted(range(num_factors), key=lambda k: -np.unique(factors_train[:, k]).size)
    n_jobs = dci_n_jobs() if n_jobs is None else n_jobs
    fits = Parallel(n_jobs=n_jobs, backend="threading")(
        delayed(_fit_one_factor)(
            codes_train,
            factors_train[:, k],
            codes_test if has_test else None,
            tests[:, k] if tests is not None else None,
            gbt_random_state,
        )
        for k in order
    )
    importance = np.zeros((codes_train.shape[1], num_factors))
    train = np.zeros(num_factors)
    test = np.zeros(num_factors)
    for k, (column, train_k, test_k) in zip(order, fits, strict=True):
        importance[:, k] = column
        train[k] = train_k
        test[k] = np.nan if test_k is None else test_k
    return importance, train, (test if has_test else None)


def _weighted_one_minus_entropy(matrix: np.ndarray) -> float:
    """`sum_i w_i (1 - H_base(row_i))`: rows of `matrix` as distributions, base = row length.

    Row weights `w_i` are the rows' shares of the total (uniform if it is 0).
    """
    base = matrix.shape[1]
    if base > 1:
        entropy = scipy.stats.entropy(matrix.T + _EPSILON, base=base)
    else:  # a single outcome carries no uncertainty
        entropy = np.zeros(matrix.shape[0])
    weights_matrix = matrix if matrix.sum() != 0.0 else np.ones_like(matrix)
    weights = weights_matrix.sum(axis=1) / weights_matrix.sum()
    return float(np.sum((1.0 - entropy) * weights))


def disentanglement(importance: np.ndarray) -> float:
    """DCI disentanglement of an importance matrix `[num_codes, num_factors]`.

    Per code `1 - H_K(p)` with `p` its row normalised to sum 1 (after adding
    1e-11), entropy in base K = num_factors; weighted by the row's share of
    the total importance.
    """
    return _weighted_one_minus_entropy(np.asarray(importance, dtype=np.float64))


def completeness(importance: np.ndarray) -> float:
    """DCI completeness: per factor `1 - H_D(column)` (base num_codes), weighted by column share."""
    return _weighted_one_minus_entropy(np.asarray(importance, dtype=np.float64).T)


def dci(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray | None = None,
    factors_test: np.ndarray | None = None,
    gbt_random_state: int | None = 0,
    n_jobs: int | None = None,
) -> dict[str, object]:
    """DCI with gradient boosted trees (see `importance_gbt`).

    Returns `dci_disentanglement`, `dci_completeness`, `dci_informativeness_train`
    (mean train accuracy over factors, not an error), `dci_importance_matrix_codes_x_factors`
    `[num_codes, num_factors]`, `dci_gbt_random_state` and, with test points,
    `dci_informativeness_test`.

    Depends on scikit-learn's GradientBoostingClassifier and its random
    tie-breaking: other seeds move D/C/I by up to about 1e-2 on 1000 points.
    D and C as functions of a given importance matrix are exact. Matched to
    scikit-learn 1.9.1 with `gbt_random_state=0`.
    """
    importance, train, test = importance_gbt(
        codes_train, factors_train, codes_test, factors_test, gbt_random_state, n_jobs
    )
    result: dict[str, object] = {
        "dci_disentanglement": disentanglement(importance),
        "dci_completeness": completeness(importance),
        "dci_informativeness_train": float(np.mean(train)),
    }
    if test is not None:
        result["dci_informativeness_test"] = float(np.mean(test))
    result["dci_importance_matrix_codes_x_factors"] = importance
    result["dci_gbt_random_state"] = gbt_random_state
    return result


METRIC = register_metric(
    MetricSpec(
        name="dci",
        summary="DCI disentanglement, completeness, informativeness from gradient boosted trees",
        keys=(
            Key(
                "dci_disentanglement",
                "DCI disent.",
                HIGHER,
                headline=True,
                sklearn=True,
                margin=0.05,
            ),
            Key("dci_completeness", "DCI compl.", HIGHER, sklearn=True),
            Key("dci_informativeness_train", sklearn=True),
            Key("dci_informativeness_test", "DCI inform.", HIGHER, needs_test=True, sklearn=True),
            Key("dci_importance_matrix_codes_x_factors", sklearn=True),
            Key("dci_gbt_random_state"),
        ),
        settings=(settings.GBT_RANDOM_STATE, settings.N_JOBS),
        arrays=dci,
        inputs=ARRAY_INPUTS,
        order=20,
    )
)
