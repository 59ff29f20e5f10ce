"""`disbench perf data`: images rendered per second on one core, per data set."""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator

import numpy as np

from benchmark.data import get_dataset
from benchmark.data.base import GroundTruthData

__all__ = ["DATASET_NAMES", "images_per_second", "measure", "format_table"]

# The rendered data sets (`dsprites_file` needs a file, `toy` renders no images).
DATASET_NAMES = ("dsprites", "noisy_dsprites", "color_dsprites", "correlated_dsprites")
BATCH_SIZE = 64  # the training batch size
TARGET_IMAGES_PER_SECOND = 30_000  # for `dsprites`, one core


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Limits native thread pools (BLAS, OpenMP) to one thread where threadpoolctl exists."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # rendering is single-threaded numpy either way
        yield
        return
    with threadpool_limits(limits=1):
        yield


def images_per_second(
    dataset: GroundTruthData, *, batch_size: int = BATCH_SIZE, seconds: float = 1.0, seed: int = 0
) -> float:
    """Images per second of `dataset.sample(batch_size, ...)`: factor draws plus rendering.

    One warm-up batch first (it fills per-process caches), then batches for
    at least `seconds` of wall time in this thread.
    """
    random_state = np.random.RandomState(seed)
    dataset.sample(batch_size, random_state)
    batches, start = 0, time.perf_counter()
    while True:
        dataset.sample(batch_size, random_state)
        batches += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return batches * batch_size / elapsed


def measure(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """`{name: {"images_per_second": float}}` for each rendered data set, one core."""
    seconds = 0.2 if getattr(args, "quick", False) else 2.0
    with _one_thread():
        return {
            name: {"images_per_second": images_per_second(get_dataset(name), seconds=seconds)}
            for name in DATASET_NAMES
        }


def format_table(result: dict[str, dict[str, float]]) -> str:
    """A Markdown table of `measure`'s result."""
    lines = [
        f"Images rendered per second, one core, batch {BATCH_SIZE} "
        f"(target for dsprites: {TARGET_IMAGES_PER_SECOND:,})",
        "",
        "| data set | images/s |",
        "|---|---:|",
    ]
    for name, row in result.items():
        lines.append(f"| {name} | {row['images_per_second']:,.0f} |")
    return "\n".join(lines)
