"""Paired contrasts between leaderboard rows, with Holm's correction and equivalence tests.

Two rows that differ in one row field only (e.g. `posterior` diagonal vs
iaf at one beta) are compared score by score on the seeds they share: seed
s of both rows started from the same shared weights and saw the same data
order, so the per-seed differences d_s are the paired sample.

- **Difference**: mean of d_s with its 95% Student-t interval, and the
  paired t-test's two-sided p (`scipy.stats.ttest_rel`).
- **Equivalence**: two one-sided t-tests (TOST; Schuirmann 1987) against the
  score's declared margin m (`Column.margin`): H0 |mean d| >= m is rejected
  when both one-sided p's are small; the TOST p is the larger of the two.
- **Multiplicity**: every difference p and every TOST p on a page is
  adjusted with Holm's step-down method (Holm 1979) within its family (all
  difference tests; all equivalence tests), controlling the family-wise
  error rate at 5%.

Verdicts: "differs" (Holm-adjusted difference p < 0.05), "equivalent
within +-m" (Holm-adjusted TOST p < 0.05), else "inconclusive". A score
without a declared margin gets no equivalence test, so it is never called
equal.

Modes: a cell whose seeds settle at different numbers of active units is
summarised per mode (`modes`), since one mean describes none of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from benchmark.columns import Column
from benchmark.leaderboard.results import RunRow
from benchmark.leaderboard.tables import Row, format_number, scalar_score

__all__ = [
    "ALPHA",
    "MODE_KEY",
    "Contrast",
    "Mode",
    "contrasts",
    "holm",
    "modes",
    "paired_test",
]

ALPHA = 0.05
MODE_KEY = "active_units"  # seeds of a cell are grouped by this score when it differs


@dataclass(frozen=True)
class PairedTest:
    """One paired comparison: `n` pairs, mean difference (b - a) and its 95% interval,
    the t-test's p, and the TOST p against `margin` (NaN without a margin)."""

    n: int
    mean: float
    low: float
    high: float
    p: float
    margin: float
    p_equivalence: float


def paired_test(a: Sequence[float], b: Sequence[float], margin: float | None) -> PairedTest:
    """Paired t-test and TOST of `b - a` (one value per shared seed, same order)."""
    d = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    n = int(d.size)
    if n < 2:
        raise ValueError(f"a paired test needs at least 2 pairs, got {n}")
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    se = sd / math.sqrt(n)
    if se <= 1e-12 * max(1.0, abs(mean)):  # differences equal up to rounding
        se = 0.0
    t_crit = float(stats.t.ppf(1 - ALPHA / 2, n - 1))
    if se == 0.0:
        p = 1.0 if mean == 0.0 else 0.0
    else:
        p = float(stats.ttest_rel(b, a).pvalue)
    m = float(margin) if margin else math.nan
    if math.isnan(m):
        p_eq = math.nan
    elif se == 0.0:
        p_eq = 0.0 if abs(mean) < m else 1.0
    else:
        p_lower = float(stats.t.sf((mean + m) / se, n - 1))  # H0: mean <= -m
        p_upper = float(stats.t.cdf((mean - m) / se, n - 1))  # H0: mean >= +m
        p_eq = max(p_lower, p_upper)
    return PairedTest(n, mean, mean - t_crit * se, mean + t_crit * se, p, m, p_eq)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (Holm 1979), in the input's order; NaN stays NaN.

    Sorted ascending, the i-th of the m finite p's (i from 0) becomes
    max over j <= i of min(1, (m - j) p_(j)).
    """
    p = np.asarray(pvalues, dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(p))
    adjusted = np.full(p.shape, math.nan)
    if finite.size == 0:
        return adjusted.tolist()
    order = finite[np.argsort(p[finite], kind="stable")]
    m = order.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted.tolist()


@dataclass(frozen=True)
class Contrast:
    """Row `b` against row `a` on one score; `field` is the one row field they differ in."""

    field: str
    a: str
    b: str
    at: str
    column: Column
    test: PairedTest
    p_holm: float = math.nan
    p_equivalence_holm: float = math.nan

    @property
    def verdict(self) -> str:
        if self.p_holm < ALPHA:
            return "differs"
        if self.p_equivalence_holm < ALPHA:
            return f"equivalent within ±{self.test.margin:g}"
        return "inconclusive"


def _by_seed(row: Row, key: str) -> dict[int, float]:
    values = {}
    for run in row.done:
        value = scalar_score(run, key)
        if value is not None and math.isfinite(value):
            values[run.seed] = value
    return values


def contrasts(
    rows: Sequence[Row],
    fields: Sequence[str],
    columns: Sequence[Column],
    *,
    skip_fields: Sequence[str] = (),
    min_pairs: int = 3,
) -> list[Contrast]:
    """Every pair of rows differing in exactly one of `fields` (not in `skip_fields`), on every
    column with a declared margin or a direction, Holm-adjusted across the whole list."""
    found: list[Contrast] = []
    tested = [c for c in columns if c.margin is not None]
    for i, first in enumerate(rows):
        for second in rows[i + 1 :]:
            differ = [
                k for k, (x, y) in enumerate(zip(first.key, second.key, strict=True)) if x != y
            ]
            if len(differ) != 1 or fields[differ[0]] in skip_fields:
                continue
            k = differ[0]
            at = ", ".join(
                str(v) if f == "entry" else f"{f} {v}"
                for j, (f, v) in enumerate(zip(fields, first.key, strict=True))
                if j != k and v not in ("", "–")
            )
            for column in tested:
                a, b = _by_seed(first, column.key), _by_seed(second, column.key)
                seeds = sorted(set(a) & set(b))
                if len(seeds) < min_pairs:
                    continue
                test = paired_test([a[s] for s in seeds], [b[s] for s in seeds], column.margin)
                found.append(Contrast(fields[k], first.key[k], second.key[k], at, column, test))
    p_holm = holm([c.test.p for c in found])
    p_eq_holm = holm([c.test.p_equivalence for c in found])
    return [
        Contrast(c.field, c.a, c.b, c.at, c.column, c.test, ph, pe)
        for c, ph, pe in zip(found, p_holm, p_eq_holm, strict=True)
    ]


@dataclass(frozen=True)
class Mode:
    """Seeds of one cell that share a value of `MODE_KEY`: how many, and their mean main score."""

    value: float
    seeds: int
    main_mean: float


def describe_modes(groups: Sequence[Mode], seeds: int, label: str) -> str:
    """`4 of 5 seeds with 2 active units (MIG 0.041); 1 of 5 ...` for `modes`' groups of a cell
    of `seeds` finished seeds; `label` names the main score as the caller shows it."""
    return "; ".join(
        f"{g.seeds} of {seeds} seeds with {g.value:g} active unit{'' if g.value == 1 else 's'} "
        f"({label} {format_number(g.main_mean)})"
        for g in groups
    )


def modes(runs: Sequence[RunRow], main_key: str) -> list[Mode]:
    """The cell's seeds grouped by their active units (most seeds first); one group: no modes."""
    groups: dict[float, list[float]] = {}
    for run in runs:
        units = scalar_score(run, MODE_KEY)
        main = scalar_score(run, main_key)
        if units is None or main is None:
            continue
        groups.setdefault(float(units), []).append(main)
    return sorted(
        (Mode(v, len(m), float(np.mean(m))) for v, m in groups.items()),
        key=lambda mode: (-mode.seeds, mode.value),
    )
