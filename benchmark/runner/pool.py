"""Local worker processes that the driver controls: one run at a time each, killable at will.

Each worker is a spawned process (TensorFlow does not survive `fork`) that
dies with the driver (`process_guard`), ignores Ctrl-C, SIGTERM and SIGHUP
(the driver decides) and talks to the driver over its own pipe. The driver
can therefore:

- record a run failed when its worker dies (`os._exit`, a segfault, the
  out-of-memory killer) and start a fresh worker for the next run;
- stop a run that exceeds `run_timeout` seconds (the worker is killed);
- with `isolate`, give every run a fresh process, so no state leaks
  between runs;
- stop every run at once on Ctrl-C, SIGTERM or SIGHUP: workers are killed,
  their runs go back to pending and resume from their checkpoints. More
  signals during that cleanup do not cut it short (`stop_workers`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.runner.process_guard import die_with_parent
from benchmark.runner.worker import Pipeline, execute_one, failed_outcome
from benchmark.store import RunOutcome, utc_now

if TYPE_CHECKING:
    from benchmark.runner.executors import Job

__all__ = ["STOP_SIGNALS", "WorkerPool", "death_reason", "execute_in_child", "stop_workers"]

_KILL_WAIT_S = 5.0


# The signals that stop the runner. A worker ignores them: the runner alone decides, and
# kills its workers itself (a terminal's Ctrl-C or hang-up reaches the whole process group).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _worker_main(
    conn: Connection,
    parent_pid: int,
    pipeline: str | Pipeline,
    environment: Mapping[str, str],
) -> None:
    """A worker's loop: receive `(spec_data, workdir, max_artifact_bytes, training_dir)`,
    send its outcome. `environment` (its GPU and thread budget,
    `benchmark.runner.devices`) is set before anything imports TensorFlow.

    The stop signals arrive blocked (`_Worker` starts it so): they are set to be
    ignored before they are let through, so none stops a worker half-way.
    """
    die_with_parent(parent_pid)
    os.environ.update(environment)
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        spec_data, workdir, max_artifact_bytes, training_dir = message
        outcome = execute_one(
            spec_data, workdir, pipeline, False, max_artifact_bytes, training_dir=training_dir
        )
        conn.send(outcome)


def death_reason(exitcode: int | None) -> str:
    """`killed by signal SIGSEGV` / `exit code 3` for a process's `exitcode`."""
    if exitcode is None:
        return "no exit status"
    if exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


@dataclass
class _Busy:
    job: Job
    started: float  # time.monotonic()
    started_at: str  # ISO time


@contextlib.contextmanager
def _stop_signals_blocked() -> Iterator[None]:
    """Holds the stop signals back from this thread for the block (they arrive after it).

    A process started inside inherits the blocked mask, so a Ctrl-C cannot
    reach it before its `_worker_main` ignores it.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _Worker:
    """One worker process and the driver's end of its pipe; `stop` then `reap` ends it."""

    def __init__(
        self,
        context: Any,
        pipeline: str | Pipeline,
        environment: Mapping[str, str],
        started: list[_Worker],
    ) -> None:
        """Starts the process; `started` gets this worker before it starts, so whoever
        cleans up finds it even when an interrupt lands before the caller holds it."""
        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(
            target=_worker_main,
            args=(child, os.getpid(), pipeline, dict(environment)),
            name="disbench-worker",
        )
        self.busy: _Busy | None = None
        started.append(self)
        try:
            with _stop_signals_blocked():
                self.process.start()
        except BaseException:
            self.stop()
            self.reap()
            raise
        finally:
            child.close()

    def stop(self) -> None:
        """Sends SIGKILL (a worker may be deep in TensorFlow); safe to call again."""
        with contextlib.suppress(Exception):
            self.conn.close()
        if self.process.pid is not None and self.process.exitcode is None:
            with contextlib.suppress(Exception):
                self.process.kill()

    def reap(self) -> None:
        """Waits (at most `_KILL_WAIT_S` seconds) for a stopped worker to be gone."""
        if self.process.pid is not None:
            self.process.join(_KILL_WAIT_S)

    def kill(self) -> None:
        """`stop`, then `reap`."""
        self.stop()
        self.reap()


# How often `stop_workers` retries a step that an exception (a signal) cut short.
_STOP_TRIES = 3


def stop_workers(workers: Sequence[_Worker]) -> None:
    """Kills every worker, then waits for each, whatever interrupts it on the way.

    An exception raised meanwhile (a KeyboardInterrupt from another Ctrl-C)
    does not cut the cleanup short: the step is tried again and the first
    such exception is raised once every worker has been killed and reaped.
    No worker is left running, so the interpreter's exit-time join of its
    non-daemonic children cannot hang.
    """
    pending: BaseException | None = None
    for step in (_Worker.stop, _Worker.reap):
        for worker in workers:
            for _ in range(_STOP_TRIES):
                try:
                    step(worker)
                    break
                except BaseException as error:  # noqa: BLE001 (re-raised below)
                    pending = pending or error
    if pending is not None:
        raise pending


