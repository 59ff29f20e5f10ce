"""What a leaderboard is made from: a task's rows read from the results database, nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmark.errors import UserInputError
from benchmark.registry import suggest
from benchmark.store import ResultStore

__all__ = ["RunRow", "TaskResults", "load_results"]


@dataclass(frozen=True)
class RunRow:
    """One run as the leaderboard sees it."""

    run_id: str
    status: str
    label: str
    entry: str
    dataset: str
    seed: int
    position: int
    model_args: dict[str, Any] = field(default_factory=dict)
    dataset_args: dict[str, Any] = field(default_factory=dict)
    sweep: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)  # name -> stored file name
    finished_at: str | None = None
    git_commit: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    duration_s: float | None = None
    total_duration_s: float | None = None  # every attempt's wall time, seconds


@dataclass(frozen=True)
class TaskResults:
    """A task's configuration, runs (in expansion order) and `disbench run` invocations.

    `warnings` are lines the page shows about stored data it had to leave out
    (e.g. an artefact that cannot be read).
    """

    task: str
    config: dict[str, Any]
    runs: tuple[RunRow, ...]
    invocations: tuple[dict[str, Any], ...] = ()
    warnings: tuple[str, ...] = ()


def load_results(store: ResultStore, task: str) -> TaskResults:
    """Reads everything the leaderboard of `task` needs from `store`."""
    config = store.task_config(task)
    if config is None:
        known = store.task_names()
        raise UserInputError(
            f"{store.path}: no runs of task {task!r}{suggest(task, known)}; "
            f"tasks in this database: {', '.join(known) or '(none)'}"
        )
    records = store.runs(task)
    ids = [r.run_id for r in records]
    scores = store.scores(ids)
    artifacts = store.artifact_names(ids)
    runs = tuple(
        RunRow(
            run_id=r.run_id,
            status=r.status,
            label=r.label,
            entry=r.entry,
            dataset=r.dataset,
            seed=r.seed,
            position=r.position,
            model_args=r.args,
            dataset_args=dict(r.spec.get("dataset_args", {})),
            sweep=r.sweep,
            scores=scores[r.run_id],
            artifacts=artifacts[r.run_id],
            finished_at=r.finished_at,
            git_commit=r.git_commit,
            versions=r.versions,
            error=r.error,
            duration_s=r.duration_s,
            total_duration_s=r.total_duration_s,
        )
        for r in records
    )
    return TaskResults(
        task=task, config=config, runs=runs, invocations=tuple(store.invocations(task))
    )
