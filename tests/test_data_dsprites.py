"""`dsprites`: factor grid, flat index, and the rendered images' geometry."""

from __future__ import annotations

import re

import numpy as np
import pytest

from benchmark.data import dsprites as ds
from benchmark.data import get_dataset
from benchmark.data.grid import factor_bases
from benchmark.errors import UserInputError

SQUARE, ELLIPSE, HEART = 0, 1, 2


def _factors(shape: int, scale: int, orientation: int, pos_x: int, pos_y: int, n: int = 1):
    return np.tile(np.array([[shape, scale, orientation, pos_x, pos_y]]), (n, 1))


def _sweep(k: int, values, base=(HEART, 5, 0, 15, 15)) -> np.ndarray:
    factors = np.tile(np.array([base]), (len(values), 1))
    factors[:, k] = values
    return factors


def _centroid(image: np.ndarray) -> np.ndarray:
    """(x, y) centroid of the lit pixels of a [64, 64, 1] image."""
    rows, cols = np.nonzero(image[..., 0])
    return np.array([cols.mean(), rows.mean()])


def _second_moments(image: np.ndarray) -> np.ndarray:
    """2 x 2 covariance of the lit pixels' (x, y_up) coordinates."""
    rows, cols = np.nonzero(image[..., 0])
    return np.cov(np.stack([cols, -rows]).astype(float))


