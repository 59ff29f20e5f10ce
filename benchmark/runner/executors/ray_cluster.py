"""The `ray` executor: each run is a Ray task; outcomes come back to the driver as they finish.

Each task asks for `1 / runs_per_gpu` of a GPU when the cluster has GPUs
(default 1: a whole GPU), else one CPU; Ray does the scheduling (and retries a task whose worker died). The driver
submits every claimed run at once, so an autoscaling cluster sees the whole
demand, and records each outcome the moment `ray.wait` returns it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from benchmark.resources import GPU_MEMORY_VARIABLE
from benchmark.runner.executors import Executor, ExecutorOptions, Job, register_executor
from benchmark.runner.pool import execute_in_child
from benchmark.runner.worker import Pipeline, execute_one, failed_outcome
from benchmark.store import RunOutcome, utc_now

__all__ = ["RayExecutor", "task_options", "task_resources"]


# Ray counts resources in units of 1e-4 (rounding to the nearest unit), so a share is
# rounded down to a whole unit: K shares of a GPU then always fit on one.
_RAY_UNITS = 10_000


def task_resources(cluster_resources: dict[str, float], runs_per_gpu: int = 1) -> dict[str, float]:
    """`{"num_gpus": 1 / runs_per_gpu}` (down to 1e-4) with GPUs, else `{"num_cpus": 1}`."""
    if not 1 <= runs_per_gpu <= _RAY_UNITS:
        raise ValueError(f"runs_per_gpu must be between 1 and {_RAY_UNITS}, got {runs_per_gpu}")
    if cluster_resources.get("GPU", 0) >= 1:
        return {"num_gpus": (_RAY_UNITS // runs_per_gpu) / _RAY_UNITS}
    return {"num_cpus": 1}


def task_options(
    cluster_resources: dict[str, float], runs_per_gpu: int = 1, gpu_memory_mb: int | None = None
) -> dict[str, Any]:
    """Ray task options: the resources, and the memory cap per GPU as an environment variable."""
    options: dict[str, Any] = dict(task_resources(cluster_resources, runs_per_gpu))
    if gpu_memory_mb is not None:
        options["runtime_env"] = {"env_vars": {GPU_MEMORY_VARIABLE: str(gpu_memory_mb)}}
    return options


@register_executor("ray")
class RayExecutor(Executor):
    """Runs each job as a Ray task on the cluster at `address` (None: a fresh local Ray instance).

    Without an address Ray is started anew on this machine (`address="local"`),
    never joined to a cluster that `RAY_ADDRESS` or `/tmp/ray` names (a stale
    one hangs). `init_kwargs` go to `ray.init` when this executor starts Ray
    itself (it then shuts Ray down when done); an already initialised Ray is
    used as is. With `run_timeout` (seconds) each task runs its run in a
    child process and fails it when it takes longer.
    """

    def __init__(
        self,
        pipeline: str | Pipeline,
        *,
        address: str | None = None,
        init_kwargs: dict[str, Any] | None = None,
        run_timeout: float | None = None,
        max_artifact_bytes: int | None = None,
        runs_per_gpu: int = 1,
        gpu_memory_mb: int | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.address = address
        self.init_kwargs = dict(init_kwargs or {})
        self.run_timeout = run_timeout
        self.max_artifact_bytes = max_artifact_bytes
        self.runs_per_gpu = runs_per_gpu
        self.gpu_memory_mb = gpu_memory_mb

    @classmethod
    def from_options(cls, pipeline: str | Pipeline, options: ExecutorOptions) -> RayExecutor:
        return cls(
            pipeline,
            address=options.ray_address,
            run_timeout=options.run_timeout,
            max_artifact_bytes=options.max_artifact_bytes,
            runs_per_gpu=options.runs_per_gpu,
            gpu_memory_mb=options.gpu_memory_mb,
        )

    def map(self, jobs: Iterator[Job]) -> Iterator[RunOutcome]:
        try:
            import ray
        except ImportError:
            from benchmark.errors import UserInputError

            raise UserInputError(
                "--executor ray needs Ray: pip install 'disbench[ray]' (or 'ray[default]')"
            ) from None
        started_here = not ray.is_initialized()
        if started_here:
            options: dict[str, Any] = {"address": self.address or "local", "log_to_driver": True}
            if self.address is None:
                options["include_dashboard"] = False
            ray.init(**{**options, **self.init_kwargs})
        try:
            options = task_options(ray.cluster_resources(), self.runs_per_gpu, self.gpu_memory_mb)
            pending: dict[Any, tuple[Job, str]] = {}
            if self.run_timeout is None:
                remote = ray.remote(execute_one).options(**options)
                for job in jobs:
                    ref = remote.remote(
                        job.spec.to_dict(),
                        str(job.workdir),
                        self.pipeline,
                        False,
                        self.max_artifact_bytes,
                        training_dir=None if job.training_dir is None else str(job.training_dir),
                    )
                    pending[ref] = (job, utc_now())
            else:
                remote = ray.remote(execute_in_child).options(**options)
                for job in jobs:
                    ref = remote.remote(
                        job.spec.to_dict(),
                        str(job.workdir),
                        self.pipeline,
                        self.run_timeout,
                        self.max_artifact_bytes,
                        training_dir=None if job.training_dir is None else str(job.training_dir),
                    )
                    pending[ref] = (job, utc_now())
            try:
                while pending:
                    ready, _ = ray.wait(list(pending), num_returns=1)
                    for ref in ready:
                        job, submitted_at = pending.pop(ref)
                        try:
                            outcome = ray.get(ref)
                        except ray.exceptions.RayError as error:
                            outcome = failed_outcome(
                                job.spec.run_id,
                                f"Ray could not run this task: {type(error).__name__}: "
                                + " ".join(str(error).split())[:500],
                                detail=str(error),
                                started_at=submitted_at,
                            )
                        yield outcome
            finally:
                for ref in pending:
                    ray.cancel(ref, force=True)
        finally:
            if started_here:
                ray.shutdown()
