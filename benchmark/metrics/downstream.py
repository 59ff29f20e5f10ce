"""Downstream sample efficiency: predict each factor from the code with few labels.

disentanglement_lib's `downstream_task` (Locatello et al. 2019, "Challenging
Common Assumptions in the Unsupervised Learning of Disentangled
Representations", section 4.3): for each training size n in 10, 100, 1,000,
10,000, one classifier per factor is fit on n codes and scored on the test
codes; the study uses two predictors, `LogisticRegressionCV(Cs=10,
cv=KFold(n_splits=5))` and `GradientBoostingClassifier()` with their defaults,
and 5,000 test points. Sample efficiency is the mean test accuracy at 100
points over the mean test accuracy at 10,000.

Keys, per predictor P (`logistic_regression` or `boosted_trees`) and size n,
as disentanglement_lib names them inside `downstream_task_P`:

- `downstream_task_P:n:mean_test_accuracy`, `...:min_test_accuracy`,
  `...:mean_train_accuracy`, `...:min_train_accuracy` (accuracies in [0, 1]);
- `downstream_task_P:n:test_accuracy_per_factor`, `...:train_accuracy_per_factor`
  `[num_factors]` (the reference stores one scalar per factor instead);
- `downstream_task_P:sample_efficiency` = mean test accuracy at
  `efficiency_small` (100) / at `efficiency_large` (10,000).

Difference from the reference, stated: it draws fresh training points for each
size; here the n training points are the first n of one draw (i.i.d. points
either way, so the expected scores are the same), which lets the sizes share
one call of the representation function. Sizes above the number of training
points given are left out.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from benchmark.metrics import settings
from benchmark.metrics.spec import (
    ARRAY_INPUTS,
    DOWNSTREAM,
    HIGHER,
    Key,
    MetricSpec,
    register_metric,
)

__all__ = [
    "BOOSTED_TREES",
    "LOGISTIC_REGRESSION",
    "PREDICTORS",
    "TRAIN_SIZES",
    "downstream",
    "downstream_boosted_trees",
    "downstream_keys",
    "downstream_logistic_regression",
]

# disentanglement_lib's study: downstream_task.num_train and the two predictors.
TRAIN_SIZES = (10, 100, 1000, 10000)
PREDICTORS = ("logistic_regression", "boosted_trees")
_STATS = ("mean_test_accuracy", "min_test_accuracy", "mean_train_accuracy", "min_train_accuracy")
_PER_FACTOR = ("test_accuracy_per_factor", "train_accuracy_per_factor")


def _make_predictor(predictor: str, random_state: int | None) -> object:
    """A fresh sklearn classifier with disentanglement_lib's settings."""
    if predictor == "logistic_regression":
        return LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5))
    if predictor == "boosted_trees":
        return GradientBoostingClassifier(random_state=random_state)
    raise ValueError(f"predictor: expected one of {', '.join(PREDICTORS)}, got {predictor!r}")


def downstream_keys(predictor: str, sizes: tuple[int, ...] = TRAIN_SIZES) -> tuple[str, ...]:
    """Every key `downstream(predictor=...)` can produce for these training sizes."""
    prefix = f"downstream_task_{predictor}"
    keys = [f"{prefix}:{n}:{s}" for n in sizes for s in (*_STATS, *_PER_FACTOR)]
    return (*keys, f"{prefix}:sample_efficiency")


def _fit_score(
    predictor: str,
    codes_train: np.ndarray,
    labels_train: np.ndarray,
    codes_test: np.ndarray,
    labels_test: np.ndarray,
    random_state: int | None,
) -> tuple[float, float]:
    """Train and test accuracy of one factor's classifier.

    A training set where the factor takes a single value cannot fit a
    classifier (sklearn refuses); the constant prediction of that value is
    used instead, which is what any classifier would predict.
    """
    classes = np.unique(labels_train)
    if classes.size < 2:
        return 1.0, float(np.mean(labels_test == classes[0]))
    model = _make_predictor(predictor, random_state)
    # One BLAS thread: the problems are tiny, and threads only contend (same result).
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        # The reference runs sklearn's defaults as they are: its notices about future
        # defaults and unconverged folds (tiny training sets) change nothing here.
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        warnings.simplefilter("ignore", category=UserWarning)
        model.fit(codes_train, labels_train)
    train = float(np.mean(model.predict(codes_train) == labels_train))
    test = float(np.mean(model.predict(codes_test) == labels_test))
    return train, test


