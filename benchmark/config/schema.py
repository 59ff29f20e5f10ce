"""Typed task configuration: what a `tasks/*.yaml` file becomes once validated.

All classes are frozen dataclasses of plain values (str, int, float, bool,
tuples and dicts of those), so they turn into JSON losslessly with
`dataclasses.asdict` and back with the `from_dict` class methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "MAX_ARTIFACT_MB",
    "MAX_ATTEMPTS",
    "MAX_GPU_MEMORY_MB",
    "MAX_RUNS_PER_GPU",
    "MAX_RUN_TIMEOUT_S",
    "MAX_STATUS_EVERY_S",
    "MAX_WORKERS",
    "DatasetConfig",
    "EvaluationConfig",
    "ExecutionConfig",
    "LeaderboardConfig",
    "ModelConfig",
    "PRECISIONS",
    "Scalar",
    "TaskConfig",
    "TrainingConfig",
    "XLA_CHOICES",
    "xla_flag",
]

Scalar = bool | int | float | str

# `training.precision`: float32, or a Keras mixed policy (networks in 16 bits, the rest float32).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")

# `training.xla`: compile each update with XLA. "auto": on a GPU, not on a CPU. XLA's speed on
# a CPU depends on the processor and the network (`disbench perf train` measures both ways).
XLA_CHOICES = ("auto", "on", "off")


def xla_flag(choice: str) -> bool | None:
    """An `XLA_CHOICES` name as the trainer takes it: True ("on"), False ("off"), None ("auto")."""
    return {"auto": None, "on": True, "off": False}[choice]


@dataclass(frozen=True)
class DatasetConfig:
    """A registered data set and the keyword arguments it is built with."""

    name: str
    args: dict[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelConfig:
    """One model entry of a task.

    `sweep` is this entry's own list of sweep points (each a mapping of
    argument name to value) replacing the task-level sweep, or None to use
    the task's. `label` names the entry in leaderboards (default: `entry`).
    """

    entry: str
    args: dict[str, Scalar] = field(default_factory=dict)
    sweep: tuple[dict[str, Scalar], ...] | None = None
    label: str = ""

    @property
    def display_name(self) -> str:
        return self.label or self.entry


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings: `steps` gradient steps of `batch_size` examples (Adam, `learning_rate`).

    `checkpoint_every` and `log_every` (in steps) do not change results and
    are left out of run ids. `convergence_tolerance`: a run is converged when
    the 90% interval of its held-out ELBO's Theil-Sen slope over the last
    20% of its steps (at least 10 evaluations) lies within +- this many nats
    per 1,000 steps (`benchmark.training.convergence`);
    `stop_when_converged`: end a run early once that holds (`steps` is then
    the most it trains); `min_steps`: never end it early before this many
    steps (the criterion cannot tell a plateau that training later leaves
    from convergence: in cpu_study a beta-4 run stopped on one at 6,000 steps
    and gained 34 nats of held-out ELBO when trained on to 12,500).
    `precision`: one of `PRECISIONS`; under a mixed policy the encoder trunk and the decoder compute in bfloat16 or float16
    while the posterior family, the losses and Adam stay float32 (float16
    with dynamic loss scaling; `benchmark.models.precision`). These four
    enter run ids only when not at their defaults, so the ids of existing
    configurations stay as they are. `trajectory_points`: train in that many
    equal segments and score the model after each
    (`benchmark.evaluation.trajectory`: MIG, FactorVAE, active units and the
    held-out ELBO against images seen); 0: no trajectory. It enters run ids
    the same way. `xla`: one of `XLA_CHOICES`, whether each update is
    compiled with XLA ("auto": on a GPU only). It changes how a run is
    computed (the rounding, and the noise: XLA's random generator orders
    its draws differently), not what it is, so it never enters run ids; it
    is recorded in `run.json`'s setup, and a run folder is opened (resumed,
    or re-scored) only under the setting it was trained with: changing it in
    a task whose runs have trained makes them fail with a line that says so.
    """

    steps: int
    batch_size: int = 64
    learning_rate: float = 1e-4
    checkpoint_every: int = 10_000
    log_every: int = 1_000
    convergence_tolerance: float = 0.25
    stop_when_converged: bool = False
    precision: str = "float32"
    min_steps: int = 0
    trajectory_points: int = 0
    xla: str = "auto"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingConfig:
        return cls(**data)

    @property
    def compile_with_xla(self) -> bool | None:
        """`xla` as the trainer takes it: True, False, or None for "auto"."""
        return xla_flag(self.xla)


