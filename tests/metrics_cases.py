"""The four golden cases, regenerated from the recipe in shared/goldens/README.md.

Imported by the metric tests (not a conftest). Everything is rebuilt from the
`toy` data set and `RandomState(0)`; the stored npz files are only compared
against, in one test.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from benchmark.data import get_dataset
from benchmark.metrics.sampling import generate_batch_factor_code

CASES = ("a_disentangled", "b_rotated", "c_noise", "d_extra_noise_dims")
GOLDENS_JSON = Path(__file__).resolve().parent / "goldens" / "goldens.json"
# CI keeps the shared folder beside the clone: <root>/../shared/goldens.
SHARED_GOLDENS = Path(__file__).resolve().parents[2] / "shared" / "goldens"

FACTOR_SIZES = np.array([3, 6, 10, 8])
SCALES = np.array([1.0, -2.0, 0.5, 3.0])
SIGMA = 0.02
NUM_TRAIN, NUM_TEST = 10000, 5000
SMALL_TRAIN, SMALL_TEST = 1000, 500


@functools.cache
def goldens() -> dict:
    """The parsed goldens.json (a copy of shared/goldens/goldens.json)."""
    return json.loads(GOLDENS_JSON.read_text())


@functools.cache
def rotation() -> np.ndarray:
    """Q of the QR decomposition of RandomState(1234).normal(size=(4, 4)), diag(R) > 0."""
    q, r = np.linalg.qr(np.random.RandomState(1234).normal(size=(4, 4)))
    return q * np.sign(np.diag(r))[None, :]


def _disentangled(observations: np.ndarray) -> np.ndarray:
    factors, eps = observations[:, :4], observations[:, 4:]
    return SCALES * (factors / (FACTOR_SIZES - 1) + SIGMA * eps[:, :4])


def representation(case: str):
    """The case's representation function: observations `[n, 12]` -> codes `[n, D]`."""

    def code(observations: np.ndarray) -> np.ndarray:
        observations = np.asarray(observations, dtype=np.float64)
        if case == "a_disentangled":
            return _disentangled(observations)
        if case == "b_rotated":
            return _disentangled(observations) @ rotation().T
        if case == "c_noise":
            return observations[:, 8:12].copy()
        if case == "d_extra_noise_dims":
            return np.concatenate([_disentangled(observations), observations[:, 8:10]], axis=1)
        raise KeyError(case)

    return code


@functools.cache
def observations() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`(obs_train [10000, 12], factors_train, obs_test [5000, 12], factors_test)`.

    RandomState(0), batches of 16: 10000 training points, then 5000 test points.
    """
    dataset = get_dataset("toy")
    random_state = np.random.RandomState(0)
    identity = lambda x: x  # noqa: E731
    obs_train, factors_train = generate_batch_factor_code(
        dataset, identity, NUM_TRAIN, random_state, batch_size=16
    )
    obs_test, factors_test = generate_batch_factor_code(
        dataset, identity, NUM_TEST, random_state, batch_size=16
    )
    return obs_train, factors_train, obs_test, factors_test


@functools.cache
def case_arrays(case: str, small: bool = False) -> dict[str, np.ndarray]:
    """`codes_train`, `factors_train`, `codes_test`, `factors_test` of a case (full or small)."""
    obs_train, factors_train, obs_test, factors_test = observations()
    code = representation(case)
    num_train, num_test = (SMALL_TRAIN, SMALL_TEST) if small else (NUM_TRAIN, NUM_TEST)
    return {
        "codes_train": code(obs_train)[:num_train],
        "factors_train": factors_train[:num_train],
        "codes_test": code(obs_test)[:num_test],
        "factors_test": factors_test[:num_test],
    }
