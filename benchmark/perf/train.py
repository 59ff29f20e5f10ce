"""`disbench perf train`: training-step speed per posterior family, batch size and compilation.

A `beta_vae` with the disentanglement_lib conv architecture (10 latents;
`--architecture fc` for the fully connected one, `--fc-width` its width)
trains on 64x64x1 `dsprites` batches from the real input stream
(`benchmark.data.stream.make_batches`), through the trainer's own chunk
runner (`benchmark.training.loop.make_chunk_runner`: no per-step host round
trip). Rows, keyed `family/batch/precision/xla`: every family at batch 64;
the diagonal family also at batch 128 and 256, under each mixed precision
policy ("mixed_bfloat16", "mixed_float16": the networks compute in 16 bits,
see `benchmark.models.precision`) at batch 64 (and 256 on a GPU), and with
each update compiled by XLA (`jit_compile`), which the trainer uses on a GPU
only. Every
row is timed in rounds: one block of updates per row per round, so load from
other processes spreads over all rows alike and their ratios mean more than
their absolute rates. The "diagonal" batch-64 float32 row also times the
trainer's previous loop, the guarded per-step runner (`make_step_runner`, a
`tf.cond` and a read of the device step per update, 25 updates per call),
within its blocks. Reported per row:

- steps_per_second: updates per second of wall time, after a warm-up;
- images_per_second: steps_per_second times the batch size;
- gflop_per_step: floating-point operations of one update (forward,
  backward and the Adam update), counted by TensorFlow's profiler
  (the `flops` statistics TensorFlow registers per op type: convolutions,
  matrix products, elementwise ops)
  over the ops of the traced step that its results depend on; ops inside
  `tf.cond` / `tf.while_loop` bodies (the Adam update) are not counted,
  a few MFLOP;
- gflop_per_second: the product of the two.

`--pack 1,2,4,8` measures K models trained in one compiled step instead
(`benchmark.perf.packing`). The table ends with the XLA ratio: the diagonal batch-64 float32 row's
steps/s with XLA over without, and the `training.xla` setting it suggests
for this machine and architecture (XLA's speed on a CPU depends on both).

The diagonal batch-64 row of the conv architecture also holds
`baseline_steps_per_second`: the same architecture written in plain Keras (stock layers and Adam, sigmoid
cross-entropy) trained on the same stream by a Python loop that calls one
`tf.function` step per batch, timed in alternating blocks with the trainer
so that load from other processes affects both alike. Timings on a shared
machine are noisy; the numbers are printed, never asserted.

Thread settings: TensorFlow's defaults (one intra-op thread per core, its
own inter-op pool) were as fast as or faster than one inter-op thread on the
2-core machine, so the trainer leaves them alone.
"""

from __future__ import annotations

import argparse
import time

from benchmark.tf_quiet import import_tensorflow

__all__ = [
    "FAMILIES",
    "count_gflop",
    "format_table",
    "measure",
    "steady_steps_per_second",
    "xla_verdict",
]

FAMILIES = ("diagonal", "full_covariance", "iaf")
BATCH_SIZE = 64


def count_gflop(function, *args) -> float:
    """GFLOP of one call of `function(*args)` (a `tf.function`), from the TF profiler.

    Only ops that the function's outputs or side effects depend on are
    counted: the gradient tape records some (e.g. the input gradient of the
    first layer) that graph optimisation prunes before running.
    """
    import_tensorflow()
    from tensorflow.python.framework import ops

    concrete = function.get_concrete_function(*args)
    graph = concrete.graph
    live: set[str] = set()
    frontier = [t.op for t in concrete.outputs] + list(graph.control_outputs)
    while frontier:
        op = frontier.pop()
        if op.name in live:
            continue
        live.add(op.name)
        frontier.extend(t.op for t in op.inputs)
        frontier.extend(op.control_inputs)
    flops = 0
    for op in graph.get_operations():
        if op.name in live:
            try:
                stats = ops.get_stats_for_node_def(graph, op.node_def, "flops")
            except ValueError:  # statistics need fully known shapes
                continue
            flops += stats.value or 0
    return flops / 1e9


