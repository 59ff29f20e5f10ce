"""The trainer's Adam against tf_keras's: the same TF1 update, step for step, constraints included."""

from __future__ import annotations

import numpy as np

from benchmark.models.optimizers import Adam
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()
import tf_keras  # noqa: E402

MASK = np.tril(np.ones((4, 3), np.float32))


def _variables():
    rng = np.random.default_rng(0)
    free = tf.Variable(rng.normal(size=(5,)).astype(np.float32))
    masked = tf.Variable(
        rng.normal(size=(4, 3)).astype(np.float32) * MASK, constraint=lambda w: w * MASK
    )
    return [free, masked]


def _train(optimizer, variables, steps: int = 100):
    target = [tf.constant(np.linspace(-1, 1, int(np.prod(v.shape))).reshape(v.shape), tf.float32)
              for v in variables]  # fmt: skip

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = sum(tf.reduce_sum((v - t) ** 4) for v, t in zip(variables, target, strict=True))
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables, strict=True))

    for _ in range(steps):
        step()
    return [v.numpy() for v in variables]


def test_fused_adam_matches_keras_adam_for_100_steps_with_a_constrained_variable():
    ours_vars, keras_vars = _variables(), _variables()
    ours = Adam(learning_rate=1e-2)
    ours.build(ours_vars)
    keras = tf_keras.optimizers.Adam(learning_rate=1e-2, epsilon=1e-8, jit_compile=False)
    keras.build(keras_vars)
    for mine, theirs in zip(_train(ours, ours_vars), _train(keras, keras_vars), strict=True):
        # Same formula; the fused kernel and Keras's separate ops round differently in float32.
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5)
    assert np.all(ours_vars[1].numpy()[MASK == 0] == 0)  # the constraint held every step
    assert int(ours.iterations.numpy()) == int(keras.iterations.numpy()) == 100
