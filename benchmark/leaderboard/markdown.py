"""The leaderboard as Markdown: a pure function of a task's rows (and the command shown in it).

Every text that comes from a task file or the database (descriptions,
labels, argument values, score keys, failure reasons, commands) is escaped
(`text`, `cell`, `code`): it is shown as written and can never open an HTML
comment, inject HTML or a remote image, or break a table.
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from collections import Counter
from typing import Any

from benchmark.absent import absent_reason
from benchmark.columns import PARAMETERS, column_for, columns
from benchmark.leaderboard.contrasts import contrasts, describe_modes, modes
from benchmark.leaderboard.diagnostics import diagnostics_section
from benchmark.leaderboard.figures import CONVERGED_KEY, layout, not_converged, plan_figures
from benchmark.leaderboard.rate_distortion import decomposition_table
from benchmark.leaderboard.results import TaskResults
from benchmark.leaderboard.stats import Summary
from benchmark.leaderboard.tables import (
    MISSING,
    Row,
    Table,
    best_indices,
    build_rows,
    build_tables,
    format_number,
    format_value,
    row_value,
)
from benchmark.leaderboard.udr import udr_section
from benchmark.store import RECORDED_PACKAGES

__all__ = ["INDEX_MARKER", "cell", "code", "render_index", "render_markdown", "summary_of", "text"]

INDEX_MARKER = "<!-- disbench leaderboard "
NOT_CONVERGED_MARK = "†"
# The recorded versions (`benchmark.runner.environment`) in display order: ours, then Python.
_PACKAGES_SHOWN = ("disbench", "python", *(p for p in RECORDED_PACKAGES if p != "disbench"))


def _cell(summary: Summary | None, row_n: int, bold: bool) -> str:
    if summary is None:
        return MISSING
    mean = format_number(summary.mean)
    shown = f"**{mean}**" if bold else mean
    if summary.n > 1:
        shown += f" [{format_number(summary.low)}, {format_number(summary.high)}]"
    if summary.n != row_n:
        shown += f" (n={summary.n})"
    return shown


def _escape(generated: str) -> str:
    """A table cell of text this module made (numbers, intervals): only pipes escaped."""
    return generated.replace("|", "\\|")


_TEXT_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        "[": "\\[",
        "]": "\\]",
    }
)
_BLOCK_START = re.compile(r"^([#>+=*-])")
# An ordered-list marker is digits, `.` or `)`, then a space: the punctuation is
# escaped (a backslash before a digit would show), and a number such as 0.01 is left alone.
_LIST_NUMBER = re.compile(r"^(\d+)([.)])(?=\s|$)")


def text(value: object) -> str:
    """Untrusted text shown as written on one line: no HTML, links or images.

    `<`, `>` and `&` become entities (so `<!--` cannot hide the rest of the
    page and `<img>` is shown, not loaded); `[`, `]` and backslashes are
    backslash-escaped (no `![...](http://...)` images or links); a leading
    `#`, `>`, `-`, ... cannot start a heading or a list. Backticks are kept:
    a code span shows its text literally, so `quick` in a description stays
    code.
    """
    line = " ".join(str(value).split()).translate(_TEXT_ESCAPES)
    return _LIST_NUMBER.sub(r"\1\\\2", _BLOCK_START.sub(r"\\\1", line))


def cell(value: object) -> str:
    """Untrusted text for a table cell: `text`, with pipes escaped."""
    return text(value).replace("|", "\\|")


def code(value: object) -> str:
    """Untrusted text as an inline code span on one line (a fence longer than any backtick run)."""
    line = " ".join(str(value).split()).replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", line)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest or line.startswith(" ") else ""
    return f"{fence}{pad}{line}{pad}{fence}"


def _unconverged(row: Row) -> bool:
    """Whether a finished run of the row failed the convergence check."""
    flags = [r.scores.get(CONVERGED_KEY) for r in row.done]
    return any(isinstance(f, int | float) and not isinstance(f, bool) and f < 0.5 for f in flags)


def _mark(row: Row, cells: list[str]) -> list[str]:
    """Cells of a row with an unconverged run get the mark (missing cells stay as they are)."""
    if not _unconverged(row):
        return cells
    return [c if c == MISSING else f"{c} {NOT_CONVERGED_MARK}" for c in cells]


def _absent(row: Row, key: str) -> str:
    """Shows "n/a (reason)" when every finished run stored `key` as absent (a point mass has no rate)."""
    reasons = {absent_reason(run.scores.get(key)) for run in row.done}
    if len(reasons) == 1 and None not in reasons:
        return f"n/a ({reasons.pop()})"
    return MISSING


def _table(table: Table, rows: list[Row], fields: tuple[str, ...]) -> list[str]:
    header = [
        *map(cell, fields),
        "n",
        *(f"{cell(c.label)} {c.arrow}".strip() for c in table.columns),
    ]
    align = [*("---" for _ in fields), "---:", *("---:" for _ in table.columns)]
    lines = [f"## {text(table.title)}", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join(align) + "|")
    summaries = [[row.summary(c.key) for row in rows] for c in table.columns]
    best = [
        best_indices(column, c.direction)
        for column, c in zip(summaries, table.columns, strict=True)
    ]
    for i, row in enumerate(rows):
        n = len(row.done)
        cells = [
            _cell(summaries[j][i], n, i in best[j])
            if summaries[j][i] is not None
            else _absent(row, c.key)
            for j, c in enumerate(table.columns)
        ]
        cells = _mark(row, cells)
        values = [*map(cell, row.key), str(n), *map(_escape, cells)]
        lines.append("| " + " | ".join(values) + " |")
    return [*lines, ""]


def _statuses(results: TaskResults) -> Counter:
    return Counter(run.status for run in results.runs)


def _last_finished(results: TaskResults) -> str:
    times = [r.finished_at for r in results.runs if r.status == "done" and r.finished_at]
    return max(times) if times else ""


def summary_of(results: TaskResults) -> dict[str, Any]:
    """The facts the index shows, stored as a comment on the leaderboard's first line."""
    counts = _statuses(results)
    _, main, _ = layout(results)
    return {
        "task": results.task,
        "description": " ".join(str(results.config.get("description", "")).split()),
        "runs": len(results.runs),
        "done": counts["done"],
        "failed": counts["failed"],
        "last_finished": _last_finished(results),
        "main_metric": main,
    }