def _model_and_runner(
    family: str,
    seed: int,
    jit_compile: bool = False,
    precision: str = "float32",
    architecture: str = "conv",
    fc_width: int | None = None,
):
    tf = import_tensorflow()
    from benchmark.models import build_model
    from benchmark.training.loop import make_chunk_runner, make_step_runner

    width = {} if fc_width is None else {"fc_width": fc_width}
    model = build_model(
        "beta_vae", (64, 64, 1), posterior=family, architecture=architecture, **width
    )
    model.set_precision(precision)
    model.initialize(seed)
    optimizers = model.make_optimizers(1e-4)
    for name, variables in model.optimizer_variables().items():
        optimizers[name].build(variables)
    step = tf.Variable(0, dtype=tf.int64, trainable=False)
    chunk = make_chunk_runner(model, optimizers, step, seed, jit_compile=jit_compile)
    return model, optimizers, chunk, make_step_runner(model, optimizers, step, seed)


def _plain_keras_step():
    """The baseline: disentanglement_lib's conv VAE in plain Keras, one `tf.function` per update.

    Stock Keras layers and Adam, `tf.nn.sigmoid_cross_entropy_with_logits`,
    a diagonal posterior, called from a Python loop: the training step one
    would write without this package.
    """
    tf = import_tensorflow()
    import tf_keras

    layers = tf_keras.layers
    encoder = tf_keras.Sequential(
        [
            layers.Conv2D(32, 4, 2, "same", activation="relu"),
            layers.Conv2D(32, 4, 2, "same", activation="relu"),
            layers.Conv2D(64, 2, 2, "same", activation="relu"),
            layers.Conv2D(64, 2, 2, "same", activation="relu"),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dense(20),
        ]
    )
    decoder = tf_keras.Sequential(
        [
            layers.Dense(256, activation="relu"),
            layers.Dense(1024, activation="relu"),
            layers.Reshape((4, 4, 64)),
            layers.Conv2DTranspose(64, 4, 2, "same", activation="relu"),
            layers.Conv2DTranspose(32, 4, 2, "same", activation="relu"),
            layers.Conv2DTranspose(32, 4, 2, "same", activation="relu"),
            layers.Conv2DTranspose(1, 4, 2, "same"),
        ]
    )
    optimizer = tf_keras.optimizers.Adam(1e-4, epsilon=1e-8)
    encoder.build((None, 64, 64, 1))
    decoder.build((None, 10))
    variables = encoder.trainable_variables + decoder.trainable_variables
    optimizer.build(variables)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            mean, log_var = tf.split(encoder(x), 2, axis=-1)
            z = mean + tf.exp(log_var / 2) * tf.random.normal(tf.shape(mean))
            logits = decoder(z)
            nll = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
            reconstruction = tf.reduce_mean(tf.reduce_sum(nll, axis=[1, 2, 3]))
            kl = 0.5 * tf.reduce_sum(tf.square(mean) + tf.exp(log_var) - 1 - log_var, axis=1)
            loss = reconstruction + tf.reduce_mean(kl)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    return step


def _single_step(model, optimizers):
    """One update of the trainer's model as a `tf.function` (for counting its FLOPs)."""
    tf = import_tensorflow()
    from benchmark.training.step import apply_update

    seed = tf.constant([0, 1], tf.int32)

    @tf.function
    def step(x):
        return apply_update(model, x, tf.constant(0.0), seed, optimizers)[0]["loss"]

    return step


def _rows(quick: bool, on_gpu: bool = False) -> list[tuple[str, int, str, bool]]:
    """(family, batch size, precision, XLA) of each row.

    Mixed precision at batch 256 only on a GPU: a CPU without 16-bit
    arithmetic (AVX2) runs those rows several times slower than float32,
    minutes per row.
    """
    rows = [(family, BATCH_SIZE, "float32", False) for family in FAMILIES]
    rows += [("diagonal", 128, "float32", False), ("diagonal", 256, "float32", False)]
    for batch in (BATCH_SIZE, 256) if on_gpu else (BATCH_SIZE,):
        rows += [("diagonal", batch, p, False) for p in ("mixed_bfloat16", "mixed_float16")]
    rows.append(("diagonal", BATCH_SIZE, "float32", True))
    if quick:
        return [rows[0], *(r for r in rows if r[1] == BATCH_SIZE and r[2] != "float32"), rows[-1]]
    return rows


