"""Correlation and information statistics of posteriors q(z|x), from their parameters or samples.

Pure tensor math, no models: every function takes arrays (numpy or TF) and
returns float32 `tf.Tensor`s. Log-densities and KL terms are in nats.

References:
  Burda, Grosse, Salakhutdinov (2016). Importance Weighted Autoencoders. ICLR.
    (active units: A_u = Cov_x(E_{q(z|x)}[z_u]) > 0.01; counted here also
    rotation-invariantly, as eigenvalues of Cov_x(E[z|x]) above 0.01)
  Chen, Li, Grosse, Duvenaud (2018). Isolating Sources of Disentanglement in
    VAEs. NeurIPS. (minibatch estimators of the aggregate posterior q(z))
  Kingma, Salimans, Jozefowicz, Chen, Sutskever, Welling (2016). Improved
    Variational Inference with Inverse Autoregressive Flow. NeurIPS.
    (IAF posteriors have no closed-form covariance: `sample_covariance`)
"""

from __future__ import annotations

import math

from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

__all__ = [
    "active_directions",
    "active_units",
    "active_units_from_covariance",
    "aggregate_total_correlation",
    "correlation_from_covariance",
    "gaussian_total_correlation",
    "latent_activity",
    "mean_code_covariance",
    "mean_abs_off_diagonal",
    "per_latent_kl_to_standard_normal",
    "sample_covariance",
    "standard_normal_log_prob",
]

_LOG_2PI = math.log(2.0 * math.pi)


def _square_matrices(x: object, name: str) -> tf.Tensor:
    t = tf.convert_to_tensor(x, dtype=tf.float32)
    if t.shape.rank is None or t.shape.rank < 2 or t.shape[-1] != t.shape[-2]:
        raise ValueError(f"{name}: expected square matrices [..., D, D], got shape {t.shape}")
    return t


def correlation_from_covariance(covariance: object) -> tf.Tensor:
    """Correlation matrices R_ij = S_ij / sqrt(S_ii S_jj).

    Args:
      covariance: `[..., D, D]` covariance matrices (positive diagonal).

    Returns:
      `[..., D, D]` float32 correlation matrices (unit diagonal).
    """
    cov = _square_matrices(covariance, "covariance")
    inv_std = tf.math.rsqrt(tf.linalg.diag_part(cov))
    return cov * inv_std[..., :, None] * inv_std[..., None, :]


def mean_abs_off_diagonal(matrix: object) -> tf.Tensor:
    """Mean absolute off-diagonal entry, sum_{i != j} |R_ij| / (D (D - 1)).

    Args:
      matrix: `[..., D, D]`, usually correlation matrices.

    Returns:
      `[...]` float32; 0 when D == 1 (no off-diagonal entries).
    """
    m = _square_matrices(matrix, "matrix")
    d = m.shape[-1]
    if d < 2:
        return tf.zeros(tf.shape(m)[:-2], dtype=tf.float32)
    off_diagonal = 1.0 - tf.eye(d, dtype=tf.float32)
    return tf.reduce_sum(tf.abs(m) * off_diagonal, axis=[-2, -1]) / float(d * (d - 1))


def gaussian_total_correlation(covariance: object) -> tf.Tensor:
    """Total correlation of N(m, S) in nats: 0.5 (sum_i log S_ii - log det S) = -0.5 log det R.

    This is KL(N(m, S) || prod_i N(m_i, S_ii)): zero for diagonal S, and
    -0.5 log(1 - rho^2) for two latents with correlation rho. The log-determinant
    of the correlation matrix R is taken from its Cholesky factor in float64
    (for accuracy near |rho| = 1), then cast back to float32.

    Args:
      covariance: `[..., D, D]` symmetric positive-definite matrices.

    Returns:
      `[...]` float32 total correlation, nats (>= 0).
    """
    corr = tf.cast(correlation_from_covariance(covariance), tf.float64)
    chol = tf.linalg.cholesky(corr)
    log_det = 2.0 * tf.reduce_sum(tf.math.log(tf.linalg.diag_part(chol)), axis=-1)
    return tf.cast(-0.5 * log_det, tf.float32)


def sample_covariance(samples: object) -> tf.Tensor:
    """Unbiased covariance of S samples per posterior, for families without a closed form (IAF).

    Cov_n = 1/(S - 1) sum_s (z_sn - zbar_n)(z_sn - zbar_n)^T.

    Args:
      samples: `[S, N, D]` draws z_sn ~ q(z | x_n), S >= 2.

    Returns:
      `[N, D, D]` float32 covariance estimates. They are positive definite
      (almost surely) only when S > D.
    """
    z = tf.convert_to_tensor(samples, dtype=tf.float32)
    if z.shape.rank != 3:
        raise ValueError(f"samples: expected shape [S, N, D], got {z.shape}")
    s = z.shape[0]
    if s is not None and s < 2:
        raise ValueError(f"samples: need at least 2 samples per posterior, got S={s}")
    centred = z - tf.reduce_mean(z, axis=0, keepdims=True)
    num = tf.cast(tf.shape(z)[0] - 1, tf.float32)
    return tf.einsum("sni,snj->nij", centred, centred) / num


