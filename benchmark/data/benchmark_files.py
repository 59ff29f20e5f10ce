"""Loaders for the standard benchmark files a user already has: Shapes3D, MPI3D, Cars3D, SmallNORB.

Nothing is downloaded. Factor names, sizes and index order follow
google-research/disentanglement_lib (`data/ground_truth/{shapes3d,mpi3d,cars3d,norb}.py`);
images are returned as float32 in [0, 1], `[N, 64, 64, 3]` (SmallNORB, grey:
`[N, 64, 64, 1]`). A missing,
truncated or differently shaped file raises `UserInputError`: one line naming
the file and what was expected, at construction (before any training).

The real files:

| data set | file | contents |
|---|---|---|
| `shapes3d` | `3dshapes.h5` (HDF5; needs `pip install h5py`, extra `[datasets]`) | `images` `[480000, 64, 64, 3]` uint8, `labels` `[480000, 6]` float64; factors floor_hue 10, wall_hue 10, object_hue 10, scale 8, shape 4, orientation 15, rows in that order (last fastest) |
| `mpi3d` | `mpi3d_toy.npz`, `mpi3d_realistic.npz` or `mpi3d_real.npz` | `images` `[1036800, 64, 64, 3]` uint8 (sizes 6, 6, 2, 3, 3, 40, 40), or `[460800, 64, 64, 3]` for the 4-colour, 4-shape release disentanglement_lib used for toy and realistic (4, 4, 2, 3, 3, 40, 40); factors object_color, object_shape, object_size, camera_height, background_color, horizontal_axis, vertical_axis, last fastest |
| `cars3d` | a folder of 183 `*.mat` files (`car_001_mesh.mat`, ...) | each holds `im` `[128, 128, 3, 24, 4]` uint8 (height, width, RGB, azimuth, elevation), shrunk to 64 x 64 like the reference (PIL thumbnail, Lanczos); factors elevation 4, azimuth 24, object_type 183 (files in sorted name order) |
| `smallnorb` | a folder holding the six files `smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat` and `smallnorb-5x01235x9x18x6x2x96x96-testing-{dat,cat,info}.mat` (unpacked from their `.gz`) | NORB binary matrices, 24,300 rows each: `dat` bytes `[24300, 2, 96, 96]` (stereo pairs), `cat` int32 `[24300]`, `info` int32 `[24300, 4]` (instance, elevation, azimuth 0, 2, ..., 34, lighting); factors category 5, elevation 9, azimuth 18, lighting 6 (instance drawn at random), first camera only, resized to 64 x 64 |
"""

from __future__ import annotations

import math
import struct
import zipfile
from pathlib import Path

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.data.grid import check_factors, factor_bases, factors_to_flat
from benchmark.data.registry import register_dataset
from benchmark.errors import ArgumentError, UserInputError

__all__ = [
    "CARS3D_FACTORS",
    "Cars3D",
    "MPI3D",
    "MPI3D_FACTORS",
    "SHAPES3D_FACTORS",
    "SMALLNORB_FACTORS",
    "Shapes3D",
    "SmallNORB",
]

SHAPES3D_FACTORS = (
    ("floor_hue", 10), ("wall_hue", 10), ("object_hue", 10),
    ("scale", 8), ("shape", 4), ("orientation", 15),
)  # fmt: skip
MPI3D_FACTORS = (
    ("object_color", 6), ("object_shape", 6), ("object_size", 2), ("camera_height", 3),
    ("background_color", 3), ("horizontal_axis", 40), ("vertical_axis", 40),
)  # fmt: skip
CARS3D_FACTORS = (("elevation", 4), ("azimuth", 24), ("object_type", 183))
SMALLNORB_FACTORS = (("category", 5), ("elevation", 9), ("azimuth", 18), ("lighting", 6))
_IMAGE_SHAPE = (64, 64, 3)


class _ImageGrid(GroundTruthData):
    """Images stored in factor-grid order (last factor fastest), uint8 or lazily read."""

    reads_files = True

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


