"""`annealed_vae`: reconstruction + gamma * |KL - C(t)| with a growing capacity (Burgess et al. 2018)."""

from __future__ import annotations

from benchmark.models import arguments as check
from benchmark.models.objectives import annealed_capacity
from benchmark.models.registry import register_model
from benchmark.models.vae import VAE, LossInputs
from benchmark.tf_quiet import lazy_tensorflow

tf = lazy_tensorflow()

__all__ = ["AnnealedVAE"]


@register_model("annealed_vae")
class AnnealedVAE(VAE):
    """loss = E[-log p(x|z)] + gamma * |KL - C(t)|, C(t) = min(c_max, c_max t / iteration_threshold).

    t counts the updates done so far. Defaults follow disentanglement_lib's
    study: gamma 1000, iteration_threshold 100,000, c_max 25 nats (one value
    of its sweep 5, 10, 25, 50, 75, 100). Logs the capacity as "capacity".
    """

    argument_checks = {
        "gamma": check.non_negative_number,
        "c_max": check.non_negative_number,
        "iteration_threshold": check.bounded_int(1, check.MAX_INT),
    }

    def __init__(
        self,
        observation_shape,
        *,
        gamma: float = 1000.0,
        c_max: float = 25.0,
        iteration_threshold: int = 100_000,
        **kwargs,
    ) -> None:
        super().__init__(observation_shape, **kwargs)
        self.gamma = self.check_arg("gamma", gamma)
        self.c_max = self.check_arg("c_max", c_max)
        self.iteration_threshold = self.check_arg("iteration_threshold", iteration_threshold)

    def regularizer(self, inputs: LossInputs):
        capacity = annealed_capacity(inputs.step, self.c_max, self.iteration_threshold)
        penalty = self.gamma * tf.abs(tf.reduce_mean(inputs.kl) - capacity)
        return penalty, {"capacity": capacity}
