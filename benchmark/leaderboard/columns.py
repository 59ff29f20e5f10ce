"""The leaderboard's columns: which score keys are shown, in which table, and which way is better.

A score key from a run is shown in the table of its column's group; keys not
listed here still appear, in an "Other scores" table without an arrow. Keys
of the sampled representation carry the prefix `sampled/` (e.g.
`sampled/mig`) and get tables of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COLUMNS",
    "CORRELATION",
    "DOWNSTREAM",
    "GROUPS",
    "INTERPRETABILITY",
    "OTHER",
    "RECONSTRUCTION",
    "SAMPLED_PREFIX",
    "SELECTION",
    "Column",
    "column_for",
    "is_secondary",
]

SAMPLED_PREFIX = "sampled/"

INTERPRETABILITY = "Interpretability"
CORRELATION = "Latent correlation and information"
RECONSTRUCTION = "Reconstruction"
DOWNSTREAM = "Downstream sample efficiency"
SELECTION = "Unsupervised model selection (UDR)"
OTHER = "Other scores"
GROUPS = (INTERPRETABILITY, CORRELATION, RECONSTRUCTION, DOWNSTREAM, SELECTION, OTHER)


@dataclass(frozen=True)
class Column:
    """One leaderboard column.

    `direction` is +1 when higher is better, -1 when lower is better, 0 when
    neither (no arrow, no bold). `metric` is the evaluation metric that
    produces the key (`latent_scores` for the latent scores). `headline`
    columns get a plot against beta. A column with `duplicate_of` is left out
    when that key is shown (the same quantity from another source).
    """

    key: str
    label: str
    group: str
    direction: int
    metric: str
    headline: bool = False
    duplicate_of: str = ""

    @property
    def arrow(self) -> str:
        return {1: "↑", -1: "↓"}.get(self.direction, "")


COLUMNS: tuple[Column, ...] = (
    # Interpretability: disentanglement_lib's metrics (Locatello et al. 2019).
    Column("mig", "MIG", INTERPRETABILITY, 1, "mig", headline=True),
    Column("dci_disentanglement", "DCI disent.", INTERPRETABILITY, 1, "dci", headline=True),
    Column("dci_completeness", "DCI compl.", INTERPRETABILITY, 1, "dci"),
    Column("dci_informativeness_test", "DCI inform.", INTERPRETABILITY, 1, "dci"),
    Column("sap_discrete", "SAP", INTERPRETABILITY, 1, "sap"),
    Column("betavae_eval_accuracy", "BetaVAE", INTERPRETABILITY, 1, "beta_vae"),
    Column("factorvae_eval_accuracy", "FactorVAE", INTERPRETABILITY, 1, "factor_vae", True),
    Column("modularity", "Modularity", INTERPRETABILITY, 1, "modularity_explicitness"),
    Column("explicitness_test", "Explicitness", INTERPRETABILITY, 1, "modularity_explicitness"),
    Column("irs", "IRS", INTERPRETABILITY, 1, "irs"),
    # MIG from the posterior's own marginals (benchmark.evaluation.posterior_codes).
    Column("posterior_mig", "MIG (posterior)", INTERPRETABILITY, 1, "latent_scores"),
    # Latent correlation and information: the latent scores
    # (benchmark.evaluation.latent_scores), then the unsupervised metric.
    Column(
        "posterior_mean_abs_correlation",
        "mean abs corr q(z|x)",
        CORRELATION,
        -1,
        "latent_scores",
        headline=True,
    ),
    Column(
        "posterior_gaussian_total_correlation_nats",
        "TC q(z|x) (nats)",
        CORRELATION,
        -1,
        "latent_scores",
    ),
    Column(
        "aggregate_total_correlation_nats",
        "TC q(z) (nats)",
        CORRELATION,
        -1,
        "latent_scores",
        headline=True,
    ),
    Column(
        "aggregate_gaussian_total_correlation",
        "Gaussian TC (nats)",
        CORRELATION,
        -1,
        "latent_scores",
        duplicate_of="gaussian_total_correlation",
    ),
    Column(
        "aggregate_gaussian_wasserstein_correlation_norm",
        "Wasserstein corr.",
        CORRELATION,
        -1,
        "latent_scores",
        duplicate_of="gaussian_wasserstein_correlation_norm",
    ),
    Column("rate_nats", "rate (nats)", CORRELATION, 0, "latent_scores"),
    Column("active_units", "active units", CORRELATION, 0, "latent_scores"),
    Column("gaussian_total_correlation", "Gaussian TC (nats)", CORRELATION, -1, "unsupervised"),
    Column(
        "gaussian_wasserstein_correlation_norm",
        "Wasserstein corr.",
        CORRELATION,
        -1,
        "unsupervised",
    ),
    Column("mutual_info_score", "pairwise MI (nats)", CORRELATION, -1, "unsupervised"),
    # Reconstruction and likelihood bounds (latent scores).
    Column(
        "reconstruction_nll_nats",
        "reconstruction NLL (nats)",
        RECONSTRUCTION,
        -1,
        "latent_scores",
        headline=True,
    ),
    Column("elbo_nats", "ELBO (nats)", RECONSTRUCTION, 1, "latent_scores"),
    Column("heldout_elbo_nats", "held-out ELBO (nats)", RECONSTRUCTION, 1, "latent_scores"),
    Column("iw_log_likelihood_nats", "IW log p(x) (nats)", RECONSTRUCTION, 1, "latent_scores"),
    # Downstream task (disentanglement_lib): mean test accuracy over factors at n labels.
    *(
        Column(
            f"downstream_task_{predictor}:{size}:mean_test_accuracy",
            f"{short} acc. n={size}",
            DOWNSTREAM,
            1,
            f"downstream_task_{predictor}",
        )
        for predictor, short in (("logistic_regression", "LR"), ("boosted_trees", "GBT"))
        for size in (10, 100, 1000, 10000)
    ),
    Column(
        "downstream_task_logistic_regression:sample_efficiency",
        "LR sample eff.",
        DOWNSTREAM,
        1,
        "downstream_task_logistic_regression",
    ),
    Column(
        "downstream_task_boosted_trees:sample_efficiency",
        "GBT sample eff.",
        DOWNSTREAM,
        1,
        "downstream_task_boosted_trees",
    ),
    # UDR across runs, computed when the leaderboard is written (benchmark.leaderboard.udr).
    Column("udr_lasso", "UDR Lasso (seeds)", SELECTION, 1, "udr"),
    Column("udr_spearman", "UDR Spearman (seeds)", SELECTION, 1, "udr"),
    Column("udr_lasso_all", "UDR Lasso (all runs)", SELECTION, 1, "udr"),
    Column("udr_spearman_all", "UDR Spearman (all runs)", SELECTION, 1, "udr"),
)

_BY_KEY = {c.key: c for c in COLUMNS}


def column_for(key: str) -> Column:
    """The column of a score key (sampled keys share their mean key's column), or an 'other' one."""
    base = key.removeprefix(SAMPLED_PREFIX)
    if base in _BY_KEY:
        column = _BY_KEY[base]
        if base != key:
            return Column(key, column.label, column.group, column.direction, column.metric)
        return column
    return Column(key, key, OTHER, 0, "")


# Scale-dependent variants of tabled scores.
_SECONDARY = {"gaussian_wasserstein_correlation", "aggregate_gaussian_wasserstein_correlation"}


def is_secondary(key: str) -> bool:
    """Training-set duplicates, scale-dependent variants and bookkeeping counts: kept in the
    database, not tabled."""
    base = key.removeprefix(SAMPLED_PREFIX)
    return (
        base in _SECONDARY
        or base.endswith("_train")
        or "_train_" in base
        or base.endswith("num_active_dims")
        or base.endswith("_as_reported")
        or base.endswith("_true")
        or base.endswith(":min_test_accuracy")  # downstream: the mean is tabled
    )
