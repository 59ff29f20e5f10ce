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
    "REPRESENTATIONS",
    "Catalog",
    "default_catalog",
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
# Settings the evaluation passes on to metrics and latent scores (disentanglement_lib's names).
FALLBACK_EVALUATION_SETTINGS = (
    "batch_size",
    "continuous_factors",
    "diff_quantile",
    "num_bins",
    "num_eval",
    "num_points",
    "num_test",
    "num_train",
    "num_variance_estimate",
    "prune_threshold",
)
REPRESENTATIONS = ("mean", "sampled")

# Parameters of metric functions that are data, not settings.
_DATA_PARAMETERS = {
    "codes",
    "codes_test",
    "codes_train",
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
    (used with `benchmark.registry.check_kwargs` and its type annotations); a
    name without a target has its arguments accepted unchecked.
    """

    datasets: tuple[str, ...]
    model_entries: tuple[str, ...]
    posteriors: tuple[str, ...]
    metrics: tuple[str, ...]
    evaluation_settings: tuple[str, ...]
    dataset_targets: Mapping[str, Callable[..., object]] = field(default_factory=dict)
    model_targets: Mapping[str, Callable[..., object]] = field(default_factory=dict)


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


def _metric_settings(registry: Registry) -> tuple[str, ...]:
    names: set[str] = set()
    for metric in registry.names():
        try:
            params = inspect.signature(registry.get(metric)).parameters  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        names.update(
            n
            for n, p in params.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in _DATA_PARAMETERS
        )
    return tuple(sorted(names | set(FALLBACK_EVALUATION_SETTINGS)))


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The live registries, with fixed fallbacks for parts not installed yet (cached)."""
    from benchmark.data import DATASETS

    datasets = tuple(DATASETS.names())
    dataset_targets = {name: DATASETS.get(name) for name in datasets}

    metrics: tuple[str, ...] = FALLBACK_METRICS
    settings: tuple[str, ...] = FALLBACK_EVALUATION_SETTINGS
    metrics_module = _optional_module("benchmark.metrics")
    metric_registry = getattr(metrics_module, "METRICS", None) if metrics_module else None
    if isinstance(metric_registry, Registry):
        metrics = tuple(metric_registry.names())
        settings = _metric_settings(metric_registry)

    entries: tuple[str, ...] = FALLBACK_MODEL_ENTRIES
    posteriors: tuple[str, ...] = FALLBACK_POSTERIORS
    model_targets: dict[str, Callable[..., object]] = {}
    models_module = _optional_module("benchmark.models")
    if models_module is not None:
        entry_registry = _find_registry(models_module, ("model", "entry"))
        if entry_registry is not None:
            entries = tuple(entry_registry.names())
            model_targets = {name: entry_registry.get(name) for name in entries}
        posterior_registry = _find_registry(models_module, ("posterior",))
        if posterior_registry is not None:
            posteriors = tuple(posterior_registry.names())

    return Catalog(
        datasets=datasets,
        model_entries=entries,
        posteriors=posteriors,
        metrics=metrics,
        evaluation_settings=settings,
        dataset_targets=dataset_targets,
        model_targets=model_targets,
    )
