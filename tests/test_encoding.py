"""Codes for the metrics encoded once per distinct image: same draws, same codes, same scores."""

import argparse

import numpy as np
import pytest

from benchmark.data import get_dataset
from benchmark.errors import UserInputError
from benchmark.evaluation import encoding
from benchmark.evaluation.encoding import FactorCodes, metric_representation
from benchmark.metrics import score_sampled
from benchmark.metrics.sampling import generate_batch_factor_code
from benchmark.models import build_model, representation_function
from benchmark.perf import eval as perf_eval

DSPRITES = get_dataset("dsprites")


def _moments(images: np.ndarray) -> np.ndarray:
    """Codes `[n, 5]` of binary images: area and raw moments, exact integers in float64.

    Every code is a function of its own image only, whatever the batch, so
    the cached and the plain path must agree bit for bit.
    """
    pixels = images[..., 0].astype(np.float64)
    rows = np.arange(pixels.shape[1], dtype=np.float64)[None, :, None]
    cols = np.arange(pixels.shape[2], dtype=np.float64)[None, None, :]
    return np.stack(
        [
            pixels.sum(axis=(1, 2)),
            (pixels * rows).sum(axis=(1, 2)),
            (pixels * cols).sum(axis=(1, 2)),
            (pixels * rows * cols).sum(axis=(1, 2)),
            (pixels * rows * rows).sum(axis=(1, 2)),
        ],
        axis=1,
    )


class _Counted:
    """`_moments`, counting the images it is asked to encode."""

    def __init__(self) -> None:
        self.images = 0

    def __call__(self, images: np.ndarray) -> np.ndarray:
        self.images += len(images)
        return _moments(images)


class _WithFactorCodes:
    """A representation function that also offers `codes_of_factors`."""

    def __init__(self, coder: FactorCodes) -> None:
        self.codes_of_factors = coder

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return _moments(images)


def test_which_data_sets_render_from_factors_alone():
    assert get_dataset("dsprites").observations_depend_only_on_factors
    assert get_dataset("correlated_dsprites").observations_depend_only_on_factors
    for name in ("noisy_dsprites", "color_dsprites", "toy"):
        assert not get_dataset(name).observations_depend_only_on_factors, name
    with pytest.raises(ValueError, match="random numbers"):
        FactorCodes(get_dataset("noisy_dsprites"), _moments)


@pytest.mark.parametrize("dense", [True, False])
def test_factor_codes_encode_each_image_once(monkeypatch, dense):
    if not dense:
        monkeypatch.setattr(encoding, "MAX_TABLE", 0)
    counted = _Counted()
    coder = FactorCodes(DSPRITES, counted, chunk=7)  # many chunks, a short last one
    factors = DSPRITES.sample_factors(40, np.random.RandomState(0))
    factors = np.concatenate([factors, factors[::-1], factors[:5]])
    codes = coder(factors)
    np.testing.assert_array_equal(
        codes, _moments(DSPRITES.sample_observations_from_factors(factors, None))
    )
    assert counted.images == len(np.unique(factors, axis=0)) == coder.encoded
    again = coder(factors[:10])
    np.testing.assert_array_equal(again, codes[:10])
    assert counted.images == (40 if dense else 50)  # the dense table remembers
    assert coder.encode_s > 0


def test_codes_of_factors_keeps_draws_and_scores_exactly():
    """Every metric, the draws of the reference's order: identical with and without the cache."""
    settings = {
        "beta_vae": {"num_train": 30, "num_eval": 20, "batch_size": 8},
        "factor_vae": {"num_train": 30, "num_eval": 20, "num_variance_estimate": 300},
    }
    counted = _Counted()
    cached = _WithFactorCodes(FactorCodes(DSPRITES, counted, chunk=100))
    plain = score_sampled(
        DSPRITES, _moments, seed=3, num_train=200, num_test=100, settings=settings
    )
    fast = score_sampled(DSPRITES, cached, seed=3, num_train=200, num_test=100, settings=settings)
    assert plain.keys() == fast.keys()
    for key, value in plain.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(fast[key], value, err_msg=key)
        else:
            assert fast[key] == value, key
    drawn_images = 300 + 2 * 50 * 8 + 300 + 50 * 64
    assert 0 < counted.images < drawn_images  # repeats across metrics are encoded once
    codes, factors = generate_batch_factor_code(DSPRITES, cached, 50, np.random.RandomState(1))
    codes_plain, factors_plain = generate_batch_factor_code(
        DSPRITES, _moments, 50, np.random.RandomState(1)
    )
    np.testing.assert_array_equal(factors, factors_plain)
    np.testing.assert_array_equal(codes, codes_plain)


