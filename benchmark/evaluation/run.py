"""`evaluate`: a trained model's whole evaluation, the registered parts in order.

Each part the task asks for (`EvaluationPart.runs_when`) runs once; a part
finished by an earlier, interrupted attempt on the same training is taken
from the run's saved parts (`benchmark.evaluation.saved_parts`). A part that
needs a capability the model's posterior lacks is not run, and its keys that
declare `absent_without` that capability are stored absent with the reason
(`benchmark.absent`): this is the one place the capability is checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.absent import absent
from benchmark.evaluation.part import (
    CAPABILITIES,
    SETTINGS_SECTION,
    EvaluationPart,
    PartContext,
    PartResult,
    ordered_parts,
    part_setting_checks,
    part_setting_defaults,
)
from benchmark.evaluation.plan import EvaluationPlan
from benchmark.evaluation.saved_parts import SavedParts

__all__ = ["Evaluation", "evaluate", "model_capabilities", "resolved_settings"]

# Durations summed over the parts that report them; every other duration is kept per part.
_TOTALS = ("metrics_s", "latent_scores_s")


def model_capabilities(model: Any) -> frozenset[str]:
    """What `model`'s posterior has: "density" unless it declares `has_density = False`."""
    return frozenset(c for c in CAPABILITIES if getattr(model, f"has_{c}", True))


def resolved_settings(plan: EvaluationPlan) -> dict[str, Any]:
    """Every part's settings: the task's (`evaluation.settings.latent_scores`), checked, over
    the declared defaults."""
    checks = part_setting_checks()
    given = plan.settings_for(SETTINGS_SECTION, ())
    return {
        **part_setting_defaults(),
        **{k: checks[k](k, v) if k in checks else v for k, v in given.items()},
    }


@dataclass
class Evaluation:
    """What `evaluate` returns: every part's scores, artefacts and durations (seconds), and
    how many parts were taken from an earlier attempt."""

    scores: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=lambda: dict.fromkeys(_TOTALS, 0.0))
    reused: int = 0

    def add(self, result: Mapping[str, Any]) -> None:
        self.scores.update(result["scores"])
        self.artifacts.update(result["artifacts"])
        for key, value in result["durations"].items():
            self.durations[key] = self.durations.get(key, 0.0) + value if key in _TOTALS else value


def _absent_keys(part: EvaluationPart, capabilities: frozenset[str]) -> dict[str, Any]:
    return {
        key.name: absent(CAPABILITIES[key.absent_without])
        for key in part.keys
        if key.absent_without and key.absent_without not in capabilities
    }


def evaluate(
    model: Any,
    dataset: Any,
    plan: EvaluationPlan,
    *,
    seed: int,
    workdir: Path,
    saved: SavedParts,
    parts: list[EvaluationPart] | None = None,
) -> Evaluation:
    """Runs `parts` (default: every registered part, in order) on a trained model."""
    settings = resolved_settings(plan)
    capabilities = model_capabilities(model)
    context = PartContext(model, dataset, plan, seed, settings, Path(workdir), saved, capabilities)
    evaluation = Evaluation()
    for part in ordered_parts() if parts is None else parts:
        if not part.runs_when(plan, settings):
            continue
        done = saved.get(part.name) if part.reusable else None
        if done is not None and all(
            (context.workdir / f).exists() for f in done["artifacts"].values()
        ):
            evaluation.reused += 1
            evaluation.add(done)
            continue
        result = part.compute(context) if part.needs <= capabilities else PartResult()
        result.scores = {**_absent_keys(part, capabilities), **result.scores}
        record = {
            "scores": result.scores,
            "durations": result.durations,
            "artifacts": result.artifacts,
        }
        if part.reusable:
            saved.put(part.name, **record)
        evaluation.add(record)
    return evaluation
