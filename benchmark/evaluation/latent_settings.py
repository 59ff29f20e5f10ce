"""The latent scores' settings, declared once: name, default and check (no TensorFlow).

A task sets them under `evaluation.settings` (all settings) or
`evaluation.settings.latent_scores`. The task loader reads this module to
check them; `benchmark.evaluation.latent_scores.latent_scores` takes
`SCORE_SETTINGS` as keyword arguments, the pipeline draws `SAMPLE_SETTINGS`
images, and the gaps, the decomposition and the rotation controls take
theirs from `benchmark.evaluation.posterior_settings`.
"""

from __future__ import annotations

from benchmark.evaluation import posterior_settings
from benchmark.metrics.settings import MAX_POINTS, Setting, SettingCheck, integer

__all__ = ["SAMPLE_SETTINGS", "SCORE_SETTINGS", "setting_checks", "setting_names"]

# Keyword settings of `latent_scores` (a test keeps them in step with its signature).
SCORE_SETTINGS = (
    Setting("posterior_samples", 1000, integer(2, 1_000_000)),
    Setting("marginal_samples", 64, integer(2, 1_000_000)),
    Setting("iw_samples", 100, integer(1, 100_000)),
    Setting("batch_size", 64, integer(1, 65_536)),
    Setting("reconstruction_samples", 1, integer(1, 10_000)),
    Setting("tc_sample_size", 1000, integer(2, MAX_POINTS)),
)

# What the pipeline draws: images the latent scores average over (at least two), held-out
# images of the importance-weighted bound, and the stratified grid of the posterior MIG.
SAMPLE_SETTINGS = (
    Setting("num_points", 1000, integer(2, MAX_POINTS)),
    Setting("num_heldout", 500, integer(1, MAX_POINTS)),
    Setting("posterior_mig_points", 2000, integer(2, MAX_POINTS)),
)


def setting_names() -> tuple[str, ...]:
    """Every setting of the latent scores, sorted."""
    names = {s.name for s in (*SCORE_SETTINGS, *SAMPLE_SETTINGS)}
    return tuple(sorted(names | set(posterior_settings.posterior_setting_defaults())))


def setting_checks() -> dict[str, SettingCheck]:
    """`{setting: check(name, value) -> value}` of every setting of the latent scores."""
    return {
        **{s.name: s.check for s in (*SCORE_SETTINGS, *SAMPLE_SETTINGS)},
        **posterior_settings.SETTING_CHECKS,
    }
