"""The ground-truth data interface every data set implements."""

from __future__ import annotations

import abc

import numpy as np

__all__ = ["GroundTruthData"]


class GroundTruthData(abc.ABC):
    """A data set generated from known, independent discrete factors.

    Factors are integer indices `0 .. factor_sizes[k] - 1`, laid out as
    `[num_points, num_factors]` int64. Observations are float32 arrays of shape
    `[num_points, *observation_shape]`.

    All randomness comes from the `random_state` argument (a legacy
    `numpy.random.RandomState`), so sampling-based metrics reproduce
    disentanglement_lib's draws exactly for the same seed.
    """

    @classmethod
    def validate_args(cls, **kwargs: object) -> tuple[int, ...]:
        """Checks keyword arguments cheaply, before any training; returns the observation shape.

        The default builds the data set (cheap for the procedural ones). Data
        sets that load files override it to check the file without reading
        its data. Raises `UserInputError` (an `ArgumentError` when one
        argument is to blame).
        """
        return tuple(cls(**kwargs).observation_shape)

    @property
    @abc.abstractmethod
    def factor_names(self) -> tuple[str, ...]:
        """One name per factor, e.g. ('shape', 'scale', ...)."""

    @property
    @abc.abstractmethod
    def factor_sizes(self) -> tuple[int, ...]:
        """Number of values of each factor."""

    @property
    @abc.abstractmethod
    def observation_shape(self) -> tuple[int, ...]:
        """Shape of one observation, e.g. (64, 64, 1)."""

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    @property
    def observations_depend_only_on_factors(self) -> bool:
        """True when `sample_observations_from_factors` is a pure function of the factors.

        Such a data set draws nothing from `random_state` when rendering, so
        evaluation may render and encode each factor combination once
        (`benchmark.evaluation.encoding`) without moving any draw. False
        unless a data set declares it.
        """
        return False

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """`[num, num_factors]` int64 factors, each uniform and independent.

        Draw order (matches disentanglement_lib): for each factor k in order,
        `random_state.randint(factor_sizes[k], size=num)`.
        """
        factors = np.zeros((num, self.num_factors), dtype=np.int64)
        for k, size in enumerate(self.factor_sizes):
            factors[:, k] = random_state.randint(size, size=num)
        return factors

    @abc.abstractmethod
    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Observations `[num, *observation_shape]` float32 for `[num, num_factors]` factors."""

    def sample(
        self, num: int, random_state: np.random.RandomState
    ) -> tuple[np.ndarray, np.ndarray]:
        """`(factors, observations)` for `num` points: factors first, then observations."""
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)
