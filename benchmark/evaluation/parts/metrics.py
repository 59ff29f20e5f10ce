"""The task's metrics on each representation it names (mean codes, sampled codes).

Each metric is kept as it finishes (`metrics/<kind>/<name>` in the saved
parts), so an interrupted evaluation loses at most the metric that was
running. The metrics' keys come from their specs (`benchmark.metrics`), not
from this part. Durations: `metric_s/<metric>` (`metric_s/sampled/<metric>`
for sampled codes, and `metric_s/draws`, `metric_s/encode`) and `metrics_s`.
"""

from __future__ import annotations

import time
from typing import Any

from benchmark.evaluation.part import EvaluationPart, PartContext, PartResult, register_part

# Run facts and settings `interpretability_scores` returns beside the scores.
_NOT_SCORES = ("sklearn_version", "seed", "skipped", "dci_gbt_random_state")


def _one_representation(context: PartContext, kind: str, result: PartResult) -> None:
    from benchmark.evaluation.interpretability import interpretability_scores

    begun = time.perf_counter()
    prefix = "" if kind == "mean" else f"{kind}/"
    spent: dict[str, float] = {}
    finished: dict[str, dict[str, Any]] = {}
    for name in context.plan.metrics:
        part = context.saved.get(f"metrics/{kind}/{name}") if context.saved else None
        if part is not None:
            finished[name] = part["scores"]
            spent.update(part["durations"])

    def keep(name: str, metric_scores: dict[str, Any], seconds: float) -> None:
        if context.saved is not None:
            context.saved.put(f"metrics/{kind}/{name}", metric_scores, {name: seconds})

    scores = interpretability_scores(
        context.model,
        context.dataset,
        context.plan,
        seed=context.seed,
        kind=kind,
        timings=spent,
        finished=finished,
        on_metric=keep,
    )
    result.scores.update({prefix + k: v for k, v in scores.items() if k not in _NOT_SCORES})
    result.durations.update({f"metric_s/{prefix}{name}": s for name, s in spent.items()})
    result.durations["metrics_s"] = (
        result.durations.get("metrics_s", 0.0) + time.perf_counter() - begun
    )


def compute(context: PartContext) -> PartResult:
    result = PartResult()
    for kind in context.plan.representation:
        _one_representation(context, kind, result)
    return result


PART = register_part(
    EvaluationPart(
        name="metrics",
        summary="the task's disentanglement metrics on each representation (mean, sampled)",
        compute=compute,
        order=10,
        runs_when=lambda plan, settings: bool(plan.metrics),
        switched_on_by="evaluation.metrics",
        cost="per metric (see `disbench list metrics`); DCI's boosted trees dominate",
    )
)
