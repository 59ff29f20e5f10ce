"""`train`: the seeded, resumable training loop with a NaN guard.

Update t (counting from 0) trains on batch t of
`benchmark.data.stream.make_batches(dataset, batch_size, seed)` and draws its
noise from the stateless seed `fold_in([seed, 1], t)`. A run killed at any
point and restarted with the same arguments resumes from its latest
checkpoint (model, optimizers, update counter), restarts the stream at batch
t for free, and ends with the same weights as an uninterrupted run.

Updates run in chunks that end at the next log or checkpoint boundary: one
`tf.function` call holding a `tf.while_loop` (`make_chunk_runner`). The host
passes the chunk's first step number and each update derives its noise seed
from it, so no update reads a value back to the host or branches on one;
finiteness is checked once, from the one packed vector the chunk returns.
A chunk with a non-finite loss or gradient is undone from a device-side
snapshot of its start and replayed with the guarded per-step runner
(`make_step_runner`), which stops before the first bad update: `train` then
raises `TrainingDiverged(step, reason)` with the weights in memory and on
disk at the last good values, exactly as a per-step guard would. Each update
is compiled with XLA on a GPU, not on a CPU unless asked for (see
`benchmark.training.setup`). The replay runs without XLA, whose noise
differs from XLA's: under XLA the update it stops at is the first
non-finite one of the replay, which need not be the compiled chunk's.

At every log point the ELBO of a fixed held-out batch is evaluated and
logged beside the training terms; its curve decides convergence
(`benchmark.training.convergence`) and, optionally, an early stop.

`precision` ("float32", "mixed_bfloat16" or "mixed_float16"; see
`benchmark.models.precision`) sets the networks' compute type, held-out
evaluation included; it is part of the run's recorded setup, so a run is
resumed only under the precision it started with.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.errors import UserInputError
from benchmark.models.precision import check_precision
from benchmark.models.vae import VAE
from benchmark.tf_quiet import import_tensorflow
from benchmark.training.checkpoints import (
    CHECKPOINT_PREFIX,
    check_run_file,
    make_checkpoint,
)
from benchmark.training.convergence import (
    DEFAULT_TOLERANCE,
    MIN_POINTS_TO_STOP,
    Convergence,
    assess,
)
from benchmark.training.progress import ProgressLog
from benchmark.training.setup import configure
from benchmark.training.step import apply_update, update_term_shapes

tf = import_tensorflow()

__all__ = [
    "HELDOUT_SIZE",
    "TrainResult",
    "TrainingDiverged",
    "make_chunk_runner",
    "make_heldout_evaluator",
    "make_step_runner",
    "next_boundary",
    "open_run",
    "OpenRun",
    "train",
    "unpack_terms",
]

HELDOUT_SIZE = 256  # images in the fixed held-out batch of the convergence curve
_HELDOUT_DRAWS = 3_000_017  # seed offset: held-out images never share the stream's draws


class TrainingDiverged(RuntimeError):
    """A loss or gradient turned NaN or infinite at update `step` (1-based); see `reason`."""

    def __init__(self, step: int, reason: str) -> None:
        super().__init__(f"training diverged at step {step}: {reason}")
        self.step = step
        self.reason = reason


@dataclass(frozen=True)
class TrainResult:
    """What one `train` call did.

    steps_done: updates in the checkpoint at the end (total, not this call's);
    seconds: wall time of this call; steps_per_second: updates of this call
    per second of it (tracing included); final_loss_terms: mean of each
    scalar term (nats) over the last logging interval; resumed_from_step:
    the update count this call started from (0 for a fresh run);
    final_kl_per_latent: the last interval's mean KL per latent (diagonal
    posteriors only); heldout_curve: `[(step, held-out ELBO in nats)]` at
    every log point so far; convergence: the criterion on that curve (None
    without a held-out batch); stopped_early: the run ended at convergence
    before `steps`; setup: device, TF32, op determinism and XLA (see
    `benchmark.training.setup`) and the training precision.
    """

    steps_done: int
    seconds: float
    steps_per_second: float
    final_loss_terms: dict[str, float]
    resumed_from_step: int
    final_kl_per_latent: list[float] | None = field(default=None)
    heldout_curve: list[tuple[int, float]] = field(default_factory=list)
    convergence: Convergence | None = None
    stopped_early: bool = False
    setup: dict[str, object] = field(default_factory=dict)


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise UserInputError(f"train: {name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def _batches(
    dataset: GroundTruthData | tf.data.Dataset,
    model: VAE,
    batch_size: int,
    seed: int,
    start: int,
) -> tf.data.Dataset:
    """The stream from batch `start` on; a ready-made `tf.data.Dataset` is skipped to it."""
    if isinstance(dataset, tf.data.Dataset):
        shape = tuple(dataset.element_spec.shape)
        if shape[1:] != model.observation_shape:
            raise UserInputError(
                f"train: dataset elements have shape {list(shape)}, expected "
                f"[batch, {', '.join(map(str, model.observation_shape))}]"
            )
        return dataset.skip(start)
    if tuple(dataset.observation_shape) != model.observation_shape:
        raise UserInputError(
            f"train: data set observations have shape {tuple(dataset.observation_shape)}, "
            f"the model was built for {model.observation_shape}"
        )
    from benchmark.data.stream import make_batches

    return make_batches(dataset, batch_size, seed, start=start)


def _flat_size(shape: tf.TensorShape) -> int:
    return int(np.prod(shape.as_list(), dtype=np.int64))


def make_chunk_runner(
    model: VAE, optimizers: dict, step: tf.Variable, seed: int, *, jit_compile: bool = False
):
    """A `tf.function(iterator, start, num_steps) -> packed` running `num_steps` updates unguarded.

    Update `start + i` draws batch `iterator.get_next()` and the stateless
    noise seed `fold_in([seed, 1], start + i)`: `start` is the host's step
    number (int64 scalar), so nothing in the loop reads a value back from the
    device, and every update is applied without a branch. `packed` is one
    float32 vector: `[all finite (1.0 or 0.0), sums of each term over the
    chunk..., terms of the last update...]` (see `unpack`); `step` is set to
    `start + num_steps` at the end. A chunk that is not all finite has
    written non-finite values into the weights: restore its start and replay
    it with `make_step_runner`. With `jit_compile` each update is one XLA
    cluster (the batch iterator stays outside it).
    """
    shapes = update_term_shapes(model)
    base_seed = tf.constant([seed, 1], tf.int32)

    def update(x, t):
        seed_t = tf.random.experimental.stateless_fold_in(base_seed, t)
        terms, ok = apply_update(model, x, tf.cast(t, tf.float32), seed_t, optimizers, guard=False)
        return {k: terms[k] for k in shapes}, ok

    if jit_compile:
        update = tf.function(update, jit_compile=True)

    @tf.function
    def run(iterator, start, num_steps):
        def body(i, finite, sums, last):
            terms, ok = update(iterator.get_next(), start + tf.cast(i, tf.int64))
            sums = {k: sums[k] + terms[k] for k in sums}
            return i + 1, tf.logical_and(finite, ok), sums, terms

        zeros = {k: tf.zeros(s, tf.float32) for k, s in shapes.items()}
        _, finite, sums, last = tf.while_loop(
            lambda i, finite, sums, last: i < num_steps,
            body,
            (tf.constant(0), tf.constant(True), zeros, zeros),
        )
        step.assign(start + tf.cast(num_steps, tf.int64))
        parts = [tf.reshape(tf.cast(finite, tf.float32), [1])]
        parts += [tf.reshape(sums[k], [-1]) for k in shapes]
        parts += [tf.reshape(last[k], [-1]) for k in shapes]
        return tf.concat(parts, axis=0)

    run.unpack = lambda packed: unpack_terms(packed, shapes)
    return run


def unpack_terms(
    packed: np.ndarray, shapes: dict[str, tf.TensorShape]
) -> tuple[bool, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """`(finite, sums, last)` from a chunk's packed vector `[finite, sums..., last...]`."""
    finite = bool(packed[0] > 0.5)
    offset, sums, last = 1, {}, {}
    for target in (sums, last):
        for name, shape in shapes.items():
            size = _flat_size(shape)
            target[name] = packed[offset : offset + size].reshape(shape.as_list())
            offset += size
    return finite, sums, last


