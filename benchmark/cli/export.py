"""`disbench export TASK`: a task's scores as a table (CSV, JSON lines or Parquet)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from benchmark.cli._options import add_db
from benchmark.errors import UserInputError
from benchmark.results import column_order, load, rows

COMMAND = "export"
HELP = "write a task's scores as a table: one row per run, score key and representation"

FORMATS = ("csv", "json", "parquet")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", help="the task's name, as stored in the database")
    add_db(parser)
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="csv",
        help="csv (default), json (one object per line) or parquet (needs pandas and pyarrow)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="file to write (default: stdout; parquet needs one)"
    )


def _write_text(table: list[dict], fmt: str, stream) -> None:
    if fmt == "json":
        for row in table:
            stream.write(json.dumps(row, sort_keys=False, default=str) + "\n")
        return
    writer = csv.DictWriter(stream, fieldnames=column_order(table), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)


def run(args: argparse.Namespace) -> int:
    if args.format == "parquet":
        if args.out is None:
            raise UserInputError("export --format parquet: give --out FILE (Parquet is binary)")
        frame = load(args.task, args.db)
        try:
            frame.to_parquet(args.out, index=False)
        except ImportError:
            raise UserInputError(
                "export --format parquet needs pyarrow: pip install 'disbench[export]'"
            ) from None
        except OSError as error:
            raise UserInputError(f"{args.out}: cannot write ({error.strerror or error})") from None
        print(f"{len(frame)} rows written to {args.out}", file=sys.stderr)
        return 0
    table = rows(args.task, args.db)
    if args.out is None:
        _write_text(table, args.format, sys.stdout)
        return 0
    try:
        with open(args.out, "w", encoding="utf-8", newline="") as stream:
            _write_text(table, args.format, stream)
    except OSError as error:
        raise UserInputError(f"{args.out}: cannot write ({error.strerror or error})") from None
    print(f"{len(table)} rows written to {args.out}", file=sys.stderr)
    return 0