def test_factor_grid_matches_dsprites():
    data = get_dataset("dsprites")
    assert data.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert data.factor_sizes == (3, 6, 40, 32, 32)
    assert ds.NUM_COMBINATIONS == 737_280
    assert data.observation_shape == (64, 64, 1)
    values = data.factor_values
    np.testing.assert_array_equal(values[0], [1, 2, 3])
    np.testing.assert_allclose(values[1], [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    np.testing.assert_allclose(values[2], np.linspace(0, 2 * np.pi, 40))
    np.testing.assert_allclose(values[2][[0, -1]], [0.0, 2 * np.pi])
    for k in (3, 4):
        np.testing.assert_allclose(values[k], np.arange(32) / 31)
    assert data.factor_value_names == {"shape": ("square", "ellipse", "heart")}


def test_flat_index_round_trip_and_file_order():
    index = np.arange(ds.NUM_COMBINATIONS)
    factors = ds.index_to_factors(index)
    assert factors.shape == (737_280, 5)
    np.testing.assert_array_equal(ds.factors_to_index(factors), index)
    # The dSprites file's latents_bases with the colour factor (size 1) dropped.
    np.testing.assert_array_equal(factor_bases(ds.FACTOR_SIZES), [245760, 40960, 1024, 32, 1])
    np.testing.assert_array_equal(
        ds.index_to_factors([1, 32, 1024, 40960]),
        [
            [0, 0, 0, 0, 1],  # posY fastest
            [0, 0, 0, 1, 0],
            [0, 0, 1, 0, 0],
            [0, 1, 0, 0, 0],
        ],
    )
    assert ds.factors_to_index([[2, 5, 39, 31, 31]])[0] == 737_279


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ds.factors_to_index([[3, 0, 0, 0, 0]]), "'shape' (column 0) must be in 0..2"),
        (lambda: ds.factors_to_index([[0, 0, 0, 0, -1]]), "'posY' (column 4)"),
        (lambda: ds.factors_to_index([[0, 0, 0, 0]]), "shape [num_points, 5]"),
        (lambda: ds.factors_to_index([[0.5, 0, 0, 0, 0]]), "integer indices"),
        (lambda: ds.index_to_factors([737_280]), "0..737279"),
        (lambda: ds.render(np.array([[0, 6, 0, 0, 0]])), "'scale' (column 1)"),
    ],
)
def test_bad_factors_and_indices_are_named(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_images_are_binary_float32_and_deterministic():
    data = get_dataset("dsprites")
    factors = data.sample_factors(300, np.random.RandomState(0))
    a = data.sample_observations_from_factors(factors, np.random.RandomState(1))
    b = data.sample_observations_from_factors(factors, np.random.RandomState(2))
    assert a.shape == (300, 64, 64, 1) and a.dtype == np.float32
    assert set(np.unique(a)) == {0.0, 1.0}
    np.testing.assert_array_equal(a, b)
    assert np.all(a.sum(axis=(1, 2, 3)) > 10)  # every image shows a sprite


def test_cached_render_equals_full_frame_reference():
    factors = get_dataset("dsprites").sample_factors(400, np.random.RandomState(3))
    extremes = np.array(
        [[s, 5, o, x, y] for s in range(3) for o in (0, 5, 14) for x in (0, 31) for y in (0, 31)]
    )
    factors = np.concatenate([factors, extremes])
    np.testing.assert_array_equal(ds.render(factors), ds.render_reference(factors))


def test_sample_draws_factors_then_observations():
    data = get_dataset("dsprites")
    factors, images = data.sample(5, np.random.RandomState(7))
    rs = np.random.RandomState(7)
    columns = [rs.randint(size, size=5) for size in data.factor_sizes]
    np.testing.assert_array_equal(factors, np.stack(columns, axis=1))
    np.testing.assert_array_equal(images, ds.render(factors))


def test_largest_sprites_are_never_clipped():
    """At the extreme positions every scale-1 sprite keeps all of its pixels."""
    for shape in range(3):
        for orientation in range(40):
            centre = ds.render(_factors(shape, 5, orientation, 16, 15))  # same phase as 0 / 31
            centre_odd = ds.render(_factors(shape, 5, orientation, 15, 16))
            for pos_x, pos_y, ref in ((0, 31, centre), (31, 0, centre_odd)):
                image = ds.render(_factors(shape, 5, orientation, pos_x, pos_y))
                assert image.sum() == ref.sum(), (shape, orientation, pos_x, pos_y)
    # and no lit pixel would fall outside the frame: the reference shape test
    # on a frame padded by 12 px finds nothing beyond the 64 x 64 frame.
    grid = np.arange(-12, 76, dtype=float)
    for shape in range(3):
        for orientation in range(40):
            for pos in (0, 31):
                c = ds.position_px(pos)
                inside = ds._inside(
                    shape,
                    np.asarray(ds.SPRITE_RADIUS_PX),
                    np.asarray(ds._COS[orientation]),
                    np.asarray(ds._SIN[orientation]),
                    grid[None, :] - c,
                    grid[:, None] - c,
                )
                rows, cols = np.nonzero(inside)
                assert rows.min() >= 12 and rows.max() < 76 and cols.min() >= 12 and cols.max() < 76


def test_positions_cover_the_central_part_of_the_frame():
    np.testing.assert_allclose(ds.position_px([0, 1, 31]), [8.5, 10.0, 55.0])


@pytest.mark.parametrize("shape", [SQUARE, ELLIPSE, HEART])
def test_sprite_area_grows_with_scale(shape):
    areas = []
    for scale in range(6):
        images = ds.render(_sweep(2, np.arange(40), base=(shape, scale, 0, 15, 15)))
        areas.append(images.sum(axis=(1, 2, 3)).mean())
    areas = np.array(areas)
    assert np.all(np.diff(areas) > 0)
    # area ~ scale^2: scale 1 over scale 0.5 is about 4
    assert 3.5 < areas[-1] / areas[0] < 4.6


@pytest.mark.parametrize("shape", [SQUARE, ELLIPSE, HEART])
@pytest.mark.parametrize("orientation", [0, 7, 23])
def test_centroid_moves_linearly_with_position(shape, orientation):
    steps = np.arange(32)
    for k, moving, still in ((3, 0, 1), (4, 1, 0)):
        images = ds.render(_sweep(k, steps, base=(shape, 5, orientation, 10, 20)))
        centroids = np.array([_centroid(image) for image in images])
        slope, intercept = np.polyfit(steps, centroids[:, moving], 1)
        residual = centroids[:, moving] - (slope * steps + intercept)
        assert slope == pytest.approx(1.5, abs=0.005)
        assert intercept == pytest.approx(8.5, abs=0.1)
        tolerance = 1e-9 if shape != HEART else 0.15  # the heart has no point symmetry
        assert np.abs(residual).max() <= tolerance
        assert np.ptp(centroids[:, still]) <= 2 * tolerance + 0.1


def test_orientation_turns_the_ellipse_counter_clockwise():
    orientations = np.arange(40)
    images = ds.render(_sweep(2, orientations, base=(ELLIPSE, 5, 0, 15, 15)))
    for index, image in zip(orientations, images, strict=True):
        cov = _second_moments(image)
        eigenvalues, eigenvectors = np.linalg.eigh(cov)
        major = eigenvectors[:, -1]
        angle = np.arctan2(major[1], major[0]) % np.pi
        expected = ds.FACTOR_VALUES[2][index] % np.pi
        difference = min(abs(angle - expected), np.pi - abs(angle - expected))
        assert difference < np.deg2rad(4), index
        assert eigenvalues[-1] > 3 * eigenvalues[0]


def test_orientation_changes_the_hearts_second_moments():
    upright, quarter = ds.render(_sweep(2, [0, 10], base=(HEART, 5, 0, 15, 15)))  # 0 and ~92 deg
    cov_0, cov_90 = _second_moments(upright), _second_moments(quarter)
    # turning by about 90 degrees swaps the horizontal and vertical spreads
    assert cov_0[0, 0] != pytest.approx(cov_0[1, 1], rel=0.05)
    assert cov_90[0, 0] == pytest.approx(cov_0[1, 1], rel=0.08)
    assert cov_90[1, 1] == pytest.approx(cov_0[0, 0], rel=0.08)


def _window(image: np.ndarray, centre: int) -> np.ndarray:
    """The 25 x 25 window around pixel (centre, centre)."""
    return image[centre - 12 : centre + 13, centre - 12 : centre + 13, 0]


def test_heart_differs_from_its_mirror_image_unlike_square_and_ellipse():
    # posX = posY = 15 puts the centre on pixel (31, 31), so flips are exact.
    assert ds.position_px(15) == 31.0
    images = ds.render(np.array([[s, 5, 0, 15, 15] for s in range(3)]))
    for shape, image in zip((SQUARE, ELLIPSE, HEART), images, strict=True):
        window = _window(image, 31)
        np.testing.assert_array_equal(window, window[:, ::-1])  # left-right symmetric
        upside_down = window[::-1, :]
        differing = np.abs(window - upside_down).sum() / window.sum()
        if shape == HEART:
            assert differing > 0.2  # the heart's tip and lobes tell up from down
            assert not np.array_equal(window, window[::-1, ::-1])  # nor 180-degree turns
        else:
            np.testing.assert_array_equal(window, upside_down)


def test_orientation_symmetries_documented_in_module():
    # 0 and 2*pi draw the same image for every shape
    for shape in range(3):
        a, b = ds.render(_sweep(2, [0, 39], base=(shape, 5, 0, 15, 15)))
        np.testing.assert_array_equal(a, b)
    doc = ds.__doc__
    assert "every 90" in doc and "every 180" in doc


def test_heart_constants_match_the_curve():
    grid = np.linspace(-1.5, 1.5, 1501)
    x, y = np.meshgrid(grid, grid)
    inside = (x**2 + y**2 - 1) ** 3 - x**2 * y**3 <= 0
    assert y[inside].mean() == pytest.approx(ds.HEART_CENTROID_Y, abs=1e-3)
    radius = np.sqrt(x[inside] ** 2 + (y[inside] - ds.HEART_CENTROID_Y) ** 2).max()
    assert radius == pytest.approx(ds.HEART_RADIUS, abs=3e-3)


def test_unknown_names_and_arguments_list_what_is_allowed():
    with pytest.raises(UserInputError, match=r"did you mean 'dsprites'.*known: .*color_dsprites"):
        get_dataset("dsprite")
    with pytest.raises(UserInputError, match=r"unknown argument 'sigma'"):
        get_dataset("dsprites", sigma=0.1)