def make_snapshot(variables: list[tf.Variable]):
    """`(save, load)` tf.functions copying `variables` to device-side shadows and back.

    `save()` before a chunk and `load()` after a non-finite one put the
    model, optimizer slots and counters back where the chunk started,
    without a round trip through the host.
    """
    with tf.init_scope():
        shadows = [
            tf.Variable(tf.zeros_like(v), trainable=False, dtype=v.dtype, name="shadow")
            for v in variables
        ]

    @tf.function
    def save():
        for shadow, variable in zip(shadows, variables, strict=True):
            shadow.assign(variable)

    @tf.function
    def load():
        for shadow, variable in zip(shadows, variables, strict=True):
            variable.assign(shadow)

    return save, load


def make_step_runner(model: VAE, optimizers: dict, step: tf.Variable, seed: int):
    """A `tf.function(iterator, num_steps) -> (done, ok, sums, last)` running guarded updates.

    Used to replay a chunk that went non-finite: each update is skipped
    unless finite, and the loop stops at the first that is not. `done`:
    updates applied; `ok`: False when the loop stopped at a non-finite update
    (not applied); `sums`: per-term sums over the applied updates; `last`:
    the terms of the last update tried. `step` counts applied updates.
    """
    shapes = update_term_shapes(model)
    base_seed = tf.constant([seed, 1], tf.int32)

    @tf.function
    def run(iterator, num_steps):
        def cond(done, ok, sums, last):
            return tf.logical_and(ok, done < num_steps)

        def body(done, ok, sums, last):
            x = iterator.get_next()
            t = step.read_value()
            seed_t = tf.random.experimental.stateless_fold_in(base_seed, t)
            terms, ok = apply_update(model, x, tf.cast(t, tf.float32), seed_t, optimizers)
            step.assign_add(tf.cast(ok, tf.int64))
            sums = {k: sums[k] + tf.where(ok, terms[k], tf.zeros_like(terms[k])) for k in sums}
            return done + tf.cast(ok, tf.int32), ok, sums, {k: terms[k] for k in sums}

        zeros = {k: tf.zeros(s, tf.float32) for k, s in shapes.items()}
        return tf.while_loop(cond, body, (tf.constant(0), tf.constant(True), zeros, zeros))

    return run


