"""The ground-truth data interface every data set implements."""

from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np

from benchmark.errors import UserInputError

__all__ = ["GroundTruthData", "check_observations"]


class GroundTruthData(abc.ABC):
    """A data set generated from known, independent discrete factors.

    Factors are integer indices `0 .. factor_sizes[k] - 1`, laid out as
    `[num_points, num_factors]` int64. Observations are float32 arrays of shape
    `[num_points, *observation_shape]`.

    All randomness comes from the `random_state` argument (a legacy
    `numpy.random.RandomState`), so sampling-based metrics reproduce
    disentanglement_lib's draws exactly for the same seed.

    A data set declares its observations' dtype and closed value range
    (`observation_dtype`, `observation_range`): float32 in [0, 1] unless it
    says otherwise, which is what the models' Bernoulli decoder assumes. The
    training stream checks the first batch against them (`check_observations`).
    """

    observation_dtype: ClassVar[type] = np.float32
    observation_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    #: True for data sets read from files the user has (large: the standard ones hold
    #: 17,568 to 1,036,800 images); their size is then not worked out at load time.
    reads_files: ClassVar[bool] = False

    @classmethod
    def validate_args(cls, **kwargs: object) -> tuple[int, ...]:
        """Checks keyword arguments cheaply, before any training; returns the observation shape.

        The default builds the data set (cheap for the procedural ones). Data
        sets that load files override it to check the file without reading
        its data. Raises `UserInputError` (an `ArgumentError` when one
        argument is to blame).
        """
        return tuple(cls(**kwargs).observation_shape)

    @classmethod
    def num_combinations(cls, **kwargs: object) -> int | None:
        """How many distinct factor combinations (images) the data set has, known at load time.

        Procedural data sets are built (cheap) and give the product of their
        factor sizes; data sets that read files (`reads_files`) give None.
        Load-time checks use it to refuse settings that need more distinct
        images than the data set has.
        """
        if cls.reads_files:
            return None
        return int(np.prod(cls(**kwargs).factor_sizes, dtype=np.float64))

    # Factors Chen et al. (2018) leave out of their MIG on this data set (dSprites: shape,
    # their appendix); the posterior MIG is also reported without them (`posterior_mig_chen`).
    chen_mig_excluded_factors: tuple[str, ...] = ()

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


def check_observations(dataset: GroundTruthData, observations: np.ndarray, name: str = "") -> None:
    """UserInputError unless `observations` have the dtype and range `dataset` declares."""
    what = f"data set {name or type(dataset).__name__}"
    observations = np.asarray(observations)
    if observations.dtype != np.dtype(dataset.observation_dtype):
        raise UserInputError(
            f"{what}: observations are {observations.dtype}, "
            f"expected {np.dtype(dataset.observation_dtype)} as it declares"
        )
    low, high = dataset.observation_range
    if observations.size and not (
        np.all(np.isfinite(observations)) or (np.isinf(low) and np.isinf(high))
    ):
        raise UserInputError(f"{what}: observations contain non-finite values")
    if observations.size and (observations.min() < low or observations.max() > high):
        raise UserInputError(
            f"{what}: observations range over [{observations.min():g}, {observations.max():g}], "
            f"expected values in [{low:g}, {high:g}] as it declares"
        )
