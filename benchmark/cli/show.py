"""`disbench show RUN_ID`: pictures of one run (traversal GIF, reconstructions, MIG and DCI
heatmaps, KL bars)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.store import DEFAULT_DB, ResultStore

COMMAND = "show"
HELP = "draw one run's diagnostics (traversal GIF, reconstructions, MIG/DCI heatmaps, KL bars)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", help="the run's id (or a unique prefix of it)")
    parser.add_argument(
        "--db", type=Path, default=DEFAULT_DB, help=f"results database (default: {DEFAULT_DB})"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: diagnostics/RUN_ID)"
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="for a run evaluated before reconstructions were stored: its training's "
        "checkpoint folder (RUNS_DIR/trainings/TRAINING_ID), to draw them from its model",
    )


def run(args: argparse.Namespace) -> int:
    from benchmark.leaderboard.diagnostics import find_run, write_diagnostics

    with ResultStore(args.db, create=False) as store:
        out = args.out or Path("diagnostics") / args.run_id
        images = None
        record = find_run(store, args.run_id)
        stored = store.artifact(record.run_id, "reconstructions") is not None
        if args.checkpoint is not None and not stored:
            from benchmark.evaluation.reconstructions import reconstructions_from_checkpoint

            images = reconstructions_from_checkpoint(
                args.checkpoint,
                record.dataset,
                record.spec.get("dataset_args", {}),
                seed=record.seed,
            )
        for path in write_diagnostics(store, args.run_id, out, reconstructions=images):
            print(path)
        if images is None and not stored:
            folder = args.db.parent / "runs" / "trainings" / (record.training_id or "TRAINING_ID")
            print(
                f"note: run {record.run_id} stored no reconstructions; pass --checkpoint "
                f"with its training's checkpoint folder (by default {folder}) to draw them",
                file=sys.stderr,
            )
    return 0
