"""Ground-truth data sets: factor sizes, factor sampling and observations.

Each data set is a module here that registers itself; `DATASETS` imports
them all on first use. None of them needs TensorFlow; only the training
stream (`benchmark.data.stream.make_batches`) does, when it is called.
"""

from benchmark.data.base import GroundTruthData
from benchmark.data.registry import DATASETS, get_dataset, register_dataset

__all__ = ["DATASETS", "GroundTruthData", "get_dataset", "register_dataset"]
