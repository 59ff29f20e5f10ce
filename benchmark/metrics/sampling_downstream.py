"""The sampling layer of the downstream task: draw train and test codes, then score them."""

from __future__ import annotations

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.metrics.downstream import downstream
from benchmark.metrics.sampling import RepresentationFunction, sample_train_test

__all__ = ["compute_downstream_boosted_trees", "compute_downstream_logistic_regression"]


def compute_downstream_logistic_regression(
    dataset: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = 16,
    efficiency_small: int = 100,
    efficiency_large: int = 10000,
) -> dict[str, object]:
    """Logistic-regression downstream accuracies on fresh train then test points."""
    arrays = sample_train_test(
        dataset, representation_function, random_state, num_train, num_test, batch_size
    )
    return downstream(
        *arrays, predictor="logistic_regression",
        efficiency_small=efficiency_small, efficiency_large=efficiency_large,
    )  # fmt: skip


def compute_downstream_boosted_trees(
    dataset: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = 16,
    efficiency_small: int = 100,
    efficiency_large: int = 10000,
    gbt_random_state: int | None = 0,
) -> dict[str, object]:
    """Gradient-boosted-tree downstream accuracies on fresh train then test points."""
    arrays = sample_train_test(
        dataset, representation_function, random_state, num_train, num_test, batch_size
    )
    return downstream(
        *arrays, predictor="boosted_trees", efficiency_small=efficiency_small,
        efficiency_large=efficiency_large, gbt_random_state=gbt_random_state,
    )  # fmt: skip
