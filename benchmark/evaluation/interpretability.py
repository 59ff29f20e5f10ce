"""Interpretability scores of a trained model: the metrics library run through its encoder."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.evaluation.encoding import metric_representation
from benchmark.evaluation.plan import EvaluationPlan
from benchmark.metrics import METRICS, score_sampled
from benchmark.metrics.score import MetricCallback

__all__ = ["DRAW_SETTINGS", "interpretability_scores"]

# Settings that decide the shared draws of the array metrics (score_sampled's own arguments).
DRAW_SETTINGS = ("num_train", "num_test", "batch_size")

# Inputs per encoder call when computing codes for the metrics; larger batches
# keep a CPU busy, and the codes do not depend on it for the Gaussian families.
ENCODE_BATCH = 256


def _metric_settings(evaluation: EvaluationPlan, name: str) -> dict[str, Any]:
    """Keyword settings of one metric: the shared ones it accepts, then its own on top.

    For array metrics these include the draws (`num_train`, `num_test`,
    `batch_size`). BetaVAE and FactorVAE draw their own batches and never take
    the shared `batch_size` (16 for the array draws, 64 for theirs), only their own.
    """
    metric = METRICS.get(name)
    if metric.needs_dataset:
        accepted = tuple(p for p in metric.setting_names() if p != "batch_size")
    else:
        accepted = (*DRAW_SETTINGS, *metric.array_settings())
    return evaluation.settings_for(name, accepted)


def interpretability_scores(
    model: Any,
    dataset: GroundTruthData,
    evaluation: EvaluationPlan,
    *,
    seed: int,
    kind: str = "mean",
    timings: dict[str, float] | None = None,
    represent: Callable[[np.ndarray], np.ndarray] | None = None,
    finished: Mapping[str, Mapping[str, object]] | None = None,
    on_metric: MetricCallback | None = None,
) -> dict[str, object]:
    """Every metric of `evaluation.metrics` on codes of `model` (posterior means or samples).

    Each metric starts from `RandomState(seed)`, as in disentanglement_lib's
    study. Array metrics with the same draws (`num_train`, `num_test`,
    `batch_size`) share one set of points, so a per-metric override such as
    `dci: {num_train: 1000}` draws separately for DCI alone. Keys are the
    metrics library's (see `benchmark.metrics`).

    Codes come from `benchmark.evaluation.encoding.metric_representation`:
    for the Gaussian families' mean codes on dSprites every distinct image is
    encoded once for all metrics. `timings`, when given, receives wall
    seconds per metric name (including the rendering and encoding of the
    images it was the first to ask for), `draws` (shared points of the array
    metrics; `draws/<names>` for a group with its own draws) and `encode` (all rendering
    and encoding of the shared code table).
    `represent` replaces the encoder's codes (e.g. rotated mean codes,
    `benchmark.evaluation.rotations`). `finished` maps metrics already
    computed (by an interrupted earlier call) to their keys, which are taken
    as they are; `on_metric(name, scores, seconds)` is called as each of the
    others finishes (see `benchmark.metrics.score_sampled`), so a caller can
    keep them.
    """
    if represent is None:
        represent = metric_representation(model, dataset, kind, batch_size=ENCODE_BATCH, seed=seed)
    finished = dict(finished or {})
    groups: dict[tuple, dict[str, dict[str, Any]]] = {}
    for name in evaluation.metrics:
        if name in finished:
            continue
        settings = _metric_settings(evaluation, name)
        draws = {}
        if not METRICS.get(name).needs_dataset:  # BetaVAE/FactorVAE draw their own batches
            draws = {k: settings.pop(k) for k in DRAW_SETTINGS if k in settings}
        groups.setdefault(tuple(sorted(draws.items())), {})[name] = settings
    result: dict[str, object] = {}
    for name in evaluation.metrics:
        result.update(finished.get(name, {}))
    for number, (draws, members) in enumerate(groups.items()):
        spent: dict[str, float] = {}
        result.update(
            score_sampled(
                dataset,
                represent,
                seed=seed,
                metrics=list(members),
                settings={k: v for k, v in members.items() if v},
                timings=spent,
                on_metric=on_metric,
                **dict(draws),
            )
        )
        if timings is not None:
            if "draws" in spent and number:
                spent["draws/" + "+".join(members)] = spent.pop("draws")
            timings.update(spent)
    coder = getattr(represent, "codes_of_factors", None)
    if timings is not None and coder is not None:
        timings["encode"] = coder.encode_s
    return result
