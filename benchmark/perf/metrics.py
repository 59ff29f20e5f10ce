"""`disbench perf metrics`: seconds per metric on generated 10,000 / 5,000-point arrays, 10 codes.

Also times the reference's way of computing discrete mutual information (a
Python loop of `sklearn.metrics.mutual_info_score` calls, one per pair), so
the speed-up of the vectorised contingency tables is visible, and DCI with
one job next to DCI on all cores.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import joblib
import numpy as np
from sklearn.metrics import mutual_info_score

from benchmark.data import get_dataset
from benchmark.metrics import array_metric_names, score_arrays
from benchmark.metrics.beta_vae import compute_beta_vae
from benchmark.metrics.discretize import histogram_discretize
from benchmark.metrics.factor_vae import compute_factor_vae
from benchmark.metrics.sampling import sample_train_test
from benchmark.metrics.unsupervised import mean_pairwise_mutual_info

__all__ = ["format_table", "make_arrays", "measure"]

_SIZES = {False: (10000, 5000), True: (1000, 500)}  # quick -> smaller


def _representation(observations: np.ndarray) -> np.ndarray:
    """10 codes from a toy observation: 4 aligned, 4 rotated copies of them, 2 pure noise."""
    sizes = np.array([3, 6, 10, 8])
    aligned = observations[:, :4] / (sizes - 1) + 0.02 * observations[:, 4:8]
    rotation, _ = np.linalg.qr(np.random.RandomState(1234).normal(size=(4, 4)))
    return np.concatenate([aligned, aligned @ rotation.T, observations[:, 8:10]], axis=1)


def make_arrays(quick: bool = False) -> dict[str, np.ndarray]:
    """Codes `[N, 10]` and factors of the toy data set, RandomState(0), train then test."""
    num_train, num_test = _SIZES[quick]
    arrays = sample_train_test(
        get_dataset("toy"), _representation, np.random.RandomState(0), num_train, num_test
    )
    return dict(
        zip(("codes_train", "factors_train", "codes_test", "factors_test"), arrays, strict=True)
    )


def _sklearn_loop_mig(codes: np.ndarray, factors: np.ndarray) -> float:
    """MIG the reference's way: one `mutual_info_score` call per (code, factor) pair."""
    labels = histogram_discretize(codes, 20)
    mi = np.array(
        [
            [mutual_info_score(factors[:, j], labels[:, i]) for j in range(factors.shape[1])]
            for i in range(labels.shape[1])
        ]
    )
    entropy = np.array([mutual_info_score(f, f) for f in factors.T])
    ordered = np.sort(mi, axis=0)[::-1]
    return float(np.mean((ordered[0] - ordered[1]) / entropy))


def _sklearn_loop_mutual_info_score(codes: np.ndarray) -> float:
    """Mean pairwise MI of codes the reference's way: one call per ordered pair."""
    labels = histogram_discretize(codes, 20)
    num = labels.shape[1]
    total = sum(
        mutual_info_score(labels[:, i], labels[:, j])
        for i in range(num)
        for j in range(num)
        if i != j
    )
    return float(total / (num * num - num))


def _seconds(function: Callable[[], object], repeats: int) -> float:
    """Best wall-clock seconds of `repeats` calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def measure(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """`{"<metric>": {"seconds": s}, ...}` for every metric plus the comparison entries.

    Entries: each array metric through `score_arrays` (DCI on all cores, with
    `n_jobs` recorded), `dci_n_jobs_1`, `mig_sklearn_loop_baseline`,
    `mutual_info_score` (the unsupervised pairwise-MI part alone) and
    `mutual_info_score_sklearn_loop_baseline`, and `beta_vae` / `factor_vae`
    on the toy data set. `args.quick` uses 1,000 / 500 points.
    """
    quick = bool(getattr(args, "quick", False))
    arrays = make_arrays(quick)
    codes, factors = arrays["codes_train"], arrays["factors_train"]
    result: dict[str, dict[str, float]] = {}
    for name in array_metric_names():
        repeats = 1 if name in ("dci", "sap") else 5
        seconds = _seconds(lambda name=name: score_arrays(**arrays, metrics=[name]), repeats)
        result[name] = {"seconds": seconds}
    result["dci"]["n_jobs"] = joblib.cpu_count()
    result["dci_n_jobs_1"] = {
        "seconds": _seconds(lambda: score_arrays(**arrays, metrics=["dci"], n_jobs=1), 1),
        "n_jobs": 1,
    }
    result["mig_sklearn_loop_baseline"] = {
        "seconds": _seconds(lambda: _sklearn_loop_mig(codes, factors), 5)
    }
    result["mutual_info_score"] = {"seconds": _seconds(lambda: mean_pairwise_mutual_info(codes), 5)}
    result["mutual_info_score_sklearn_loop_baseline"] = {
        "seconds": _seconds(lambda: _sklearn_loop_mutual_info_score(codes), 5)
    }
    num_train, num_eval = _SIZES[quick]
    dataset = get_dataset("toy")
    for name, compute in (("beta_vae", compute_beta_vae), ("factor_vae", compute_factor_vae)):
        result[name] = {
            "seconds": _seconds(
                lambda compute=compute: compute(
                    dataset,
                    _representation,
                    np.random.RandomState(0),
                    num_train=num_train,
                    num_eval=num_eval,
                ),
                1,
            )
        }
    return result


def format_table(result: dict[str, dict[str, float]]) -> str:
    """Seconds per metric, then the speed-ups over the reference-style loops and serial DCI."""
    lines = [f"{'metric':<42} {'seconds':>9}"]
    lines.extend(f"{name:<42} {entry['seconds']:>9.3f}" for name, entry in result.items())
    ratios = (
        ("mig", "mig_sklearn_loop_baseline", "MIG vs sklearn mutual_info_score loop"),
        (
            "mutual_info_score",
            "mutual_info_score_sklearn_loop_baseline",
            "pairwise MI vs sklearn loop",
        ),
        (
            "dci",
            "dci_n_jobs_1",
            f"DCI n_jobs={result.get('dci', {}).get('n_jobs', '?')} vs n_jobs=1",
        ),
    )
    for fast, slow, label in ratios:
        if fast in result and slow in result and result[fast]["seconds"] > 0:
            lines.append(
                f"speed-up, {label}: {result[slow]['seconds'] / result[fast]['seconds']:.1f}x"
            )
    return "\n".join(lines)
