"""Loaders for the standard benchmark files a user already has: Shapes3D, MPI3D, Cars3D.

Nothing is downloaded. Factor names, sizes and index order follow
google-research/disentanglement_lib (`data/ground_truth/{shapes3d,mpi3d,cars3d}.py`);
images are returned as float32 in [0, 1], `[N, 64, 64, 3]`. A missing,
truncated or differently shaped file raises `UserInputError`: one line naming
the file and what was expected, at construction (before any training).

The real files:

| data set | file | contents |
|---|---|---|
| `shapes3d` | `3dshapes.h5` (HDF5; needs `pip install h5py`, extra `[datasets]`) | `images` `[480000, 64, 64, 3]` uint8, `labels` `[480000, 6]` float64; factors floor_hue 10, wall_hue 10, object_hue 10, scale 8, shape 4, orientation 15, rows in that order (last fastest) |
| `mpi3d` | `mpi3d_toy.npz`, `mpi3d_realistic.npz` or `mpi3d_real.npz` | `images` `[1036800, 64, 64, 3]` uint8 (sizes 6, 6, 2, 3, 3, 40, 40), or `[460800, 64, 64, 3]` for the 4-colour, 4-shape release disentanglement_lib used for toy and realistic (4, 4, 2, 3, 3, 40, 40); factors object_color, object_shape, object_size, camera_height, background_color, horizontal_axis, vertical_axis, last fastest |
| `cars3d` | a folder of 183 `*.mat` files (`car_001_mesh.mat`, ...) | each holds `im` `[128, 128, 3, 24, 4]` uint8 (height, width, RGB, azimuth, elevation), shrunk to 64 x 64 like the reference (PIL thumbnail, Lanczos); factors elevation 4, azimuth 24, object_type 183 (files in sorted name order) |
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.data.grid import factors_to_flat
from benchmark.data.registry import register_dataset
from benchmark.errors import UserInputError

__all__ = ["CARS3D_FACTORS", "Cars3D", "MPI3D", "MPI3D_FACTORS", "SHAPES3D_FACTORS", "Shapes3D"]

SHAPES3D_FACTORS = (
    ("floor_hue", 10), ("wall_hue", 10), ("object_hue", 10),
    ("scale", 8), ("shape", 4), ("orientation", 15),
)  # fmt: skip
MPI3D_FACTORS = (
    ("object_color", 6), ("object_shape", 6), ("object_size", 2), ("camera_height", 3),
    ("background_color", 3), ("horizontal_axis", 40), ("vertical_axis", 40),
)  # fmt: skip
CARS3D_FACTORS = (("elevation", 4), ("azimuth", 24), ("object_type", 183))
_IMAGE_SHAPE = (64, 64, 3)


class _ImageGrid(GroundTruthData):
    """Images stored in factor-grid order (last factor fastest), uint8 or lazily read."""

    _names: tuple[str, ...]
    _sizes: tuple[int, ...]

    @property
    def factor_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return self._sizes

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return _IMAGE_SHAPE

    def _rows(self, rows: np.ndarray) -> np.ndarray:
        """uint8 images `[len(rows), 64, 64, 3]` of grid rows."""
        return self._images[rows]

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """`[N, 64, 64, 3]` float32 in [0, 1] for `[N, num_factors]` factor indices."""
        rows = factors_to_flat(factors, self._sizes, self._names)
        return self._rows(rows).astype(np.float32) / np.float32(255.0)


def _sizes_or_default(
    sizes: tuple[int, ...] | None, factors: tuple[tuple[str, int], ...], name: str
) -> tuple[int, ...]:
    if sizes is None:
        return tuple(s for _, s in factors)
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) != len(factors) or min(sizes) < 1:
        raise UserInputError(
            f"{name}: factor_sizes: expected {len(factors)} positive sizes, got {list(sizes)}"
        )
    return sizes


def _check_images(path: Path, name: str, shape: tuple[int, ...], dtype: object, num: int) -> None:
    expected = f"[{num}, 64, 64, 3] uint8"
    if tuple(shape) != (num, *_IMAGE_SHAPE) or np.dtype(dtype) != np.uint8:
        raise UserInputError(
            f"{path}: {name}: expected {expected}, got {np.dtype(dtype)} {list(shape)}"
        )


@register_dataset("shapes3d")
class Shapes3D(_ImageGrid):
    """Shapes3D (Burgess & Kim 2018) from `3dshapes.h5`; images are read from the file on demand.

    `factor_sizes` exists for tests that write small files in the real format
    (same factors, fewer values); leave it unset for the real file.
    """

    def __init__(self, path: str, factor_sizes: tuple[int, ...] | None = None) -> None:
        self.path = Path(path).expanduser()
        self._names = tuple(n for n, _ in SHAPES3D_FACTORS)
        self._sizes = _sizes_or_default(factor_sizes, SHAPES3D_FACTORS, "shapes3d")
        num_images = math.prod(self._sizes)
        expected = f"expected the Shapes3D HDF5 file with images [{num_images}, 64, 64, 3] uint8"
        if not self.path.is_file():
            raise UserInputError(f"{self.path}: no such file; {expected}")
        try:
            import h5py
        except ImportError:
            raise UserInputError(
                f"{self.path}: reading Shapes3D needs the package h5py, which is not installed "
                "(pip install 'disbench[datasets]' or pip install h5py)"
            ) from None
        try:
            handle = h5py.File(self.path, "r")
        except OSError as error:
            raise UserInputError(
                f"{self.path}: not a readable HDF5 file ({error}); {expected}"
            ) from None
        if "images" not in handle:
            keys = ", ".join(sorted(handle.keys())) or "none"
            handle.close()
            raise UserInputError(f"{self.path}: no dataset 'images' (found: {keys}); {expected}")
        images = handle["images"]
        _check_images(self.path, "images", images.shape, images.dtype, num_images)
        try:
            images[-1]  # a truncated file fails here, not during training
        except (OSError, ValueError) as error:
            handle.close()
            raise UserInputError(
                f"{self.path}: images: could not be read to the end ({error})"
            ) from None
        self._handle, self._images = handle, images

    def _rows(self, rows: np.ndarray) -> np.ndarray:
        # HDF5 reads need increasing, distinct indices: read those, then put them in order.
        unique, inverse = np.unique(rows, return_inverse=True)
        return self._images[unique][inverse]


def _read_npz_images(path: Path, expected: str) -> np.ndarray:
    if not path.is_file():
        raise UserInputError(f"{path}: no such file; {expected}")
    if not zipfile.is_zipfile(path):
        raise UserInputError(f"{path}: not an npz file (not a zip archive); {expected}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "images" not in data.files:
                found = ", ".join(sorted(data.files)) or "none"
                raise UserInputError(f"{path}: missing array 'images' (found: {found}); {expected}")
            return data["images"]
    except UserInputError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise UserInputError(
            f"{path}: array 'images' could not be read ({error}); {expected}"
        ) from None


@register_dataset("mpi3d")
class MPI3D(_ImageGrid):
    """MPI3D (Gondal et al. 2019) from an `mpi3d_*.npz` holding `images`.

    The factor sizes follow the number of images: 1,036,800 gives object
    colour and shape 6 values each; 460,800 gives 4 each (the release
    disentanglement_lib used for mpi3d_toy and mpi3d_realistic). Tests writing
    small files pass `factor_sizes`.
    """

    def __init__(self, path: str, factor_sizes: tuple[int, ...] | None = None) -> None:
        self.path = Path(path).expanduser()
        expected = (
            "expected an MPI3D npz with images [1036800, 64, 64, 3] or [460800, 64, 64, 3] uint8"
        )
        images = _read_npz_images(self.path, expected)
        self._names = tuple(n for n, _ in MPI3D_FACTORS)
        if factor_sizes is None:
            values = {1036800: 6, 460800: 4}.get(images.shape[0] if images.ndim else -1)
            if values is None:
                raise UserInputError(
                    f"{self.path}: images: {expected}, got {images.dtype} {list(images.shape)}"
                )
            factor_sizes = (values, values, *(s for _, s in MPI3D_FACTORS[2:]))
        self._sizes = _sizes_or_default(factor_sizes, MPI3D_FACTORS, "mpi3d")
        _check_images(self.path, "images", images.shape, images.dtype, math.prod(self._sizes))
        self._images = images


def _load_car(path: Path) -> np.ndarray:
    """`[96, 64, 64, 3]` uint8: one car's images, row = azimuth * 4 + elevation, shrunk to 64."""
    import PIL.Image
    import scipy.io

    expected = "expected a Cars3D .mat file with im [128, 128, 3, 24, 4] uint8"
    try:
        mesh = scipy.io.loadmat(str(path))["im"]
    except KeyError:
        raise UserInputError(f"{path}: no array 'im'; {expected}") from None
    except (ValueError, OSError, TypeError) as error:
        raise UserInputError(f"{path}: could not be read ({error}); {expected}") from None
    if mesh.ndim != 5 or mesh.shape[2:] != (3, 24, 4) or mesh.dtype != np.uint8:
        raise UserInputError(f"{path}: im: {expected}, got {mesh.dtype} {list(mesh.shape)}")
    flat = np.einsum("abcde->deabc", mesh).reshape(-1, *mesh.shape[:3])
    shrunk = np.zeros((len(flat), *_IMAGE_SHAPE), np.uint8)
    for i, picture in enumerate(flat):  # 96 pictures per file: PIL works one at a time
        image = PIL.Image.fromarray(picture)
        image.thumbnail((64, 64), PIL.Image.LANCZOS)
        shrunk[i, : image.height, : image.width] = np.asarray(image)
    return shrunk


