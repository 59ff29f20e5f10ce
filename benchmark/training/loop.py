"""`train`: the seeded, resumable training loop with a NaN guard.

Update t (counting from 0) trains on batch t of
`benchmark.data.stream.make_batches(dataset, batch_size, seed)` and draws its
noise from the stateless seed `fold_in([seed, 1], t)`. A run killed at any
point and restarted with the same arguments resumes from its latest
checkpoint (model, optimizers, update counter), restarts the stream at batch
t for free, and ends with the same weights as an uninterrupted run.

Steps run inside one `tf.function` holding a `tf.while_loop` of up to
`_MAX_CHUNK` updates (no Python work per step); the loop stops early at the
first update whose loss or gradient is not finite, skipping that update, and
`train` raises `TrainingDiverged(step, reason)`: the weights in memory and on
disk stay at the last good values. Not compiled with XLA: on the 2-core CPU
it ran twice as slow. TensorFlow places the step on a GPU when it sees one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.data.base import GroundTruthData
from benchmark.errors import UserInputError
from benchmark.models.vae import VAE
from benchmark.tf_quiet import import_tensorflow
from benchmark.training.checkpoints import (
    CHECKPOINT_PREFIX,
    check_run_file,
    make_checkpoint,
)
from benchmark.training.progress import ProgressLog

tf = import_tensorflow()

__all__ = ["TrainResult", "TrainingDiverged", "make_step_runner", "train"]

_MAX_CHUNK = 25  # updates per tf.function call: the progress bar moves at least this often


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
    posteriors only).
    """

    steps_done: int
    seconds: float
    steps_per_second: float
    final_loss_terms: dict[str, float]
    resumed_from_step: int
    final_kl_per_latent: list[float] | None = field(default=None)


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


def make_step_runner(model: VAE, optimizers: dict, step: tf.Variable, seed: int):
    """A `tf.function(iterator, num_steps) -> (done, ok, sums, last)` running updates in a loop.

    `done`: updates applied; `ok`: False when the loop stopped at a non-finite
    update (not applied); `sums`: per-term sums over the applied updates;
    `last`: the terms of the last update tried. `step` counts applied updates.
    """
    shapes = {**model.term_shapes(), "grad_norm": tf.TensorShape([])}
    base_seed = tf.constant([seed, 1], tf.int32)

    @tf.function
    def run(iterator, num_steps):
        def cond(done, ok, sums, last):
            return tf.logical_and(ok, done < num_steps)

        def body(done, ok, sums, last):
            x = iterator.get_next()
            t = step.read_value()
            seed_t = tf.random.experimental.stateless_fold_in(base_seed, t)
            terms, ok = model.apply_update(x, tf.cast(t, tf.float32), seed_t, optimizers)
            step.assign_add(tf.cast(ok, tf.int64))
            sums = {k: sums[k] + tf.where(ok, terms[k], tf.zeros_like(terms[k])) for k in sums}
            return done + tf.cast(ok, tf.int32), ok, sums, {k: terms[k] for k in sums}

        zeros = {k: tf.zeros(s, tf.float32) for k, s in shapes.items()}
        return tf.while_loop(cond, body, (tf.constant(0), tf.constant(True), zeros, zeros))

    return run


def _reason(last: dict[str, np.ndarray]) -> str:
    bad = [
        f"{name}={float(np.asarray(v).ravel()[0]) if np.ndim(v) == 0 else 'non-finite'}"
        for name, v in last.items()
        if name != "grad_norm" and not np.all(np.isfinite(v))
    ]
    if bad:
        return "non-finite loss terms: " + ", ".join(bad)
    return f"non-finite gradient (global norm {float(last['grad_norm'])})"


def train(
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
) -> TrainResult:
    """Trains `model` for `steps` updates in total, resuming from `checkpoint_dir` if it holds a run.

    dataset: a `GroundTruthData` (streamed with `make_batches(dataset,
    batch_size, seed)`, restarted at batch t for free on resume) or an
    infinite `tf.data.Dataset` of float32 `[batch, *observation_shape]`
    batches (skipped to batch t on resume, which renders the skipped ones). Variables are created with `seed`
    when the model has none yet. Checkpoints every `checkpoint_every` updates
    and at the end; logs mean loss terms every `log_every` updates to
    `checkpoint_dir/train_log.jsonl`. Raises `TrainingDiverged` when a loss
    or gradient is not finite; `UserInputError` for bad arguments or a run
    directory written with another seed, batch size or learning rate.
    """
    steps = _check_int("steps", steps, 0)
    batch_size = _check_int("batch_size", batch_size, 1)
    seed = _check_int("seed", seed, 0)
    if seed >= 2**31:
        raise UserInputError(f"train: seed: expected an integer below 2**31, got {seed}")
    checkpoint_every = _check_int("checkpoint_every", checkpoint_every, 1)
    log_every = _check_int("log_every", log_every, 1)
    if not (
        isinstance(learning_rate, int | float)
        and math.isfinite(learning_rate)
        and learning_rate > 0
    ):
        raise UserInputError(f"train: learning_rate: expected a number > 0, got {learning_rate!r}")
    started = time.perf_counter()
    directory = Path(checkpoint_dir)
    directory.mkdir(parents=True, exist_ok=True)
    config = getattr(model, "entry_config", None)
    check_run_file(
        directory,
        {
            "seed": seed,
            "batch_size": batch_size,
            "learning_rate": float(learning_rate),
            "model": config.to_json() if config is not None else None,
        },
    )

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
        total=steps,
        start=min(start, steps),
        description=f"{model.entry_name or 'vae'}/{model.posterior_name}",
        enabled=progress,
    )
    try:
        if start < steps:
            iterator = iter(_batches(dataset, model, batch_size, seed, start))
            run = make_step_runner(model, optimizers, step, seed)
            current = start
            log.mark(current, 0.0)
            while current < steps:
                boundary = min(
                    steps,
                    (current // checkpoint_every + 1) * checkpoint_every,
                    (current // log_every + 1) * log_every,
                    current + _MAX_CHUNK,
                )
                done, ok, sums, last = run(iterator, tf.constant(boundary - current))
                done = int(done.numpy())
                log.add(
                    done,
                    {k: v.numpy() for k, v in sums.items()},
                    {k: v.numpy() for k, v in last.items()},
                )
                current += done
                elapsed = time.perf_counter() - started
                if not bool(ok.numpy()):
                    reason = _reason({k: v.numpy() for k, v in last.items()})
                    log.flush(current, elapsed)
                    log.diverged(current + 1, reason)
                    raise TrainingDiverged(current + 1, reason)
                if current % log_every == 0 or current == steps:
                    log.flush(current, elapsed)
                if current % checkpoint_every == 0 or current == steps:
                    manager.save(checkpoint_number=current)
    finally:
        log.close()
    seconds = time.perf_counter() - started
    ran = max(0, steps - start)
    return TrainResult(
        steps_done=int(step.numpy()),
        seconds=seconds,
        steps_per_second=ran / seconds if ran and seconds > 0 else 0.0,
        final_loss_terms=dict(log.last_terms),
        resumed_from_step=start,
        final_kl_per_latent=log.last_kl_per_latent,
    )
