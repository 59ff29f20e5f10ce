"""Reconstructions: a fixed sample of inputs and the decoder's mean at their posterior mean codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

__all__ = [
    "NUM_RECONSTRUCTIONS",
    "RECONSTRUCTIONS_ARTIFACT",
    "reconstruction_inputs",
    "reconstructions",
    "reconstructions_from_checkpoint",
    "write_reconstructions",
]

NUM_RECONSTRUCTIONS = 10
RECONSTRUCTIONS_ARTIFACT = "reconstructions"
_SAMPLE_SEED = 1414  # every run of a data set reconstructs the same images


def reconstruction_inputs(dataset: GroundTruthData, num: int = NUM_RECONSTRUCTIONS) -> np.ndarray:
    """`[num, *observation_shape]` float32: the fixed images every run of `dataset` reconstructs.

    Drawn with `dataset.sample(num, RandomState(1414))`, independent of the
    run's seed, so pictures of different runs show the same inputs.
    """
    _, observations = dataset.sample(num, np.random.RandomState(_SAMPLE_SEED))
    return np.asarray(observations, np.float32)


def reconstructions(model: Any, observations: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """`[2, N, *observation_shape]` float32 in [0, 1]: row 0 the inputs, row 1 their reconstructions.

    A reconstruction is the decoder's mean (the Bernoulli probabilities,
    `sigmoid(decode(z))`) at the posterior mean code `z = E[z|x]`; no latent
    is sampled. For the IAF the mean is its Monte Carlo estimate (seeded by
    `seed`), as everywhere else codes are taken.
    """
    x = np.asarray(observations, np.float32)
    posterior = model.encode(tf.convert_to_tensor(x))
    codes = posterior.mean(seed=tf.constant([seed, 0], tf.int32))
    decoded = tf.sigmoid(model.decode(codes)).numpy().astype(np.float32)
    return np.stack([x, decoded.reshape(x.shape)])


def write_reconstructions(
    model: Any, dataset: GroundTruthData, workdir: Path, *, seed: int
) -> dict[str, str]:
    """Saves `reconstructions.npy` (`[2, 10, H, W, C]` uint8, value x 255 rounded) for image data
    sets and returns `{"reconstructions": file name}`; `{}` for data sets of other shapes."""
    if len(dataset.observation_shape) != 3:
        return {}
    images = reconstructions(model, reconstruction_inputs(dataset), seed=seed)
    path = Path(workdir) / f"{RECONSTRUCTIONS_ARTIFACT}.npy"
    np.save(path, np.rint(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8))
    return {RECONSTRUCTIONS_ARTIFACT: path.name}


def reconstructions_from_checkpoint(
    checkpoint_dir: Path, dataset: str, dataset_args: dict[str, Any], *, seed: int
) -> np.ndarray:
    """`reconstructions` of the fixed sample by the model restored from `checkpoint_dir` (the
    run's training folder), for a run evaluated before reconstructions were stored."""
    from benchmark.data import get_dataset
    from benchmark.training.checkpoints import load_model

    data = get_dataset(dataset, **dataset_args)
    model, _ = load_model(checkpoint_dir)
    return reconstructions(model, reconstruction_inputs(data), seed=seed)
