"""`dsprites_file`: the real dSprites npz, read from a path the user gives.

The file (`dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz` from
github.com/deepmind/dsprites-dataset) holds `imgs` `[737280, 64, 64]` uint8
0/1, `latents_classes` `[737280, 6]` int and `latents_values` `[737280, 6]`
float: colour (one value), shape, scale, orientation, posX, posY. Any npz with
those arrays works, in any row order, as long as its classes cover a full
factor grid exactly once; the one-valued colour column may be left out.

Images are kept bit-packed (1/8 of a byte per pixel: 378 MB for the real
file instead of 3 GB) and read from the archive in chunks, so loading never
holds the whole uint8 array.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import IO

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.data.dsprites import FACTOR_NAMES, SHAPE_NAMES, DSprites
from benchmark.data.grid import factor_bases, factors_to_flat
from benchmark.data.registry import register_dataset
from benchmark.errors import ArgumentError, UserInputError

__all__ = ["DSpritesFile"]

_ARRAYS = ("imgs", "latents_classes", "latents_values")
_EXPECTED = (
    "expected the dSprites npz with arrays imgs [N, H, W] of 0/1, "
    "latents_classes [N, 6] and latents_values [N, 6]"
)
_CHUNK_PIXELS = 1 << 24  # pixels per chunk while reading imgs (16 MB of uint8)


def _read_small_array(path: Path, archive: zipfile.ZipFile, name: str) -> np.ndarray:
    try:
        with archive.open(f"{name}.npy") as member:
            return np.lib.format.read_array(member, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise UserInputError(f"{path}: array {name!r} could not be read: {error}") from None


def _read_imgs_header(path: Path, member: IO[bytes]) -> tuple[int, int, int, np.dtype]:
    """`(N, H, W, dtype)` from the `.npy` header of `imgs`; leaves `member` at the data."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
    if dtype.hasobject:
        raise UserInputError(f"{path}: imgs: expected numbers, got dtype object")
    if fortran:
        raise UserInputError(
            f"{path}: imgs: Fortran-ordered arrays are not supported; "
            "save it with np.ascontiguousarray(imgs)"
        )
    if len(shape) == 4 and shape[3] == 1:
        shape = shape[:3]
    if len(shape) != 3:
        raise UserInputError(f"{path}: imgs: expected shape [N, H, W], got {shape}")
    num, height, width = (int(s) for s in shape)
    if height * width == 0:
        raise UserInputError(f"{path}: imgs: expected images of at least 1 x 1 pixels")
    return num, height, width, dtype


def _open_checked(path: Path) -> zipfile.ZipFile:
    """The archive at `path`, once it is known to be a zip holding the three arrays."""
    if not path.is_file():
        raise UserInputError(f"{path}: no such file; {_EXPECTED}")
    if not zipfile.is_zipfile(path):
        raise UserInputError(f"{path}: not an npz file (not a zip archive); {_EXPECTED}")
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise UserInputError(f"{path}: cannot read the npz file: {error}") from None
    members = {n[: -len(".npy")] for n in archive.namelist() if n.endswith(".npy")}
    missing = [name for name in _ARRAYS if name not in members]
    if missing:
        archive.close()
        raise UserInputError(
            f"{path}: missing array {missing[0]!r} "
            f"(found: {', '.join(sorted(members)) or 'none'}); {_EXPECTED}"
        )
    return archive


