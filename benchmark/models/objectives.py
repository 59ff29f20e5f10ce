"""The loss terms of the objectives, as pure TensorFlow functions of tensors.

Units are nats; `N` is the batch size and `D` the number of latents. The
model entries in `benchmark.models.entries` combine these terms; keeping
them here lets tests check each one against values worked out by hand.

- `bernoulli_nll`: -log p(x|z) for Bernoulli pixels with logits, summed over
  the pixels (disentanglement_lib's `bernoulli_loss` with logits).
- `annealed_capacity`: C(t) = min(c_max, c_max * t / iteration_threshold) of
  AnnealedVAE (Burgess et al. 2018), penalty `gamma * |KL - C(t)|`.
- `total_correlation`: beta-TCVAE's minibatch-weighted-sampling estimate
  (Chen et al. 2018) with any posterior family's own log-densities.
- `covariance_of_means`, `dip_regularizer`, `dip_covariance`: DIP-VAE-I/II
  (Kumar et al. 2018).
- `shuffle_latents`, `factor_vae_terms`: FactorVAE's permuted codes and its
  density-ratio total correlation and discriminator loss (Kim & Mnih 2018).
"""

from __future__ import annotations

from benchmark.models.posteriors import Posterior
from benchmark.tf_quiet import lazy_tensorflow

tf = lazy_tensorflow()

__all__ = [
    "annealed_capacity",
    "bernoulli_nll",
    "covariance_of_means",
    "dip_covariance",
    "dip_regularizer",
    "factor_vae_terms",
    "shuffle_latents",
    "total_correlation",
]


def bernoulli_nll(x: tf.Tensor, logits: tf.Tensor, event_ndims: int) -> tf.Tensor:
    """-log p(x|z) in nats, summed over the last `event_ndims` axes.

    `x` in [0, 1] (the targets) and `logits` broadcastable to each other,
    e.g. `[N, 64, 64, 1]` -> `[N]`. Per pixel this is the sigmoid
    cross-entropy, computed as `softplus(logits) - x * logits` (the same
    value in fewer passes over the image than
    `tf.nn.sigmoid_cross_entropy_with_logits`).
    """
    per_pixel = tf.nn.softplus(logits) - x * logits
    return tf.reduce_sum(per_pixel, axis=list(range(-event_ndims, 0)))


def annealed_capacity(step: tf.Tensor, c_max: float, iteration_threshold: int) -> tf.Tensor:
    """C(t) = min(c_max, c_max * t / iteration_threshold), nats; `t` = updates done so far."""
    t = tf.cast(step, tf.float32)
    return tf.minimum(c_max * t / float(iteration_threshold), c_max)


def total_correlation(z: tf.Tensor, posterior: Posterior, seed: tf.Tensor | None = None):
    """Minibatch-weighted-sampling estimate of TC(z) = KL(q(z) || prod_d q(z_d)), nats.

    With `z_i ~ q(z|x_i)` for the N inputs of the batch:

        log q(z_i)       ~= logsumexp_j log q(z_i | x_j)
        log prod q(z_id) ~= sum_d logsumexp_j log q(z_id | x_j)
        TC ~= mean_i [log q(z_i) - log prod_d q(z_id)]

    As in disentanglement_lib, the normalisers `- log(N * dataset_size)` of
    both logsumexps are left out: they only shift the estimate by the
    constant `(D - 1) log(N * dataset_size)` and do not change its gradient.
    The joint term uses the family's own `log_prob` (for IAF the exact flow
    density through its sequential inverse); the marginals use the family's
    `marginal_log_prob` (closed form for the Gaussians, moment-matched
    Gaussians for IAF, drawn with `seed`).

    z: `[N, D]` draws of the batch's posterior. Returns a scalar.
    """
    pairs = z[:, tf.newaxis, :]  # [N(i), 1, D] against the posteriors of x_j
    log_q_joint = posterior.log_prob(pairs)  # [N(i), N(j)]
    log_q_marginal = posterior.marginal_log_prob(pairs, seed=seed)  # [N(i), N(j), D]
    log_qz = tf.reduce_logsumexp(log_q_joint, axis=1)
    log_prod_qz = tf.reduce_sum(tf.reduce_logsumexp(log_q_marginal, axis=1), axis=1)
    return tf.reduce_mean(log_qz - log_prod_qz)


