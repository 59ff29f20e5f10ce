"""One run, end to end: build the data set and model, train (resuming), evaluate, report.

This is the function the runner's executors call for every run
(`benchmark.runner` imports it lazily as `benchmark.pipeline:execute_run`).
It knows nothing of the database: it returns scores, artefact paths and
durations, and the worker stores them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from benchmark.absent import absent
from benchmark.columns import TRAJECTORY_FIELDS
from benchmark.config.runs import RunSpec
from benchmark.data import get_dataset
from benchmark.evaluation.part import CAPABILITIES
from benchmark.evaluation.run import evaluate, model_capabilities
from benchmark.evaluation.saved_parts import SavedParts
from benchmark.evaluation.trajectory import trajectory_point
from benchmark.models import build_model
from benchmark.store import RunResult
from benchmark.training import restore, train
from benchmark.training.lock import training_lock

__all__ = ["PARAMETERS_PREFIX", "convergence_scores", "execute_run"]

PARAMETERS_PREFIX = "parameters/"


def convergence_scores(trained: Any, *, has_density: bool = True) -> dict[str, Any]:
    """The convergence record of a `TrainResult` as scores (see `benchmark.training.convergence`).

    `train/converged` (1 or 0), `train/heldout_elbo_slope` (Theil-Sen
    slope of the held-out ELBO over the convergence window, nats per 1,000
    steps) with its 90% bounds `train/heldout_elbo_slope_low` / `_high`,
    `train/degrading` (1 when the curve falls beyond doubt), `train/heldout_elbo` (its last value, nats), `train/steps_trained`
    and `train/heldout_elbo_curve` (`[[step, nats], ...]`, every log point).
    A model without a density (a point mass) has no ELBO: its curve is minus the held-out loss
    (`Autoencoder.heldout_terms`), whose last value is stored negated as
    `train/heldout_loss_nats`, and `train/heldout_elbo` is absent.
    Empty when the run had no held-out batch.
    """
    if trained.convergence is None:
        return {}
    curve = trained.heldout_curve
    last = (
        {"train/heldout_elbo": curve[-1][1]}
        if has_density
        else {
            "train/heldout_elbo": absent(CAPABILITIES["density"]),
            "train/heldout_loss_nats": -curve[-1][1],
        }
    )
    return {
        "train/converged": 1.0 if trained.convergence.converged else 0.0,
        "train/heldout_elbo_slope": trained.convergence.slope_per_1k_steps,
        "train/heldout_elbo_slope_low": trained.convergence.slope_low,
        "train/heldout_elbo_slope_high": trained.convergence.slope_high,
        "train/degrading": 1.0 if trained.convergence.status == "degrading" else 0.0,
        **last,
        "train/steps_trained": float(trained.steps_done),
        "train/heldout_elbo_curve": [[int(s), float(e)] for s, e in curve],
    }


TRAJECTORY_FILE = "trajectory.jsonl"


def _trajectory_point(
    model: Any, dataset: Any, spec: RunSpec, checkpoint_dir: Path, trained: Any
) -> None:
    """Scores the model where this training segment ended, once (`TRAJECTORY_FILE`).

    A point is scored only when the weights in memory are that step's (a
    resumed run that already trained past it leaves the point out).
    """
    path = checkpoint_dir / TRAJECTORY_FILE
    done = (
        {json.loads(line)["steps"] for line in path.read_text().splitlines()}
        if path.exists()
        else set()
    )
    step = int(trained.steps_done)
    if step in done or trained.resumed_from_step > step:
        return
    curve = trained.heldout_curve
    point = {
        "steps": step,
        "images": step * spec.training.batch_size,
        "heldout_elbo": curve[-1][1] if curve and "density" in model_capabilities(model) else None,
        **trajectory_point(model, dataset, seed=spec.seed),
    }
    with path.open("a") as handle:
        handle.write(json.dumps(point) + "\n")


def trajectory_scores(checkpoint_dir: Path) -> dict[str, Any]:
    """`train/trajectory` `[points][TRAJECTORY_FIELDS]` (NaN for a missing field) and
    `train/trajectory_nmi` `[points][latent][factor]`, in step order; empty without one."""
    path = Path(checkpoint_dir) / TRAJECTORY_FILE
    if not path.exists():
        return {}
    points = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    points.sort(key=lambda p: p["steps"])

    def number(value: Any) -> float:
        return float(value) if isinstance(value, int | float) else float("nan")

    return {
        "train/trajectory": [[number(p.get(f)) for f in TRAJECTORY_FIELDS] for p in points],
        "train/trajectory_nmi": [p["nmi"] for p in points],
    }


def execute_run(
    spec: RunSpec, workdir: Path, progress: bool = True, training_dir: Path | None = None
) -> RunResult:
    """Trains and scores one run; resumes from the checkpoints in `training_dir`.

    `training_dir` (default `workdir/checkpoints`) is shared by every run of
    the same `spec.training_id`: when it holds the finished training, nothing
    is trained and the final checkpoint is only evaluated (`train_steps` 0).
    Per-run files (traversals, reconstructions, the UDR codes) go to `workdir`.
    Training runs under `spec.training.precision`; evaluation always computes
    in float32.

    Returns the scores (metric keys of `benchmark.metrics`, latent-score keys
    of `benchmark.evaluation.latent_scores`; with the "sampled" representation
    also `sampled/<key>`; the model's free parameters per part as
    `parameters/<part>`, see `VAE.parameter_counts`) in a `RunResult`, with
    its `artifacts` ({name: file in workdir}) and `durations` (seconds): `train_s`,
    `train_steps` (updates trained by this call: 0 for a re-scored run),
    `metrics_s`, `latent_scores_s`, and per part `metric_s/<metric>`
    (`metric_s/sampled/<metric>` for sampled codes; also `metric_s/draws` and
    `metric_s/encode`, see `interpretability_scores`) and `latent_s/<part>`
    (`latent_s/draws` and the parts of `latent_scores`). Raises
    `benchmark.training.TrainingDiverged` when the loss turns NaN or
    infinite; any exception marks the run failed.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    dataset = get_dataset(spec.dataset, **spec.dataset_args)
    model = build_model(spec.entry, dataset.observation_shape, **spec.model_args)

    started = time.perf_counter()
    training = spec.training
    checkpoint_dir = Path(training_dir) if training_dir is not None else workdir / "checkpoints"
    with training_lock(checkpoint_dir):  # runs sharing this training wait for each other
        segments = max(1, training.trajectory_points)
        resumed_from: int | None = None
        for segment in range(1, segments + 1):
            trained = train(
                model,
                dataset,
                steps=round(training.steps * segment / segments),
                batch_size=training.batch_size,
                learning_rate=training.learning_rate,
                seed=spec.seed,
                checkpoint_dir=checkpoint_dir,
                checkpoint_every=training.checkpoint_every,
                log_every=training.log_every,
                progress=progress,
                convergence_tolerance=training.convergence_tolerance,
                stop_when_converged=training.stop_when_converged,
                precision=training.precision,
                min_steps=training.min_steps,
                xla=training.compile_with_xla,
            )
            resumed_from = trained.resumed_from_step if resumed_from is None else resumed_from
            if training.trajectory_points:
                _trajectory_point(model, dataset, spec, checkpoint_dir, trained)
            if trained.stopped_early:
                break
    if model.precision != "float32":
        # Scores are computed in float32 whatever the training precision: the trained
        # (float32) weights go into a float32 build of the same model.
        model = build_model(spec.entry, dataset.observation_shape, **spec.model_args)
        restore(model, checkpoint_dir)
    trained_at = time.perf_counter()

    # Model size per part (free parameters), so equal-capacity questions can be answered.
    scores: dict[str, Any] = {
        f"{PARAMETERS_PREFIX}{part}": count for part, count in model.parameter_counts().items()
    }
    # Parts finished by an earlier, interrupted attempt on this training are taken as they were.
    saved = SavedParts(
        workdir, {"steps": trained.steps_done, "checkpoints": str(checkpoint_dir.resolve())}
    )
    evaluation = evaluate(
        model, dataset, spec.evaluation, seed=spec.seed, workdir=workdir, saved=saved
    )
    scores.update(evaluation.scores)
    for key, value in trained.final_loss_terms.items():
        scores[f"train/{key}"] = value
    has_density = "density" in model_capabilities(model)
    scores.update(convergence_scores(trained, has_density=has_density))
    scores.update(trajectory_scores(checkpoint_dir))
    durations = {
        "train_s": trained_at - started,
        "train_steps_per_second": trained.steps_per_second,
        **evaluation.durations,
        "train_steps": trained.steps_done - (resumed_from or 0),  # 0: only re-scored
        "evaluation_parts_reused": float(evaluation.reused),
    }
    saved.clear()
    return RunResult(scores=scores, artifacts=evaluation.artifacts, durations=durations)
