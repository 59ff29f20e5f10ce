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

import numpy as np

from benchmark.columns import TRAJECTORY_FIELDS
from benchmark.config.runs import RunSpec
from benchmark.data import get_dataset
from benchmark.evaluation.interpretability import interpretability_scores
from benchmark.evaluation.latent_scores import latent_scores
from benchmark.evaluation.latent_settings import SAMPLE_SETTINGS
from benchmark.evaluation.point_mass import point_mass_latent_scores
from benchmark.evaluation.posterior_codes import (
    POSTERIOR_CODE_DEFAULTS,
    posterior_mig_scores,
    write_shared_codes,
)
from benchmark.evaluation.posterior_extras import posterior_extras
from benchmark.evaluation.posterior_scores import is_point_mass, point_mass_absent
from benchmark.evaluation.posterior_settings import resolve_settings
from benchmark.evaluation.reconstructions import write_reconstructions
from benchmark.evaluation.saved_parts import SavedParts
from benchmark.evaluation.trajectory import trajectory_point
from benchmark.evaluation.traversals import latent_traversals
from benchmark.models import build_model
from benchmark.store import RunResult
from benchmark.training import restore, train
from benchmark.training.lock import training_lock

__all__ = [
    "LATENT_SAMPLE_CHECKS",
    "LATENT_SAMPLE_DEFAULTS",
    "PARAMETERS_PREFIX",
    "convergence_scores",
    "execute_run",
]

PARAMETERS_PREFIX = "parameters/"

# How many images the latent scores average over, and how many held-out images
# the importance-weighted bound uses (task setting `latent_scores: {num_points, num_heldout}`).
# `posterior_mig_points`: the stratified grid sample of the posterior MIG (posterior_codes).
# Declared, with their checks, in `benchmark.evaluation.latent_settings`.
LATENT_SAMPLE_DEFAULTS = {s.name: s.default for s in SAMPLE_SETTINGS}
LATENT_SAMPLE_CHECKS = {s.name: s.check for s in SAMPLE_SETTINGS}

# Seed offsets so evaluation draws never coincide with training draws.
_LATENT_DRAWS, _TRAVERSAL_DRAW = 1_000_003, 2_000_003


def _latent(
    model: Any, dataset: Any, spec: RunSpec, timings: dict[str, float]
) -> dict[str, object]:
    settings = {**LATENT_SAMPLE_DEFAULTS, **spec.evaluation.settings_for("latent_scores", ())}
    resolve_settings(settings)  # the gaps' and decomposition's own (posterior_extras)
    num_points = int(settings.pop("num_points"))
    num_heldout = int(settings.pop("num_heldout"))
    for key in POSTERIOR_CODE_DEFAULTS:  # the posterior codes' own settings (`_posterior_codes`)
        settings.pop(key)
    # The stratified TC estimator weighs each point's own posterior by 1 / (data set size):
    # the procedural data sets stand for their whole factor grid.
    settings.setdefault("dataset_size", int(np.prod(dataset.factor_sizes, dtype=np.float64)))
    started = time.perf_counter()
    random_state = np.random.RandomState(spec.seed + _LATENT_DRAWS)
    _, observations = dataset.sample(num_points, random_state)
    _, heldout = dataset.sample(num_heldout, random_state)
    timings["draws"] = time.perf_counter() - started
    if is_point_mass(model):
        return point_mass_latent_scores(
            model, observations, batch_size=settings.get("batch_size", 64)
        )
    return latent_scores(model, observations, heldout, seed=spec.seed, timings=timings, **settings)


def _posterior_codes(
    model: Any, dataset: Any, spec: RunSpec, workdir: Path
) -> tuple[dict[str, Any], dict[str, str]]:
    """`(posterior MIG scores, artefacts)`: the shared-sample codes for UDR are an artefact."""
    settings = {**LATENT_SAMPLE_DEFAULTS, **spec.evaluation.settings_for("latent_scores", ())}
    scores: dict[str, Any] = posterior_mig_scores(
        model, dataset, seed=spec.seed, posterior_mig_points=int(settings["posterior_mig_points"])
    )
    return scores, write_shared_codes(model, dataset, workdir, seed=spec.seed)


def _traversals(model: Any, dataset: Any, spec: RunSpec, workdir: Path) -> dict[str, str]:
    """Saves `traversals.npy` `[latents, steps, H, W, C]` for image data sets; {} otherwise."""
    if len(dataset.observation_shape) != 3:
        return {}
    random_state = np.random.RandomState(spec.seed + _TRAVERSAL_DRAW)
    _, observation = dataset.sample(1, random_state)
    images = latent_traversals(model, observation[0], seed=spec.seed)
    path = workdir / "traversals.npy"
    np.save(path, images.astype(np.float16))
    return {"traversals": path.name}


