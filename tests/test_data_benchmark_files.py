"""Shapes3D, MPI3D and Cars3D loaders on small files written in each real format."""

import struct

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


# ---- SmallNORB: NORB binary matrices ----------------------------------------------------------

NORB_SIZES = (2, 1, 2, 1)  # category, elevation, azimuth, lighting; real: 5, 9, 18, 6
NORB_BYTE, NORB_INT = 0x1E3D4C55, 0x1E3D4C54
NORB_CHUNKS = ("5x46789x9x18x6x2x96x96-training", "5x01235x9x18x6x2x96x96-testing")


def _norb_matrix(path, magic, array):
    """A NORB binary matrix: magic, ndim, max(3, ndim) dims (padded with 1), row-major data."""
    dims = list(array.shape) + [1] * (3 - array.ndim)
    header = struct.pack(f"<ii{len(dims)}i", magic, array.ndim, *dims)
    path.write_bytes(header + array.tobytes())


def _norb_value(category, instance, azimuth):
    return 20 + 100 * category + 50 * instance + 10 * azimuth


def _write_norb(folder):
    """Eight stereo pairs: 2 categories x 2 instances (1 in training, 0 in testing) x azimuth
    values 0 and 2; the left image is flat grey `_norb_value`, the right one white."""
    for chunk, instance in zip(NORB_CHUNKS, (1, 0), strict=True):
        rows = [(c, a) for a in (2, 0) for c in (1, 0)]  # not in grid order
        dat = np.full((len(rows), 2, 96, 96), 255, np.uint8)
        info = np.zeros((len(rows), 4), np.int32)
        for i, (category, azimuth) in enumerate(rows):
            dat[i, 0] = _norb_value(category, instance, azimuth // 2)
            info[i] = (instance, 0, azimuth, 0)
        cat = np.array([c for c, _ in rows], np.int32)
        _norb_matrix(folder / f"smallnorb-{chunk}-dat.mat", NORB_BYTE, dat)
        _norb_matrix(folder / f"smallnorb-{chunk}-cat.mat", NORB_INT, cat)
        _norb_matrix(folder / f"smallnorb-{chunk}-info.mat", NORB_INT, info)


def test_smallnorb_reads_the_first_camera_and_draws_the_instance(tmp_path):
    _write_norb(tmp_path)
    header = (tmp_path / f"smallnorb-{NORB_CHUNKS[0]}-cat.mat").read_bytes()[:20]
    assert struct.unpack("<5i", header) == (NORB_INT, 1, 4, 1, 1)  # the real files' header
    data = get_dataset("smallnorb", path=str(tmp_path), factor_sizes=NORB_SIZES)
    assert data.factor_names == ("category", "elevation", "azimuth", "lighting")
    assert data.factor_sizes == NORB_SIZES and data.observation_shape == (64, 64, 1)
    factors = data.sample_factors(50, np.random.RandomState(3))
    random_state = np.random.RandomState(7)
    observed = data.sample_observations_from_factors(factors, random_state)
    assert observed.dtype == np.float32 and observed.shape == (50, 64, 64, 1)
    assert 0.0 <= observed.min() and observed.max() <= 1.0
    instance = np.random.RandomState(7).randint(2, size=50)  # drawn after the factors
    expected = _norb_value(factors[:, 0], instance, factors[:, 2])
    np.testing.assert_array_equal(np.rint(observed * 255), np.broadcast_to(
        expected[:, None, None, None].astype(np.float32), observed.shape
    ))  # fmt: skip
    assert len(np.unique(instance)) == 2


def test_smallnorb_real_sizes_by_default(tmp_path):
    _write_norb(tmp_path)
    with pytest.raises(
        UserInputError,
        match=r"training-dat.mat: holds \[4, 2, 96, 96\]; expected a NORB byte matrix "
        r"\[24300, 2, 96, 96\] \(magic 0x1E3D4C55\)",
    ):
        get_dataset("smallnorb", path=str(tmp_path))


def test_smallnorb_errors_name_the_file(tmp_path):
    folder = tmp_path / "norb"
    with pytest.raises(UserInputError, match="norb: no such folder; expected the folder holding"):
        get_dataset("smallnorb", path=str(folder))
    folder.mkdir()
    _write_norb(folder)
    info = folder / f"smallnorb-{NORB_CHUNKS[1]}-info.mat"
    saved = info.read_bytes()
    info.unlink()
    with pytest.raises(
        UserInputError,
        match=r"testing-info.mat: no such file; expected a NORB int32 matrix \[N, 4\]",
    ):
        get_dataset("smallnorb", path=str(folder), factor_sizes=NORB_SIZES)
    info.write_bytes(saved[:-3])
    with pytest.raises(
        UserInputError, match=r"testing-info.mat: truncated: 81 bytes, its header \[4, 4\] needs 84"
    ):
        get_dataset("smallnorb", path=str(folder), factor_sizes=NORB_SIZES)
    info.write_bytes(saved)
    dat = folder / f"smallnorb-{NORB_CHUNKS[0]}-dat.mat"
    dat.write_bytes(struct.pack("<i", NORB_INT) + dat.read_bytes()[4:])
    with pytest.raises(
        UserInputError,
        match=r"training-dat.mat: magic number 0x1E3D4C54 \(int32\); expected a NORB byte matrix",
    ):
        get_dataset("smallnorb", path=str(folder), factor_sizes=NORB_SIZES)


def test_smallnorb_checks_the_factor_grid(tmp_path):
    _write_norb(tmp_path)
    info = tmp_path / f"smallnorb-{NORB_CHUNKS[0]}-info.mat"
    _norb_matrix(info, NORB_INT, np.array([[1, 0, 3, 0]] * 4, np.int32))
    with pytest.raises(UserInputError, match=r"info.mat: azimuth \(column 2\) 3; expected 0, 2"):
        get_dataset("smallnorb", path=str(tmp_path), factor_sizes=NORB_SIZES)
    _norb_matrix(info, NORB_INT, np.array([[1, 0, 0, 0]] * 4, np.int32))
    with pytest.raises(UserInputError, match="combinations .* exactly once .* 2 are missing"):
        get_dataset("smallnorb", path=str(tmp_path), factor_sizes=NORB_SIZES)


def test_smallnorb_task_naming_a_missing_file_fails_validation(tmp_path, capsys):
    from benchmark.cli.main import main

    task = tmp_path / "norb_task.yaml"  # the folder exists but holds none of the six files
    task.write_text(
        "name: norb_task\n"
        f"dataset: {{name: smallnorb, args: {{path: '{tmp_path}'}}}}\n"
        "models:\n  - {entry: beta_vae, args: {architecture: conv, latent_dim: 4}}\n"
        "seeds: 1\ntraining: {steps: 10}\nevaluation: {metrics: [mig]}\n"
    )
    assert main(["validate", str(task)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "dataset.args.path: " in err[0]
    assert (
        f"smallnorb-{NORB_CHUNKS[0]}-dat.mat: no such file; "
        "expected a NORB byte matrix [24300, 2, 96, 96]" in err[0]
    )
