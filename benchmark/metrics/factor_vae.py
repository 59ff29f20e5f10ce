"""FactorVAE score (Kim & Mnih 2018, "Disentangling by Factorising"): the pure part, from
variances to votes and accuracies."""

from __future__ import annotations

import numpy as np

__all__ = ["active_dims", "factor_vae_from_votes", "factor_vae_votes"]


def active_dims(global_variances: np.ndarray, prune_threshold: float = 0.05) -> np.ndarray:
    """`[num_codes]` bool: dimensions whose standard deviation is at least `prune_threshold`."""
    return np.sqrt(np.asarray(global_variances, dtype=np.float64)) >= prune_threshold


def factor_vae_votes(
    codes: np.ndarray,
    fixed_factor: np.ndarray,
    global_variances: np.ndarray,
    active: np.ndarray,
    num_factors: int,
) -> np.ndarray:
    """Vote counts `[num_factors, num_codes]` from batches with one factor held fixed.

    Args:
      codes: `[num_votes, batch_size, num_codes]` codes of each vote's batch.
      fixed_factor: `[num_votes]` index of the factor held fixed in each batch.
      global_variances: `[num_codes]` code variances over the data (ddof 1).
      active: `[num_codes]` bool mask of active dimensions (at least one).
      num_factors: number of factors.

    Each batch votes for `(fixed factor, argmin over active dims of
    var_batch / var_global)` (batch variance ddof 1); the code index is the
    position within the active dimensions, as in the reference.
    """
    local = np.var(np.asarray(codes), axis=1, ddof=1)
    ratio = local[:, active] / np.asarray(global_variances)[active]
    winner = np.argmin(ratio, axis=1)
    votes = np.zeros((num_factors, len(active)), dtype=np.int64)
    np.add.at(votes, (np.asarray(fixed_factor), winner), 1)
    return votes


def factor_vae_from_votes(votes_train: np.ndarray, votes_eval: np.ndarray) -> dict[str, object]:
    """Majority-vote classifier accuracies from vote counts `[num_factors, num_codes]`.

    Each code index is assigned the factor with most training votes (ties to
    the lowest factor index). Returns `factorvae_train_accuracy` and
    `factorvae_eval_accuracy`: the share of votes agreeing with the assignment.
    """
    votes_train = np.asarray(votes_train)
    votes_eval = np.asarray(votes_eval)
    assigned = np.argmax(votes_train, axis=0)
    columns = np.arange(votes_train.shape[1])
    return {
        "factorvae_train_accuracy": float(votes_train[assigned, columns].sum() / votes_train.sum()),
        "factorvae_eval_accuracy": float(votes_eval[assigned, columns].sum() / votes_eval.sum()),
    }