def convergence_scores(trained: Any, *, point_mass: bool = False) -> dict[str, Any]:
    """The convergence record of a `TrainResult` as scores (see `benchmark.training.convergence`).

    `train/converged` (1 or 0), `train/heldout_elbo_slope` (Theil-Sen
    slope of the held-out ELBO over the convergence window, nats per 1,000
    steps) with its 90% bounds `train/heldout_elbo_slope_low` / `_high`,
    `train/degrading` (1 when the curve falls beyond doubt), `train/heldout_elbo` (its last value, nats), `train/steps_trained`
    and `train/heldout_elbo_curve` (`[[step, nats], ...]`, every log point).
    A `point_mass` model has no ELBO: its curve is minus the held-out loss
    (`Autoencoder.heldout_terms`), whose last value is stored negated as
    `train/heldout_loss_nats`, and `train/heldout_elbo` is absent.
    Empty when the run had no held-out batch.
    """
    if trained.convergence is None:
        return {}
    curve = trained.heldout_curve
    last = (
        {**point_mass_absent(["train/heldout_elbo"]), "train/heldout_loss_nats": -curve[-1][1]}
        if point_mass
        else {"train/heldout_elbo": curve[-1][1]}
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
        "heldout_elbo": curve[-1][1] if curve and not is_point_mass(model) else None,
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
    parts: dict[str, float] = {}  # seconds of each metric and latent-score part
    totals = {"metrics_s": 0.0, "latent_scores_s": 0.0}
    reused = 0

    def evaluate_part(name: str, compute: Any) -> None:
        """Runs `compute() -> (scores, durations, artefacts)` unless part `name` is saved."""
        nonlocal reused
        part = saved.get(name)
        if part is not None and all((workdir / f).exists() for f in part["artifacts"].values()):
            reused += 1
        else:
            part_scores, part_durations, part_artifacts = compute()
            part = {"scores": part_scores, "durations": part_durations, "artifacts": part_artifacts}
            saved.put(name, **part)
        scores.update(part["scores"])
        artifacts.update(part["artifacts"])
        for key, value in part["durations"].items():
            if key in totals:
                totals[key] += value
            else:
                parts[key] = value

    def interpretability(kind: str) -> tuple[dict[str, Any], dict[str, float], dict[str, str]]:
        begun = time.perf_counter()
        prefix = "" if kind == "mean" else f"{kind}/"
        spent: dict[str, float] = {}
        # Each metric is kept as it finishes, so an interruption loses at most the one running.
        finished: dict[str, dict[str, Any]] = {}
        for name in spec.evaluation.metrics:
            part = saved.get(f"metrics/{kind}/{name}")
            if part is not None:
                finished[name] = part["scores"]
                spent.update(part["durations"])

        def keep(name: str, metric_scores: dict[str, Any], seconds: float) -> None:
            saved.put(f"metrics/{kind}/{name}", metric_scores, {name: seconds})

        result = interpretability_scores(
            model,
            dataset,
            spec.evaluation,
            seed=spec.seed,
            kind=kind,
            timings=spent,
            finished=finished,
            on_metric=keep,
        )
        for setting in ("sklearn_version", "seed", "skipped", "dci_gbt_random_state"):
            result.pop(setting, None)  # run facts and settings, not scores
        durations = {f"metric_s/{prefix}{name}": value for name, value in spent.items()}
        durations["metrics_s"] = time.perf_counter() - begun
        return {prefix + key: value for key, value in result.items()}, durations, {}

    def latent() -> tuple[dict[str, Any], dict[str, float], dict[str, str]]:
        begun = time.perf_counter()
        spent: dict[str, float] = {}
        latent_result = dict(_latent(model, dataset, spec, spent))
        durations = {f"latent_s/{name}": value for name, value in spent.items()}
        posterior, written = _posterior_codes(model, dataset, spec, workdir)
        latent_result.update(posterior)
        durations["latent_scores_s"] = time.perf_counter() - begun
        return latent_result, durations, written

    def extras() -> tuple[dict[str, Any], dict[str, float], dict[str, str]]:
        extra_scores, extra_durations = posterior_extras(model, dataset, spec.evaluation, spec.seed)
        return extra_scores, extra_durations, {}

    artifacts: dict[str, str] = {}
    for kind in spec.evaluation.representation:
        evaluate_part(f"metrics/{kind}", lambda kind=kind: interpretability(kind))
    if spec.evaluation.latent_scores:
        evaluate_part("latent", latent)
    evaluate_part("extras", extras)
    for key, value in trained.final_loss_terms.items():
        scores[f"train/{key}"] = value
    scores.update(convergence_scores(trained, point_mass=is_point_mass(model)))
    scores.update(trajectory_scores(checkpoint_dir))

    durations = {
        "train_s": trained_at - started,
        **totals,
        "train_steps_per_second": trained.steps_per_second,
        **parts,
        "train_steps": trained.steps_done - (resumed_from or 0),  # 0: only re-scored
        "evaluation_parts_reused": float(reused),
    }
    artifacts = {
        **_traversals(model, dataset, spec, workdir),
        **write_reconstructions(model, dataset, workdir, seed=spec.seed),
        **artifacts,
    }
    saved.clear()
    return RunResult(scores=scores, artifacts=artifacts, durations=durations)