def make_heldout_evaluator(model: VAE, heldout: np.ndarray, seed: int):
    """A function `() -> {"elbo", "reconstruction", "kl"}` (floats, nats) on the held-out batch.

    For a point-mass model (an autoencoder) "elbo" is minus the held-out loss
    and "kl" its code penalty; "loss" is added so the log names it.

    The same images and the same noise (stateless seed `[seed, 2]`) at every
    evaluation, so the curve moves only with the weights.
    """
    images = tf.constant(heldout, tf.float32)
    noise = tf.constant([seed, 2], tf.int32)

    @tf.function
    def evaluate():
        terms = model.heldout_terms(images, noise)
        return tf.stack([terms["elbo"], terms["reconstruction"], terms["kl"]])

    has_density = bool(getattr(model, "has_density", True))

    def call() -> dict[str, float]:
        elbo, reconstruction, kl = (float(v) for v in evaluate().numpy())
        terms = {"elbo": elbo, "reconstruction": reconstruction, "kl": kl}
        if not has_density:  # an autoencoder has no ELBO: its "elbo" is minus its held-out loss
            terms["loss"] = -elbo
        return terms

    return call


def _reason(last: dict[str, np.ndarray]) -> str:
    bad = [
        f"{name}={float(np.asarray(v).ravel()[0]) if np.ndim(v) == 0 else 'non-finite'}"
        for name, v in last.items()
        if name != "grad_norm" and not np.all(np.isfinite(v))
    ]
    if bad:
        return "non-finite loss terms: " + ", ".join(bad)
    return f"non-finite gradient (global norm {float(last['grad_norm'])})"


