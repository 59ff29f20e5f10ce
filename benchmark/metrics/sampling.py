"""The thin sampling layer: draw points from a data set through a representation function.

Every function takes a legacy `numpy.random.RandomState` and draws from it in
the order disentanglement_lib does (documented in `shared/goldens/README.md`),
so the same seed gives the same points and the same scores. The arithmetic is
in the metric modules, as pure functions of the arrays drawn here.

A representation function maps observations `[n, *observation_shape]` to
codes `[n, num_codes]` and must be deterministic (for a VAE: the posterior
mean). It may be called on batches of any size.

The loops below are over sampled batches, not data points: the reference
interleaves its random draws batch by batch, and reproducing its numbers
means drawing in the same order. Codes are computed in large chunks.

A representation function may also offer `codes_of_factors(factors [n, K])
-> codes [n, num_codes]`: the codes of the images of those factors, for data
sets whose images are a pure function of their factors (rendering draws
nothing from `random_state`). Then only the factors are drawn here (the same
draws in the same order, since rendering consumed none) and the function
renders and encodes each distinct image once, in large batches, however
many metrics and batches ask for it (`benchmark.evaluation.encoding`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.metrics.beta_vae import beta_vae_features, beta_vae_from_features
from benchmark.metrics.dci import dci
from benchmark.metrics.factor_vae import active_dims, factor_vae_from_votes, factor_vae_votes
from benchmark.metrics.irs import irs
from benchmark.metrics.mig import mig
from benchmark.metrics.modularity_explicitness import modularity_explicitness
from benchmark.metrics.sap import sap
from benchmark.metrics.unsupervised import unsupervised

__all__ = [
    "RepresentationFunction",
    "compute_beta_vae",
    "compute_dci",
    "compute_factor_vae",
    "compute_irs",
    "compute_mig",
    "compute_modularity_explicitness",
    "compute_sap",
    "compute_unsupervised",
    "generate_batch_factor_code",
    "sample_beta_vae_features",
    "sample_factor_vae_votes",
    "sample_train_test",
]

RepresentationFunction = Callable[[np.ndarray], np.ndarray]
FactorCoder = Callable[[np.ndarray], np.ndarray]


def _factor_coder(representation_function: RepresentationFunction) -> FactorCoder | None:
    """The function's `codes_of_factors` (see the module docstring), or None."""
    return getattr(representation_function, "codes_of_factors", None)


def _represent(
    representation_function: RepresentationFunction, observations: np.ndarray
) -> np.ndarray:
    """Codes `[n, num_codes]` of observations `[n, ...]`; checks the function's output shape."""
    codes = np.asarray(representation_function(observations))
    if codes.ndim != 2 or codes.shape[0] != observations.shape[0]:
        raise ValueError(
            f"representation_function: expected codes of shape ({observations.shape[0]}, num_codes) "
            f"for {observations.shape[0]} observations, got shape {codes.shape}"
        )
    return codes


