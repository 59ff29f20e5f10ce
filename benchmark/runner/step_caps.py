"""A raised step cap reuses what a lower cap trained: runs that stop once converged.

A run with `training.stop_when_converged` checks its held-out ELBO curve at
every logging step and stops at the first step where the criterion holds;
its data, its noise and that check at step t depend on t only, never on the
cap (`benchmark.training.loop`). So under a higher cap the same
configuration follows the same trajectory as under a lower one, up to
where the lower one stopped. When a task's cap is raised (e.g. 30,000 ->
60,000 steps, so that the runs that hit the cap can converge), each new run
whose configuration differs from earlier runs only in the cap takes from
them:

- a done run that stopped early (converged before its cap) *is* the new run:
  its scores and artefacts are copied to the new run id in the database
  (`ResultStore.copy_done_run`); nothing trains or evaluates;
- otherwise the furthest checkpoint among them (a done run that reached its
  cap, or one interrupted on the way) is copied, on this machine, into the
  new run's training folder, from which it trains on to the new cap and is
  then scored.

Runs another process has marked running are not read from. The new run keeps
its own id (which names the higher cap). A copied run's durations record
`lower_cap_steps`, the cap of the run it came from; a continued run's
training log starts where the lower cap's left off.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.config.runs import RunSpec, run_id_of
from benchmark.runner.trainings import (
    OLD_CHECKPOINTS,
    TRAININGS_FOLDER,
    checkpoint_step,
    has_checkpoint,
    stored_spec,
)
from benchmark.store import ResultStore

__all__ = ["LowerCaps", "apply_lower_caps", "cap_free_key", "find_lower_caps"]


@dataclass(frozen=True)
class LowerCaps:
    """What run `run_id` can take from runs of its configuration under lower caps.

    `finished`: a done run that stopped early (its result is this run's),
    with its cap; else None. `sources`: `(run id, training id)` of the other
    lower-cap runs, whose checkpoints may continue.
    """

    run_id: str
    training_id: str
    finished: tuple[str, int] | None
    sources: tuple[tuple[str, str], ...]


def cap_free_key(spec: RunSpec) -> str:
    """A hash of the run's identity without `training.steps`: equal for runs differing only in it."""
    identity = spec.identity()
    identity["training"] = {k: v for k, v in identity["training"].items() if k != "steps"}
    return run_id_of(identity)


def find_lower_caps(specs: Sequence[RunSpec], store: ResultStore) -> dict[str, LowerCaps]:
    """`{run_id: LowerCaps}` for the runs of `specs` that stop when converged and have any.

    Stored specs that no longer parse are skipped.
    """
    wanted: dict[str, list[RunSpec]] = {}
    for spec in specs:
        if spec.training.stop_when_converged:
            wanted.setdefault(cap_free_key(spec), []).append(spec)
    if not wanted:
        return {}
    lower: dict[str, list[tuple[str, str, RunSpec]]] = {}  # run id -> [(id, status, spec)]
    for other_id, (status, data) in store.specs_by_status(("done", "pending", "failed")).items():
        earlier = stored_spec(data)
        if earlier is None or not earlier.training.stop_when_converged:
            continue
        for spec in wanted.get(cap_free_key(earlier), []):
            if earlier.training.steps < spec.training.steps:
                lower.setdefault(spec.run_id, []).append((other_id, status, earlier))
    done_ids = [i for runs in lower.values() for i, status, _ in runs if status == "done"]
    scores = store.scores(done_ids)
    found: dict[str, LowerCaps] = {}
    for spec in specs:
        if spec.run_id not in lower:
            continue
        finished = None
        for other_id, status, earlier in lower[spec.run_id]:
            trained = scores.get(other_id, {}).get("train/steps_trained")
            if status == "done" and isinstance(trained, float) and trained < earlier.training.steps:
                finished = (other_id, earlier.training.steps)
        found[spec.run_id] = LowerCaps(
            run_id=spec.run_id,
            training_id=spec.training_id,
            finished=finished,
            sources=tuple((i, earlier.training_id) for i, _, earlier in lower[spec.run_id]),
        )
    return found


def _furthest_folder(runs_dir: Path, sources: Sequence[tuple[str, str]]) -> Path | None:
    """The checkpoint folder with the most steps among the sources' (None without any)."""
    folders = [
        folder
        for run_id, training_id in sources
        for folder in (
            runs_dir / TRAININGS_FOLDER / training_id,
            runs_dir / run_id / OLD_CHECKPOINTS,
        )
        if has_checkpoint(folder)
    ]
    return max(folders, key=checkpoint_step, default=None)


def _copy_folder(source: Path, target: Path) -> bool:
    """Copies `source` to `target` through a temporary sibling; False if `target` exists."""
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        shutil.copytree(source, staging, dirs_exist_ok=True)
        os.rename(staging, target)  # atomic; fails if another process made `target` meanwhile
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        return False
    return True


def apply_lower_caps(
    found: dict[str, LowerCaps], store: ResultStore, runs_dir: Path
) -> tuple[list[str], list[str]]:
    """Copies each finished source's result, else the furthest source checkpoint folder.

    Returns `(copied run ids, continued run ids)`. Without a source folder on
    this machine a run trains from step 0. A run another process has claimed,
    or whose own training folder already exists, is left as it is.
    """
    runs_dir = Path(runs_dir)
    copied: list[str] = []
    continued: list[str] = []
    for lower in found.values():
        if lower.finished is not None:
            source, cap = lower.finished
            if store.copy_done_run(source, lower.run_id, {"lower_cap_steps": cap}):
                copied.append(lower.run_id)
            continue
        folder = _furthest_folder(runs_dir, lower.sources)
        target = runs_dir / TRAININGS_FOLDER / lower.training_id
        if folder is not None and _copy_folder(folder, target):
            continued.append(lower.run_id)
    return copied, continued