@dataclass(frozen=True)
class EvaluationConfig:
    """What is computed once a model is trained.

    `metrics`: registered metric names; `representation`: "mean" (posterior
    means) and/or "sampled" (one posterior sample per input); `settings`:
    keyword settings passed to every metric (and the latent scores) that
    takes them, e.g. `num_train: 10000`, and per-metric settings under a
    metric's name (or "latent_scores") that override those for it alone,
    e.g. `dci: {num_train: 2000}`; `latent_scores`: whether to compute the
    posterior correlation and information scores.
    """

    metrics: tuple[str, ...]
    representation: tuple[str, ...] = ("mean",)
    settings: dict[str, Scalar | dict[str, Scalar]] = field(default_factory=dict)
    latent_scores: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationConfig:
        return cls(
            metrics=tuple(data["metrics"]),
            representation=tuple(data.get("representation", ("mean",))),
            settings={
                k: dict(v) if isinstance(v, Mapping) else v
                for k, v in data.get("settings", {}).items()
            },
            latent_scores=bool(data.get("latent_scores", True)),
        )

    def settings_for(self, name: str, accepted: tuple[str, ...] | None = None) -> dict[str, Scalar]:
        """The settings of one metric (or "latent_scores"): global ones, then its own on top.

        With `accepted`, global settings it does not take are left out (its
        own settings are always kept, so a typo there still fails loudly).
        """
        shared = {
            k: v
            for k, v in self.settings.items()
            if not isinstance(v, Mapping) and (accepted is None or k in accepted)
        }
        own = self.settings.get(name, {})
        return {**shared, **(own if isinstance(own, Mapping) else {})}


@dataclass(frozen=True)
class LeaderboardConfig:
    """Leaderboard layout: the fields that make a row, the headline metric, the plots' x axis.

    Row fields are `entry`, `dataset`, `sweep` (all swept values of the run)
    or the name of a model or data-set argument, e.g. `posterior`, `beta`.
    """

    rows: tuple[str, ...] = ("entry", "posterior", "beta")
    main_metric: str = "mig"
    plot_against: str = "beta"


# Upper bounds of the execution settings, checked when a task is loaded and shared by the
# `disbench run` options of the same names (a bad value is one line, never a traceback).
# A run's time limit is waited on in milliseconds held in a C int: 2**31 ms is 24.9 days.
MAX_RUN_TIMEOUT_S = 2_000_000.0
MAX_ATTEMPTS = 1_000
# SQLite stores at most 10**9 bytes in one value (its default SQLITE_MAX_LENGTH).
MAX_ARTIFACT_MB = 1_000.0
# `disbench run` options only. Each worker is a process holding a TensorFlow runtime (about a
# GB); the status line is a sign of life, so less than once a week is none.
MAX_WORKERS = 256
MAX_RUNS_PER_GPU = 64
MAX_GPU_MEMORY_MB = 1_048_576  # 1 TiB per GPU
MAX_STATUS_EVERY_S = 604_800.0


@dataclass(frozen=True)
class ExecutionConfig:
    """How runs are executed; none of it changes results, so none of it is in run ids.

    `run_timeout`: seconds one run may take before it is stopped and recorded
    failed (None: no limit); `max_attempts`: how many times a run whose
    process died is taken over before it is recorded failed;
    `max_artifact_mb`: the largest artefact file stored (MB = 10^6 bytes).
    The `disbench run` options of the same names override them. Each has an
    upper bound (`MAX_RUN_TIMEOUT_S`, `MAX_ATTEMPTS`, `MAX_ARTIFACT_MB`).
    """

    run_timeout: float | None = None
    max_attempts: int = 3
    max_artifact_mb: float = 100.0


@dataclass(frozen=True)
class TaskConfig:
    """A validated task: data set, model entries, sweep, seeds, training, evaluation, layout.

    `sweep` is the task-level list of sweep points (an empty mapping when
    nothing is swept); `source` is the YAML file it was read from.
    """

    name: str
    description: str
    dataset: DatasetConfig
    models: tuple[ModelConfig, ...]
    sweep: tuple[dict[str, Scalar], ...]
    seeds: tuple[int, ...]
    training: TrainingConfig
    evaluation: EvaluationConfig
    leaderboard: LeaderboardConfig = field(default_factory=LeaderboardConfig)
    source: str = ""
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (tuples become lists)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskConfig:
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            dataset=DatasetConfig(**data["dataset"]),
            models=tuple(
                ModelConfig(
                    entry=m["entry"],
                    args=dict(m.get("args", {})),
                    sweep=None if m.get("sweep") is None else tuple(dict(p) for p in m["sweep"]),
                    label=m.get("label", ""),
                )
                for m in data["models"]
            ),
            sweep=tuple(dict(p) for p in data.get("sweep", ({},))),
            seeds=tuple(data["seeds"]),
            training=TrainingConfig.from_dict(data["training"]),
            evaluation=EvaluationConfig.from_dict(data["evaluation"]),
            leaderboard=LeaderboardConfig(
                rows=tuple(data.get("leaderboard", {}).get("rows", LeaderboardConfig.rows)),
                main_metric=data.get("leaderboard", {}).get("main_metric", "mig"),
                plot_against=data.get("leaderboard", {}).get("plot_against", "beta"),
            ),
            source=data.get("source", ""),
            execution=ExecutionConfig(**data.get("execution", {})),
        )

    @property
    def num_runs(self) -> int:
        """Number of runs the task expands into."""
        points = sum(len(m.sweep if m.sweep is not None else self.sweep) for m in self.models)
        return points * len(self.seeds)
