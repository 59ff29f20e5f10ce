"""Writing a task's leaderboard: `TASK.md`, its figures in `TASK/`, and the index `README.md`."""

from __future__ import annotations

import json
from pathlib import Path

from benchmark.errors import UserInputError
from benchmark.leaderboard.diagnostics import write_cell_diagnostics
from benchmark.leaderboard.figures import TRAVERSALS_ARTIFACT, plan_figures
from benchmark.leaderboard.markdown import INDEX_MARKER, render_index, render_markdown
from benchmark.leaderboard.results import load_results
from benchmark.leaderboard.udr import with_udr
from benchmark.store import ResultStore
from benchmark.task_names import task_name_problem

__all__ = ["write_index", "write_leaderboard"]


def write_leaderboard(store: ResultStore, task: str, out_dir: Path, *, command: str) -> list[Path]:
    """Regenerates `out_dir/TASK.md`, the figures in `out_dir/TASK/` and `out_dir/README.md`.

    Figures no longer planned are removed from `out_dir/TASK/` (only `.png`
    files this function writes live there). Returns the paths written.
    """
    from benchmark.leaderboard.plots import write_figure  # matplotlib only when drawing

    problem = task_name_problem(task)
    if problem is not None:  # a name from a database becomes a page and a folder below
        raise UserInputError(f"{store.path}: task {task!r}: {problem}")
    results = with_udr(store, load_results(store, task))  # UDR pools runs' stored codes
    figure_dir = out_dir / task
    page = out_dir / f"{task}.md"
    _check_folders(out_dir, figure_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    page.write_text(render_markdown(results, command=command, figure_dir=task), encoding="utf-8")
    written = [page]
    figures = plan_figures(results)
    if figures:
        figure_dir.mkdir(exist_ok=True)
    planned = {f.filename for f in figures}
    if figure_dir.is_dir():
        for stale in figure_dir.glob("*.png"):
            if stale.name not in planned:
                stale.unlink()
    for figure in figures:
        artifact = None
        if figure.kind == "traversals":
            artifact = store.artifact(figure.run_ids[0], TRAVERSALS_ARTIFACT)
        written.append(write_figure(figure, results, artifact, figure_dir / figure.filename))
    written += write_cell_diagnostics(store, results, figure_dir)
    written.append(write_index(out_dir))
    return written


def _check_folders(out_dir: Path, figure_dir: Path) -> None:
    """Refuses, before anything is written, an `--out` or a figure folder that is not a folder
    of its own: a file, or a link that would lead the writes (and the stale-figure deletion)
    out of `out_dir`."""
    for folder, what in ((out_dir, "--out"), (figure_dir, "the figure folder")):
        if folder.is_symlink() and folder is figure_dir:
            raise UserInputError(f"{folder}: {what} is a symbolic link; expected a folder")
        if folder.exists() and not folder.is_dir():
            raise UserInputError(f"{folder}: {what} is a file; expected a folder")
    parent = next((p for p in out_dir.parents if p.exists()), None)
    if not out_dir.exists() and parent is not None and not parent.is_dir():
        raise UserInputError(f"{out_dir}: --out: {parent} is a file; expected a folder")


def write_index(out_dir: Path) -> Path:
    """`out_dir/README.md` listing every leaderboard page in `out_dir` (read from their first line)."""
    summaries = []
    for page in sorted(out_dir.glob("*.md")):
        if page.name == "README.md":
            continue
        try:
            with page.open(encoding="utf-8") as handle:
                first = handle.readline().strip()
        except (OSError, UnicodeDecodeError):  # not a page this writer made: not listed
            continue
        if first.startswith(INDEX_MARKER) and first.endswith("-->"):
            try:
                summaries.append(json.loads(first[len(INDEX_MARKER) : -3]))
            except json.JSONDecodeError:
                continue
    index = out_dir / "README.md"
    index.write_text(render_index(summaries), encoding="utf-8")
    return index
