"""`dsprites32`: the dSprites grid rendered at 32 x 32, each pixel the mean of a 2 x 2 block.

The same five factors, sizes and values as `dsprites` (737,280 images); an
image is `render(factors)` (64 x 64, binary) averaged over non-overlapping
2 x 2 blocks, so pixels take the values 0, 0.25, 0.5, 0.75 and 1 and the
Bernoulli likelihood reads them as probabilities (as the continuous
observations of Shapes3D are read). A quarter of the pixels makes an fc
network's first and last layer four times cheaper; positions still step by
0.75 px, so every posX and posY value draws a different image. This is a
dSprites-like data set, not the dSprites file: numbers from it are compared
with published dSprites numbers only with that said.
"""

from __future__ import annotations

import numpy as np

from benchmark.data.dsprites import IMAGE_SIZE, DSprites, render
from benchmark.data.registry import register_dataset

__all__ = ["SMALL_IMAGE_SIZE", "DSprites32", "render_small"]

SMALL_IMAGE_SIZE = IMAGE_SIZE // 2


def render_small(factors: np.ndarray) -> np.ndarray:
    """`[N, 32, 32, 1]` float32 in {0, 0.25, 0.5, 0.75, 1} for `[N, 5]` factor indices."""
    full = render(factors)[..., 0]
    blocks = full.reshape(-1, SMALL_IMAGE_SIZE, 2, SMALL_IMAGE_SIZE, 2)
    return blocks.mean(axis=(2, 4), dtype=np.float32)[..., None]


@register_dataset("dsprites32")
class DSprites32(DSprites):
    """dSprites-like images at 32 x 32 x 1: the 64 x 64 render averaged over 2 x 2 blocks."""

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (SMALL_IMAGE_SIZE, SMALL_IMAGE_SIZE, 1)

    @property
    def observations_depend_only_on_factors(self) -> bool:
        """Rendering draws nothing from `random_state`."""
        return True

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """`[N, 32, 32, 1]` float32; `random_state` is not used."""
        return render_small(factors)