def _read_packed_images(path: Path, archive: zipfile.ZipFile) -> tuple[np.ndarray, tuple[int, int]]:
    """`([N, ceil(H * W / 8)] uint8 packed bits, (H, W))` of `imgs`, read in chunks."""
    try:
        with archive.open("imgs.npy") as member:
            num, height, width, dtype = _read_imgs_header(path, member)
            pixels = height * width
            packed = np.empty((num, (pixels + 7) // 8), dtype=np.uint8)
            rows = max(1, _CHUNK_PIXELS // max(pixels, 1))
            for start in range(0, num, rows):
                count = min(rows, num - start)
                raw = member.read(count * pixels * dtype.itemsize)
                if len(raw) != count * pixels * dtype.itemsize:
                    complete = start + len(raw) // (pixels * dtype.itemsize)
                    raise UserInputError(
                        f"{path}: imgs: the data ends after {complete} of {num} images"
                    )
                chunk = np.frombuffer(raw, dtype=dtype).reshape(count, pixels)
                if np.any((chunk != 0) & (chunk != 1)):
                    bad = chunk[(chunk != 0) & (chunk != 1)][0]
                    raise UserInputError(
                        f"{path}: imgs: expected pixel values 0 or 1, got {bad} "
                        f"(in images {start}..{start + count - 1})"
                    )
                packed[start : start + count] = np.packbits(chunk != 0, axis=1)
    except UserInputError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise UserInputError(f"{path}: array 'imgs' could not be read: {error}") from None
    return packed, (height, width)


def _path_argument(path: object) -> Path:
    if not isinstance(path, str | Path) or not str(path):
        detail = f"expected the path of the dSprites .npz file, got {path!r}"
        raise ArgumentError(f"dsprites_file: path: {detail}", argument="path", detail=detail)
    return Path(path).expanduser()


@register_dataset("dsprites_file")
class DSpritesFile(GroundTruthData):
    """The images of a dSprites npz at `path`, with the `dsprites` interface.

    Factors are `shape, scale, orientation, posX, posY`; their sizes come from
    `latents_classes` (the real file: 3, 6, 40, 32, 32) and their values from
    `latents_values`. Observations are `[N, H, W, 1]` float32 of 0s and 1s.
    A missing or malformed file raises `UserInputError` naming the path and
    what is wrong.
    """

    chen_mig_excluded_factors = ("shape",)

    reads_files = True

    @classmethod
    def validate_args(cls, **kwargs: object) -> tuple[int, ...]:
        """Checks the file without reading its data: it exists, is an npz with the
        three arrays, and `imgs` has a readable `[N, H, W]` header. Returns `(H, W, 1)`."""
        if "path" not in kwargs:
            detail = "required, but missing (the path of the dSprites .npz file)"
            raise ArgumentError(f"dsprites_file: path: {detail}", argument="path", detail=detail)
        path = _path_argument(kwargs["path"])
        try:
            with _open_checked(path) as archive, archive.open("imgs.npy") as member:
                _, height, width, _ = _read_imgs_header(path, member)
        except UserInputError as error:
            raise ArgumentError(str(error), argument="path", detail=str(error)) from None
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
            detail = f"{path}: array 'imgs' could not be read: {error}"
            raise ArgumentError(detail, argument="path", detail=detail) from None
        return (height, width, 1)

    def __init__(self, path: str) -> None:
        self.path = _path_argument(path)
        with _open_checked(self.path) as archive:
            classes = _read_small_array(self.path, archive, "latents_classes")
            values = _read_small_array(self.path, archive, "latents_values")
            self._packed, self._image_hw = _read_packed_images(self.path, archive)
        self._factor_sizes, self._factor_values, self._row_of_flat = self._index_rows(
            classes, values, self._packed.shape[0]
        )

    def _index_rows(
        self, classes: np.ndarray, values: np.ndarray, num_images: int
    ) -> tuple[tuple[int, ...], tuple[np.ndarray, ...], np.ndarray]:
        """Factor sizes, per-factor values and the image row of every flat index."""
        path, num = self.path, len(FACTOR_NAMES)
        if classes.ndim != 2 or classes.shape[1] not in (num, num + 1):
            raise UserInputError(
                f"{path}: latents_classes: expected shape [N, 6] (colour, "
                f"{', '.join(FACTOR_NAMES)}) or [N, 5], got {classes.shape}"
            )
        if not np.issubdtype(classes.dtype, np.integer):
            raise UserInputError(
                f"{path}: latents_classes: expected integers, got dtype {classes.dtype}"
            )
        if values.shape != classes.shape or not np.issubdtype(values.dtype, np.number):
            raise UserInputError(
                f"{path}: latents_values: expected numbers of shape {classes.shape} "
                f"like latents_classes, got {values.dtype} {values.shape}"
            )
        if classes.shape[0] != num_images:
            raise UserInputError(
                f"{path}: latents_classes has {classes.shape[0]} rows but imgs has "
                f"{num_images} images"
            )
        if classes.shape[1] == num + 1:
            if classes.size and np.any(classes[:, 0] != classes[0, 0]):
                raise UserInputError(
                    f"{path}: latents_classes: column 0 (colour) must have one value"
                )
            classes, values = classes[:, 1:], values[:, 1:]
        if classes.size == 0:
            raise UserInputError(f"{path}: imgs: the file holds no images")
        if classes.min() < 0:
            raise UserInputError(f"{path}: latents_classes: expected indices >= 0")
        classes = classes.astype(np.int64)
        sizes = tuple(int(s) for s in classes.max(axis=0) + 1)
        total = math.prod(sizes)
        flat = classes @ factor_bases(sizes)
        counts = np.bincount(flat, minlength=total)
        if num_images != total or np.any(counts != 1):
            raise UserInputError(
                f"{path}: latents_classes: expected every one of the {total} combinations "
                f"of factor sizes {sizes} exactly once; {int(np.sum(counts == 0))} are "
                f"missing and {int(np.sum(counts > 1))} repeat"
            )
        row_of_flat = np.empty(total, dtype=np.int64)
        row_of_flat[flat] = np.arange(num_images)
        factor_values = []
        for k, size in enumerate(sizes):
            per_class = np.zeros(size)
            per_class[classes[:, k]] = values[:, k]
            if not np.allclose(per_class[classes[:, k]], values[:, k]):
                raise UserInputError(
                    f"{path}: latents_values: factor {FACTOR_NAMES[k]!r} has more than "
                    "one value for the same class"
                )
            per_class.setflags(write=False)
            factor_values.append(per_class)
        return sizes, tuple(factor_values), row_of_flat

    @property
    def factor_names(self) -> tuple[str, ...]:
        return FACTOR_NAMES

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return self._factor_sizes

    @property
    def factor_values(self) -> tuple[np.ndarray, ...]:
        """Value of every factor index, from the file's `latents_values`."""
        return self._factor_values

    @property
    def factor_value_names(self) -> dict[str, tuple[str, ...]]:
        """`{"shape": SHAPE_NAMES}` when the file has the three dSprites shapes, else `{}`."""
        return {"shape": SHAPE_NAMES} if self._factor_sizes[0] == len(SHAPE_NAMES) else {}

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (*self._image_hw, 1)

    @property
    def preview_reference(self) -> tuple[int, ...]:
        """The `dsprites` preview factors, clipped to this file's grid."""
        return tuple(
            min(r, s - 1)
            for r, s in zip(DSprites.preview_reference, self._factor_sizes, strict=True)
        )

    @property
    def observations_depend_only_on_factors(self) -> bool:
        """True: an image is the file's row for its factors (unless a subclass renders otherwise)."""
        return (
            type(self).sample_observations_from_factors
            is DSpritesFile.sample_observations_from_factors
        )

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """`[N, H, W, 1]` float32 images of the file for `[N, 5]` factor indices."""
        rows = self._row_of_flat[factors_to_flat(factors, self._factor_sizes, FACTOR_NAMES)]
        height, width = self._image_hw
        bits = np.unpackbits(self._packed[rows], axis=1, count=height * width)
        return bits.reshape(len(rows), height, width, 1).astype(np.float32)
