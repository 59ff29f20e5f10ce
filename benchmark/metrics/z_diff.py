"""Z-diff (Carbonneau et al. 2022, "Measuring Disentanglement: A Review of Metrics", section
4.1): the BetaVAE score of Higgins et al. (2017) computed from given codes and factors.

`beta_vae` draws its pairs from the data set's simulator; Z-diff draws them from
the given points, so it scores codes from any framework (`disbench score`).
Each training point fixes one factor k; each of its `vote_batch_size` pairs is
two given points with the same value of k (a value drawn as often as it occurs,
`benchmark.metrics.fixed_factor_batches`); its feature is the mean |z1 - z2|
over the pairs. A linear classifier (the `beta_vae` one) predicts k from the
feature; the score is its accuracy on the evaluation points.
"""

from __future__ import annotations

import numpy as np

from benchmark.metrics import settings
from benchmark.metrics.beta_vae import beta_vae_features, beta_vae_from_features
from benchmark.metrics.fixed_factor_batches import DRAW_RANDOM_STATE, fixed_factor_batches
from benchmark.metrics.spec import HIGHER, Key, MetricSpec, register_metric

__all__ = ["METRIC", "z_diff"]

NUM_FEATURES_TRAIN = settings.Setting("num_features_train", 800, settings.integer(2, 1_000_000))
NUM_FEATURES_EVAL = settings.Setting("num_features_eval", 400, settings.integer(1, 1_000_000))
PAIRS_PER_FEATURE = settings.Setting("pairs_per_feature", 64, settings.integer(1, 65_536))


def _features(
    codes: np.ndarray,
    factors: np.ndarray,
    count: int,
    pairs: int,
    random_state: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray]:
    """`(features [count, num_codes], fixed factor [count])`: each pair shares the fixed factor's value."""
    # A batch of 2 * pairs points sharing one value, split in halves, has every pair share it;
    # each pair gets its own value by drawing pairs batches of 2 under the same fixed factor.
    fixed = random_state.randint(factors.shape[1], size=count)
    first = np.empty((count, pairs), dtype=np.int64)
    second = np.empty((count, pairs), dtype=np.int64)
    for k in range(factors.shape[1]):  # factors are few
        mine = np.flatnonzero(fixed == k)
        if mine.size == 0:
            continue
        indices, _ = fixed_factor_batches(factors[:, [k]], mine.size * pairs, 2, random_state)
        indices = indices.reshape(mine.size, pairs, 2)
        first[mine], second[mine] = indices[..., 0], indices[..., 1]
    return beta_vae_features(codes[first], codes[second]), fixed


def z_diff(
    codes: np.ndarray,
    factors: np.ndarray,
    num_features_train: int = 800,
    num_features_eval: int = 400,
    pairs_per_feature: int = 64,
    draw_random_state: int = 0,
) -> dict[str, object]:
    """Z-diff of codes `[num_points, num_codes]` against factors `[num_points, num_factors]`.

    Returns `z_diff` (evaluation accuracy) and `z_diff_train_accuracy`.
    """
    codes = np.asarray(codes, dtype=np.float64)
    factors = np.asarray(factors)
    random_state = np.random.RandomState(draw_random_state)
    train = _features(codes, factors, num_features_train, pairs_per_feature, random_state)
    evaluation = _features(codes, factors, num_features_eval, pairs_per_feature, random_state)
    scores = beta_vae_from_features(*train, *evaluation)
    return {
        "z_diff": scores["betavae_eval_accuracy"],
        "z_diff_train_accuracy": scores["betavae_train_accuracy"],
    }


METRIC = register_metric(
    MetricSpec(
        name="z_diff",
        summary="Z-diff: the BetaVAE score from given codes and factors (any framework)",
        keys=(
            Key("z_diff", "Z-diff", HIGHER, sklearn=True, margin=0.05),
            Key("z_diff_train_accuracy", sklearn=True),
        ),
        settings=(NUM_FEATURES_TRAIN, NUM_FEATURES_EVAL, PAIRS_PER_FEATURE, DRAW_RANDOM_STATE),
        arrays=z_diff,
        inputs=("codes_train", "factors_train"),
        order=71,
        rotation_control=True,
    )
)
