"""Mean posterior correlation against MIG across beta (matplotlib Agg, no pyplot state)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from benchmark.errors import UserInputError

__all__ = ["plot_correlation_vs_mig"]

# One marker per posterior family; families not listed cycle through the rest.
_MARKERS = {"diagonal": "o", "full_covariance": "s", "iaf": "^"}
_SPARE_MARKERS = ("D", "v", "P", "X", "*", "<", ">", "h")
_SCORES = ("posterior_mean_abs_correlation", "mig")


def _check_rows(
    rows: Sequence[Mapping[str, object]], series: str, x: str
) -> list[tuple[str, float, float, float]]:
    required = (series, x, *_SCORES)
    points = []
    for k, row in enumerate(rows):
        missing = [key for key in required if key not in row]
        if missing:
            raise UserInputError(
                f"plot_correlation_vs_mig: rows[{k}]: missing {', '.join(missing)}; "
                f"expected keys {', '.join(required)}"
            )
        try:
            x_value = float(row[x])  # type: ignore[arg-type]
            corr = float(row["posterior_mean_abs_correlation"])  # type: ignore[arg-type]
            mig = float(row["mig"])  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise UserInputError(
                f"plot_correlation_vs_mig: rows[{k}]: {x}, posterior_mean_abs_correlation "
                f"and mig must be numbers, got {row[x]!r}, "
                f"{row['posterior_mean_abs_correlation']!r}, {row['mig']!r}"
            ) from None
        points.append((str(row[series]), x_value, corr, mig))
    return points


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def plot_correlation_vs_mig(
    rows: Sequence[Mapping[str, object]],
    path: str | Path,
    *,
    series: str = "posterior",
    x: str = "beta",
) -> Path:
    """Scatter of mean posterior |correlation| against MIG, one marker style per series.

    Each row is one run (or one mean over seeds): a dict with `series` (e.g.
    the posterior family), `x` (e.g. beta), `posterior_mean_abs_correlation`
    and `mig`. Colour encodes `x` on a log scale (linear if some value <= 0);
    a grey line joins each series' per-x means (over seeds) in order of x,
    so its path across x is visible.
    Rows whose correlation or MIG is NaN are left out.

    Args:
      rows: the runs to draw.
      path: the PNG (or any format matplotlib infers from the suffix) to write.

    Returns:
      The path written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    points = [p for p in _check_rows(rows, series, x) if not (math.isnan(p[2]) or math.isnan(p[3]))]
    path = Path(path)
    fig = Figure(figsize=(6.0, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xlabel("MIG")
    ax.set_ylabel("mean |off-diagonal correlation| of q(z|x)")
    ax.set_title(f"Posterior correlation against MIG across {x}")
    if not points:
        ax.text(
            0.5, 0.5, "no runs with both scores", ha="center", va="center", transform=ax.transAxes
        )
    else:
        betas = [p[1] for p in points]
        lo, hi = min(betas), max(betas)
        if lo > 0 and hi > lo:
            norm: Normalize = LogNorm(vmin=lo, vmax=hi)
        else:
            norm = Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1.0)
        families = sorted({p[0] for p in points})
        spare = iter(_SPARE_MARKERS * (1 + len(families) // len(_SPARE_MARKERS)))
        markers = {f: _MARKERS.get(f) or next(spare) for f in families}
        scatter = None
        for family in families:
            marker = markers[family]
            own = sorted((p for p in points if p[0] == family), key=lambda p: p[1])
            xs = [p[3] for p in own]
            ys = [p[2] for p in own]
            path_betas = sorted({p[1] for p in own})
            ax.plot(
                [_mean([p[3] for p in own if p[1] == b]) for b in path_betas],
                [_mean([p[2] for p in own if p[1] == b]) for b in path_betas],
                color="0.7",
                linewidth=0.8,
                zorder=1,
            )
            scatter = ax.scatter(
                xs,
                ys,
                c=[p[1] for p in own],
                cmap="viridis",
                norm=norm,
                marker=marker,
                s=48,
                edgecolors="black",
                linewidths=0.5,
                label=family,
                zorder=2,
            )
        fig.colorbar(scatter, ax=ax, label=x)
        handles = [
            Line2D(
                [],
                [],
                linestyle="none",
                marker=markers[f],
                markerfacecolor="white",
                markeredgecolor="black",
                markersize=7,
                label=f,
            )
            for f in families
        ]
        ax.legend(
            handles=handles,
            title=series,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.14),
            ncol=min(len(families), 4),
            frameon=False,
        )
        ax.grid(True, alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path