def covariance_of_means(means: tf.Tensor) -> tf.Tensor:
    """Cov[mu] over the batch, `[N, D] -> [D, D]`: E[mu mu^T] - E[mu] E[mu]^T (divides by N)."""
    centred = means - tf.reduce_mean(means, axis=0, keepdims=True)
    return tf.matmul(centred, centred, transpose_a=True) / tf.cast(tf.shape(means)[0], means.dtype)


def dip_covariance(posterior: Posterior, kind: str, seed: tf.Tensor | None = None) -> tf.Tensor:
    """The covariance DIP-VAE regularises, `[D, D]`.

    kind "i": Cov_x[E[z|x]]. kind "ii": Cov_x[E[z|x]] + E_x[Cov[z|x]], the
    covariance of the aggregate posterior, with each family's own moments
    (closed form for the Gaussians; for IAF the sample mean and sample
    covariance of its draws, taken from the same draws with `seed`).
    """
    if kind not in ("i", "ii"):
        raise ValueError(f"dip_covariance: kind must be 'i' or 'ii', got {kind!r}")
    means = posterior.mean(seed=seed)
    covariance = covariance_of_means(means)
    if kind == "ii":
        covariance = covariance + tf.reduce_mean(posterior.covariance(seed=seed), axis=0)
    return covariance


def dip_regularizer(covariance: tf.Tensor, lambda_od: float, lambda_d: float) -> tf.Tensor:
    """lambda_od * sum_{i != j} C_ij^2 + lambda_d * sum_i (C_ii - 1)^2 (a scalar)."""
    diagonal = tf.linalg.diag_part(covariance)
    off_diagonal = covariance - tf.linalg.diag(diagonal)
    return lambda_od * tf.reduce_sum(tf.square(off_diagonal)) + lambda_d * tf.reduce_sum(
        tf.square(diagonal - 1.0)
    )


def shuffle_latents(z: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Permutes every latent independently across the batch: `[N, D] -> [N, D]`.

    Draws from prod_d q(z_d) given draws from q(z) (FactorVAE). Stateless:
    the same `seed` gives the same permutations.
    """
    # Sort keys along the last axis: argsort along axis 0 transposes int32
    # indices, which makes oneDNN print an error-level notice.
    keys = tf.random.stateless_uniform(tf.reverse(tf.shape(z), [0]), seed=seed)  # [D, N]
    order = tf.argsort(keys, axis=-1)
    return tf.transpose(tf.gather(tf.transpose(z), order, batch_dims=1))


def factor_vae_terms(
    logits_joint: tf.Tensor, logits_shuffled: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """FactorVAE's `(tc, discriminator_loss)` from the discriminator's 2-class logits.

    Column 0 is "drawn from q(z)", column 1 "drawn from prod_d q(z_d)".
    tc = mean_i [logit_0 - logit_1] on draws of q(z) (the density-ratio
    estimate of TC); discriminator_loss = -(1/2) mean log P(col 0 | z) -
    (1/2) mean log P(col 1 | shuffled z), both `[N, 2]` -> scalars.
    """
    tc = tf.reduce_mean(logits_joint[:, 0] - logits_joint[:, 1])
    log_p_joint = tf.nn.log_softmax(logits_joint, axis=-1)
    log_p_shuffled = tf.nn.log_softmax(logits_shuffled, axis=-1)
    discriminator_loss = -0.5 * (
        tf.reduce_mean(log_p_joint[:, 0]) + tf.reduce_mean(log_p_shuffled[:, 1])
    )
    return tc, discriminator_loss
