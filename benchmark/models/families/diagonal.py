"""`diagonal`: q(z|x) = N(mu, diag(sigma^2)), as disentanglement_lib parameterises it.

`sigma = exp(log_var / 2)` from one Dense head emitting `(mu, log sigma^2)`
(2 D numbers). Mean, covariance, density and KL are closed form, and the KL
splits over latents.
"""

from __future__ import annotations

from benchmark.models import arguments as check
from benchmark.models.posteriors import (
    POSTERIORS,
    GaussianPosterior,
    PosteriorFamily,
    count_free_parameters,
)
from benchmark.settings import Setting, by_name
from benchmark.tf_quiet import lazy_tensorflow, lazy_tf_keras, lazy_tfp

tf = lazy_tensorflow()
tf_keras = lazy_tf_keras()

tfd = lazy_tfp("distributions")

__all__ = ["DiagonalFamily", "DiagonalGaussian"]


class DiagonalGaussian(GaussianPosterior):
    """q(z|x) = N(mu, diag(sigma^2)), `sigma = exp(log_variance / 2)`.

    KL(q || N(0, I)) = 1/2 sum_d (mu_d^2 + sigma_d^2 - 1 - log sigma_d^2).
    """

    def __init__(self, loc: tf.Tensor, log_variance: tf.Tensor, kl_samples: int = 0) -> None:
        self.kl_samples = int(kl_samples)
        self.loc = loc
        self.log_variance = log_variance
        self.scale = tf.exp(0.5 * log_variance)
        self.distribution = tfd.MultivariateNormalDiag(loc=loc, scale_diag=self.scale)

    def variance(self) -> tf.Tensor:
        """`[N, D]` per-latent variances."""
        return tf.exp(self.log_variance)

    def _scale_noise(self, noise):
        return self.scale * noise, 0.5 * tf.reduce_sum(self.log_variance, axis=-1)

    def covariance(self, num_samples=None, seed=None):
        return tf.linalg.diag(self.variance())

    def marginal_log_prob(self, z, num_samples=None, seed=None):
        return tfd.Normal(self.loc, self.scale).log_prob(z)

    def local_parameters(self):
        parameters = {"loc": self.loc, "log_variance": self.log_variance}
        return parameters, lambda p: DiagonalGaussian(p["loc"], p["log_variance"], self.kl_samples)

    def kl_per_latent(self):
        return 0.5 * (tf.square(self.loc) + tf.exp(self.log_variance) - 1.0 - self.log_variance)

    @property
    def training_kl_samples(self) -> int:
        return self.kl_samples

    def kl_to_standard_normal(self, num_samples=None, seed=None):
        return tf.reduce_sum(self.kl_per_latent(), axis=-1)


@POSTERIORS.register("diagonal")
class DiagonalFamily(PosteriorFamily):
    """Dense head emitting `(mu, log sigma^2)`, `2 D` numbers.

    Option `kl_samples` (0): the training step's KL is the closed form at 0,
    else the Monte Carlo mean over that many draws, as IAF's is (the
    KL-estimator control of a family comparison). Evaluation always uses the
    closed form.
    """

    options = by_name(
        Setting("kl_samples", 0, check.bounded_int(0, 4096), "0: closed-form KL; k: k draws")
    )

    def __init__(self, latent_dim: int, *, kl_samples: int = 0, **kwargs) -> None:
        super().__init__(latent_dim, **kwargs)
        self.kl_samples = int(kl_samples)
        self.head = tf_keras.layers.Dense(2 * self.latent_dim, name="mean_log_variance")

    def posterior(self, features):
        loc, log_variance = tf.split(self.head(features), 2, axis=-1)
        return DiagonalGaussian(loc, log_variance, self.kl_samples)

    def parameter_counts(self) -> dict[str, int]:
        return {"posterior_head": count_free_parameters([self.head]), "flow": 0}
