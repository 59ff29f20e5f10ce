"""Score columns: which stored score keys are shown, in which table, and which way is better.

A score key from a run is shown in the table of its column's group (a
sample-based score's `<key>_noise_floor` right after it). A metric's
columns come from its spec (`benchmark.metrics.spec.Key`: label and
direction); the latent scores', training's and UDR's are listed here. Keys
without a column still appear, in an "Other scores" table without an arrow. The
model-size columns (`parameters/<part>`, group `PARAMETERS`) are not tabled:
the page header lists them per posterior family. Keys
of the sampled representation carry the prefix `sampled/` (e.g.
`sampled/mig`) and get tables of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.metrics.spec import CORRELATION, DOWNSTREAM, INTERPRETABILITY

__all__ = [
    "columns",
    "CORRELATION",
    "DOWNSTREAM",
    "GROUPS",
    "INTERPRETABILITY",
    "GAPS",
    "OTHER",
    "PARAMETERS",
    "PARAMETERS_PREFIX",
    "RECONSTRUCTION",
    "TRAINING",
    "REPRESENTATION_PREFIXES",
    "SAMPLED_PREFIX",
    "SELECTION",
    "Column",
    "column_for",
    "representation_prefix",
    "is_secondary",
]

SAMPLED_PREFIX = "sampled/"
# Representations scored besides the posterior means, each with its own tables:
# prefix -> title suffix (`benchmark.evaluation.rotations` for pca/ and ica/).
REPRESENTATION_PREFIXES = {
    SAMPLED_PREFIX: " (sampled representation)",
    "pca/": " (PCA-whitened mean codes)",
    "ica/": " (FastICA of the mean codes)",
}

RECONSTRUCTION = "Reconstruction"
TRAINING = "Training and convergence"
GAPS = "Inference gaps and rate decomposition"
SELECTION = "Unsupervised model selection (UDR)"
OTHER = "Other scores"
GROUPS = (
    INTERPRETABILITY,
    CORRELATION,
    RECONSTRUCTION,
    GAPS,
    DOWNSTREAM,
    SELECTION,
    TRAINING,
    OTHER,
)
# A run's trajectory (`training.trajectory_points`) is stored as `train/trajectory`, one row
# per scored point with these fields (NaN where a point lacks one, e.g. a point mass's ELBO),
# and `train/trajectory_nmi`, each point's normalised MI `[latent][factor]`.
TRAJECTORY_FIELDS = ("steps", "images", "heldout_elbo", "mig", "factor_vae", "active_units")

# Shown in the page header, not as a table (so not in GROUPS).
PARAMETERS = "Parameters"
PARAMETERS_PREFIX = "parameters/"


@dataclass(frozen=True)
class Column:
    """One leaderboard column.

    `direction` is +1 when higher is better, -1 when lower is better, 0 when
    neither (no arrow, no bold). `metric` is the evaluation metric that
    produces the key (`latent_scores` for the latent scores). `headline`
    columns get a plot against beta. A column with `duplicate_of` is left out
    when that key is shown (the same quantity from another source). `margin`:
    the equivalence margin of paired contrasts (`benchmark.leaderboard.contrasts`;
    for a metric's key, its `Key.margin`); None: not contrasted.
    """

    key: str
    label: str
    group: str
    direction: int
    metric: str
    headline: bool = False
    duplicate_of: str = ""
    margin: float | None = None

    @property
    def arrow(self) -> str:
        return {1: "↑", -1: "↓"}.get(self.direction, "")


def _metrics_here(group: str) -> Column:
    """Where the registered metrics' columns of `group` go among the columns listed here."""
    return Column("", "", group, 0, "")


_OWN_COLUMNS: tuple[Column, ...] = (
    # Interpretability: the metrics' columns (disentanglement_lib's metrics, Locatello et al. 2019).
    _metrics_here(INTERPRETABILITY),
    # MIG from the posterior's own marginals (benchmark.evaluation.posterior_codes).
    Column("posterior_mig", "MIG (posterior)", INTERPRETABILITY, 1, "latent_scores", margin=0.05),
    # The same under Chen et al.'s protocol (dSprites: shape left out).
    Column(
        "posterior_mig_chen",
        "MIG (Chen et al.: posterior, shape left out)",
        INTERPRETABILITY,
        1,
        "latent_scores",
        margin=0.05,
    ),
    # Latent correlation and information: the latent scores
    # (benchmark.evaluation.latent_scores), then the unsupervised metric.
    Column(
        "posterior_mean_abs_correlation",
        "mean abs corr q(z|x)",
        CORRELATION,
        -1,
        "latent_scores",
        headline=True,
        margin=0.05,
    ),
    Column(
        "posterior_mean_abs_correlation_noise_floor",
        "mean abs corr noise floor",
        CORRELATION,
        0,
        "latent_scores",
    ),
    # The same over pairs of active latents only (Var_x E[z|x] > 0.01).
    Column(
        "posterior_mean_abs_correlation_active",
        "mean abs corr q(z|x), active latents",
        CORRELATION,
        -1,
        "latent_scores",
        margin=0.05,
    ),
    Column(
        "posterior_mean_abs_correlation_active_noise_floor",
        "mean abs corr, active latents, noise floor",
        CORRELATION,
        0,
        "latent_scores",
    ),
    Column(
        "posterior_gaussian_total_correlation_nats",
        "TC q(z|x) (nats)",
        CORRELATION,
        -1,
        "latent_scores",
    ),
    Column(
        "posterior_gaussian_total_correlation_nats_noise_floor",
        "TC q(z|x) noise floor",
        CORRELATION,
        0,
        "latent_scores",
    ),
    # The M-code minibatch estimate of TC q(z) is biased low (it can come out
    # negative); the headline is the mixture estimate of the KL decomposition below.
    Column(
        "aggregate_total_correlation_nats",
        "TC q(z), M codes, biased low (nats)",
        CORRELATION,
        0,  # biased (negative values occur): never bolded
        "latent_scores",
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
    Column("active_units", "active units", CORRELATION, 0, "latent_scores", margin=0.5),
    Column("active_units_noise_floor", "active units noise floor", CORRELATION, 0, "latent_scores"),
    Column("active_directions", "active directions", CORRELATION, 0, "latent_scores"),
    Column(
        "active_directions_noise_floor",
        "active directions noise floor",
        CORRELATION,
        0,
        "latent_scores",
    ),
    _metrics_here(CORRELATION),  # the unsupervised metric
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
    _metrics_here(DOWNSTREAM),
    # UDR across runs, computed when the leaderboard is written (benchmark.leaderboard.udr).
    Column("udr_lasso", "UDR Lasso (seeds)", SELECTION, 1, "udr"),
    Column("udr_spearman", "UDR Spearman (seeds)", SELECTION, 1, "udr"),
    Column("udr_lasso_all", "UDR Lasso (all runs)", SELECTION, 1, "udr"),
    Column("udr_spearman_all", "UDR Spearman (all runs)", SELECTION, 1, "udr"),
    # Inference gaps (Cremer et al. 2018) and the KL decomposition (Chen et al. 2018):
    # benchmark.evaluation.inference_gaps and .kl_decomposition.
    Column("gap_log_px_nats", "log p(x), IW with q* (nats)", GAPS, 1, "latent_scores"),
    Column("gap_log_px_se_nats", "log p(x) s.e. (nats)", GAPS, 0, "latent_scores"),
    Column("gap_elbo_q_nats", "ELBO q (nats)", GAPS, 1, "latent_scores"),
    Column("gap_elbo_qstar_nats", "ELBO q* (nats)", GAPS, 1, "latent_scores"),
    Column(
        "approximation_gap_nats",
        "approximation gap (nats)",
        GAPS,
        -1,
        "latent_scores",
        True,
        "",
        1.0,
    ),
    Column("approximation_gap_se_nats", "approximation gap s.e.", GAPS, 0, "latent_scores"),
    Column("amortisation_gap_nats", "amortisation gap (nats)", GAPS, -1, "latent_scores"),
    Column("amortisation_gap_se_nats", "amortisation gap s.e.", GAPS, 0, "latent_scores"),
    Column("approximation_gap_check_failed", "gap check failed", GAPS, -1, "latent_scores"),
    Column("gap_qstar_steps_mean", "q* Adam steps (mean)", GAPS, 0, "latent_scores"),
    Column("gap_qstar_steps_max", "q* Adam steps (max)", GAPS, 0, "latent_scores"),
    Column("gap_qstar_at_cap_share", "q* at its step cap (share)", GAPS, 0, "latent_scores"),
    Column("gap_images", "gap images", GAPS, 0, "latent_scores"),
    Column("decomposition_rate_nats", "rate over population (nats)", GAPS, 0, "latent_scores"),
    Column("decomposition_mutual_information_nats", "I(x; z) (nats)", GAPS, 0, "latent_scores"),
    Column(
        "decomposition_total_correlation_nats",
        "TC q(z), mixture (nats)",
        GAPS,
        -1,
        "latent_scores",
        headline=True,
    ),
    Column(
        "decomposition_dimension_wise_kl_nats", "dim.-wise KL (nats)", GAPS, -1, "latent_scores"
    ),
    Column("decomposition_sum_nats", "I + TC + dim.-wise KL (nats)", GAPS, 0, "latent_scores"),
    Column("decomposition_mutual_information_se_nats", "I(x; z) s.e.", GAPS, 0, "latent_scores"),
    Column("decomposition_total_correlation_se_nats", "TC q(z) s.e.", GAPS, 0, "latent_scores"),
    Column(
        "decomposition_dimension_wise_kl_se_nats", "dim.-wise KL s.e.", GAPS, 0, "latent_scores"
    ),
    Column("decomposition_sum_se_nats", "decomposition sum s.e.", GAPS, 0, "latent_scores"),
    Column("decomposition_log_population", "log N (nats)", GAPS, 0, "latent_scores"),
    Column("decomposition_population", "population N", GAPS, 0, "latent_scores"),
    Column("decomposition_outer_draws", "outer draws", GAPS, 0, "latent_scores"),
    Column("decomposition_full_grid", "full grid (1) or subset (0)", GAPS, 0, "latent_scores"),
    Column("decomposition_trend_population", "trend: population M", GAPS, 0, "latent_scores"),
    Column(
        "decomposition_trend_mutual_information_nats",
        "trend: I(x; z)",
        GAPS,
        0,
        "latent_scores",
    ),  # fmt: skip
    Column(
        "decomposition_trend_total_correlation_nats",
        "trend: TC q(z)",
        GAPS,
        0,
        "latent_scores",
    ),  # fmt: skip
    Column(
        "decomposition_trend_dimension_wise_kl_nats",
        "trend: dim.-wise KL",
        GAPS,
        0,
        "latent_scores",
    ),  # fmt: skip
    # Rotation-invariant control (benchmark.evaluation.rotations), a whole key:
    # eigenvalues of Cov_x(E[z|x]) above 0.01 on the codes PCA is fitted on (a
    # different sample from "active directions", so it has its own label).
    Column(
        "pca/active_directions", "active directions, PCA fit codes", CORRELATION, 0, "latent_scores"
    ),
    # Training: the held-out ELBO curve's end and the convergence check
    # (benchmark.training.convergence); "converged" averages to the share of seeds.
    Column("train/heldout_elbo", "final held-out ELBO (nats)", TRAINING, 1, "", margin=1.0),
    # A point mass has no ELBO; its convergence curve is minus its held-out loss.
    Column("train/heldout_loss_nats", "final held-out loss, point mass (nats)", TRAINING, 0, ""),
    Column("train/converged", "converged (share)", TRAINING, 0, ""),
    Column("train/heldout_elbo_slope", "held-out ELBO slope (nats/1k steps)", TRAINING, 0, ""),
    Column(
        "train/heldout_elbo_slope_high", "slope, upper 90% bound (nats/1k steps)", TRAINING, 0, ""
    ),
    Column("train/degrading", "degrading (share)", TRAINING, 0, ""),
    Column("train/steps_trained", "steps trained", TRAINING, 0, ""),
    # Free parameters per part of the model (benchmark.models.VAE.parameter_counts).
    Column(PARAMETERS_PREFIX + "encoder", "encoder trunk", PARAMETERS, 0, ""),
    Column(PARAMETERS_PREFIX + "posterior_head", "posterior head", PARAMETERS, 0, ""),
    Column(PARAMETERS_PREFIX + "flow", "flow", PARAMETERS, 0, ""),
    Column(PARAMETERS_PREFIX + "decoder", "decoder", PARAMETERS, 0, ""),
)


def _metric_columns(group: str) -> list[Column]:
    """The labelled keys of the registered metrics of one group, as their specs declare them."""
    from benchmark.metrics import METRICS

    return [
        Column(k.name, k.label, group, k.direction, m.name, headline=k.headline, margin=k.margin)
        for m in METRICS.specs()
        if m.group == group
        for k in m.keys
        if k.label
    ]


def _place(own: tuple[Column, ...]) -> tuple[Column, ...]:
    """All columns: those listed here, with each group's metric columns at its marker (or, for
    a group without one, at the end)."""
    ordered: list[Column] = []
    for column in own:
        ordered += _metric_columns(column.group) if not column.key else [column]
    marked = {c.group for c in own if not c.key}
    for group in dict.fromkeys(c.group for c in _metric_columns_all()):
        if group not in marked:
            ordered += _metric_columns(group)
    return tuple(ordered)


def _metric_columns_all() -> list[Column]:
    from benchmark.metrics import METRICS

    return [
        c
        for group in dict.fromkeys(m.group for m in METRICS.specs())
        for c in _metric_columns(group)
    ]


_CACHE: dict[tuple[str, ...], tuple[tuple[Column, ...], dict[str, Column]]] = {}


def _columns() -> tuple[tuple[Column, ...], dict[str, Column]]:
    from benchmark.metrics import METRICS

    names = tuple(METRICS.names())
    if names not in _CACHE:
        placed = _place(_OWN_COLUMNS)
        _CACHE.clear()
        _CACHE[names] = placed, {c.key: c for c in placed}
    return _CACHE[names]


def columns() -> tuple[Column, ...]:
    """Every known column: the metrics' (from their specs) and the latent scores', training's,
    UDR's and the model sizes' (listed here), in table order."""
    return _columns()[0]


def representation_prefix(key: str) -> str:
    """The representation prefix of a score key (`sampled/`, `pca/`, `ica/`), or ''."""
    if key in _columns()[1]:
        return ""
    return next((p for p in REPRESENTATION_PREFIXES if key.startswith(p)), "")


def column_for(key: str) -> Column:
    """The column of a score key (keys of other representations share their mean key's column),
    or an 'other' one."""
    base = key.removeprefix(representation_prefix(key))
    by_key = _columns()[1]
    if base in by_key:
        column = by_key[base]
        if base != key:
            return Column(key, column.label, column.group, column.direction, column.metric)
        return column
    return Column(key, key, OTHER, 0, "")


# Scale-dependent variants of tabled scores.
_SECONDARY = {
    "gaussian_wasserstein_correlation",
    "aggregate_gaussian_wasserstein_correlation",
    # FastICA's fit (benchmark.evaluation.rotations): iterations, and 0 where it hit its cap.
    "fit_iterations",
    "fit_converged",
}


# Shown in the decomposition-and-gaps table (benchmark.leaderboard.rate_distortion) instead.
_GAP_BOOKKEEPING = {
    "gap_images",
    "gap_qstar_steps_max",
    "gap_qstar_at_cap_share",
    "decomposition_sum_nats",
    "decomposition_log_population",
    "decomposition_outer_draws",
    "decomposition_population",
    "decomposition_full_grid",
}


def is_secondary(key: str) -> bool:
    """Training-set duplicates, scale-dependent variants and bookkeeping counts: kept in the
    database, not tabled."""
    base = key.removeprefix(representation_prefix(key))
    return (
        base in _SECONDARY
        or base.endswith("_se_nats")
        or base in _GAP_BOOKKEEPING
        or base.endswith("_train")
        or "_train_" in base
        or base.endswith("num_active_dims")
        or base.endswith("_as_reported")
        or base.endswith("_true")
        or base.endswith(":min_test_accuracy")  # downstream: the mean is tabled
    )
