"""Latent traversals: decode one input's posterior mean with each latent swept in turn."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

__all__ = ["latent_traversals"]


def latent_traversals(
    model: Any, observation: np.ndarray, *, steps: int = 9, limit: float = 2.0, seed: int = 0
) -> np.ndarray:
    """Images `[latent_dim, steps, *observation_shape]` in [0, 1] (Bernoulli means).

    Row d decodes the posterior mean of `observation` with latent d replaced
    by `steps` values evenly spaced in [-limit, limit] (the prior's +-2 sd).
    """
    x = tf.convert_to_tensor(np.asarray(observation, np.float32)[None])
    mean = model.encode(x).mean(seed=tf.constant([seed, 0], tf.int32))[0].numpy()
    dim = mean.shape[0]
    values = np.linspace(-limit, limit, steps, dtype=np.float32)
    codes = np.repeat(mean[None, None, :], dim, axis=0).repeat(steps, axis=1)  # [D, steps, D]
    codes[np.arange(dim), :, np.arange(dim)] = values
    logits = model.decode(tf.convert_to_tensor(codes.reshape(dim * steps, dim)))
    images = tf.sigmoid(logits).numpy()
    return images.reshape(dim, steps, *images.shape[1:])