class _Row:
    """One row's model, runners and stream, warmed up; `block(n)` times `n` more updates."""

    def __init__(
        self,
        data,
        family: str,
        batch: int,
        precision: str,
        xla: bool,
        baselines: bool = True,
        architecture: str = "conv",
        fc_width: int | None = None,
    ) -> None:
        tf = import_tensorflow()
        from benchmark.data.stream import make_batches

        self.batch = batch
        network = architecture if fc_width is None else f"{architecture}-{fc_width}"
        self.key = f"{network}/{family}/{batch}/{precision}/{'xla' if xla else 'no-xla'}"
        model, optimizers, self.run, self.guarded = _model_and_runner(
            family, 0, jit_compile=xla, precision=precision,
            architecture=architecture, fc_width=fc_width,
        )  # fmt: skip
        self.iterator = iter(make_batches(data, batch, seed=0))
        spec = tf.TensorSpec([batch, 64, 64, 1], tf.float32)
        self.gflop = count_gflop(_single_step(model, optimizers), spec)
        self.run(self.iterator, tf.constant(0, tf.int64), tf.constant(3)).numpy()  # trace, warm up
        self.current = 3
        self.seconds = 0.0
        self.steps = 0
        self.baseline = baselines and architecture == "conv"  # the plain Keras step is conv
        self.baseline = self.baseline and family == "diagonal" and batch == BATCH_SIZE
        self.baseline = self.baseline and precision == "float32" and not xla
        self.plain_seconds = self.old_seconds = 0.0
        if self.baseline:
            self.plain = _plain_keras_step()
            self.plain_iterator = iter(make_batches(data, batch, seed=1))
            for _ in range(3):
                self.plain(next(self.plain_iterator))
            self.old_iterator = iter(make_batches(data, batch, seed=2))
            self.guarded(self.old_iterator, tf.constant(3))[0].numpy()

    def block(self, steps: int) -> None:
        tf = import_tensorflow()
        started = time.perf_counter()
        self.run(self.iterator, tf.constant(self.current, tf.int64), tf.constant(steps)).numpy()
        self.current += steps
        self.steps += steps
        self.seconds += time.perf_counter() - started
        if not self.baseline:
            return
        started = time.perf_counter()
        for _ in range(steps):
            loss = self.plain(next(self.plain_iterator))
        float(loss.numpy())
        self.plain_seconds += time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(0, steps, 25):  # the old loop: at most 25 updates per call
            int(self.guarded(self.old_iterator, tf.constant(min(25, steps)))[0].numpy())
        self.old_seconds += time.perf_counter() - started

    def result(self) -> dict[str, float]:
        steps_per_second = self.steps / self.seconds
        row = {
            "steps_per_second": steps_per_second,
            "images_per_second": steps_per_second * self.batch,
            "gflop_per_step": self.gflop,
            "gflop_per_second": self.gflop * steps_per_second,
        }
        if self.baseline:
            row["baseline_steps_per_second"] = self.steps / self.plain_seconds
            row["per_step_guard_steps_per_second"] = self.steps / self.old_seconds
        return row


