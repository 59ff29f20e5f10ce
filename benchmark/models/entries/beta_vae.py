"""`beta_vae`: reconstruction + beta * KL (Higgins et al. 2017)."""

from __future__ import annotations

from benchmark.models import arguments as check
from benchmark.models.registry import register_model
from benchmark.models.vae import VAE, LossInputs
from benchmark.tf_quiet import lazy_tensorflow

tf = lazy_tensorflow()

__all__ = ["BetaVAE"]


@register_model("beta_vae")
class BetaVAE(VAE):
    """loss = E[-log p(x|z)] + beta * kl_term(KL); beta = 1 is the plain VAE.

    `kl_term(kl)` maps the per-input KL `[N]` (nats) to the penalised scalar,
    the batch mean here; subclasses override it (see `beta_vae_free_bits`).
    disentanglement_lib's study sweeps beta over 1, 2, 4, 6, 8, 16.
    """

    argument_checks = {"beta": check.non_negative_number}

    def __init__(self, observation_shape, *, beta: float = 1.0, **kwargs) -> None:
        super().__init__(observation_shape, **kwargs)
        self.beta = self.check_arg("beta", beta)

    def kl_term(self, kl: tf.Tensor) -> tf.Tensor:
        """The KL penalty before the weight beta: the batch mean of `kl [N]`."""
        return tf.reduce_mean(kl)

    def regularizer(self, inputs: LossInputs):
        return self.beta * self.kl_term(inputs.kl), {}
