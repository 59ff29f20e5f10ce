"""Running a task: expand it, skip finished runs, claim the rest, execute, record every outcome.

A run's status moves pending -> running -> done | failed. A run left
`running` by a process that no longer exists (killed, crashed, the machine
rebooted) is taken over and resumes from the checkpoints in its folder; a
run held by a live process (another `disbench run` on the same database) is
left to it, and so is a run whose folder another process has locked
(`benchmark.runner.locks`). A run whose process died `max_attempts` times
(a pipeline that crashes its process) is recorded failed instead of being
taken over again. Failed runs are kept as failed unless `retry_failed` is set.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from benchmark.config.runs import RunSpec, expand_task
from benchmark.config.schema import TaskConfig
from benchmark.runner.environment import (
    git_commit,
    host_name,
    owner_alive,
    owner_id,
    package_versions,
)
from benchmark.runner.executors import Executor, Job
from benchmark.runner.locks import folder_holder
from benchmark.runner.status import StatusLines
from benchmark.runner.step_caps import apply_lower_caps, find_lower_caps
from benchmark.runner.trainings import fill_training_ids, plan_trainings
from benchmark.runner.worker import BUSY
from benchmark.store import DatabaseError, ResultStore, RunOutcome, RunRecord

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "EXIT_HELD",
    "RunSummary",
    "crash_reason",
    "live_local_holders",
    "plan_runs",
    "run_task",
]

DEFAULT_MAX_ATTEMPTS = 3


EXIT_HELD = 3  # `disbench run`'s exit code when runs stay held by processes on other hosts


def crash_reason(attempts: int) -> str:
    """Why a run that kept killing its process is recorded failed."""
    return (
        f"gave up after {attempts} attempts: each time the runner, which ran it in its own "
        "process, ended without recording a result (a crash, os._exit, kill -9 or out of "
        "memory); "
        "--isolate runs each run in its own process, --retry-failed tries again"
    )


@dataclass
class RunSummary:
    """What a call of `run_task` did and where the task stands afterwards."""

    task: str
    total: int
    done: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (run_id, what, error)
    ran: int = 0
    held_elsewhere: int = 0
    elapsed_s: float = 0.0
    to_train: int = 0  # runs of this call that train (or resume) their model
    to_rescore: int = 0  # runs of this call that only evaluate a finished training

    @property
    def exit_code(self) -> int:
        """0: every run is done; 1: a run failed; `EXIT_HELD` (3): runs remain held elsewhere."""
        if self.failed:
            return 1
        return EXIT_HELD if self.held_elsewhere else 0


def live_local_holders(records: list[RunRecord], me: str) -> dict[str, list[str]]:
    """`{owner: [run ids]}` of running runs held by other live processes on this host."""
    holders: dict[str, list[str]] = {}
    for record in records:
        if record.status == "running" and record.owner != me and owner_alive(record.owner):
            holders.setdefault(record.owner, []).append(record.run_id)
    return holders


def plan_runs(
    records: list[RunRecord],
    *,
    retry_failed: bool,
    me: str,
    take_over: bool = False,
    in_flight: set[str] = frozenset(),
) -> tuple[list[RunRecord], int]:
    """`(runs to execute now, number held by other live processes)` from the task's rows.

    A `running` run is taken over when its owner is this process (and not in
    flight), when its owner's process is gone, or with `take_over` (for
    owners on other machines, whose liveness cannot be checked from here).
    """
    todo: list[RunRecord] = []
    held = 0
    for record in records:
        if record.status == "pending" or (record.status == "failed" and retry_failed):
            todo.append(record)
        elif record.status == "running":
            ours_but_idle = record.owner == me and record.run_id not in in_flight
            if take_over or ours_but_idle or owner_alive(record.owner) is False:
                todo.append(record)
            else:
                held += 1
    return todo, held


def _format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def run_task(
    task: TaskConfig,
    store: ResultStore,
    executor: Executor,
    *,
    runs_dir: Path,
    retry_failed: bool = False,
    take_over: bool = False,
    progress: bool = True,
    command: str = "",
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    status_every_s: float | None = None,
) -> RunSummary:
    """Runs every unfinished run of `task` with `executor`, recording outcomes in `store`.

    Returns a summary; `summary.exit_code` is 1 if any run of the task is
    failed at the end. `retry_failed` runs failed runs again; `take_over`
    also runs those marked running by processes this one cannot see. A
    KeyboardInterrupt puts this process's unfinished runs back to pending
    (their checkpoints stay) and is re-raised. `command` is recorded as the
    invocation (shown in leaderboard headers). A run left `running` by dead
    processes `max_attempts` times is recorded failed instead of run again.
    With `status_every_s`, a line per training in flight (step, steps/s,
    held-out ELBO) is printed that often (`benchmark.runner.status`).
    """
    start = time.perf_counter()
    specs = {spec.run_id: spec for spec in expand_task(task)}
    store.register_task(task.name, task.to_dict(), list(specs.values()), source=task.source)
    me = owner_id()
    commit = git_commit()
    invocation = store.start_invocation(
        task.name,
        command,
        executor.name,
        git_commit=commit,
        versions=package_versions(),
        host=host_name(),
    )
    fill_training_ids(store)
    records = store.runs(task.name)
    pending = [specs[r.run_id] for r in records if r.status == "pending" and not r.owner]
    lower = find_lower_caps(pending, store)
    if lower:
        copied, continued = apply_lower_caps(lower, store, runs_dir)
        print(
            f"{task.name}: {len(copied)} runs take the result of the same run under a lower "
            f"step cap (it converged before that cap), {len(continued)} continue from a lower "
            "cap's checkpoint",
            flush=True,
        )
        records = store.runs(task.name)  # the copied runs are done now
    todo, held = plan_runs(records, retry_failed=retry_failed, me=me, take_over=take_over)
    for record in [r for r in todo if r.status == "running" and r.attempts >= max_attempts]:
        todo.remove(record)
        if store.give_up(record.run_id, record.owner, crash_reason(record.attempts)):
            records = [r if r is not record else replace(r, status="failed") for r in records]
    trainings = plan_trainings([specs[r.run_id] for r in todo], store, runs_dir)
    by_id = {record.run_id: record for record in todo}
    todo = [by_id[run_id] for run_id in trainings.order]
    already_done = sum(r.status == "done" for r in records)
    kept_failed = 0 if retry_failed else sum(r.status == "failed" for r in records)
    summary = RunSummary(
        task=task.name,
        total=len(records),
        held_elsewhere=held,
        to_train=trainings.to_train,
        to_rescore=trainings.to_rescore,
    )
    counts = f"{already_done} done, {kept_failed} failed, {len(todo)} to run"
    if todo:
        counts += f": {trainings.describe()}"
    if held:
        counts += f", {held} running in other processes"
    print(f"{task.name}: {len(records)} runs ({counts}); results in {store.path}", flush=True)

    in_flight: set[str] = set()

    def jobs() -> Iterator[Job]:
        for record in todo:
            if folder_holder(runs_dir / record.run_id) is not None:
                summary.held_elsewhere += 1  # another process writes its folder
                continue
            claimed = store.claim(
                record.run_id,
                me,
                expected_status=record.status,
                expected_owner=record.owner if record.status == "running" else None,
                count_attempt=executor.runs_in_this_process,
            )
            if claimed:
                in_flight.add(record.run_id)
                yield Job(
                    specs[record.run_id],
                    runs_dir / record.run_id,
                    trainings.training_dirs[record.run_id],
                )

    bar = tqdm(
        total=len(records),
        initial=already_done + kept_failed,
        desc=task.name,
        unit="run",
        position=0,
        dynamic_ncols=True,
        disable=None if progress else True,  # None: no bar when stderr is not a terminal
    )
    outcomes = executor.map(jobs())
    finished_here = 0  # runs recorded by this invocation (the bar counts nothing when disabled)
    stopped: BaseException | None = None
    status = (
        StatusLines(
            status_every_s, lambda: set(in_flight), specs, trainings.training_dirs, bar.write
        )
        if status_every_s
        else contextlib.nullcontext()
    )
    try:
        with status:
            for outcome in outcomes:
                if outcome.status == BUSY:  # its folder was taken between the check and the start
                    store.release([outcome.run_id], me, outcome.error or "run folder busy")
                    in_flight.discard(outcome.run_id)
                    summary.held_elsewhere += 1
                    bar.write(f"busy    {outcome.run_id}  {outcome.error}")
                    continue
                outcome = replace(outcome, git_commit=commit)
                if store.record_outcome(outcome, owner=me):
                    summary.ran += 1
                in_flight.discard(outcome.run_id)
                bar.update(1)
                finished_here += 1
                progress_note = _progress_note(
                    finished=already_done + kept_failed + finished_here,
                    total=len(records),
                    ran_here=finished_here,
                    elapsed_s=time.perf_counter() - start,
                )
                _report(bar, specs[outcome.run_id], outcome, task, progress_note)
    except BaseException as error:
        stopped = error
        raise
    finally:
        outcomes.close()
        bar.close()
        # After a failure of the database itself, clean up as far as it still lets us.
        quiet = contextlib.suppress(DatabaseError) if stopped else contextlib.nullcontext()
        with quiet:
            if in_flight:
                store.release(in_flight, me, "interrupted; resumes on the next `disbench run`")
        with quiet:
            final = store.runs(task.name)
            summary.done = sum(r.status == "done" for r in final)
            summary.failed = [
                (r.run_id, _describe(specs.get(r.run_id), r), r.error or "")
                for r in final
                if r.status == "failed"
            ]
            summary.elapsed_s = time.perf_counter() - start
            code = summary.exit_code if stopped is None else 1
            if isinstance(stopped, KeyboardInterrupt):
                code = 130
            store.finish_invocation(invocation, code)
    return summary


def _describe(spec: RunSpec | None, record: RunRecord) -> str:
    return spec.describe() if spec is not None else f"{record.label} seed={record.seed}"


def _progress_note(*, finished: int, total: int, ran_here: int, elapsed_s: float) -> str:
    """`[7/45, ETA 3h12m]`: runs finished of the task, and the time the rest would take
    at this invocation's pace so far (runs it finished per wall-clock second, whatever
    the number of workers). A log without a terminal has no progress bar; this is it."""
    note = f"[{finished}/{total}"
    remaining = total - finished
    if remaining > 0 and ran_here > 0 and elapsed_s > 0:
        note += f", ETA {_format_duration(remaining * elapsed_s / ran_here)}"
    return note + "]"


def _report(
    bar: tqdm, spec: RunSpec, outcome: RunOutcome, task: TaskConfig, progress_note: str = ""
) -> None:
    """One line per finished run, above the bars (kept in logs without a terminal too)."""
    took = _format_duration(outcome.duration_s)
    tail = f"  {progress_note}" if progress_note else ""
    if outcome.status == "done":
        main = task.leaderboard.main_metric
        value = outcome.scores.get(main)
        score = f"  {main}={value:.3f}" if isinstance(value, float) else ""
        bar.write(f"done    {spec.run_id}  {spec.describe()}{score}  ({took}){tail}")
    else:
        bar.write(f"FAILED  {spec.run_id}  {spec.describe()}  ({took}){tail}: {outcome.error}")