# --- SmallNORB: NORB binary matrices -----------------------------------------------------------

_NORB_CHUNKS = ("5x46789x9x18x6x2x96x96-training", "5x01235x9x18x6x2x96x96-testing")
_NORB_ROWS = 24300  # rows of each real file
_NORB_TYPES = {  # magic number: (what the format calls it, numpy type of one element)
    0x1E3D4C51: ("single-precision", "<f4"),
    0x1E3D4C52: ("packed", None),
    0x1E3D4C53: ("double-precision", "<f8"),
    0x1E3D4C54: ("int32", "<i4"),
    0x1E3D4C55: ("byte", "u1"),
    0x1E3D4C56: ("short", "<i2"),
}
_NORB_BYTE, _NORB_INT = 0x1E3D4C55, 0x1E3D4C54
# kind: (magic, dims after the row count)
_NORB_KINDS = {"dat": (_NORB_BYTE, (2, 96, 96)), "cat": (_NORB_INT, ()), "info": (_NORB_INT, (4,))}


def _norb_expected(kind: str, rows: int | None) -> str:
    magic, tail = _NORB_KINDS[kind]
    shape = ", ".join(str(d) for d in (rows if rows is not None else "N", *tail))
    return f"expected a NORB {_NORB_TYPES[magic][0]} matrix [{shape}] (magic 0x{magic:08X})"


def _norb_header(path: Path, kind: str, rows: int | None) -> tuple[tuple[int, ...], int]:
    """`(dims, data offset)` of the NORB binary matrix at `path`, checked against `kind`.

    The format (little-endian int32s): magic number (the element type), ndim,
    then max(3, ndim) dimensions (unused ones are 1), then the elements in
    row-major order. The file must hold exactly the elements its header gives.
    """
    expected = _norb_expected(kind, rows)
    if not path.is_file():
        raise UserInputError(f"{path}: no such file; {expected}")
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise UserInputError(f"{path}: {size} bytes, too short for a NORB header; {expected}")
        magic, ndim = struct.unpack("<ii", head)
        if magic != _NORB_KINDS[kind][0]:
            known = _NORB_TYPES.get(magic, ("not a NORB matrix",))[0]
            raise UserInputError(
                f"{path}: magic number 0x{magic & 0xFFFFFFFF:08X} ({known}); {expected}"
            )
        if not 1 <= ndim <= 16:
            raise UserInputError(f"{path}: the header gives {ndim} dimensions; {expected}")
        stored = max(3, ndim)
        raw = handle.read(4 * stored)
    if len(raw) < 4 * stored:
        raise UserInputError(f"{path}: the header ends before its {stored} dimensions; {expected}")
    dims = struct.unpack(f"<{stored}i", raw)[:ndim]
    tail = _NORB_KINDS[kind][1]
    if (
        len(dims) != 1 + len(tail)
        or tuple(dims[1:]) != tail
        or dims[0] < 0
        or (rows is not None and dims[0] != rows)
    ):
        raise UserInputError(f"{path}: holds {list(dims)}; {expected}")
    offset = 8 + 4 * stored
    needed = offset + math.prod(dims) * np.dtype(_NORB_TYPES[magic][1]).itemsize
    if size != needed:
        problem = "truncated" if size < needed else "longer than its header says"
        raise UserInputError(
            f"{path}: {problem}: {size} bytes, its header {list(dims)} needs {needed}; {expected}"
        )
    return tuple(dims), offset


