"""`toy`: four discrete factors plus Gaussian noise, the process behind the metric goldens."""

from __future__ import annotations

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.data.registry import register_dataset

__all__ = ["ToyData"]


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
        sizes = tuple(int(s) for s in factor_sizes)
        if not sizes or any(s < 1 for s in sizes):
            raise ValueError(f"toy: factor_sizes must be positive integers, got {factor_sizes!r}")
        self._factor_sizes = sizes

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
