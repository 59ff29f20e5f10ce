"""`Adam`: tf_keras's Adam with disentanglement_lib's settings (TF1's `AdamOptimizer` update).

TF1's `AdamOptimizer` (what disentanglement_lib trains with) and Keras's Adam
(`adaptive_epsilon=False`, its default) apply, per variable with gradient g
at update t (counting from 1):

    m <- beta_1 m + (1 - beta_1) g
    v <- beta_2 v + (1 - beta_2) g^2
    w <- w - lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

that is, epsilon is added to sqrt(v) and the bias correction is folded into
the learning rate. Keras applies each variable's `constraint` after the
update (the masks of TFP's `AutoregressiveNetwork`, which keep the IAF
autoregressive, are such constraints). Slots and the update counter are
variables, so the optimizer checkpoints with `tf.train.Checkpoint`.

The trainer used a hand-written optimizer (one fused `ResourceApplyAdam`
kernel per variable) before; timed against this one with `disbench perf
train --quick` (three alternated runs each on a loaded 2-core machine) it
was not faster, so the stock optimizer replaced it. Both compute the same
update; float32 rounding differs in the last digits.
"""

from __future__ import annotations

from benchmark.models.deferred_base import DeferredBase
from benchmark.tf_quiet import lazy_tensorflow, lazy_tf_keras

tf = lazy_tensorflow()
tf_keras = lazy_tf_keras()

__all__ = ["Adam"]


class Adam(DeferredBase):
    """Keras Adam with TF1 semantics; call `build(variables)` before `apply_gradients`."""

    deferred_base = staticmethod(lambda: tf_keras.optimizers.Adam)

    def __init__(
        self,
        learning_rate: float = 1e-4,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        name: str = "adam",
    ) -> None:
        super().__init__(
            learning_rate=float(learning_rate),
            beta_1=float(beta_1),
            beta_2=float(beta_2),
            epsilon=float(epsilon),
            amsgrad=False,
            jit_compile=False,  # the trainer compiles the whole step itself where it helps
            name=name,
        )
        # Checkpoints written with the earlier hand-written optimizer name its state
        # `iterations`, `m/<i>` and `v/<i>` (slots in `build` order, as Keras's): the same
        # variables are tracked under those names too, so those checkpoints still resume.
        self._track_trackable(self._iterations, name="iterations", overwrite=True)

    def _build_learning_rate(self, learning_rate):
        # A constant, not a variable: it is set from the run's settings, never restored
        # (and the earlier checkpoints hold none).
        return tf.constant(float(learning_rate))

    def build(self, var_list) -> None:
        super().build(var_list)
        self.m = list(self._momentums)
        self.v = list(self._velocities)
