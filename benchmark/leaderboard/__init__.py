"""Leaderboards: Markdown tables and PNG figures made from the results database alone.

`load_results(store, task)` reads a task's rows; `render_markdown(results, ...)`
is a pure function of them; `write_leaderboard(store, task, out_dir, ...)`
writes `TASK.md`, its figures and the index `README.md`. Importing this
package does not import matplotlib; drawing does.
"""

from benchmark.leaderboard.markdown import render_index, render_markdown
from benchmark.leaderboard.results import RunRow, TaskResults, load_results
from benchmark.leaderboard.stats import Summary, seed_interval
from benchmark.leaderboard.writer import write_index, write_leaderboard

__all__ = [
    "RunRow",
    "Summary",
    "TaskResults",
    "seed_interval",
    "load_results",
    "render_index",
    "render_markdown",
    "write_index",
    "write_leaderboard",
]
