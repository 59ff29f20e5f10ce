"""Interpretability scores of a trained model: the metrics library run through its encoder."""

from __future__ import annotations

import inspect
from typing import Any

from benchmark.config.schema import EvaluationConfig
from benchmark.data.base import GroundTruthData
from benchmark.metrics import METRICS, score_sampled
from benchmark.models import representation_function

__all__ = ["DRAW_SETTINGS", "interpretability_scores"]

# Settings that decide the shared draws of the array metrics (score_sampled's own arguments).
DRAW_SETTINGS = ("num_train", "num_test", "batch_size")

# Inputs per encoder call when computing codes for the metrics; larger batches
# keep a CPU busy, and the codes do not depend on it for the Gaussian families.
ENCODE_BATCH = 256


def _metric_settings(evaluation: EvaluationConfig, name: str) -> dict[str, Any]:
    """Per-metric keyword settings for `score_sampled(settings=...)`.

    Array metrics share the task's draws (`num_train`, `num_test`, `batch_size`
    at the top level), so they get only their own overrides. BetaVAE and
    FactorVAE draw their own batches: they take the shared settings they
    accept except `batch_size` (16 for the array draws, 64 for theirs), plus
    their own.
    """
    metric = METRICS.get(name)
    if not metric.needs_dataset:
        own = evaluation.settings.get(name, {})
        return {k: v for k, v in dict(own).items() if k not in DRAW_SETTINGS}
    accepted = tuple(p for p in inspect.signature(metric.sampled).parameters if p != "batch_size")
    return evaluation.settings_for(name, accepted)


def interpretability_scores(
    model: Any,
    dataset: GroundTruthData,
    evaluation: EvaluationConfig,
    *,
    seed: int,
    kind: str = "mean",
) -> dict[str, object]:
    """Every metric of `evaluation.metrics` on codes of `model` (posterior means or samples).

    Each metric starts from `RandomState(seed)`, as in disentanglement_lib's
    study; keys are the metrics library's (see `benchmark.metrics`).
    """
    represent = representation_function(model, kind, batch_size=ENCODE_BATCH, seed=seed)
    draws = {k: evaluation.settings[k] for k in DRAW_SETTINGS if k in evaluation.settings}
    settings = {name: _metric_settings(evaluation, name) for name in evaluation.metrics}
    return score_sampled(
        dataset,
        represent,
        seed=seed,
        metrics=list(evaluation.metrics),
        settings={k: v for k, v in settings.items() if v},
        **draws,
    )