def _heldout_images(
    dataset: GroundTruthData | tf.data.Dataset, heldout: np.ndarray | None, size: int, seed: int
) -> np.ndarray | None:
    """The fixed held-out batch: given, or `size` fresh draws of a `GroundTruthData`."""
    if heldout is not None:
        return np.asarray(heldout, np.float32)
    if isinstance(dataset, tf.data.Dataset) or size == 0:
        return None
    _, images = dataset.sample(size, np.random.RandomState(seed + _HELDOUT_DRAWS))
    return images


def train(model: VAE, dataset: GroundTruthData | tf.data.Dataset, **settings: Any) -> TrainResult:
    """Trains `model` for `steps` updates in total, resuming from `checkpoint_dir` if it holds a run.

    The keyword arguments are `open_run`'s (which holds their defaults):
    `steps` and `checkpoint_dir` (required), `batch_size=64`,
    `learning_rate=1e-4`, `seed=0`, `checkpoint_every=1000`,
    `log_every=100`, `progress=True`, `heldout=None`, `heldout_size=256`,
    `convergence_tolerance=0.25`, `stop_when_converged=False`,
    `precision="float32"`, `min_steps=0`, `xla=None`.

    dataset: a `GroundTruthData` (streamed with `make_batches(dataset,
    batch_size, seed)`, restarted at batch t for free on resume) or an
    infinite `tf.data.Dataset` of float32 `[batch, *observation_shape]`
    batches (skipped to batch t on resume, which renders the skipped ones).
    Variables are created with `seed` when the model has none yet.
    Checkpoints every `checkpoint_every` updates and at the end; every
    `log_every` updates logs the mean training terms and the held-out ELBO
    terms to `checkpoint_dir/train_log.jsonl`. The held-out batch is
    `heldout` `[N, *observation_shape]`, else `heldout_size` images drawn
    from a `GroundTruthData` with seed `seed + 3000017` (none for a
    `tf.data.Dataset`). Convergence (`benchmark.training.convergence`, with
    `convergence_tolerance`) is assessed on that curve; `stop_when_converged`
    ends the run at the first log point at or after `min_steps` where it
    holds. `precision`: the networks' compute type (`model.set_precision`, before the variables
    exist). `xla`: compile each update with XLA (None: on a GPU only; see
    `benchmark.training.setup`). Raises `TrainingDiverged` when a loss or gradient is not finite
    (under float16 loss scaling, when it stays so at the smallest scale);
    `UserInputError` for bad arguments or a run directory written with
    another seed, batch size, learning rate or numerical setup (precision
    included).
    """
    run = open_run(model, dataset, **settings)
    try:
        if run.needs_training:
            _train_chunks(run)
    finally:
        run.log.close()
    return run.result()


