"""Rotation controls: the axis-reading metrics again on PCA-whitened and FastICA mean codes.

A rotation of z changes every metric that reads single code axes (Rolinek
et al. 2019). With `rotation_controls: 1`, the task's metrics whose spec
declares `rotation_control` are scored on the mean codes after PCA whitening
(`pca/<key>`) and after FastICA (`ica/<key>`), each map fitted on
`rotation_fit_points` seeded mean codes (`benchmark.evaluation.rotations`),
with `pca/active_directions`: eigenvalues of Cov_x(E[z|x]) above
`active_direction_threshold` on the same codes. DCI's boosted trees would
triple the metrics' time per run, so DCI does not declare it. Duration:
`rotation_controls_s`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from benchmark.evaluation.part import (
    EvaluationPart,
    PartContext,
    PartResult,
    ScoreKey,
    register_part,
)
from benchmark.metrics.spec import CORRELATION, METRICS
from benchmark.settings import Setting, integer, number, switch

__all__ = ["rotation_metrics"]

_ROTATION_FIT_DRAWS = 5_000_011
_NOT_SCORES = ("sklearn_version", "seed", "skipped", "dci_gbt_random_state")

KEYS = (
    # A whole key: on the codes PCA is fitted on (a different sample from the latent
    # scores' "active directions", so it has its own label).
    ScoreKey("pca/active_directions", "active directions, PCA fit codes", CORRELATION),
    # FastICA's fit: iterations, and 0 where it hit its cap.
    ScoreKey("ica/fit_iterations", secondary=True),
    ScoreKey("ica/fit_converged", secondary=True),
)


def rotation_metrics(names: tuple[str, ...]) -> tuple[str, ...]:
    """The metrics among `names` that declare `rotation_control`."""
    return tuple(m for m in names if METRICS.get(m).rotation_control)


def compute(context: PartContext) -> PartResult:
    from benchmark.evaluation.interpretability import ENCODE_BATCH, interpretability_scores
    from benchmark.evaluation.rotations import (
        ROTATIONS,
        active_directions,
        rotated_representation,
    )
    from benchmark.models import representation_function

    model, dataset, seed = context.model, context.dataset, context.seed
    started = time.perf_counter()
    metrics = rotation_metrics(tuple(context.plan.metrics))
    represent = representation_function(model, "mean", batch_size=ENCODE_BATCH, seed=seed)
    _, fit = dataset.sample(
        int(context.settings["rotation_fit_points"]),
        np.random.RandomState(seed + _ROTATION_FIT_DRAWS),
    )
    threshold = float(context.settings["active_direction_threshold"])
    scores: dict[str, Any] = {
        "pca/active_directions": float(active_directions(represent(fit), threshold))
    }
    if metrics:
        subset = replace(context.plan, metrics=metrics)
        for kind in ROTATIONS:
            rotated, rotation = rotated_representation(represent, fit, kind, seed)
            result = interpretability_scores(model, dataset, subset, seed=seed, represent=rotated)
            scores.update({f"{kind}/{k}": v for k, v in result.items() if k not in _NOT_SCORES})
            if kind == "ica":
                scores["ica/fit_iterations"] = float(rotation.iterations)
                scores["ica/fit_converged"] = float(rotation.converged)
    return PartResult(scores, {"rotation_controls_s": time.perf_counter() - started})


PART = register_part(
    EvaluationPart(
        name="rotation_controls",
        summary="axis-reading metrics on PCA-whitened and FastICA mean codes (pca/, ica/)",
        compute=compute,
        order=60,
        keys=KEYS,
        settings=(
            Setting(
                "rotation_controls", 1, switch, "1: also score PCA-whitened and ICA mean codes"
            ),
            Setting(
                "rotation_fit_points",
                2000,
                integer(2, 10_000_000),
                "mean codes the PCA and ICA maps are fitted on",
            ),
            Setting(
                "active_direction_threshold",
                0.01,
                number(0.0, 10_000_000),
                "eigenvalue of Cov_x(E[z|x]) above which a direction is active",
            ),
        ),
        runs_when=lambda plan, settings: (
            bool(plan.metrics) and int(settings["rotation_controls"]) == 1
        ),
        switched_on_by="evaluation.metrics and rotation_controls: 1",
        cost="rotation_fit_points encodings, a PCA and a FastICA fit, the declaring metrics twice",
    )
)
