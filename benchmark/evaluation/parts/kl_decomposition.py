"""The KL decomposition of the rate (Hoffman & Johnson 2016; Chen et al. 2018, eq. 2).

E_x KL(q(z|x) || p(z)) = I(x; z) + TC q(z) + sum_j KL(q(z_j) || p(z_j)), in
nats, with the data set's factor grid as the population
(`benchmark.evaluation.kl_decomposition`):

- Gaussian families: the whole grid (`decomposition_population: 0`) or N grid
  images; `decomposition_full_grid` says which;
- sampled families (IAF, whose density at a point needs the flow's sequential
  inverse): random grid subsets of M/4, M/2 and M images (M =
  `decomposition_sampled_population`); the main keys hold the largest and
  `decomposition_trend_*` lists all three, so a reader sees whether the
  estimate still moves with M.

Needs a density. `decomposition_outer_draws: 0` switches it off. Duration:
`kl_decomposition_s`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

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
from benchmark.settings import Setting, integer

# Seed offset, apart from training's and the other evaluation draws.
_POPULATION_DRAWS = 4_000_037
_RENDER_BATCH = 2048
_MOST = 10_000_000
_TERMS = ("mutual_information", "total_correlation", "dimension_wise_kl")


def _key(name: str, label: str, direction: int = 0, **more: Any) -> ScoreKey:
    return ScoreKey(name, label, GAPS, direction, absent_without="density", **more)


KEYS = (
    _key("decomposition_rate_nats", "rate over population (nats)"),
    _key("decomposition_mutual_information_nats", "I(x; z) (nats)"),
    _key("decomposition_total_correlation_nats", "TC q(z), mixture (nats)", -1, headline=True),
    _key("decomposition_dimension_wise_kl_nats", "dim.-wise KL (nats)", -1),
    # Bookkeeping and standard errors: shown in the decomposition-and-gaps table
    # (benchmark.leaderboard.rate_distortion), not tabled as columns.
    _key("decomposition_sum_nats", "I + TC + dim.-wise KL (nats)", secondary=True),
    _key("decomposition_mutual_information_se_nats", "I(x; z) s.e.", secondary=True),
    _key("decomposition_total_correlation_se_nats", "TC q(z) s.e.", secondary=True),
    _key("decomposition_dimension_wise_kl_se_nats", "dim.-wise KL s.e.", secondary=True),
    _key("decomposition_sum_se_nats", "decomposition sum s.e.", secondary=True),
    _key("decomposition_log_population", "log N (nats)", secondary=True),
    _key("decomposition_population", "population N", secondary=True),
    _key("decomposition_outer_draws", "outer draws", secondary=True),
    _key("decomposition_full_grid", "full grid (1) or subset (0)", secondary=True),
    # Sampled families only.
    ScoreKey("decomposition_trend_population", "trend: population M", GAPS),
    ScoreKey("decomposition_trend_mutual_information_nats", "trend: I(x; z)", GAPS),
    ScoreKey("decomposition_trend_total_correlation_nats", "trend: TC q(z)", GAPS),
    ScoreKey("decomposition_trend_dimension_wise_kl_nats", "trend: dim.-wise KL", GAPS),
)

SETTINGS = (
    Setting(
        "decomposition_population",
        0,
        integer(0, _MOST),
        "images standing for the data (0: the whole factor grid; N: N grid images)",
    ),
    Setting("decomposition_outer_draws", 1000, integer(0, _MOST), "draws z ~ q(z|x_n) (0: off)"),
    Setting(
        "decomposition_sampled_population",
        500,
        integer(2, _MOST),
        "largest population M for sampled families (IAF), estimated at M/4, M/2, M",
    ),
    Setting("decomposition_batch", 2048, integer(1, _MOST), "posteriors per block of the mixture"),
)


def _grid_batches(dataset: Any, index: np.ndarray, seed: int) -> Iterator[np.ndarray]:
    """Images of the grid points `index` (flat, last factor fastest), rendered in batches."""
    from benchmark.data.grid import flat_to_factors

    random_state = np.random.RandomState(seed)
    for start in range(0, len(index), _RENDER_BATCH):
        factors = flat_to_factors(index[start : start + _RENDER_BATCH], dataset.factor_sizes)
        yield dataset.sample_observations_from_factors(factors, random_state)


def compute(context: PartContext) -> PartResult:
    from benchmark.evaluation.kl_decomposition import encode_population, kl_decomposition

    model, dataset, settings, seed = context.model, context.dataset, context.settings, context.seed
    started = time.perf_counter()
    grid = int(np.prod(dataset.factor_sizes, dtype=np.float64))
    rng = np.random.default_rng([int(seed), _POPULATION_DRAWS])
    probe = next(_grid_batches(dataset, np.arange(2), seed))
    sampled = not model.encode(probe).closed_form_kl
    if sampled:
        largest = min(int(settings["decomposition_sampled_population"]), grid)
        sizes = sorted({max(2, largest // 4), max(2, largest // 2), largest})
    else:
        requested = int(settings["decomposition_population"])
        sizes = [grid if requested == 0 else min(requested, grid)]
    results = []
    for size in sizes:
        index = np.arange(grid) if size == grid else np.sort(rng.choice(grid, size, replace=False))
        params, build = encode_population(model.encode, _grid_batches(dataset, index, seed))
        results.append(
            kl_decomposition(
                params,
                build,
                outer_draws=int(settings["decomposition_outer_draws"]),
                seed=seed,
                batch_size=int(settings["decomposition_batch"]),
            )
        )
    scores: dict[str, Any] = dict(results[-1])
    scores["decomposition_full_grid"] = float(sizes[-1] == grid)
    if sampled:
        scores["decomposition_trend_population"] = [float(s) for s in sizes]
        for term in _TERMS:
            key = f"decomposition_{term}_nats"
            scores[f"decomposition_trend_{term}_nats"] = [r[key] for r in results]
    return PartResult(scores, {"kl_decomposition_s": time.perf_counter() - started})


PART = register_part(
    EvaluationPart(
        name="kl_decomposition",
        summary="rate = I(x; z) + TC q(z) + dimension-wise KL over the factor grid (nats)",
        compute=compute,
        order=50,
        keys=KEYS,
        settings=SETTINGS,
        needs=frozenset({"density"}),
        **with_latent_scores("decomposition_outer_draws"),
        cost="population x outer_draws mixture densities (the whole 737,280-image grid by default)",
    )
)
