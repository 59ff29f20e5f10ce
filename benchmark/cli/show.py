"""`disbench show RUN_ID`: pictures of one run (traversal GIF, MIG and DCI heatmaps, KL bars)."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.store import DEFAULT_DB, ResultStore

COMMAND = "show"
HELP = "draw one run's diagnostics (traversal GIF, MIG/DCI heatmaps, KL per latent)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", help="the run's id (or a unique prefix of it)")
    parser.add_argument(
        "--db", type=Path, default=DEFAULT_DB, help=f"results database (default: {DEFAULT_DB})"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: diagnostics/RUN_ID)"
    )


def run(args: argparse.Namespace) -> int:
    from benchmark.leaderboard.diagnostics import write_diagnostics

    with ResultStore(args.db, create=False) as store:
        out = args.out or Path("diagnostics") / args.run_id
        for path in write_diagnostics(store, args.run_id, out):
            print(path)
    return 0