@register_dataset("cars3d")
class Cars3D(_ImageGrid):
    """Cars3D (Reed et al. 2015) from a folder of the 183 `*.mat` meshes' renderings.

    Factors elevation (4), azimuth (24), object_type (one per file, in sorted
    file-name order; `num_objects` lets tests use fewer files).
    """

    def __init__(self, path: str, num_objects: int = 183) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_dir():
            raise UserInputError(
                f"{self.path}: no such folder; expected the Cars3D folder of {num_objects} .mat files"
            )
        files = sorted(self.path.glob("*.mat"))
        if len(files) != num_objects:
            raise UserInputError(
                f"{self.path}: expected {num_objects} .mat files (one per car), found {len(files)}"
            )
        self._names = tuple(n for n, _ in CARS3D_FACTORS)
        self._sizes = (4, 24, num_objects)
        per_car = np.stack([_load_car(f) for f in files])  # [objects, 96, 64, 64, 3]
        # Grid order (elevation, azimuth, object), last fastest; per car row = azimuth * 4 + elevation.
        grid = per_car.reshape(num_objects, 24, 4, *_IMAGE_SHAPE).transpose(2, 1, 0, 3, 4, 5)
        self._images = np.ascontiguousarray(grid).reshape(-1, *_IMAGE_SHAPE)
