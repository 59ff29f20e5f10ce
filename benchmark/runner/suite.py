"""Running a task: expand it, skip finished runs, claim the rest, execute, record every outcome.

A run's status moves pending -> running -> done | failed. A run left
`running` by a process that no longer exists (killed, crashed, the machine
rebooted) is taken over and resumes from the checkpoints in its folder; a
run held by a live process (another `disbench run` on the same database) is
left to it, and so is a run whose folder another process has locked
(`benchmark.runner.locks`). A run held on another host is left to its owner
while the owner's heartbeat is fresh (`benchmark.runner.lease`), and taken
over once it is older than the lease.

Attempts count pipeline crashes, not runner deaths. A run in a worker
process is never charged for its runner's death (the runner sees a worker's
crash and records it). A run in the runner's own process is charged one
attempt at its claim, since a crash of the run ends the runner too and the
two cannot be told apart; when such a run is taken over, it runs in a
worker process of its own (`Job.isolated`), where a crash is seen and
recorded with its exit code and the runner's death costs nothing. A run
left `running` by dead processes `max_attempts` times is recorded failed
instead of being taken over again. Failed runs are kept as failed unless
`retry_failed` is set.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
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
from benchmark.runner.lease import LEASE_S, Heartbeat, heartbeat_age_s, lease_expired
from benchmark.runner.locks import folder_holder
from benchmark.runner.status import StatusLines
from benchmark.runner.step_caps import apply_lower_caps, find_lower_caps
from benchmark.runner.trainings import fill_training_ids, plan_trainings, rescorable
from benchmark.runner.worker import BUSY
from benchmark.store import DatabaseError, ResultStore, RunOutcome, RunRecord
from benchmark.terminal import printable

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "EXIT_HELD",
    "RunSummary",
    "crash_reason",
    "held_elsewhere_lines",
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
    held_lines: list[str] = field(default_factory=list)  # who holds them (`held_elsewhere_lines`)
    elapsed_s: float = 0.0
    to_train: int = 0  # runs of this call that train (or resume) their model
    to_rescore: int = 0  # runs of this call that only evaluate a finished training
    # Done runs whose new scoring (`--rescore`) failed: (run_id, error); their earlier scores stand.
    rescore_failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0: every run is done; 1: a run or a re-score failed; `EXIT_HELD` (3): runs remain
        held elsewhere."""
        if self.failed or self.rescore_failed:
            return 1
        return EXIT_HELD if self.held_elsewhere else 0


def live_local_holders(records: list[RunRecord], me: str) -> dict[str, list[str]]:
    """`{owner: [run ids]}` of running runs held by other live processes on this host."""
    holders: dict[str, list[str]] = {}
    for record in records:
        if record.status == "running" and record.owner != me and owner_alive(record.owner):
            holders.setdefault(record.owner, []).append(record.run_id)
    return holders


def _owner_gone(record: RunRecord, heartbeat_ages: Mapping[str, float | None]) -> bool:
    """Whether the process holding a running run is gone: dead on this host, or on another
    host with a heartbeat older than the lease (`benchmark.runner.lease`)."""
    alive = owner_alive(record.owner)
    if alive is None:  # another host: only its heartbeat tells
        return lease_expired(heartbeat_ages.get(record.run_id))
    return not alive


def plan_runs(
    records: list[RunRecord],
    *,
    retry_failed: bool,
    me: str,
    take_over: bool = False,
    in_flight: set[str] = frozenset(),
    heartbeat_ages: Mapping[str, float | None] | None = None,
) -> tuple[list[RunRecord], int]:
    """`(runs to execute now, number held by other live processes)` from the task's rows.

    A `running` run is taken over when its owner is this process (and not in
    flight), when its owner's process is gone, when its owner is on another
    host and its heartbeat (`heartbeat_ages`: `{run_id: seconds}`, None or
    missing: none written) is older than `LEASE_S`, or with `take_over`.
    """
    ages = heartbeat_ages or {}
    todo: list[RunRecord] = []
    held = 0
    for record in records:
        if record.status == "pending" or (record.status == "failed" and retry_failed):
            todo.append(record)
        elif record.status == "running":
            ours_but_idle = record.owner == me and record.run_id not in in_flight
            if take_over or ours_but_idle or _owner_gone(record, ages):
                todo.append(record)
            else:
                held += 1
    return todo, held


def held_elsewhere_lines(
    records: list[RunRecord], heartbeat_ages: Mapping[str, float | None], me: str
) -> list[str]:
    """One line per other-host owner of running runs: how many, and its heartbeat's age.

    `3 runs held by gpu-2:4711:99 on another host: last heartbeat 2m05s ago (judged
    dead after 10m00s without one; --take-over runs them here now)`.
    """
    by_owner: dict[str, list[str]] = {}
    for record in records:
        elsewhere = record.owner != me and owner_alive(record.owner) is None
        if record.status == "running" and elsewhere and not _owner_gone(record, heartbeat_ages):
            by_owner.setdefault(record.owner or "", []).append(record.run_id)
    lines = []
    for owner, run_ids in by_owner.items():
        ages = [heartbeat_ages.get(run_id) for run_id in run_ids]
        known = [age for age in ages if age is not None]
        if known:
            beat = f"last heartbeat {_format_duration(min(known))} ago"
        else:
            beat = "no heartbeat recorded (a disbench from before heartbeats)"
        lines.append(
            f"{len(run_ids)} runs held by {printable(owner)} on another host: {beat} (judged dead after "
            f"{_format_duration(LEASE_S)} without one; --take-over runs them here now)"
        )
    return lines


