"""Correlation and information scores of a trained VAE's posterior q(z|x).

`latent_scores(model, observations, heldout, seed=...)` returns flat scores
(nats where they are log-densities or KL terms):

- posterior correlation: the correlation matrix of each q(z|x) (closed form
  for the Gaussian families, from `posterior_samples` draws for IAF), its mean
  absolute off-diagonal entry, and the per-posterior Gaussian total
  correlation 0.5 (sum_d log S_dd - log det S);
- the aggregate posterior: the metrics' Gaussian total and Wasserstein
  correlation of the mean codes, and the total correlation of q(z) from
  sampled codes (Chen et al. 2018 stratified estimator, each family's own
  log q);
- information and fit: the rate E_x KL(q(z|x) || N(0, I)) and its marginal
  split per latent, active units (Burda et al. 2016) and active directions
  (the same count, rotation-invariant), the reconstruction NLL, the ELBO, and
  the importance-weighted bound on held-out log p(x).

Sample-based scores and their noise floors. For a sampled family (IAF) the
moments of q(z|x) come from `posterior_samples` draws (default 1,000). Each
score whose estimate has a floor from that noise is reported beside
`<score>_noise_floor`: the same score of an exactly independent Gaussian,
q(z|x) = N(0, I) for every x, of the same shape, with the same draws and the
same code path (a sampled posterior for a sampled family, a closed-form one,
whose floor is 0, for the Gaussian families). From 64 draws an independent
Gaussian shows mean |r| 0.10 and a posterior TC of 0.38 nats over 10 latents;
from 1,000 draws 0.025 and 0.02. Active units and directions subtract the
Monte Carlo variance of the mean codes, E_x[Cov(z|x)] / S
(`posterior_stats.mean_code_covariance`), so noise is not counted as activity.

The model is duck-typed: `encode(x)` returns a posterior object (see
`benchmark.models.posteriors`) with `sample_and_log_prob(num_samples, seed)`,
`mean()`, `covariance()`, `log_prob(z)`, `marginal_log_prob(z, num_samples=,
seed=)`, `kl_to_standard_normal()` and the flag `closed_form_kl` (True for
the Gaussian families), and `decode(z)` returns Bernoulli logits.

References:
  Burda, Grosse, Salakhutdinov (2016). Importance Weighted Autoencoders. ICLR.
  Chen, Li, Grosse, Duvenaud (2018). Isolating Sources of Disentanglement in
    VAEs. NeurIPS.
  Kingma, Salimans, Jozefowicz, Chen, Sutskever, Welling (2016). Improved
    Variational Inference with Inverse Autoregressive Flow. NeurIPS.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from benchmark.absent import absent
from benchmark.errors import UserInputError
from benchmark.evaluation import posterior_stats as ps
from benchmark.metrics.unsupervised import unsupervised
from benchmark.models.families.diagonal import DiagonalGaussian
from benchmark.models.families.iaf import IAFPosterior
from benchmark.models.objectives import bernoulli_nll
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

__all__ = [
    "NOISE_FLOOR_KEYS",
    "NOISE_FLOOR_SUFFIX",
    "importance_weighted_bound",
    "latent_scores",
    "posterior_terms",
]

ACTIVITY_THRESHOLD = 0.01  # Burda et al. (2016): Var_x E[z_j|x] above this is an active latent
NOISE_FLOOR_SUFFIX = "_noise_floor"
# Scores reported with the same score of an exactly independent Gaussian beside them.
NOISE_FLOOR_KEYS = (
    "posterior_mean_abs_correlation",
    "posterior_mean_abs_correlation_active",
    "posterior_gaussian_total_correlation_nats",
    "active_units",
    "active_directions",
)

# Seed streams: one independent stream of stateless seeds per purpose.
_STATS, _TC_SUBSET, _TC_DRAWS, _TC_MARGINALS, _HELDOUT = range(5)
# Most decoded images per decoder call in the importance-weighted bound.
_MAX_DECODE = 4096


def _seeds(seed: int, stream: int, count: int) -> np.ndarray:
    """`[count, 2]` int32 stateless seeds, a pure function of (seed, stream)."""
    state = np.random.SeedSequence([int(seed), stream]).generate_state(2 * count, np.uint32)
    return (state % np.uint32(2**31)).astype(np.int32).reshape(count, 2)


def _batches(num: int, batch_size: int) -> list[slice]:
    return [slice(i, min(i + batch_size, num)) for i in range(0, num, batch_size)]


def _log_likelihood(x: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """log p(x|z) for Bernoulli logits `[..., N, *obs]` and `x [N, *obs]`: `[..., N]` nats."""
    return -bernoulli_nll(x, logits, event_ndims=len(x.shape) - 1)


def _decode(model: Any, z: tf.Tensor) -> tf.Tensor:
    """Logits `[S, N, *obs]` for `z [S, N, D]`, decoded as one flat batch."""
    logits = model.decode(tf.reshape(z, [-1, z.shape[-1]]))
    return tf.reshape(logits, tf.concat([tf.shape(z)[:2], tf.shape(logits)[1:]], 0))


def _is_closed_form(posterior: Any) -> bool:
    return bool(getattr(posterior, "closed_form_kl", False))


def _kl(posterior: Any, z: tf.Tensor, log_q: tf.Tensor) -> tf.Tensor:
    """KL(q(z|x) || N(0, I)) `[N]` nats: closed form, or the mean of log q - log p over `z`."""
    if _is_closed_form(posterior):
        return tf.convert_to_tensor(posterior.kl_to_standard_normal(), tf.float32)
    return tf.reduce_mean(log_q - ps.standard_normal_log_prob(z), axis=0)


def importance_weighted_bound(
    model: Any, x: tf.Tensor, num_samples: int, seed: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """`(iw_bound [N], elbo [N])` in nats on a batch `x [N, *obs]` (Burda et al. 2016).

    With z_1..z_k ~ q(z|x) drawn together with their log q by the family's own
    `sample_and_log_prob` (for IAF the flow's forward pass, never `log_prob`
    on the draws):

        log w_i = log p(x | z_i) + log N(z_i; 0, I) - log q(z_i | x)
        iw_bound = log (1/k) sum_i exp(log w_i)     <= log p(x)

    `elbo` is E_q[log p(x|z)] - KL(q || N(0, I)), the expectation estimated
    from the same k draws and the KL closed form for Gaussian families (else
    the mean of log q - log p over the draws). By Jensen iw_bound >=
    mean_i log w_i, whose expectation is the ELBO; the expected bound does not
    decrease in k and tends to log p(x).
    """
    posterior = model.encode(x)
    z, log_q = posterior.sample_and_log_prob(num_samples, seed)  # [k, N, D], [k, N]
    n = z.shape[1] or _MAX_DECODE  # unknown batch size inside a relaxed trace
    chunk = max(1, _MAX_DECODE // n)
    log_px = tf.concat(
        [
            _log_likelihood(x, _decode(model, z[i : i + chunk]))
            for i in range(0, num_samples, chunk)
        ],
        axis=0,
    )  # [k, N]
    log_w = log_px + ps.standard_normal_log_prob(z) - log_q
    iw = tf.reduce_logsumexp(log_w, axis=0) - math.log(num_samples)
    elbo = tf.reduce_mean(log_px, axis=0) - _kl(posterior, z, log_q)
    return iw, elbo


def posterior_terms(
    model: Any, x: tf.Tensor, num_samples: int, reconstruction_samples: int, seed: tf.Tensor
) -> dict[str, tf.Tensor]:
    """Per-input posterior statistics of a batch `x [N, *obs]`.

    Draws z ~ q(z|x): `reconstruction_samples` per input for Gaussian families
    (closed-form moments and KL), max(`num_samples`, `reconstruction_samples`)
    for sampled families (IAF); the first `reconstruction_samples` draws are
    decoded. Returns:

    - `mean [N, D]`, `covariance [N, D, D]`: closed form for Gaussian families;
      for IAF the sample mean and unbiased sample covariance of the draws;
    - `kl [N]`: KL(q(z|x) || N(0, I)), nats (closed form, or Monte Carlo over
      the draws);
    - `kl_per_latent [N, D]`: KL(N(m_d, S_dd) || N(0, 1)) of each marginal
      (exact for Gaussians, a moment-matched lower bound for IAF);
    - `reconstruction_nll [N]`: -E_q[log p(x|z)], nats;
    - `elbo [N]` = -reconstruction_nll - kl, nats.
    """
    posterior = model.encode(x)
    closed = _is_closed_form(posterior)
    draws = max(reconstruction_samples, 1 if closed else num_samples)
    z, log_q = posterior.sample_and_log_prob(draws, seed)
    if closed:
        mean = tf.convert_to_tensor(posterior.mean(), tf.float32)
        covariance = tf.convert_to_tensor(posterior.covariance(), tf.float32)
    else:
        mean = tf.reduce_mean(z, axis=0)
        covariance = ps.sample_covariance(z)
    kl = _kl(posterior, z, log_q)
    recon = -tf.reduce_mean(_log_likelihood(x, _decode(model, z[:reconstruction_samples])), 0)
    return {
        "mean": mean,
        "covariance": covariance,
        "kl": kl,
        "kl_per_latent": ps.per_latent_kl_to_standard_normal(mean, tf.linalg.diag_part(covariance)),
        "reconstruction_nll": recon,
        "elbo": -recon - kl,
    }


def _aggregate_total_correlation(
    model: Any,
    points: np.ndarray,
    *,
    batch_size: int,
    posterior_samples: int,
    dataset_size: int | None,
    seed: int,
) -> float:
    """TC of q(z) in nats from M = len(points) sampled codes (see `aggregate_total_correlation`).

    z_i ~ q(z|x_i); the [M, M] matrix log q(z_i | x_j) comes from each
    posterior's own `log_prob` and the [M, M, D] marginals from its
    `marginal_log_prob` (moment-matched from `posterior_samples` draws for
    IAF, which makes the estimate an upper bound there), computed in blocks of
    `batch_size` x `batch_size` pairs (each column block re-encoded per block,
    so only one block's posteriors are alive at a time).
    """
    blocks = _batches(len(points), batch_size)
    draw_seeds = _seeds(seed, _TC_DRAWS, len(blocks))
    marginal_seeds = _seeds(seed, _TC_MARGINALS, len(blocks))
    # One trace each whatever the block sizes (the last block is smaller): an IAF graph
    # takes seconds to trace, and the pairs of blocks would otherwise make four.
    images = tf.TensorSpec([None, *points.shape[1:]], tf.float32)
    seed_pair = tf.TensorSpec([2], tf.int32)

    @tf.function(input_signature=[images, seed_pair])
    def draw(x: tf.Tensor, s: tf.Tensor) -> tf.Tensor:
        return model.encode(x).sample_and_log_prob(1, s)[0][0]

    inputs = [tf.constant(points[block], tf.float32) for block in blocks]
    codes = [draw(x, tf.constant(draw_seeds[k])) for k, x in enumerate(inputs)]

    @tf.function(input_signature=[tf.TensorSpec([None, codes[0].shape[-1]]), images, seed_pair])
    def pair_log_densities(z_rows: tf.Tensor, x_cols: tf.Tensor, s: tf.Tensor):
        posterior = model.encode(x_cols)
        pairs = z_rows[:, None, :]  # [B_i, 1, D] against the B_j posteriors: [B_i, B_j, ...]
        return posterior.log_prob(pairs), posterior.marginal_log_prob(
            pairs, num_samples=posterior_samples, seed=s
        )

    joint_rows, marginal_rows = [], []
    for z_rows in codes:
        parts = [
            pair_log_densities(z_rows, x, tf.constant(marginal_seeds[c]))
            for c, x in enumerate(inputs)
        ]
        joint_rows.append(tf.concat([p[0] for p in parts], axis=1))
        marginal_rows.append(tf.concat([p[1] for p in parts], axis=1))
    return float(
        ps.aggregate_total_correlation(
            tf.concat(joint_rows, 0), tf.concat(marginal_rows, 0), dataset_size=dataset_size
        )
    )


class _IndependentGaussian:
    """q(z|x) = N(0, I) for every x, of the model's kind, behind the model's decoder.

    Scored through the same path as the model, it gives the noise floors: a
    sampled posterior (an IAF with no steps) when the model's family is
    sampled, so its moments come from the same number of draws; otherwise the
    closed-form diagonal Gaussian.
    """

    def __init__(self, model: Any, latent_dim: int, sampled: bool) -> None:
        self.model = model
        self.latent_dim = latent_dim
        self.sampled = sampled

    def encode(self, x: tf.Tensor) -> Any:
        zeros = tf.zeros([tf.shape(x)[0], self.latent_dim], tf.float32)
        if self.sampled:
            return IAFPosterior(zeros, zeros, zeros[:, :1], [])
        return DiagonalGaussian(zeros, zeros)

    def decode(self, z: tf.Tensor) -> tf.Tensor:
        return self.model.decode(z)


def _as_batch(name: str, array: Any, shape: tuple[int, ...] | None, minimum: int) -> np.ndarray:
    x = np.asarray(array)
    if x.ndim < 2 or (shape is not None and tuple(x.shape[1:]) != tuple(shape)):
        expected = f"[N, {', '.join(map(str, shape))}]" if shape is not None else "[N, *obs]"
        raise UserInputError(f"latent_scores: {name}: expected shape {expected}, got {x.shape}")
    if len(x) < minimum:
        raise UserInputError(
            f"latent_scores: {name}: expected at least {minimum} points, got {len(x)}"
        )
    if not np.all(np.isfinite(x)):
        raise UserInputError(f"latent_scores: {name}: contains NaN or infinite values")
    return x.astype(np.float32, copy=False)


def _positive(name: str, value: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise UserInputError(
            f"latent_scores: {name}: expected an integer >= {minimum}, got {value!r}"
        )
    return int(value)


def latent_scores(
    model: Any,
    observations: np.ndarray,
    heldout: np.ndarray,
    *,
    seed: int,
    posterior_samples: int = 1000,
    marginal_samples: int = 64,
    iw_samples: int = 100,
    batch_size: int = 64,
    reconstruction_samples: int = 1,
    tc_sample_size: int = 1000,
    dataset_size: int | None = None,
    timings: dict[str, float] | None = None,
) -> dict[str, float | list]:
    """Correlation and information scores of `model`'s posterior (nats where noted).

    Args:
      model: a trained VAE (`encode`, `decode`; see the module docstring).
      observations: `[N, *obs]` float images the scores are averaged over
        (N >= 2), e.g. a sample of the training distribution.
      heldout: `[M, *obs]` held-out images for the importance-weighted bound.
      seed: makes every draw reproducible (results depend on seed and
        batch_size, nothing else).
      posterior_samples: S, draws per x for the IAF moments (mean codes,
        correlation) and KL (must exceed the number of latents there).
      marginal_samples: draws per x for the moment-matched IAF marginals of
        the aggregate total correlation (cost grows with tc_sample_size^2).
      iw_samples: k of the importance-weighted bound.
      batch_size: inputs per encoder call.
      reconstruction_samples: decoded draws per x for the reconstruction NLL.
      tc_sample_size: points of `observations` (a seeded subset) used by the
        aggregate total-correlation estimator (cost grows with its square).
      dataset_size: size of the data set `observations` stand for, for the
        stratified weights; None treats it as infinite (leave-one-out).
      timings: when given, receives wall seconds per part: `posterior_terms`
        (correlations, rate, reconstruction, ELBO), `aggregate_gaussian`,
        `aggregate_tc` and `heldout_iw` (held-out ELBO and IW bound).

    Returns a dict:
      posterior_mean_abs_correlation: mean over x of the mean |off-diagonal
        correlation| of q(z|x), in [0, 1].
      posterior_gaussian_total_correlation_nats: mean over x of
        0.5 (sum_d log S_dd - log det S), S = Cov[z|x].
      posterior_correlation_matrix: `[D][D]` mean over x of Corr[z|x].
      aggregate_gaussian_total_correlation (nats),
      aggregate_gaussian_wasserstein_correlation,
      aggregate_gaussian_wasserstein_correlation_norm: the metrics'
        unsupervised scores of the mean codes E[z|x].
      aggregate_total_correlation_nats: TC of q(z) = E_x q(z|x) from sampled
        codes (Chen et al. 2018; an upper bound for IAF, whose marginals are
        moment-matched).
      rate_nats: E_x KL(q(z|x) || N(0, I)).
      rate_per_latent_nats: `[D]` E_x KL(q(z_d|x) || N(0, 1)) of the marginals
        (sums with the posterior total correlation to the rate for Gaussians;
        for IAF the KL of the moment-matched Gaussian, a lower bound).
      active_units: #{d : Var_x(E[z_d|x]) > 0.01} (Burda et al. 2016).
      active_directions: #{eigenvalues of Cov_x(E[z|x]) > 0.01}.
      <score>_noise_floor for each score of NOISE_FLOOR_KEYS: that score of
        an exactly independent Gaussian through the same path (module
        docstring); 0 for the closed-form families.
      reconstruction_nll_nats: E_x E_q[-log p(x|z)].
      elbo_nats: E_x [-reconstruction NLL - KL] on `observations`.
      heldout_elbo_nats: the same on `heldout` (k draws for the expectation).
      iw_log_likelihood_nats: mean over `heldout` of the k-sample
        importance-weighted bound on log p(x) (>= heldout_elbo_nats in
        expectation, and tighter as k grows).
    """
    shape = getattr(model, "observation_shape", None)
    observations = _as_batch("observations", observations, shape, minimum=2)
    heldout = _as_batch("heldout", heldout, observations.shape[1:], minimum=1)
    batch_size = _positive("batch_size", batch_size)
    posterior_samples = _positive("posterior_samples", posterior_samples, minimum=2)
    marginal_samples = _positive("marginal_samples", marginal_samples, minimum=2)
    iw_samples = _positive("iw_samples", iw_samples)
    reconstruction_samples = _positive("reconstruction_samples", reconstruction_samples)
    tc_sample_size = _positive("tc_sample_size", tc_sample_size, minimum=2)
    if dataset_size is not None:
        dataset_size = _positive(
            "dataset_size", dataset_size, minimum=min(tc_sample_size, len(observations))
        )

    latent_dim, sampled = _check_samples(model, posterior_samples, observations[:2])

    def batch_stats(scored: Any):
        @tf.function
        def stats(x: tf.Tensor, s: tf.Tensor) -> dict[str, tf.Tensor]:
            terms = posterior_terms(scored, x, posterior_samples, reconstruction_samples, s)
            corr = ps.correlation_from_covariance(terms["covariance"])
            return {
                "mean": terms["mean"],
                "covariance_sum": tf.reduce_sum(terms["covariance"], axis=0),
                "abs_corr": ps.mean_abs_off_diagonal(corr),
                "abs_corr_sum": tf.reduce_sum(tf.abs(corr), axis=0),
                "corr_sum": tf.reduce_sum(corr, axis=0),
                "tc": ps.gaussian_total_correlation(terms["covariance"]),
                "kl": terms["kl"],
                "kl_per_latent": terms["kl_per_latent"],
                "recon": terms["reconstruction_nll"],
                "elbo": terms["elbo"],
            }

        return stats

    last = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        if timings is not None:
            timings[name] = now - last
        last = now

    blocks = _batches(len(observations), batch_size)
    seeds = _seeds(seed, _STATS, len(blocks))
    # The draws behind each sampled mean code (posterior_terms), for the noise correction.
    draws = max(posterior_samples, reconstruction_samples) if sampled else None

    def run(
        scored: Any, active: np.ndarray | None = None
    ) -> tuple[list[dict[str, np.ndarray]], dict[str, Any], np.ndarray]:
        """`(per batch, scores, active latents)` of `scored`; `active`: the latents the
        active-pair correlation averages over (None: its own; the noise floor takes the
        model's)."""
        stats = batch_stats(scored)
        per_batch = [
            {
                key: value.numpy().astype(np.float64)
                for key, value in stats(
                    tf.constant(observations[block]), tf.constant(seeds[k])
                ).items()
            }
            for k, block in enumerate(blocks)
        ]
        means = np.concatenate([b["mean"] for b in per_batch], axis=0)
        within = sum(b["covariance_sum"] for b in per_batch) / len(observations)
        activity = ps.mean_code_covariance(means, within if draws else None, draws)
        active = _active_latents(activity) if active is None else active
        floored = {
            "posterior_mean_abs_correlation": float(
                np.mean(np.concatenate([b["abs_corr"] for b in per_batch]))
            ),
            "posterior_gaussian_total_correlation_nats": float(
                np.mean(np.concatenate([b["tc"] for b in per_batch]))
            ),
            "posterior_mean_abs_correlation_active": _mean_abs_over_active(
                sum(b["abs_corr_sum"] for b in per_batch) / len(observations), active
            ),
            "active_units": float(ps.active_units_from_covariance(activity)),
            "active_directions": float(ps.active_directions(activity)),
        }
        return per_batch, floored, active

    per_batch, floored, model_active = run(model)
    _, floor, _ = run(_IndependentGaussian(model, latent_dim, sampled), model_active)

    def cat(key: str) -> np.ndarray:
        return np.concatenate([b[key] for b in per_batch], axis=0)

    means = cat("mean")
    lap("posterior_terms")
    aggregate = unsupervised(means)
    lap("aggregate_gaussian")

    subset_size = min(tc_sample_size, len(observations))
    order = np.random.default_rng(_seeds(seed, _TC_SUBSET, 1)[0].tolist()).permutation(
        len(observations)
    )
    aggregate_tc = _aggregate_total_correlation(
        model,
        observations[np.sort(order[:subset_size])],
        batch_size=batch_size,
        posterior_samples=marginal_samples,
        dataset_size=dataset_size,
        seed=seed,
    )
    lap("aggregate_tc")

    @tf.function
    def heldout_bounds(x: tf.Tensor, s: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return importance_weighted_bound(model, x, iw_samples, s)

    held_blocks = _batches(len(heldout), batch_size)
    held_seeds = _seeds(seed, _HELDOUT, len(held_blocks))
    bounds = [
        heldout_bounds(tf.constant(heldout[block]), tf.constant(held_seeds[k]))
        for k, block in enumerate(held_blocks)
    ]
    iw = np.concatenate([b[0].numpy() for b in bounds]).astype(np.float64)
    heldout_elbo = np.concatenate([b[1].numpy() for b in bounds]).astype(np.float64)
    lap("heldout_iw")

    return {
        **floored,
        **{key + NOISE_FLOOR_SUFFIX: floor[key] for key in NOISE_FLOOR_KEYS},
        "posterior_correlation_matrix": (
            sum(b["corr_sum"] for b in per_batch) / len(observations)
        ).tolist(),
        "aggregate_gaussian_total_correlation": float(aggregate["gaussian_total_correlation"]),
        "aggregate_gaussian_wasserstein_correlation": float(
            aggregate["gaussian_wasserstein_correlation"]
        ),
        "aggregate_gaussian_wasserstein_correlation_norm": float(
            aggregate["gaussian_wasserstein_correlation_norm"]
        ),
        "aggregate_total_correlation_nats": aggregate_tc,
        "rate_nats": float(np.mean(cat("kl"))),
        "rate_per_latent_nats": np.mean(cat("kl_per_latent"), axis=0).tolist(),
        "reconstruction_nll_nats": float(np.mean(cat("recon"))),
        "elbo_nats": float(np.mean(cat("elbo"))),
        "heldout_elbo_nats": float(np.mean(heldout_elbo)),
        "iw_log_likelihood_nats": float(np.mean(iw)),
    }


def _active_latents(activity: object) -> np.ndarray:
    """Indices of the latents with Var_x E[z|x] > 0.01 (`activity`: Cov_x E[z|x], `[D, D]`)."""
    return np.flatnonzero(np.diag(np.asarray(activity)) > ACTIVITY_THRESHOLD)


def _mean_abs_over_active(mean_abs_corr: np.ndarray, active: np.ndarray) -> float | dict:
    """Mean |corr(z_i, z_j | x)| over pairs of the `active` latents; absent without a pair.

    `mean_abs_corr [D, D]`: E_x |corr(z|x)|. Inactive latents sit at the
    prior and are uncorrelated by construction, so an average over all pairs
    dilutes what the active ones do; this one does not.
    """
    if active.size < 2:
        return absent("fewer than two active latents")
    block = np.asarray(mean_abs_corr)[np.ix_(active, active)]
    return float(block[~np.eye(active.size, dtype=bool)].mean())


def _check_samples(model: Any, posterior_samples: int, probe: np.ndarray) -> tuple[int, bool]:
    """`(latent_dim, sampled)` of the model's posterior; sampled families need S > D draws
    for an invertible sample covariance."""
    posterior = model.encode(tf.constant(probe))
    latent_dim = int(posterior.sample_and_log_prob(1, np.zeros(2, np.int32))[0].shape[-1])
    if _is_closed_form(posterior):
        return latent_dim, False
    if posterior_samples <= latent_dim:
        raise UserInputError(
            f"latent_scores: posterior_samples: expected more than the {latent_dim} latents "
            f"for a sampled posterior family (its correlation needs an invertible sample "
            f"covariance), got {posterior_samples}"
        )
    return latent_dim, True
