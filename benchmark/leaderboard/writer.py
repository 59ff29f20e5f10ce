"""Writing a task's leaderboard: `TASK.md`, its figures in `TASK/`, and the index `README.md`."""

from __future__ import annotations

import json
from pathlib import Path

from benchmark.leaderboard.diagnostics import write_cell_diagnostics
from benchmark.leaderboard.figures import TRAVERSALS_ARTIFACT, plan_figures
from benchmark.leaderboard.markdown import INDEX_MARKER, render_index, render_markdown
from benchmark.leaderboard.results import load_results
from benchmark.leaderboard.udr import with_udr
from benchmark.store import ResultStore

__all__ = ["write_index", "write_leaderboard"]


def write_leaderboard(store: ResultStore, task: str, out_dir: Path, *, command: str) -> list[Path]:
    """Regenerates `out_dir/TASK.md`, the figures in `out_dir/TASK/` and `out_dir/README.md`.

    Figures no longer planned are removed from `out_dir/TASK/` (only `.png`
    files this function writes live there). Returns the paths written.
    """
    from benchmark.leaderboard.plots import write_figure  # matplotlib only when drawing

    results = with_udr(store, load_results(store, task))  # UDR pools runs' stored codes
    out_dir.mkdir(parents=True, exist_ok=True)
    figure_dir = out_dir / task
    page = out_dir / f"{task}.md"
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


def write_index(out_dir: Path) -> Path:
    """`out_dir/README.md` listing every leaderboard page in `out_dir` (read from their first line)."""
    summaries = []
    for page in sorted(out_dir.glob("*.md")):
        if page.name == "README.md":
            continue
        with page.open(encoding="utf-8") as handle:
            first = handle.readline().strip()
        if first.startswith(INDEX_MARKER) and first.endswith("-->"):
            try:
                summaries.append(json.loads(first[len(INDEX_MARKER) : -3]))
            except json.JSONDecodeError:
                continue
    index = out_dir / "README.md"
    index.write_text(render_index(summaries), encoding="utf-8")
    return index
