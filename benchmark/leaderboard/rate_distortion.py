"""The rate-distortion plane (Alemi et al. 2018) and the table of rate decomposition and gaps.

Pure functions of a task's stored runs (plus one matplotlib drawing):

- `rate_distortion_rows`: one point per finished run with a value of the
  task's compared field and x field (`posterior` and `beta` in the family
  studies, `benchmark.leaderboard.axes`): rate R = E_x KL(q(z|x) || p(z))
  (`rate_nats`) and distortion D = E_x E_q[-log p(x|z)]
  (`reconstruction_nll_nats`), both nats;
- `plot_rate_distortion`: D against R, seeds as points, one line per series
  joining its per-x means in order of x, and the line R + D = const
  through the run with the best ELBO (-(R + D)): points on it have that ELBO,
  points above it a worse one;
- `decomposition_table`: per leaderboard row (the task's row fields), the rate's decomposition
  I(x; z) + TC + dimension-wise KL and the inference gaps with standard
  errors, which estimator the decomposition used, and failed gap checks;
  point-mass entries show "n/a (point mass)".

Reference: Alemi, Poole, Fischer, Dillon, Saurous, Murphy (2018). Fixing a
Broken ELBO. ICML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure

from benchmark.absent import absent_reason
from benchmark.leaderboard.axes import compared_field, layout, x_and_series
from benchmark.leaderboard.results import RunRow, TaskResults
from benchmark.leaderboard.tables import (
    MISSING,
    format_number,
    format_value,
    row_value,
    scalar_score,
)

__all__ = ["decomposition_table", "plot_rate_distortion", "rate_distortion_rows"]

RATE_KEY, DISTORTION_KEY = "rate_nats", "reconstruction_nll_nats"
_MARKERS = {"diagonal": "o", "full_covariance": "s", "iaf": "^"}


def rate_distortion_rows(results: TaskResults) -> list[dict[str, object]]:
    """`[{<compared field>, <x field>, seed, rate, distortion}]` (e.g. posterior and beta), nats,
    for finished runs that have a value of both fields and both scores."""
    series, x_field = compared_field(results), layout(results)[2]
    rows = []
    for run in sorted(results.runs, key=lambda r: r.position):
        place = x_and_series(results, run) if run.status == "done" else None
        if place is None:
            continue
        rate, distortion = scalar_score(run, RATE_KEY), scalar_score(run, DISTORTION_KEY)
        if rate is None or distortion is None:
            continue
        x_value = place[0]
        rows.append(
            {
                series: str(place[1]),
                x_field: float(x_value) if isinstance(x_value, int | float) else math.nan,
                "seed": run.seed,
                "rate": rate,
                "distortion": distortion,
            }
        )
    return rows


def plot_rate_distortion(
    rows: Sequence[Mapping[str, object]],
    title: str,
    path: Path,
    *,
    series: str = "posterior",
    x: str = "beta",
) -> Path:
    """Distortion against rate (nats): seeds as points, one line per `series` value over `x`
    (families over beta), and the best-ELBO line."""
    figure = MplFigure(figsize=(5.8, 4.2), layout="constrained")
    axes = figure.add_subplot()
    families = list(dict.fromkeys(str(r[series]) for r in rows))
    colours = {f: f"C{i}" for i, f in enumerate(families)}
    shown = "β" if x == "beta" else x
    for family in families:
        members = [r for r in rows if r[series] == family]
        axes.scatter(
            [float(r["rate"]) for r in members],  # type: ignore[arg-type]
            [float(r["distortion"]) for r in members],  # type: ignore[arg-type]
            marker=_MARKERS.get(family, "D"),
            color=colours[family],
            alpha=0.5,
            s=22,
        )
        betas = sorted({float(r[x]) for r in members})  # type: ignore[arg-type]
        means = []
        for beta in betas:
            at = [r for r in members if float(r[x]) == beta]  # type: ignore[arg-type]
            means.append(
                (
                    sum(float(r["rate"]) for r in at) / len(at),  # type: ignore[arg-type]
                    sum(float(r["distortion"]) for r in at) / len(at),  # type: ignore[arg-type]
                    beta,
                )
            )
        axes.plot(
            [m[0] for m in means],
            [m[1] for m in means],
            marker=_MARKERS.get(family, "D"),
            color=colours[family],
            label=family,
        )
        for rate, distortion, beta in means:
            axes.annotate(
                f"{shown}={beta:g}", (rate, distortion), fontsize="x-small", xytext=(3, 3),
                textcoords="offset points",
            )  # fmt: skip
    if rows:
        best = min(float(r["rate"]) + float(r["distortion"]) for r in rows)  # type: ignore[arg-type]
        low, high = axes.get_xlim()
        axes.plot(
            [low, high],
            [best - low, best - high],
            color="grey",
            linestyle="--",
            linewidth=1,
            label=f"R + D = {best:.1f} (best ELBO)",
        )
        axes.set_xlim(low, high)
    axes.set_xlabel("rate R = E KL(q(z|x) || p(z)) (nats)")
    axes.set_ylabel("distortion D = E[-log p(x|z)] (nats)")
    axes.set_title(title, fontsize="medium")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=110, metadata={"Software": None})
    return path


def _mean_cell(runs: Sequence[RunRow], key: str, se_key: str | None = None) -> str:
    """Mean over seeds (with the mean per-run standard error, `± se`), or n/a with a reason."""
    values = [scalar_score(r, key) for r in runs]
    numbers = [v for v in values if v is not None]
    if not numbers:
        reasons = {absent_reason(r.scores.get(key)) for r in runs}
        if len(reasons) == 1 and None not in reasons:
            return f"n/a ({reasons.pop()})"
        return MISSING
    text = format_number(sum(numbers) / len(numbers))
    if se_key is not None:
        ses = [scalar_score(r, se_key) for r in runs]
        ses = [s for s in ses if s is not None]
        if ses:
            text += f" ± {format_number(sum(ses) / len(ses))}"
    return text


CAP_SHARE = 0.95  # an I(x; z) estimate above this share of log N is at the estimator's cap


def _capped(runs: Sequence[RunRow]) -> str:
    """` (capped: k of n runs at >= 95% of log N = ...)` when I(x; z) sits at its ceiling log N.

    The mixture estimate of I(x; z) over a population of N images cannot
    exceed log N; an estimate that close to it is the ceiling's, not the
    model's, and its TC absorbs the rest of the rate. Such cells are flagged,
    never read as a measurement.
    """
    capped, ceilings = 0, set()
    for run in runs:
        value = scalar_score(run, "decomposition_mutual_information_nats")
        ceiling = scalar_score(run, "decomposition_log_population")
        if value is not None and ceiling is not None and value >= CAP_SHARE * ceiling:
            capped += 1
            ceilings.add(format_number(ceiling))
    if not capped:
        return ""
    return f" (capped: {capped} of {len(runs)} runs at >= 95% of log N = {', '.join(sorted(ceilings))})"


QSTAR_CAP_SHARE = 0.10  # an approximation gap with more images than this at q*'s step cap


def _qstar_capped(runs: Sequence[RunRow]) -> str:
    """` (q* at its step cap: k of n runs with > 10% of images)` where the gap is the cap's.

    An image still improving when q*'s step limit stops it leaves ELBO(q*) too
    low, so the approximation gap is overstated and the amortisation gap
    understated. Runs stored before the share was (`gap_qstar_at_cap_share`)
    are not flagged here; their largest step count is in the gaps table.
    """
    capped = 0
    for run in runs:
        share = scalar_score(run, "gap_qstar_at_cap_share")
        if share is not None and share > QSTAR_CAP_SHARE:
            capped += 1
    if not capped:
        return ""
    return f" (q* at its step cap: {capped} of {len(runs)} runs with > 10% of images)"


def _estimator(runs: Sequence[RunRow]) -> str:
    full = [scalar_score(r, "decomposition_full_grid") for r in runs]
    sizes = [scalar_score(r, "decomposition_population") for r in runs]
    if not any(s is not None for s in sizes):
        return _mean_cell(runs, "decomposition_population")
    size = int(max(s for s in sizes if s is not None))
    if any(f == 1.0 for f in full):
        return f"full grid (N={size:,})"
    trend = runs[0].scores.get("decomposition_trend_population")
    if isinstance(trend, list) and len(trend) > 1:
        # The mean over every seed that has the trend at these M (not one seed's values).
        by_seed = [
            r.scores.get("decomposition_trend_total_correlation_nats") or []
            for r in runs
            if r.scores.get("decomposition_trend_population") == trend
        ]
        by_seed = [t for t in by_seed if len(t) == len(trend)]
        means = [sum(float(t[i]) for t in by_seed) / len(by_seed) for i in range(len(trend))]
        steps = ", ".join(
            f"{int(m)}: {format_number(t)}" for m, t in zip(trend, means, strict=True)
        )
        return f"grid subsets, TC by M, mean of {len(by_seed)} seeds ({steps})"
    return f"grid subset (N={size:,})"


def decomposition_table(results: TaskResults) -> list[str]:
    """Markdown lines of the decomposition-and-gaps table ([] when no run has either)."""
    keys = ("decomposition_sum_nats", "approximation_gap_nats")
    done = [r for r in results.runs if r.status == "done"]
    if not any(k in r.scores for r in done for k in keys):
        return []
    fields = layout(results)[0]
    groups: dict[tuple[str, ...], list[RunRow]] = {}
    for run in sorted(done, key=lambda r: r.position):
        key = tuple(format_value(row_value(run, field)) for field in fields)
        groups.setdefault(key, []).append(run)
    lines = [
        "## Rate decomposition and inference gaps",
        "",
        "Nats, means over seeds; `±` is the mean per-run standard error (over outer draws "
        "for the decomposition, over held-out images for the gaps). rate = I(x; z) + TC + "
        "dimension-wise KL (Hoffman & Johnson 2016; Chen et al. 2018); approximation gap = "
        "log p(x) - ELBO(q*), amortisation gap = ELBO(q*) - ELBO(q) (Cremer et al. 2018; IAF's "
        "q* is semi-amortised: flow networks fixed). IAF marginals are moment-matched.",
        "",
        "| " + " | ".join(fields) + " | n | rate | I(x; z) | TC q(z) | dim.-wise KL | "
        "approx. gap | amort. gap | gap checks failed | decomposition estimator |",
        "|" + "---|" * len(fields) + "---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row, runs in groups.items():
        failed = [scalar_score(r, "approximation_gap_check_failed") for r in runs]
        failed_text = (
            str(int(sum(f for f in failed if f is not None)))
            if any(f is not None for f in failed)
            else _mean_cell(runs, "approximation_gap_check_failed")
        )
        cells = [
            *row,
            str(len(runs)),
            _mean_cell(runs, "decomposition_rate_nats"),
            _mean_cell(
                runs,
                "decomposition_mutual_information_nats",
                "decomposition_mutual_information_se_nats",
            )
            + _capped(runs),
            _mean_cell(
                runs,
                "decomposition_total_correlation_nats",
                "decomposition_total_correlation_se_nats",
            ),
            _mean_cell(
                runs,
                "decomposition_dimension_wise_kl_nats",
                "decomposition_dimension_wise_kl_se_nats",
            ),
            _mean_cell(runs, "approximation_gap_nats", "approximation_gap_se_nats")
            + _qstar_capped(runs),
            _mean_cell(runs, "amortisation_gap_nats", "amortisation_gap_se_nats"),
            failed_text,
            _estimator(runs),
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return [*lines, ""]