def _versions_line(results: TaskResults) -> str:
    seen: dict[str, set[str]] = {}
    for run in results.runs:
        if run.status == "done":
            for name, version in run.versions.items():
                seen.setdefault(name, set()).add(version)
    names = [n for n in _PACKAGES_SHOWN if n in seen] + sorted(set(seen) - set(_PACKAGES_SHOWN))
    return ", ".join(cell(f"{n} {'/'.join(sorted(seen[n]))}") for n in names) or MISSING


def _commits_line(results: TaskResults) -> str:
    commits = sorted({r.git_commit for r in results.runs if r.status == "done" and r.git_commit})
    return ", ".join(code(c) for c in commits) or MISSING


def _parameters_line(results: TaskResults) -> str:
    """Free parameters per part and posterior family (the entry for a run without one, such as
    an autoencoder), from the runs' `parameters/*` scores.

    `diagonal: encoder trunk 9,280, posterior head 132, flow 0, decoder 10,656; ...`;
    a family whose runs differ in size (e.g. two architectures) lists each size.
    """
    parts = [c for c in columns() if c.group == PARAMETERS]
    sizes: dict[str, list[str]] = {}
    for run in sorted(results.runs, key=lambda r: r.position):
        counts = [run.scores.get(c.key) for c in parts]
        if run.status != "done" or not any(isinstance(v, int | float) for v in counts):
            continue
        shown = ", ".join(
            f"{c.label} {int(v):,}"
            for c, v in zip(parts, counts, strict=True)
            if isinstance(v, int | float)
        )
        # Sizes follow the posterior family; a run without one (an autoencoder) is its entry.
        family = format_value(row_value(run, "posterior") or run.label)
        if shown not in sizes.setdefault(family, []):
            sizes[family].append(shown)
    return "; ".join(f"{family}: {' / '.join(texts)}" for family, texts in sizes.items())


