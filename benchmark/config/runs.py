"""Runs: a task expanded into one fully resolved `RunSpec` per (model entry, sweep point, seed).

A run's id is the first 16 hex digits of the SHA-256 of the canonical JSON of
everything that decides its result: data set and its arguments, model entry
and its resolved arguments, seed, training steps / batch size / learning
rate, and the evaluation settings. The task's name, the entry's label, the
checkpoint and log intervals do not change results and are left out, so the
same configuration in two tasks is one run, trained once.

That identity has two parts. The training part (data set, model entry and
arguments, which include the posterior family, seed, training settings)
decides the trained weights; its hash is the run's `training_id`. The
evaluation part (metrics, representation, their settings, latent scores)
decides only the scores. Runs that differ in the evaluation part alone share
one training: the runner trains it once and re-scores the others from its
final checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from benchmark.config.schema import EvaluationConfig, Scalar, TaskConfig, TrainingConfig

__all__ = [
    "FAMILY_REVISIONS",
    "RUN_ID_LENGTH",
    "RunSpec",
    "canonical_json",
    "expand_task",
    "run_id_of",
]

# Posterior families whose model changed after results were first stored under
# their ids: `full_covariance` and `iaf` now start as the diagonal family
# (revision 2). The revision enters the training identity, so a database that
# holds trainings of the old models never counts them as the new ones; the
# diagonal family's ids are unchanged.
FAMILY_REVISIONS: dict[str, int] = {"full_covariance": 2, "iaf": 2}

RUN_ID_LENGTH = 16


@dataclass(frozen=True)
class RunSpec:
    """Everything `benchmark.pipeline.execute_run` needs to train and score one model.

    Fields:
      task: the task that asked for the run (display only).
      run_id: stable id, see the module docstring.
      dataset, dataset_args: `benchmark.data.get_dataset(dataset, **dataset_args)`.
      entry: model entry name; model_args: its keyword arguments with the sweep
        values merged in (e.g. `posterior`, `beta`, `architecture`).
      label: the entry's display name in leaderboards.
      sweep: the swept values of this run (a subset of `model_args`), for display.
      seed: the run's seed (initialisation, data order, evaluation sampling).
      training: steps, batch_size, learning_rate, checkpoint_every, log_every,
        convergence_tolerance, stop_when_converged, precision.
      evaluation: metrics, representation ("mean"/"sampled"), settings, latent_scores.
    """

    task: str
    run_id: str
    dataset: str
    dataset_args: dict[str, Scalar]
    entry: str
    model_args: dict[str, Scalar]
    seed: int
    training: TrainingConfig
    evaluation: EvaluationConfig
    label: str = ""
    sweep: dict[str, Scalar] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash(self.run_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (tuples become lists); `from_dict` reverses it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSpec:
        return cls(
            task=data["task"],
            run_id=data["run_id"],
            dataset=data["dataset"],
            dataset_args=dict(data.get("dataset_args", {})),
            entry=data["entry"],
            model_args=dict(data.get("model_args", {})),
            seed=int(data["seed"]),
            training=TrainingConfig.from_dict(data["training"]),
            evaluation=EvaluationConfig.from_dict(data["evaluation"]),
            label=data.get("label", ""),
            sweep=dict(data.get("sweep", {})),
        )

    def training_identity(self) -> dict[str, Any]:
        """The fields that decide the trained weights (what `training_id` hashes).

        Training settings added after the first results (convergence
        tolerance, early stop, precision, the fewest steps before an early
        stop) enter only when not at their defaults, so the ids of configurations that do not use them stay as
        they were.
        """
        training: dict[str, Any] = {
            "steps": self.training.steps,
            "batch_size": self.training.batch_size,
            "learning_rate": self.training.learning_rate,
        }
        defaults = TrainingConfig(steps=1)
        for name in (
            "convergence_tolerance",
            "stop_when_converged",
            "precision",
            "min_steps",
            "trajectory_points",
        ):
            if getattr(self.training, name) != getattr(defaults, name):
                training[name] = getattr(self.training, name)
        identity: dict[str, Any] = {
            "dataset": self.dataset,
            "dataset_args": self.dataset_args,
            "entry": self.entry,
            "model_args": self.model_args,
            "seed": self.seed,
            "training": training,
        }
        revision = FAMILY_REVISIONS.get(str(self.model_args.get("posterior", "")))
        if revision is not None:
            identity["family_revision"] = revision
        return identity

    def evaluation_identity(self) -> dict[str, Any]:
        """The fields that decide only the scores of trained weights."""
        return {
            "metrics": sorted(self.evaluation.metrics),
            "representation": sorted(self.evaluation.representation),
            "settings": self.evaluation.settings,
            "latent_scores": self.evaluation.latent_scores,
        }

    def identity(self) -> dict[str, Any]:
        """The fields that decide the result (what the run id hashes): both parts."""
        return {**self.training_identity(), "evaluation": self.evaluation_identity()}

    @property
    def training_id(self) -> str:
        """Hash of `training_identity()`: runs with equal training ids share trained weights."""
        return run_id_of(self.training_identity())

    def describe(self) -> str:
        """One line for logs: `beta_vae posterior=iaf beta=8 seed=0`."""
        parts = [self.label or self.entry, *(f"{k}={v}" for k, v in self.sweep.items())]
        return " ".join([*parts, f"seed={self.seed}"])


def _normalise(value: object) -> object:
    """Integral floats as ints, so `beta: 1` and `beta: 1.0` give one id."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"run configurations hold finite numbers only, got {value!r}")
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return value


def canonical_json(value: object) -> str:
    """Sorted keys, no spaces, integral floats as ints."""
    return json.dumps(_normalise(value), sort_keys=True, separators=(",", ":"))


def run_id_of(identity: Mapping[str, Any]) -> str:
    """First `RUN_ID_LENGTH` hex digits of sha256(canonical JSON of `identity`)."""
    digest = hashlib.sha256(canonical_json(identity).encode("utf-8")).hexdigest()
    return digest[:RUN_ID_LENGTH]


def expand_task(task: TaskConfig) -> list[RunSpec]:
    """All runs of a task: model entries in file order, then sweep points, then seeds.

    Two entries that resolve to the same run (same id) are listed once.
    """
    specs: list[RunSpec] = []
    seen: set[str] = set()
    for model in task.models:
        points = model.sweep if model.sweep is not None else task.sweep
        for point in points:
            for seed in task.seeds:
                spec = RunSpec(
                    task=task.name,
                    run_id="",
                    dataset=task.dataset.name,
                    dataset_args=dict(task.dataset.args),
                    entry=model.entry,
                    model_args={**model.args, **point},
                    seed=seed,
                    training=task.training,
                    evaluation=task.evaluation,
                    label=model.display_name,
                    sweep=dict(point),
                )
                run_id = run_id_of(spec.identity())
                if run_id not in seen:
                    seen.add(run_id)
                    specs.append(replace(spec, run_id=run_id))
    return specs
