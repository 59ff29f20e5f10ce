"""The registered names a task file may use: data sets, model entries, posteriors, metrics.

`default_catalog()` reads the live registries: `benchmark.data.DATASETS`,
`benchmark.models.MODELS` / `POSTERIORS` and `benchmark.metrics.METRICS`,
and takes the latent-score settings from the signature of
`benchmark.evaluation.latent_scores.latent_scores` plus the pipeline's
`LATENT_SAMPLE_DEFAULTS`. Importing the models or the evaluation imports
TensorFlow, so those are only consulted when a task file is validated, never
when this module is imported.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = [
    "REPRESENTATIONS",
    "Catalog",
    "dataset_names",
    "default_catalog",
    "latent_score_settings",
    "metric_names",
    "model_names",
    "setting_checks",
]

REPRESENTATIONS = ("mean", "sampled")
# Keyword arguments of `latent_scores` that the pipeline sets itself, never the task file.
_PIPELINE_SET = ("dataset_size", "timings")


@dataclass(frozen=True)
class Catalog:
    """Names a task may use, and the callables whose signatures check arguments.

    `dataset_targets` / `model_targets` map a name to the class built from it
    (its signature and type annotations check the arguments); a name without
    a target has its arguments accepted unchecked. `evaluation_settings` are
    the settings any metric or the latent scores take; `metric_settings` maps
    a metric name (or "latent_scores") to its own, where known (otherwise
    `evaluation_settings` apply). `setting_checks` maps a metric name (or
    "latent_scores") to the declared value check of each of its settings
    (`check(name, value) -> value`, raising `ArgumentError`).
    """

    datasets: tuple[str, ...]
    model_entries: tuple[str, ...]
    posteriors: tuple[str, ...]
    metrics: tuple[str, ...]
    evaluation_settings: tuple[str, ...]
    dataset_targets: Mapping[str, Callable[..., object]] = field(default_factory=dict)
    model_targets: Mapping[str, Callable[..., object]] = field(default_factory=dict)
    metric_settings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    setting_checks: Mapping[str, Mapping[str, Callable[[str, object], object]]] = field(
        default_factory=dict
    )


@lru_cache(maxsize=1)
def dataset_names() -> tuple[tuple[str, ...], dict[str, Callable[..., object]]]:
    """`(names, {name: class})` of the registered data sets (no TensorFlow)."""
    from benchmark.data import DATASETS

    names = tuple(DATASETS.names())
    return names, {name: DATASETS.get(name) for name in names}


@lru_cache(maxsize=1)
def metric_names() -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """`(metric names, {metric: the settings its spec declares})` (no TensorFlow)."""
    from benchmark.metrics import METRICS

    names = tuple(METRICS.names())
    return names, {name: METRICS.get(name).setting_names() for name in names}


@lru_cache(maxsize=1)
def model_names() -> tuple[tuple[str, ...], tuple[str, ...], dict[str, Callable[..., object]]]:
    """`(entries, posteriors, {entry: class})` of the registries; imports TensorFlow."""
    from benchmark.models import MODELS, POSTERIORS

    entries = tuple(MODELS.names())
    return entries, tuple(POSTERIORS.names()), {name: MODELS.get(name) for name in entries}


@lru_cache(maxsize=1)
def setting_checks() -> dict[str, dict[str, Callable[[str, object], object]]]:
    """`{metric or "latent_scores": {setting: check}}`; imports TensorFlow.

    Metric settings are checked as their specs declare (`MetricSpec.checks`),
    the latent scores' by `benchmark.evaluation.latent_scores.SETTING_CHECKS`,
    the pipeline's `LATENT_SAMPLE_CHECKS` and the gaps', decomposition's and
    rotation controls' `benchmark.evaluation.posterior_settings.SETTING_CHECKS`.
    """
    from benchmark.evaluation.latent_scores import SETTING_CHECKS as LATENT_CHECKS
    from benchmark.evaluation.posterior_settings import SETTING_CHECKS as POSTERIOR_CHECKS
    from benchmark.metrics import METRICS
    from benchmark.pipeline import LATENT_SAMPLE_CHECKS

    checks: dict[str, dict[str, Callable[[str, object], object]]] = {
        name: METRICS.get(name).checks() for name in METRICS.names()
    }
    checks["latent_scores"] = {**LATENT_CHECKS, **LATENT_SAMPLE_CHECKS, **POSTERIOR_CHECKS}
    return checks


@lru_cache(maxsize=1)
def latent_score_settings() -> tuple[str, ...]:
    """Settings of the latent scores, sorted; imports TensorFlow.

    The keyword-only arguments of `latent_scores` after `seed` (less those the
    pipeline sets itself), plus the sample sizes the pipeline draws
    (`LATENT_SAMPLE_DEFAULTS`: `num_points`, `num_heldout`), plus the gaps',
    decomposition's and rotation controls' (`benchmark.evaluation.posterior_settings`).
    """
    from benchmark.evaluation.latent_scores import latent_scores
    from benchmark.evaluation.posterior_settings import posterior_setting_defaults
    from benchmark.pipeline import LATENT_SAMPLE_DEFAULTS

    parameters = list(inspect.signature(latent_scores).parameters.values())
    after_seed = parameters[[p.name for p in parameters].index("seed") + 1 :]
    names = {p.name for p in after_seed if p.kind is p.KEYWORD_ONLY and p.name not in _PIPELINE_SET}
    return tuple(sorted(names | set(LATENT_SAMPLE_DEFAULTS) | set(posterior_setting_defaults())))


def default_catalog() -> Catalog:
    """The live registries (each read once, then cached)."""
    datasets, dataset_targets = dataset_names()
    metrics, per_metric = metric_names()
    entries, posteriors, model_targets = model_names()
    metric_settings = {**per_metric, "latent_scores": latent_score_settings()}
    return Catalog(
        datasets=datasets,
        model_entries=entries,
        posteriors=posteriors,
        metrics=metrics,
        evaluation_settings=tuple(sorted({n for v in metric_settings.values() for n in v})),
        dataset_targets=dataset_targets,
        model_targets=model_targets,
        metric_settings=metric_settings,
        setting_checks=setting_checks(),
    )