def per_latent_kl_to_standard_normal(mean: object, variance: object) -> tf.Tensor:
    """KL(N(m_j, v_j) || N(0, 1)) = 0.5 (v_j + m_j^2 - 1 - log v_j), per latent, in nats.

    Applied to the marginals q(z_j | x) = N(m_j, S_jj) of a Gaussian posterior
    this is exact; for a Gaussian posterior, sum_j KL_j + total correlation
    equals the full KL(q(z|x) || N(0, I)). For non-Gaussian marginals (IAF)
    with the same mean and variance it is a lower bound on their KL, because
    the Gaussian has the largest entropy for a given variance.

    Args:
      mean: `[..., D]` marginal means.
      variance: `[..., D]` marginal variances (> 0).

    Returns:
      `[..., D]` float32 KL per latent, nats.
    """
    m = tf.convert_to_tensor(mean, dtype=tf.float32)
    v = tf.convert_to_tensor(variance, dtype=tf.float32)
    return 0.5 * (v + tf.square(m) - 1.0 - tf.math.log(v))


def standard_normal_log_prob(z: object) -> tf.Tensor:
    """log N(z; 0, I) = -0.5 sum_d (z_d^2 + log 2 pi), nats. `[..., D]` -> `[...]`."""
    z = tf.convert_to_tensor(z, dtype=tf.float32)
    d = tf.cast(tf.shape(z)[-1], tf.float32)
    return -0.5 * (tf.reduce_sum(tf.square(z), axis=-1) + d * _LOG_2PI)


def latent_activity(mean_codes: object) -> tf.Tensor:
    """Activity of each latent, A_u = Var_x(E_{q(z|x)}[z_u]) (Burda et al. 2016).

    Args:
      mean_codes: `[N, D]` posterior means E[z | x_n], N >= 2.

    Returns:
      `[D]` float32 variances over the data points (population variance, 1/N).
    """
    mu = tf.convert_to_tensor(mean_codes, dtype=tf.float32)
    if mu.shape.rank != 2 or (mu.shape[0] is not None and mu.shape[0] < 2):
        raise ValueError(f"mean_codes: expected shape [N >= 2, D], got {mu.shape}")
    return tf.math.reduce_variance(mu, axis=0)


def active_units(mean_codes: object, threshold: float = 0.01) -> int:
    """Number of active latents, #{u : Var_x(E[z_u | x]) > threshold} (Burda et al. 2016).

    Args:
      mean_codes: `[N, D]` posterior means.
      threshold: activity threshold; Burda et al. use 0.01.

    Returns:
      The count, an int in [0, D].
    """
    return int(tf.reduce_sum(tf.cast(latent_activity(mean_codes) > threshold, tf.int32)))


def mean_code_covariance(
    mean_codes: object,
    mean_within_covariance: object | None = None,
    num_samples: int | None = None,
) -> tf.Tensor:
    """Cov_x(E[z|x]) `[D, D]` from mean codes, less the Monte Carlo noise of sampled means.

    With exact means this is the population covariance of `mean_codes`
    (1/N, as `latent_activity`). When each code is the mean of S independent
    draws (independent across inputs), its covariance over x is inflated by
    E_x[Cov(z|x)] / S; giving `mean_within_covariance` (E_x of the unbiased
    per-input sample covariances) and `num_samples` = S subtracts that, an
    unbiased correction (to O(1/N)) of the noise that would otherwise count
    as activity (e.g. 1/64 > 0.01 per unit-variance latent from 64 draws).

    Args:
      mean_codes: `[N, D]` (Monte Carlo) posterior means, N >= 2.
      mean_within_covariance: `[D, D]` mean over x of the sample Cov(z|x), or None.
      num_samples: S, the draws behind each mean code (required with the above).

    Returns:
      `[D, D]` float32 covariance.
    """
    mu = tf.convert_to_tensor(mean_codes, dtype=tf.float32)
    if mu.shape.rank != 2 or (mu.shape[0] is not None and mu.shape[0] < 2):
        raise ValueError(f"mean_codes: expected shape [N >= 2, D], got {mu.shape}")
    centred = mu - tf.reduce_mean(mu, axis=0, keepdims=True)
    covariance = tf.matmul(centred, centred, transpose_a=True) / tf.cast(
        tf.shape(mu)[0], tf.float32
    )
    if mean_within_covariance is None:
        return covariance
    if num_samples is None or num_samples < 1:
        raise ValueError(f"num_samples: expected an integer >= 1, got {num_samples!r}")
    within = tf.convert_to_tensor(mean_within_covariance, dtype=tf.float32)
    return covariance - within / float(num_samples)