def _run_commands(results: TaskResults) -> str:
    commands: list[str] = []
    for invocation in results.invocations:
        if invocation["command"] and invocation["command"] not in commands:
            commands.append(invocation["command"])
    return "; ".join(code(c) for c in commands) or code(f"disbench run {results.task}")


def render_markdown(results: TaskResults, *, command: str, figure_dir: str) -> str:
    """The leaderboard page of a task.

    `command` is the command that writes this page (shown in the header);
    `figure_dir` is the folder of the figures, relative to the page. Dates,
    commits and versions come from the runs, so the same rows always give
    the same text.
    """
    fields, main, x_field = layout(results)
    counts = _statuses(results)
    config = results.config
    training = config.get("training", {})
    seeds = config.get("seeds", [])
    dataset = config.get("dataset", {})
    lines = [
        # "<" and ">" escaped so that no description can end the HTML comment early.
        INDEX_MARKER
        + json.dumps(summary_of(results), sort_keys=True)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        + " -->",
        f"# Leaderboard: {text(results.task)}",
        "",
    ]
    description = " ".join(str(config.get("description", "")).split())
    if description:
        lines += [text(description), ""]
    for warning in results.warnings:
        lines += [f"> **Warning:** {text(warning)}", ""]
    status_text = ", ".join(f"{counts[s]} {s}" for s in ("done", "failed", "running", "pending"))
    lines += [
        "| | |",
        "|---|---|",
        f"| written by | {code(command)} (generated from the results database; do not edit) |",
        f"| results from | {_run_commands(results)} |",
        f"| last run finished | {cell(_last_finished(results) or MISSING)} |",
        f"| git commit | {_commits_line(results)} |",
        f"| packages | {_versions_line(results)} |",
        f"| runs | {len(results.runs)}: {status_text} |",
        f"| data set | {cell(dataset.get('name', MISSING))} |",
        "| training | "
        + cell(
            f"{training.get('steps', MISSING)} steps, batch "
            f"{training.get('batch_size', MISSING)}, learning rate "
            f"{training.get('learning_rate', MISSING)}; seeds "
            f"{', '.join(str(s) for s in seeds) or MISSING}"
        )
        + " |",
    ]
    lines += _convergence_lines(results, training)
    parameters = _parameters_line(results)
    if parameters:
        lines.append(f"| free parameters | {cell(parameters)} |")
    lines += [
        "",
        "Each cell is the mean over seeds with its 95% Student-t confidence interval "
        "[low, high] (mean ± t(0.975, n-1) s/√n); n is the number of finished seeds "
        "(given in a cell when it differs). ↑: higher is better, ↓: lower is better; "
        "a column's best mean is in bold only when its interval clears every other row's. "
        "Which differences hold is decided by the paired contrasts below, not by these "
        f"intervals. Main metric: {text(column_for(main).label)}.",
        "",
    ]
    rows = build_rows(results, fields)
    tables = build_tables(results)
    if not tables:
        lines += ["No finished runs yet.", ""]
    main_table = next((t for t in tables if any(c.key == main for c in t.columns)), None)
    if main_table is not None:
        column = next(c for c in main_table.columns if c.key == main)
        lines += _ranking(rows, fields, column.key, column.label, column.direction)
    lines += _contrast_lines(rows, fields, x_field)
    lines += _mode_lines(rows, fields, main)
    for table in tables:
        lines += _table(table, rows, fields)
    lines += decomposition_table(results)
    lines += udr_section(results)
    figures = plan_figures(results)
    if figures:
        lines += ["## Figures", ""]
        for figure in figures:
            target = urllib.parse.quote(f"{figure_dir}/{figure.filename}")
            lines += [f"### {text(figure.title)}", ""]
            lines += [f"![{text(figure.title)}]({target})", ""]
            if figure.caption:
                lines += [text(figure.caption), ""]
    lines += diagnostics_section(results, figure_dir)
    failed = [r for r in results.runs if r.status == "failed"]
    if failed:
        header = " | ".join(map(cell, fields))
        lines += ["## Failed runs", "", f"| run | {header} | seed | error |"]
        lines.append("|" + "|".join("---" for _ in range(len(fields) + 3)) + "|")
        for run in failed:
            row = next(r for r in rows if run in r.runs)
            key = " | ".join(map(cell, row.key))
            lines.append(
                f"| {code(run.run_id)} | {key} | {cell(run.seed)} | {cell(run.error or '')} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _convergence_lines(results: TaskResults, training: dict[str, Any]) -> list[str]:
    """The header row on convergence; none when no run has a convergence record."""
    unconverged, known = not_converged(results)
    if known == 0:
        return []
    tolerance = training.get("convergence_tolerance")
    finished = sum(1 for r in results.runs if r.status == "done")
    unknown = f"; {finished - known} finished runs have no record" if finished > known else ""
    verdict = (
        f"**{unconverged} of {known} finished runs are not converged**; every cell of a "
        f"row holding one is marked {NOT_CONVERGED_MARK}"
        if unconverged
        else f"all {known} finished runs are converged"
    )
    min_steps = int(training.get("min_steps", 0) or 0)
    floor = (
        f"; a run may stop early once converged, not before step {min_steps:,}"
        if min_steps and training.get("stop_when_converged")
        else ""
    )
    return [f"| convergence | {verdict}{unknown} ({_rule_text(results, tolerance)}{floor}) |"]


def _rule_text(results: TaskResults, tolerance: object) -> str:
    """What "converged" meant for these runs: the slope-interval rule, or the older one.

    Runs judged by the slope-interval rule store its bounds
    (`train/heldout_elbo_slope_high`); runs without them were judged by the
    rule it replaced (its tolerance, a share of |ELBO|, was left at 0.005 by every study
    judged by it), which noise could pass, and the page says so.
    """
    if any("train/heldout_elbo_slope_high" in r.scores for r in results.runs):
        limit = f"+-{float(tolerance):g}" if tolerance is not None else "the default tolerance"
        return (
            "converged: the 90% interval of the held-out ELBO's Theil-Sen slope over the last "
            f"20% of the steps, at least 10 evaluations, lies within {limit} nats per 1,000 steps"
        )
    return (
        "converged by the earlier rule, at its default: the held-out ELBO rose by less than "
        "0.5% of its value over the last 20% of the steps, a least-squares slope without its "
        "noise; curves still rising pass it (tasks now use the slope-interval rule)"
    )


def _ranking(
    rows: list[Row], fields: tuple[str, ...], key: str, label: str, direction: int
) -> list[str]:
    """Rows ordered by the main metric's mean (rows without a value are left out).

    An order, not a ranking: overlapping intervals name no winner (the paired
    contrasts say which differences hold), so no row is bolded here.
    """
    ranked = [(row, row.summary(key)) for row in rows]
    ranked = [(row, s) for row, s in ranked if s is not None]
    ranked.sort(key=lambda item: -(direction or 1) * item[1].mean)  # type: ignore[union-attr]
    lines = [
        f"## Rows ordered by {text(label)}",
        "",
        "The order of the means; it names no winner (see the paired contrasts).",
        "",
        "| " + " | ".join(map(cell, fields)) + f" | n | {cell(label)} |",
        "|" + "|".join("---" for _ in fields) + "|---:|---:|",
    ]
    for row, summary in ranked:
        (value,) = _mark(row, [_cell(summary, len(row.done), False)])
        key_cells = " | ".join(map(cell, row.key))
        lines.append(f"| {key_cells} | {len(row.done)} | {value} |")
    return [*lines, ""]


def _contrast_lines(rows: list[Row], fields: tuple[str, ...], x_field: str) -> list[str]:
    """The paired contrasts table (`benchmark.leaderboard.contrasts`); none without pairs."""
    found = contrasts(rows, fields, columns(), skip_fields=(x_field, "sweep"))
    if not found:
        return []
    differs = sum(c.verdict == "differs" for c in found)
    equivalent = sum(c.verdict.startswith("equivalent") for c in found)
    lines = [
        "## Paired contrasts",
        "",
        f"Rows that differ in one field only, compared score by score on their shared seeds "
        f"(seed s of both started from the same weights and saw the same data): mean "
        f"difference (second minus first) with its 95% t-interval, the paired t-test's p, and "
        f'Holm\'s adjustment over all {len(found)} tests on this page. "Equivalent" needs the '
        f"two one-sided tests (TOST) against the score's stated margin to hold after Holm's "
        f'adjustment too; anything else is inconclusive, never "no difference". '
        f"{differs} differ, {equivalent} equivalent, "
        f"{len(found) - differs - equivalent} inconclusive.",
        "",
        "| compared | at | score | pairs | difference [95% CI] | p | p (Holm) | "
        "TOST p (Holm) | verdict |",
        "|---|---|---|---:|---|---:|---:|---:|---|",
    ]
    for c in found:
        t = c.test
        lines.append(
            f"| {cell(c.field)}: {cell(c.b)} − {cell(c.a)} | {cell(c.at)} | "
            f"{cell(c.column.label)} | {t.n} | {format_number(t.mean)} "
            f"[{format_number(t.low)}, {format_number(t.high)}] | {_p(t.p)} | {_p(c.p_holm)} | "
            f"{_p(c.p_equivalence_holm)} | {cell(c.verdict)} |"
        )
    return [*lines, ""]


def _p(value: float) -> str:
    if not math.isfinite(value):
        return MISSING
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _mode_lines(rows: list[Row], fields: tuple[str, ...], main: str) -> list[str]:
    """Cells whose seeds settle at different active-unit counts, summarised per mode."""
    label = column_for(main).label
    found = []
    for row in rows:
        groups = modes(row.done, main)
        if len(groups) > 1:
            per_mode = describe_modes(groups, len(row.done), cell(label))
            found.append(f"| {' | '.join(map(cell, row.key))} | {per_mode} |")
    if not found:
        return []
    return [
        "## Cells with several modes",
        "",
        f"Seeds of these cells settled at different numbers of active units; the cell's mean "
        f"describes none of them, so each mode is given with its mean {text(label)}.",
        "",
        "| " + " | ".join(map(cell, fields)) + " | modes |",
        "|" + "|".join("---" for _ in fields) + "|---|",
        *found,
        "",
    ]


def render_index(summaries: list[dict[str, Any]]) -> str:
    """`leaderboards/README.md`: one line per task leaderboard."""
    lines = [
        "# Leaderboards",
        "",
        "Written by `disbench leaderboard TASK` from the results database; never edited by "
        "hand. Each page has the command, commit and package versions it came from.",
        "",
        "| task | runs done | failed | last run finished | main metric | description |",
        "|---|---:|---:|---|---|---|",
    ]
    for s in sorted(summaries, key=lambda s: s["task"]):
        page = urllib.parse.quote(f"{s['task']}.md")
        lines.append(
            f"| [{cell(s['task'])}]({page}) | {cell(s['done'])} of {cell(s['runs'])} | "
            f"{cell(s['failed'])} | {cell(s['last_finished'] or MISSING)} | "
            f"{cell(column_for(str(s['main_metric'])).label)} | {cell(s['description'])} |"
        )
    return "\n".join(lines) + "\n"