def _check_codes(codes: np.ndarray, num: int) -> np.ndarray:
    """`codes` as `[num, num_codes]`, or ValueError naming the shape `codes_of_factors` gave."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[0] != num:
        raise ValueError(
            f"codes_of_factors: expected codes of shape ({num}, num_codes), got shape {codes.shape}"
        )
    return codes


def generate_batch_factor_code(
    dataset: GroundTruthData,
    representation_function: RepresentationFunction,
    num_points: int,
    random_state: np.random.RandomState,
    batch_size: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """`(codes [num_points, num_codes], factors [num_points, num_factors])` of fresh points.

    Draws batches of `batch_size` (the last one smaller): per batch the
    factors, then the observations (`dataset.sample`). Unlike
    disentanglement_lib, which returns the transposes, arrays are
    `(num_points, dim)`.
    """
    coder = _factor_coder(representation_function)
    if coder is not None:  # rendering draws nothing: draw the factors alone, encode them once
        factors = [
            dataset.sample_factors(min(batch_size, num_points - start), random_state)
            for start in range(0, num_points, batch_size)
        ]
        factors_all = np.concatenate(factors) if factors else np.zeros((0, dataset.num_factors))
        return _check_codes(coder(factors_all), len(factors_all)), factors_all
    codes, factors = [], []
    for start in range(0, num_points, batch_size):  # batch by batch, to keep the draw order
        factor_batch, observations = dataset.sample(
            min(batch_size, num_points - start), random_state
        )
        factors.append(factor_batch)
        codes.append(_represent(representation_function, observations))
    return np.concatenate(codes), np.concatenate(factors)


def sample_train_test(
    dataset: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState,
    num_train: int = 10000,
    num_test: int | None = 5000,
    batch_size: int = 16,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """`(codes_train, factors_train, codes_test, factors_test)`: train points, then test points.

    Both come from the same `random_state`, train first, as the reference's
    metrics draw them; `num_test=None` draws no test points (None, None).
    """
    codes_train, factors_train = generate_batch_factor_code(
        dataset, representation_function, num_train, random_state, batch_size
    )
    if num_test is None:
        return codes_train, factors_train, None, None
    codes_test, factors_test = generate_batch_factor_code(
        dataset, representation_function, num_test, random_state, batch_size
    )
    return codes_train, factors_train, codes_test, factors_test


def compute_mig(
    dataset: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState,
    num_train: int = 10000,
    batch_size: int = 16,
    num_bins: int = 20,
) -> dict[str, object]:
    """MIG on `num_train` fresh points (see `benchmark.metrics.mig.mig`)."""
    codes, factors = generate_batch_factor_code(
        dataset, representation_function, num_train, random_state, batch_size
    )
    return mig(codes, factors, num_bins=num_bins)


def compute_modularity_explicitness(
    dataset: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = 16,
    num_bins: int = 20,
) -> dict[str, object]:
    """Modularity and explicitness on fresh train then test points."""
    arrays = sample_train_test(
        dataset, representation_function, random_state, num_train, num_test, batch_size
    )
    return modularity_explicitness(*arrays, num_bins=num_bins)


def compute_sap(
    dataset: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = 16,
) -> dict[str, object]:
    """SAP (discrete and continuous) on fresh train then test points."""
    arrays = sample_train_test(
        dataset, representation_function, random_state, num_train, num_test, batch_size
    )
    return sap(*arrays)


def compute_dci(
    dataset: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = 16,
    gbt_random_state: int | None = 0,
    n_jobs: int | None = None,
) -> dict[str, object]:
    """DCI on fresh train then test points (see `benchmark.metrics.dci.dci`)."""
    arrays = sample_train_test(
        dataset, representation_function, random_state, num_train, num_test, batch_size
    )
    return dci(*arrays, gbt_random_state=gbt_random_state, n_jobs=n_jobs)


def compute_irs(
    dataset: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState,
    num_train: int = 10000,
    batch_size: int = 16,
    diff_quantile: float = 0.99,
    num_bins: int = 20,
) -> dict[str, object]:
    """IRS on `num_train` fresh points."""
    codes, factors = generate_batch_factor_code(
        dataset, representation_function, num_train, random_state, batch_size
    )
    return irs(codes, factors, diff_quantile=diff_quantile, num_bins=num_bins)


def compute_unsupervised(
    dataset: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState,
    num_train: int = 10000,
    batch_size: int = 16,
    num_bins: int = 20,
) -> dict[str, object]:
    """Unsupervised scores on `num_train` fresh points (factors drawn but unused)."""
    codes, _ = generate_batch_factor_code(
        dataset, representation_function, num_train, random_state, batch_size
    )
    return unsupervised(codes, num_bins=num_bins)


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
    coder = _factor_coder(representation_function)
    if coder is not None:  # same draws without rendering; every image encoded once
        pairs = np.empty((2, num_points, batch_size, dataset.num_factors), dtype=np.int64)
        for index in range(num_points):  # per point: the reference's draw order
            labels[index] = random_state.randint(dataset.num_factors)
            pairs[0, index] = dataset.sample_factors(batch_size, random_state)
            pairs[1, index] = dataset.sample_factors(batch_size, random_state)
            pairs[1, index, :, labels[index]] = pairs[0, index, :, labels[index]]
        codes = _check_codes(coder(pairs.reshape(-1, dataset.num_factors)), pairs[..., 0].size)
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
        codes = _represent(representation_function, np.concatenate(first + second))
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
    coder = _factor_coder(representation_function)
    if coder is not None:  # same draws without rendering; every image encoded once
        fixed = np.empty(num_votes, dtype=np.int64)
        batches = np.empty((num_votes, batch_size, dataset.num_factors), dtype=np.int64)
        for index in range(num_votes):  # per vote: the reference's draw order
            fixed[index] = random_state.randint(dataset.num_factors)
            batches[index] = dataset.sample_factors(batch_size, random_state)
            batches[index, :, fixed[index]] = batches[index, 0, fixed[index]]
        codes = _check_codes(coder(batches.reshape(-1, dataset.num_factors)), batches[..., 0].size)
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
        codes = _represent(representation_function, np.concatenate(observations))
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
    coder = _factor_coder(representation_function)
    if coder is not None:  # the same draws: rendering takes nothing from random_state
        factors = dataset.sample_factors(num_variance_estimate, random_state)
        codes = _check_codes(coder(factors), num_variance_estimate)
    else:
        _, observations = dataset.sample(num_variance_estimate, random_state)
        codes = np.concatenate(
            [
                _represent(representation_function, observations[start : start + 64])
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