def _norb_chunks(folder: Path, rows: int | None) -> list[dict[str, tuple[Path, int, int]]]:
    """Per chunk (training, testing): `{kind: (file, rows, data offset)}`, every header checked."""
    if not folder.is_dir():
        raise UserInputError(
            f"{folder}: no such folder; expected the folder holding the six SmallNORB files "
            f"smallnorb-{_NORB_CHUNKS[0]}-{{dat,cat,info}}.mat and "
            f"smallnorb-{_NORB_CHUNKS[1]}-{{dat,cat,info}}.mat"
        )
    chunks = []
    for chunk in _NORB_CHUNKS:
        files = {}
        for kind in _NORB_KINDS:
            path = folder / f"smallnorb-{chunk}-{kind}.mat"
            dims, offset = _norb_header(path, kind, rows)
            files[kind] = (path, dims[0], offset)
        counts = {kind: n for kind, (_, n, _) in files.items()}
        if len(set(counts.values())) != 1:
            raise UserInputError(
                f"{folder}: smallnorb-{chunk}: dat, cat and info must have as many rows, "
                f"got {counts}"
            )
        chunks.append(files)
    return chunks


def _resize_norb(images: np.ndarray) -> np.ndarray:
    """`[N, 64, 64]` uint8 from `[N, H, W]` uint8: PIL Lanczos on 32-bit integer pixels,
    clipped to 0..255 (Lanczos rings a little past the input's range at sharp edges)."""
    import PIL.Image

    resized = np.empty((len(images), 64, 64), np.uint8)
    for i, picture in enumerate(images):  # PIL works one picture at a time
        image = PIL.Image.fromarray(np.asarray(picture, np.int32)).resize(
            (64, 64), PIL.Image.LANCZOS
        )
        resized[i] = np.clip(np.asarray(image), 0, 255)
    return resized


def _norb_folder(path: object) -> Path:
    if not isinstance(path, str | Path) or not str(path):
        detail = f"expected the folder of the six SmallNORB .mat files, got {path!r}"
        raise ArgumentError(f"smallnorb: path: {detail}", argument="path", detail=detail)
    return Path(path).expanduser()


