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

__all__ = [
    "RepresentationFunction",
    "check_codes",
    "factor_coder",
    "generate_batch_factor_code",
    "represent",
    "sample_train_test",
]

RepresentationFunction = Callable[[np.ndarray], np.ndarray]
FactorCoder = Callable[[np.ndarray], np.ndarray]


def factor_coder(representation_function: RepresentationFunction) -> FactorCoder | None:
    """The function's `codes_of_factors` (see the module docstring), or None."""
    return getattr(representation_function, "codes_of_factors", None)


def represent(
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


def check_codes(codes: np.ndarray, num: int) -> np.ndarray:
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
    coder = factor_coder(representation_function)
    if coder is not None:  # rendering draws nothing: draw the factors alone, encode them once
        factors = [
            dataset.sample_factors(min(batch_size, num_points - start), random_state)
            for start in range(0, num_points, batch_size)
        ]
        factors_all = np.concatenate(factors) if factors else np.zeros((0, dataset.num_factors))
        return check_codes(coder(factors_all), len(factors_all)), factors_all
    codes, factors = [], []
    for start in range(0, num_points, batch_size):  # batch by batch, to keep the draw order
        factor_batch, observations = dataset.sample(
            min(batch_size, num_points - start), random_state
        )
        factors.append(factor_batch)
        codes.append(represent(representation_function, observations))
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


# BetaVAE's and FactorVAE's sampling moved into their own modules (one file per metric);
# the names stay importable from here for existing callers.
_MOVED = {
    "compute_beta_vae": "benchmark.metrics.beta_vae",
    "sample_beta_vae_features": "benchmark.metrics.beta_vae",
    "compute_factor_vae": "benchmark.metrics.factor_vae",
    "sample_factor_vae_votes": "benchmark.metrics.factor_vae",
}


def __getattr__(name: str) -> object:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
