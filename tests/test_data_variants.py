"""`noisy_dsprites`, `color_dsprites` and `correlated_dsprites`."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from benchmark.data import get_dataset
from benchmark.data.dsprites import render
from benchmark.data.variants import pair_correlation, pair_joint_probability
from benchmark.errors import UserInputError


def test_noisy_keeps_sprites_white_and_fills_the_background_uniformly():
    data = get_dataset("noisy_dsprites")
    factors, images = data.sample(200, np.random.RandomState(0))
    clean = render(factors)
    assert images.shape == (200, 64, 64, 1) and images.dtype == np.float32
    assert np.all(images[clean == 1] == 1.0)
    background = images[clean == 0]
    assert background.min() >= 0.0 and background.max() < 1.0
    assert background.mean() == pytest.approx(0.5, abs=0.01)
    assert background.std() == pytest.approx(1 / math.sqrt(12), abs=0.01)


def test_noisy_draws_the_noise_after_the_factors():
    factors, images = get_dataset("noisy_dsprites").sample(4, np.random.RandomState(5))
    rs = np.random.RandomState(5)
    get_dataset("dsprites").sample_factors(4, rs)
    expected = np.minimum(render(factors) + rs.uniform(0, 1, size=(4, 64, 64, 1)), 1.0)
    np.testing.assert_allclose(images, expected, rtol=0, atol=1e-7)


def test_color_multiplies_the_sprite_by_one_colour_per_image():
    data = get_dataset("color_dsprites")
    assert data.observation_shape == (64, 64, 3)
    factors, images = data.sample(300, np.random.RandomState(1))
    assert images.shape == (300, 64, 64, 3) and images.dtype == np.float32
    mask = render(factors)[..., 0] == 1
    assert np.all(images[~mask] == 0.0)
    colours = []
    for image, sprite in zip(images, mask, strict=True):
        pixels = image[sprite]  # [num_lit, 3]
        assert np.all(pixels == pixels[0])  # one colour per sprite
        colours.append(pixels[0])
    colours = np.array(colours)
    assert colours.min() >= 0.5 and colours.max() <= 1.0
    assert colours.std(axis=0).min() > 0.1  # colours vary over images, per channel
    assert colours.mean() == pytest.approx(0.75, abs=0.02)


def test_color_draws_the_colour_after_the_factors():
    factors, images = get_dataset("color_dsprites").sample(3, np.random.RandomState(9))
    rs = np.random.RandomState(9)
    get_dataset("dsprites").sample_factors(3, rs)
    colour = rs.uniform(0.5, 1, size=(3, 1, 1, 3))
    np.testing.assert_allclose(images, render(factors) * colour, rtol=0, atol=1e-7)


def test_joint_probability_is_a_symmetric_distribution_peaked_on_the_diagonal():
    joint = pair_joint_probability(32, 32, 0.2)
    assert joint.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(joint, joint.T)
    assert np.all(joint.argmax(axis=1) == np.arange(32))
    np.testing.assert_allclose(pair_joint_probability(3, 6, math.inf), np.full((3, 6), 1 / 18))
    assert pair_correlation(pair_joint_probability(32, 32, math.inf)) == pytest.approx(0.0)
    correlations = [pair_correlation(pair_joint_probability(32, 32, s)) for s in (0.05, 0.2, 1.0)]
    assert correlations[0] > correlations[1] > correlations[2] > 0
    assert correlations[1] == pytest.approx(0.7824, abs=1e-3)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


@pytest.mark.parametrize(
    ("pair", "sigma"),
    [(("posX", "posY"), 0.2), (("posX", "posY"), 0.5), (("scale", "orientation"), 0.1)],
)
def test_measured_correlation_matches_sigma_and_other_factors_stay_uniform(pair, sigma):
    data = get_dataset("correlated_dsprites", pair=pair, sigma=sigma)
    factors = data.sample_factors(40_000, np.random.RandomState(0))
    columns = [data.factor_names.index(name) for name in pair]
    measured = _pearson(factors[:, columns[0]], factors[:, columns[1]])
    assert measured == pytest.approx(data.implied_correlation, abs=0.015)
    assert data.implied_correlation > 0.25
    for k, size in enumerate(data.factor_sizes):
        if k in columns:
            continue
        counts = np.bincount(factors[:, k], minlength=size)
        assert stats.chisquare(counts).pvalue > 1e-3, data.factor_names[k]
        for c in columns:  # and independent of the pair
            assert abs(_pearson(factors[:, k], factors[:, c])) < 0.03
    # the pair's joint frequencies follow the joint probability
    observed = np.zeros(data.joint_probability.shape)
    np.add.at(observed, (factors[:, columns[0]], factors[:, columns[1]]), 1)
    assert np.abs(observed / len(factors) - data.joint_probability).max() < 0.01


def test_infinite_sigma_is_plain_dsprites():
    correlated = get_dataset("correlated_dsprites", sigma=float("inf"))
    plain = get_dataset("dsprites")
    a = correlated.sample_factors(1000, np.random.RandomState(4))
    b = plain.sample_factors(1000, np.random.RandomState(4))
    np.testing.assert_array_equal(a, b)
    assert abs(_pearson(a[:, 3], a[:, 4])) < 0.1
    assert correlated.implied_correlation == pytest.approx(0.0)


def test_correlated_images_are_dsprites_images():
    data = get_dataset("correlated_dsprites")
    factors, images = data.sample(50, np.random.RandomState(2))
    np.testing.assert_array_equal(images, render(factors))


def test_correlated_sampling_is_deterministic_for_a_seed():
    data = get_dataset("correlated_dsprites", sigma=0.1)
    a = data.sample_factors(100, np.random.RandomState(8))
    b = data.sample_factors(100, np.random.RandomState(8))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sigma": 0}, "sigma must be a number > 0"),
        ({"sigma": -1.0}, "sigma must be a number > 0"),
        ({"sigma": float("nan")}, "sigma must be a number > 0"),
        ({"sigma": "0.2"}, "sigma must be a number > 0"),
        ({"pair": ("posX", "size")}, "unknown factor 'size' in pair; factors: shape, scale"),
        ({"pair": ("posX", "posX")}, "two different factors"),
        ({"pair": ("posX",)}, "two factor names from shape, scale, orientation, posX, posY"),
        ({"pair": "posX"}, "two factor names"),
        ({"rho": 0.5}, "unknown argument 'rho'; allowed: pair, sigma"),
    ],
)
def test_bad_correlated_arguments_say_what_is_allowed(kwargs, message):
    with pytest.raises(UserInputError, match=message):
        get_dataset("correlated_dsprites", **kwargs)


@pytest.mark.parametrize("name", ["noisy_dsprites", "color_dsprites"])
def test_noise_and_colour_variants_take_no_arguments(name):
    with pytest.raises(UserInputError, match=r"unknown argument 'sigma'; allowed: \(none\)"):
        get_dataset(name, sigma=1.0)
