"""Executors: where runs execute. Each is one module here that registers itself.

An executor takes a lazy iterator of jobs and yields each job's `RunOutcome`
as it completes. It pulls a job only when it can start it (up to its number
of slots), so the suite claims runs just in time. Outcomes come back to the
driver, which alone writes the database.

Built in: `local` (in process, or a pool of worker processes; `local.py`) and
`ray` (`ray_cluster.py`; Ray is imported only when it runs). Adding an
executor is adding a module here with a class decorated
`@register_executor("name")` that builds itself from `ExecutorOptions`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.config.runs import RunSpec
from benchmark.registry import DiscoveredRegistry
from benchmark.runner.worker import DEFAULT_MAX_ARTIFACT_MB, Pipeline
from benchmark.store import RunOutcome

__all__ = [
    "DEFAULT_MAX_ARTIFACT_BYTES",
    "EXECUTORS",
    "Executor",
    "ExecutorOptions",
    "Job",
    "make_executor",
    "register_executor",
]

DEFAULT_MAX_ARTIFACT_BYTES = int(DEFAULT_MAX_ARTIFACT_MB * 1e6)


@dataclass(frozen=True)
class Job:
    """One run to execute in its own working folder.

    `training_dir` is the checkpoint folder it shares with every run of its
    training id (None: the pipeline's default inside `workdir`). `isolated`
    asks an executor that runs jobs in its own process to run this one in a
    child process (the runner died during its last attempt; see
    `benchmark.runner.suite`).
    """

    spec: RunSpec
    workdir: Path
    training_dir: Path | None = None
    isolated: bool = False


class Executor(abc.ABC):
    """Runs jobs and yields their outcomes as they complete."""

    name: str

    @abc.abstractmethod
    def map(self, jobs: Iterator[Job]) -> Iterator[RunOutcome]:
        """Outcomes of `jobs`, in completion order; closing the generator stops the work."""

    @property
    def runs_in_this_process(self) -> bool:
        """Whether a run executes in the runner's own process, so that a crash of the run
        ends the runner too (its claim then counts an attempt; see `ResultStore.claim`)."""
        return False

    @property
    def shows_run_progress(self) -> bool:
        """Whether each run's own progress bar is shown (runs in this process, on a terminal)."""
        return False

    @classmethod
    @abc.abstractmethod
    def from_options(cls, pipeline: str | Pipeline, options: ExecutorOptions) -> Executor:
        """The executor for `pipeline`, configured from the options it uses."""


@dataclass(frozen=True)
class ExecutorOptions:
    """Everything `disbench run` can say about execution; each executor reads what it uses.

    local: `workers` processes spread over `gpus`, `progress`, `isolate`;
    ray: `ray_address`, each run asking for `1 / runs_per_gpu` of a GPU.
    Both: `run_timeout` (seconds), `max_artifact_bytes`, `gpu_memory_mb`
    (the cap of each run's memory per GPU).
    """

    workers: int = 1
    progress: bool = True
    ray_address: str | None = None
    run_timeout: float | None = None
    isolate: bool = False
    max_artifact_bytes: int | None = DEFAULT_MAX_ARTIFACT_BYTES
    gpus: Sequence[str] = field(default_factory=tuple)
    runs_per_gpu: int = 1
    gpu_memory_mb: int | None = None


EXECUTORS: DiscoveredRegistry[type[Executor]] = DiscoveredRegistry(
    "executor", "benchmark.runner.executors"
)


def register_executor(name: str) -> Callable[[type[Executor]], type[Executor]]:
    """Class decorator: `@register_executor("local")` (sets the class's `name`)."""

    def decorator(cls: type[Executor]) -> type[Executor]:
        cls.name = name
        EXECUTORS.add(name, cls)
        return cls

    return decorator


def make_executor(name: str, pipeline: str | Pipeline, **options: object) -> Executor:
    """The executor registered as `name` (e.g. "local", "ray"), with `ExecutorOptions` by keyword.

    An unknown name raises `UserInputError` listing the known ones.
    """
    return EXECUTORS.get(name).from_options(pipeline, ExecutorOptions(**options))  # type: ignore[arg-type]