def downstream(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray | None,
    factors_test: np.ndarray | None,
    predictor: str = "logistic_regression",
    efficiency_small: int = 100,
    efficiency_large: int = 10000,
    gbt_random_state: int | None = 0,
) -> dict[str, object]:
    """Downstream accuracies of one predictor at each training size in `TRAIN_SIZES`.

    Args:
      codes_train, factors_train: `[num_train, num_codes]`, `[num_train, num_factors]`;
        size n uses the first n rows.
      codes_test, factors_test: `[num_test, ...]` test points (the study: 5,000).
      predictor: "logistic_regression" or "boosted_trees".
      efficiency_small, efficiency_large: the sizes of the sample-efficiency ratio
        (100 and 10,000 in the study); the ratio is NaN when either was not computed.
      gbt_random_state: seed of the boosted trees' tie-breaking (not used by the
        logistic regression, whose solver is deterministic).

    Returns the keys of the module docstring for the sizes computed (sizes above
    num_train are left out, and so is the ratio when one of its sizes is); {}
    without test points.
    """
    if codes_test is None or factors_test is None:
        return {}
    codes_train = np.asarray(codes_train, dtype=np.float64)
    codes_test = np.asarray(codes_test, dtype=np.float64)
    factors_train = np.asarray(factors_train)
    factors_test = np.asarray(factors_test)
    prefix = f"downstream_task_{predictor}"
    _make_predictor(predictor, None)  # rejects an unknown predictor before any fit
    result: dict[str, object] = {}
    mean_test: dict[int, float] = {}
    for size in TRAIN_SIZES:
        if size > len(codes_train):
            continue
        fits = [
            _fit_score(
                predictor,
                codes_train[:size],
                factors_train[:size, k],
                codes_test,
                factors_test[:, k],
                gbt_random_state,
            )
            for k in range(factors_train.shape[1])
        ]
        train = np.array([f[0] for f in fits])
        test = np.array([f[1] for f in fits])
        mean_test[size] = float(np.mean(test))
        result[f"{prefix}:{size}:mean_test_accuracy"] = mean_test[size]
        result[f"{prefix}:{size}:min_test_accuracy"] = float(np.min(test))
        result[f"{prefix}:{size}:mean_train_accuracy"] = float(np.mean(train))
        result[f"{prefix}:{size}:min_train_accuracy"] = float(np.min(train))
        result[f"{prefix}:{size}:test_accuracy_per_factor"] = test
        result[f"{prefix}:{size}:train_accuracy_per_factor"] = train
    small, large = mean_test.get(efficiency_small), mean_test.get(efficiency_large)
    if small is not None and large:
        result[f"{prefix}:sample_efficiency"] = small / large
    return result


def downstream_logistic_regression(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray | None,
    factors_test: np.ndarray | None,
    efficiency_small: int = 100,
    efficiency_large: int = 10000,
) -> dict[str, object]:
    """`downstream(..., predictor="logistic_regression")` (disentanglement_lib's
    `downstream_task_logistic_regression`)."""
    return downstream(
        codes_train, factors_train, codes_test, factors_test, "logistic_regression",
        efficiency_small, efficiency_large,
    )  # fmt: skip


def downstream_boosted_trees(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray | None,
    factors_test: np.ndarray | None,
    efficiency_small: int = 100,
    efficiency_large: int = 10000,
    gbt_random_state: int | None = 0,
) -> dict[str, object]:
    """`downstream(..., predictor="boosted_trees")` (disentanglement_lib's
    `downstream_task_boosted_trees`)."""
    return downstream(
        codes_train, factors_train, codes_test, factors_test, "boosted_trees",
        efficiency_small, efficiency_large, gbt_random_state,
    )  # fmt: skip


def _spec_keys(predictor: str, short: str) -> tuple[Key, ...]:
    """Every key of one predictor: mean test accuracy per size and the sample efficiency
    are columns; the rest is stored."""
    keys = []
    for name in downstream_keys(predictor):
        label = ""
        if name.endswith(":mean_test_accuracy"):
            label = f"{short} acc. n={name.split(':')[1]}"
        elif name.endswith(":sample_efficiency"):
            label = f"{short} sample eff."
        keys.append(Key(name, label, HIGHER if label else 0, needs_test=True, sklearn=True))
    return tuple(keys)


_EFFICIENCY = (
    settings.Setting("efficiency_small", 100, settings.integer(1, settings.MAX_POINTS)),
    settings.Setting("efficiency_large", 10000, settings.integer(1, settings.MAX_POINTS)),
)

LOGISTIC_REGRESSION = register_metric(
    MetricSpec(
        name="downstream_task_logistic_regression",
        summary="downstream: logistic regression (5-fold CV) predicting each factor from 10..10,000 codes",
        keys=_spec_keys("logistic_regression", "LR"),
        settings=_EFFICIENCY,
        arrays=downstream_logistic_regression,
        inputs=ARRAY_INPUTS,
        group=DOWNSTREAM,
        order=90,
        by_default=False,
    )
)
BOOSTED_TREES = register_metric(
    MetricSpec(
        name="downstream_task_boosted_trees",
        summary="downstream: gradient boosted trees predicting each factor from 10..10,000 codes",
        keys=_spec_keys("boosted_trees", "GBT"),
        settings=(*_EFFICIENCY, settings.GBT_RANDOM_STATE),
        arrays=downstream_boosted_trees,
        inputs=ARRAY_INPUTS,
        group=DOWNSTREAM,
        order=100,
        by_default=False,
    )
)