def measure(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """`{"network/family/batch/precision/xla": {"steps_per_second", ...}}` (see module doc).

    `network` is "conv", "fc" or "fc-<width>" when `--fc-width` is given.
    """
    from benchmark.data import get_dataset

    quick = bool(getattr(args, "quick", False))
    block, rounds = (5, 2) if quick else (25, 4)
    tf = import_tensorflow()
    data = get_dataset("dsprites")
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    network = {
        "architecture": getattr(args, "architecture", "conv"),
        "fc_width": getattr(args, "fc_width", None),
    }
    if network["fc_width"] is not None:
        from benchmark.errors import UserInputError
        from benchmark.models.vae import MAX_WIDTH

        if network["architecture"] != "fc" or not 1 <= network["fc_width"] <= MAX_WIDTH:
            raise UserInputError(
                f"--fc-width: expected an integer from 1 to {MAX_WIDTH} with --architecture fc, "
                f"got {network['fc_width']} with --architecture {network['architecture']}"
            )
    packs = getattr(args, "pack", None)
    if packs:
        from benchmark.perf.packing import measure_packs

        return measure_packs(data, packs, block=block, rounds=rounds, **network)
    rows = [_Row(data, *spec, **network) for spec in _rows(quick, on_gpu)]
    for _ in range(rounds):
        for row in rows:
            row.block(block)
    return {row.key: row.result() for row in rows}


def steady_steps_per_second(family: str, steps: int = 100, block: int = 25) -> float:
    """Updates per second of the study's conv model (batch 64, float32), after a warm-up.

    The trainer's own chunk runner on the real input stream, `steps` updates in
    blocks of `block` once traced: the rate a long run settles at, which a
    brief run's average (its tracing included) understates.
    """
    from benchmark.data import get_dataset

    row = _Row(get_dataset("dsprites"), family, BATCH_SIZE, "float32", False, baselines=False)
    for _ in range(max(1, steps // block)):
        row.block(block)
    return row.result()["steps_per_second"]


def xla_verdict(result: dict[str, dict[str, float]]) -> str | None:
    """The XLA line: diagonal batch-64 float32 steps/s with XLA over without, and what it suggests.

    None when `result` lacks either row. A ratio within 10% of 1 suggests
    "auto" (the two are too close to tell apart on a shared machine).
    """
    rates = {}
    for key, row in result.items():
        network, family, batch, precision, xla = key.split("/")
        if (family, batch, precision) == ("diagonal", str(BATCH_SIZE), "float32"):
            rates[xla] = (network, row["steps_per_second"])
    if set(rates) != {"xla", "no-xla"}:
        return None
    network, with_xla = rates["xla"]
    ratio = with_xla / rates["no-xla"][1]
    setting = "on" if ratio > 1.1 else "off" if ratio < 1 / 1.1 else "auto"
    return (
        f"XLA ({network}, diagonal, batch {BATCH_SIZE}): {ratio:.2f} times the steps/s without it "
        f"on this machine; suggested task setting: training.xla: {setting}"
    )


def format_table(result: dict[str, dict[str, float]]) -> str:
    """A plain-text table of `measure`'s result (`--pack`: `format_pack_table`'s)."""
    if any("/pack-" in key for key in result):
        from benchmark.perf.packing import format_pack_table

        return format_pack_table(result)
    lines = [
        f"{'network':<8} {'posterior':<16} {'batch':>5} {'precision':>14} {'XLA':>4} "
        f"{'steps/s':>8} {'images/s':>9} {'ms/step':>8} {'GFLOP/step':>11} {'GFLOP/s':>8}",
    ]
    extra = []
    for key, row in result.items():
        network, family, batch, precision, xla = key.split("/")
        rate = row["steps_per_second"]
        lines.append(
            f"{network:<8} {family:<16} {batch:>5} {precision:>14} "
            f"{'yes' if xla == 'xla' else 'no':>4} "
            f"{rate:8.2f} {row['images_per_second']:9.1f} {1000 / rate:8.1f} "
            f"{row['gflop_per_step']:11.2f} {row['gflop_per_second']:8.1f}"
        )
        if "per_step_guard_steps_per_second" in row:
            old = row["per_step_guard_steps_per_second"]
            extra.append(
                f"previous loop (tf.cond and device-step read per update, {family}, batch "
                f"{batch}): {old:.2f} steps/s ({1000 / old:.1f} ms/step)"
            )
        if "baseline_steps_per_second" in row:
            base = row["baseline_steps_per_second"]
            extra.append(
                f"plain Keras loop ({family}, batch {batch}, one tf.function call per step): "
                f"{base:.2f} steps/s ({1000 / base:.1f} ms/step)"
            )
    lines += extra
    verdict = xla_verdict(result)
    if verdict is not None:
        lines.append(verdict)
    lines.append(
        "beta_vae on the 64x64x1 dsprites stream; GFLOP counted by the TF profiler; "
        "rows timed in alternating blocks on a possibly shared machine (noisy)"
    )
    return "\n".join(lines)
