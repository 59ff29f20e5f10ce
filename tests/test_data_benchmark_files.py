"""Shapes3D, MPI3D and Cars3D loaders on small files written in each real format."""

import h5py
import numpy as np
import pytest
import scipy.io

from benchmark.data import get_dataset
from benchmark.errors import UserInputError

SHAPES_SIZES = (2, 1, 1, 2, 3, 2)  # real: 10, 10, 10, 8, 4, 15
MPI_SIZES = (2, 1, 2, 1, 1, 2, 3)  # real: 6 (or 4), 6 (or 4), 2, 3, 3, 40, 40


def _grid_images(sizes):
    """uint8 images `[prod(sizes), 64, 64, 3]` whose pixel [0, 0, 0] is the row number."""
    num = int(np.prod(sizes))
    images = np.zeros((num, 64, 64, 3), np.uint8)
    images[:, 0, 0, 0] = np.arange(num)
    images[:, 1, 1, :] = 255
    return images


def _flat(factors, sizes):
    bases = np.cumprod((*sizes[1:], 1)[::-1])[::-1]
    return factors @ bases


def test_shapes3d_reads_images_in_factor_order(tmp_path):
    path = tmp_path / "3dshapes.h5"
    images = _grid_images(SHAPES_SIZES)
    with h5py.File(path, "w") as f:
        f["images"] = images
        f["labels"] = np.zeros((len(images), 6))
    data = get_dataset("shapes3d", path=str(path), factor_sizes=SHAPES_SIZES)
    assert data.factor_names == (
        "floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation",
    )  # fmt: skip
    factors = data.sample_factors(40, np.random.RandomState(0))
    observed = data.sample_observations_from_factors(factors, np.random.RandomState(0))
    assert observed.dtype == np.float32 and observed.shape == (40, 64, 64, 3)
    np.testing.assert_allclose(observed[:, 0, 0, 0] * 255, _flat(factors, SHAPES_SIZES))
    assert observed.max() == 1.0 and observed.min() == 0.0


def test_shapes3d_errors_name_the_file(tmp_path):
    missing = tmp_path / "3dshapes.h5"
    with pytest.raises(UserInputError, match="3dshapes.h5: no such file; expected the Shapes3D"):
        get_dataset("shapes3d", path=str(missing))
    with h5py.File(missing, "w") as f:
        f["images"] = np.zeros((3, 32, 32, 3), np.uint8)
    with pytest.raises(UserInputError, match=r"images: expected \[480000, 64, 64, 3\] uint8, got"):
        get_dataset("shapes3d", path=str(missing))
    truncated = tmp_path / "cut.h5"
    with h5py.File(truncated, "w") as f:
        f["images"] = _grid_images(SHAPES_SIZES)
    truncated.write_bytes(truncated.read_bytes()[:5000])
    with pytest.raises(UserInputError, match="cut.h5"):
        get_dataset("shapes3d", path=str(truncated), factor_sizes=SHAPES_SIZES)


def test_mpi3d_reads_images_in_factor_order(tmp_path):
    path = tmp_path / "mpi3d_toy.npz"
    np.savez(path, images=_grid_images(MPI_SIZES))
    data = get_dataset("mpi3d", path=str(path), factor_sizes=MPI_SIZES)
    assert data.factor_names[0] == "object_color" and data.num_factors == 7
    factors = data.sample_factors(30, np.random.RandomState(1))
    observed = data.sample_observations_from_factors(factors, np.random.RandomState(0))
    np.testing.assert_allclose(observed[:, 0, 0, 0] * 255, _flat(factors, MPI_SIZES))


def test_mpi3d_errors_name_the_file(tmp_path):
    path = tmp_path / "mpi3d_real.npz"
    with pytest.raises(UserInputError, match="mpi3d_real.npz: no such file"):
        get_dataset("mpi3d", path=str(path))
    np.savez(path, images=np.zeros((10, 64, 64, 3), np.uint8))
    with pytest.raises(
        UserInputError, match=r"expected an MPI3D npz .* got uint8 \[10, 64, 64, 3\]"
    ):
        get_dataset("mpi3d", path=str(path))
    np.savez(path, pictures=np.zeros((1, 64, 64, 3), np.uint8))
    with pytest.raises(UserInputError, match="missing array 'images' \\(found: pictures\\)"):
        get_dataset("mpi3d", path=str(path))
    np.savez(path, images=_grid_images(MPI_SIZES))
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(UserInputError, match="mpi3d_real.npz"):
        get_dataset("mpi3d", path=str(path), factor_sizes=MPI_SIZES)


def _write_car(path, value):
    """One car in the real layout: im [128, 128, 3, azimuth 24, elevation 4] uint8."""
    im = np.zeros((128, 128, 3, 24, 4), np.uint8)
    im[..., 0, :, :] = value
    im[..., 1, :, :] = np.arange(24)[:, None] * 10
    im[..., 2, :, :] = np.arange(4)[None, :] * 60
    scipy.io.savemat(path, {"im": im})


def test_cars3d_layout(tmp_path):
    for value in (7, 200):
        _write_car(tmp_path / f"car_{value:03d}_mesh.mat", value)
    data = get_dataset("cars3d", path=str(tmp_path), num_objects=2)
    assert data.factor_names == ("elevation", "azimuth", "object_type")
    assert data.factor_sizes == (4, 24, 2)
    factors = np.array([[3, 5, 0], [0, 23, 1], [2, 0, 1]])
    observed = data.sample_observations_from_factors(factors, np.random.RandomState(0))
    assert observed.shape == (3, 64, 64, 3) and observed.dtype == np.float32
    centre = np.rint(observed[:, 32, 32] * 255)
    np.testing.assert_array_equal(centre, [[7, 50, 180], [200, 230, 0], [200, 0, 120]])


def test_cars3d_errors(tmp_path):
    with pytest.raises(UserInputError, match="expected 183 .mat files .* found 0"):
        get_dataset("cars3d", path=str(tmp_path))
    scipy.io.savemat(tmp_path / "bad.mat", {"im": np.zeros((8, 8, 3), np.uint8)})
    with pytest.raises(UserInputError, match=r"bad.mat: im: expected a Cars3D .mat file"):
        get_dataset("cars3d", path=str(tmp_path), num_objects=1)
