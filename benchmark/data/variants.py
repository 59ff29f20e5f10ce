"""dSprites variants: `noisy_dsprites`, `color_dsprites` and `correlated_dsprites`."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from benchmark.data.dsprites import FACTOR_NAMES, FACTOR_SIZES, IMAGE_SIZE, DSprites, render
from benchmark.data.registry import register_dataset
from benchmark.errors import ArgumentError

__all__ = [
    "ColorDSprites",
    "CorrelatedDSprites",
    "NoisyDSprites",
    "pair_correlation",
    "pair_joint_probability",
]


@register_dataset("noisy_dsprites")
class NoisyDSprites(DSprites):
    """dSprites with uniform background noise: `min(x + U(0, 1), 1)` per pixel.

    Sprite pixels stay exactly 1; background pixels are U(0, 1). The noise is
    `random_state.uniform(0, 1, size=[N, 64, 64, 1])`, drawn after the factors
    (as disentanglement_lib's noisy dSprites does).
    """

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """`[N, 64, 64, 1]` float32 in [0, 1]."""
        clean = render(factors)
        noise = random_state.uniform(0.0, 1.0, size=clean.shape).astype(np.float32)
        # For binary `clean`, min(clean + noise, 1) == max(clean, noise), in one pass.
        return np.maximum(noise, clean, out=noise)


@register_dataset("color_dsprites")
class ColorDSprites(DSprites):
    """dSprites in colour: the sprite times one random RGB colour per image.

    Each channel of the colour is U(0.5, 1), drawn as
    `random_state.uniform(0.5, 1, size=[N, 1, 1, 3])` after the factors; the
    background stays 0. Observations are `[N, 64, 64, 3]`.
    """

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (IMAGE_SIZE, IMAGE_SIZE, 3)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """`[N, 64, 64, 3]` float32 in [0, 1]."""
        clean = render(factors)[..., 0]
        colour = random_state.uniform(0.5, 1.0, size=(clean.shape[0], 1, 1, 3))
        colour = colour.astype(np.float32)  # exact: clean is 0 or 1
        out = np.empty((*clean.shape, 3), dtype=np.float32)
        for channel in range(3):  # one pass per channel beats a length-3 broadcast
            np.multiply(clean, colour[..., channel], out=out[..., channel])
        return out


# Above this, sigma**2 overflows long before it changes the joint (u1 - u2 lies in [-1, 1]).
MAX_SIGMA = 1e6


def pair_joint_probability(size_1: int, size_2: int, sigma: float) -> np.ndarray:
    """`[size_1, size_2]` joint probability of a correlated factor pair.

    `p(c1, c2) ~ exp(-(u1 - u2)^2 / (2 sigma^2))` with `u = index / (size - 1)`,
    the factor values scaled to [0, 1] (Trauble et al. 2021, "On Disentangled
    Representations Learned from Correlated Data", ICML). `sigma = inf` gives
    the uniform (independent) joint. The marginals are not uniform for finite
    sigma: values near the ends of the range are rarer.
    """
    u1 = np.arange(size_1) / max(size_1 - 1, 1)
    u2 = np.arange(size_2) / max(size_2 - 1, 1)
    if math.isinf(sigma):
        joint = np.ones((size_1, size_2))
    else:
        joint = np.exp(-((u1[:, None] - u2[None, :]) ** 2) / (2.0 * sigma**2))
    return joint / joint.sum()


def pair_correlation(joint: np.ndarray) -> float:
    """Pearson correlation of the two factor indices under a `[n1, n2]` joint."""
    i1 = np.arange(joint.shape[0], dtype=np.float64)
    i2 = np.arange(joint.shape[1], dtype=np.float64)
    p1, p2 = joint.sum(axis=1), joint.sum(axis=0)
    m1, m2 = p1 @ i1, p2 @ i2
    cov = (i1 - m1) @ joint @ (i2 - m2)
    var1, var2 = p1 @ (i1 - m1) ** 2, p2 @ (i2 - m2) ** 2
    if var1 == 0 or var2 == 0:
        return 0.0
    return float(cov / math.sqrt(var1 * var2))


def _bad(argument: str, detail: str) -> ArgumentError:
    return ArgumentError(f"correlated_dsprites: {detail}", argument=argument, detail=detail)


@register_dataset("correlated_dsprites")
class CorrelatedDSprites(DSprites):
    """dSprites whose factor `pair` is drawn jointly, correlated with strength `sigma`.

    `p(c1, c2) ~ exp(-(u1 - u2)^2 / (2 sigma^2))` on the pair's values scaled
    to [0, 1] (`pair_joint_probability`, Trauble et al. 2021); smaller sigma
    means stronger correlation, `sigma=float('inf')` none. The other factors
    stay uniform and independent. Images are those of `dsprites`.

    Draw order of `sample_factors`: factors in order; at the column of
    `pair[0]`, `random_state.choice` over the flattened joint gives both; the
    other factors use `random_state.randint(size, size=num)`. With
    `sigma=inf` it draws exactly as `dsprites` does.

    Args:
      pair: two distinct factor names, default `("posX", "posY")`.
      sigma: > 0, default 0.2 (Pearson correlation about 0.78 for posX, posY).
    """

    def __init__(self, pair: Sequence[str] = ("posX", "posY"), sigma: float = 0.2) -> None:
        if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise _bad(
                "pair",
                f"pair must be two factor names from {', '.join(FACTOR_NAMES)}; got {pair!r}",
            )
        for name in pair:
            if name not in FACTOR_NAMES:
                raise _bad(
                    "pair",
                    f"unknown factor {name!r} in pair; factors: {', '.join(FACTOR_NAMES)}",
                )
        if pair[0] == pair[1]:
            raise _bad("pair", f"pair needs two different factors, got {tuple(pair)!r}")
        if (
            isinstance(sigma, bool)
            or not isinstance(sigma, numbers.Real)
            or math.isnan(sigma)
            or sigma <= 0
        ):
            raise _bad(
                "sigma", f"sigma must be a number > 0 (inf for no correlation), got {sigma!r}"
            )
        if math.isfinite(sigma) and sigma > MAX_SIGMA:
            raise _bad(
                "sigma",
                f"sigma must be at most {MAX_SIGMA:,.0f} (inf for no correlation; at 1,000 the "
                f"pair is already independent to 6 digits), got {sigma!r}",
            )
        self.pair: tuple[str, str] = (str(pair[0]), str(pair[1]))
        self.sigma = float(sigma)
        self._columns = (FACTOR_NAMES.index(pair[0]), FACTOR_NAMES.index(pair[1]))
        self.joint_probability = pair_joint_probability(
            FACTOR_SIZES[self._columns[0]], FACTOR_SIZES[self._columns[1]], self.sigma
        )
        self.joint_probability.setflags(write=False)

    @property
    def implied_correlation(self) -> float:
        """Pearson correlation of the pair implied by `sigma` on the grid."""
        return pair_correlation(self.joint_probability)

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """`[num, 5]` int64 factors; the pair jointly, the others uniform (see class doc)."""
        if math.isinf(self.sigma):
            return super().sample_factors(num, random_state)
        first, second = self._columns
        size_2 = self.joint_probability.shape[1]
        factors = np.zeros((num, self.num_factors), dtype=np.int64)
        for k, size in enumerate(self.factor_sizes):
            if k == first:
                flat = random_state.choice(
                    self.joint_probability.size, size=num, p=self.joint_probability.ravel()
                )
                factors[:, first], factors[:, second] = np.divmod(flat, size_2)
            elif k != second:
                factors[:, k] = random_state.randint(size, size=num)
        return factors
