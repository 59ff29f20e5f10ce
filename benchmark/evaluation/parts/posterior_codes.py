"""The posterior MIG (Chen et al. 2018) and the shared codes UDR compares across runs.

`posterior_mig`, `posterior_mig_chen` (Chen et al.'s protocol: dSprites
without shape) and their per-factor arrays, from each point's marginals
q(z_j|x) on a stratified grid sample of `posterior_mig_points` points
(`benchmark.evaluation.posterior_codes`); absent without a density. The
`udr_codes` artefact (posterior means and per-latent KL of one shared image
sample) is written for every model: the leaderboard computes UDR (Duan et
al. 2020) across runs from it. Durations are counted in `latent_scores_s`.
"""

from __future__ import annotations

import time

from benchmark.evaluation.part import (
    EvaluationPart,
    PartContext,
    PartResult,
    ScoreKey,
    register_part,
    with_latent_scores,
)
from benchmark.metrics.settings import MAX_POINTS
from benchmark.metrics.spec import INTERPRETABILITY
from benchmark.settings import Setting, integer

KEYS = (
    ScoreKey(
        "posterior_mig",
        "MIG (posterior)",
        INTERPRETABILITY,
        1,
        margin=0.05,
        absent_without="density",
    ),
    ScoreKey(
        "posterior_mig_chen",
        "MIG (Chen et al.: posterior, shape left out)",
        INTERPRETABILITY,
        1,
        margin=0.05,
        absent_without="density",
    ),
    ScoreKey("posterior_mig_per_factor", absent_without="density"),
    ScoreKey("posterior_mutual_info_matrix_codes_x_factors", absent_without="density"),
    ScoreKey("posterior_latent_entropy_nats", absent_without="density"),
)


def compute(context: PartContext) -> PartResult:
    from benchmark.evaluation.posterior_codes import posterior_mig_scores, write_shared_codes

    started = time.perf_counter()
    scores = {}
    if "density" in context.capabilities:
        scores = posterior_mig_scores(
            context.model,
            context.dataset,
            seed=context.seed,
            posterior_mig_points=int(context.settings["posterior_mig_points"]),
        )
    written = write_shared_codes(context.model, context.dataset, context.workdir, seed=context.seed)
    return PartResult(scores, {"latent_scores_s": time.perf_counter() - started}, written)


PART = register_part(
    EvaluationPart(
        name="posterior_codes",
        summary="posterior MIG (Chen et al. 2018) and the shared codes of UDR (Duan et al. 2020)",
        compute=compute,
        order=30,
        keys=KEYS,
        settings=(
            Setting(
                "posterior_mig_points",
                2000,
                integer(2, MAX_POINTS),
                "stratified grid points of the posterior MIG",
            ),
        ),
        **with_latent_scores(),
        cost="posterior_mig_points encodings (x 64 flow draws for IAF) and 1,000 shared images",
    )
)
