"""Z-min Variance (Carbonneau et al. 2022, "Measuring Disentanglement: A Review of Metrics",
section 4.1): the FactorVAE score of Kim & Mnih (2018) computed from given codes and factors.

`factor_vae` draws its batches from the data set's simulator, so it needs a
model to encode new images. Z-min Variance draws each batch with one factor
fixed from the given points (`benchmark.metrics.fixed_factor_batches`), so it
scores codes from any framework (`disbench score`). Otherwise it is the same
score: codes are divided by their standard deviation over all given points,
dimensions with a standard deviation below 0.05 are pruned, each batch votes for
(its fixed factor, the active dimension of least relative variance), a
majority-vote classifier is read off the training votes, and the score is its
accuracy on the evaluation votes.
"""

from __future__ import annotations

import numpy as np

from benchmark.metrics import settings
from benchmark.metrics.factor_vae import active_dims, factor_vae_from_votes, factor_vae_votes
from benchmark.metrics.fixed_factor_batches import DRAW_RANDOM_STATE, fixed_factor_batches
from benchmark.metrics.spec import HIGHER, Key, MetricSpec, register_metric

__all__ = ["METRIC", "z_min_var"]

NUM_VOTES_TRAIN = settings.Setting("num_votes_train", 800, settings.integer(1, 1_000_000))
NUM_VOTES_EVAL = settings.Setting("num_votes_eval", 800, settings.integer(1, 1_000_000))
VOTE_BATCH_SIZE = settings.Setting("vote_batch_size", 64, settings.integer(2, 65_536))


def z_min_var(
    codes: np.ndarray,
    factors: np.ndarray,
    num_votes_train: int = 800,
    num_votes_eval: int = 800,
    vote_batch_size: int = 64,
    draw_random_state: int = 0,
) -> dict[str, object]:
    """Z-min Variance of codes `[num_points, num_codes]` against factors `[num_points, num_factors]`.

    Returns `z_min_var` (evaluation accuracy), `z_min_var_train_accuracy` and
    `z_min_var_active_codes`; 0 when no dimension is active.
    """
    codes = np.asarray(codes, dtype=np.float64)
    factors = np.asarray(factors)
    variances = np.var(codes, axis=0, ddof=1)
    active = active_dims(variances)
    if not active.any():
        return {"z_min_var": 0.0, "z_min_var_train_accuracy": 0.0, "z_min_var_active_codes": 0}
    random_state = np.random.RandomState(draw_random_state)
    votes = []
    for count in (num_votes_train, num_votes_eval):
        indices, fixed = fixed_factor_batches(factors, count, vote_batch_size, random_state)
        votes.append(factor_vae_votes(codes[indices], fixed, variances, active, factors.shape[1]))
    scores = factor_vae_from_votes(*votes)
    return {
        "z_min_var": scores["factorvae_eval_accuracy"],
        "z_min_var_train_accuracy": scores["factorvae_train_accuracy"],
        "z_min_var_active_codes": int(active.sum()),
    }


METRIC = register_metric(
    MetricSpec(
        name="z_min_var",
        summary="Z-min Variance: the FactorVAE score from given codes and factors (any framework)",
        keys=(
            Key("z_min_var", "Z-min Var", HIGHER, margin=0.05),
            Key("z_min_var_train_accuracy"),
            Key("z_min_var_active_codes"),
        ),
        settings=(NUM_VOTES_TRAIN, NUM_VOTES_EVAL, VOTE_BATCH_SIZE, DRAW_RANDOM_STATE),
        arrays=z_min_var,
        inputs=("codes_train", "factors_train"),
        order=81,
        rotation_control=True,
    )
)
