"""`representation_function`: a trained encoder as a numpy function for the metrics."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmark.errors import UserInputError
from benchmark.models.vae import VAE
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

__all__ = ["REPRESENTATIONS", "representation_function"]

REPRESENTATIONS = ("mean", "sampled")


def representation_function(
    model: VAE, kind: str = "mean", batch_size: int = 64, seed: int = 0
) -> Callable[[np.ndarray], np.ndarray]:
    """A function from observations `[N, *observation_shape]` to codes `[N, D]` float64.

    kind "mean": E[z|x] (closed form for the Gaussians; for IAF the sample
    mean of `moment_samples` draws with the fixed seed `seed`, so the same
    input at the same position of a batch always gets the same code).
    kind "sampled": one draw of q(z|x); call c of the returned function and
    its batch b draw with the stateless seed folded from (seed, c, b), so the
    sequence of codes is reproducible and no two calls share noise.
    Observations are encoded `batch_size` at a time.
    """
    if kind not in REPRESENTATIONS:
        raise UserInputError(
            f"representation kind {kind!r}: expected one of {', '.join(REPRESENTATIONS)}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UserInputError(
            f"representation batch_size: expected an integer >= 1, got {batch_size!r}"
        )
    model.initialize()
    shape = model.observation_shape
    base_seed = tf.constant([int(seed) % (2**31), 0], tf.int32)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, *shape], tf.float32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.int32),
        ],
        reduce_retracing=True,
    )
    def encode(x, call, batch):
        step_seed = tf.random.experimental.stateless_fold_in(
            tf.random.experimental.stateless_fold_in(base_seed, call), batch
        )
        posterior = model.encode(x)
        if kind == "mean":
            return posterior.mean(seed=base_seed)
        z, _ = posterior.sample_and_log_prob(1, step_seed)
        return z[0]

    calls = [0]

    def represent(observations: np.ndarray) -> np.ndarray:
        x = np.asarray(observations, dtype=np.float32)
        if x.ndim != len(shape) + 1 or x.shape[1:] != shape:
            raise UserInputError(
                f"observations: expected shape [N, {', '.join(map(str, shape))}], got {list(x.shape)}"
            )
        call = calls[0]
        calls[0] += 1
        codes = [
            encode(x[start : start + batch_size], call, b).numpy()
            for b, start in enumerate(range(0, len(x), batch_size))
        ]
        if not codes:
            return np.zeros((0, model.latent_dim), np.float64)
        return np.concatenate(codes).astype(np.float64)

    return represent