@pytest.mark.parametrize("posterior", ["diagonal", "full_covariance", "iaf"])
def test_metric_representation_caches_closed_form_means_only(posterior):
    model = build_model(
        "beta_vae",
        DSPRITES.observation_shape,
        architecture="fc",
        fc_width=16,
        latent_dim=3,
        posterior=posterior,
    )
    mean = metric_representation(model, DSPRITES, "mean", batch_size=256, seed=0)
    sampled = metric_representation(model, DSPRITES, "sampled", batch_size=256, seed=0)
    assert not hasattr(sampled, "codes_of_factors")
    assert hasattr(mean, "codes_of_factors") == (posterior != "iaf")
    factors, images = DSPRITES.sample(64, np.random.RandomState(0))
    reference = representation_function(model, "mean", batch_size=16, seed=0)(images)
    np.testing.assert_array_equal(mean(images[:16]), reference[:16])
    if posterior != "iaf":  # the same codes up to float32 rounding of other batch sizes
        np.testing.assert_allclose(mean.codes_of_factors(factors), reference, rtol=1e-5, atol=1e-6)


def test_perf_eval_takes_the_study_run_and_prints_each_part():
    spec = perf_eval.study_spec("full_covariance", quick=False)
    assert (
        spec.model_args["architecture"] == "conv"
        and spec.model_args["posterior"] == "full_covariance"
    )
    assert (
        spec.evaluation.settings["num_train"] == 10000
        and spec.evaluation.settings["num_test"] == 5000
    )
    assert spec.training.steps == perf_eval.STEPS[False]
    quick = perf_eval.study_spec("iaf", quick=True)
    assert quick.evaluation.settings["num_train"] == 2000 and quick.training.steps == 20
    assert quick.evaluation.settings["latent_scores"]["gap_iw_samples"] == 500  # quick.yaml's
    result = {
        "metric_s/mig": {"seconds": 1.0},
        "latent_s/aggregate_tc": {"seconds": 2.0},
        "metrics_s": {"seconds": 30.0},
        "latent_scores_s": {"seconds": 10.0},
        "inference_gaps_s": {"seconds": 5.0},
        "evaluation_s": {"seconds": 45.0},
        "train_steps_per_second": {"value": 10.0},
        "steady_steps_per_second": {"value": 20.0},
        "setup": {"family": "diagonal", "quick": False, "steps": 200},
    }
    table = perf_eval.format_table(result)
    assert "metric_s/mig" in table and "latent_s/aggregate_tc" in table
    assert "inference_gaps_s" in table and "kl_decomposition_s" not in table
    # the steady rate, not the brief run's: 45 s of 10,000 / 20 = 500 s
    assert "evaluation / training of 10,000 steps (8 min): 9.0%" in table


def test_perf_eval_scales_gaps_and_decomposition_timed_on_fewer_images():
    spec = perf_eval.study_spec("diagonal", quick=False)
    args = argparse.Namespace(gap_images=10, population=73_728)
    overrides, factors = perf_eval.scaled_parts(args, spec)
    # the study's 100 gap images and the whole dsprites grid (3 * 6 * 40 * 32 * 32)
    assert factors == {"inference_gaps_s": 10.0, "kl_decomposition_s": 10.0}
    scaled = perf_eval.study_spec("diagonal", quick=False, latent_overrides=overrides)
    assert scaled.evaluation.settings["latent_scores"] == overrides
    assert scaled.evaluation.settings["num_train"] == 10000  # metrics keep the study's sizes
    with pytest.raises(UserInputError, match="--gap-images must be in"):
        perf_eval.scaled_parts(argparse.Namespace(gap_images=100, population=None), spec)
    with pytest.raises(UserInputError, match="--population must be in"):
        perf_eval.scaled_parts(argparse.Namespace(gap_images=None, population=1), spec)
    result = {
        "metrics_s": {"seconds": 30.0},
        "inference_gaps_s": {"seconds": 5.0, "scale": 10.0, "scaled_seconds": 50.0},
        "evaluation_s": {"seconds": 35.0, "scaled_seconds": 80.0},
        "gap_qstar_steps_max": {"value": 500.0},
        "train_steps_per_second": {"value": 10.0},
        "steady_steps_per_second": {"value": 20.0},
        "setup": {"family": "diagonal", "quick": False, "steps": 200, "gap_images": 10},
    }
    table = perf_eval.format_table(result)
    assert "scaled x 10.0: 50" in table and "slowest gap image: 500" in table
    # the scaled whole evaluation, 80 s, over 10,000 / 20 = 500 s of training
    assert "scaled evaluation / training of 10,000 steps (8 min): 16.0%" in table


@pytest.mark.slow
def test_perf_eval_quick_times_a_real_run():
    result = perf_eval.measure(argparse.Namespace(quick=True, family="diagonal"))
    parts = [result[key]["seconds"] for key in perf_eval.EVALUATION_PARTS]
    assert result["evaluation_s"]["seconds"] == pytest.approx(sum(parts)) and min(parts) > 0
    assert result["steady_steps_per_second"]["value"] > 0
    assert {"metric_s/mig", "metric_s/beta_vae", "metric_s/encode", "latent_s/heldout_iw"} <= set(
        result
    )
