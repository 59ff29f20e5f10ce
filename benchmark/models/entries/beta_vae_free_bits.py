"""`beta_vae_free_bits`: a beta-VAE whose KL costs nothing below a floor (docs/adding-a-model-entry.md's example)."""

from benchmark.models import arguments as check
from benchmark.models.entries.beta_vae import BetaVAE
from benchmark.models.registry import register_model
from benchmark.tf_quiet import lazy_tensorflow

tf = lazy_tensorflow()


@register_model("beta_vae_free_bits")
class BetaVAEFreeBits(BetaVAE):
    """beta * max(KL, free_bits * latent_dim): `free_bits` nats per latent are free.

    The floor is on the batch-mean total KL ("free nats", Kingma et al. 2016),
    so it means the same for every posterior family.
    """

    argument_checks = {"free_bits": check.non_negative_number}

    def __init__(self, observation_shape, *, free_bits: float = 0.5, **kwargs) -> None:
        super().__init__(observation_shape, **kwargs)
        self.free_bits = self.check_arg("free_bits", free_bits)

    def kl_term(self, kl):
        return tf.maximum(tf.reduce_mean(kl), self.free_bits * self.latent_dim)
