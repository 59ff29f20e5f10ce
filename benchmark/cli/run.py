"""`disbench run TASK`: train and score every run of a task, keeping results in a database."""

from __future__ import annotations

import argparse
import math
import shlex
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmark.cli._options import add_db
from benchmark.config import load_task
from benchmark.config.fields import in_range, shown_number
from benchmark.config.schema import (
    MAX_ARTIFACT_MB,
    MAX_ATTEMPTS,
    MAX_GPU_MEMORY_MB,
    MAX_RUN_TIMEOUT_S,
    MAX_RUNS_PER_GPU,
    MAX_STATUS_EVERY_S,
    MAX_WORKERS,
)
from benchmark.errors import UserInputError
from benchmark.runner import DEFAULT_PIPELINE, EXECUTORS, check_pipeline, make_executor, run_task
from benchmark.runner.devices import DEFAULT_RUNS_PER_GPU, local_workers, visible_gpus
from benchmark.runner.environment import owner_id
from benchmark.runner.lease import LEASE_S
from benchmark.runner.pool import STOP_SIGNALS
from benchmark.runner.suite import EXIT_HELD, live_local_holders
from benchmark.store import DEFAULT_DB, ResultStore
from benchmark.terminal import printable

COMMAND = "run"
HELP = "train and score every run of a task; finished runs are skipped, interrupted ones resume"

_SHOWN_FAILURES = 10


# Without a terminal there are no progress bars; a study's run trains for many minutes
# between two "done" lines, so its log gets one status line per run in flight this often.
STATUS_EVERY_S = 300.0


def _status_every(args: argparse.Namespace) -> float | None:
    """Seconds between status lines: `--status-every`, else 300 in a log file, else none."""
    if args.status_every is not None:
        if args.status_every < 0 or not math.isfinite(args.status_every):
            raise UserInputError(
                f"--status-every: expected seconds >= 0 (0: off), got {args.status_every}"
            )
        if args.status_every > MAX_STATUS_EVERY_S:
            raise UserInputError(
                f"--status-every: expected seconds from 0 (off) to {shown_number(MAX_STATUS_EVERY_S)}, "
                f"got {shown_number(args.status_every)}"
            )
        return args.status_every or None
    return None if sys.stderr.isatty() else STATUS_EVERY_S


# `disbench run --help` ends with these; docs/running.md says the same.
EXIT_CODES = (
    "exit codes: 0 every run of the task is done; 1 a run failed; 2 a mistake in the command "
    f"or the task file; {EXIT_HELD} runs remain held by processes on other hosts (a later call "
    f"takes one over once its heartbeat is over {LEASE_S / 60:g} minutes old, or at once with "
    "--take-over); "
    "130 stopped by Ctrl-C, SIGTERM or SIGHUP (the runs in flight go back to pending)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXIT_CODES
    parser.add_argument("task", help="a shipped task's name (e.g. quick) or a path to a YAML file")
    add_db(parser)
    parser.add_argument(
        "--runs-dir",
        type=Path,
        default=None,
        help="folder for each run's checkpoints and files (default: 'runs' beside the database)",
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS.names(),
        default="local",
        help="where runs execute (default: local)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="local executor: N worker processes (default 1: in this process)",
    )
    parser.add_argument(
        "--runs-per-gpu",
        type=int,
        default=None,
        metavar="K",
        help="K runs share each GPU: local executor: K workers per visible GPU; ray: each run "
        f"asks for 1/K of a GPU (default {DEFAULT_RUNS_PER_GPU})",
    )
    parser.add_argument(
        "--gpu-memory-mb",
        type=int,
        default=None,
        metavar="MB",
        help="cap each run at MB MiB of memory per GPU (default: grown as needed)",
    )
    parser.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="ray executor: the cluster to join (default: start a local Ray instance)",
    )
    parser.add_argument(
        "--retry-failed", action="store_true", help="run failed runs again (kept failed otherwise)"
    )
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="also score every done run again from its finished training, with this code "
        "(run ids kept, nothing trained; a run whose checkpoint is gone keeps its result, and "
        "a re-score that fails keeps the earlier scores)",
    )
    parser.add_argument(
        "--take-over",
        action="store_true",
        help="also run runs marked running by other processes (e.g. a driver on another "
        "machine that died)",
    )
    parser.add_argument(
        "--isolate",
        action="store_true",
        help="local executor: run each run in a fresh child process, so a crash costs that "
        "run only",
    )
    parser.add_argument(
        "--run-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop a run that takes longer and record it failed (default: the task's "
        "execution.run_timeout, else none)",
    )
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=None,
        metavar="N",
        help="record a run failed once the runner's own process died N times while running "
        "it (after one such death it runs in a worker process, where a crash fails it at "
        "once and a killed runner costs nothing; default: the task's "
        "execution.max_attempts, else 3)",
    )
    parser.add_argument(
        "--max-artifact-mb",
        type=float,
        default=None,
        metavar="MB",
        help="largest artefact file a run may store (default: the task's "
        "execution.max_artifact_mb, else 100)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--status-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="print a line per training in flight (step, steps/s, held-out ELBO) this often; "
        f"default {STATUS_EVERY_S:.0f} when stderr is not a terminal (a log file), else 0 (off)",
    )
    parser.add_argument(
        "--pipeline",
        default=DEFAULT_PIPELINE,
        metavar="MODULE:FUNCTION",
        help=f"the function that trains and scores one run (default: {DEFAULT_PIPELINE})",
    )


