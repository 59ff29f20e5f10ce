"""The approximation and amortisation gaps (Cremer, Li, Duvenaud 2018) on held-out images.

log p(x) by importance sampling with an optimised q*, the ELBO of the
amortised q and of q*, and the gaps between them, in nats
(`benchmark.evaluation.inference_gaps`). Needs a density. `gap_images: 0`
switches it off. Duration: `inference_gaps_s`.
"""

from __future__ import annotations

import time

import numpy as np

from benchmark.evaluation.part import (
    GAPS,
    EvaluationPart,
    PartContext,
    PartResult,
    ScoreKey,
    register_part,
    with_latent_scores,
)
from benchmark.settings import Setting, integer, number

# Seed offset, apart from training's and the other evaluation draws.
_GAP_DRAWS = 3_000_017
# Far above any useful value: a typo cannot run out of memory or time after training.
_MOST = 10_000_000


def _gap(name: str, label: str, direction: int = 0, **more: object) -> ScoreKey:
    return ScoreKey(name, label, GAPS, direction, absent_without="density", **more)  # type: ignore[arg-type]


KEYS = (
    _gap("gap_log_px_nats", "log p(x), IW with q* (nats)", 1),
    _gap("gap_log_px_se_nats", "log p(x) s.e. (nats)", secondary=True),
    _gap("gap_elbo_q_nats", "ELBO q (nats)", 1),
    _gap("gap_elbo_qstar_nats", "ELBO q* (nats)", 1),
    _gap("approximation_gap_nats", "approximation gap (nats)", -1, headline=True, margin=1.0),
    _gap("approximation_gap_se_nats", "approximation gap s.e.", secondary=True),
    _gap("amortisation_gap_nats", "amortisation gap (nats)", -1),
    _gap("amortisation_gap_se_nats", "amortisation gap s.e.", secondary=True),
    _gap("approximation_gap_check_failed", "gap check failed", -1),
    _gap("gap_qstar_steps_mean", "q* Adam steps (mean)"),
    # Shown in the decomposition-and-gaps table (benchmark.leaderboard.rate_distortion).
    _gap("gap_qstar_steps_max", "q* Adam steps (max)", secondary=True),
    _gap("gap_qstar_at_cap_share", "q* at its step cap (share)", secondary=True),
    _gap("gap_images", "gap images", secondary=True),
)

SETTINGS = (
    Setting("gap_images", 100, integer(0, _MOST), "held-out images for the gaps (0: off)"),
    Setting(
        "gap_iw_samples", 5000, integer(1, _MOST), "k, importance samples per image for log p(x)"
    ),
    Setting("gap_batch_images", 4096, integer(1, _MOST), "most decoded images per decoder call"),
    Setting("gap_steps", 500, integer(1, _MOST), "most Adam steps of q* per image"),
    Setting("gap_learning_rate", 0.01, number(1e-12, _MOST), "Adam learning rate of q*"),
    Setting("gap_step_samples", 16, integer(1, _MOST), "draws per Adam step of q*"),
    Setting("gap_eval_samples", 500, integer(1, _MOST), "draws of the ELBO estimates of q and q*"),
    Setting("gap_check_every", 25, integer(1, _MOST), "Adam steps between ELBO checks of q*"),
    Setting(
        "gap_tolerance", 0.01, number(0.0, _MOST), "nats; an image stops once its ELBO gains less"
    ),
)


def compute(context: PartContext) -> PartResult:
    from benchmark.evaluation.inference_gaps import inference_gaps, model_log_likelihood

    settings = context.settings
    started = time.perf_counter()
    random_state = np.random.RandomState(context.seed + _GAP_DRAWS)
    _, images = context.dataset.sample(max(2, int(settings["gap_images"])), random_state)
    scores = inference_gaps(
        context.model.encode,
        model_log_likelihood(context.model, int(settings["gap_batch_images"])),
        images,
        seed=context.seed,
        iw_samples=int(settings["gap_iw_samples"]),
        batch_images=int(settings["gap_batch_images"]),
        steps=int(settings["gap_steps"]),
        learning_rate=float(settings["gap_learning_rate"]),
        step_samples=int(settings["gap_step_samples"]),
        eval_samples=int(settings["gap_eval_samples"]),
        check_every=int(settings["gap_check_every"]),
        tolerance=float(settings["gap_tolerance"]),
    )
    return PartResult(scores, {"inference_gaps_s": time.perf_counter() - started})


PART = register_part(
    EvaluationPart(
        name="inference_gaps",
        summary="approximation and amortisation gaps, log p(x) with an optimised q* (nats)",
        compute=compute,
        order=40,
        keys=KEYS,
        settings=SETTINGS,
        needs=frozenset({"density"}),
        **with_latent_scores("gap_images"),
        cost="gap_images x (gap_iw_samples decodes + up to gap_steps Adam steps of q*)",
    )
)
