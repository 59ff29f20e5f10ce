"""`EvaluationPlan`: what the evaluation reads of a task's evaluation settings.

The evaluation sits below the configuration in the pipeline, so it names the
few attributes it uses here instead of importing the task schema;
`benchmark.config.schema.EvaluationConfig` is one such plan (a frozen
dataclass, so `dataclasses.replace` gives a plan with other metrics).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["EvaluationPlan"]


@runtime_checkable
class EvaluationPlan(Protocol):
    """The metrics to compute, on which representations, whether to compute the latent scores, and each one's settings."""

    metrics: tuple[str, ...]
    representation: tuple[str, ...]
    latent_scores: bool

    def settings_for(self, name: str, accepted: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The settings of one metric (or "latent_scores"): the shared ones, then its own."""
        ...