def command_line(args: argparse.Namespace) -> str:
    """The command as the user could retype it (defaults left out)."""
    parts = ["disbench", "run", str(args.task)]
    if args.db != DEFAULT_DB:
        parts += ["--db", str(args.db)]
    if args.runs_dir is not None:
        parts += ["--runs-dir", str(args.runs_dir)]
    if args.executor != "local":
        parts += ["--executor", args.executor]
    if args.workers != 1:
        parts += ["--workers", str(args.workers)]
    if args.runs_per_gpu is not None:
        parts += ["--runs-per-gpu", str(args.runs_per_gpu)]
    if args.gpu_memory_mb is not None:
        parts += ["--gpu-memory-mb", str(args.gpu_memory_mb)]
    if args.ray_address:
        parts += ["--ray-address", args.ray_address]
    if args.retry_failed:
        parts.append("--retry-failed")
    if args.rescore:
        parts.append("--rescore")
    if args.take_over:
        parts.append("--take-over")
    if args.isolate:
        parts.append("--isolate")
    if args.run_timeout is not None:
        parts += ["--run-timeout", f"{args.run_timeout:g}"]
    if args.max_attempts is not None:
        parts += ["--max-attempts", str(args.max_attempts)]
    if args.max_artifact_mb is not None:
        parts += ["--max-artifact-mb", f"{args.max_artifact_mb:g}"]
    if args.pipeline != DEFAULT_PIPELINE:
        parts += ["--pipeline", args.pipeline]
    return shlex.join(parts)


def _check_limits(args: argparse.Namespace) -> None:
    """Every number option within its bounds (`benchmark.config.schema`), before anything starts."""
    for option, value, maximum in (
        ("--run-timeout", args.run_timeout, MAX_RUN_TIMEOUT_S),
        ("--max-artifact-mb", args.max_artifact_mb, MAX_ARTIFACT_MB),
    ):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise UserInputError(f"{option}: expected a number > 0, got {value:g}")
        if value is not None and value > maximum:
            expected = in_range(0, maximum, integer=False, above=True)
            raise UserInputError(f"{option}: expected {expected}, got {shown_number(value)}")
    for option, value, maximum in (
        ("--workers", args.workers, MAX_WORKERS),
        ("--max-attempts", args.max_attempts, MAX_ATTEMPTS),
        ("--runs-per-gpu", args.runs_per_gpu, MAX_RUNS_PER_GPU),
        ("--gpu-memory-mb", args.gpu_memory_mb, MAX_GPU_MEMORY_MB),
    ):
        if value is not None and value < 1:
            raise UserInputError(f"{option}: expected an integer >= 1, got {value}")
        if value is not None and value > maximum:
            expected = in_range(1, maximum, integer=True)
            raise UserInputError(f"{option}: expected {expected}, got {shown_number(value)}")
    if args.isolate and args.executor != "local":
        raise UserInputError("--isolate applies to the local executor (Ray isolates its tasks)")


class _StopOnSignals:
    """SIGINT, SIGTERM and SIGHUP stop the runner like Ctrl-C, once, however many arrive.

    The first raises KeyboardInterrupt: workers are killed, unfinished runs go
    back to pending. Later ones are ignored, so they cannot cut that cleanup
    short (a second KeyboardInterrupt inside it would leave workers running and
    runs held). After a stop the signals stay ignored until the process exits;
    otherwise the previous handlers come back. Outside the main thread it does
    nothing (Python sets handlers only there).
    """

    def __init__(self) -> None:
        self.stopping = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.stopping:
            return
        self.stopping = True
        raise KeyboardInterrupt

    def __enter__(self) -> _StopOnSignals:
        try:
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        except ValueError:  # not the main thread: leave signals alone
            self._previous.clear()
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, signal.SIG_IGN if self.stopping else previous)


def _check_runs_dir(runs_dir: Path, what: str) -> None:
    """Refuses a runs folder this process cannot write, before any run is claimed.

    Every run writes its checkpoints there: found out run by run, each would
    be recorded failed. A file written and removed proves the folder works.
    """
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=runs_dir, prefix=".disbench-write-check-"):
            pass
    except OSError as error:  # a file in the way, read-only, no permission, a full disk
        where = (
            f" ({error.filename})"
            if error.filename and str(error.filename) != str(runs_dir)
            else ""
        )
        raise UserInputError(
            f"{what} {runs_dir}: cannot write there{where}: {error.strerror or error}"
        ) from None


