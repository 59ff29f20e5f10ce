"""`dsprites`: dSprites-like 64x64 binary images rendered from the five dSprites factors.

Factors (Matthey et al. 2017, the dSprites file without its one-valued colour
factor), in this order, with the file's values:

| factor        | size | values                          |
|---------------|------|---------------------------------|
| `shape`       | 3    | 1 square, 2 ellipse, 3 heart    |
| `scale`       | 6    | `linspace(0.5, 1, 6)`           |
| `orientation` | 40   | `linspace(0, 2*pi, 40)` radians |
| `posX`        | 32   | `linspace(0, 1, 32)`            |
| `posY`        | 32   | `linspace(0, 1, 32)`            |

3 * 6 * 40 * 32 * 32 = 737,280 combinations, numbered as in the file (posY
fastest): `factors_to_index` and `index_to_factors`.

Orientation is only partly identifiable: the square looks the same every 90
degrees and the ellipse every 180 degrees, and orientation values 0 and 2*pi
(indices 0 and 39) draw the same image for every shape. Only the heart shows
its full angle. Scores that involve orientation are bounded by this.

Geometry (pixel centres at integer coordinates 0..63, x to the right, y down):

- A sprite's centre sits at pixel coordinate `8.5 + 46.5 * pos` for posX
  (column) and posY (row): positions step 1.5 px over [8.5, 55], the central
  three quarters of the frame.
- At scale s every point of a sprite lies within `8.75 * s` px of its centre,
  so the largest sprite at any orientation and position is never clipped.
  Square: half side `8.75 s / sqrt(2)`. Ellipse: semi-axes `8.75 s` and
  `4.375 s`, long axis horizontal at orientation 0. Heart: the curve
  `(x^2 + y^2 - 1)^3 = x^2 y^3`, lobes up, rotated about its centroid.
- Orientation turns the sprite counter-clockwise as seen on screen.
- A pixel is 1 when its centre lies inside the shape, else 0 (no antialiasing).

Rendering is a paste of cached sprite masks: for each (shape, scale,
orientation, x phase, y phase), 3 * 6 * 40 * 2 * 2 masks of 18 x 18 px are
drawn once per process and copied into the frame with one fancy-indexed
assignment per call. `render_reference` evaluates the same shape tests on the
full frame and is the slow reference that tests compare against.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from benchmark.data.base import GroundTruthData
from benchmark.data.grid import check_factors, factors_to_flat, flat_to_factors
from benchmark.data.registry import register_dataset

__all__ = [
    "FACTOR_NAMES",
    "FACTOR_SIZES",
    "FACTOR_VALUES",
    "IMAGE_SIZE",
    "NUM_COMBINATIONS",
    "SHAPE_NAMES",
    "DSprites",
    "factors_to_index",
    "index_to_factors",
    "position_px",
    "render",
    "render_reference",
]

FACTOR_NAMES: tuple[str, ...] = ("shape", "scale", "orientation", "posX", "posY")
SHAPE_NAMES: tuple[str, ...] = ("square", "ellipse", "heart")
FACTOR_SIZES: tuple[int, ...] = (3, 6, 40, 32, 32)
NUM_COMBINATIONS: int = math.prod(FACTOR_SIZES)  # 737,280


def _frozen(values: np.ndarray) -> np.ndarray:
    values.setflags(write=False)
    return values


FACTOR_VALUES: tuple[np.ndarray, ...] = (
    _frozen(np.array([1.0, 2.0, 3.0])),
    _frozen(np.linspace(0.5, 1.0, 6)),
    _frozen(np.linspace(0.0, 2.0 * np.pi, 40)),
    _frozen(np.linspace(0.0, 1.0, 32)),
    _frozen(np.linspace(0.0, 1.0, 32)),
)

IMAGE_SIZE = 64
POSITION_START_PX = 8.5  # centre pixel coordinate at pos = 0
POSITION_SPAN_PX = 46.5  # 31 steps of 1.5 px
SPRITE_RADIUS_PX = 8.75  # every point of a scale-1 sprite lies this close to its centre
ELLIPSE_ASPECT = 0.5  # minor / major semi-axis
# The heart (x^2 + y^2 - 1)^3 <= x^2 y^3 has its centroid at (0, HEART_CENTROID_Y);
# its farthest point from there is the bottom tip (0, -1), HEART_RADIUS away.
HEART_CENTROID_Y = 0.29348
HEART_RADIUS = 1.0 + HEART_CENTROID_Y
_BOX = 18  # side of a cached sprite mask in pixels

# cos/sin per orientation index, computed once so the cached and reference paths
# use bit-identical numbers.
_COS = _frozen(np.cos(FACTOR_VALUES[2]))
_SIN = _frozen(np.sin(FACTOR_VALUES[2]))


def factors_to_index(factors: ArrayLike) -> np.ndarray:
    """`[N]` int64 dSprites flat indices of `[N, 5]` factor indices (posY fastest).

    Equals the row of the dSprites file (whose colour factor has one value).
    """
    return factors_to_flat(factors, FACTOR_SIZES, FACTOR_NAMES)


def index_to_factors(index: ArrayLike) -> np.ndarray:
    """`[N, 5]` int64 factor indices of `[N]` flat indices in `0 .. 737279`."""
    return flat_to_factors(index, FACTOR_SIZES)


def position_px(position_index: ArrayLike) -> np.ndarray:
    """Centre pixel coordinate of posX/posY indices: `8.5 + 1.5 * index`."""
    values = FACTOR_VALUES[3][np.asarray(position_index)]
    return POSITION_START_PX + POSITION_SPAN_PX * values


def _inside(
    shape: int, radius: np.ndarray, cos: np.ndarray, sin: np.ndarray, dx: np.ndarray, dy: np.ndarray
) -> np.ndarray:
    """Whether pixel offsets `(dx, dy)` from a sprite centre fall inside the sprite.

    All arrays broadcast together; `radius` is `SPRITE_RADIUS_PX * scale` in
    px, `cos`/`sin` of the orientation, `dy` points down the image.
    """
    up = -dy
    u = (cos * dx + sin * up) / radius  # undo the counter-clockwise rotation
    v = (cos * up - sin * dx) / radius
    if shape == 0:  # square, corners on the unit circle
        return np.maximum(np.abs(u), np.abs(v)) <= 1.0 / math.sqrt(2.0)
    if shape == 1:  # ellipse, long axis along u
        return u * u + (v / ELLIPSE_ASPECT) ** 2 <= 1.0
    hx = u * HEART_RADIUS
    hy = v * HEART_RADIUS + HEART_CENTROID_Y
    return (hx * hx + hy * hy - 1.0) ** 3 - hx * hx * hy**3 <= 0.0


@dataclass(frozen=True)
class _SpriteCache:
    masks: np.ndarray  # [3 * 6 * 40 * P * P, BOX, BOX] float32, P phases per axis
    origin: np.ndarray  # [32] top-left pixel of the mask box for each position index
    phase: np.ndarray  # [32] phase index of each position index
    num_phases: int


@functools.lru_cache(maxsize=1)
def _sprite_cache() -> _SpriteCache:
    """Draws every (shape, scale, orientation, y phase, x phase) mask once per process."""
    centre = position_px(np.arange(FACTOR_SIZES[3]))
    origin = np.ceil(centre - _BOX / 2).astype(np.int64)
    offsets, phase = np.unique(centre - origin, return_inverse=True)  # centre within the box
    grid = np.arange(_BOX, dtype=np.float64)
    # axes: [scale, orientation, y phase, x phase, row, column]
    dy = grid[None, None, None, None, :, None] - offsets[None, None, :, None, None, None]
    dx = grid[None, None, None, None, None, :] - offsets[None, None, None, :, None, None]
    radius = (SPRITE_RADIUS_PX * FACTOR_VALUES[1])[:, None, None, None, None, None]
    cos = _COS[None, :, None, None, None, None]
    sin = _SIN[None, :, None, None, None, None]
    masks = np.stack([_inside(s, radius, cos, sin, dx, dy) for s in range(3)])
    masks = masks.astype(np.float32).reshape(-1, _BOX, _BOX)
    masks.setflags(write=False)
    return _SpriteCache(masks, origin, phase.astype(np.int64), len(offsets))


def render(factors: ArrayLike) -> np.ndarray:
    """`[N, 64, 64, 1]` float32 images of 0s and 1s for `[N, 5]` factor indices.

    Deterministic: the same factors give the same images.
    """
    f = check_factors(factors, FACTOR_SIZES, FACTOR_NAMES, "dsprites")
    cache = _sprite_cache()
    num = f.shape[0]
    sizes = (*FACTOR_SIZES[:3], cache.num_phases, cache.num_phases)
    kind = np.ravel_multi_index(
        (f[:, 0], f[:, 1], f[:, 2], cache.phase[f[:, 4]], cache.phase[f[:, 3]]), sizes
    )
    out = np.zeros((num, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(
        out, (_BOX, _BOX), axis=(1, 2), writeable=True
    )
    # One window per image, so the written windows never overlap.
    windows[np.arange(num), cache.origin[f[:, 4]], cache.origin[f[:, 3]]] = cache.masks[kind]
    return out[..., None]


def render_reference(factors: ArrayLike) -> np.ndarray:
    """Slow reference for `render`: the shape tests on every pixel of the frame.

    Same output, `[N, 64, 64, 1]` float32; evaluates `N * 64 * 64` points.
    """
    f = check_factors(factors, FACTOR_SIZES, FACTOR_NAMES, "dsprites")
    grid = np.arange(IMAGE_SIZE, dtype=np.float64)
    dx = grid[None, None, :] - position_px(f[:, 3])[:, None, None]
    dy = grid[None, :, None] - position_px(f[:, 4])[:, None, None]
    radius = (SPRITE_RADIUS_PX * FACTOR_VALUES[1][f[:, 1]])[:, None, None]
    cos = _COS[f[:, 2]][:, None, None]
    sin = _SIN[f[:, 2]][:, None, None]
    out = np.zeros((f.shape[0], IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for shape in range(3):
        rows = f[:, 0] == shape
        if rows.any():
            out[rows] = _inside(shape, radius[rows], cos[rows], sin[rows], dx[rows], dy[rows])
    return out[..., None]


@register_dataset("dsprites")
class DSprites(GroundTruthData):
    """dSprites-like images: a white shape on black, 64 x 64 x 1, pixels exactly 0 or 1.

    Factors `shape, scale, orientation, posX, posY` with sizes (3, 6, 40, 32,
    32) and the dSprites file's values (`factor_values`). Observations do not
    use `random_state`. See the module docstring for the geometry and the
    orientation symmetries (square: 90 degrees, ellipse: 180 degrees).
    """

    # Factors of the fixed image in `disbench data preview` sweeps: a large
    # upright heart near the centre.
    preview_reference: tuple[int, ...] = (2, 5, 0, 15, 15)
    chen_mig_excluded_factors = ("shape",)

    @property
    def factor_names(self) -> tuple[str, ...]:
        return FACTOR_NAMES

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return FACTOR_SIZES

    @property
    def factor_values(self) -> tuple[np.ndarray, ...]:
        """Value of every factor index, as in the file's `latents_values`."""
        return FACTOR_VALUES

    @property
    def factor_value_names(self) -> dict[str, tuple[str, ...]]:
        """Names of the values of categorical factors: `{"shape": SHAPE_NAMES}`."""
        return {"shape": SHAPE_NAMES}

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (IMAGE_SIZE, IMAGE_SIZE, 1)

    @property
    def observations_depend_only_on_factors(self) -> bool:
        """True unless a subclass renders its own way (noise or colour draw from `random_state`)."""
        return (
            type(self).sample_observations_from_factors is DSprites.sample_observations_from_factors
        )

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """`[N, 64, 64, 1]` float32 binary images; `random_state` is not used."""
        return render(factors)