@register_dataset("smallnorb")
class SmallNORB(GroundTruthData):
    """SmallNORB (LeCun et al. 2004) from its six NORB binary `.mat` files in the folder `path`.

    As disentanglement_lib reads it (`data/ground_truth/norb.py`): the
    training and testing files together (48,600 stereo pairs), only the first
    camera's image of each pair, resized from 96 x 96 to 64 x 64 with PIL's
    Lanczos filter (disentanglement_lib's `ANTIALIAS`) on the pixels as 32-bit
    integers, then scaled by 1/255. disentanglement_lib keeps the resized
    values unclipped, so where Lanczos rings at a sharp edge they leave
    [0, 1] slightly; here they are clipped to [0, 1], identical elsewhere.

    Each image's factors are its `cat` entry and the four `info` columns
    (instance 0-9, elevation 0-8, azimuth 0, 2, ..., 34, lighting 0-5), the
    azimuth halved to an index 0-17. The ground-truth factors are category
    (5), elevation (9), azimuth (18) and lighting (6), in that order; the
    instance is not one of them: each observation draws it uniformly, after
    the factors, from the same `random_state` (`randint(10)`), as
    disentanglement_lib's split state space does. Observations are
    `[N, 64, 64, 1]` float32 in [0, 1].

    `factor_sizes` (category, elevation, azimuth, lighting) exists for tests
    that write small files in the real format; then each file may hold any
    number of rows, the instances are counted from `info`, and every
    combination must appear exactly once. Leave it unset for the real files
    (24,300 rows each).
    """

    reads_files = True

    @classmethod
    def validate_args(cls, **kwargs: object) -> tuple[int, ...]:
        """Checks the six files' headers and sizes without reading their data; `(64, 64, 1)`."""
        if "path" not in kwargs:
            detail = "required, but missing (the folder of the six SmallNORB .mat files)"
            raise ArgumentError(f"smallnorb: path: {detail}", argument="path", detail=detail)
        folder = _norb_folder(kwargs["path"])
        rows = _NORB_ROWS if kwargs.get("factor_sizes") is None else None
        try:
            _norb_chunks(folder, rows)
        except UserInputError as error:
            raise ArgumentError(str(error), argument="path", detail=str(error)) from None
        return (64, 64, 1)

    def __init__(self, path: str, factor_sizes: tuple[int, ...] | None = None) -> None:
        self.path = _norb_folder(path)
        self._names = tuple(n for n, _ in SMALLNORB_FACTORS)
        self._sizes = _sizes_or_default(factor_sizes, SMALLNORB_FACTORS, "smallnorb")
        chunks = _norb_chunks(self.path, _NORB_ROWS if factor_sizes is None else None)
        images, features = [], []
        for files in chunks:
            path, rows, offset = files["dat"]
            pairs = np.memmap(path, np.uint8, "r", offset=offset, shape=(rows, 2, 96, 96))
            images.append(_resize_norb(pairs[:, 0]))
            del pairs
            features.append(self._features(files))
        factors = np.concatenate(
            features
        )  # [N, 5]: category, instance, elevation, azimuth, lighting
        self._num_instances = int(factors[:, 1].max()) + 1 if len(factors) else 0
        self._grid = (self._sizes[0], self._num_instances, *self._sizes[1:])
        flat = factors @ factor_bases(self._grid)
        total = math.prod(self._grid)
        counts = np.bincount(flat, minlength=total)
        if len(flat) != total or np.any(counts != 1):
            raise UserInputError(
                f"{self.path}: expected every one of the {total} combinations of category, "
                f"instance, elevation, azimuth and lighting {list(self._grid)} exactly once in "
                f"the cat and info files; {int(np.sum(counts == 0))} are missing and "
                f"{int(np.sum(counts > 1))} repeat"
            )
        self._images = np.empty((total, 64, 64), np.uint8)
        self._images[flat] = np.concatenate(images)

    def _features(self, files: dict[str, tuple[Path, int, int]]) -> np.ndarray:
        """`[rows, 5]` int64 (category, instance, elevation, azimuth index, lighting) of a chunk."""
        path, rows, offset = files["cat"]
        category = np.fromfile(path, "<i4", count=rows, offset=offset).astype(np.int64)
        if rows and (category.min() < 0 or category.max() >= self._sizes[0]):
            bad = category[(category < 0) | (category >= self._sizes[0])][0]
            raise UserInputError(
                f"{path}: category {bad}; expected categories 0..{self._sizes[0] - 1}"
            )
        path, rows, offset = files["info"]
        info = np.fromfile(path, "<i4", count=4 * rows, offset=offset).reshape(rows, 4)
        info = info.astype(np.int64)
        limits = {  # column: (name, the values it may hold, their description)
            0: ("instance", info[:, 0] >= 0, "0 or more"),
            1: ("elevation", info[:, 1] < self._sizes[1], f"0..{self._sizes[1] - 1}"),
            2: ("azimuth", (info[:, 2] < 2 * self._sizes[2]) & (info[:, 2] % 2 == 0),
                f"0, 2, ..., {2 * self._sizes[2] - 2}"),
            3: ("lighting", info[:, 3] < self._sizes[3], f"0..{self._sizes[3] - 1}"),
        }  # fmt: skip
        for column, (name, allowed, description) in limits.items():
            bad = ~allowed | (info[:, column] < 0)
            if np.any(bad):
                raise UserInputError(
                    f"{path}: {name} (column {column}) {info[bad, column][0]}; "
                    f"expected {description}"
                )
        return np.column_stack([category, info[:, 0], info[:, 1], info[:, 2] // 2, info[:, 3]])

    @property
    def factor_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return self._sizes

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (64, 64, 1)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """`[N, 64, 64, 1]` float32 in [0, 1]; draws each image's instance from `random_state`."""
        factors = check_factors(factors, self._sizes, self._names, "smallnorb")
        instance = random_state.randint(self._num_instances, size=len(factors))
        full = np.column_stack([factors[:, 0], instance, factors[:, 1:]])
        rows = full @ factor_bases(self._grid)
        return self._images[rows][..., None].astype(np.float32) / np.float32(255.0)