def _wait_for_local_holders(store: ResultStore, task_name: str, poll_s: float = 2.0) -> bool:
    """Waits while live processes on this host hold runs of the task; True when any did.

    Each holder is shown once with its runs; the wait ends when none of them
    holds a running run any more (it finished them, or died and its runs are
    taken over by the next pass). Runs held on other hosts are not waited for.
    """
    me = owner_id()
    holders = live_local_holders(store.runs(task_name), me)
    if not holders:
        return False
    for owner, run_ids in holders.items():
        print(
            f"waiting for {len(run_ids)} runs held by live process {owner} on this host: "
            + ", ".join(run_ids[:5])
            + (" ..." if len(run_ids) > 5 else ""),
            flush=True,
        )
    while live_local_holders(store.runs(task_name), me):
        time.sleep(poll_s)
    return True


def run(args: argparse.Namespace) -> int:
    _check_limits(args)
    if args.executor != "local" and args.workers != 1:
        raise UserInputError("--workers applies to the local executor; Ray schedules by itself")
    if args.ray_address and args.executor != "ray":
        raise UserInputError("--ray-address needs --executor ray")
    status_every_s = _status_every(args)
    gpus: list[str] = []
    workers = args.workers
    if args.executor == "local" and (args.runs_per_gpu is not None or args.workers > 1):
        gpus = visible_gpus()
        workers = local_workers(args.workers, args.runs_per_gpu, gpus)
    check_pipeline(args.pipeline)
    task = load_task(args.task)
    runs_dir = (args.runs_dir if args.runs_dir is not None else args.db.parent / "runs").resolve()
    limits = task.execution
    run_timeout = args.run_timeout if args.run_timeout is not None else limits.run_timeout
    artifact_mb = (
        args.max_artifact_mb if args.max_artifact_mb is not None else limits.max_artifact_mb
    )
    executor = make_executor(
        args.executor,
        args.pipeline,
        workers=workers,
        progress=not args.no_progress,
        ray_address=args.ray_address,
        run_timeout=run_timeout,
        isolate=args.isolate,
        max_artifact_bytes=int(artifact_mb * 1e6),
        gpus=gpus,
        runs_per_gpu=args.runs_per_gpu or DEFAULT_RUNS_PER_GPU,
        gpu_memory_mb=args.gpu_memory_mb,
    )
    if gpus and workers > 1:
        print(f"{workers} workers over GPUs {', '.join(gpus)} (round-robin, one GPU each)")
    with ResultStore(args.db) as store, _StopOnSignals():
        _check_runs_dir(
            runs_dir, "--runs-dir" if args.runs_dir is not None else "runs folder (beside --db)"
        )
        first = True
        while True:
            summary = run_task(
                task,
                store,
                executor,
                runs_dir=runs_dir,
                retry_failed=args.retry_failed,
                take_over=args.take_over,
                progress=not args.no_progress,
                command=command_line(args),
                status_every_s=status_every_s,
                max_attempts=args.max_attempts or limits.max_attempts,
                rescore=args.rescore and first,  # a later pass runs what was held, only
            )
            first = False
            if not (summary.held_elsewhere and _wait_for_local_holders(store, task.name)):
                break
    minutes = summary.elapsed_s / 60
    print(
        f"{task.name}: {summary.done} of {summary.total} runs done, {len(summary.failed)} failed "
        f"(this call finished {summary.ran} in {minutes:.1f} min)"
    )
    if summary.held_elsewhere:
        for line in summary.held_lines:
            print(line)
        print(
            f"{summary.held_elsewhere} runs are held by processes on other hosts or their "
            f"folders are locked (--take-over runs them here if those processes are gone); "
            f"exit code {EXIT_HELD}"
        )
    for run_id, what, error in summary.failed[:_SHOWN_FAILURES]:
        print(f"  failed {run_id} {printable(what)}: {printable(error)}")
    if len(summary.failed) > _SHOWN_FAILURES:
        print(f"  ... and {len(summary.failed) - _SHOWN_FAILURES} more")
    if summary.failed and not args.retry_failed:
        print("run again with --retry-failed to retry them")
    for run_id, error in summary.rescore_failed[:_SHOWN_FAILURES]:
        print(f"  re-score failed {run_id} (its earlier scores are kept): {printable(error)}")
    if len(summary.rescore_failed) > _SHOWN_FAILURES:
        print(f"  ... and {len(summary.rescore_failed) - _SHOWN_FAILURES} more re-score failures")
    db = "" if args.db == DEFAULT_DB else f" --db {shlex.quote(str(args.db))}"
    print(f"leaderboard: disbench leaderboard {shlex.quote(task.name)}{db}")
    return summary.exit_code
