"""Training precision: the networks' Keras dtype policy, and dynamic loss scaling for float16.

- "float32": every computation in float32 (the published numbers).
- "mixed_bfloat16", "mixed_float16": the encoder trunk and the decoder
  (`benchmark.models.networks`) keep float32 weights but compute in the
  16-bit type (Keras mixed-precision policies); their outputs are cast back to
  float32 where they enter the distributions, so the posterior family (its
  head, Cholesky factor and flows), log-densities, KL, losses and Adam stay
  float32. Under "mixed_float16", whose range ends at 65504 and whose
  smallest normal number is 6e-5, small gradients would underflow: the loss
  is multiplied by a `LossScale` before differentiation and the gradients
  divided by it after.

`LossScale` follows the dynamic scheme of Keras's `LossScaleOptimizer`
(Micikevicius et al. 2018, "Mixed Precision Training"): start at 2^15;
after a step whose gradients are not all finite, skip the update and halve
the scale (never below 1); after 2,000 consecutive finite steps, double it.
Its state is two variables, so it checkpoints and resumes exactly.
"""

from __future__ import annotations

from benchmark.errors import UserInputError
from benchmark.models.deferred_base import DeferredBase
from benchmark.tf_quiet import lazy_tensorflow, lazy_tf_keras

tf = lazy_tensorflow()
tf_keras = lazy_tf_keras()

__all__ = ["PRECISIONS", "LossScale", "check_precision", "layer_policy"]

# The same names as `benchmark.config.schema.PRECISIONS` (a test keeps them equal).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def check_precision(precision: object) -> str:
    """`precision` if it is one of `PRECISIONS`; `UserInputError` naming the allowed ones otherwise."""
    if precision not in PRECISIONS:
        raise UserInputError(f"precision: unknown {precision!r}; allowed: {', '.join(PRECISIONS)}")
    return str(precision)


def layer_policy(precision: str) -> tf_keras.mixed_precision.Policy:
    """The Keras dtype policy of the networks' layers (variables float32, compute 16-bit if mixed)."""
    return tf_keras.mixed_precision.Policy(check_precision(precision))


class LossScale(DeferredBase):
    """Dynamic loss scaling: `scale_loss` before differentiation, `unscale` after, then `update`.

    `scale` (float32) multiplies the loss; `good_steps` (int64) counts the
    finite steps since the scale last changed. `update(finite, ok)` halves
    the scale after a step with non-finite gradients (down to `minimum`),
    doubles it after `growth_interval` finite ones, and changes nothing when
    `ok` is False (a step the trainer reports as diverged), all without a
    branch.
    """

    deferred_base = staticmethod(lambda: tf.Module)

    def __init__(
        self,
        initial: float = 2.0**15,
        growth_interval: int = 2000,
        factor: float = 2.0,
        minimum: float = 1.0,
        name: str = "loss_scale",
    ) -> None:
        super().__init__(name=name)
        self.growth_interval = int(growth_interval)
        self.factor = float(factor)
        self.minimum = float(minimum)
        with tf.init_scope():
            self.scale = tf.Variable(float(initial), dtype=tf.float32, trainable=False)
            self.good_steps = tf.Variable(0, dtype=tf.int64, trainable=False)

    def scale_loss(self, loss: tf.Tensor) -> tf.Tensor:
        """`loss * scale` (float32)."""
        return loss * self.scale

    def unscale(self, gradients: list[tf.Tensor | None]) -> list[tf.Tensor | None]:
        """Each gradient divided by the scale (None stays None)."""
        inverse = 1.0 / self.scale
        return [None if g is None else g * inverse for g in gradients]

    def can_shrink(self) -> tf.Tensor:
        """True while the scale is above its minimum: a non-finite gradient is then an overflow."""
        return self.scale > self.minimum

    def update(self, finite: tf.Tensor, ok: tf.Tensor | bool = True) -> None:
        """Moves the scale after one step whose gradients were `finite` (bool scalar)."""
        ok = tf.convert_to_tensor(ok)
        good = self.good_steps + 1
        grow = tf.logical_and(finite, good >= self.growth_interval)
        grow = tf.logical_and(grow, tf.math.is_finite(self.scale * self.factor))
        scale = tf.where(
            finite,
            tf.where(grow, self.scale * self.factor, self.scale),
            tf.maximum(self.scale / self.factor, self.minimum),
        )
        good = tf.where(tf.logical_and(finite, tf.logical_not(grow)), good, tf.zeros_like(good))
        self.scale.assign(tf.where(ok, scale, self.scale))
        self.good_steps.assign(tf.where(ok, good, self.good_steps))
