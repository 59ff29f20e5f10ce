"""Settings of the inference gaps, the KL decomposition and the rotation controls (no TensorFlow).

They live under `evaluation.settings.latent_scores` in a task file, next to
the latent scores' own settings, e.g.
`latent_scores: {gap_images: 20, gap_iw_samples: 500}`. Each is declared
here once, with its default and its allowed range; `check_setting` is what
config validation calls at load time (before any training), and
`resolve_settings` is what the pipeline calls to split them off and fill in
defaults. A count of 0 for `gap_images`, `decomposition_outer_draws` or
`rotation_controls` switches that score off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benchmark.errors import ArgumentError, UserInputError

__all__ = [
    "POSTERIOR_SETTINGS",
    "PosteriorSetting",
    "check_setting",
    "is_posterior_setting",
    "posterior_setting_defaults",
    "resolve_settings",
]


@dataclass(frozen=True)
class PosteriorSetting:
    """One setting: name, default, kind ("int" or "float"), inclusive minimum, what it does,
    and an inclusive maximum (far above any useful value; it keeps a typo from running out of
    memory or time after training)."""

    name: str
    default: int | float
    kind: str
    minimum: float
    doc: str
    maximum: float = 10_000_000


POSTERIOR_SETTINGS: tuple[PosteriorSetting, ...] = (
    # Inference gaps (Cremer, Li, Duvenaud 2018).
    PosteriorSetting("gap_images", 100, "int", 0, "held-out images for the gaps (0: off)"),
    PosteriorSetting(
        "gap_iw_samples", 5000, "int", 1, "k, importance samples per image for log p(x)"
    ),
    PosteriorSetting(
        "gap_batch_images", 4096, "int", 1, "most decoded images per decoder call (memory bound)"
    ),
    PosteriorSetting("gap_steps", 500, "int", 1, "most Adam steps of q* per image"),
    PosteriorSetting("gap_learning_rate", 0.01, "float", 1e-12, "Adam learning rate of q*"),
    PosteriorSetting("gap_step_samples", 16, "int", 1, "draws per Adam step of q*"),
    PosteriorSetting(
        "gap_eval_samples", 500, "int", 1, "draws of the ELBO estimates of q and q* (shared)"
    ),
    PosteriorSetting("gap_check_every", 25, "int", 1, "Adam steps between ELBO checks of q*"),
    PosteriorSetting(
        "gap_tolerance", 0.01, "float", 0.0, "nats; an image stops once its ELBO gains less"
    ),
    # KL decomposition (Hoffman & Johnson 2016; Chen et al. 2018).
    PosteriorSetting(
        "decomposition_population",
        0,
        "int",
        0,
        "images standing for the data (0: the whole factor grid; N: N grid images)",
    ),
    PosteriorSetting("decomposition_outer_draws", 1000, "int", 0, "draws z ~ q(z|x_n) (0: off)"),
    PosteriorSetting(
        "decomposition_sampled_population",
        500,
        "int",
        2,
        "largest population M for sampled families (IAF), estimated at M/4, M/2, M",
    ),
    PosteriorSetting(
        "decomposition_batch", 2048, "int", 1, "posteriors per block of the mixture density"
    ),
    # Rotation-invariant controls.
    PosteriorSetting(
        "rotation_controls", 1, "int", 0, "1: also score PCA-whitened and ICA mean codes"
    ),
    PosteriorSetting(
        "rotation_fit_points", 2000, "int", 2, "mean codes the PCA and ICA maps are fitted on"
    ),
    PosteriorSetting(
        "active_direction_threshold",
        0.01,
        "float",
        0.0,
        "eigenvalue of Cov_x(E[z|x]) above which a direction is active",
    ),
)

_BY_NAME = {s.name: s for s in POSTERIOR_SETTINGS}


def posterior_setting_defaults() -> dict[str, int | float]:
    """{name: default} of every setting."""
    return {s.name: s.default for s in POSTERIOR_SETTINGS}


def check_setting(name: str, value: object) -> str | None:
    """None when `value` suits setting `name`, else what was expected ('an integer >= 1')."""
    setting = _BY_NAME[name]
    if setting.kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= setting.minimum
        if setting.name == "rotation_controls":
            ok = ok and value in (0, 1)
            return None if ok else "expected 0 or 1"
        if ok and value > setting.maximum:
            return f"expected an integer from {int(setting.minimum)} to {setting.maximum:,.0f}"
        return None if ok else f"expected an integer >= {int(setting.minimum)}"
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and value == value and value >= setting.minimum and value != float("inf")
    if ok and value > setting.maximum:
        return f"expected a number from {setting.minimum:g} to {setting.maximum:,.0f}"
    if setting.minimum > 0:
        return None if ok else "expected a positive number"
    return None if ok else f"expected a finite number >= {setting.minimum:g}"


def resolve_settings(settings: dict[str, object]) -> dict[str, int | float]:
    """Pops this module's settings out of `settings` (in place); returns all of them, defaults
    filled in. A bad value raises `UserInputError` naming the setting."""
    resolved = posterior_setting_defaults()
    for name in list(settings):
        if name in _BY_NAME:
            value = settings.pop(name)
            problem = check_setting(name, value)
            if problem is not None:
                raise UserInputError(f"latent_scores: {name}: {problem}, got {value!r}")
            resolved[name] = value
    return resolved


def is_posterior_setting(name: str) -> bool:
    """True for a setting declared here."""
    return name in _BY_NAME


def setting_check(name: str) -> Callable[[str, object], object]:
    """Setting `name`'s check in the shape of `benchmark.metrics.settings` (raises ArgumentError)."""

    def check(setting: str, value: object) -> object:
        problem = check_setting(setting, value)
        if problem is not None:
            detail = f"{problem}, got {value!r}"
            raise ArgumentError(f"setting {setting!r}: {detail}", argument=setting, detail=detail)
        return value

    return check


# {name: check} of every setting, for the task-file loader (`benchmark.config.catalog`).
SETTING_CHECKS = {s.name: setting_check(s.name) for s in POSTERIOR_SETTINGS}
