"""`disbench validate TASK...`: check task files and show what they expand into."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.config import expand_task, load_task
from benchmark.terminal import printable

COMMAND = "validate"
HELP = "check task files (names, fields, registered names) and count their runs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tasks", nargs="+", metavar="TASK", help="shipped task names or YAML paths")
    parser.add_argument("--runs", action="store_true", help="list every run with its id")


def _count(number: int, singular: str, plural: str = "") -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def _display(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path


def run(args: argparse.Namespace) -> int:
    for name in args.tasks:
        task = load_task(name)
        specs = expand_task(task)
        points = sum(len(m.sweep if m.sweep is not None else task.sweep) for m in task.models)
        print(
            f"{printable(_display(task.source))}: ok: task {task.name!r}, {len(specs)} runs = "
            f"{_count(points, 'configuration')} "
            f"({_count(len(task.models), 'model entry', 'model entries')}) x "
            f"{_count(len(task.seeds), 'seed')}, {task.training.steps} steps each"
        )
        if args.runs:
            for spec in specs:
                print(f"  {spec.run_id}  {printable(spec.describe())}")
    return 0
