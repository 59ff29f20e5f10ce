"""Per-run scores of how crude the posterior family is: inference gaps and the KL decomposition.

`posterior_quality_scores(model, dataset, settings, seed)` runs
`benchmark.evaluation.inference_gaps` on held-out images and
`benchmark.evaluation.kl_decomposition` over the data set's factor grid, and
returns their flat keys (nats), plus which estimator each family got:

- `decomposition_full_grid`: 1.0 when the population was the whole grid
  (Gaussian families with `decomposition_population: 0`), else 0.0;
- for sampled families (IAF, whose density at a point needs the flow's
  sequential inverse) the decomposition runs on random grid subsets of
  M/4, M/2 and M images (M = `decomposition_sampled_population`); the main
  keys hold the largest and `decomposition_trend_*` lists all three, so a
  reader sees whether the estimate is still moving with M.

Point-mass models (autoencoders) have none of these: every key is returned
absent with the reason "point mass" (`benchmark.absent`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from benchmark.absent import POINT_MASS_REASON, absent
from benchmark.data.grid import flat_to_factors
from benchmark.evaluation.inference_gaps import GAP_KEYS, inference_gaps, model_log_likelihood
from benchmark.evaluation.kl_decomposition import (
    DECOMPOSITION_TERMS,
    encode_population,
    kl_decomposition,
)

__all__ = [
    "DECOMPOSITION_KEYS",
    "POINT_MASS_REASON",
    "is_point_mass",
    "point_mass_absent",
    "posterior_quality_scores",
]

DECOMPOSITION_KEYS = (
    *(f"decomposition_{t}_nats" for t in DECOMPOSITION_TERMS),
    *(f"decomposition_{t}_se_nats" for t in DECOMPOSITION_TERMS),
    "decomposition_sum_nats",
    "decomposition_sum_se_nats",
    "decomposition_rate_nats",
    "decomposition_log_population",
    "decomposition_population",
    "decomposition_outer_draws",
    "decomposition_full_grid",
)
# Seed offsets, apart from training's and the other evaluation draws.
_GAP_DRAWS, _POPULATION_DRAWS = 3_000_017, 4_000_037
_RENDER_BATCH = 2048


def is_point_mass(model: Any) -> bool:
    """True for models whose q(z|x) is a point mass (no density, no KL)."""
    return bool(getattr(model, "point_mass", False))


def point_mass_absent(keys: tuple[str, ...] | list[str]) -> dict[str, dict[str, str]]:
    """`{key: absent("point mass")}` for scores a point-mass encoder does not have."""
    return {key: absent(POINT_MASS_REASON) for key in keys}


def _grid_batches(dataset: Any, index: np.ndarray, seed: int) -> Iterator[np.ndarray]:
    """Images of the grid points `index` (flat, last factor fastest), rendered in batches."""
    random_state = np.random.RandomState(seed)
    for start in range(0, len(index), _RENDER_BATCH):
        factors = flat_to_factors(index[start : start + _RENDER_BATCH], dataset.factor_sizes)
        yield dataset.sample_observations_from_factors(factors, random_state)


def _decomposition(model: Any, dataset: Any, settings: dict[str, Any], seed: int) -> dict:
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
        for term in DECOMPOSITION_TERMS:
            key = f"decomposition_{term}_nats"
            scores[f"decomposition_trend_{term}_nats"] = [r[key] for r in results]
    return scores


def posterior_quality_scores(
    model: Any,
    dataset: Any,
    settings: dict[str, Any],
    seed: int,
    durations: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Gaps and decomposition keys of one trained model (see the module docstring).

    `settings` are the resolved `benchmark.evaluation.posterior_settings`;
    `gap_images: 0` or `decomposition_outer_draws: 0` leaves that part out.
    `durations`, when given, gets `inference_gaps_s` and `kl_decomposition_s`.
    """
    durations = {} if durations is None else durations
    gaps_on = int(settings["gap_images"]) > 0
    decomposition_on = int(settings["decomposition_outer_draws"]) > 0
    if is_point_mass(model):
        keys = [*(GAP_KEYS if gaps_on else ()), *(DECOMPOSITION_KEYS if decomposition_on else ())]
        return point_mass_absent(keys)
    scores: dict[str, Any] = {}
    started = time.perf_counter()
    if gaps_on:
        random_state = np.random.RandomState(seed + _GAP_DRAWS)
        _, images = dataset.sample(max(2, int(settings["gap_images"])), random_state)
        scores.update(
            inference_gaps(
                model.encode,
                model_log_likelihood(model, int(settings["gap_batch_images"])),
                images,
                seed=seed,
                iw_samples=int(settings["gap_iw_samples"]),
                batch_images=int(settings["gap_batch_images"]),
                steps=int(settings["gap_steps"]),
                learning_rate=float(settings["gap_learning_rate"]),
                step_samples=int(settings["gap_step_samples"]),
                eval_samples=int(settings["gap_eval_samples"]),
                check_every=int(settings["gap_check_every"]),
                tolerance=float(settings["gap_tolerance"]),
            )
        )
    durations["inference_gaps_s"] = time.perf_counter() - started
    started = time.perf_counter()
    if decomposition_on:
        scores.update(_decomposition(model, dataset, settings, seed))
    durations["kl_decomposition_s"] = time.perf_counter() - started
    return scores
