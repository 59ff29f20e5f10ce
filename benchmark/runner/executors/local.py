"""The `local` executor: runs in this process, or in a pool of worker processes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence

from benchmark.resources import GPU_MEMORY_VARIABLE
from benchmark.runner.devices import available_cores, worker_environments
from benchmark.runner.executors import (
    DEFAULT_MAX_ARTIFACT_BYTES,
    Executor,
    ExecutorOptions,
    Job,
    register_executor,
)
from benchmark.runner.pool import WorkerPool, execute_in_child
from benchmark.runner.worker import Pipeline, execute_one
from benchmark.store import RunOutcome

__all__ = ["LocalExecutor"]


@register_executor("local")
class LocalExecutor(Executor):
    """Runs in this process, or in `workers` worker processes (`benchmark.runner.pool`).

    One worker without `isolate` or `run_timeout` runs in this process (with
    its progress bar), except a job marked `isolated`, which gets a child
    process of its own; otherwise runs go to worker processes that die with
    this one. `run_timeout` (seconds) fails a run that takes longer;
    `isolate` gives each run a fresh process, so a crash costs that run only;
    `max_artifact_bytes` caps each artefact file. Worker processes are spread
    over `gpus` round-robin (one GPU each) and share the cores
    (`benchmark.runner.devices`); `gpu_memory_mb` caps each run's memory per
    GPU (default: grown on demand).
    """

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

    @classmethod
    def from_options(cls, pipeline: str | Pipeline, options: ExecutorOptions) -> LocalExecutor:
        return cls(
            pipeline,
            workers=options.workers,
            progress=options.progress,
            run_timeout=options.run_timeout,
            isolate=options.isolate,
            max_artifact_bytes=options.max_artifact_bytes,
            gpus=options.gpus,
            gpu_memory_mb=options.gpu_memory_mb,
        )

    @property
    def runs_in_this_process(self) -> bool:
        return self.in_process

    @property
    def in_process(self) -> bool:
        """Whether runs execute in this process (one worker, no isolation, no time limit)."""
        return self.workers == 1 and not self.isolate and self.run_timeout is None

    @property
    def shows_run_progress(self) -> bool:
        return self.in_process and self.progress and sys.stderr.isatty()

    def _in_process(self, job: Job) -> RunOutcome:
        """One job in this process, or, when `job.isolated`, in a child process of its own."""
        if job.isolated:
            return execute_in_child(
                job.spec.to_dict(),
                job.workdir,
                self.pipeline,
                None,
                self.max_artifact_bytes,
                training_dir=job.training_dir,
            )
        return execute_one(
            job.spec.to_dict(),
            job.workdir,
            self.pipeline,
            self.shows_run_progress,
            self.max_artifact_bytes,
            training_dir=job.training_dir,
        )

    def map(self, jobs: Iterator[Job]) -> Iterator[RunOutcome]:
        if self.in_process:
            if self.gpu_memory_mb is not None:  # read when this process imports TensorFlow
                os.environ[GPU_MEMORY_VARIABLE] = str(self.gpu_memory_mb)
            for job in jobs:
                yield self._in_process(job)
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
