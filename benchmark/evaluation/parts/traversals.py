"""Latent traversals of one seeded image: `traversals.npy` `[latents, steps, H, W, C]` (float16).

Image data sets only; the leaderboard draws them (`benchmark.evaluation.traversals`).
"""

from __future__ import annotations

import numpy as np

from benchmark.evaluation.part import EvaluationPart, PartContext, PartResult, register_part

_TRAVERSAL_DRAW = 2_000_003  # seed offset, apart from the other evaluation draws


def compute(context: PartContext) -> PartResult:
    from benchmark.evaluation.traversals import latent_traversals

    if len(context.dataset.observation_shape) != 3:
        return PartResult()
    random_state = np.random.RandomState(context.seed + _TRAVERSAL_DRAW)
    _, observation = context.dataset.sample(1, random_state)
    images = latent_traversals(context.model, observation[0], seed=context.seed)
    path = context.workdir / "traversals.npy"
    np.save(path, images.astype(np.float16))
    return PartResult(artifacts={"traversals": path.name})


PART = register_part(
    EvaluationPart(
        name="traversals",
        summary="latent traversals of one image (artefact `traversals`)",
        compute=compute,
        order=70,
        reusable=False,
        cost="latents x steps decodes",
    )
)