@dataclass
class OpenRun:
    """One run's training state, opened by `open_run` (checked, built, restored) and not yet trained.

    `train` trains one; `benchmark.training.pack.train_pack` trains several
    in one compiled step. `start` is the update count restored from the
    checkpoint; `needs_training` is False for a finished run or one that
    already stopped at convergence.
    """

    model: VAE
    dataset: GroundTruthData | tf.data.Dataset
    optimizers: dict
    step: tf.Variable
    manager: tf.train.CheckpointManager
    log: ProgressLog
    evaluate: object  # `make_heldout_evaluator`'s function, or None without a held-out batch
    steps: int
    batch_size: int
    seed: int
    checkpoint_every: int
    log_every: int
    convergence_tolerance: float
    stop_when_converged: bool
    min_steps: int
    setup: dict[str, object]
    start: int
    started: float
    stopped_early: bool = False

    @property
    def needs_training(self) -> bool:
        return self.start < self.steps and not self.stopped_early

    def converged_now(self) -> bool:
        """Whether the early stop holds at the last log point (never without `stop_when_converged`)."""
        curve = self.log.heldout_curve()
        if not self.stop_when_converged or not curve or curve[-1][0] < self.min_steps:
            return False
        verdict = assess([s for s, _ in curve], [e for _, e in curve], self.convergence_tolerance)
        return verdict.converged and verdict.points >= MIN_POINTS_TO_STOP

    def batches(self, start: int) -> tf.data.Dataset:
        """This run's stream from batch `start` on."""
        return _batches(self.dataset, self.model, self.batch_size, self.seed, start)

    def state_variables(self) -> list[tf.Variable]:
        """Everything an update changes, once each (model, optimizer slots and counters)."""
        return list({id(v): v for v in _state_variables(self.model, self.optimizers)}.values())

    def record(self, current: int, steps_done: int, sums, last) -> bool:
        """Logs `steps_done` updates ending at `current`; held-out ELBO, checkpoint; True to stop."""
        self.log.add(steps_done, sums, last)
        stop = False
        if current % self.log_every == 0 or current == self.steps:
            heldout = self.evaluate() if self.evaluate is not None else None
            self.log.flush(current, time.perf_counter() - self.started, heldout)
            stop = current % self.log_every == 0 and self.converged_now()
        if current % self.checkpoint_every == 0 or current == self.steps or stop:
            self.manager.save(checkpoint_number=current)
        return stop

    def replay(self, current: int, boundary: int) -> tuple[int, dict, dict]:
        """Replays updates `current`..`boundary` guarded (after a non-finite chunk was undone).

        Returns `(updates applied, sums, last)`; raises `TrainingDiverged`
        (logged) at the first non-finite update, with the weights at the
        last good values.
        """
        self.step.assign(current)
        guarded = make_step_runner(self.model, self.optimizers, self.step, self.seed)
        again = iter(self.batches(current))
        done_t, ok, sums_t, last_t = guarded(again, tf.constant(boundary - current))
        done = int(done_t.numpy())
        sums = {k: v.numpy() for k, v in sums_t.items()}
        last = {k: v.numpy() for k, v in last_t.items()}
        if not bool(ok.numpy()):
            self.log.add(done, sums, last)
            reason = _reason(last)
            self.log.flush(current + done, time.perf_counter() - self.started)
            self.log.diverged(current + done + 1, reason)
            raise TrainingDiverged(current + done + 1, reason)
        return done, sums, last

    def result(self) -> TrainResult:
        """What this run's training did, from its step counter, log and curve."""
        seconds = time.perf_counter() - self.started
        trained = int(self.step.numpy())
        ran = max(0, trained - self.start)
        curve = self.log.heldout_curve()
        verdict = (
            assess([s for s, _ in curve], [e for _, e in curve], self.convergence_tolerance)
            if curve
            else None
        )
        return TrainResult(
            steps_done=trained,
            seconds=seconds,
            steps_per_second=ran / seconds if ran and seconds > 0 else 0.0,
            final_loss_terms=dict(self.log.last_terms),
            resumed_from_step=self.start,
            final_kl_per_latent=self.log.last_kl_per_latent,
            heldout_curve=curve,
            convergence=verdict,
            stopped_early=trained < self.steps,
            setup=self.setup,
        )


