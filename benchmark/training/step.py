"""One optimizer step: a model's losses differentiated, scaled under float16, and applied.

The model computes its losses (`VAE.loss_terms`) and says which variables
each of its optimizers updates (`optimizer_variables`) and how the
optimizers are made (`make_optimizers`); this module takes the gradients,
applies the loss scaling of "mixed_float16" (the model's `loss_scale`, a
`benchmark.models.precision.LossScale`, checkpointed with the model), guards
the update against non-finite values, and applies it. The training loop
(`benchmark.training.loop`) calls `apply_update` inside its `tf.function`s.
"""

from __future__ import annotations

from benchmark.models.optimizers import Adam
from benchmark.models.vae import VAE
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

__all__ = ["apply_update", "update_term_shapes"]


def update_term_shapes(model: VAE) -> dict[str, tf.TensorShape]:
    """Name -> shape of every term `apply_update` returns.

    `term_shapes()` plus "grad_norm", and under loss scaling "loss_scale"
    and "skipped" (see `apply_update`).
    """
    shapes = {**model.term_shapes(), "grad_norm": tf.TensorShape([])}
    if model.loss_scale is not None:
        shapes.update(loss_scale=tf.TensorShape([]), skipped=tf.TensorShape([]))
    return shapes


def apply_update(
    model: VAE,
    x: tf.Tensor,
    step: tf.Tensor,
    seed: tf.Tensor,
    optimizers: dict[str, Adam],
    *,
    guard: bool = True,
) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
    """One training step of `model`: `(terms, ok)`, `ok` False when a loss or gradient is not finite.

    With `guard` (the default) nothing is updated unless `ok`: a
    `tf.cond` per step, whose predicate a GPU must send to the host.
    Without it the update is applied whatever `ok` says, with no branch,
    so a caller that checks `ok` once per chunk of steps must restore the
    chunk's start itself (`benchmark.training.loop`). `terms` gains
    "grad_norm" (global norm of all gradients). Call inside
    `tf.function`, with the optimizers built for `optimizer_variables()`.

    Under loss scaling ("mixed_float16", `model.loss_scale`) each loss is
    multiplied by the scale before differentiation and the gradients
    divided by it after. A step whose gradients are not all finite while
    the scale can still shrink is an overflow, not a divergence: its
    update is skipped (a `tf.cond` whatever `guard` says, as Keras's
    `LossScaleOptimizer` does; one XLA conditional where updates are
    compiled), the scale halves and `ok` stays True. `terms` then also
    hold "loss_scale" (the scale this step used) and "skipped" (1.0 for
    a skipped update, so its logged mean is the fraction skipped), and
    "grad_norm" is 0 for a skipped update.
    """
    groups = model.optimizer_variables()
    scaling = model.loss_scale
    with tf.GradientTape(persistent=len(groups) > 1) as tape:
        losses, terms = model.loss_terms(x, step, seed)
        if scaling is not None:
            used_scale = tf.identity(scaling.scale)
            targets = {name: scaling.scale_loss(loss) for name, loss in losses.items()}
        else:
            targets = losses
    gradients = {name: tape.gradient(targets[name], groups[name]) for name in groups}
    del tape
    if scaling is not None:
        gradients = {name: scaling.unscale(grads) for name, grads in gradients.items()}
    grad_norm = tf.linalg.global_norm([g for name in groups for g in gradients[name]])
    finite_gradients = tf.math.is_finite(grad_norm)
    finite_losses = tf.constant(True)
    for loss in losses.values():
        finite_losses = tf.logical_and(finite_losses, tf.math.is_finite(loss))
    ok = tf.logical_and(finite_gradients, finite_losses)

    def update() -> tf.Tensor:
        for name, variables in groups.items():
            optimizers[name].apply_gradients(zip(gradients[name], variables, strict=True))
        return tf.constant(True)

    if scaling is None:
        if guard:
            tf.cond(ok, update, lambda: tf.constant(False))
        else:
            update()
        return {**terms, "grad_norm": grad_norm}, ok
    applied = ok
    ok = tf.logical_and(finite_losses, tf.logical_or(finite_gradients, scaling.can_shrink()))
    tf.cond(applied, update, lambda: tf.constant(False))
    scaling.update(finite_gradients, ok)
    skipped = tf.logical_and(ok, tf.logical_not(applied))
    return {
        **terms,
        "grad_norm": tf.where(skipped, tf.zeros_like(grad_norm), grad_norm),
        "loss_scale": used_scale,
        "skipped": tf.cast(skipped, tf.float32),
    }, ok
