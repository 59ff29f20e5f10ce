"""BetaVAE score (Higgins et al. 2017, "beta-VAE: Learning Basic Visual Concepts with a
Constrained Variational Framework"): features to accuracies, and the sampling of its batches."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from benchmark.data.base import GroundTruthData
from benchmark.metrics import settings
from benchmark.metrics.sampling import (
    RepresentationFunction,
    check_codes,
    factor_coder,
    represent,
)
from benchmark.metrics.spec import HIGHER, Key, MetricSpec, register_metric

__all__ = [
    "METRIC",
    "beta_vae_features",
    "beta_vae_from_features",
    "compute_beta_vae",
    "sample_beta_vae_features",
]


def beta_vae_features(codes_first: np.ndarray, codes_second: np.ndarray) -> np.ndarray:
    """Features `[num_points, num_codes]`: mean `|z1 - z2|` over each pair of batches.

    Args:
      codes_first, codes_second: `[num_points, batch_size, num_codes]` codes of
        the two batches of each training point (the second batch shares one
        factor with the first).
    """
    return np.mean(np.abs(np.asarray(codes_first) - np.asarray(codes_second)), axis=1)


def beta_vae_from_features(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    eval_features: np.ndarray,
    eval_labels: np.ndarray,
) -> dict[str, object]:
    """Accuracy of a linear classifier predicting the shared factor from the features.

    `LogisticRegression()` with scikit-learn's defaults (lbfgs, multinomial,
    100 iterations; convergence warnings muted, as the reference runs the
    same defaults) is fit on the training features `[num_train, num_codes]`
    and labels `[num_train]`.

    Returns `betavae_train_accuracy` and `betavae_eval_accuracy` (fractions).
    Depends on scikit-learn's solver (old one-vs-rest liblinear differs by
    about 1e-3); matched to scikit-learn 1.9.1.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression().fit(train_features, train_labels)
    train = float(np.mean(model.predict(train_features) == np.asarray(train_labels)))
    evaluation = float(np.mean(model.predict(eval_features) == np.asarray(eval_labels)))
    return {"betavae_train_accuracy": train, "betavae_eval_accuracy": evaluation}


def sample_beta_vae_features(
    dataset: GroundTruthData,
    representation_function: RepresentationFunction,
    num_points: int,
    random_state: np.random.RandomState,
    batch_size: int = 64,
    points_per_call: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """BetaVAE training points: `(features [num_points, num_codes], labels [num_points])`.

    Per point, in this order: `k = random_state.randint(num_factors)`; factors
    of batch 1; factors of batch 2; factor k of batch 2 set to batch 1's;
    observations of batch 1; observations of batch 2. The feature is the
    mean `|z1 - z2|` over the batch, the label `k`. Codes are computed for
    `points_per_call` points (2 * batch_size each) per representation call.
    """
    labels = np.empty(num_points, dtype=np.int64)
    coder = factor_coder(representation_function)
    if coder is not None:  # same draws without rendering; every image encoded once
        pairs = np.empty((2, num_points, batch_size, dataset.num_factors), dtype=np.int64)
        for index in range(num_points):  # per point: the reference's draw order
            labels[index] = random_state.randint(dataset.num_factors)
            pairs[0, index] = dataset.sample_factors(batch_size, random_state)
            pairs[1, index] = dataset.sample_factors(batch_size, random_state)
            pairs[1, index, :, labels[index]] = pairs[0, index, :, labels[index]]
        codes = check_codes(coder(pairs.reshape(-1, dataset.num_factors)), pairs[..., 0].size)
        codes = codes.reshape(2, num_points, batch_size, codes.shape[-1])
        return beta_vae_features(codes[0], codes[1]), labels
    features = []
    for start in range(0, num_points, points_per_call):
        stop = min(num_points, start + points_per_call)
        first, second = [], []
        for index in range(start, stop):  # per point: the reference's draw order
            labels[index] = random_state.randint(dataset.num_factors)
            factors_first = dataset.sample_factors(batch_size, random_state)
            factors_second = dataset.sample_factors(batch_size, random_state)
            factors_second[:, labels[index]] = factors_first[:, labels[index]]
            first.append(dataset.sample_observations_from_factors(factors_first, random_state))
            second.append(dataset.sample_observations_from_factors(factors_second, random_state))
        codes = represent(representation_function, np.concatenate(first + second))
        codes = codes.reshape(2, stop - start, batch_size, codes.shape[-1])
        features.append(beta_vae_features(codes[0], codes[1]))
    return np.concatenate(features), labels


def compute_beta_vae(
    dataset: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    points_per_call: int = 32,
) -> dict[str, object]:
    """BetaVAE score: `num_train` training points, then `num_eval` evaluation points.

    Returns `betavae_train_accuracy` and `betavae_eval_accuracy` (see
    `benchmark.metrics.beta_vae.beta_vae_from_features`; scikit-learn dependent).
    """
    train_features, train_labels = sample_beta_vae_features(
        dataset, representation_function, num_train, random_state, batch_size, points_per_call
    )
    eval_features, eval_labels = sample_beta_vae_features(
        dataset, representation_function, num_eval, random_state, batch_size, points_per_call
    )
    return beta_vae_from_features(train_features, train_labels, eval_features, eval_labels)


METRIC = register_metric(
    MetricSpec(
        name="beta_vae",
        summary="BetaVAE score: linear classifier accuracy on |z1 - z2| of batches sharing a factor (needs a data set)",
        keys=(
            Key("betavae_train_accuracy", sklearn=True),
            Key("betavae_eval_accuracy", "BetaVAE", HIGHER, sklearn=True),
        ),
        settings=(
            settings.BATCH_SIZE.with_default(64),
            settings.NUM_TRAIN,
            settings.NUM_EVAL,
            settings.POINTS_PER_CALL,
        ),
        sample=compute_beta_vae,
        order=40,
    )
)
