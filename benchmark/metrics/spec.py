"""What a metric declares about itself: `MetricSpec`, `Key` and `register_metric`.

A metric is one module in `benchmark/metrics/` that ends with

    METRIC = register_metric(MetricSpec(name=..., summary=..., keys=(...), ...))

Every module of the package is imported the first time `METRICS` is used,
so adding a metric is adding one file. Config validation, `disbench list
metrics`, `disbench score` and the leaderboard's columns read these specs;
nothing else lists metrics, their keys or their settings.

An array metric gives a pure function of arrays (`arrays`, taking the arrays
named in `inputs` positionally, then its own settings by keyword); the
sampling layer draws `num_train` (and, if it takes test points, `num_test`)
points in batches of `batch_size` for it. A metric that draws its own
batches gives `sample(dataset, representation_function, random_state,
**settings)` instead and is scored only on a data set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.metrics import settings as s
from benchmark.metrics.sampling import sample_train_test
from benchmark.registry import DiscoveredRegistry

__all__ = [
    "ARRAY_INPUTS",
    "HIGHER",
    "INTERPRETABILITY",
    "LOWER",
    "METRICS",
    "NEITHER",
    "Key",
    "MetricSpec",
    "register_metric",
]

HIGHER, LOWER, NEITHER = 1, -1, 0

# Leaderboard groups a metric's columns may go to (the titles of its tables).
INTERPRETABILITY = "Interpretability"
CORRELATION = "Latent correlation and information"
DOWNSTREAM = "Downstream sample efficiency"

ARRAY_INPUTS = ("codes_train", "factors_train", "codes_test", "factors_test")


@dataclass(frozen=True)
class Key:
    """One result key of a metric.

    `label` and `direction` (HIGHER, LOWER or NEITHER is better) make it a
    leaderboard column; a key without a label is stored, listed under "Other
    scores" if it is a number, and cannot be a task's `main_metric`.
    `headline` columns get a plot against the swept argument. `needs_test`:
    computed only when test points are given; `sklearn`: its value depends on
    scikit-learn's solvers. `margin`: the smallest difference between two
    models' means that matters (the equivalence margin of the leaderboard's
    paired contrasts, `benchmark.leaderboard.contrasts`); None: not tested.
    """

    name: str
    label: str = ""
    direction: int = NEITHER
    headline: bool = False
    needs_test: bool = False
    sklearn: bool = False
    margin: float | None = None

    def __post_init__(self) -> None:
        if self.direction not in (HIGHER, LOWER, NEITHER):
            raise ValueError(f"key {self.name!r}: direction must be 1, -1 or 0")


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its name, keys, settings, and the function that computes it.

    Attributes:
      name: short name, as in a task's `evaluation.metrics` and `--metrics`.
      summary: one line for `disbench list metrics` and help texts.
      keys: the result keys it writes, in order.
      settings: its own typed settings with defaults and checks (for an array
        metric, the keyword settings of `arrays`; the draws are added by
        `setting_names`).
      arrays: the pure function of arrays, or None for a metric that draws its own batches.
      inputs: which of codes_train, factors_train, codes_test, factors_test
        `arrays` takes, in order.
      sample: `(dataset, representation_function, random_state, **settings) -> dict`
        for a metric that needs a data set (then `arrays` is None).
      group: the leaderboard table its labelled keys go to.
      order: position in listings and within its leaderboard table (lower first).
      by_default: run when no metrics are named (False for costly ones).
      rotation_control: an array metric that reads single code axes and is cheap
        enough to score again on the PCA- and ICA-rotated mean codes
        (`benchmark.evaluation.parts.rotation_controls`): a rotation of z changes it.
    """

    name: str
    summary: str
    keys: tuple[Key, ...]
    settings: tuple[s.Setting, ...] = ()
    arrays: Callable[..., dict[str, object]] | None = None
    inputs: tuple[str, ...] = ()
    sample: Callable[..., dict[str, object]] | None = None
    group: str = INTERPRETABILITY
    order: int = 100
    by_default: bool = True
    rotation_control: bool = False

    def __post_init__(self) -> None:
        if (self.arrays is None) == (self.sample is None):
            raise ValueError(f"metric {self.name!r}: give exactly one of arrays and sample")
        if self.arrays is not None and not set(self.inputs) <= set(ARRAY_INPUTS):
            raise ValueError(f"metric {self.name!r}: inputs must be among {ARRAY_INPUTS}")
        names = [k.name for k in self.keys]
        if len(set(names)) != len(names):
            raise ValueError(f"metric {self.name!r}: a key is declared twice")

    @property
    def needs_dataset(self) -> bool:
        """True for metrics that draw their own batches (no array form)."""
        return self.arrays is None

    @property
    def uses_test_points(self) -> bool:
        """True when the array form takes test points (then `num_test` is a setting)."""
        return "codes_test" in self.inputs

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)

    @property
    def test_keys(self) -> tuple[str, ...]:
        """Keys computed only when test points are given."""
        return tuple(k.name for k in self.keys if k.needs_test)

    @property
    def sklearn_keys(self) -> tuple[str, ...]:
        """Keys whose values depend on scikit-learn."""
        return tuple(k.name for k in self.keys if k.sklearn)

    def draw_settings(self) -> tuple[s.Setting, ...]:
        """The draws the sampling layer makes for an array metric (none for a data-set metric)."""
        if self.needs_dataset:
            return ()
        if self.uses_test_points:
            return (s.NUM_TRAIN, s.NUM_TEST, s.BATCH_SIZE)
        return (s.NUM_TRAIN, s.BATCH_SIZE)

    def all_settings(self) -> tuple[s.Setting, ...]:
        """Every setting a task may give this metric: the draws, then its own."""
        return (*self.draw_settings(), *self.settings)

    def setting_names(self) -> tuple[str, ...]:
        return tuple(x.name for x in self.all_settings())

    def array_settings(self) -> tuple[str, ...]:
        """The keyword settings of `arrays` (empty for data-set metrics)."""
        return () if self.needs_dataset else tuple(x.name for x in self.settings)

    def checks(self) -> dict[str, s.SettingCheck]:
        """`{setting: check(name, value) -> value}` of every setting."""
        return {x.name: x.check for x in self.all_settings()}

    def __call__(
        self,
        dataset: Any,
        representation_function: Callable[[np.ndarray], np.ndarray],
        random_state: np.random.RandomState,
        **settings: object,
    ) -> dict[str, object]:
        """The metric on points drawn from `dataset` with `random_state` (settings by name)."""
        s.check_names(self.name, settings, self.setting_names())
        if self.sample is not None:
            return self.sample(dataset, representation_function, random_state, **settings)
        values = {x.name: settings.get(x.name, x.default) for x in self.draw_settings()}
        drawn = sample_train_test(
            dataset,
            representation_function,
            random_state,
            int(values["num_train"]),
            int(values["num_test"]) if self.uses_test_points else None,
            int(values["batch_size"]),
        )
        return self.run_arrays(dict(zip(ARRAY_INPUTS, drawn, strict=True)), **settings)

    def run_arrays(
        self, arrays: Mapping[str, np.ndarray | None], **settings: object
    ) -> dict[str, object]:
        """The pure function on already drawn arrays (settings it does not take are dropped)."""
        assert self.arrays is not None
        own = {k: v for k, v in settings.items() if k in self.array_settings()}
        return self.arrays(*(arrays[name] for name in self.inputs), **own)


class _MetricRegistry(DiscoveredRegistry[MetricSpec]):
    """Metric specs, discovered in `benchmark/metrics/`; listed by `order`, then name."""

    def specs(self) -> list[MetricSpec]:
        return sorted((self.get(n) for n in self.names()), key=lambda m: (m.order, m.name))


METRICS = _MetricRegistry("metric", "benchmark.metrics")


def register_metric(spec: MetricSpec) -> MetricSpec:
    """Registers `spec` under its name (a duplicate is a ValueError) and returns it."""
    METRICS.add(spec.name, spec)
    return spec
