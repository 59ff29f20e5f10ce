"""The metric registry: the specs of `benchmark/metrics/`, and names selected from them.

Each metric module registers its `MetricSpec` (see `benchmark.metrics.spec`);
the lists below are read from the registry each time, so a metric added as a
file appears in all of them.
"""

from __future__ import annotations

from benchmark.metrics.spec import METRICS, MetricSpec

__all__ = [
    "METRICS",
    "MetricSpec",
    "array_metric_names",
    "dataset_metric_names",
    "default_metric_names",
    "metric_names",
]


def metric_names() -> tuple[str, ...]:
    """Every metric, in listing order."""
    return tuple(m.name for m in METRICS.specs())


def array_metric_names(*, include_costly: bool = False) -> tuple[str, ...]:
    """Metrics with an array form: those run by default, or all of them with `include_costly`."""
    return tuple(
        m.name for m in METRICS.specs() if not m.needs_dataset and (m.by_default or include_costly)
    )


def default_metric_names() -> tuple[str, ...]:
    """The metrics run when none are named (all but the costly downstream task)."""
    return tuple(m.name for m in METRICS.specs() if m.by_default)


def dataset_metric_names() -> tuple[str, ...]:
    """Metrics that draw their own batches and need a data set (BetaVAE, FactorVAE)."""
    return tuple(m.name for m in METRICS.specs() if m.needs_dataset)
