"""`train_pack`: several runs trained in lockstep, their updates in one compiled step.

A pack is K ordinary runs (each a `VAE` with its own seed, model arguments,
learning rate and run folder) that share the step budget, batch size, log
and checkpoint schedule, precision and XLA setting. Each chunk of updates is
one `tf.function` call whose loop body applies one update of every member
(`benchmark.training.step.apply_update`, the solo trainer's update); with
XLA the K updates are one XLA computation. The weights stay each member's
own variables, so a member is an ordinary run in every other respect: its
initial weights, data stream and noise seeds are its solo run's, and it
writes its own `run.json`, checkpoints, `train_log.jsonl`, held-out curve,
convergence verdict and early stop, which `load_model`, `disbench show`
and re-scoring read unchanged.

Why separate weights rather than weights stacked on a member axis: on the
2-core AMD EPYC (AVX2) development machine, `disbench perf train --pack`
measured K = 4 fc-256 models in one XLA step at 1.5-2.2 times the solo
trainer's images/s (1.2-1.5 times solo with XLA; conv gains nothing), and a
probe with stacked weights and batched matrix products was no faster;
separate weights keep every model entry, posterior family and objective
(FactorVAE's discriminator included) packable without a second
implementation of any layer. On a GPU, stacked weights may well win: not
measured.

A member whose chunk went non-finite is undone from its own snapshot and
replayed alone with the guarded per-step runner, as `train` does: it stops
at the first bad update (`TrainingDiverged`, logged) while the others'
chunk stands. A member that diverges or stops at convergence leaves the
pack, and the rest are repacked (the step is traced again for K - 1).
Members restored at different update counts (a member that finished or
stopped before a kill) train in groups of equal counts, one group after
another. Arithmetic: without XLA a member's update runs the same kernels
as its solo run; the tests compare them within float tolerance.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.data.base import GroundTruthData
from benchmark.errors import UserInputError
from benchmark.models.vae import VAE
from benchmark.tf_quiet import import_tensorflow
from benchmark.training.loop import (
    OpenRun,
    TrainingDiverged,
    TrainResult,
    make_snapshot,
    next_boundary,
    open_run,
    unpack_terms,
)
from benchmark.training.step import apply_update, update_term_shapes

tf = import_tensorflow()

__all__ = ["PackMember", "make_pack_runner", "train_pack"]


@dataclass(frozen=True)
class PackMember:
    """One run of a pack: its model, data, seed, learning rate and run folder."""

    model: VAE
    dataset: GroundTruthData | tf.data.Dataset
    seed: int
    checkpoint_dir: str | Path
    learning_rate: float = 1e-4
    heldout_size: int | None = field(default=None)


def make_pack_runner(runs: Sequence[OpenRun], *, jit_compile: bool = False):
    """A `tf.function(iterators, start, num_steps) -> [K, size]` running every member's updates.

    Row k is member k's packed chunk result, laid out as `make_chunk_runner`'s
    (`[all finite, sums..., last...]`, read with `unpack_terms`); each
    member's step counter is set to `start + num_steps` at the end. Updates
    are unguarded, as in the solo chunk runner.
    """
    shapes = [update_term_shapes(run.model) for run in runs]
    base_seeds = [tf.constant([run.seed, 1], tf.int32) for run in runs]

    def update(batches, t):
        outputs = []
        for run, x, base, member_shapes in zip(runs, batches, base_seeds, shapes, strict=True):
            seed_t = tf.random.experimental.stateless_fold_in(base, t)
            terms, ok = apply_update(
                run.model, x, tf.cast(t, tf.float32), seed_t, run.optimizers, guard=False
            )
            outputs.append(({k: terms[k] for k in member_shapes}, ok))
        return outputs

    if jit_compile:
        update = tf.function(update, jit_compile=True)

    @tf.function
    def run_pack(iterators, start, num_steps):
        def body(i, finite, sums, last):
            batches = [iterator.get_next() for iterator in iterators]
            outputs = update(batches, start + tf.cast(i, tf.int64))
            finite = [tf.logical_and(f, ok) for f, (_, ok) in zip(finite, outputs, strict=True)]
            sums = [
                {k: total[k] + terms[k] for k in total}
                for total, (terms, _) in zip(sums, outputs, strict=True)
            ]
            return i + 1, finite, sums, [terms for terms, _ in outputs]

        zeros = [{k: tf.zeros(s, tf.float32) for k, s in member.items()} for member in shapes]
        trues = [tf.constant(True) for _ in runs]
        _, finite, sums, last = tf.while_loop(
            lambda i, *_: i < num_steps, body, (tf.constant(0), trues, zeros, zeros)
        )
        for run in runs:
            run.step.assign(start + tf.cast(num_steps, tf.int64))
        rows = []
        for member_shapes, ok, total, final in zip(shapes, finite, sums, last, strict=True):
            parts = [tf.reshape(tf.cast(ok, tf.float32), [1])]
            parts += [tf.reshape(total[k], [-1]) for k in member_shapes]
            parts += [tf.reshape(final[k], [-1]) for k in member_shapes]
            rows.append(tf.concat(parts, axis=0))
        return rows

    run_pack.shapes = shapes
    return run_pack


def train_pack(
    members: Sequence[PackMember],
    *,
    steps: int,
    batch_size: int = 64,
    checkpoint_every: int = 1000,
    log_every: int = 100,
    progress: bool = False,
    convergence_tolerance: float | None = None,
    stop_when_converged: bool = False,
    precision: str = "float32",
    min_steps: int = 0,
    xla: bool | None = None,
) -> list[TrainResult | TrainingDiverged]:
    """Trains every member to `steps` updates (see the module doc); one result per member, in order.

    A member's result is its `TrainResult` (its time and rate counted from
    the start of its group to the moment it left the pack), or the
    `TrainingDiverged` it stopped with (returned, not raised, so the others'
    results survive). The keyword arguments mean what they mean for `train`
    and apply to every member, except that `progress` defaults to False (K
    progress bars at once say little). Raises `UserInputError` for bad
    arguments before any member trains: a pack without members, two members
    sharing a run folder or a model object, or a member whose own arguments,
    run folder or data `train` would refuse (members opened before it keep
    the `run.json` they wrote, as `train` would have).
    """
    if not members:
        raise UserInputError("train_pack: expected at least one member, got none")
    folders = [Path(member.checkpoint_dir).resolve() for member in members]
    if len(set(folders)) != len(folders):
        raise UserInputError("train_pack: two members share a checkpoint_dir; each needs its own")
    if len({id(member.model) for member in members}) != len(members):
        raise UserInputError("train_pack: two members share a model object; each needs its own")
    shared = {
        "steps": steps, "batch_size": batch_size, "checkpoint_every": checkpoint_every,
        "log_every": log_every, "progress": progress, "stop_when_converged": stop_when_converged,
        "precision": precision, "min_steps": min_steps, "xla": xla,
    }  # fmt: skip
    if convergence_tolerance is not None:
        shared["convergence_tolerance"] = convergence_tolerance
    runs: list[OpenRun] = []
    outcomes: dict[int, TrainResult | TrainingDiverged] = {}
    try:
        for member in members:
            extra = {} if member.heldout_size is None else {"heldout_size": member.heldout_size}
            run = open_run(
                member.model, member.dataset, seed=member.seed,
                checkpoint_dir=member.checkpoint_dir, learning_rate=member.learning_rate,
                **extra, **shared,  # type: ignore[arg-type]
            )  # fmt: skip
            runs.append(run)
            run.batches(run.start)  # a data set that does not fit the model fails here, not later
        pending = [i for i, run in enumerate(runs) if run.needs_training]
        pending.sort(key=lambda i: runs[i].start)
        for _, group in itertools.groupby(pending, key=lambda i: runs[i].start):
            indices = list(group)
            outcomes.update(_train_group([runs[i] for i in indices], indices))
    finally:
        for run in runs:
            run.log.close()
    return [outcomes[i] if i in outcomes else run.result() for i, run in enumerate(runs)]


def _train_group(
    runs: list[OpenRun], indices: list[int]
) -> dict[int, TrainResult | TrainingDiverged]:
    """Trains runs restored at one update count together; `{index: result or TrainingDiverged}`."""
    outcomes: dict[int, TrainResult | TrainingDiverged] = {}
    first = runs[0]
    current = first.start
    iterators = [iter(run.batches(current)) for run in runs]
    snapshots = [make_snapshot(run.state_variables()) for run in runs]
    active = list(range(len(runs)))
    jit_compile = bool(first.setup["xla"])
    pack = make_pack_runner(runs, jit_compile=jit_compile)
    for run in runs:
        run.started = time.perf_counter()  # the group's start: earlier groups are not its time
        run.log.mark(current, 0.0)
    while active and current < first.steps:
        boundary = next_boundary(current, first.steps, first.checkpoint_every, first.log_every)
        for k in active:
            snapshots[k][0]()
        rows = pack(
            [iterators[k] for k in active],
            tf.constant(current, tf.int64),
            tf.constant(boundary - current),
        )
        leaving = []
        for k, row in zip(active, rows, strict=True):
            run = runs[k]
            finite, sums, last = unpack_terms(row.numpy(), pack.shapes[active.index(k)])
            try:
                if not finite:
                    snapshots[k][1]()
                    _, sums, last = run.replay(current, boundary)
                if run.record(boundary, boundary - current, sums, last):
                    outcomes[indices[k]] = run.result()  # stopped early: its time ends here
                    leaving.append(k)
            except TrainingDiverged as error:
                outcomes[indices[k]] = error
                leaving.append(k)
        current = boundary
        if leaving:
            active = [k for k in active if k not in leaving]
            if active:  # repack the rest: the step is traced again for fewer members
                pack = make_pack_runner([runs[k] for k in active], jit_compile=jit_compile)
    for k in active:
        outcomes[indices[k]] = runs[k].result()
    return outcomes
