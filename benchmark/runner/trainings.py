"""Shared trainings: where each training's checkpoints live, and which runs only re-score.

Runs whose configurations differ only in their evaluation part (metrics,
representation, evaluation settings) have one `training_id` (see
`benchmark.config.runs`) and share one checkpoint folder,
`<runs_dir>/trainings/<training_id>`. A run whose training already finished
(a done run of that training id exists in the database and its checkpoint is
on disk) is only re-scored: the pipeline loads the final checkpoint and
evaluates. If the checkpoint is gone (another machine, a deleted folder), the
run trains again.

Folders written before training ids, `<runs_dir>/<run_id>/checkpoints`, stay
where they are and are read in place: a finished one serves every run of its
training id, and a run interrupted under the old layout resumes from its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.config.runs import RunSpec
from benchmark.store import ResultStore

__all__ = [
    "TRAININGS_FOLDER",
    "TrainingPlan",
    "checkpoint_step",
    "fill_training_ids",
    "has_checkpoint",
    "plan_trainings",
    "rescorable",
    "stored_spec",
]

TRAININGS_FOLDER = "trainings"
OLD_CHECKPOINTS = "checkpoints"  # the layout before training ids: <runs_dir>/<run_id>/checkpoints
# The index file a checkpoint folder holds once a checkpoint is written (TensorFlow's
# CheckpointManager writes `checkpoint`; test pipelines write the same name).
CHECKPOINT_STATE = "checkpoint"


def has_checkpoint(folder: Path) -> bool:
    """Whether `folder` holds a written checkpoint."""
    return (folder / CHECKPOINT_STATE).is_file()


def checkpoint_step(folder: Path) -> int:
    """The update count of the latest checkpoint in `folder` (0 without one), from its index file."""
    if not has_checkpoint(folder):
        return 0
    text = (folder / CHECKPOINT_STATE).read_text(errors="replace")
    found = re.search(r'^model_checkpoint_path: ".*-(\d+)"$', text, re.MULTILINE)
    return int(found.group(1)) if found else 0


def stored_spec(data: dict) -> RunSpec | None:
    """The `RunSpec` of a stored spec, or None when it no longer parses (an older layout)."""
    try:
        return RunSpec.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def fill_training_ids(store: ResultStore) -> int:
    """Fills `training_id` of rows written before it existed, from their stored spec.

    Rows whose spec no longer parses keep NULL. Returns how many rows were filled.
    """
    found: dict[str, str] = {}
    for run_id, data in store.specs_without_training_id().items():
        spec = stored_spec(data)
        if spec is not None:
            found[run_id] = spec.training_id
    if found:
        store.set_training_ids(found)
    return len(found)


@dataclass(frozen=True)
class TrainingPlan:
    """For each run to execute: its checkpoint folder, and whether it only re-scores.

    `order` lists the run ids trainings first, those already under way
    first (most steps done first, `checkpoint_step`: a study spans sittings
    and its checkpoints do not survive a change of machine, so a started
    training is finished before new ones begin), the new ones seed by seed
    (every cell's seed 0, then every cell's seed 1, ...), then re-scores of finished
    trainings, then runs that re-score a training this call starts (so a
    worker rarely waits for another's training). `rescore` holds the run ids
    that are expected to evaluate only.
    """

    training_dirs: dict[str, Path] = field(default_factory=dict)
    rescore: frozenset[str] = frozenset()
    order: tuple[str, ...] = ()

    @property
    def to_train(self) -> int:
        return len(self.order) - len(self.rescore)

    @property
    def to_rescore(self) -> int:
        return len(self.rescore)

    def describe(self) -> str:
        """`2 to train, 4 only re-scored from a finished training`."""
        return (
            f"{self.to_train} to train, {self.to_rescore} only re-scored from a finished training"
        )


def _groups(specs: Iterable[RunSpec]) -> dict[str, list[RunSpec]]:
    groups: dict[str, list[RunSpec]] = {}
    for spec in specs:
        groups.setdefault(spec.training_id, []).append(spec)
    return groups


def plan_trainings(specs: Sequence[RunSpec], store: ResultStore, runs_dir: Path) -> TrainingPlan:
    """The plan for `specs` (the runs this call executes, in order) against `store` and `runs_dir`."""
    runs_dir = Path(runs_dir)
    groups = _groups(specs)
    finished = store.done_runs_by_training(groups)
    training_dirs: dict[str, Path] = {}
    first: list[str] = []
    done: dict[str, int] = {}
    rescored: list[str] = []
    after: list[str] = []
    for training_id, members in groups.items():
        new = runs_dir / TRAININGS_FOLDER / training_id
        finished_folders = [new] + [
            runs_dir / r / OLD_CHECKPOINTS for r in finished.get(training_id, [])
        ]
        own_folders = [runs_dir / s.run_id / OLD_CHECKPOINTS for s in members]
        folder = next((f for f in [*finished_folders, *own_folders] if has_checkpoint(f)), new)
        ready = (
            bool(finished.get(training_id))
            and folder in finished_folders
            and has_checkpoint(folder)
        )
        for spec in members:
            training_dirs[spec.run_id] = folder
        ids = [s.run_id for s in members]
        if ready:
            rescored += ids
        else:
            first.append(ids[0])
            done[ids[0]] = checkpoint_step(folder)
            after += ids[1:]
    # Under way first (most steps done first); new trainings seed by seed, so a study stopped
    # part-way holds every cell at equal seeds instead of some cells complete and others empty.
    seed_of = {spec.run_id: spec.seed for spec in specs}
    first.sort(key=lambda run_id: (-done[run_id], seed_of[run_id]))  # stable: ties keep task order
    return TrainingPlan(
        training_dirs=training_dirs,
        rescore=frozenset(rescored + after),
        order=tuple(first + rescored + after),
    )


def rescorable(specs: Sequence[RunSpec], store: ResultStore, runs_dir: Path) -> set[str]:
    """The run ids among `specs` (done runs) whose finished training is on disk: they can be
    scored again without training. A run whose checkpoint is gone is not among them."""
    plan = plan_trainings(specs, store, runs_dir)
    return {run_id for run_id in plan.rescore if has_checkpoint(plan.training_dirs[run_id])}
