"""A study's findings in a few generated lines: what the paired contrasts support, and no more.

`findings_lines(results)` says, from the stored scores alone:

- how far the best row of the reference model (`BAR_MODEL`: the diagonal
  posterior, where the table has a posterior field) is from the
  disentanglement bar (`BAR`: mean MIG and mean FactorVAE score over seeds,
  the bar a regime must reach before a family comparison in it is about
  disentanglement);
- which paired contrasts differ and which are equivalent within their
  stated margins after Holm's correction (`benchmark.leaderboard.contrasts`),
  and how many are inconclusive;
- which cells have several modes (seeds at different active-unit counts);
- what the runs cost: the median wall time per finished run over its
  attempts that ended, and what the runs left would take at that median.

The README holds these lines between markers (`replace_block`); a test
regenerates them from the committed databases, so no number in the README's
Results section is copied by hand.
"""

from __future__ import annotations

import re

import numpy as np

from benchmark.columns import column_for, columns
from benchmark.leaderboard.contrasts import contrasts, describe_modes, modes
from benchmark.leaderboard.figures import layout
from benchmark.leaderboard.results import TaskResults
from benchmark.leaderboard.tables import Row, build_rows, format_number, format_value

__all__ = ["BAR", "findings_lines", "replace_block"]

# Mean over seeds a disentangling regime reaches at its best beta: MIG and the FactorVAE score.
BAR = {"mig": 0.15, "factorvae_eval_accuracy": 0.65}
BAR_SEEDS = 5  # a row is held against the bar only with this many finished seeds
# The bar is the diagonal beta-VAE's: a regime qualifies when the baseline family disentangles.
BAR_MODEL = {"posterior": "diagonal"}


def _bar_rows(rows: list[Row], fields: tuple[str, ...]) -> list[Row]:
    """The rows of the reference model (`BAR_MODEL`, on the fields the table has)."""
    wanted = {fields.index(f): v for f, v in BAR_MODEL.items() if f in fields}
    return [row for row in rows if all(row.key[i] == v for i, v in wanted.items())]


def _interval(row: Row, key: str) -> str:
    summary = row.summary(key)
    if summary is None:
        return "–"
    if summary.n < 2:
        return format_number(summary.mean)
    return (
        f"{format_number(summary.mean)} [{format_number(summary.low)}, "
        f"{format_number(summary.high)}]"
    )


def _name(row: Row, fields: tuple[str, ...]) -> str:
    return ", ".join(
        f"{field} {format_value(value)}" if field != "entry" else format_value(value)
        for field, value in zip(fields, row.key, strict=True)
        if value not in ("", "–")
    )


def _among(fields: tuple[str, ...]) -> str:
    """' among posterior diagonal' when the table has the reference model's fields, else ''."""
    named = [f"{field} {value}" for field, value in BAR_MODEL.items() if field in fields]
    return f" among {', '.join(named)}" if named else ""


def _seeds(count: int) -> str:
    return f"{count} seed" if count == 1 else f"{count} seeds"


