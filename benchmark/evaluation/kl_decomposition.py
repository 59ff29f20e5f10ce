"""The rate split into information, total correlation and dimension-wise KL, in nats.

For data uniform over a finite population {x_1 .. x_N} (a dSprites-like
factor grid) and the aggregate posterior q(z) = (1/N) sum_n q(z|x_n):

    rate = E_x KL(q(z|x) || p(z))
         = I(x; z) + TC(q(z)) + sum_j KL(q(z_j) || p(z_j))

    I(x; z)              = E_{x, z~q(z|x)} [log q(z|x) - log q(z)]          (<= log N)
    TC(q(z))             = E_{q(z)} [log q(z) - sum_j log q(z_j)]
    dimension-wise KL    = E_{q(z)} [sum_j log q(z_j) - log p(z_j)]

(Hoffman & Johnson 2016; Chen et al. 2018). This module computes q(z) and
every q(z_j) as exact mixtures over the whole population, so the only error
is Monte Carlo over the outer draws (x_n uniform, z ~ q(z|x_n)): Chen et
al.'s own estimator with the full data set. The three terms telescope draw
by draw to log q(z|x) - log p(z), so they sum to the Monte Carlo rate
exactly and to the closed-form rate within Monte Carlo error.

Each family's own log q(z|x) is used; the marginals q(z_j|x) are exact
Normals for the Gaussian families and moment-matched Normals for IAF (its
marginals have no closed form), which makes IAF's TC and dimension-wise
KL approximate (their sum with I is still the rate). IAF's density needs the
flow's sequential inverse for every (draw, population member) pair, too slow
over a 737,280-image grid: for sampled families the pipeline takes random
subsets of the grid of increasing size M as the population (the terms are
then those of the empirical distribution over the M images, I <= log M) and
reports the trend.

References:
  Hoffman, Johnson (2016). ELBO surgery: yet another way to carve up the
    variational evidence lower bound. NIPS Workshop on Advances in
    Approximate Bayesian Inference.
  Chen, Li, Grosse, Duvenaud (2018). Isolating Sources of Disentanglement in
    VAEs. NeurIPS.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from benchmark.evaluation.inference_gaps import free_parameters
from benchmark.models.posteriors import Posterior, log_standard_normal
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

__all__ = ["DECOMPOSITION_TERMS", "encode_population", "kl_decomposition"]

DECOMPOSITION_TERMS = ("mutual_information", "total_correlation", "dimension_wise_kl")
_LOG_2PI = math.log(2.0 * math.pi)


def encode_population(
    encode: Callable[[tf.Tensor], Posterior], batches: Iterable[np.ndarray]
) -> tuple[dict[str, np.ndarray], Callable[[dict[str, tf.Tensor]], Posterior]]:
    """`(parameters, build)`: the posterior parameters of every image (`[N, ...]` numpy arrays).

    Only parameters are kept, never images, so a large grid can be streamed
    through in batches. `build` turns a slice of them back into a posterior.
    """

    @tf.function(reduce_retracing=True)
    def params_of(x: tf.Tensor) -> dict[str, tf.Tensor]:
        return free_parameters(encode(x))[0]

    parts: dict[str, list[np.ndarray]] = {}
    build = None
    for batch in batches:
        x = tf.constant(np.asarray(batch, np.float32))
        if build is None:
            _, build = free_parameters(encode(x[:1]))
        for key, value in params_of(x).items():
            parts.setdefault(key, []).append(value.numpy())
    if build is None:
        raise ValueError("kl_decomposition: the population is empty")
    return {k: np.concatenate(v) for k, v in parts.items()}, build


def _mean_se(values: np.ndarray) -> tuple[float, float]:
    n = len(values)
    return float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(n)) if n > 1 else 0.0


def kl_decomposition(
    parameters: dict[str, np.ndarray],
    build: Callable[[dict[str, tf.Tensor]], Posterior],
    *,
    outer_draws: int,
    seed: int,
    batch_size: int = 2048,
    max_pairs: int = 262_144,
) -> dict[str, float]:
    """The decomposition of the rate over the population whose posteriors are `parameters`.

    Args:
      parameters, build: from `encode_population` (N images).
      outer_draws: K, the number of draws (x_n, z); x_n are drawn uniformly
        without replacement (all N once when K >= N).
      seed: makes every draw reproducible.
      batch_size: population members per block of the mixture sums.
      max_pairs: most (draw, member) pairs per density call (memory bound).

    Returns nats (each with `_se_nats`, its standard error over draws):
      decomposition_mutual_information_nats, decomposition_total_correlation_nats,
      decomposition_dimension_wise_kl_nats; decomposition_sum_nats (their sum,
      the Monte Carlo rate) and decomposition_rate_nats (the mean over the
      whole population of the family's KL(q(z|x) || p(z)): closed form for
      the Gaussians, Monte Carlo over 16 draws each for IAF);
      decomposition_log_population (log N, the ceiling of I);
      decomposition_population (N) and decomposition_outer_draws (K).
    """
    n = len(next(iter(parameters.values())))
    if n < 2:
        raise ValueError(f"kl_decomposition: need a population of at least 2, got {n}")
    rng = np.random.default_rng([int(seed), 11])
    k = min(int(outer_draws), n)
    chosen = np.sort(rng.choice(n, size=k, replace=False))
    draw_seed = tf.constant(rng.integers(0, 2**31 - 1, size=2), tf.int32)
    moment_seed = tf.constant(rng.integers(0, 2**31 - 1, size=2), tf.int32)

    def block(start: int, stop: int, index: np.ndarray | None = None) -> dict[str, tf.Tensor]:
        if index is not None:
            return {key: tf.constant(value[index]) for key, value in parameters.items()}
        return {key: tf.constant(value[start:stop]) for key, value in parameters.items()}

    own = build(block(0, 0, chosen))
    z, log_q_own = own.sample_and_log_prob(1, draw_seed)
    z, log_q_own = z[0], log_q_own[0]  # [K, D], [K]

    @tf.function(reduce_retracing=True)
    def densities(z_rows: tf.Tensor, p: dict[str, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        posterior = build(p)
        pairs = z_rows[:, None, :]
        joint = posterior.log_prob(pairs)  # [R, B]
        marginal = posterior.marginal_log_prob(pairs, seed=moment_seed)  # [R, B, D]
        return tf.reduce_logsumexp(joint, axis=1), tf.reduce_logsumexp(marginal, axis=1)

    rows = max(1, min(k, max_pairs // max(1, min(batch_size, n))))
    joint_parts, marginal_parts = [], []
    for r in range(0, k, rows):
        z_rows = z[r : r + rows]
        joint_acc, marginal_acc = [], []
        for start in range(0, n, batch_size):
            j, m = densities(z_rows, block(start, min(start + batch_size, n)))
            joint_acc.append(j)
            marginal_acc.append(m)
        joint_parts.append(tf.reduce_logsumexp(tf.stack(joint_acc), axis=0))
        marginal_parts.append(tf.reduce_logsumexp(tf.stack(marginal_acc), axis=0))
    log_n = math.log(n)
    log_qz = tf.concat(joint_parts, 0).numpy().astype(np.float64) - log_n  # [K]
    log_qzj = tf.concat(marginal_parts, 0).numpy().astype(np.float64) - log_n  # [K, D]
    z64 = z.numpy().astype(np.float64)
    log_pzj = -0.5 * (np.square(z64) + _LOG_2PI)
    log_q_own = log_q_own.numpy().astype(np.float64)

    terms = {
        "mutual_information": log_q_own - log_qz,
        "total_correlation": log_qz - np.sum(log_qzj, axis=1),
        "dimension_wise_kl": np.sum(log_qzj - log_pzj, axis=1),
    }
    result: dict[str, float] = {}
    for name, values in terms.items():
        mean, se = _mean_se(values)
        result[f"decomposition_{name}_nats"] = mean
        result[f"decomposition_{name}_se_nats"] = se
    mean, se = _mean_se(sum(terms.values()))
    result["decomposition_sum_nats"] = mean
    result["decomposition_sum_se_nats"] = se

    @tf.function(reduce_retracing=True)
    def rate_of(p: dict[str, tf.Tensor]) -> tf.Tensor:
        posterior = build(p)
        if posterior.closed_form_kl:
            return posterior.kl_to_standard_normal()
        draws, log_q = posterior.sample_and_log_prob(16, moment_seed)
        return tf.reduce_mean(log_q - log_standard_normal(draws), axis=0)

    rate = np.concatenate(
        [rate_of(block(s, min(s + batch_size, n))).numpy() for s in range(0, n, batch_size)]
    )
    result["decomposition_rate_nats"] = float(np.mean(rate.astype(np.float64)))
    result["decomposition_log_population"] = log_n
    result["decomposition_population"] = float(n)
    result["decomposition_outer_draws"] = float(k)
    return result
