"""The metric registry: what each metric is called, produces and needs."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from benchmark.metrics import sampling, sampling_downstream
from benchmark.metrics.dci import dci
from benchmark.metrics.downstream import (
    downstream_boosted_trees,
    downstream_keys,
    downstream_logistic_regression,
)
from benchmark.metrics.irs import irs
from benchmark.metrics.mig import mig
from benchmark.metrics.modularity_explicitness import modularity_explicitness
from benchmark.metrics.sap import sap
from benchmark.metrics.unsupervised import unsupervised
from benchmark.registry import Registry

__all__ = [
    "ALL_ARRAY_METRIC_NAMES",
    "ARRAY_METRIC_NAMES",
    "DEFAULT_METRIC_NAMES",
    "METRICS",
    "METRIC_NAMES",
    "DATASET_METRIC_NAMES",
    "Metric",
]

_ARRAY_NAMES = ("codes_train", "factors_train", "codes_test", "factors_test")
_SAMPLED_INPUTS = ("dataset", "representation_function", "random_state")


@dataclass(frozen=True)
class Metric:
    """One metric: its name, its output keys, and the functions that compute it.

    Calling it runs the sampled entry point: `METRICS.get("mig")(dataset,
    representation_function, random_state, num_train=...)`.

    Attributes:
      name: short name, as passed to `score_arrays(metrics=[...])` and `--metrics`.
      summary: one line for help texts.
      keys: result keys it produces (the names used in goldens.json).
      test_keys: the keys among `keys` that need test points.
      sklearn_keys: the keys among `keys` whose values depend on scikit-learn.
      sampled: `(dataset, representation_function, random_state, **settings) -> dict`.
      arrays: the pure core taking the arrays named in `inputs` positionally, then
        settings; None for metrics that need a data set (BetaVAE, FactorVAE).
      inputs: which of codes_train, factors_train, codes_test, factors_test
        `arrays` takes, in order.
      by_default: whether `score_arrays` / `score_sampled` run it when no metrics
        are named (False for the costly downstream task: it is asked for by name).
    """

    name: str
    summary: str
    keys: tuple[str, ...]
    sampled: Callable[..., dict[str, object]]
    arrays: Callable[..., dict[str, object]] | None = None
    inputs: tuple[str, ...] = ()
    test_keys: tuple[str, ...] = ()
    sklearn_keys: tuple[str, ...] = ()
    by_default: bool = True

    def __post_init__(self) -> None:
        # Calling a metric runs its sampled entry point; its signature is that function's,
        # so `METRICS.build(name, dataset=..., ...)` checks settings by name.
        object.__setattr__(self, "__signature__", inspect.signature(self.sampled))

    def __call__(
        self,
        dataset: object,
        representation_function: Callable[..., object],
        random_state: object,
        **settings: object,
    ) -> dict[str, object]:
        """`sampled(dataset, representation_function, random_state, **settings)`."""
        return self.sampled(dataset, representation_function, random_state, **settings)

    @property
    def needs_dataset(self) -> bool:
        """True for metrics that draw their own batches (no array form)."""
        return self.arrays is None

    def array_settings(self) -> tuple[str, ...]:
        """Keyword settings of the array core (empty for data-set metrics)."""
        if self.arrays is None:
            return ()
        return tuple(n for n in inspect.signature(self.arrays).parameters if n not in _ARRAY_NAMES)

    def sampled_settings(self) -> tuple[str, ...]:
        """Keyword settings of the sampled entry point."""
        names = inspect.signature(self.sampled).parameters
        return tuple(n for n in names if n not in _SAMPLED_INPUTS)


METRICS: Registry[Metric] = Registry("metric")

_ENTRIES = (
    Metric(
        name="mig",
        summary="Mutual Information Gap: per factor, gap between the two most informative codes / H(factor)",
        keys=("mig", "mig_per_factor", "factor_entropy_nats", "mutual_info_matrix_codes_x_factors"),
        arrays=mig,
        inputs=("codes_train", "factors_train"),
        sampled=sampling.compute_mig,
    ),
    Metric(
        name="modularity_explicitness",
        summary="modularity (each code informs about one factor) and explicitness (linear ROC-AUC)",
        keys=("modularity", "explicitness_train", "explicitness_test"),
        arrays=modularity_explicitness,
        inputs=_ARRAY_NAMES,
        sampled=sampling.compute_modularity_explicitness,
        test_keys=("explicitness_test",),
        sklearn_keys=("explicitness_train", "explicitness_test"),
    ),
    Metric(
        name="sap",
        summary="Separated Attribute Predictability, discrete (linear SVM) and continuous variants",
        keys=("sap_discrete", "sap_discrete_score_matrix", "sap_continuous"),
        arrays=sap,
        inputs=_ARRAY_NAMES,
        sampled=sampling.compute_sap,
        test_keys=("sap_discrete", "sap_discrete_score_matrix"),
        sklearn_keys=("sap_discrete", "sap_discrete_score_matrix"),
    ),
    Metric(
        name="dci",
        summary="DCI disentanglement, completeness, informativeness from gradient boosted trees",
        keys=(
            "dci_disentanglement",
            "dci_completeness",
            "dci_informativeness_train",
            "dci_informativeness_test",
            "dci_importance_matrix_codes_x_factors",
            "dci_gbt_random_state",
        ),
        arrays=dci,
        inputs=_ARRAY_NAMES,
        sampled=sampling.compute_dci,
        test_keys=("dci_informativeness_test",),
        sklearn_keys=(
            "dci_disentanglement",
            "dci_completeness",
            "dci_informativeness_train",
            "dci_informativeness_test",
            "dci_importance_matrix_codes_x_factors",
        ),
    ),
    Metric(
        name="irs",
        summary="Interventional Robustness Score (99th percentile of code shifts per factor value)",
        keys=("irs",),
        arrays=irs,
        inputs=("codes_train", "factors_train"),
        sampled=sampling.compute_irs,
    ),
    Metric(
        name="unsupervised",
        summary="Gaussian total correlation, Gaussian Wasserstein correlation (+ normalised), mean pairwise MI",
        keys=(
            "gaussian_total_correlation",
            "gaussian_wasserstein_correlation",
            "gaussian_wasserstein_correlation_norm",
            "mutual_info_score",
        ),
        arrays=unsupervised,
        inputs=("codes_train",),
        sampled=sampling.compute_unsupervised,
    ),
    Metric(
        name="beta_vae",
        summary="BetaVAE score: linear classifier accuracy on |z1 - z2| of batches sharing a factor (needs a data set)",
        keys=("betavae_train_accuracy", "betavae_eval_accuracy"),
        sampled=sampling.compute_beta_vae,
        sklearn_keys=("betavae_train_accuracy", "betavae_eval_accuracy"),
    ),
    Metric(
        name="factor_vae",
        summary="FactorVAE score: majority vote of the least-varying code for a fixed factor (needs a data set)",
        keys=(
            "factorvae_train_accuracy",
            "factorvae_eval_accuracy",
            "factorvae_num_active_dims_true",
            "factorvae_num_active_dims_as_reported",
        ),
        sampled=sampling.compute_factor_vae,
    ),
    Metric(
        name="downstream_task_logistic_regression",
        summary="downstream: logistic regression (5-fold CV) predicting each factor from 10..10,000 codes",
        keys=downstream_keys("logistic_regression"),
        arrays=downstream_logistic_regression,
        inputs=_ARRAY_NAMES,
        sampled=sampling_downstream.compute_downstream_logistic_regression,
        test_keys=downstream_keys("logistic_regression"),
        sklearn_keys=downstream_keys("logistic_regression"),
        by_default=False,
    ),
    Metric(
        name="downstream_task_boosted_trees",
        summary="downstream: gradient boosted trees predicting each factor from 10..10,000 codes",
        keys=downstream_keys("boosted_trees"),
        arrays=downstream_boosted_trees,
        inputs=_ARRAY_NAMES,
        sampled=sampling_downstream.compute_downstream_boosted_trees,
        test_keys=downstream_keys("boosted_trees"),
        sklearn_keys=downstream_keys("boosted_trees"),
        by_default=False,
    ),
)

for _metric in _ENTRIES:
    METRICS.add(_metric.name, _metric)

METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in _ENTRIES)
# Array metrics run when none are named; `ALL_ARRAY_METRIC_NAMES` adds those asked for by name.
ARRAY_METRIC_NAMES: tuple[str, ...] = tuple(
    m.name for m in _ENTRIES if not m.needs_dataset and m.by_default
)
ALL_ARRAY_METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in _ENTRIES if not m.needs_dataset)
DEFAULT_METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in _ENTRIES if m.by_default)
DATASET_METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in _ENTRIES if m.needs_dataset)
