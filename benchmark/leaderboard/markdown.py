"""The leaderboard as Markdown: a pure function of a task's rows (and the command shown in it)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from benchmark.leaderboard.columns import column_for
from benchmark.leaderboard.diagnostics import diagnostics_section
from benchmark.leaderboard.figures import layout, plan_figures
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
)
from benchmark.leaderboard.udr import udr_section
from benchmark.runner.environment import PACKAGES

__all__ = ["INDEX_MARKER", "render_index", "render_markdown", "summary_of"]

INDEX_MARKER = "<!-- disbench leaderboard "
# The recorded versions (`benchmark.runner.environment`) in display order: ours, then Python.
_PACKAGES_SHOWN = ("disbench", "python", *(p for p in PACKAGES if p != "disbench"))


def _cell(summary: Summary | None, row_n: int, bold: bool) -> str:
    if summary is None:
        return MISSING
    mean = format_number(summary.mean)
    text = f"**{mean}**" if bold else mean
    if summary.n > 1:
        text += f" [{format_number(summary.low)}, {format_number(summary.high)}]"
    if summary.n != row_n:
        text += f" (n={summary.n})"
    return text


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _table(table: Table, rows: list[Row], fields: tuple[str, ...]) -> list[str]:
    header = [*fields, "n", *(f"{c.label} {c.arrow}".strip() for c in table.columns)]
    align = [*("---" for _ in fields), "---:", *("---:" for _ in table.columns)]
    lines = [f"## {table.title}", "", "| " + " | ".join(_escape(h) for h in header) + " |"]
    lines.append("|" + "|".join(align) + "|")
    summaries = [[row.summary(c.key) for row in rows] for c in table.columns]
    best = [
        best_indices(column, c.direction)
        for column, c in zip(summaries, table.columns, strict=True)
    ]
    for i, row in enumerate(rows):
        n = len(row.done)
        cells = [_cell(summaries[j][i], n, i in best[j]) for j in range(len(table.columns))]
        lines.append("| " + " | ".join(_escape(v) for v in [*row.key, str(n), *cells]) + " |")
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
    return ", ".join(f"{n} {'/'.join(sorted(seen[n]))}" for n in names) or MISSING


def _commits_line(results: TaskResults) -> str:
    commits = sorted({r.git_commit for r in results.runs if r.status == "done" and r.git_commit})
    return ", ".join(f"`{c}`" for c in commits) or MISSING


def _run_commands(results: TaskResults) -> str:
    commands: list[str] = []
    for invocation in results.invocations:
        if invocation["command"] and invocation["command"] not in commands:
            commands.append(invocation["command"])
    return "; ".join(f"`{c}`" for c in commands) or f"`disbench run {results.task}`"


def render_markdown(results: TaskResults, *, command: str, figure_dir: str) -> str:
    """The leaderboard page of a task.

    `command` is the command that writes this page (shown in the header);
    `figure_dir` is the folder of the figures, relative to the page. Dates,
    commits and versions come from the runs, so the same rows always give
    the same text.
    """
    fields, main, _ = layout(results)
    counts = _statuses(results)
    config = results.config
    training = config.get("training", {})
    seeds = config.get("seeds", [])
    dataset = config.get("dataset", {})
    lines = [
        # ">" escaped so that no description can end the HTML comment early.
        INDEX_MARKER
        + json.dumps(summary_of(results), sort_keys=True).replace(">", "\\u003e")
        + " -->",
        f"# Leaderboard: {results.task}",
        "",
    ]
    description = " ".join(str(config.get("description", "")).split())
    if description:
        lines += [description, ""]
    status_text = ", ".join(f"{counts[s]} {s}" for s in ("done", "failed", "running", "pending"))
    lines += [
        "| | |",
        "|---|---|",
        f"| written by | `{command}` (generated from the results database; do not edit) |",
        f"| results from | {_run_commands(results)} |",
        f"| last run finished | {_last_finished(results) or MISSING} |",
        f"| git commit | {_commits_line(results)} |",
        f"| packages | {_versions_line(results)} |",
        f"| runs | {len(results.runs)}: {status_text} |",
        f"| data set | {dataset.get('name', MISSING)} |",
        f"| training | {training.get('steps', MISSING)} steps, batch "
        f"{training.get('batch_size', MISSING)}, learning rate "
        f"{training.get('learning_rate', MISSING)}; seeds "
        f"{', '.join(str(s) for s in seeds) or MISSING} |",
        "",
        "Each cell is the mean over seeds with its 95% bootstrap confidence interval "
        "[low, high] (10,000 resamples, fixed seed); n is the number of finished seeds "
        "(given in a cell when it differs). ↑: higher is better, ↓: lower is better; "
        f"the best mean of each column is in bold. Main metric: {column_for(main).label}.",
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
    for table in tables:
        lines += _table(table, rows, fields)
    lines += udr_section(results)
    figures = plan_figures(results)
    if figures:
        lines += ["## Figures", ""]
        for figure in figures:
            lines += [f"### {figure.title}", ""]
            lines += [f"![{figure.title}]({figure_dir}/{figure.filename})", ""]
            if figure.caption:
                lines += [figure.caption, ""]
    lines += diagnostics_section(results, figure_dir)
    failed = [r for r in results.runs if r.status == "failed"]
    if failed:
        lines += ["## Failed runs", "", "| run | " + " | ".join(fields) + " | seed | error |"]
        lines.append("|" + "|".join("---" for _ in range(len(fields) + 3)) + "|")
        for run in failed:
            row = next(r for r in rows if run in r.runs)
            error = _escape(" ".join((run.error or "").split()))
            key = " | ".join(_escape(k) for k in row.key)
            lines.append(f"| `{run.run_id}` | {key} | {run.seed} | {error} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _ranking(
    rows: list[Row], fields: tuple[str, ...], key: str, label: str, direction: int
) -> list[str]:
    """Rows ranked by the main metric's mean (rows without a value are left out)."""
    ranked = [(row, row.summary(key)) for row in rows]
    ranked = [(row, s) for row, s in ranked if s is not None]
    ranked.sort(key=lambda item: -(direction or 1) * item[1].mean)  # type: ignore[union-attr]
    lines = [
        f"## Ranking by {label}",
        "",
        "| rank | " + " | ".join(fields) + f" | n | {_escape(label)} |",
        "|---:|" + "|".join("---" for _ in fields) + "|---:|---:|",
    ]
    for rank, (row, summary) in enumerate(ranked, start=1):
        cell = _cell(summary, len(row.done), rank == 1 and len(ranked) > 1)
        key_cells = " | ".join(_escape(k) for k in row.key)
        lines.append(f"| {rank} | {key_cells} | {len(row.done)} | {cell} |")
    return [*lines, ""]


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
        lines.append(
            f"| [{s['task']}]({s['task']}.md) | {s['done']} of {s['runs']} | {s['failed']} | "
            f"{s['last_finished'] or MISSING} | {column_for(s['main_metric']).label} | "
            f"{_escape(s['description'])} |"
        )
    return "\n".join(lines) + "\n"
