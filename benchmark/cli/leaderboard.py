"""`disbench leaderboard TASK`: regenerate `leaderboards/TASK.md` and its figures from the database."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from benchmark.cli._options import add_db
from benchmark.config.loader import read_task_data, resolve_task_path
from benchmark.errors import UserInputError
from benchmark.store import DEFAULT_DB, ResultStore

COMMAND = "leaderboard"
HELP = "write a task's leaderboard (tables and figures) from the results database"

DEFAULT_OUT = Path("leaderboards")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", help="the task's name, or the path of its YAML file")
    add_db(parser)
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--readme",
        type=Path,
        help="also rewrite the task's generated findings block in this file (e.g. README.md)",
    )


def _task_name(task: str) -> str:
    """A YAML path's task name (read from the file); a name as it is."""
    if task.endswith((".yaml", ".yml")) or "/" in task:
        data, _ = read_task_data(resolve_task_path(task))
        name = data.get("name")
        return name if isinstance(name, str) else Path(task).stem
    return task


def run(args: argparse.Namespace) -> int:
    from benchmark.leaderboard import write_leaderboard

    name = _task_name(args.task)
    parts = ["disbench", "leaderboard", name]
    if args.db != DEFAULT_DB:
        parts += ["--db", str(args.db)]
    if args.out != DEFAULT_OUT:
        parts += ["--out", str(args.out)]
    with ResultStore(args.db, create=False, readonly=True) as store:
        try:
            written = write_leaderboard(store, name, args.out, command=shlex.join(parts))
        except OSError as error:  # read-only, full disk, a file where a folder should be
            raise UserInputError(f"--out {args.out}: cannot write {_reason(error)}") from None
        if args.readme is not None:
            written.append(_rewrite_findings(store, name, args.readme))
    for path in written:
        print(path)
    return 0


def _reason(error: OSError) -> str:
    """`path: reason` of a failed write, on one line."""
    where = f"{error.filename}: " if error.filename else ""
    return f"{where}{error.strerror or error}"


def _rewrite_findings(store: ResultStore, task: str, readme: Path) -> Path:
    """Replaces the task's findings block in `readme` with lines generated from `store`."""
    from benchmark.leaderboard.findings import findings_lines, replace_block
    from benchmark.leaderboard.results import load_results

    try:
        text = readme.read_text(encoding="utf-8")
        updated = replace_block(text, task, findings_lines(load_results(store, task)))
        readme.write_text(updated, encoding="utf-8")
    except (OSError, ValueError) as error:
        raise UserInputError(f"--readme {readme}: {error}") from None
    return readme
