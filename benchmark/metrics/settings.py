"""The settings several metrics share, and the check on metric setting names.

The type (`Setting`) and its checks live in `benchmark.settings`, shared with
the evaluation parts; they are re-exported here for metric files. A metric's
spec (`benchmark.metrics.spec.MetricSpec`) lists the settings it takes.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchmark.errors import UserInputError
from benchmark.registry import suggest
from benchmark.settings import Setting, SettingCheck, choice, integer, number

__all__ = [
    "BATCH_SIZE",
    "GBT_RANDOM_STATE",
    "MAX_JOBS",
    "MAX_POINTS",
    "NUM_BINS",
    "NUM_EVAL",
    "NUM_TEST",
    "NUM_TRAIN",
    "N_JOBS",
    "POINTS_PER_CALL",
    "Setting",
    "SettingCheck",
    "check_names",
    "choice",
    "integer",
    "number",
]

# More points than this do not fit in memory as codes and factors on a usual machine
# (the study uses 10,000); counts above it are refused at load time.
MAX_POINTS = 10_000_000
# Parallel classifier fits (scikit-learn / joblib `n_jobs`): -1 means all cores.
MAX_JOBS = 1024


def check_names(owner: str, given: Mapping[str, object], allowed: tuple[str, ...]) -> None:
    """UserInputError for a setting name `owner` does not take, with the close matches."""
    for key in given:
        if key not in allowed:
            raise UserInputError(
                f"settings for metric {owner!r}: unknown argument {key!r}"
                f"{suggest(key, list(allowed))}; allowed: {', '.join(allowed) or '(none)'}"
            )


# Settings shared by several metrics; a metric lists the ones it takes in its spec.
# Draws: every factor must take two values among the training points.
NUM_TRAIN = Setting("num_train", 10000, integer(2, MAX_POINTS))
NUM_TEST = Setting("num_test", 5000, integer(1, MAX_POINTS))
NUM_EVAL = Setting("num_eval", 5000, integer(1, MAX_POINTS))
BATCH_SIZE = Setting("batch_size", 16, integer(1, 65_536))
POINTS_PER_CALL = Setting("points_per_call", 32, integer(1, 65_536))
NUM_BINS = Setting("num_bins", 20, integer(1, 100_000))
# A numpy RandomState seed for scikit-learn's gradient boosted trees.
GBT_RANDOM_STATE = Setting("gbt_random_state", 0, integer(0, 2**32 - 1, none=True))
N_JOBS = Setting("n_jobs", None, integer(1, MAX_JOBS, none=True, also=(-1,)))
