"""Leaderboards: markdown tables and PNG plots made from the results database alone.

`render_markdown` is a pure function of the rows read by `load_results`;
`write_leaderboard` writes `TASK.md`, its plots and the index. Importing
this package does not import matplotlib; `benchmark.leaderboard.plots` does.
"""