class WorkerPool:
    """Runs jobs in `workers` processes; outcomes come back in completion order.

    `run_timeout` (seconds, None: none) fails a run that takes longer;
    `isolate` uses a fresh process per run; worker slot i sets
    `environments[i]` (its GPU and thread budget) before it starts.
    """

    def __init__(
        self,
        pipeline: str | Pipeline,
        workers: int,
        *,
        run_timeout: float | None = None,
        isolate: bool = False,
        max_artifact_bytes: int | None = None,
        environments: Sequence[Mapping[str, str]] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.workers = workers
        self.environments = list(environments) if environments is not None else [{}] * workers
        self.run_timeout = run_timeout
        self.isolate = isolate
        self.max_artifact_bytes = max_artifact_bytes

    def map(self, jobs: Iterator[Job]) -> Iterator[RunOutcome]:
        context = multiprocessing.get_context("spawn")
        slots: list[_Worker | None] = [None] * self.workers
        started: list[_Worker] = []  # every live worker, for the cleanup
        exhausted = False
        try:
            while True:
                for i, worker in enumerate(slots):
                    if exhausted or (worker is not None and worker.busy is not None):
                        continue
                    job = next(jobs, None)
                    if job is None:
                        exhausted = True
                        break
                    training_dir = None if job.training_dir is None else str(job.training_dir)
                    message = (
                        job.spec.to_dict(),
                        str(job.workdir),
                        self.max_artifact_bytes,
                        training_dir,
                    )
                    if worker is not None and not worker.process.is_alive():
                        self._retire(worker, slots, started)  # died while idle
                        worker = None
                    if worker is None:
                        worker = slots[i] = _Worker(
                            context, self.pipeline, self.environments[i], started
                        )
                    worker.busy = _Busy(job, time.monotonic(), utc_now())
                    worker.conn.send(message)
                busy = [w for w in slots if w is not None and w.busy is not None]
                if not busy:
                    return
                ready = set(wait(self._waitables(busy), timeout=self._next_deadline(busy)))
                for worker in busy:
                    checked = self._check(worker, ready)
                    if checked is None:
                        continue
                    outcome, reusable = checked
                    worker.busy = None
                    if self.isolate or not reusable:
                        self._retire(worker, slots, started)
                    yield outcome
        finally:
            stop_workers(started)

    @staticmethod
    def _retire(worker: _Worker, slots: list[_Worker | None], started: list[_Worker]) -> None:
        """Kills a worker that is done with (dead, isolated or timed out) and frees its slot."""
        worker.kill()
        slots[slots.index(worker)] = None
        started.remove(worker)

    @staticmethod
    def _waitables(busy: list[_Worker]) -> list[Any]:
        return [w.conn for w in busy] + [w.process.sentinel for w in busy]

    def _next_deadline(self, busy: list[_Worker]) -> float | None:
        if self.run_timeout is None:
            return None
        now = time.monotonic()
        return max(0.0, min(w.busy.started + self.run_timeout - now for w in busy if w.busy))

    def _check(self, worker: _Worker, ready: set[Any]) -> tuple[RunOutcome, bool] | None:
        """`(outcome, worker reusable)` once `worker`'s run ended (finished, died, timed out)."""
        state = worker.busy
        assert state is not None
        run_id = state.job.spec.run_id
        if worker.conn in ready or worker.process.sentinel in ready:
            try:
                if worker.conn.poll():
                    return worker.conn.recv(), True
            except (EOFError, OSError):
                pass
            worker.process.join(_KILL_WAIT_S)
            return failed_outcome(
                run_id,
                "the process running this run died "
                f"({death_reason(worker.process.exitcode)}: a crash, os._exit or out of memory)",
                started_at=state.started_at,
                duration_s=time.monotonic() - state.started,
            ), False
        if self.run_timeout is not None and time.monotonic() - state.started >= self.run_timeout:
            return failed_outcome(
                run_id,
                f"timed out: still running after {self.run_timeout:g} s "
                "(--run-timeout / execution.run_timeout); its checkpoints are kept",
                started_at=state.started_at,
                duration_s=time.monotonic() - state.started,
            ), False
        return None


def execute_in_child(
    spec_data: dict[str, Any],
    workdir: str | Path,
    pipeline: str | Pipeline,
    run_timeout: float | None,
    max_artifact_bytes: int | None,
    training_dir: str | Path | None = None,
) -> RunOutcome:
    """One run in a fresh child process of this one: a crash or a timeout fails that run only.

    What a Ray task calls when a time limit is set, so the limit counts from
    the run's start on its node, not from when it was queued.
    """
    from benchmark.config.runs import RunSpec
    from benchmark.runner.executors import Job

    pool = WorkerPool(
        pipeline, 1, run_timeout=run_timeout, isolate=True, max_artifact_bytes=max_artifact_bytes
    )
    job = Job(
        RunSpec.from_dict(spec_data),
        Path(workdir),
        None if training_dir is None else Path(training_dir),
    )
    outcomes = pool.map(iter([job]))
    try:
        return next(outcomes)
    finally:
        outcomes.close()
