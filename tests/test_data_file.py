"""`dsprites_file`: reading a dSprites npz (a small one the test writes)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from benchmark.data import get_dataset
from benchmark.data.grid import flat_to_factors
from benchmark.errors import UserInputError

SIZES = (3, 2, 2, 4, 4)  # shape, scale, orientation, posX, posY: 192 images
NUM = int(np.prod(SIZES))


def _arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """A small dSprites-format file's arrays, rows shuffled, with random 0/1 images."""
    rs = np.random.RandomState(seed)
    factors = flat_to_factors(np.arange(NUM), SIZES)
    order = rs.permutation(NUM)
    factors = factors[order]
    classes = np.concatenate([np.zeros((NUM, 1), np.int64), factors], axis=1)
    grids = [
        np.array([1.0, 2.0, 3.0]),
        np.array([0.5, 1.0]),
        np.array([0.0, np.pi]),
        np.linspace(0, 1, 4),
        np.linspace(0, 1, 4),
    ]
    values = np.concatenate(
        [np.ones((NUM, 1)), np.stack([g[factors[:, k]] for k, g in enumerate(grids)], axis=1)],
        axis=1,
    )
    imgs = (rs.rand(NUM, 64, 64) < 0.3).astype(np.uint8)
    return {"imgs": imgs, "latents_classes": classes, "latents_values": values}


def _write(tmp_path: Path, name: str = "small.npz", compressed: bool = True, **arrays) -> Path:
    path = tmp_path / name
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path


@pytest.mark.parametrize("compressed", [True, False])
def test_reads_images_by_factors(tmp_path, compressed):
    arrays = _arrays()
    # the real file also holds a pickled metadata dict, which must not be needed
    path = _write(
        tmp_path, compressed=compressed, metadata=np.array({"a": 1}, dtype=object), **arrays
    )
    data = get_dataset("dsprites_file", path=str(path))
    assert data.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert data.factor_sizes == SIZES
    assert data.observation_shape == (64, 64, 1)
    np.testing.assert_allclose(data.factor_values[2], [0.0, np.pi])
    assert data.factor_value_names == {"shape": ("square", "ellipse", "heart")}
    factors, images = data.sample(50, np.random.RandomState(0))
    assert images.shape == (50, 64, 64, 1) and images.dtype == np.float32
    classes = arrays["latents_classes"][:, 1:]
    for f, image in zip(factors, images, strict=True):
        row = np.flatnonzero((classes == f).all(axis=1))
        assert len(row) == 1
        np.testing.assert_array_equal(image[..., 0], arrays["imgs"][row[0]])


def test_five_columns_and_any_image_size_work(tmp_path):
    arrays = _arrays()
    arrays["latents_classes"] = arrays["latents_classes"][:, 1:]
    arrays["latents_values"] = arrays["latents_values"][:, 1:]
    arrays["imgs"] = arrays["imgs"][:, :10, :7].astype(bool)
    data = get_dataset("dsprites_file", path=str(_write(tmp_path, **arrays)))
    assert data.observation_shape == (10, 7, 1)
    factors = np.array([[2, 1, 1, 3, 0]])
    row = np.flatnonzero((arrays["latents_classes"] == factors[0]).all(axis=1))[0]
    np.testing.assert_array_equal(
        data.sample_observations_from_factors(factors, None)[0, ..., 0], arrays["imgs"][row]
    )


def test_out_of_range_factors_are_named(tmp_path):
    data = get_dataset("dsprites_file", path=str(_write(tmp_path, **_arrays())))
    with pytest.raises(ValueError, match=r"'scale' \(column 1\) must be in 0..1, got 5"):
        data.sample_observations_from_factors(np.array([[0, 5, 0, 0, 0]]), None)


def _error(tmp_path: Path, path: Path | None = None, **changes) -> str:
    if path is None:
        arrays = {**_arrays(), **changes}
        arrays = {k: v for k, v in arrays.items() if v is not None}
        path = _write(tmp_path, **arrays)
    with pytest.raises(UserInputError) as info:
        get_dataset("dsprites_file", path=str(path))
    message = str(info.value)
    assert str(path) in message
    return message


def test_missing_file(tmp_path):
    assert "no such file" in _error(tmp_path, path=tmp_path / "nope.npz")


def test_not_an_npz(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("not a zip")
    assert "not an npz file" in _error(tmp_path, path=path)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"imgs": None}, "missing array 'imgs' (found: latents_classes, latents_values)"),
        ({"latents_values": None}, "missing array 'latents_values'"),
        ({"imgs": np.zeros((NUM, 64), np.uint8)}, "imgs: expected shape [N, H, W]"),
        ({"imgs": np.full((NUM, 4, 4), 255, np.uint8)}, "expected pixel values 0 or 1, got 255"),
        ({"imgs": np.zeros((NUM - 1, 4, 4), np.uint8)}, "has 192 rows but imgs has 191"),
        ({"latents_classes": np.zeros((NUM, 3), np.int64)}, "latents_classes: expected shape"),
        ({"latents_classes": np.zeros((NUM, 6))}, "latents_classes: expected integers"),
        ({"latents_values": np.zeros((NUM, 4))}, "latents_values: expected numbers of shape"),
    ],
)
def test_malformed_arrays_say_what_is_wrong(tmp_path, changes, expected):
    assert expected in _error(tmp_path, **changes)


def test_incomplete_grid_and_inconsistent_values(tmp_path):
    arrays = _arrays()
    classes = arrays["latents_classes"].copy()
    classes[1] = classes[0]  # one combination twice, another missing
    assert "1 are missing and 1 repeat" in _error(tmp_path, latents_classes=classes)
    colour = arrays["latents_classes"].copy()
    colour[0, 0] = 1
    assert "column 0 (colour) must have one value" in _error(tmp_path, latents_classes=colour)
    values = arrays["latents_values"].copy()
    values[0, 2] += 0.25
    assert "'scale' has more than one value" in _error(tmp_path, latents_values=values)


def test_pickled_or_truncated_arrays_are_reported(tmp_path):
    pickled = np.empty(NUM, dtype=object)
    message = _error(tmp_path, latents_classes=pickled)
    assert re.search(r"array 'latents_classes' could not be read", message)
    # an imgs member whose data ends early
    arrays = _arrays()
    path = _write(tmp_path, name="cut.npz", compressed=False, **arrays)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members["imgs.npy"] = members["imgs.npy"][:-5000]
    with zipfile.ZipFile(path, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
    assert "the data ends after 190 of 192 images" in _error(tmp_path, path=path)


def test_images_read_in_many_chunks_equal_one_chunk(tmp_path, monkeypatch):
    import benchmark.data.dsprites_file as module

    path = _write(tmp_path, **_arrays(seed=3))
    factors = flat_to_factors(np.arange(NUM), SIZES)
    whole = get_dataset("dsprites_file", path=str(path)).sample_observations_from_factors(
        factors, None
    )
    monkeypatch.setattr(module, "_CHUNK_PIXELS", 64 * 64 * 5)  # 5 images per chunk
    chunked = get_dataset("dsprites_file", path=str(path)).sample_observations_from_factors(
        factors, None
    )
    np.testing.assert_array_equal(whole, chunked)
    assert whole.sum() > 0
