"""Per-process compute settings: CPU threads and GPU memory, read from the environment.

Several runs on one machine (`disbench run --workers N`, `--runs-per-gpu K`)
must share its cores and GPUs. The runner gives each worker process its
share through environment variables, read here by whoever starts a thread
pool: TensorFlow's intra/inter-op pools (`benchmark.tf_quiet`) and DCI's
parallel classifier fits (`benchmark.metrics.dci`). Unset variables keep the
libraries' defaults (all cores; GPU memory grown on demand). Pure Python, so
the metrics stay free of TensorFlow.

- `DISBENCH_THREADS=n`: at most n threads per pool in this process.
- `DISBENCH_GPU_MEMORY_MB=m`: cap this process at m MiB on each visible GPU
  (instead of growing on demand).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from benchmark.errors import UserInputError

__all__ = [
    "GPU_MEMORY_VARIABLE",
    "THREADS_VARIABLE",
    "dci_n_jobs",
    "gpu_memory_limit_mb",
    "process_threads",
    "threads_per_worker",
]

THREADS_VARIABLE = "DISBENCH_THREADS"
GPU_MEMORY_VARIABLE = "DISBENCH_GPU_MEMORY_MB"


def _positive_int(name: str, environ: Mapping[str, str] | None) -> int | None:
    """The variable as an integer >= 1, None when unset or empty; UserInputError otherwise."""
    text = (os.environ if environ is None else environ).get(name, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UserInputError(f"environment variable {name}: expected an integer >= 1, got {text!r}")
    return value


def process_threads(environ: Mapping[str, str] | None = None) -> int | None:
    """This process's thread budget per pool (`DISBENCH_THREADS`), None when unset."""
    return _positive_int(THREADS_VARIABLE, environ)


def gpu_memory_limit_mb(environ: Mapping[str, str] | None = None) -> int | None:
    """This process's memory cap per GPU in MiB (`DISBENCH_GPU_MEMORY_MB`), None when unset."""
    return _positive_int(GPU_MEMORY_VARIABLE, environ)


def threads_per_worker(workers: int, cores: int) -> int:
    """Threads each of `workers` processes may use on `cores` cores: `max(1, cores // workers)`."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return max(1, int(cores) // workers)


def dci_n_jobs(environ: Mapping[str, str] | None = None) -> int:
    """DCI's parallel fits in this process: `DISBENCH_THREADS`, else -1 (all cores)."""
    threads = process_threads(environ)
    return -1 if threads is None else threads
