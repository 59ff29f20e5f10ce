"""`toy`: four discrete factors plus Gaussian noise, the process behind the metric goldens."""

from __future__ import annotations

import numbers

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.data.registry import register_dataset
from benchmark.errors import ArgumentError

__all__ = ["ToyData"]

# Factor values enter the observation as floats next to unit Gaussian noise; a million
# values per factor is far beyond any metric test, and at most 16 factors.
MAX_FACTOR_SIZE = 1_000_000
MAX_FACTORS = 16


def _checked_sizes(factor_sizes: object) -> tuple[int, ...]:
    """`factor_sizes` as a tuple of 1 to 16 integers in `1 .. MAX_FACTOR_SIZE` (else one line)."""
    expected = (
        f"expected a list of 1 to {MAX_FACTORS} integers from 1 to {MAX_FACTOR_SIZE:,}, "
        f"got {factor_sizes!r}"
    )
    items = list(factor_sizes) if isinstance(factor_sizes, list | tuple) else None
    if not items or len(items) > MAX_FACTORS:
        raise ArgumentError(
            f"toy: factor_sizes: {expected}", argument="factor_sizes", detail=expected
        )
    for size in items:
        whole = isinstance(size, numbers.Integral) and not isinstance(size, bool)
        if not whole or not 1 <= size <= MAX_FACTOR_SIZE:
            raise ArgumentError(
                f"toy: factor_sizes: {expected}", argument="factor_sizes", detail=expected
            )
    return tuple(int(s) for s in items)


@register_dataset("toy")
class ToyData(GroundTruthData):
    """Four independent uniform factors with sizes (3, 6, 10, 8).

    An observation is a 12-vector: the 4 factor values as floats followed by 8
    independent standard normal numbers `eps_0 .. eps_7` drawn with
    `random_state.normal(size=(num, 8))`. This is the process documented in
    the goldens README (`shared/goldens/README.md`), so representation
    functions of these observations reproduce disentanglement_lib's values.
    """

    num_noise = 8
    # Factor values and Gaussian noise, as the goldens' process draws them: not images.
    observation_dtype = np.float64
    observation_range = (-np.inf, np.inf)

    def __init__(self, factor_sizes: tuple[int, ...] | list[int] = (3, 6, 10, 8)) -> None:
        self._factor_sizes = _checked_sizes(factor_sizes)

    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(f"factor_{k}" for k in range(len(self._factor_sizes)))

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return self._factor_sizes

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (len(self._factor_sizes) + self.num_noise,)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        factors = np.asarray(factors)
        eps = random_state.normal(size=(factors.shape[0], self.num_noise))
        return np.concatenate([factors.astype(np.float64), eps], axis=1)
