"""Data sets declare themselves: discovered from their files, observations as they declare."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

import benchmark.data
from benchmark.data import DATASETS, get_dataset
from benchmark.data.base import check_observations
from benchmark.errors import UserInputError

NEEDS_A_FILE = {"cars3d", "dsprites_file", "mpi3d", "shapes3d", "smallnorb"}


def test_every_data_set_is_registered_and_declares_its_observations():
    assert {"dsprites", "toy", "noisy_dsprites", *NEEDS_A_FILE} <= set(DATASETS.names())
    for name in DATASETS.names():
        cls = DATASETS.get(name)
        if name != "toy":  # the goldens' vectors; every image data set is float32 in [0, 1]
            assert cls.observation_dtype is np.float32, name
            assert cls.observation_range == (0.0, 1.0), name
        if name in NEEDS_A_FILE:
            continue
        dataset = get_dataset(name)
        _, observations = dataset.sample(16, np.random.RandomState(0))
        check_observations(dataset, observations, name)


class _Bright:
    observation_dtype = np.float32
    observation_range = (0.0, 1.0)


def test_observations_outside_the_declared_range_or_dtype_are_refused():
    with pytest.raises(UserInputError, match=r"range over \[0, 2\], expected values in \[0, 1\]"):
        check_observations(_Bright(), np.array([0.0, 2.0], np.float32), "bright")
    with pytest.raises(UserInputError, match="observations are float64, expected float32"):
        check_observations(_Bright(), np.array([0.5]), "bright")


DATASET_FILE = '''
"""A data set added as one file: two binary pixels, one factor each."""

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.data.registry import register_dataset


@register_dataset("two_pixels")
class TwoPixels(GroundTruthData):
    """Two pixels, each on or off."""

    factor_names = ("left", "right")
    factor_sizes = (2, 2)
    observation_shape = (2,)

    def sample_factors(self, num, random_state):
        return random_state.randint(2, size=(num, 2))

    def sample_observations_from_factors(self, factors, random_state):
        return np.asarray(factors, dtype=np.float32)
'''


def test_a_data_set_file_is_discovered(tmp_path, monkeypatch):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "two_pixels.py").write_text(textwrap.dedent(DATASET_FILE))
    monkeypatch.setattr(benchmark.data, "__path__", [*benchmark.data.__path__, str(folder)])
    DATASETS.discover(again=True)
    try:
        dataset = get_dataset("two_pixels")
        _, observations = dataset.sample(4, np.random.RandomState(0))
        check_observations(dataset, observations, "two_pixels")
    finally:
        DATASETS.remove("two_pixels")
        sys.modules.pop("benchmark.data.two_pixels", None)


def test_the_docs_show_this_example_in_full():
    from pathlib import Path

    page = Path(__file__).resolve().parent.parent / "docs" / "adding-a-data-set.md"
    assert DATASET_FILE.strip() in page.read_text()