def _p(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def findings_lines(results: TaskResults) -> list[str]:
    """Markdown bullet lines of the task's findings (see the module docstring)."""
    fields, main, x_field = layout(results)
    rows = [row for row in build_rows(results, fields) if row.done]
    done = sum(len(row.done) for row in rows)
    lines = [
        f"*Generated from the results database by `disbench leaderboard {results.task} "
        f"--readme`: {done} of {len(results.runs)} runs done; means over seeds with 95% "
        "t-intervals.*",
        "",
    ]
    scored = [row for row in _bar_rows(rows, fields) if row.summary(main) is not None]
    if scored:
        direction = column_for(main).direction or 1
        best = max(scored, key=lambda row: direction * row.summary(main).mean)  # type: ignore[union-attr]
        parts = []
        for key, bar in BAR.items():
            summary = best.summary(key)
            if summary is None:
                continue
            if summary.n < BAR_SEEDS:
                verdict = f"(judged against the bar {bar} only with {BAR_SEEDS} seeds or more)"
            elif summary.mean >= bar:
                verdict = f"reaches the bar {bar}"
            else:
                verdict = f"is {bar - summary.mean:.3f} short of the bar {bar}"
            parts.append(f"{column_for(key).label} {_interval(best, key)} {verdict}")
        if parts:
            lines.append(
                f"- **Distance from the disentanglement bar.** Best row by "
                f"{column_for(main).label}{_among(fields)} ({_name(best, fields)}, "
                f"{_seeds(len(best.done))}): " + "; ".join(parts) + "."
            )
    found = contrasts(rows, fields, columns(), skip_fields=(x_field, "sweep"))
    differ = [c for c in found if c.verdict == "differs"]
    equal = [c for c in found if c.verdict.startswith("equivalent")]
    if found:
        lines.append(
            f"- **Paired contrasts:** {len(found)} tests (rows differing in one field, paired "
            f"by seed, Holm-corrected): {len(differ)} differ, {len(equal)} are equivalent within "
            f"their margins, {len(found) - len(differ) - len(equal)} are inconclusive (neither "
            "a difference nor an equivalence is shown)."
        )
    for c in differ:
        t = c.test
        lines.append(
            f"  - differs: {c.column.label}, {c.field} {c.b} − {c.a} at {c.at}: "
            f"{format_number(t.mean)} [{format_number(t.low)}, {format_number(t.high)}] "
            f"(Holm p {_p(c.p_holm)}, {t.n} pairs)"
        )
    for c in equal:
        t = c.test
        lines.append(
            f"  - equivalent within ±{t.margin:g}: {c.column.label}, {c.field} {c.b} − {c.a} "
            f"at {c.at}: {format_number(t.mean)} [{format_number(t.low)}, "
            f"{format_number(t.high)}] (TOST Holm p {_p(c.p_equivalence_holm)})"
        )
    bimodal = [(row, modes(row.done, main)) for row in rows]
    bimodal = [(row, groups) for row, groups in bimodal if len(groups) > 1]
    if bimodal:
        lines.append(
            "- **Cells with several modes** (seeds at different active-unit counts; a mean "
            "describes none of them):"
        )
        for row, groups in bimodal:
            per_mode = describe_modes(groups, len(row.done), column_for(main).label)
            lines.append(f"  - {_name(row, fields)}: {per_mode}")
    lines += _cost(results)
    return lines


def _cost(results: TaskResults) -> list[str]:
    """`- **Cost.** ...`: minutes of wall time per finished run (its attempts that ended in a
    result or a failure, as measured on the machine that ran it; an interrupted attempt's time
    is not stored) and the run-hours of the runs left at the median; [] if none."""
    # Runs stored before every attempt's time was kept have their last attempt's only.
    seconds = [r.total_duration_s or r.duration_s for r in results.runs if r.status == "done"]
    minutes = sorted(s / 60.0 for s in seconds if s)
    if not minutes:
        return []
    median = float(np.median(minutes))
    finished = sum(r.status == "done" for r in results.runs)
    untimed = (
        f"; {finished - len(minutes)} took another run's result and no time"
        if len(minutes) < finished
        else ""
    )
    line = (
        f"- **Cost.** A finished run took a median of {median:.0f} minutes of wall time "
        f"(range {minutes[0]:.0f}-{minutes[-1]:.0f} over {len(minutes)} runs, the attempts that "
        f"ended; time in an interrupted attempt is not stored{untimed})"
    )
    left = sum(r.status != "done" for r in results.runs)
    if left:
        line += (
            f"; the {left} runs left are about {_hours(left * median / 60)} run-hours at that "
            "median"
        )
    return [line + "."]


def _hours(hours: float) -> str:
    return f"{hours:.1f}" if hours < 10 else f"{hours:.0f}"


def _markers(task: str) -> tuple[str, str]:
    return f"<!-- findings {task}: generated -->", f"<!-- /findings {task} -->"


def replace_block(text: str, task: str, lines: list[str]) -> str:
    """`text` with the block between the task's findings markers replaced by `lines`.

    Raises ValueError when the markers are missing (the README names the
    studies whose findings it holds).
    """
    start, end = _markers(task)
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"no findings block for {task!r} (expected {start} ... {end})")
    block = "\n".join([start, *lines, end])
    return pattern.sub(lambda _: block, text, count=1)


def block_of(text: str, task: str) -> str | None:
    """The findings block of `task` in `text` (markers included), or None."""
    start, end = _markers(task)
    match = re.search(re.escape(start) + r".*?" + re.escape(end), text, re.DOTALL)
    return match.group(0) if match else None
