"""FactorVAE score (Kim & Mnih 2018, "Disentangling by Factorising"): the pure part, from
variances to votes and accuracies."""

from __future__ import annotations

import numpy as np

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
    "active_dims",
    "compute_factor_vae",
    "factor_vae_from_votes",
    "factor_vae_votes",
    "sample_factor_vae_votes",
]


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


def sample_factor_vae_votes(
    dataset: GroundTruthData,
    representation_function: RepresentationFunction,
    num_votes: int,
    random_state: np.random.RandomState,
    global_variances: np.ndarray,
    active: np.ndarray,
    batch_size: int = 64,
    points_per_call: int = 32,
) -> np.ndarray:
    """FactorVAE votes `[num_factors, num_codes]` from `num_votes` fresh batches.

    Per vote, in this order: `k = random_state.randint(num_factors)`; factors
    of a batch of `batch_size`; factor k of every row set to row 0's value;
    observations. See `benchmark.metrics.factor_vae.factor_vae_votes`.
    """
    votes = np.zeros((dataset.num_factors, len(active)), dtype=np.int64)
    coder = factor_coder(representation_function)
    if coder is not None:  # same draws without rendering; every image encoded once
        fixed = np.empty(num_votes, dtype=np.int64)
        batches = np.empty((num_votes, batch_size, dataset.num_factors), dtype=np.int64)
        for index in range(num_votes):  # per vote: the reference's draw order
            fixed[index] = random_state.randint(dataset.num_factors)
            batches[index] = dataset.sample_factors(batch_size, random_state)
            batches[index, :, fixed[index]] = batches[index, 0, fixed[index]]
        codes = check_codes(coder(batches.reshape(-1, dataset.num_factors)), batches[..., 0].size)
        codes = codes.reshape(num_votes, batch_size, codes.shape[-1])
        return votes + factor_vae_votes(codes, fixed, global_variances, active, dataset.num_factors)
    for start in range(0, num_votes, points_per_call):
        stop = min(num_votes, start + points_per_call)
        fixed = np.empty(stop - start, dtype=np.int64)
        observations = []
        for offset in range(stop - start):  # per vote: the reference's draw order
            fixed[offset] = random_state.randint(dataset.num_factors)
            factors = dataset.sample_factors(batch_size, random_state)
            factors[:, fixed[offset]] = factors[0, fixed[offset]]
            observations.append(dataset.sample_observations_from_factors(factors, random_state))
        codes = represent(representation_function, np.concatenate(observations))
        codes = codes.reshape(stop - start, batch_size, codes.shape[-1])
        votes += factor_vae_votes(codes, fixed, global_variances, active, dataset.num_factors)
    return votes


def compute_factor_vae(
    dataset: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    num_variance_estimate: int = 10000,
    prune_threshold: float = 0.05,
    points_per_call: int = 32,
) -> dict[str, object]:
    """FactorVAE score: global variances, then `num_train` and `num_eval` votes.

    Global code variances (ddof 1) come from `num_variance_estimate` fresh
    observations (one `dataset.sample` call: all factors, then all
    observations; codes in chunks of 64). Dimensions with standard deviation
    `>= prune_threshold` are active. Pure numpy.

    Returns `factorvae_train_accuracy`, `factorvae_eval_accuracy` (0 when no
    dimension is active), `factorvae_num_active_dims_true` (the number of
    active dimensions) and `factorvae_num_active_dims_as_reported` (what
    disentanglement_lib reports as `num_active_dims`: the length of its mask,
    i.e. the number of codes, or 0 when none is active; kept for comparison
    with published numbers).
    """
    coder = factor_coder(representation_function)
    if coder is not None:  # the same draws: rendering takes nothing from random_state
        factors = dataset.sample_factors(num_variance_estimate, random_state)
        codes = check_codes(coder(factors), num_variance_estimate)
    else:
        _, observations = dataset.sample(num_variance_estimate, random_state)
        codes = np.concatenate(
            [
                represent(representation_function, observations[start : start + 64])
                for start in range(0, num_variance_estimate, 64)
            ]
        )
    global_variances = np.var(codes, axis=0, ddof=1)
    active = active_dims(global_variances, prune_threshold)
    if not active.any():
        return {
            "factorvae_train_accuracy": 0.0,
            "factorvae_eval_accuracy": 0.0,
            "factorvae_num_active_dims_true": 0,
            "factorvae_num_active_dims_as_reported": 0,
        }
    votes_train = sample_factor_vae_votes(
        dataset, representation_function, num_train, random_state, global_variances, active,
        batch_size, points_per_call,
    )  # fmt: skip
    votes_eval = sample_factor_vae_votes(
        dataset, representation_function, num_eval, random_state, global_variances, active,
        batch_size, points_per_call,
    )  # fmt: skip
    result = factor_vae_from_votes(votes_train, votes_eval)
    result["factorvae_num_active_dims_true"] = int(active.sum())
    result["factorvae_num_active_dims_as_reported"] = int(active.size)
    return result


METRIC = register_metric(
    MetricSpec(
        name="factor_vae",
        summary="FactorVAE score: majority vote of the least-varying code for a fixed factor (needs a data set)",
        keys=(
            Key("factorvae_train_accuracy"),
            Key("factorvae_eval_accuracy", "FactorVAE", HIGHER, headline=True, margin=0.05),
            Key("factorvae_num_active_dims_true"),
            Key("factorvae_num_active_dims_as_reported"),
        ),
        settings=(
            settings.BATCH_SIZE.with_default(64),
            settings.NUM_TRAIN,
            settings.NUM_EVAL,
            settings.Setting(
                "num_variance_estimate", 10000, settings.integer(2, settings.MAX_POINTS)
            ),
            settings.Setting("prune_threshold", 0.05, settings.number(0.0)),
            settings.POINTS_PER_CALL,
        ),
        sample=compute_factor_vae,
        order=50,
    )
)
