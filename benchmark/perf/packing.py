"""`disbench perf train --pack 1,2,4,8`: K models' updates in one compiled step against one model's.

The pack trainer's step (`benchmark.training.pack.make_pack_runner`) on K
`beta_vae` runs (diagonal posterior, seeds 0..K-1, each with its own Adam
and its own `dsprites` stream at batch 64, opened in a temporary folder):
K updates in one `tf.function` step, one XLA computation with XLA. The
weights stay separate tensors: this measures what one call for K models
buys (no per-model dispatch, one compiled computation), not batched matrix
products over stacked weights.

Each row: K, XLA, model-steps/s (updates of all models per second),
images/s, GFLOP/s (K times one update's profiler count, see
`benchmark.perf.train.count_gflop`) and its share of this machine's measured
peak (`matmul_peak_gflops`: the best rate of a 1024 x 1024 float32 matrix
product), and the speed-up against K = 1 without XLA (what `disbench run`
does on a CPU today). Rows are timed in alternating rounds, as in
`benchmark.perf.train`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmark.tf_quiet import import_tensorflow

__all__ = ["format_pack_table", "matmul_peak_gflops", "measure_packs"]

BATCH_SIZE = 64


def matmul_peak_gflops(size: int = 1024, repeats: int = 20) -> float:
    """GFLOP/s of the fastest of 3 timings of `repeats` float32 `size x size` products."""
    tf = import_tensorflow()
    a = tf.random.stateless_normal([size, size], seed=[0, 1])
    b = tf.random.stateless_normal([size, size], seed=[0, 2])

    @tf.function
    def products():
        c = a
        for _ in range(repeats):
            c = tf.matmul(c, b) * 1e-3
        return tf.reduce_sum(c)

    products().numpy()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        products().numpy()
        best = min(best, time.perf_counter() - started)
    return 2.0 * size**3 * repeats / best / 1e9


class _Pack:
    """K runs opened in a temporary folder, trained by the pack trainer's step; `block(n)` times n."""

    def __init__(
        self, data, members: int, xla: bool, architecture: str, fc_width: int | None
    ) -> None:
        tf = import_tensorflow()
        from benchmark.models import build_model
        from benchmark.perf.train import _single_step, count_gflop
        from benchmark.training.loop import open_run
        from benchmark.training.pack import make_pack_runner

        self.members, self.xla = members, xla
        self._folder = tempfile.TemporaryDirectory(prefix="disbench-pack-")
        width = {} if fc_width is None else {"fc_width": fc_width}
        runs = [
            open_run(
                build_model(
                    "beta_vae",
                    data.observation_shape,
                    posterior="diagonal",
                    architecture=architecture,
                    **width,
                ),
                data,
                steps=10**9,
                batch_size=BATCH_SIZE,
                seed=seed,
                learning_rate=1e-4,
                checkpoint_dir=Path(self._folder.name) / f"member{seed}",
                progress=False,
                heldout_size=0,
                xla=xla,
            )  # fmt: skip
            for seed in range(members)
        ]
        self.iterators = [iter(run.batches(0)) for run in runs]
        spec = tf.TensorSpec([BATCH_SIZE, *data.observation_shape], tf.float32)
        self.gflop = members * count_gflop(_single_step(runs[0].model, runs[0].optimizers), spec)
        self.run = make_pack_runner(runs, jit_compile=xla)
        self.current, self.steps, self.seconds = 0, 0, 0.0
        self.block(3)  # trace and warm up
        self.steps, self.seconds = 0, 0.0

    def block(self, steps: int) -> None:
        tf = import_tensorflow()
        started = time.perf_counter()
        start = tf.constant(self.current, tf.int64)
        for row in self.run(self.iterators, start, tf.constant(steps)):
            row.numpy()
        self.seconds += time.perf_counter() - started
        self.current += steps
        self.steps += steps


def measure_packs(
    data,
    packs: list[int],
    *,
    architecture: str = "conv",
    fc_width: int | None = None,
    block: int = 25,
    rounds: int = 4,
    xla_settings: tuple[bool, ...] = (False, True),
) -> dict[str, dict[str, float]]:
    """`{"network/pack-K/xla|no-xla": {...}}` for each K in `packs` and each of `xla_settings`."""
    rows = [
        _Pack(data, members, xla, architecture, fc_width)
        for members in packs
        for xla in xla_settings
    ]
    for _ in range(rounds):
        for row in rows:
            row.block(block)
    peak = matmul_peak_gflops()
    network = architecture if fc_width is None else f"{architecture}-{fc_width}"
    solo = {row.xla: row.steps / row.seconds for row in rows if row.members == 1}
    result = {}
    for row in rows:
        steps_per_second = row.steps / row.seconds
        model_steps = steps_per_second * row.members
        result[f"{network}/pack-{row.members}/{'xla' if row.xla else 'no-xla'}"] = {
            "members": float(row.members),
            "model_steps_per_second": model_steps,
            "images_per_second": model_steps * BATCH_SIZE,
            "gflop_per_second": row.gflop * steps_per_second,
            "share_of_peak": row.gflop * steps_per_second / peak,
            "peak_gflop_per_second": peak,
            "speedup_vs_solo": model_steps / solo[False] if False in solo else float("nan"),
        }
    return result


def format_pack_table(result: dict[str, dict[str, float]]) -> str:
    """A plain-text table of `measure_packs`' result."""
    lines = [
        f"{'network':<8} {'K':>3} {'XLA':>4} {'model-steps/s':>14} {'images/s':>9} "
        f"{'GFLOP/s':>8} {'of peak':>8} {'vs solo':>8}"
    ]
    peak = 0.0
    for key, row in result.items():
        network, _, xla = key.split("/")
        peak = row["peak_gflop_per_second"]
        lines.append(
            f"{network:<8} {int(row['members']):>3} {'yes' if xla == 'xla' else 'no':>4} "
            f"{row['model_steps_per_second']:14.2f} {row['images_per_second']:9.1f} "
            f"{row['gflop_per_second']:8.1f} {100 * row['share_of_peak']:7.1f}% "
            f"{row['speedup_vs_solo']:7.2f}x"
        )
    lines.append(
        f"beta_vae, diagonal posterior, batch {BATCH_SIZE} per model, each its own dsprites "
        f"stream; K models' updates in one compiled step (separate weights); peak: "
        f"{peak:.0f} GFLOP/s (1024 x 1024 float32 matrix products); 'vs solo': against "
        "K = 1 without XLA, the trainer's default on a CPU"
    )
    return "\n".join(lines)
