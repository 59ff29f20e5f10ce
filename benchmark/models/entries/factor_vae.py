"""`factor_vae`: reconstruction + KL + gamma * TC from a density-ratio discriminator (Kim & Mnih 2018)."""

from __future__ import annotations

from benchmark.models import arguments as check
from benchmark.models.objectives import factor_vae_terms, shuffle_latents
from benchmark.models.optimizers import Adam
from benchmark.models.registry import register_model
from benchmark.models.vae import MAX_WIDTH, VAE, LossInputs
from benchmark.tf_quiet import lazy_tensorflow, lazy_tf_keras

tf = lazy_tensorflow()
tf_keras = lazy_tf_keras()

__all__ = ["FactorVAE"]


@register_model("factor_vae")
class FactorVAE(VAE):
    """loss = E[-log p(x|z)] + KL + gamma * TC; a discriminator learns TC on the side.

    The discriminator (`discriminator_layers` dense layers of
    `discriminator_units`, leaky ReLU 0.2, then 2 logits; disentanglement_lib:
    6 x 1000) tells draws of q(z) from draws with every latent permuted across
    the batch. It has its own Adam (learning rate as the VAE's, beta1 0.5,
    beta2 0.9) and minimises "discriminator"; its variables get no gradient
    from the VAE loss, and the encoder none from the discriminator loss.
    disentanglement_lib's study sweeps gamma over 10, 20, 30, 40, 50, 100.
    """

    argument_checks = {
        "gamma": check.non_negative_number,
        "discriminator_units": check.bounded_int(1, MAX_WIDTH),
        "discriminator_layers": check.bounded_int(1, 64),
    }

    def __init__(
        self,
        observation_shape,
        *,
        gamma: float = 10.0,
        discriminator_units: int = 1000,
        discriminator_layers: int = 6,
        **kwargs,
    ) -> None:
        super().__init__(observation_shape, **kwargs)
        self.gamma = self.check_arg("gamma", gamma)
        units = self.check_arg("discriminator_units", discriminator_units)
        depth = self.check_arg("discriminator_layers", discriminator_layers)
        self.discriminator = tf_keras.Sequential(
            [
                tf_keras.layers.Dense(units, activation=tf.nn.leaky_relu, name=f"h{k}")
                for k in range(depth)
            ]
            + [tf_keras.layers.Dense(2, name="logits")],
            name="discriminator",
        )

    def regularizer(self, inputs: LossInputs):
        shuffled = shuffle_latents(inputs.z, inputs.seed)
        tc, discriminator_loss = factor_vae_terms(
            self.discriminator(inputs.z), self.discriminator(shuffled)
        )
        penalty = tf.reduce_mean(inputs.kl) + self.gamma * tc
        return penalty, {"tc": tc, "discriminator": discriminator_loss}

    def optimizer_losses(self, loss, terms):
        return {"vae": loss, "discriminator": terms["discriminator"]}

    def optimizer_variables(self):
        return {"vae": self.vae_variables, "discriminator": self.discriminator.trainable_variables}

    def make_optimizers(self, learning_rate):
        return {
            **super().make_optimizers(learning_rate),
            "discriminator": Adam(
                learning_rate, beta_1=0.5, beta_2=0.9, epsilon=1e-8, name="discriminator"
            ),
        }
