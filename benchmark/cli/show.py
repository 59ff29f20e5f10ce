"""`disbench show RUN_ID`: pictures of one run (traversal GIF, reconstructions, MIG and DCI
heatmaps, KL bars)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.cli._options import add_db
from benchmark.errors import UserInputError
from benchmark.store import ResultStore

COMMAND = "show"
HELP = "draw one run's diagnostics (traversal GIF, reconstructions, MIG/DCI heatmaps, KL bars)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", help="the run's id (or a unique prefix of it)")
    add_db(parser)
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
    from benchmark.leaderboard.names import file_part

    with ResultStore(args.db, create=False, readonly=True) as store:
        images = None
        record = find_run(store, args.run_id)
        out = args.out or Path("diagnostics") / file_part(record.run_id)
        stored = store.artifact(record.run_id, "reconstructions") is not None
        if args.checkpoint is not None and not stored:
            from benchmark.evaluation.reconstructions import reconstructions_from_checkpoint

            images = reconstructions_from_checkpoint(
                args.checkpoint,
                record.dataset,
                record.spec.get("dataset_args", {}),
                seed=record.seed,
            )
        try:
            written = write_diagnostics(store, record.run_id, out, reconstructions=images)
        except OSError as error:  # read-only, full disk, a file where a folder should be
            where = f"{error.filename}: " if error.filename else ""
            raise UserInputError(
                f"--out {out}: cannot write {where}{error.strerror or error}"
            ) from None
        for path in written:
            print(path)
        if images is None and not stored:
            folder = args.db.parent / "runs" / "trainings" / (record.training_id or "TRAINING_ID")
            print(
                f"note: run {record.run_id} stored no reconstructions; pass --checkpoint "
                f"with its training's checkpoint folder (by default {folder}) to draw them",
                file=sys.stderr,
            )
    return 0