def open_run(
    model: VAE,
    dataset: GroundTruthData | tf.data.Dataset,
    *,
    steps: int,
    batch_size: int = 64,
    learning_rate: float = 1e-4,
    seed: int = 0,
    checkpoint_dir: str | Path,
    checkpoint_every: int = 1000,
    log_every: int = 100,
    progress: bool = True,
    heldout: np.ndarray | None = None,
    heldout_size: int = HELDOUT_SIZE,
    convergence_tolerance: float = DEFAULT_TOLERANCE,
    stop_when_converged: bool = False,
    precision: str = "float32",
    min_steps: int = 0,
    xla: bool | None = None,
) -> OpenRun:
    """Checks `train`'s arguments, builds and restores the run in `checkpoint_dir` (see `train`)."""
    steps = _check_int("steps", steps, 0)
    batch_size = _check_int("batch_size", batch_size, 1)
    seed = _check_int("seed", seed, 0)
    if seed >= 2**31:
        raise UserInputError(f"train: seed: expected an integer below 2**31, got {seed}")
    checkpoint_every = _check_int("checkpoint_every", checkpoint_every, 1)
    log_every = _check_int("log_every", log_every, 1)
    heldout_size = _check_int("heldout_size", heldout_size, 0)
    min_steps = _check_int("min_steps", min_steps, 0)
    if not (
        isinstance(learning_rate, int | float)
        and math.isfinite(learning_rate)
        and learning_rate > 0
    ):
        raise UserInputError(f"train: learning_rate: expected a number > 0, got {learning_rate!r}")
    if not (isinstance(convergence_tolerance, int | float) and 0 < convergence_tolerance <= 1e6):
        raise UserInputError(
            "train: convergence_tolerance: expected nats per 1,000 steps in (0, 1e6], "
            f"got {convergence_tolerance!r}"
        )
    try:
        precision = check_precision(precision)
    except UserInputError as error:
        raise UserInputError(f"train: {error}") from None
    if xla is not None and not isinstance(xla, bool):
        raise UserInputError(f"train: xla: expected True, False or None, got {xla!r}")
    started = time.perf_counter()
    directory = Path(checkpoint_dir)
    directory.mkdir(parents=True, exist_ok=True)
    setup = {**configure(xla), "precision": precision}
    config = getattr(model, "entry_config", None)
    check_run_file(
        directory,
        {
            "seed": seed,
            "batch_size": batch_size,
            "learning_rate": float(learning_rate),
            "model": config.to_json() if config is not None else None,
            "setup": setup,
        },
    )

    model.set_precision(precision)
    model.initialize(seed)
    optimizers = model.make_optimizers(float(learning_rate))
    for name, variables in model.optimizer_variables().items():
        optimizers[name].build(variables)
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = make_checkpoint(model, step, optimizers)
    manager = tf.train.CheckpointManager(
        checkpoint, str(directory), max_to_keep=2, checkpoint_name=CHECKPOINT_PREFIX
    )
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    start = int(step.numpy())
    log = ProgressLog(
        directory,
        # A call below the saved step (an earlier trajectory segment of a resumed run) trains
        # nothing and must keep the log past `steps`: only records past the checkpoint go.
        total=max(steps, start),
        start=start,
        description=f"{model.entry_name or 'vae'}/{model.posterior_name}",
        enabled=progress,
    )
    images = _heldout_images(dataset, heldout, heldout_size, seed)
    run = OpenRun(
        model=model, dataset=dataset, optimizers=optimizers, step=step, manager=manager,
        log=log, evaluate=make_heldout_evaluator(model, images, seed) if images is not None else None,
        steps=steps, batch_size=batch_size, seed=seed, checkpoint_every=checkpoint_every,
        log_every=log_every, convergence_tolerance=convergence_tolerance,
        stop_when_converged=stop_when_converged, min_steps=min_steps, setup=setup,
        start=start, started=started,
    )  # fmt: skip
    run.stopped_early = start < steps and start % log_every == 0 and run.converged_now()
    return run


def next_boundary(current: int, steps: int, checkpoint_every: int, log_every: int) -> int:
    """The update count a chunk starting at `current` runs to: the next log or checkpoint point."""
    return min(
        steps,
        (current // checkpoint_every + 1) * checkpoint_every,
        (current // log_every + 1) * log_every,
    )


def _train_chunks(run: OpenRun) -> None:
    """Runs chunks from `run.start` to `run.steps` (or to convergence), logging and checkpointing.

    A chunk runs to the next log or checkpoint boundary without reading
    anything back; its one packed result is read at its end. A chunk that
    went non-finite is undone (device-side snapshot) and replayed update by
    update with the guarded runner from a stream restarted at its first
    batch, which stops before the bad update, as an unguarded loop would
    have had to.
    """
    iterator = iter(run.batches(run.start))
    chunk = make_chunk_runner(
        run.model, run.optimizers, run.step, run.seed, jit_compile=bool(run.setup["xla"])
    )
    save, load = make_snapshot(run.state_variables())
    current = run.start
    run.log.mark(current, 0.0)
    while current < run.steps:
        boundary = next_boundary(current, run.steps, run.checkpoint_every, run.log_every)
        save()
        packed = chunk(iterator, tf.constant(current, tf.int64), tf.constant(boundary - current))
        finite, sums, last = chunk.unpack(packed.numpy())
        if not finite:
            load()
            _, sums, last = run.replay(current, boundary)
        if run.record(boundary, boundary - current, sums, last):
            return
        current = boundary


def _state_variables(model: VAE, optimizers: dict) -> list[tf.Variable]:
    """Everything an update changes: the model's variables and the optimizers' slots and counters."""
    return [*model.variables, *(v for o in optimizers.values() for v in o.variables)]
