"""Inference gaps of a posterior family (Cremer, Li, Duvenaud 2018), in nats.

For each held-out image x:

- ELBO(q): the amortised posterior q(z|x) the encoder gives;
- ELBO(q*): the same family fitted to x alone, starting from the encoder's
  output and run with Adam until the image's ELBO stops improving. The free
  parameters are, per family: diagonal, the mean and log-variance;
  full covariance, the mean and the Cholesky factor (log of its diagonal,
  its strictly lower part); IAF, the base mean, base log-variance and the
  context vector h, with the flow networks fixed, which makes q* a
  *semi-amortised* optimum (the networks are shared by all images);
- log p(x): the importance-weighted bound (Burda et al. 2016) with k draws
  from q* as the proposal, a lower bound on log p(x) that tightens as k grows;
- approximation gap = log p(x) - ELBO(q*), amortisation gap
  = ELBO(q*) - ELBO(q); means over images with standard errors.

ELBO(q) and ELBO(q*) use the same `eval_samples` draws of the base noise
(common random numbers), and q* keeps the best parameters seen under those
draws, starting from q itself: so ELBO(q*) >= ELBO(q) by construction, and
its value carries a small upward selection bias (it shrinks as
`eval_samples` grows). The Gaussian families' KL term is closed form, IAF's
is the Monte Carlo mean of log q - log p over the same draws.

A negative approximation gap beyond its standard error means the bound on
log p(x) is too loose (k too small) or q* overshot: it is reported in
`approximation_gap_check_failed` (1.0), never clipped.

References:
  Cremer, Li, Duvenaud (2018). Inference Suboptimality in Variational
    Autoencoders. ICML.
  Burda, Grosse, Salakhutdinov (2016). Importance Weighted Autoencoders. ICLR.
  Kim, Wiseman, Miller, Sontag, Rush (2018). Semi-Amortized Variational
    Autoencoders. ICML.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmark.models.objectives import bernoulli_nll
from benchmark.models.posteriors import Posterior, log_standard_normal
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

__all__ = [
    "GAP_KEYS",
    "free_parameters",
    "gap_summary",
    "inference_gaps",
    "model_log_likelihood",
]

LogLikelihood = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]

GAP_KEYS = (
    "gap_log_px_nats",
    "gap_log_px_se_nats",
    "gap_elbo_q_nats",
    "gap_elbo_qstar_nats",
    "approximation_gap_nats",
    "approximation_gap_se_nats",
    "amortisation_gap_nats",
    "amortisation_gap_se_nats",
    "approximation_gap_check_failed",
    "gap_qstar_steps_mean",
    "gap_qstar_steps_max",
    "gap_qstar_at_cap_share",
    "gap_images",
)

_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8


def model_log_likelihood(model: Any, max_decode: int = 4096) -> LogLikelihood:
    """log p(x|z) `[S, N]` nats of a VAE for `x [N, *obs]`, `z [S, N, D]`, decoded in chunks."""

    def log_likelihood(x: tf.Tensor, z: tf.Tensor) -> tf.Tensor:
        s, n = z.shape[0], z.shape[1]
        chunk = max(1, max_decode // max(int(n), 1))
        parts = []
        for start in range(0, s, chunk):
            zs = z[start : start + chunk]
            logits = model.decode(tf.reshape(zs, [-1, zs.shape[-1]]))
            logits = tf.reshape(logits, [zs.shape[0], n, *logits.shape[1:]])
            parts.append(-bernoulli_nll(x, logits, event_ndims=len(x.shape) - 1))
        return tf.concat(parts, axis=0)

    return log_likelihood


def free_parameters(
    posterior: Posterior,
) -> tuple[dict[str, tf.Tensor], Callable[[dict[str, tf.Tensor]], Posterior]]:
    """`(parameters, build)`: the per-image free parameters of q (`[N, ...]` each) and the map back.

    What each family declares in `Posterior.local_parameters` (the IAF's flow
    networks stay fixed: semi-amortised). Raises TypeError for a family that
    declares none.
    """
    try:
        return posterior.local_parameters()
    except NotImplementedError as error:
        raise TypeError(f"inference gaps: {error}") from None


def _elbo(
    posterior: Posterior, x: tf.Tensor, log_likelihood: LogLikelihood, samples: int, seed
) -> tf.Tensor:
    """`[N]` ELBO estimate, nats: mean log p(x|z) over draws minus the KL (closed form if any)."""
    z, log_q = posterior.sample_and_log_prob(samples, seed)
    expected = tf.reduce_mean(log_likelihood(x, z), axis=0)
    if posterior.closed_form_kl:
        kl = posterior.kl_to_standard_normal()
    else:
        kl = tf.reduce_mean(log_q - log_standard_normal(z), axis=0)
    return expected - kl


def _iw_log_px(
    posterior: Posterior,
    x: tf.Tensor,
    log_likelihood: LogLikelihood,
    samples: int,
    chunk: int,
    seed: tf.Tensor,
) -> tf.Tensor:
    """`[N]` k-sample importance-weighted bound, log (1/k) sum_i p(x, z_i) / q(z_i | x)."""
    parts = []
    for c, start in enumerate(range(0, samples, chunk)):
        count = min(chunk, samples - start)
        s = tf.random.experimental.stateless_fold_in(seed, c)
        z, log_q = posterior.sample_and_log_prob(count, s)
        log_w = log_likelihood(x, z) + log_standard_normal(z) - log_q
        parts.append(tf.reduce_logsumexp(log_w, axis=0))
    return tf.reduce_logsumexp(tf.stack(parts), axis=0) - math.log(samples)


def _mean_se(values: np.ndarray) -> tuple[float, float]:
    n = len(values)
    se = float(np.std(values, ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return float(np.mean(values)), se


def _broadcast_mask(active: tf.Tensor, value: tf.Tensor) -> tf.Tensor:
    return tf.reshape(active, [-1] + [1] * (value.shape.rank - 1))


def inference_gaps(
    encode: Callable[[tf.Tensor], Posterior],
    log_likelihood: LogLikelihood,
    x: np.ndarray,
    *,
    seed: int,
    iw_samples: int = 5000,
    batch_images: int = 4096,
    steps: int = 500,
    learning_rate: float = 0.01,
    step_samples: int = 16,
    eval_samples: int = 500,
    check_every: int = 25,
    tolerance: float = 0.01,
) -> dict[str, float]:
    """The gaps of `encode`'s family on images `x [N, *obs]` (N >= 2), nats (module docstring).

    Args:
      encode: `x -> Posterior` (a `DiagonalGaussian`, `FullCovarianceGaussian`
        or `IAFPosterior`); the prior is N(0, I).
      log_likelihood: `(x [N, *obs], z [S, N, D]) -> [S, N]` log p(x|z), nats.
      seed: makes every draw reproducible.
      iw_samples: k of the bound on log p(x); draws are made
        `batch_images // N` at a time.
      steps, learning_rate, step_samples: Adam on q*: at most `steps`
        updates, each on the ELBO estimated from `step_samples` draws.
      eval_samples, check_every, tolerance: every `check_every` steps each
        image's ELBO is re-estimated from the fixed `eval_samples` draws; an
        image stops (its parameters stay at their best) once it gains less
        than `tolerance` nats over a check.

    Returns the keys `GAP_KEYS`: `gap_log_px_nats` (mean IW bound) and its
    standard error over images, `gap_elbo_q_nats`, `gap_elbo_qstar_nats`,
    the two gaps with standard errors, `approximation_gap_check_failed`
    (1.0 when the mean approximation gap is below -1 standard error),
    `gap_qstar_steps_mean` / `_max` (Adam steps taken per image),
    `gap_qstar_at_cap_share` (the share of images still gaining at least
    `tolerance` when the step cap `steps` ended them: their q* is the cap's, and
    the approximation gap is overstated by what they had left to gain) and
    `gap_images` (N).
    """
    x = tf.constant(np.asarray(x, np.float32))
    n = int(x.shape[0])
    if n < 2:
        raise ValueError(f"inference_gaps: need at least 2 images, got {n}")
    seeds = np.random.SeedSequence([int(seed), 7]).generate_state(6, np.uint32) % (2**31)
    eval_seed = tf.constant(seeds[0:2].astype(np.int32))
    step_seed = tf.constant(seeds[2:4].astype(np.int32))
    iw_seed = tf.constant(seeds[4:6].astype(np.int32))

    initial, build = free_parameters(encode(x))
    names = sorted(initial)
    initial = {k: tf.stop_gradient(tf.identity(v)) for k, v in initial.items()}

    @tf.function
    def evaluate(params: dict[str, tf.Tensor]) -> tf.Tensor:
        return _elbo(build(params), x, log_likelihood, eval_samples, eval_seed)

    @tf.function
    def adam_step(params, m, v, t, active):
        s = tf.random.experimental.stateless_fold_in(step_seed, t)
        with tf.GradientTape() as tape:
            tape.watch(list(params.values()))
            loss = -tf.reduce_sum(_elbo(build(params), x, log_likelihood, step_samples, s))
        grads = tape.gradient(loss, params)
        t1 = tf.cast(t + 1, tf.float32)
        new_p, new_m, new_v = {}, {}, {}
        for k in names:
            g = tf.where(tf.math.is_finite(grads[k]), grads[k], 0.0)
            mk = _BETA1 * m[k] + (1.0 - _BETA1) * g
            vk = _BETA2 * v[k] + (1.0 - _BETA2) * tf.square(g)
            update = (
                learning_rate
                * (mk / (1.0 - _BETA1**t1))
                / (tf.sqrt(vk / (1.0 - _BETA2**t1)) + _EPS)
            )
            mask = _broadcast_mask(active, params[k])
            new_p[k] = tf.where(mask, params[k] - update, params[k])
            new_m[k] = tf.where(mask, mk, m[k])
            new_v[k] = tf.where(mask, vk, v[k])
        return new_p, new_m, new_v

    params = dict(initial)
    m = {k: tf.zeros_like(v) for k, v in params.items()}
    v = {k: tf.zeros_like(p) for k, p in params.items()}
    elbo_q = evaluate(params).numpy().astype(np.float64)
    best_value = elbo_q.copy()
    best = {k: p.numpy() for k, p in params.items()}
    last_check = elbo_q.copy()
    active = np.ones(n, bool)
    steps_taken = np.zeros(n, np.int64)
    t = 0
    while t < steps and active.any():
        for _ in range(min(check_every, steps - t)):
            params, m, v = adam_step(params, m, v, tf.constant(t, tf.int64), tf.constant(active))
            t += 1
        steps_taken[active] = t
        value = evaluate(params).numpy().astype(np.float64)
        value = np.where(np.isfinite(value), value, -np.inf)
        better = active & (value > best_value)
        for k in names:
            best[k][better] = params[k].numpy()[better]
        best_value = np.where(better, value, best_value)
        active &= value - last_check >= tolerance
        last_check = np.where(active, value, last_check)

    optimum = build({k: tf.constant(best[k]) for k in names})
    chunk = max(1, batch_images // n)
    log_px = (
        _iw_log_px(optimum, x, log_likelihood, iw_samples, chunk, iw_seed)
        .numpy()
        .astype(np.float64)
    )
    return {
        **gap_summary(log_px, best_value, elbo_q),
        "gap_qstar_steps_mean": float(np.mean(steps_taken)),
        "gap_qstar_steps_max": float(np.max(steps_taken)),
        "gap_qstar_at_cap_share": float(np.mean(active & (steps_taken >= steps))),
    }


def gap_summary(log_px: np.ndarray, elbo_qstar: np.ndarray, elbo_q: np.ndarray) -> dict[str, float]:
    """Means and standard errors over images of `[N]` per-image log p(x), ELBO(q*), ELBO(q), nats.

    `approximation_gap_check_failed` is 1.0 when the mean approximation gap
    is negative by more than its standard error (reported, never clipped).
    """
    approximation = log_px - elbo_qstar
    amortisation = elbo_qstar - elbo_q
    log_px_mean, log_px_se = _mean_se(log_px)
    approx_mean, approx_se = _mean_se(approximation)
    amort_mean, amort_se = _mean_se(amortisation)
    return {
        "gap_log_px_nats": log_px_mean,
        "gap_log_px_se_nats": log_px_se,
        "gap_elbo_q_nats": float(np.mean(elbo_q)),
        "gap_elbo_qstar_nats": float(np.mean(elbo_qstar)),
        "approximation_gap_nats": approx_mean,
        "approximation_gap_se_nats": approx_se,
        "amortisation_gap_nats": amort_mean,
        "amortisation_gap_se_nats": amort_se,
        "approximation_gap_check_failed": float(approx_mean < -approx_se),
        "gap_images": float(len(log_px)),
    }