def active_units_from_covariance(covariance: object, threshold: float = 0.01) -> int:
    """#{u : Cov_x(E[z|x])_uu > threshold}, the active units of Burda et al. (2016).

    Args:
      covariance: `[D, D]` covariance of the posterior means over x
        (`mean_code_covariance`).
      threshold: activity threshold; Burda et al. use 0.01.
    """
    cov = _square_matrices(covariance, "covariance")
    return int(tf.reduce_sum(tf.cast(tf.linalg.diag_part(cov) > threshold, tf.int32)))


def active_directions(covariance: object, threshold: float = 0.01) -> int:
    """Number of eigenvalues of Cov_x(E[z|x]) above `threshold`: active units, rotation-invariant.

    Active units count axes; a code that spreads 2 active directions over 8
    axes (a rotated code) has 8 active units but 2 active directions.

    Args:
      covariance: `[D, D]` covariance of the posterior means over x.
      threshold: as for active units (0.01).
    """
    cov = tf.cast(_square_matrices(covariance, "covariance"), tf.float64)
    eigenvalues = tf.linalg.eigvalsh(0.5 * (cov + tf.linalg.matrix_transpose(cov)))
    return int(tf.reduce_sum(tf.cast(eigenvalues > threshold, tf.int32)))


def aggregate_total_correlation(
    log_q_joint: object,
    log_q_marginals: object,
    dataset_size: int | None = None,
) -> tf.Tensor:
    """Total correlation of the aggregate posterior q(z) = E_{p(x)} q(z|x), nats.

    TC = E_{q(z)}[log q(z) - sum_d log q(z_d)], estimated on M points: z_i is
    drawn from q(z | x_i), and q(z_i) and each q(z_id) are estimated from the
    M posteriors with the stratified importance weights of Chen et al. (2018):

        q(z_i) ~= sum_j w_ij q(z_i | x_j),   w_ii = 1/N,
                  w_ij = (N - 1) / (N (M - 1))  for j != i,

    which is unbiased for q(z_i) = (1/N) sum_n q(z_i | x_n) when x_i is one of
    the N data points and the other M - 1 are drawn uniformly from the rest.
    N = M gives the exact mixture over the M points; N = None (an infinite
    population, e.g. data with continuous noise) gives the leave-one-out
    estimate w_ii = 0, w_ij = 1/(M - 1). The same weights estimate each
    marginal q(z_id). Taking logs adds a small downward (Jensen) bias to both
    terms that shrinks as M grows.

    The log-densities come from each posterior family itself, so this works
    for any family with a density (Gaussian or IAF).

    Args:
      log_q_joint: `[M, M]`, entry (i, j) = log q(z_i | x_j), nats.
      log_q_marginals: `[M, M, D]`, entry (i, j, d) = log q(z_id | x_j), nats.
      dataset_size: N, the size of the data the M points were drawn from
        (N >= M), or None for an infinite population.

    Returns:
      Scalar float32 TC estimate, nats.
    """
    joint = tf.convert_to_tensor(log_q_joint, dtype=tf.float32)
    marg = tf.convert_to_tensor(log_q_marginals, dtype=tf.float32)
    if joint.shape.rank != 2 or joint.shape[0] != joint.shape[1]:
        raise ValueError(f"log_q_joint: expected shape [M, M], got {joint.shape}")
    m = joint.shape[0]
    if marg.shape.rank != 3 or marg.shape[:2] != joint.shape:
        raise ValueError(f"log_q_marginals: expected shape [M, M, D] with M={m}, got {marg.shape}")
    if m < 2:
        raise ValueError(f"log_q_joint: need at least 2 points, got M={m}")
    if dataset_size is None:
        log_self, log_other = -math.inf, -math.log(m - 1)
    else:
        if dataset_size < m:
            raise ValueError(f"dataset_size: expected >= M={m}, got {dataset_size}")
        n = float(dataset_size)
        log_self = -math.log(n)
        log_other = math.log(n - 1.0) - math.log(n * (m - 1))
    log_w = tf.where(
        tf.eye(m, dtype=tf.bool),
        tf.constant(log_self, tf.float32),
        tf.constant(log_other, tf.float32),
    )
    log_qz = tf.reduce_logsumexp(joint + log_w, axis=1)  # [M]
    log_qzd = tf.reduce_logsumexp(marg + log_w[:, :, None], axis=1)  # [M, D]
    return tf.reduce_mean(log_qz - tf.reduce_sum(log_qzd, axis=1))
