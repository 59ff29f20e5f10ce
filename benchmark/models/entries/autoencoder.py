"""`autoencoder` and `sparse_autoencoder`: deterministic encoders (a point-mass q, no KL term).

The same encoder trunk, decoder, Bernoulli likelihood and training loop as
the VAEs; the posterior head is one dense layer giving the code z = f(x)
(`D` numbers), which `encode` wraps in a `PointMass` so the metrics read it
like any posterior mean. loss = E_x[-log p(x | f(x))] + sparsity *
E_x[sum_j |f(x)_j|] (an L1 penalty on the codes; 0 for `autoencoder`).

A point mass has no density: the rate, the ELBO, log p(x) bounds,
posterior correlations and the inference gaps do not exist for it, and the
evaluation stores them as absent (see `benchmark.absent`), never as 0.
"""

from __future__ import annotations

from benchmark.models import arguments as check
from benchmark.models.deferred_base import DeferredBase
from benchmark.models.posteriors import Posterior, count_free_parameters
from benchmark.models.registry import register_model
from benchmark.models.vae import VAE
from benchmark.tf_quiet import lazy_tensorflow, lazy_tf_keras

tf = lazy_tensorflow()
tf_keras = lazy_tf_keras()

__all__ = ["Autoencoder", "PointMass", "SparseAutoencoder"]


class PointMass(Posterior):
    """q(z|x) = delta(z - code): draws are the code itself; densities and KL do not exist."""

    closed_form_kl = True

    def __init__(self, code: tf.Tensor) -> None:
        self.loc = code

    @property
    def latent_dim(self) -> int:
        return int(self.loc.shape[-1])

    def sample_and_log_prob(self, num_samples, seed):
        z = tf.broadcast_to(self.loc, [num_samples, *tf.unstack(tf.shape(self.loc))])
        return z, tf.fill(tf.shape(z)[:-1], float("inf"))

    def sample_from_noise(self, noise):
        """The code for every draw (noise `[S, N, D]` only sets the shape); log q is +inf."""
        z = tf.broadcast_to(self.loc, tf.shape(noise))
        return z, tf.fill(tf.shape(z)[:-1], float("inf"))

    def mean(self, num_samples=None, seed=None):
        return self.loc

    def covariance(self, num_samples=None, seed=None):
        return tf.zeros(tf.concat([tf.shape(self.loc), tf.shape(self.loc)[-1:]], 0))

    def _no_density(self, *args, **kwargs):
        raise TypeError("a point-mass posterior has no density, marginals or KL")

    log_prob = marginal_log_prob = kl_to_standard_normal = _no_density


class _CodeHead(DeferredBase):
    """Dense head from encoder features `[N, F]` to codes, wrapped in a `PointMass`."""

    deferred_base = staticmethod(lambda: tf_keras.layers.Layer)

    def __init__(self, latent_dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.head = tf_keras.layers.Dense(self.latent_dim, name="code")

    def posterior(self, features: tf.Tensor) -> PointMass:
        return PointMass(self.head(features))

    def parameter_counts(self) -> dict[str, int]:
        """The code head's free parameters (`F D + D`) as `posterior_head`; no `flow`."""
        return {"posterior_head": count_free_parameters([self.head]), "flow": 0}


@register_model("autoencoder")
class Autoencoder(VAE):
    """A deterministic autoencoder: loss = E[-log p(x | f(x))] (+ `sparsity` L1 in the subclass).

    Takes `latent_dim`, `architecture` and `fc_width` (no posterior family,
    no beta: a point mass has neither).
    """

    #: A point mass has no density: evaluation parts that need one store their keys absent.
    has_density: bool = False
    sparsity: float = 0.0

    def __init__(
        self,
        observation_shape,
        *,
        latent_dim: int = 10,
        architecture: str = "conv",
        fc_width: int = 1200,
    ) -> None:
        super().__init__(
            observation_shape, latent_dim=latent_dim, architecture=architecture, fc_width=fc_width
        )
        self.posterior_name = "point_mass"
        self.family = _CodeHead(self.latent_dim, name="posterior")

    def heldout_terms(self, x, seed):
        """The held-out curve the convergence check follows, for a point mass.

        No ELBO exists, so "elbo" is minus the held-out objective
        (reconstruction NLL + sparsity * L1 of the codes, nats) and "kl" is
        the L1 penalty; `seed` is unused (the encoder is deterministic).
        """
        code = self.encode(x).loc
        reconstruction = tf.reduce_mean(self.reconstruction_nll(x, code))
        penalty = self.sparsity * tf.reduce_mean(tf.reduce_sum(tf.abs(code), axis=-1))
        return {
            "elbo": -(reconstruction + penalty),
            "reconstruction": reconstruction,
            "kl": penalty,
        }

    def loss_terms(self, x, step, seed):
        code = self.encode(x).loc
        reconstruction = tf.reduce_mean(self.reconstruction_nll(x, code))
        l1 = tf.reduce_mean(tf.reduce_sum(tf.abs(code), axis=-1))
        loss = reconstruction + self.sparsity * l1
        terms = {"loss": loss, "reconstruction": reconstruction, "code_l1": l1}
        return self.optimizer_losses(loss, terms), terms


@register_model("sparse_autoencoder")
class SparseAutoencoder(Autoencoder):
    """loss = E[-log p(x | f(x))] + sparsity * E[sum_j |f(x)_j|], `sparsity` >= 0 (nats per unit)."""

    argument_checks = {"sparsity": check.non_negative_number}

    def __init__(self, observation_shape, *, sparsity: float = 1.0, **kwargs) -> None:
        super().__init__(observation_shape, **kwargs)
        self.sparsity = self.check_arg("sparsity", sparsity)
