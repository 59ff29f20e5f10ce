"""`score_arrays` and `score_sampled`: run several metrics and collect one flat result."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import sklearn

from benchmark.data.base import GroundTruthData
from benchmark.errors import UserInputError
from benchmark.metrics.inputs import check_arrays
from benchmark.metrics.registry import (
    METRICS,
    MetricSpec,
    array_metric_names,
    default_metric_names,
    metric_names,
)
from benchmark.metrics.sampling import RepresentationFunction, sample_train_test
from benchmark.metrics.settings import check_names
from benchmark.metrics.spec import ARRAY_INPUTS
from benchmark.registry import suggest

__all__ = ["NEEDS_TEST", "MetricCallback", "score_arrays", "score_sampled", "select_metrics"]

#: `on_metric(name, scores, seconds)`: one metric's own keys and wall seconds, as it finishes.
MetricCallback = Callable[[str, dict[str, object], float], None]

NEEDS_TEST = "needs test points (codes_test and factors_test)"


def select_metrics(metrics: str | Iterable[str] | None, default: Iterable[str]) -> list[MetricSpec]:
    """Metrics by name (a list, or one comma-separated string), in order, without repeats.

    None selects `default`. Unknown names raise UserInputError with the close
    matches and the known names.
    """
    if metrics is None:
        names = list(default)
    elif isinstance(metrics, str):
        names = [n.strip() for n in metrics.split(",") if n.strip()]
    else:
        names = [str(n).strip() for n in metrics]
    if not names:
        raise UserInputError(f"metrics: expected at least one of {', '.join(metric_names())}")
    selected: list[MetricSpec] = []
    for name in names:
        metric = METRICS.get(name)
        if metric not in selected:
            selected.append(metric)
    return selected


def _check_array_settings(settings: Mapping[str, object]) -> None:
    """Unknown setting names (accepted by no array metric) raise UserInputError."""
    allowed = sorted(
        {
            s
            for n in array_metric_names(include_costly=True)
            for s in METRICS.get(n).array_settings()
        }
    )
    for key in settings:
        if key not in allowed:
            raise UserInputError(
                f"score_arrays: unknown setting {key!r}{suggest(key, allowed)}; "
                f"allowed: {', '.join(allowed)}"
            )


def score_arrays(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray | None = None,
    factors_test: np.ndarray | None = None,
    metrics: str | Iterable[str] | None = None,
    **settings: object,
) -> dict[str, object]:
    """Scores codes against ground-truth factors with the array metrics.

    Args:
      codes_train: `[num_train, num_codes]` real codes (float32/float64 kept as given).
      factors_train: `[num_train, num_factors]` integer factor values >= 0.
      codes_test, factors_test: optional test points, same columns.
      metrics: names among `array_metric_names(include_costly=True)` (a list or
        "mig,dci"); None is `array_metric_names()` (all but the costly downstream task).
      **settings: passed to every selected metric that takes them: `num_bins`
        (20), `diff_quantile` (IRS, 0.99), `gbt_random_state` (DCI, 0),
        `n_jobs` (DCI; default `DISBENCH_THREADS`, else -1 = all cores).
        Names no metric takes are an error.

    Returns:
      A flat dict (layout in `benchmark.metrics`): the metric keys, `sklearn_version`
      and `skipped` ({key: reason} for the keys that need test points when none
      are given).

    Raises:
      UserInputError: bad arrays, an unknown metric or setting, or a metric
        that needs a data set (`beta_vae`, `factor_vae`; use `score_sampled`).
    """
    selected = select_metrics(metrics, array_metric_names())
    for metric in selected:
        if metric.needs_dataset:
            raise UserInputError(
                f"metric {metric.name!r} needs a data set and a representation function, not arrays "
                f"(it draws its own batches with one factor held fixed); use score_sampled, "
                f"or choose among {', '.join(array_metric_names())}"
            )
    _check_array_settings(settings)
    arrays = dict(
        zip(
            ARRAY_INPUTS,
            check_arrays(codes_train, factors_train, codes_test, factors_test),
            strict=True,
        )
    )
    return _run_array_metrics(selected, arrays, {m.name: settings for m in selected})


def _run_array_metrics(
    selected: list[MetricSpec],
    arrays: dict[str, np.ndarray | None],
    settings: Mapping[str, Mapping[str, object]],
    timings: dict[str, float] | None = None,
    on_metric: MetricCallback | None = None,
) -> dict[str, object]:
    """Runs array metrics on validated arrays; `settings` maps metric name to its settings.

    `timings`, when given, receives each metric's wall seconds under its name;
    `on_metric(name, scores, seconds)` is called as each metric finishes.
    """
    result: dict[str, object] = {}
    skipped: dict[str, str] = {}
    for metric in selected:
        started = time.perf_counter()
        scores = metric.run_arrays(arrays, **settings.get(metric.name, {}))
        result.update(scores)
        seconds = time.perf_counter() - started
        if timings is not None:
            timings[metric.name] = seconds
        if on_metric is not None:
            on_metric(metric.name, scores, seconds)
        if arrays["codes_test"] is None:
            skipped.update({key: NEEDS_TEST for key in metric.test_keys})
    result["sklearn_version"] = sklearn.__version__
    result["skipped"] = skipped
    return result


def score_sampled(
    dataset: GroundTruthData,
    representation_function: RepresentationFunction,
    seed: int = 0,
    metrics: str | Iterable[str] | None = None,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = 16,
    settings: Mapping[str, Mapping[str, object]] | None = None,
    timings: dict[str, float] | None = None,
    on_metric: MetricCallback | None = None,
) -> dict[str, object]:
    """Scores a representation function on points drawn from a data set.

    As in disentanglement_lib's study, every metric starts from a fresh
    `RandomState(seed)`. The array metrics all draw `num_train` training points
    then `num_test` test points in batches of `batch_size` (same draws for
    every one of them, so they are drawn once here); BetaVAE and FactorVAE
    draw their own batches (see `benchmark.metrics.sampling`).

    Args:
      dataset: the ground-truth data set.
      representation_function: observations `[n, ...]` -> codes `[n, num_codes]`, deterministic.
      seed: the seed of each metric's RandomState.
      metrics: names among `metric_names()`; None is `default_metric_names()` (all
        but the downstream task).
      num_train, num_test, batch_size: the array metrics' draws (study: 10000, 5000, 16).
      settings: per-metric settings, e.g. `{"dci": {"n_jobs": 2}, "beta_vae":
        {"num_train": 1000}}`; for array metrics, the core's settings.
      timings: when given, receives wall seconds: `draws` (the array metrics'
        shared points, codes included) and each metric by name (BetaVAE and
        FactorVAE including their own draws and codes).
      on_metric: when given, called as `on_metric(name, scores, seconds)` as
        each metric finishes, with that metric's keys only (a caller can keep
        finished metrics and leave them out of a later, interrupted-and-resumed
        call: every metric starts from its own `RandomState(seed)` and the
        shared draws do not depend on which array metrics use them).

    Returns:
      The flat result of `score_arrays` plus the data-set metrics' keys and `seed`.
    """
    selected = select_metrics(metrics, default_metric_names())
    settings = dict(settings or {})
    for name, values in settings.items():
        metric = METRICS.get(name)
        allowed = metric.array_settings() if not metric.needs_dataset else metric.setting_names()
        check_names(name, dict(values), allowed)
    array_metrics = [m for m in selected if not m.needs_dataset]
    result: dict[str, object] = {}
    if array_metrics:
        wants_test = any(m.test_keys for m in array_metrics)
        started = time.perf_counter()
        drawn = sample_train_test(
            dataset,
            representation_function,
            np.random.RandomState(seed),
            num_train,
            num_test if wants_test else None,
            batch_size,
        )
        if timings is not None:
            timings["draws"] = time.perf_counter() - started
        arrays = dict(zip(ARRAY_INPUTS, drawn, strict=True))
        result.update(_run_array_metrics(array_metrics, arrays, settings, timings, on_metric))
    for metric in selected:
        if metric.needs_dataset:
            started = time.perf_counter()
            scores = metric(
                dataset,
                representation_function,
                np.random.RandomState(seed),
                **settings.get(metric.name, {}),
            )
            result.update(scores)
            seconds = time.perf_counter() - started
            if timings is not None:
                timings[metric.name] = seconds
            if on_metric is not None:
                on_metric(metric.name, scores, seconds)
    result["sklearn_version"] = sklearn.__version__
    result.setdefault("skipped", {})
    result["seed"] = seed
    return result
