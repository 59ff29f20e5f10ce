"""The run-level hook of the posterior-quality scores: gaps, decomposition, rotation controls.

`posterior_extras(model, dataset, evaluation, seed)` is what the pipeline
calls after the metrics and latent scores. It reads the settings declared in
`benchmark.evaluation.posterior_settings` from `evaluation.settings.latent_scores`
and returns `(scores, durations)`:

- with `latent_scores: true`: the inference gaps and the KL decomposition
  (`benchmark.evaluation.posterior_scores`), absent for point masses;
- with `rotation_controls: 1` and metrics to run: the axis-reading metrics
  of the task (those whose spec declares `rotation_control`) on the mean
  codes after PCA whitening (`pca/<key>`) and after FastICA (`ica/<key>`),
  each map fitted on `rotation_fit_points` seeded mean codes, plus
  `pca/active_directions` (eigenvalues of Cov_x(E[z|x]) above
  `active_direction_threshold`, on the same codes).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from benchmark.evaluation.interpretability import ENCODE_BATCH, interpretability_scores
from benchmark.evaluation.plan import EvaluationPlan
from benchmark.evaluation.posterior_scores import posterior_quality_scores
from benchmark.evaluation.posterior_settings import resolve_settings
from benchmark.evaluation.rotations import ROTATIONS, active_directions, rotated_representation
from benchmark.metrics.spec import METRICS
from benchmark.models import representation_function

__all__ = ["posterior_extras", "rotation_metrics"]
_ROTATION_FIT_DRAWS = 5_000_011
_DROPPED = ("sklearn_version", "seed", "skipped", "dci_gbt_random_state")


def rotation_metrics(names: tuple[str, ...]) -> tuple[str, ...]:
    """The metrics among `names` that declare `rotation_control`: they read single code axes,
    which a rotation of z changes (Rolinek et al. 2019), and are cheap (DCI's boosted trees
    would triple the metrics time per run, so it does not)."""
    return tuple(m for m in names if METRICS.get(m).rotation_control)


def _rotation_scores(
    model: Any, dataset: Any, evaluation: EvaluationPlan, settings: dict, seed: int
) -> dict[str, Any]:
    metrics = rotation_metrics(tuple(evaluation.metrics))
    represent = representation_function(model, "mean", batch_size=ENCODE_BATCH, seed=seed)
    _, fit = dataset.sample(
        int(settings["rotation_fit_points"]), np.random.RandomState(seed + _ROTATION_FIT_DRAWS)
    )
    scores: dict[str, Any] = {
        "pca/active_directions": float(
            active_directions(represent(fit), float(settings["active_direction_threshold"]))
        )
    }
    if not metrics:
        return scores
    subset = replace(evaluation, metrics=metrics)
    for kind in ROTATIONS:
        rotated, rotation = rotated_representation(represent, fit, kind, seed)
        result = interpretability_scores(model, dataset, subset, seed=seed, represent=rotated)
        scores.update({f"{kind}/{k}": v for k, v in result.items() if k not in _DROPPED})
        if kind == "ica":
            scores["ica/fit_iterations"] = float(rotation.iterations)
            scores["ica/fit_converged"] = float(rotation.converged)
    return scores


def posterior_extras(
    model: Any, dataset: Any, evaluation: EvaluationPlan, seed: int
) -> tuple[dict[str, Any], dict[str, float]]:
    """`(scores, durations in seconds)` of the gaps, decomposition and rotation controls."""
    settings = resolve_settings(dict(evaluation.settings_for("latent_scores", ())))
    scores: dict[str, Any] = {}
    durations: dict[str, float] = {}
    if evaluation.latent_scores:
        scores.update(posterior_quality_scores(model, dataset, settings, seed, durations))
    started = time.perf_counter()
    if int(settings["rotation_controls"]) and evaluation.metrics:
        scores.update(_rotation_scores(model, dataset, evaluation, settings, seed))
    durations["rotation_controls_s"] = time.perf_counter() - started
    return scores, durations
