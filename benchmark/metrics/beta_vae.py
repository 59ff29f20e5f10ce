"""BetaVAE score (Higgins et al. 2017, "beta-VAE: Learning Basic Visual Concepts with a
Constrained Variational Framework"): the pure part, from features to accuracies."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

__all__ = ["beta_vae_features", "beta_vae_from_features"]


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
