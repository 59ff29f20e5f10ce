"""Local workers spread over the machine: which GPU and how many threads each one gets.

`disbench run --runs-per-gpu K` starts K worker processes per visible GPU;
`--workers N` starts N. Either way, on a machine with GPUs, worker i sees
one GPU, `gpus[i % len(gpus)]` (round-robin), through its own
`CUDA_VISIBLE_DEVICES`, and every worker gets `max(1, cores // workers)`
threads for TensorFlow's pools and DCI's fits (`DISBENCH_THREADS`), so N
workers do not oversubscribe the cores. Each TensorFlow process grows its GPU
memory on demand, or is capped with `--gpu-memory-mb` (see
`benchmark.tf_quiet.configure_tensorflow`).

GPUs are found without importing TensorFlow in the driver: from
`CUDA_VISIBLE_DEVICES` when it is set, else from `nvidia-smi -L`.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence

from benchmark.errors import UserInputError
from benchmark.resources import GPU_MEMORY_VARIABLE, THREADS_VARIABLE, threads_per_worker

__all__ = [
    "DEFAULT_RUNS_PER_GPU",
    "assign_gpus",
    "available_cores",
    "local_workers",
    "visible_gpus",
    "worker_environments",
]

# One run per GPU unless told otherwise: what TensorFlow was built around. Not chosen by a
# measurement (no GPU was available to measure one); see docs/gpus-and-ray.md.
DEFAULT_RUNS_PER_GPU = 1

_SMI_LINE = re.compile(r"^GPU (\d+):", re.MULTILINE)


def _nvidia_smi_indices() -> list[str]:
    """GPU indices listed by `nvidia-smi -L`; [] when the tool is missing or fails."""
    try:
        listing = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return _SMI_LINE.findall(listing)


def visible_gpus(
    environ: Mapping[str, str] | None = None,
    query: Callable[[], list[str]] = _nvidia_smi_indices,
) -> list[str]:
    """The GPUs this process may use, as `CUDA_VISIBLE_DEVICES` entries (indices or UUIDs).

    `CUDA_VISIBLE_DEVICES` when set (empty or `-1`: none), else `query()`
    (`nvidia-smi -L`).
    """
    environ = os.environ if environ is None else environ
    if "CUDA_VISIBLE_DEVICES" in environ:
        entries = [e.strip() for e in environ["CUDA_VISIBLE_DEVICES"].split(",")]
        found: list[str] = []
        for entry in entries:
            if not entry or entry.startswith("-"):
                break  # CUDA ignores an invalid entry and everything after it
            found.append(entry)
        return found
    return query()


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def local_workers(workers: int, runs_per_gpu: int | None, gpus: Sequence[str]) -> int:
    """How many local worker processes to start.

    `runs_per_gpu` K: K per visible GPU (an error without GPUs, or together
    with `workers` other than 1); else `workers`.
    """
    if workers < 1:
        raise UserInputError(f"--workers: expected an integer >= 1, got {workers}")
    if runs_per_gpu is None:
        return workers
    if runs_per_gpu < 1:
        raise UserInputError(f"--runs-per-gpu: expected an integer >= 1, got {runs_per_gpu}")
    if workers != 1:
        raise UserInputError(
            "--workers and --runs-per-gpu both set the number of workers; give one of them"
        )
    if not gpus:
        raise UserInputError(
            "--runs-per-gpu: no GPU is visible (CUDA_VISIBLE_DEVICES, nvidia-smi -L); "
            "on CPUs use --workers N"
        )
    return runs_per_gpu * len(gpus)


def assign_gpus(workers: int, gpus: Sequence[str]) -> list[str | None]:
    """Worker i's GPU: `gpus[i % len(gpus)]` (round-robin); None for every worker without GPUs."""
    if not gpus:
        return [None] * workers
    return [gpus[i % len(gpus)] for i in range(workers)]


def worker_environments(
    workers: int, gpus: Sequence[str], cores: int, gpu_memory_mb: int | None = None
) -> list[dict[str, str]]:
    """The environment variables each of `workers` local workers sets before TensorFlow starts."""
    threads = str(threads_per_worker(workers, cores))
    environments = []
    for gpu in assign_gpus(workers, gpus):
        environment = {THREADS_VARIABLE: threads}
        if gpu is not None:
            environment["CUDA_VISIBLE_DEVICES"] = gpu
        if gpu_memory_mb is not None:
            environment[GPU_MEMORY_VARIABLE] = str(gpu_memory_mb)
        environments.append(environment)
    return environments
