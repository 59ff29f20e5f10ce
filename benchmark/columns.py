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

from benchmark.evaluation.part import GAPS, RECONSTRUCTION
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

TRAINING = "Training and convergence"
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


@dataclass(frozen=True)
class _Slot:
    """A place in the column order filled from declarations: the registered metrics' columns
    of `group` (`source` "metrics"), or the evaluation parts' (`source` "parts"). A parts slot
    with `after` takes the columns of parts that run after part `after`; the others go to the
    group's earlier parts slot."""

    source: str
    group: str
    after: str = ""


def _metrics_here(group: str) -> _Slot:
    return _Slot("metrics", group)


def _parts_here(group: str, after: str = "") -> _Slot:
    return _Slot("parts", group, after)


_OWN_COLUMNS: tuple[Column | _Slot, ...] = (
    # Interpretability: the metrics' columns (disentanglement_lib's metrics, Locatello et al.
    # 2019), then the parts' (the posterior MIG).
    _metrics_here(INTERPRETABILITY),
    _parts_here(INTERPRETABILITY),
    # Latent correlation and information: the latent scores, the unsupervised metric, then
    # the rotation controls' count.
    _parts_here(CORRELATION),
    _metrics_here(CORRELATION),
    _parts_here(CORRELATION, after="latent_scores"),
    # Reconstruction and likelihood bounds (latent scores).
    _parts_here(RECONSTRUCTION),
    # Downstream task (disentanglement_lib): mean test accuracy over factors at n labels.
    _metrics_here(DOWNSTREAM),
    # UDR across runs, computed when the leaderboard is written (benchmark.leaderboard.udr).
    Column("udr_lasso", "UDR Lasso (seeds)", SELECTION, 1, "udr"),
    Column("udr_spearman", "UDR Spearman (seeds)", SELECTION, 1, "udr"),
    Column("udr_lasso_all", "UDR Lasso (all runs)", SELECTION, 1, "udr"),
    Column("udr_spearman_all", "UDR Spearman (all runs)", SELECTION, 1, "udr"),
    # Inference gaps (Cremer et al. 2018) and the KL decomposition (Chen et al. 2018).
    _parts_here(GAPS),
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


def _part_columns(slot: _Slot, slots: tuple[_Slot, ...]) -> list[Column]:
    """The labelled keys of the evaluation parts of `slot.group` that belong in `slot`."""
    from benchmark.evaluation.part import PARTS, ordered_parts

    def order(name: str) -> float:
        return PARTS.get(name).order if name else float("-inf")

    group_slots = [s for s in slots if s.source == "parts" and s.group == slot.group]
    columns: list[Column] = []
    for part in ordered_parts():
        home = max(
            (s for s in group_slots if order(s.after) < part.order), key=lambda s: order(s.after)
        )
        if home != slot:
            continue
        columns += [_key_column(part, k) for k in part.keys if k.label and k.group == slot.group]
    return columns


def _key_column(part, key) -> Column:
    """The column of a part's labelled `ScoreKey` (its `metric` is the part's name)."""
    return Column(
        key.name, key.label, key.group, key.direction, part.name,
        key.headline, key.duplicate_of, key.margin,
    )  # fmt: skip


def _place(own: tuple[Column | _Slot, ...]) -> tuple[Column, ...]:
    """All columns: those listed here, with the metrics' and the parts' columns at their slots
    (a metric group without a slot goes at the end)."""
    slots = tuple(c for c in own if isinstance(c, _Slot))
    ordered: list[Column] = []
    for item in own:
        if isinstance(item, Column):
            ordered.append(item)
        elif item.source == "metrics":
            ordered += _metric_columns(item.group)
        else:
            ordered += _part_columns(item, slots)
    marked = {s.group for s in slots if s.source == "metrics"}
    for group in dict.fromkeys(c.group for c in _metric_columns_all()):
        if group not in marked:
            ordered += _metric_columns(group)
    # A part's labelled keys in a table without a parts slot go at the end, never dropped.
    from benchmark.evaluation.part import ordered_parts

    slotted = {s.group for s in slots if s.source == "parts"}
    ordered += [
        _key_column(part, k)
        for part in ordered_parts()
        for k in part.keys
        if k.label and k.group not in slotted
    ]
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
    from benchmark.evaluation.part import PARTS
    from benchmark.metrics import METRICS

    names = (*METRICS.names(), "|", *PARTS.names())
    if names not in _CACHE:
        placed = _place(_OWN_COLUMNS)
        _CACHE.clear()
        _CACHE[names] = placed, {c.key: c for c in placed}
    return _CACHE[names]


def columns() -> tuple[Column, ...]:
    """Every known column: the metrics' (from their specs), the evaluation parts' (from their
    declarations) and training's, UDR's and the model sizes' (listed here), in table order."""
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


# Scale-dependent variants of the metrics' tabled scores.
_SECONDARY = {"gaussian_wasserstein_correlation"}


def _declared_secondary() -> set[str]:
    """Keys the evaluation parts declare `secondary` (bookkeeping counts, standard errors)."""
    from benchmark.evaluation.part import ordered_parts

    return {k.name for part in ordered_parts() for k in part.keys if k.secondary}


def is_secondary(key: str) -> bool:
    """Training-set duplicates, scale-dependent variants and bookkeeping counts: kept in the
    database, not tabled."""
    base = key.removeprefix(representation_prefix(key))
    declared = _declared_secondary()
    return (
        base in _SECONDARY
        or key in declared
        or base in declared
        or base.endswith("_se_nats")
        or base.endswith("_train")
        or "_train_" in base
        or base.endswith("num_active_dims")
        or base.endswith("_as_reported")
        or base.endswith("_true")
        or base.endswith(":min_test_accuracy")  # downstream: the mean is tabled
    )
