"""Options several subcommands share, declared once."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.store import DEFAULT_DB

__all__ = ["add_db"]


def add_db(parser: argparse.ArgumentParser) -> None:
    """`--db PATH`: the results database (default `DEFAULT_DB`)."""
    parser.add_argument(
        "--db", type=Path, default=DEFAULT_DB, help=f"results database (default: {DEFAULT_DB})"
    )
