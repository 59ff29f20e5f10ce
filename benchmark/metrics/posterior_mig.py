"""MIG from the posterior itself (Chen et al. 2018, "Isolating Sources of Disentanglement in
Variational Autoencoders", NeurIPS, section 5 and appendix).

Histogram MIG (`benchmark.metrics.mig`) bins the posterior means; this one
estimates I(z_j; v_k) from q(z_j|x), the marginal of the posterior of each
point, over a sample of points x_1..x_N of the factor grid:

    q(z_j)       = 1/N     sum_m          q(z_j | x_m)
    q(z_j | v)   = 1/|G_v| sum_{m in G_v} q(z_j | x_m),   G_v = {m : v_k(x_m) = v}
    H(z_j)       = -E_n E_{z ~ q(z_j|x_n)} log q(z)
    H(z_j | v_k) = -E_n E_{z ~ q(z_j|x_n)} log q(z | v_k(x_n))
    I(z_j; v_k)  = H(z_j) - H(z_j | v_k)                        (nats)

with S draws z per point. MIG = mean_k (I_(1) - I_(2)) / H(v_k), the two
largest over latents, H(v_k) the entropy of factor k in the sample (log of
its size on a balanced sample). The marginals q(z_j|x_m) are Gaussians
`N(means[m, j], stds[m, j]^2)`: exact for the diagonal and full-covariance
families, moment-matched for IAF (its draws still come from the flow).
Pure numpy; cost O(N^2 S D) log-densities, computed one latent at a time.
"""

from __future__ import annotations

import numpy as np

__all__ = ["posterior_mig", "stratified_factors"]

_HALF_LOG_TWO_PI = 0.5 * np.log(2.0 * np.pi)


def stratified_factors(
    factor_sizes: tuple[int, ...], num_points: int, random_state: np.random.RandomState
) -> np.ndarray:
    """`[num_points, num_factors]` int64 factors where every value of every factor appears
    `num_points // size` or one more times (a Latin-hypercube-like sample of the grid).

    Column k is `arange(num_points) % size_k`, shuffled independently per factor,
    so each factor is balanced while the combinations are random.
    """
    columns = [random_state.permutation(np.arange(num_points) % size) for size in factor_sizes]
    return np.stack(columns, axis=1).astype(np.int64)


def _entropy(labels: np.ndarray) -> float:
    counts = np.bincount(labels)
    p = counts[counts > 0] / labels.size
    return float(-np.sum(p * np.log(p)))


def posterior_mig(
    samples: np.ndarray, means: np.ndarray, stds: np.ndarray, factors: np.ndarray
) -> dict[str, object]:
    """MIG of the posterior from draws and marginal parameters (nats).

    Args:
      samples: `[N, S, D]` draws z ~ q(z|x_n) (S per point).
      means, stds: `[N, D]` mean and standard deviation of each marginal q(z_j|x_n) (> 0).
      factors: `[N, K]` integer factor values of the N points.

    Returns:
      `posterior_mig` (float), `posterior_mig_per_factor` `[K]`,
      `posterior_mutual_info_matrix_codes_x_factors` `[D, K]` (nats),
      `posterior_latent_entropy_nats` `[D]` (H(z_j)).
    """
    samples = np.asarray(samples, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    stds = np.asarray(stds, dtype=np.float64)
    factors = np.asarray(factors, dtype=np.int64)
    num, draws, dim = samples.shape
    if means.shape != (num, dim) or stds.shape != (num, dim) or factors.shape[0] != num:
        raise ValueError(
            f"posterior_mig: expected samples [N, S, D], means and stds [N, D] and factors "
            f"[N, K] with one N; got {samples.shape}, {means.shape}, {stds.shape}, {factors.shape}"
        )
    if not np.all(stds > 0):
        raise ValueError("posterior_mig: stds must be positive")
    num_factors = factors.shape[1]
    # One-hot group membership per factor, and each row's own group, for grouped logsumexp.
    groups = [np.eye(factors[:, k].max() + 1)[factors[:, k]] for k in range(num_factors)]
    owner = np.repeat(factors, draws, axis=0)  # [N*S, K]: factor values of each draw's point
    log_sizes = [np.log(g.sum(axis=0)) for g in groups]
    entropy_z = np.zeros(dim)
    mutual_info = np.zeros((dim, num_factors))
    for j in range(dim):  # latents, not data points
        z = samples[:, :, j].reshape(-1, 1)  # [N*S, 1]
        log_density = (
            -0.5 * ((z - means[None, :, j]) / stds[None, :, j]) ** 2
            - np.log(stds[None, :, j])
            - _HALF_LOG_TWO_PI
        )  # [N*S, N]: log q(z_draw | x_m)
        peak = log_density.max(axis=1, keepdims=True)
        weights = np.exp(log_density - peak)
        log_marginal = np.log(weights.sum(axis=1)) + peak[:, 0] - np.log(num)
        entropy_z[j] = -np.mean(log_marginal)
        for k in range(num_factors):
            own = owner[:, k]
            grouped = weights @ groups[k]  # [N*S, V_k] sums over each value's points
            log_conditional = np.log(grouped[np.arange(len(own)), own]) + peak[:, 0]
            log_conditional -= log_sizes[k][own]
            mutual_info[j, k] = entropy_z[j] + np.mean(log_conditional)
    factor_entropy = np.array([_entropy(factors[:, k]) for k in range(num_factors)])
    ordered = np.sort(mutual_info, axis=0)[::-1]
    second = ordered[1] if dim > 1 else np.zeros(num_factors)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_factor = np.where(factor_entropy > 0, (ordered[0] - second) / factor_entropy, 0.0)
    return {
        "posterior_mig": float(np.mean(per_factor)),
        "posterior_mig_per_factor": per_factor,
        "posterior_mutual_info_matrix_codes_x_factors": mutual_info,
        "posterior_latent_entropy_nats": entropy_z,
    }
