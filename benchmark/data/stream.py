"""The training stream: a seeded, infinite tf.data pipeline of float32 batches."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from benchmark.data.base import GroundTruthData, check_observations
from benchmark.tf_quiet import import_tensorflow

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["batch_random_state", "make_batches", "render_batch"]

_MAX_WORD = 2**32


def batch_random_state(seed: int, index: int) -> np.random.RandomState:
    """The RandomState of batch `index` in the stream of `seed`: seeded by `[seed, lo, hi]`.

    `lo, hi` are the low and high 32-bit words of `index`, so every batch has
    its own reproducible draws, independent of how many batches came before.
    """
    return np.random.RandomState([int(seed), int(index) % _MAX_WORD, int(index) // _MAX_WORD])


def render_batch(dataset: GroundTruthData, batch_size: int, seed: int, index: int) -> np.ndarray:
    """Batch `index` of the stream: `[batch_size, *observation_shape]` float32.

    Factors are uniform over the full grid (with replacement) via
    `dataset.sample(batch_size, batch_random_state(seed, index))`.
    """
    _, observations = dataset.sample(batch_size, batch_random_state(seed, index))
    return np.asarray(observations, dtype=np.float32)


def make_batches(
    dataset: GroundTruthData, batch_size: int, seed: int, *, start: int = 0
) -> tf.data.Dataset:
    """Infinite `tf.data.Dataset` of float32 `[batch_size, *observation_shape]` batches.

    Batch i (counting from 0) is `render_batch(dataset, batch_size, seed, i)`,
    so the stream is deterministic for a seed whatever the parallelism, and
    `start=k` begins at batch k at no cost (for resuming a run). Batches are
    rendered by `tf.numpy_function` in parallel (`num_parallel_calls=AUTOTUNE`,
    order kept) and prefetched. The first batch is checked against the
    observations' dtype and range the data set declares.
    """
    tf = import_tensorflow()  # here, so that discovering the data sets imports no TensorFlow
    for name, value, low in (("batch_size", batch_size, 1), ("seed", seed, 0), ("start", start, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"make_batches: {name} must be an integer >= {low}, got {value!r}")
    if seed >= _MAX_WORD:
        raise ValueError(f"make_batches: seed must be below 2**32, got {seed}")
    batch_size, seed, start = int(batch_size), int(seed), int(start)
    shape = (batch_size, *dataset.observation_shape)
    # Render one batch now: fills any per-process caches before the parallel
    # workers start, and fails here (not inside tf.data) if the data set is broken.
    _, drawn = dataset.sample(batch_size, batch_random_state(seed, start))
    check_observations(dataset, drawn)
    first = np.asarray(drawn, dtype=np.float32)  # = render_batch(dataset, batch_size, seed, start)
    if first.shape != shape:
        raise ValueError(
            f"make_batches: the data set gave observations of shape {first.shape}, expected {shape}"
        )

    def render(index: np.int64) -> np.ndarray:
        return render_batch(dataset, batch_size, seed, int(index))

    def render_op(index: tf.Tensor) -> tf.Tensor:
        batch = tf.numpy_function(render, [index], tf.float32, stateful=False)
        return tf.ensure_shape(batch, shape)

    return (
        tf.data.Dataset.counter(start)
        .map(render_op, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )
