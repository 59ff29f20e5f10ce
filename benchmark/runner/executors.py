"""Executors: where runs execute. `local` (in process, or a pool of worker processes) and `ray`.

An executor takes a lazy iterator of jobs and yields each job's `RunOutcome`
as it completes. It pulls a job only when it can start it (up to its number
of slots), so the suite claims runs just in time. Outcomes come back to the
driver, which alone writes the database.
"""

from __future__ import annotations

import abc
import multiprocessing
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from benchmark.config.runs import RunSpec
from benchmark.resources import GPU_MEMORY_VARIABLE
from benchmark.runner.devices import available_cores, start_worker, worker_environments
from benchmark.runner.worker import Pipeline, execute_one, failed_outcome
from benchmark.store import RunOutcome, utc_now

__all__ = ["EXECUTORS", "Executor", "Job", "LocalExecutor", "make_executor"]

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class Job:
    """One run to execute in its own working folder.

    `training_dir` is the checkpoint folder it shares with every run of its
    training id (None: the pipeline's default inside `workdir`).
    """

    spec: RunSpec
    workdir: Path
    training_dir: Path | None = None


class Executor(abc.ABC):
    """Runs jobs and yields their outcomes as they complete."""

    name: str

    @abc.abstractmethod
    def map(self, jobs: Iterator[Job]) -> Iterator[RunOutcome]:
        """Outcomes of `jobs`, in completion order; closing the generator stops the work."""

    @property
    def shows_run_progress(self) -> bool:
        """Whether each run's own progress bar is shown (runs in this process, on a terminal)."""
        return False


class LocalExecutor(Executor):
    """Runs in this process (`workers=1`) or in `workers` spawned worker processes.

    Worker processes are spread over `gpus` round-robin (one GPU each) and
    share the cores (`benchmark.runner.devices`); `gpu_memory_mb` caps each
    run's memory per GPU (default: grown on demand).
    """

    name = "local"

    def __init__(
        self,
        pipeline: str | Pipeline,
        *,
        workers: int = 1,
        progress: bool = True,
        gpus: Sequence[str] = (),
        gpu_memory_mb: int | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.pipeline = pipeline
        self.workers = workers
        self.progress = progress
        self.gpus = tuple(gpus)
        self.gpu_memory_mb = gpu_memory_mb

    @property
    def shows_run_progress(self) -> bool:
        return self.workers == 1 and self.progress and sys.stderr.isatty()

    def map(self, jobs: Iterator[Job]) -> Iterator[RunOutcome]:
        if self.workers == 1:
            if self.gpu_memory_mb is not None:  # read when this process imports TensorFlow
                os.environ[GPU_MEMORY_VARIABLE] = str(self.gpu_memory_mb)
            for job in jobs:
                yield execute_one(
                    job.spec.to_dict(),
                    job.workdir,
                    self.pipeline,
                    self.shows_run_progress,
                    training_dir=job.training_dir,
                )
            return
        yield from self._pool_map(jobs)

    def _pool_map(self, jobs: Iterator[Job]) -> Iterator[RunOutcome]:
        # "spawn": TensorFlow does not survive fork; children get this process's sys.path.
        context = multiprocessing.get_context("spawn")
        pool = self._new_pool(context)
        in_flight: dict[Future, tuple[Job, str]] = {}
        exhausted = False
        try:
            while True:
                while not exhausted and len(in_flight) < self.workers:
                    job = next(jobs, None)
                    if job is None:
                        exhausted = True
                        break
                    future = pool.submit(
                        execute_one,
                        job.spec.to_dict(),
                        job.workdir,
                        self.pipeline,
                        False,
                        training_dir=job.training_dir,
                    )
                    in_flight[future] = (job, utc_now())
                if not in_flight:
                    return
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                broken = False
                for future in finished:
                    job, started_at = in_flight.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool as error:
                        broken = True
                        yield failed_outcome(
                            job.spec.run_id,
                            "a worker process died (killed, out of memory or crashed) while "
                            f"this run was in flight: {error}",
                            started_at=started_at,
                        )
                if broken:  # a dead worker breaks the whole pool: start a fresh one
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = self._new_pool(context)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _new_pool(self, context: multiprocessing.context.BaseContext) -> ProcessPoolExecutor:
        """A pool whose workers each take one slot of `worker_environments` as they start."""
        environments = worker_environments(
            self.workers, self.gpus, available_cores(), self.gpu_memory_mb
        )
        slots = context.Queue()
        for slot in range(self.workers):
            slots.put(slot)
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=start_worker,
            initargs=(slots, environments),
        )


def make_executor(
    name: str,
    pipeline: str | Pipeline,
    *,
    workers: int = 1,
    progress: bool = True,
    ray_address: str | None = None,
    gpus: Sequence[str] = (),
    runs_per_gpu: int = 1,
    gpu_memory_mb: int | None = None,
) -> Executor:
    """The executor called `name` ("local" or "ray").

    local: `workers` processes spread over `gpus`; ray: each run asks for
    `1 / runs_per_gpu` of a GPU when the cluster has GPUs. `gpu_memory_mb`
    caps each run's memory per GPU (both executors).
    """
    if name == "local":
        return LocalExecutor(
            pipeline, workers=workers, progress=progress, gpus=gpus, gpu_memory_mb=gpu_memory_mb
        )
    if name == "ray":
        from benchmark.runner.ray_executor import RayExecutor

        return RayExecutor(
            pipeline, address=ray_address, runs_per_gpu=runs_per_gpu, gpu_memory_mb=gpu_memory_mb
        )
    raise ValueError(f"unknown executor {name!r}; known: {', '.join(EXECUTORS)}")
