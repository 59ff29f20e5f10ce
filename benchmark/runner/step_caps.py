"""A raised step cap reuses what the lower cap trained: runs that stop once converged.

A run with `training.stop_when_converged` checks its held-out ELBO curve at
every logging step and stops at the first step where the criterion holds;
its data, its noise and that check at step t depend on t only, never on the
cap (`benchmark.training.loop`). So under a higher cap the same
configuration follows the same trajectory up to the lower cap. When a
task's cap is raised (e.g. 30,000 -> 60,000 steps, so that the runs that
hit the cap can converge), every new run whose configuration differs from a
done run only in the cap takes from it:

- a run that stopped early (converged before its cap) *is* the new run: its
  scores and artefacts are copied to the new run id in the database
  (`ResultStore.copy_done_run`); nothing trains or evaluates;
- a run that reached its cap passes on its checkpoint folder (copied, on
  this machine only), from which the new run continues training to the new
  cap, then is scored.

The new run keeps its own id (which names the higher cap). A copied run's
durations record `lower_cap_steps`, the cap of the run it came from; a
continued run's training log starts where the lower cap stopped.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.config.runs import RunSpec, run_id_of
from benchmark.runner.trainings import OLD_CHECKPOINTS, TRAININGS_FOLDER, has_checkpoint
from benchmark.store import ResultStore

__all__ = ["LowerCap", "apply_lower_caps", "cap_free_key", "find_lower_caps"]


@dataclass(frozen=True)
class LowerCap:
    """The done run `source` of the same configuration as run `run_id` under a lower cap.

    `stopped_early`: it converged before its cap `cap` (so it is the same
    run); otherwise `steps_trained == cap` and the new run continues it.
    """

    run_id: str
    training_id: str
    source: str
    source_training_id: str
    cap: int
    stopped_early: bool


def cap_free_key(spec: RunSpec) -> str:
    """A hash of the run's identity without `training.steps`: equal for runs differing only in the cap."""
    identity = spec.identity()
    identity["training"] = {k: v for k, v in identity["training"].items() if k != "steps"}
    return run_id_of(identity)


def find_lower_caps(specs: Sequence[RunSpec], store: ResultStore) -> dict[str, LowerCap]:
    """`{run_id: LowerCap}` for the runs of `specs` that stop when converged and have one.

    Of several done runs under lower caps, the one with the highest cap.
    Runs stored with a spec that no longer parses are skipped.
    """
    wanted: dict[str, list[RunSpec]] = {}
    for spec in specs:
        if spec.training.stop_when_converged:
            wanted.setdefault(cap_free_key(spec), []).append(spec)
    if not wanted:
        return {}
    best: dict[str, tuple[str, RunSpec]] = {}  # run id -> (done run id, its spec)
    for done_id, data in store.done_specs().items():
        try:
            earlier = RunSpec.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if not earlier.training.stop_when_converged:
            continue
        steps = earlier.training.steps
        for spec in wanted.get(cap_free_key(earlier), []):
            kept = best.get(spec.run_id)
            if steps < spec.training.steps and (kept is None or steps > kept[1].training.steps):
                best[spec.run_id] = (done_id, earlier)
    scores = store.scores([done_id for done_id, _ in best.values()])
    found: dict[str, LowerCap] = {}
    for spec in specs:
        if spec.run_id not in best:
            continue
        done_id, earlier = best[spec.run_id]
        trained = scores[done_id].get("train/steps_trained")
        found[spec.run_id] = LowerCap(
            run_id=spec.run_id,
            training_id=spec.training_id,
            source=done_id,
            source_training_id=earlier.training_id,
            cap=earlier.training.steps,
            stopped_early=isinstance(trained, float) and trained < earlier.training.steps,
        )
    return found


def _source_folder(runs_dir: Path, lower: LowerCap) -> Path | None:
    for folder in (
        runs_dir / TRAININGS_FOLDER / lower.source_training_id,
        runs_dir / lower.source / OLD_CHECKPOINTS,
    ):
        if has_checkpoint(folder):
            return folder
    return None


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
    found: dict[str, LowerCap], store: ResultStore, runs_dir: Path
) -> tuple[list[str], list[str]]:
    """Copies each early-stopped source's result and each capped source's checkpoints.

    Returns `(copied run ids, continued run ids)`. A source whose checkpoint
    folder is not on this machine passes nothing on: that run trains from
    step 0. A run another process has claimed, or whose training folder
    already exists, is left as it is.
    """
    copied: list[str] = []
    continued: list[str] = []
    for lower in found.values():
        if lower.stopped_early:
            if store.copy_done_run(lower.source, lower.run_id, {"lower_cap_steps": lower.cap}):
                copied.append(lower.run_id)
            continue
        source = _source_folder(Path(runs_dir), lower)
        target = Path(runs_dir) / TRAININGS_FOLDER / lower.training_id
        if source is not None and _copy_folder(source, target):
            continued.append(lower.run_id)
    return copied, continued
