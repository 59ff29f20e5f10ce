"""One run, end to end: build the data set and model, train (resuming), evaluate, report.

This is the function the runner's executors call for every run
(`benchmark.runner` imports it lazily as `benchmark.pipeline:execute_run`).
It knows nothing of the database: it returns scores, artefact paths and
durations, and the worker stores them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.config.runs import RunSpec
from benchmark.data import get_dataset
from benchmark.evaluation.interpretability import interpretability_scores
from benchmark.evaluation.latent_scores import latent_scores
from benchmark.evaluation.traversals import latent_traversals
from benchmark.models import build_model
from benchmark.training import train
from benchmark.training.lock import training_lock

__all__ = ["LATENT_SAMPLE_DEFAULTS", "execute_run"]

# How many images the latent scores average over, and how many held-out images
# the importance-weighted bound uses (task setting `latent_scores: {num_points, num_heldout}`).
LATENT_SAMPLE_DEFAULTS = {"num_points": 1000, "num_heldout": 500}

# Seed offsets so evaluation draws never coincide with training draws.
_LATENT_DRAWS, _TRAVERSAL_DRAW = 1_000_003, 2_000_003


def _latent(model: Any, dataset: Any, spec: RunSpec) -> dict[str, object]:
    settings = {**LATENT_SAMPLE_DEFAULTS, **spec.evaluation.settings_for("latent_scores", ())}
    num_points = int(settings.pop("num_points"))
    num_heldout = int(settings.pop("num_heldout"))
    # The stratified TC estimator weighs each point's own posterior by 1 / (data set size):
    # the procedural data sets stand for their whole factor grid.
    settings.setdefault("dataset_size", int(np.prod(dataset.factor_sizes, dtype=np.float64)))
    random_state = np.random.RandomState(spec.seed + _LATENT_DRAWS)
    _, observations = dataset.sample(num_points, random_state)
    _, heldout = dataset.sample(num_heldout, random_state)
    return latent_scores(model, observations, heldout, seed=spec.seed, **settings)


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


def execute_run(
    spec: RunSpec, workdir: Path, progress: bool = True, training_dir: Path | None = None
) -> dict[str, Any]:
    """Trains and scores one run; resumes from the checkpoints in `training_dir`.

    `training_dir` (default `workdir/checkpoints`) is shared by every run of
    the same `spec.training_id`: when it holds the finished training, nothing
    is trained and the final checkpoint is only evaluated (`train_steps` 0).
    Per-run files (traversals) go to `workdir`.

    Returns the scores (metric keys of `benchmark.metrics`, latent-score keys
    of `benchmark.evaluation.latent_scores`; with the "sampled" representation
    also `sampled/<key>`), plus `artifacts` ({name: file in workdir}) and
    `durations` (seconds, plus `train_steps`: updates trained by this call).
    Raises `benchmark.training.TrainingDiverged` when the loss turns NaN or
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
        trained = train(
            model,
            dataset,
            steps=training.steps,
            batch_size=training.batch_size,
            learning_rate=training.learning_rate,
            seed=spec.seed,
            checkpoint_dir=checkpoint_dir,
            checkpoint_every=training.checkpoint_every,
            log_every=training.log_every,
            progress=progress,
        )
    trained_at = time.perf_counter()

    scores: dict[str, Any] = {}
    for kind in spec.evaluation.representation:
        prefix = "" if kind == "mean" else f"{kind}/"
        result = interpretability_scores(model, dataset, spec.evaluation, seed=spec.seed, kind=kind)
        result.pop("sklearn_version", None)  # recorded with the run's package versions
        result.pop("seed", None)
        result.pop("skipped", None)
        result.pop("dci_gbt_random_state", None)  # a setting, not a score
        scores.update({prefix + key: value for key, value in result.items()})
    scored_at = time.perf_counter()
    if spec.evaluation.latent_scores:
        scores.update(_latent(model, dataset, spec))
    latent_at = time.perf_counter()
    for key, value in trained.final_loss_terms.items():
        scores[f"train/{key}"] = value

    scores["artifacts"] = _traversals(model, dataset, spec, workdir)
    scores["durations"] = {
        "train_s": trained_at - started,
        "metrics_s": scored_at - trained_at,
        "latent_scores_s": latent_at - scored_at,
        "train_steps_per_second": trained.steps_per_second,
        "train_steps": trained.steps_done - trained.resumed_from_step,  # 0: only re-scored
    }
    return scores
