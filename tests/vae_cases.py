"""Small data and models shared by the model and training tests (fast: fc nets, 16x16 images)."""

from __future__ import annotations

import numpy as np

from benchmark.data.base import GroundTruthData

SMALL = {"architecture": "fc", "fc_width": 32, "latent_dim": 3}
# The IAF family's own option (other families take none: giving it to them is an error).
SMALL_IAF = {"iaf_hidden_units": [8]}
TINY_DISCRIMINATOR = {"discriminator_units": 16, "discriminator_layers": 2}
FAMILIES = ("diagonal", "full_covariance", "iaf")
BUILT_IN_ENTRIES = (
    "annealed_vae",
    "beta_tcvae",
    "beta_vae",
    "beta_vae_free_bits",
    "dip_vae_i",
    "dip_vae_ii",
    "factor_vae",
)


def small_family(posterior: str, **options: object) -> dict[str, object]:
    """SMALL with `posterior`, plus the small IAF options when it is "iaf" (and `options`)."""
    return {**SMALL, "posterior": posterior, **(SMALL_IAF if posterior == "iaf" else {}), **options}


def small_args(entry: str, posterior: str = "diagonal", **extra: object) -> dict[str, object]:
    """Keyword arguments for a small, fast model of `entry`."""
    args = {**small_family(posterior), **extra}
    if entry == "factor_vae":
        args.update(TINY_DISCRIMINATOR)
    return args


class Squares(GroundTruthData):
    """16x16 binary images of one square: x and y position (4 each) and size (2)."""

    @property
    def factor_names(self) -> tuple[str, ...]:
        return ("x", "y", "size")

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return (4, 4, 2)

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (16, 16, 1)

    def sample_observations_from_factors(self, factors, random_state):
        factors = np.asarray(factors)
        left, top = 1 + 3 * factors[:, 0], 1 + 3 * factors[:, 1]
        side = 3 + 2 * factors[:, 2]
        grid = np.arange(16)
        cols = (grid >= left[:, None]) & (grid < (left + side)[:, None])
        rows = (grid >= top[:, None]) & (grid < (top + side)[:, None])
        return (rows[:, :, None] & cols[:, None, :]).astype(np.float32)[..., None]


def poisoned_stream(batch, bad_batch: int):
    """A `tf.data.Dataset` repeating `batch`, except batch `bad_batch` (0-based) is all NaN."""
    from benchmark.tf_quiet import import_tensorflow

    tf = import_tensorflow()
    clean = tf.data.Dataset.from_tensors(batch).repeat()
    steps = tf.data.Dataset.counter()
    return tf.data.Dataset.zip(steps, clean).map(
        lambda t, x: tf.where(t == bad_batch, tf.fill(tf.shape(x), np.nan), x)
    )


# A one-run task of tiny fc models on the toy data; `%s` takes extra `training` keys.
TINY_TASK = """\
name: x
dataset: {name: toy}
models: [{entry: beta_vae, args: {architecture: fc, fc_width: 8}}]
seeds: [0]
training: {steps: 10, batch_size: 8%s}
evaluation: {metrics: [mig]}
"""


def load_tiny_task(folder, extra: str = ""):
    """`TINY_TASK` with `extra` written to `folder/x.yaml` and loaded."""
    from benchmark.config.loader import load_task

    path = folder / "x.yaml"
    path.write_text(TINY_TASK % extra)
    return load_task(path)
