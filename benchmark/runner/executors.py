"""Executors: where runs execute. `local` (in process, or a pool of worker processes) and `ray`.

An executor takes a lazy iterator of jobs and yields each job's `RunOutcome`
as it completes. It pulls a job only when it can start it (up to its number
of slots), so the suite claims runs just in time. Outcomes come back to the
driver, which alone writes the database.
"""

from __future__ import annotations

import abc
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.config.runs import RunSpec
from benchmark.resources import GPU_MEMORY_VARIABLE
from benchmark.runner.devices import available_cores, worker_environments
from benchmark.runner.pool import WorkerPool
from benchmark.runner.worker import DEFAULT_MAX_ARTIFACT_MB, Pipeline, execute_one
from benchmark.store import RunOutcome

__all__ = ["EXECUTORS", "Executor", "Job", "LocalExecutor", "make_executor"]

EXECUTORS = ("local", "ray")
DEFAULT_MAX_ARTIFACT_BYTES = int(DEFAULT_MAX_ARTIFACT_MB * 1e6)


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
    """Runs in this process, or in `workers` worker processes (`benchmark.runner.pool`).

    One worker without `isolate` or `run_timeout` runs in this process (with
    its progress bar); otherwise runs go to worker processes that die with
    this one. `run_timeout` (seconds) fails a run that takes longer;
    `isolate` gives each run a fresh process, so a crash costs that run only;
    `max_artifact_bytes` caps each artefact file. Worker processes are spread
    over `gpus` round-robin (one GPU each) and share the cores
    (`benchmark.runner.devices`); `gpu_memory_mb` caps each run's memory per
    GPU (default: grown on demand).
    """

    name = "local"

    def __init__(
        self,
        pipeline: str | Pipeline,
        *,
        workers: int = 1,
        progress: bool = True,
        run_timeout: float | None = None,
        isolate: bool = False,
        max_artifact_bytes: int | None = DEFAULT_MAX_ARTIFACT_BYTES,
        gpus: Sequence[str] = (),
        gpu_memory_mb: int | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if run_timeout is not None and not run_timeout > 0:
            raise ValueError(f"run_timeout must be > 0 seconds, got {run_timeout}")
        self.pipeline = pipeline
        self.workers = workers
        self.progress = progress
        self.run_timeout = run_timeout
        self.isolate = isolate
        self.max_artifact_bytes = max_artifact_bytes
        self.gpus = tuple(gpus)
        self.gpu_memory_mb = gpu_memory_mb

    @property
    def in_process(self) -> bool:
        """Whether runs execute in this process (one worker, no isolation, no time limit)."""
        return self.workers == 1 and not self.isolate and self.run_timeout is None

    @property
    def shows_run_progress(self) -> bool:
        return self.in_process and self.progress and sys.stderr.isatty()

    def map(self, jobs: Iterator[Job]) -> Iterator[RunOutcome]:
        if self.in_process:
            if self.gpu_memory_mb is not None:  # read when this process imports TensorFlow
                os.environ[GPU_MEMORY_VARIABLE] = str(self.gpu_memory_mb)
            for job in jobs:
                yield execute_one(
                    job.spec.to_dict(),
                    job.workdir,
                    self.pipeline,
                    self.shows_run_progress,
                    self.max_artifact_bytes,
                    training_dir=job.training_dir,
                )
            return
        pool = WorkerPool(
            self.pipeline,
            self.workers,
            run_timeout=self.run_timeout,
            isolate=self.isolate,
            max_artifact_bytes=self.max_artifact_bytes,
            environments=worker_environments(
                self.workers, self.gpus, available_cores(), self.gpu_memory_mb
            ),
        )
        yield from pool.map(jobs)


def make_executor(
    name: str,
    pipeline: str | Pipeline,
    *,
    workers: int = 1,
    progress: bool = True,
    ray_address: str | None = None,
    run_timeout: float | None = None,
    isolate: bool = False,
    max_artifact_bytes: int | None = DEFAULT_MAX_ARTIFACT_BYTES,
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
            pipeline,
            workers=workers,
            progress=progress,
            run_timeout=run_timeout,
            isolate=isolate,
            max_artifact_bytes=max_artifact_bytes,
            gpus=gpus,
            gpu_memory_mb=gpu_memory_mb,
        )
    if name == "ray":
        from benchmark.runner.ray_executor import RayExecutor

        return RayExecutor(
            pipeline,
            address=ray_address,
            run_timeout=run_timeout,
            max_artifact_bytes=max_artifact_bytes,
            runs_per_gpu=runs_per_gpu,
            gpu_memory_mb=gpu_memory_mb,
        )
    raise ValueError(f"unknown executor {name!r}; known: {', '.join(EXECUTORS)}")
