"""Codes for the metrics: each image of a factor grid rendered and encoded once, in large batches.

The metrics draw about three million images at the study's settings (BetaVAE:
15,000 points of 2 x 64 images; FactorVAE: 15,000 votes of 64 plus 10,000
for the variances), yet dSprites has only 737,280 distinct images. When the
images are a pure function of the factors
(`GroundTruthData.observations_depend_only_on_factors`) and the code of an
image does not depend on what else is in its batch (the closed-form posterior
mean of the Gaussian families), the code of a factor combination is worked out
once and looked up after that. Codes are computed `chunk` images per encoder
call, while the main thread renders the next chunk (TensorFlow releases the
interpreter lock while it runs), so rendering and encoding overlap.

The draws are unchanged: the sampling layer (`benchmark.metrics.sampling`)
still draws every factor in the reference's order and only skips rendering,
which takes nothing from the random state for such data sets. A code differs
from the one computed in a smaller batch at most in float32 rounding.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.models import representation_function
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

__all__ = ["ENCODE_CHUNK", "MAX_TABLE", "FactorCodes", "metric_representation"]

# Images per encoder call (activations of the conv encoder: ~130 MB at 1,024 64x64 images).
ENCODE_CHUNK = 1024
# Largest factor grid kept as one dense code table (dSprites: 737,280 rows, 59 MB at 10 codes).
MAX_TABLE = 1 << 21


class FactorCodes:
    """`codes_of_factors`: the codes `[n, num_codes]` float64 of the images of `factors [n, K]`.

    Args:
      dataset: a data set whose images depend on the factors alone.
      represent: observations `[n, *obs]` -> codes `[n, num_codes]`, the same
        for an image whatever else is in the call.
      chunk: images per `represent` call.

    Attributes:
      encode_s: seconds spent rendering and encoding (wall time).
      encoded: images rendered and encoded so far (each distinct one once).
    """

    def __init__(self, dataset: GroundTruthData, represent: Any, chunk: int = ENCODE_CHUNK) -> None:
        if not dataset.observations_depend_only_on_factors:
            raise ValueError(
                f"FactorCodes: {type(dataset).__name__} draws random numbers when rendering"
            )
        self.dataset = dataset
        self.represent = represent
        self.chunk = int(chunk)
        self.sizes = tuple(int(s) for s in dataset.factor_sizes)
        size = int(np.prod(self.sizes, dtype=np.int64))
        self._dense = size <= MAX_TABLE
        self._known = np.zeros(size if self._dense else 0, dtype=bool)
        self._table: np.ndarray | None = None  # [grid size, num_codes], made at the first codes
        self.encode_s = 0.0
        self.encoded = 0

    def _encode(self, keys: np.ndarray) -> np.ndarray:
        """Codes of the distinct flat indices `keys`, rendered and encoded chunk by chunk."""
        started = time.perf_counter()
        codes: list[np.ndarray] = []
        pending: Any = None  # at most one chunk encoding while the next one renders
        with ThreadPoolExecutor(max_workers=1) as encoder:
            for start in range(0, len(keys), self.chunk):
                factors = np.stack(
                    np.unravel_index(keys[start : start + self.chunk], self.sizes), 1
                )
                # The draws are done; rendering such data sets ignores the random state.
                images = self.dataset.sample_observations_from_factors(
                    factors.astype(np.int64), np.random.RandomState(0)
                )
                if pending is not None:
                    codes.append(np.asarray(pending.result(), dtype=np.float64))
                pending = encoder.submit(self.represent, images)
            if pending is not None:
                codes.append(np.asarray(pending.result(), dtype=np.float64))
        self.encode_s += time.perf_counter() - started
        self.encoded += len(keys)
        return np.concatenate(codes) if codes else np.zeros((0, 0))

    def __call__(self, factors: np.ndarray) -> np.ndarray:
        factors = np.asarray(factors, dtype=np.int64)
        if factors.ndim != 2 or factors.shape[1] != len(self.sizes):
            raise ValueError(
                f"codes_of_factors: expected factors [n, {len(self.sizes)}], got {factors.shape}"
            )
        keys = np.ravel_multi_index(tuple(factors.T), self.sizes)
        if not self._dense:  # a huge grid: encode this call's distinct images only
            unique, inverse = np.unique(keys, return_inverse=True)
            return self._encode(unique)[inverse.reshape(-1)]
        missing = np.unique(keys[~self._known[keys]])
        if len(missing):
            codes = self._encode(missing)
            if self._table is None:
                self._table = np.zeros((len(self._known), codes.shape[1]), dtype=np.float64)
            self._table[missing] = codes
            self._known[missing] = True
        if self._table is None:  # no factors asked for yet
            return np.zeros((len(keys), 0), dtype=np.float64)
        return self._table[keys]


class _Representation:
    """A representation function (observations -> codes) that may also offer `codes_of_factors`."""

    def __init__(self, represent: Any, codes_of_factors: FactorCodes | None) -> None:
        self._represent = represent
        if codes_of_factors is not None:
            self.codes_of_factors = codes_of_factors

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        return self._represent(observations)


def _codes_depend_on_image_alone(model: Any, kind: str) -> bool:
    """True for the posterior mean of a closed-form (Gaussian) family: no noise, no batch effect.

    The IAF mean is a sample mean whose noise depends on the batch it is
    computed in, and sampled codes draw per call, so neither may be cached.
    """
    if kind != "mean":
        return False
    model.initialize()
    probe = tf.zeros([1, *model.observation_shape], tf.float32)
    return bool(getattr(model.encode(probe), "closed_form_kl", False))


def metric_representation(
    model: Any, dataset: GroundTruthData, kind: str, *, batch_size: int, seed: int
) -> Any:
    """The representation function the metrics use for `model` on `dataset`.

    Always a function of observations (`representation_function(model, kind,
    batch_size, seed)`); when images depend on factors alone and codes on the
    image alone, it also has `codes_of_factors` (a `FactorCodes` encoding
    `ENCODE_CHUNK` images per call), which the sampling layer prefers.
    """
    represent = representation_function(model, kind, batch_size=batch_size, seed=seed)
    coder = None
    if dataset.observations_depend_only_on_factors and _codes_depend_on_image_alone(model, kind):
        chunked = representation_function(model, kind, batch_size=ENCODE_CHUNK, seed=seed)
        coder = FactorCodes(dataset, chunked)
    return _Representation(represent, coder)
