"""Ground-truth data sets: factor sizes, factor sampling and observations.

Importing this package registers every built-in data set. None of them needs
TensorFlow; only the training stream (`benchmark.data.stream`) does.
"""

import benchmark.data.benchmark_files  # noqa: F401  (registers shapes3d, mpi3d, cars3d, smallnorb)
import benchmark.data.dsprites  # noqa: F401  (registers "dsprites")
import benchmark.data.dsprites_file  # noqa: F401  (registers "dsprites_file")
import benchmark.data.variants  # noqa: F401  (registers the three dsprites variants)
from benchmark.data import toy  # noqa: F401  (registers "toy")
from benchmark.data.base import GroundTruthData
from benchmark.data.registry import DATASETS, get_dataset, register_dataset

__all__ = ["DATASETS", "GroundTruthData", "get_dataset", "register_dataset"]
