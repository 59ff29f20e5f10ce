"""The `ray` executor: each run is a Ray task; outcomes come back to the driver as they finish.

Each task asks for one GPU when the cluster has GPUs, else one CPU; Ray
does the scheduling (and retries a task whose worker died). The driver
submits every claimed run at once, so an autoscaling cluster sees the whole
demand, and records each outcome the moment `ray.wait` returns it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from benchmark.runner.executors import Executor, Job
from benchmark.runner.worker import Pipeline, execute_one, failed_outcome
from benchmark.store import RunOutcome, utc_now

__all__ = ["RayExecutor", "task_resources"]


def task_resources(cluster_resources: dict[str, float]) -> dict[str, float]:
    """`{"num_gpus": 1}` when the cluster has a GPU, else `{"num_cpus": 1}`."""
    return {"num_gpus": 1} if cluster_resources.get("GPU", 0) >= 1 else {"num_cpus": 1}


class RayExecutor(Executor):
    """Runs each job as a Ray task on the cluster at `address` (None: a local Ray instance).

    `init_kwargs` go to `ray.init` when this executor starts Ray itself (it
    then shuts Ray down when done); an already initialised Ray is used as is.
    """

    name = "ray"

    def __init__(
        self,
        pipeline: str | Pipeline,
        *,
        address: str | None = None,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.address = address
        self.init_kwargs = dict(init_kwargs or {})

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
            options: dict[str, Any] = {"address": self.address, "log_to_driver": True}
            if self.address is None:
                options["include_dashboard"] = False
            ray.init(**{**options, **self.init_kwargs})
        try:
            resources = task_resources(ray.cluster_resources())
            remote = ray.remote(execute_one).options(**resources)
            pending: dict[Any, tuple[Job, str]] = {}
            for job in jobs:
                ref = remote.remote(
                    job.spec.to_dict(),
                    str(job.workdir),
                    self.pipeline,
                    False,
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
