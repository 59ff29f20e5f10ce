"""Downstream task: accuracies on representations whose answer is known."""

import numpy as np
import pytest

from benchmark.metrics import METRICS, score_arrays
from benchmark.metrics.downstream import TRAIN_SIZES, downstream, downstream_keys

SIZES = (3, 4)


def _factors(num: int, rng: np.random.Generator) -> np.ndarray:
    return np.stack([rng.integers(s, size=num) for s in SIZES], axis=1)


def _identity_codes(factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each factor's value in its own code, plus a pure-noise code."""
    return np.concatenate([factors.astype(float), rng.normal(size=(len(factors), 1))], axis=1)


@pytest.mark.parametrize("predictor", ["logistic_regression", "boosted_trees"])
def test_identity_codes_predict_every_factor(predictor):
    rng = np.random.default_rng(0)
    train, test = _factors(1000, rng), _factors(300, rng)
    result = downstream(
        _identity_codes(train, rng), train, _identity_codes(test, rng), test, predictor,
        efficiency_large=1000,
    )  # fmt: skip
    prefix = f"downstream_task_{predictor}"
    assert result[f"{prefix}:1000:mean_test_accuracy"] > 0.99
    assert result[f"{prefix}:100:min_test_accuracy"] > 0.95
    assert set(result) <= set(downstream_keys(predictor))
    # Sizes above the 1,000 training points are left out, never faked.
    assert f"{prefix}:10000:mean_test_accuracy" not in result
    ratio = result[f"{prefix}:100:mean_test_accuracy"] / result[f"{prefix}:1000:mean_test_accuracy"]
    assert result[f"{prefix}:sample_efficiency"] == pytest.approx(ratio)
    per_factor = result[f"{prefix}:1000:test_accuracy_per_factor"]
    assert per_factor.shape == (len(SIZES),)
    assert result[f"{prefix}:1000:mean_test_accuracy"] == pytest.approx(np.mean(per_factor))
    assert result[f"{prefix}:1000:min_test_accuracy"] == pytest.approx(np.min(per_factor))


@pytest.mark.parametrize("predictor", ["logistic_regression", "boosted_trees"])
def test_noise_codes_score_chance(predictor):
    rng = np.random.default_rng(1)
    train, test = _factors(1000, rng), _factors(2000, rng)
    result = downstream(
        rng.normal(size=(1000, 3)), train, rng.normal(size=(2000, 3)), test, predictor
    )
    chance = np.mean([1 / s for s in SIZES])  # uniform factors: best blind guess
    accuracy = result[f"downstream_task_{predictor}:1000:mean_test_accuracy"]
    assert abs(accuracy - chance) < 0.06
    # Without a 10,000-point size there is no study ratio.
    assert f"downstream_task_{predictor}:sample_efficiency" not in result


def test_tiny_training_set_with_one_class_predicts_it():
    codes = np.arange(20, dtype=float)[:, None]
    factors = np.stack([np.r_[np.zeros(10), np.arange(10) % 2], np.arange(20) % 2], 1)
    result = downstream(codes, factors.astype(int), codes, factors.astype(int))
    # Factor 0 is constant (0) in the first 10 points: predicting 0 is right on half the test.
    per_factor = result["downstream_task_logistic_regression:10:test_accuracy_per_factor"]
    assert per_factor[0] == pytest.approx(15 / 20)


def test_registered_by_name_only():
    rng = np.random.default_rng(2)
    train, test = _factors(100, rng), _factors(50, rng)
    codes_train, codes_test = _identity_codes(train, rng), _identity_codes(test, rng)
    default = score_arrays(codes_train, train, codes_test, test, metrics=["mig"])
    assert not any(k.startswith("downstream") for k in default)
    named = score_arrays(
        codes_train, train, codes_test, test,
        metrics=["downstream_task_boosted_trees"], efficiency_small=10, efficiency_large=100,
    )  # fmt: skip
    assert named["downstream_task_boosted_trees:100:mean_test_accuracy"] > 0.95
    assert "downstream_task_boosted_trees:sample_efficiency" in named
    metric = METRICS.get("downstream_task_logistic_regression")
    assert not metric.by_default
    assert len(metric.keys) == len(TRAIN_SIZES) * 6 + 1
    without_test = score_arrays(codes_train, train, metrics=["downstream_task_logistic_regression"])
    assert "downstream_task_logistic_regression:sample_efficiency" in without_test["skipped"]
