"""The registered names a task file may use: data sets, model entries, posteriors, metrics.

`default_catalog()` reads the live registries: `benchmark.data.DATASETS`,
`benchmark.models.MODELS` / `POSTERIORS` and the metric specs of
`benchmark.metrics.METRICS`, and the latent-score settings declared in
`benchmark.evaluation.part`. None of them imports TensorFlow
(model entries and posterior families read it lazily), and each is consulted
when a task file is validated, never when this module is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = [
    "REPRESENTATIONS",
    "Catalog",
    "dataset_names",
    "default_catalog",
    "latent_score_defaults",
    "latent_score_settings",
    "metric_names",
    "model_facts",
    "model_names",
    "setting_checks",
]

REPRESENTATIONS = ("mean", "sampled")


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
    `sampled_posteriors` are the families whose moments are Monte Carlo
    estimates; `model_defaults` maps an entry to its arguments' defaults;
    `family_options` maps a posterior family to the options it takes.
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
    sampled_posteriors: tuple[str, ...] = ()
    latent_score_defaults: Mapping[str, object] = field(default_factory=dict)
    model_defaults: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    family_options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


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
    """`(entries, posteriors, {entry: class})` of the registries (no TensorFlow)."""
    from benchmark.models import MODELS, POSTERIORS

    entries = tuple(MODELS.names())
    return entries, tuple(POSTERIORS.names()), {name: MODELS.get(name) for name in entries}


@lru_cache(maxsize=1)
def model_facts() -> tuple[
    tuple[str, ...], dict[str, dict[str, object]], dict[str, tuple[str, ...]]
]:
    """`(sampled posterior families, {entry: its arguments' defaults}, {family: its
    options})` (no TensorFlow)."""
    from benchmark.models import MODELS, POSTERIORS, model_arguments

    sampled = tuple(n for n in POSTERIORS.names() if not POSTERIORS.get(n).closed_form)
    options = {n: tuple(POSTERIORS.get(n).options) for n in POSTERIORS.names()}
    return sampled, {name: model_arguments(name) for name in MODELS.names()}, options


@lru_cache(maxsize=1)
def setting_checks() -> dict[str, dict[str, Callable[[str, object], object]]]:
    """`{metric or "latent_scores": {setting: check}}` (no TensorFlow).

    Metric settings are checked as their specs declare (`MetricSpec.checks`),
    the evaluation parts' (all under `latent_scores`) as the parts declare
    them (`benchmark.evaluation.part`).
    """
    from benchmark.evaluation.part import SETTINGS_SECTION, part_setting_checks
    from benchmark.metrics import METRICS

    checks: dict[str, dict[str, Callable[[str, object], object]]] = {
        name: METRICS.get(name).checks() for name in METRICS.names()
    }
    checks[SETTINGS_SECTION] = part_setting_checks()
    return checks


@lru_cache(maxsize=1)
def latent_score_settings() -> tuple[str, ...]:
    """Settings of the evaluation parts, sorted (`benchmark.evaluation.part`)."""
    from benchmark.evaluation.part import part_setting_defaults

    return tuple(sorted(part_setting_defaults()))


@lru_cache(maxsize=1)
def latent_score_defaults() -> dict[str, object]:
    """`{setting: default}` of the evaluation parts' settings (no TensorFlow)."""
    from benchmark.evaluation.part import part_setting_defaults

    return part_setting_defaults()


def default_catalog() -> Catalog:
    """The live registries (each read once, then cached)."""
    datasets, dataset_targets = dataset_names()
    metrics, per_metric = metric_names()
    entries, posteriors, model_targets = model_names()
    sampled, defaults, family_options = model_facts()
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
        sampled_posteriors=sampled,
        latent_score_defaults=latent_score_defaults(),
        model_defaults=defaults,
        family_options=family_options,
    )
