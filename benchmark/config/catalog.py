"""The registered names a task file may use: data sets, model entries, posteriors, metrics.

`default_catalog()` reads the live registries (`benchmark.data.DATASETS`,
the model-entry registry in `benchmark.models`, `benchmark.metrics.METRICS`).
A part that is not installed yet falls back to the fixed names below, so
task files can still be checked; a registry that exists always wins.
Importing `benchmark.models` imports TensorFlow, so the model registry is
only consulted when a task file is validated, never at import time.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from benchmark.registry import Registry

__all__ = [
    "FALLBACK_EVALUATION_SETTINGS",
    "FALLBACK_METRICS",
    "FALLBACK_MODEL_ENTRIES",
    "FALLBACK_POSTERIORS",
    "LATENT_SCORE_SETTINGS",
    "REPRESENTATIONS",
    "Catalog",
    "dataset_names",
    "default_catalog",
    "metric_names",
    "model_names",
]

FALLBACK_METRICS = (
    "beta_vae",
    "dci",
    "factor_vae",
    "irs",
    "mig",
    "modularity_explicitness",
    "sap",
    "unsupervised",
)
FALLBACK_MODEL_ENTRIES = (
    "annealed_vae",
    "beta_tcvae",
    "beta_vae",
    "beta_vae_free_bits",
    "dip_vae_i",
    "dip_vae_ii",
    "factor_vae",
)
FALLBACK_POSTERIORS = ("diagonal", "full_covariance", "iaf")
# Metric settings when the metric registry is not installed (disentanglement_lib's names).
FALLBACK_EVALUATION_SETTINGS = (
    "batch_size",
    "diff_quantile",
    "num_bins",
    "num_eval",
    "num_test",
    "num_train",
    "num_variance_estimate",
    "prune_threshold",
)
# Keyword settings of `benchmark.evaluation.latent_scores.latent_scores`.
LATENT_SCORE_SETTINGS = (
    "batch_size",
    "num_points",  # images the scores average over (benchmark.pipeline)
    "num_heldout",  # held-out images for the importance-weighted bound
    "iw_samples",
    "posterior_samples",
    "reconstruction_samples",
    "tc_sample_size",
)
REPRESENTATIONS = ("mean", "sampled")

# Parameters of metric functions that are data, not settings.
_DATA_PARAMETERS = {
    "codes",
    "codes_test",
    "codes_train",
    "dataset",
    "factors",
    "factors_test",
    "factors_train",
    "ground_truth_data",
    "random_state",
    "representation_function",
}


@dataclass(frozen=True)
class Catalog:
    """Names a task may use, and the callables whose signatures check arguments.

    `dataset_targets` / `model_targets` map a name to the class built from it
    (its signature and type annotations check the arguments); a name without
    a target has its arguments accepted unchecked. `evaluation_settings` are
    the settings any metric or the latent scores take; `metric_settings` maps
    a metric name (or "latent_scores") to its own, where known.
    """

    datasets: tuple[str, ...]
    model_entries: tuple[str, ...]
    posteriors: tuple[str, ...]
    metrics: tuple[str, ...]
    evaluation_settings: tuple[str, ...]
    dataset_targets: Mapping[str, Callable[..., object]] = field(default_factory=dict)
    model_targets: Mapping[str, Callable[..., object]] = field(default_factory=dict)
    metric_settings: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {"latent_scores": LATENT_SCORE_SETTINGS}
    )


def _optional_module(name: str):
    """The module, or None when it (not one of its imports) does not exist yet."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and (name == error.name or name.startswith(error.name + ".")):
            return None
        raise


def _find_registry(module: object, kind_words: Sequence[str]) -> Registry | None:
    """The module's `Registry` whose kind mentions one of `kind_words`."""
    for value in vars(module).values():
        if isinstance(value, Registry) and any(w in value.kind for w in kind_words):
            return value
    return None


def _metric_settings(registry: Registry) -> dict[str, tuple[str, ...]]:
    """`{metric: its keyword settings}` from the registered callables' signatures."""
    settings: dict[str, tuple[str, ...]] = {}
    for metric in registry.names():
        try:
            params = inspect.signature(registry.get(metric)).parameters  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        settings[metric] = tuple(
            n
            for n, p in params.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in _DATA_PARAMETERS
        )
    return settings


@lru_cache(maxsize=1)
def dataset_names() -> tuple[tuple[str, ...], dict[str, Callable[..., object]]]:
    """`(names, {name: class})` of the registered data sets (no TensorFlow)."""
    from benchmark.data import DATASETS

    names = tuple(DATASETS.names())
    return names, {name: DATASETS.get(name) for name in names}


@lru_cache(maxsize=1)
def metric_names() -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """`(metric names, {metric: its settings})`: the live registry, or the fallbacks."""
    module = _optional_module("benchmark.metrics")
    registry = getattr(module, "METRICS", None) if module is not None else None
    if isinstance(registry, Registry):
        return tuple(registry.names()), _metric_settings(registry)
    return FALLBACK_METRICS, {}


@lru_cache(maxsize=1)
def model_names() -> tuple[tuple[str, ...], tuple[str, ...], dict[str, Callable[..., object]]]:
    """`(entries, posteriors, {entry: class})`; imports TensorFlow when the models exist."""
    module = _optional_module("benchmark.models")
    entries: tuple[str, ...] = FALLBACK_MODEL_ENTRIES
    posteriors: tuple[str, ...] = FALLBACK_POSTERIORS
    targets: dict[str, Callable[..., object]] = {}
    if module is not None:
        entry_registry = getattr(module, "MODELS", None) or _find_registry(module, ("model",))
        if isinstance(entry_registry, Registry):
            entries = tuple(entry_registry.names())
            targets = {name: entry_registry.get(name) for name in entries}
        posterior_registry = getattr(module, "POSTERIORS", None) or _find_registry(
            module, ("posterior",)
        )
        if isinstance(posterior_registry, Registry):
            posteriors = tuple(posterior_registry.names())
    return entries, posteriors, targets


def default_catalog() -> Catalog:
    """The live registries, with fixed fallbacks for parts not installed yet (cached)."""
    datasets, dataset_targets = dataset_names()
    metrics, per_metric = metric_names()
    entries, posteriors, model_targets = model_names()
    names = {n for values in per_metric.values() for n in values} or set(
        FALLBACK_EVALUATION_SETTINGS
    )
    settings = tuple(sorted(names | set(LATENT_SCORE_SETTINGS)))
    return Catalog(
        datasets=datasets,
        model_entries=entries,
        posteriors=posteriors,
        metrics=metrics,
        evaluation_settings=settings,
        dataset_targets=dataset_targets,
        model_targets=model_targets,
        metric_settings={**per_metric, "latent_scores": LATENT_SCORE_SETTINGS},
    )
