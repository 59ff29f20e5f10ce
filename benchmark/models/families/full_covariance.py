"""`full_covariance`: the linear IAF of Kingma et al. (2016), a Gaussian with a learned Cholesky factor.

`z = mu + L diag(sigma) eps` with `L` unit lower-triangular, i.e.
`MultivariateNormalTriL(mu, L diag(sigma))`. `mu` and `sigma` come from the
same `(mu, log sigma^2)` head as the diagonal family; the `D (D - 1) / 2`
strictly-lower entries of `L` come from a second Dense head whose kernel and
bias start at zero, so at initialisation `L = I` and the family *is* the
diagonal one (same samples for the same noise, same log q and KL); any
correlation is learned. Closed-form moments and KL
(`log det = 2 sum_d log sigma_d`); the marginal of latent d is
`Normal(mu_d, sqrt(Sigma_dd))`.

Reference: Kingma, Salimans, Jozefowicz, Chen, Sutskever, Welling (2016),
"Improved variational inference with inverse autoregressive flow", NeurIPS.
"""

from __future__ import annotations

import numpy as np

from benchmark.models.posteriors import (
    POSTERIORS,
    GaussianPosterior,
    PosteriorFamily,
    count_free_parameters,
)
from benchmark.tf_quiet import lazy_tensorflow, lazy_tf_keras, lazy_tfp

tf = lazy_tensorflow()
tf_keras = lazy_tf_keras()

tfd = lazy_tfp("distributions")

__all__ = ["FullCovarianceFamily", "FullCovarianceGaussian"]


class FullCovarianceGaussian(GaussianPosterior):
    """q(z|x) = N(mu, L L^T) with lower-triangular `L` (positive diagonal).

    KL(q || N(0, I)) = 1/2 (||L||_F^2 + ||mu||^2 - D - 2 sum_d log L_dd).
    (The family passes `L = L_unit diag(sigma)`, see `FullCovarianceFamily`.)
    """

    def __init__(self, loc: tf.Tensor, scale_tril: tf.Tensor) -> None:
        self.loc = loc
        self.scale_tril = scale_tril
        self.distribution = tfd.MultivariateNormalTriL(loc=loc, scale_tril=scale_tril)

    def variance(self) -> tf.Tensor:
        """`[N, D]`: the diagonal of `L L^T`, sum_k L_dk^2."""
        return tf.reduce_sum(tf.square(self.scale_tril), axis=-1)

    def _scale_noise(self, noise):
        scaled = tf.einsum("nde,...ne->...nd", self.scale_tril, noise)
        log_det = tf.reduce_sum(tf.math.log(tf.linalg.diag_part(self.scale_tril)), axis=-1)
        return scaled, log_det

    def covariance(self, num_samples=None, seed=None):
        return tf.matmul(self.scale_tril, self.scale_tril, transpose_b=True)

    def marginal_log_prob(self, z, num_samples=None, seed=None):
        return tfd.Normal(self.loc, tf.sqrt(self.variance())).log_prob(z)

    def local_parameters(self):
        """`loc`, the log of L's diagonal and its strictly-lower part (upper entries ignored)."""
        tril = self.scale_tril
        diagonal = tf.linalg.diag_part(tril)
        parameters = {
            "loc": self.loc,
            "log_diagonal": tf.math.log(diagonal),
            "lower": tf.linalg.band_part(tril, -1, 0) - tf.linalg.diag(diagonal),
        }

        def build(p):
            lower = tf.linalg.band_part(p["lower"], -1, 0)
            lower = lower - tf.linalg.diag(tf.linalg.diag_part(lower))
            return FullCovarianceGaussian(
                p["loc"], lower + tf.linalg.diag(tf.exp(p["log_diagonal"]))
            )

        return parameters, build

    def kl_to_standard_normal(self, num_samples=None, seed=None):
        d = tf.cast(self.latent_dim, self.loc.dtype)
        log_det = 2.0 * tf.reduce_sum(tf.math.log(tf.linalg.diag_part(self.scale_tril)), axis=-1)
        trace = tf.reduce_sum(tf.square(self.scale_tril), axis=[-2, -1])
        return 0.5 * (trace + tf.reduce_sum(tf.square(self.loc), axis=-1) - d - log_det)


@POSTERIORS.register("full_covariance")
class FullCovarianceFamily(PosteriorFamily):
    """The diagonal family's `(mu, log sigma^2)` head plus a zero-initialised head for `L`.

    `scale_tril = L diag(sigma)` with `L` unit lower-triangular whose
    `D (D - 1) / 2` strictly-lower entries are the output of the Dense layer
    `off_diagonal` (kernel and bias initialised to zero): the linear IAF of
    Kingma et al. (2016), exactly the diagonal family at initialisation.
    """

    def __init__(self, latent_dim: int, **kwargs) -> None:
        super().__init__(latent_dim, **kwargs)
        d = self.latent_dim
        self.head = tf_keras.layers.Dense(2 * d, name="mean_log_variance")
        self.num_off_diagonal = d * (d - 1) // 2
        self.off_diagonal = (
            tf_keras.layers.Dense(
                self.num_off_diagonal,
                kernel_initializer="zeros",
                bias_initializer="zeros",
                name="off_diagonal",
            )
            if self.num_off_diagonal
            else None
        )
        # Entry (i, j) of L reads slot index[i, j] of [0, off-diagonal entries...].
        rows, cols = np.tril_indices(d, -1)
        index = np.zeros((d, d), np.int32)
        index[rows, cols] = np.arange(1, self.num_off_diagonal + 1)
        self._gather_index = index.reshape(-1)

    def unit_lower(self, features: tf.Tensor) -> tf.Tensor:
        """`L [N, D, D]`: ones on the diagonal, the `off_diagonal` head below it, zeros above."""
        d = self.latent_dim
        eye = tf.eye(d, dtype=features.dtype)
        if self.off_diagonal is None:
            return tf.zeros(tf.concat([tf.shape(features)[:-1], [d, d]], 0)) + eye
        entries = self.off_diagonal(features)
        padded = tf.concat([tf.zeros_like(entries[..., :1]), entries], axis=-1)
        strict = tf.gather(padded, self._gather_index, axis=-1)
        return tf.reshape(strict, tf.concat([tf.shape(features)[:-1], [d, d]], 0)) + eye

    def posterior(self, features):
        loc, log_variance = tf.split(self.head(features), 2, axis=-1)
        sigma = tf.exp(0.5 * log_variance)
        scale_tril = self.unit_lower(features) * sigma[..., None, :]
        return FullCovarianceGaussian(loc, scale_tril)

    def parameter_counts(self) -> dict[str, int]:
        flow = [] if self.off_diagonal is None else [self.off_diagonal]
        return {
            "posterior_head": count_free_parameters([self.head]),
            "flow": count_free_parameters(flow),
        }