def _heartbeat_ages(store: ResultStore, records: list[RunRecord]) -> dict[str, float | None]:
    """`{run_id: seconds since its heartbeat, or None}` of the running runs in `records`."""
    running = [r.run_id for r in records if r.status == "running"]
    if not running:
        return {}
    now = datetime.now(UTC)
    return {
        run_id: heartbeat_age_s(beat, now) for run_id, beat in store.heartbeats(running).items()
    }


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
    rescore: bool = False,
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
    With `rescore`, done runs whose finished training is on disk are scored
    again with this code (same run ids, no training); a run whose checkpoint
    is gone keeps its result, and a re-score that fails keeps the earlier one.
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
    ages = _heartbeat_ages(store, records)
    todo, held = plan_runs(
        records, retry_failed=retry_failed, me=me, take_over=take_over, heartbeat_ages=ages
    )
    for record in [r for r in todo if r.status == "running" and r.attempts >= max_attempts]:
        todo.remove(record)
        if store.give_up(record.run_id, record.owner, crash_reason(record.attempts)):
            records = [r if r is not record else replace(r, status="failed") for r in records]
    again: set[str] = set()  # done runs scored again (`rescore`)
    if rescore:
        done = [r for r in records if r.status == "done" and r.run_id in specs]
        again = rescorable([specs[r.run_id] for r in done], store, runs_dir)
        todo += [r for r in done if r.run_id in again]
    trainings = plan_trainings([specs[r.run_id] for r in todo], store, runs_dir)
    by_id = {record.run_id: record for record in todo}
    todo = [by_id[run_id] for run_id in trainings.order]
    already_done = sum(r.status == "done" for r in records) - len(again)
    kept_failed = 0 if retry_failed else sum(r.status == "failed" for r in records)
    summary = RunSummary(
        task=task.name,
        total=len(records),
        held_elsewhere=held,
        held_lines=[] if take_over else held_elsewhere_lines(records, ages, me),
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
    charged: set[str] = set()  # runs in flight whose claim counted an attempt

    def jobs() -> Iterator[Job]:
        for record in todo:
            if folder_holder(runs_dir / record.run_id) is not None:
                summary.held_elsewhere += 1  # another process writes its folder
                continue
            isolated = _isolate(record, executor)
            counts = executor.runs_in_this_process and not isolated
            # In flight before the claim: an interrupt right after it still releases the run.
            in_flight.add(record.run_id)
            if counts:
                charged.add(record.run_id)
            claimed = store.claim(
                record.run_id,
                me,
                expected_status=record.status,
                expected_owner=record.owner if record.status == "running" else None,
                count_attempt=counts,
            )
            if not claimed:
                in_flight.discard(record.run_id)
                charged.discard(record.run_id)
                continue
            yield Job(
                specs[record.run_id],
                runs_dir / record.run_id,
                trainings.training_dirs[record.run_id],
                isolated=isolated,
            )

    def release(run_ids: set[str], reason: str) -> None:
        """Puts runs back to pending, taking back only the attempts their claims charged."""
        store.release(run_ids & charged, me, reason)
        store.release(run_ids - charged, me, reason, uncount=False)
        in_flight.difference_update(run_ids)
        charged.difference_update(run_ids)

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
    heartbeat = Heartbeat(store.path, me, lambda: set(in_flight))
    try:
        with status, heartbeat:
            for outcome in outcomes:
                if outcome.status == BUSY:  # its folder was taken between the check and the start
                    release({outcome.run_id}, outcome.error or "run folder busy")
                    summary.held_elsewhere += 1
                    bar.write(f"busy    {outcome.run_id}  {outcome.error}")
                    continue
                outcome = replace(outcome, git_commit=commit)
                if outcome.run_id in again and outcome.status != "done":
                    store.keep_done(outcome.run_id, me)  # the earlier scores stand
                    summary.rescore_failed.append((outcome.run_id, outcome.error or ""))
                elif store.record_outcome(outcome, owner=me):
                    summary.ran += 1
                in_flight.discard(outcome.run_id)
                charged.discard(outcome.run_id)
                bar.update(1)
                finished_here += 1
                progress_note = _progress_note(
                    finished=already_done + kept_failed + finished_here,
                    total=len(records),
                    ran_here=finished_here,
                    elapsed_s=time.perf_counter() - start,
                )
                kept = " (re-score failed; the earlier scores are kept)"
                _report(bar, specs[outcome.run_id], outcome, task,
                        progress_note + (kept if outcome.run_id in again else ""))  # fmt: skip
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
                release(set(in_flight), "interrupted; resumes on the next `disbench run`")
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


def _isolate(record: RunRecord, executor: Executor) -> bool:
    """Whether a run the executor would run in this process goes to a worker process instead.

    So it goes when an attempt was charged to it (and it is not a failed run
    tried again): a runner died during it, by a crash of the run or a kill
    of the runner. In a worker the two are told apart: a crash fails the run
    with its exit code, a kill of this runner costs it nothing.
    """
    return executor.runs_in_this_process and record.status != "failed" and record.attempts > 0


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
        bar.write(f"done    {spec.run_id}  {printable(spec.describe())}{score}  ({took}){tail}")
    else:
        bar.write(
            f"FAILED  {spec.run_id}  {printable(spec.describe())}  ({took}){tail}: "
            f"{printable(outcome.error)}"
        )
