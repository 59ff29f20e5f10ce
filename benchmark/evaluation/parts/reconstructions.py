"""Reconstructions of fixed images: `reconstructions.npy` `[2, 10, H, W, C]` (uint8).

Image data sets only (`benchmark.evaluation.reconstructions`).
"""

from __future__ import annotations

from benchmark.evaluation.part import EvaluationPart, PartContext, PartResult, register_part


def compute(context: PartContext) -> PartResult:
    from benchmark.evaluation.reconstructions import write_reconstructions

    written = write_reconstructions(
        context.model, context.dataset, context.workdir, seed=context.seed
    )
    return PartResult(artifacts=written)


PART = register_part(
    EvaluationPart(
        name="reconstructions",
        summary="reconstructions of ten fixed images (artefact `reconstructions`)",
        compute=compute,
        order=80,
        reusable=False,
        cost="ten encodes and decodes",
    )
)
