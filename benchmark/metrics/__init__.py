"""Disentanglement metrics matched to google-research/disentanglement_lib (no TensorFlow).

Each metric is a pure numpy function of arrays laid out `[num_points, dim]`
(codes `[num_points, num_codes]`, integer factors `[num_points, num_factors]`),
in its own module; `benchmark.metrics.sampling` is the thin layer that draws
points from a data set through a representation function with a
`RandomState`, in disentanglement_lib's order. Defaults are the settings of
Locatello et al. (2019)'s study (20-bin histograms, 10000 train / 5000 test
points, batches of 16 / 64, prune threshold 0.05, ...).

Each metric module declares itself with a `MetricSpec` (`benchmark.metrics.spec`):
its name, the keys it writes with their labels and directions, and its
typed settings. Adding a metric is adding one module here. The built-in
metrics (for `metrics=[...]` and `disbench score --metrics`):

- `mig`: Mutual Information Gap.
- `modularity_explicitness`: modularity and explicitness.
- `sap`: SAP, discrete (the study's) and continuous variants.
- `dci`: DCI disentanglement, completeness, informativeness (gradient boosted trees).
- `irs`: Interventional Robustness Score.
- `unsupervised`: Gaussian total / Wasserstein correlation, mean pairwise MI.
- `beta_vae`, `factor_vae`: BetaVAE and FactorVAE scores; they draw their own
  batches, so they need a data set (`score_sampled`), not arrays.
- `downstream_task_logistic_regression`, `downstream_task_boosted_trees`:
  disentanglement_lib's downstream task (accuracy predicting each factor from
  10 / 100 / 1,000 / 10,000 codes, and the sample efficiency); costly, so only
  run when named (see `benchmark.metrics.downstream`).

Result layout (`score_arrays`, `score_sampled`): one flat dict. Metric keys
are exactly the names in `shared/goldens/goldens.json`, so values compare with
published ones:

- mig: `mig` (float), `mig_per_factor` [K], `factor_entropy_nats` [K],
  `mutual_info_matrix_codes_x_factors` [D, K] (nats)
- modularity_explicitness: `modularity`, `explicitness_train`, `explicitness_test`
- sap: `sap_discrete`, `sap_discrete_score_matrix` [D, K], `sap_continuous`
- dci: `dci_disentanglement`, `dci_completeness`, `dci_informativeness_train`,
  `dci_informativeness_test` (accuracies), `dci_importance_matrix_codes_x_factors`
  [D, K], `dci_gbt_random_state`
- irs: `irs`
- unsupervised: `gaussian_total_correlation` (nats), `gaussian_wasserstein_correlation`,
  `gaussian_wasserstein_correlation_norm`, `mutual_info_score` (nats)
- beta_vae: `betavae_train_accuracy`, `betavae_eval_accuracy`
- factor_vae: `factorvae_train_accuracy`, `factorvae_eval_accuracy`,
  `factorvae_num_active_dims_true`, `factorvae_num_active_dims_as_reported`

plus `sklearn_version` (str), `skipped` ({key: reason}: keys that need test
points when none were given) and, from `score_sampled`, `seed`. Matrices are
numpy arrays (the CLI turns them into lists for JSON).

scikit-learn dependence: explicitness (logistic regression), discrete SAP
(liblinear), DCI (gradient boosted trees, seeded with `gbt_random_state=0`)
and BetaVAE (logistic regression) depend on scikit-learn's solvers; values
were matched with scikit-learn 1.9.1, and every result records the version.
Everything else is pure numpy and agrees with disentanglement_lib to ~1e-9.
"""

from benchmark.metrics.registry import (
    METRICS,
    MetricSpec,
    array_metric_names,
    dataset_metric_names,
    default_metric_names,
    metric_names,
)
from benchmark.metrics.sampling import generate_batch_factor_code
from benchmark.metrics.score import score_arrays, score_sampled

__all__ = [
    "METRICS",
    "MetricSpec",
    "array_metric_names",
    "dataset_metric_names",
    "default_metric_names",
    "generate_batch_factor_code",
    "metric_names",
    "score_arrays",
    "score_sampled",
]
