"""What an evaluation part declares about itself: `EvaluationPart`, `ScoreKey`, `register_part`.

A run's evaluation is an ordered list of parts (the metrics, the latent
scores, the posterior MIG and UDR codes, the inference gaps, the KL
decomposition, the rotation controls, traversals, reconstructions). Each is
one module in `benchmark/evaluation/parts/` that ends with

    PART = register_part(EvaluationPart(name=..., summary=..., keys=(...), compute=...))

and declares its typed settings (with defaults and checks), the score keys it
writes (label, leaderboard group, direction), the capabilities it needs of
the model's posterior, and its cost. `benchmark.evaluation.run.evaluate`
runs the parts in order; the task loader, `disbench list` and the
leaderboard's columns read the declarations. Nothing else lists a part, its
keys or its settings, so adding a latent score is adding one file.

Capabilities (`needs`): "density" (q(z|x) has a density and a KL: every VAE
family; a point-mass encoder, an autoencoder, has none). A part that needs a
capability the model lacks is not computed: its declared keys are stored
absent with the reason (`benchmark.absent`), in this one place.

Importing this module does not import TensorFlow: a part's `compute` imports
what it needs when it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.absent import POINT_MASS_REASON
from benchmark.evaluation.plan import EvaluationPlan
from benchmark.registry import DiscoveredRegistry
from benchmark.settings import Setting

__all__ = [
    "CAPABILITIES",
    "GAPS",
    "RECONSTRUCTION",
    "PARTS",
    "SETTINGS_SECTION",
    "EvaluationPart",
    "PartContext",
    "PartResult",
    "ScoreKey",
    "ordered_parts",
    "part_setting_checks",
    "part_setting_defaults",
    "register_part",
    "with_latent_scores",
]

# The section of `evaluation.settings` every part's settings live in (a task file writes
# `evaluation: {settings: {latent_scores: {gap_images: 20}}}`).
SETTINGS_SECTION = "latent_scores"
# Leaderboard tables of the parts' keys besides the metrics' groups (`benchmark.metrics.spec`).
RECONSTRUCTION = "Reconstruction"
GAPS = "Inference gaps and rate decomposition"
# What a part may need of the model's posterior, and why a model lacking it scores absent.
CAPABILITIES = {"density": POINT_MASS_REASON}

PARTS: DiscoveredRegistry[EvaluationPart] = DiscoveredRegistry(
    "evaluation part", "benchmark.evaluation.parts"
)


@dataclass(frozen=True)
class ScoreKey:
    """One score key a part writes.

    `label` and `direction` (+1 higher is better, -1 lower, 0 neither) make it a
    leaderboard column of table `group`; a key without a label is stored and
    listed under "Other scores" if it is a number. `headline`: plotted against
    the swept argument. `margin`: the equivalence margin of the leaderboard's
    paired contrasts (None: not contrasted). `duplicate_of`: left out of the
    tables when that key is shown. `secondary`: stored, not tabled (standard
    errors, bookkeeping counts, scale-dependent variants). `absent_without`: a
    capability without which this key is stored absent (a point mass has
    reconstructions and codes, but no rate or ELBO).
    """

    name: str
    label: str = ""
    group: str = ""
    direction: int = 0
    headline: bool = False
    margin: float | None = None
    duplicate_of: str = ""
    secondary: bool = False
    absent_without: str = ""

    def __post_init__(self) -> None:
        if self.direction not in (1, -1, 0):
            raise ValueError(f"score key {self.name!r}: direction must be 1, -1 or 0")
        if self.label and not self.group:
            raise ValueError(f"score key {self.name!r}: a labelled key needs its table (group)")
        if self.absent_without and self.absent_without not in CAPABILITIES:
            raise ValueError(f"score key {self.name!r}: unknown capability {self.absent_without!r}")


@dataclass
class PartContext:
    """What a part's `compute` gets: the model, data, plan, seed, resolved settings, run folder.

    `settings` holds every part's settings with defaults filled in (parts
    share one section of the task file). `saved` is the run's
    `benchmark.evaluation.saved_parts.SavedParts`, for a part that keeps
    finished pieces of itself (the metrics keep each metric). `capabilities`:
    what the model's posterior has (see the module docstring).
    """

    model: Any
    dataset: Any
    plan: EvaluationPlan
    seed: int
    settings: Mapping[str, Any]
    workdir: Path
    saved: Any = None
    capabilities: frozenset[str] = frozenset(CAPABILITIES)


@dataclass
class PartResult:
    """A part's output: scores, durations (seconds, by name) and artefacts ({name: file})."""

    scores: dict[str, Any] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EvaluationPart:
    """One part of a run's evaluation.

    Attributes:
      name: short name; also the part's name in the saved-parts file.
      summary: one line for `disbench list parts`.
      compute: `(PartContext) -> PartResult`.
      order: position in the evaluation (lower first).
      keys: the score keys it writes, in table order (a part whose keys come
        from elsewhere, such as the metrics' from their specs, lists none).
      settings: its typed settings, under `evaluation.settings.latent_scores`.
      needs: capabilities of the posterior it needs (see the module docstring).
      runs_when: `(plan, settings) -> bool`: whether the task asks for it.
      switched_on_by: what in a task file makes `runs_when` true (for messages).
      cost: what its time grows with, for `disbench list parts`.
      reusable: whether a finished part is kept for a re-run of an interrupted
        evaluation (False for parts that write only artefacts).
    """

    name: str
    summary: str
    compute: Callable[[PartContext], PartResult]
    order: int = 100
    keys: tuple[ScoreKey, ...] = ()
    settings: tuple[Setting, ...] = ()
    needs: frozenset[str] = frozenset()
    runs_when: Callable[[EvaluationPlan, Mapping[str, Any]], bool] = lambda plan, settings: True
    switched_on_by: str = ""
    cost: str = ""
    reusable: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.needs) - set(CAPABILITIES)
        if unknown:
            raise ValueError(f"part {self.name!r}: unknown capabilities {sorted(unknown)}")


def with_latent_scores(count: str = "") -> dict[str, Any]:
    """`runs_when` and `switched_on_by` of a part that runs with `evaluation.latent_scores:
    true` and, given `count`, while that setting is above 0 (e.g. `gap_images: 0` is off)."""

    def runs_when(plan: EvaluationPlan, settings: Mapping[str, Any]) -> bool:
        return bool(plan.latent_scores) and (not count or int(settings[count]) > 0)

    text = "evaluation.latent_scores: true" + (f" and {count} > 0" if count else "")
    return {"runs_when": runs_when, "switched_on_by": text}


def register_part(part: EvaluationPart) -> EvaluationPart:
    """Registers `part` under its name (a module of `benchmark/evaluation/parts/` calls this)."""
    PARTS.add(part.name, part)
    return part


def ordered_parts() -> list[EvaluationPart]:
    """Every registered part, in evaluation order."""
    return sorted((PARTS.get(n) for n in PARTS.names()), key=lambda p: (p.order, p.name))


def _settings() -> list[Setting]:
    declared: dict[str, Setting] = {}
    for part in ordered_parts():
        for setting in part.settings:
            if declared.get(setting.name, setting) != setting:
                raise ValueError(f"setting {setting.name!r} is declared twice, differently")
            declared[setting.name] = setting
    return list(declared.values())


def part_setting_defaults() -> dict[str, object]:
    """`{setting: default}` of every part's settings."""
    return {s.name: s.default for s in _settings()}


def part_setting_checks() -> dict[str, Callable[[str, object], object]]:
    """`{setting: check(name, value) -> value}` of every part's settings."""
    return {s.name: s.check for s in _settings()}
