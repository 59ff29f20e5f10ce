"""The trainer's Adam: TF1's update step for step, with variable constraints applied."""

from __future__ import annotations

import numpy as np

from benchmark.models.optimizers import Adam
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

MASK = np.tril(np.ones((4, 3), np.float32))
LR, BETA_1, BETA_2, EPSILON = 1e-2, 0.9, 0.999, 1e-8


def _start():
    rng = np.random.default_rng(0)
    return [
        rng.normal(size=(5,)).astype(np.float32),
        rng.normal(size=(4, 3)).astype(np.float32) * MASK,
    ]


def _targets(shapes):
    return [np.linspace(-1, 1, int(np.prod(s)), dtype=np.float32).reshape(s) for s in shapes]


def _reference(steps: int) -> list[np.ndarray]:
    """TF1's AdamOptimizer in float64: epsilon on sqrt(v), bias correction in the rate."""
    weights = [w.astype(np.float64) for w in _start()]
    targets = _targets([w.shape for w in weights])
    m = [np.zeros_like(w) for w in weights]
    v = [np.zeros_like(w) for w in weights]
    for t in range(1, steps + 1):
        rate = LR * np.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
        for i, (w, target) in enumerate(zip(weights, targets, strict=True)):
            g = 4 * (w - target) ** 3
            m[i] = BETA_1 * m[i] + (1 - BETA_1) * g
            v[i] = BETA_2 * v[i] + (1 - BETA_2) * g**2
            weights[i] = w - rate * m[i] / (np.sqrt(v[i]) + EPSILON)
        weights[1] = weights[1] * MASK  # the constraint, after each update
    return weights


def test_adam_follows_tf1_for_100_steps_and_applies_constraints():
    start = _start()
    variables = [
        tf.Variable(start[0]),
        tf.Variable(start[1], constraint=lambda w: w * MASK),
    ]
    targets = [tf.constant(t) for t in _targets([w.shape for w in start])]
    optimizer = Adam(LR, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPSILON)
    optimizer.build(variables)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = sum(tf.reduce_sum((v - t) ** 4) for v, t in zip(variables, targets, strict=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))

    for _ in range(100):
        step()
    for ours, reference in zip(variables, _reference(100), strict=True):
        np.testing.assert_allclose(ours.numpy(), reference, rtol=1e-4, atol=1e-5)
    assert np.all(variables[1].numpy()[MASK == 0] == 0)
    assert int(optimizer.iterations.numpy()) == 100


class _EarlierAdamState(tf.Module):
    """The layout of the earlier hand-written optimizer's checkpoints: iterations, m/<i>, v/<i>."""

    def __init__(self, shapes):
        super().__init__()
        self.iterations = tf.Variable(7, dtype=tf.int64)
        self.m = [tf.Variable(tf.fill(s, 0.25)) for s in shapes]
        self.v = [tf.Variable(tf.fill(s, 0.5)) for s in shapes]


def test_checkpoints_of_the_earlier_optimizer_resume(tmp_path):
    shapes = [(5,), (4, 3)]
    earlier = _EarlierAdamState(shapes)
    path = tf.train.Checkpoint(optimizer_vae=earlier).save(str(tmp_path / "earlier"))
    variables = [tf.Variable(tf.zeros(s)) for s in shapes]
    optimizer = Adam(LR)
    optimizer.build(variables)
    checkpoint = tf.train.Checkpoint(optimizer_vae=optimizer)
    checkpoint.restore(path).assert_existing_objects_matched()
    assert int(optimizer.iterations.numpy()) == 7
    for m, v in zip(optimizer.m, optimizer.v, strict=True):
        assert np.all(m.numpy() == 0.25) and np.all(v.numpy() == 0.5)
