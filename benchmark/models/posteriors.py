"""Posterior families q(z|x): diagonal Gaussian, full-covariance Gaussian and IAF.

A *family* is a Keras layer that turns encoder features `[N, F]` into a
*posterior object* for that batch. Families are registered in `POSTERIORS`
under "diagonal", "full_covariance" and "iaf"; `make_family(name, ...)`
builds one.

Every posterior object answers the same questions (N inputs, D latents,
S samples; densities in nats):

- `sample_and_log_prob(num_samples, seed) -> (z [S, N, D], log_q [S, N])`
- `mean() -> [N, D]` and `covariance() -> [N, D, D]`
- `log_prob(z) -> [..., N]` for `z` broadcastable to `[..., N, D]`
- `marginal_log_prob(z) -> [..., N, D]`: log q(z_d | x) per latent, the
  densities of the product of marginals in total-correlation estimators
- `kl_to_standard_normal(num_samples=None, seed=None) -> [N]`: KL(q || N(0, I))
- `kl_per_latent() -> [N, D]` or `None` where the KL does not split by latent
  (only the diagonal family splits it).

`seed` is always a stateless seed: a Python int or a shape-[2] int32 tensor,
so the same seed draws the same numbers inside and outside `tf.function`.

The families:

- `diagonal` (`DiagonalGaussian`): `MultivariateNormalDiag(mu, sigma)` with
  `sigma = exp(log_var / 2)`, as disentanglement_lib parameterises it. Mean,
  covariance, density and KL are closed form.
- `full_covariance` (`FullCovarianceGaussian`): the linear IAF of Kingma et
  al. (2016), `z = mu + L diag(sigma) eps` with `L` unit lower-triangular,
  i.e. `MultivariateNormalTriL(mu, L diag(sigma))`. `mu` and `sigma` come
  from the same `(mu, log sigma^2)` head as the diagonal family; the
  `D (D - 1) / 2` strictly-lower entries of `L` come from a second Dense
  head whose kernel and bias start at zero, so at initialisation `L = I` and
  the family *is* the diagonal one (same samples for the same noise, same
  log q and KL); any correlation is learned. Closed-form moments and KL
  (`log det = 2 sum_d log sigma_d`); the marginal of latent d is
  `Normal(mu_d, sqrt(Sigma_dd))`.
- `iaf` (`IAFPosterior`): a diagonal Gaussian base followed by K steps of
  `tfb.Invert(tfb.MaskedAutoregressiveFlow)` whose `tfb.AutoregressiveNetwork`
  is conditioned on the encoder's feature vector (the context `h` of Kingma
  et al. 2016); consecutive steps alternate the autoregressive order. Each
  step's log-scale is bounded softly, `b * tanh(raw / b)` with `b = 3`, so the
  sequential inverse used by `log_prob` cannot overflow: an unbounded
  `exp(log_scale)` made intermediate iterates of that inverse infinite, and
  `inf * 0` in the masked layers turned whole rows into NaN. The output
  layer of every autoregressive network (its masked kernel and bias, and the
  kernel of its context input) starts at zero, so each step is the identity
  (shift 0, log-scale 0, log-det 0) at initialisation and the family starts
  as the diagonal one; the hidden layers keep their random start, so the
  gradients of the output layer are not zero. The masks stay variable
  constraints of TFP's network.
  Samples and their log-density come from `experimental_sample_and_log_prob`
  (one parallel pass). `mean()` and `covariance()` are Monte Carlo estimates
  from `moment_samples` draws (default 64, fixed seed 0 unless one is given),
  i.e. the posterior mean E[z|x] itself, not the flow applied to the base
  mean (evaluation codes use 1,000 draws of per-input noise instead, see
  `benchmark.models.representation`). `kl_to_standard_normal` is the Monte Carlo average of
  `log q(z|x) - log N(z; 0, I)` over `kl_samples` draws. `log_prob(z)` at an
  arbitrary point runs the sequential inverse (D passes of each network,
  unrolled in the graph: 1.5x faster than TFP's `tf.while_loop` in
  beta-TCVAE's training step).
  There is no closed form for the marginals q(z_d|x): `marginal_log_prob`
  moment-matches one Gaussian per input and latent from the
  `moment_samples` draws (an approximation, used only by beta-TCVAE's
  product of marginals).

References: Kingma, Salimans, Jozefowicz, Chen, Sutskever, Welling (2016),
"Improved variational inference with inverse autoregressive flow", NeurIPS.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from benchmark.errors import ArgumentError
from benchmark.models import arguments as check
from benchmark.registry import Registry
from benchmark.tf_quiet import import_tensorflow, import_tfp

tf = import_tensorflow()
tfp = import_tfp()
import tf_keras  # noqa: E402  (after the quiet TensorFlow import)

tfd = tfp.distributions
tfb = tfp.bijectors

__all__ = [
    "FAMILY_OPTION_NAMES",
    "POSTERIORS",
    "FamilyOption",
    "DiagonalFamily",
    "DiagonalGaussian",
    "FullCovarianceFamily",
    "FullCovarianceGaussian",
    "IAFFamily",
    "IAFPosterior",
    "IdentityStartMADE",
    "Posterior",
    "PosteriorFamily",
    "family_options",
    "log_standard_normal",
    "make_family",
    "stateless_seed",
]

LOG_SCALE_BOUND = 3.0
# The widest hidden layer an IAF step's network may have (as the encoder's and decoder's).
MAX_HIDDEN_UNITS = 16384
_LOG_2PI = math.log(2.0 * math.pi)

POSTERIORS: Registry[type[PosteriorFamily]] = Registry("posterior family")


def stateless_seed(seed: int | tf.Tensor | None) -> tf.Tensor:
    """A shape-[2] int32 stateless seed from an int (or None -> 0) or a seed tensor."""
    if seed is None:
        seed = 0
    if isinstance(seed, int):
        return tf.constant([seed % (2**31), 0], dtype=tf.int32)
    return tf.cast(tf.convert_to_tensor(seed), tf.int32)


def log_standard_normal(z: tf.Tensor) -> tf.Tensor:
    """log N(z; 0, I) in nats, summed over the last axis: `[..., D] -> [...]`."""
    d = tf.cast(tf.shape(z)[-1], z.dtype)
    return -0.5 * (tf.reduce_sum(tf.square(z), axis=-1) + d * _LOG_2PI)


class Posterior(abc.ABC):
    """q(z|x) for a batch of N inputs over D latents (see the module docstring)."""

    #: True when `kl_to_standard_normal` is exact (no sampling).
    closed_form_kl: bool = True
    #: Monte Carlo draws of the KL in training when it is not in closed form.
    kl_samples: int = 1

    @property
    @abc.abstractmethod
    def latent_dim(self) -> int:
        """D, the number of latents."""

    @abc.abstractmethod
    def sample_and_log_prob(
        self, num_samples: int, seed: int | tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """`(z [S, N, D], log q(z|x) [S, N])`, reparameterised (gradients flow)."""

    @abc.abstractmethod
    def sample_from_noise(self, noise: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """`(z [S, N, D], log q(z|x) [S, N])` for given standard-normal noise `[S, N, D]`.

        The reparameterisation itself: `sample_and_log_prob` is this map applied
        to noise drawn from its seed, so callers that need noise of their own
        (one stream per input, common noise across families) pass it here.
        """

    @abc.abstractmethod
    def mean(self, num_samples: int | None = None, seed: int | tf.Tensor | None = None):
        """E[z|x], `[N, D]` (arguments used only by sample-based families)."""

    @abc.abstractmethod
    def covariance(self, num_samples: int | None = None, seed: int | tf.Tensor | None = None):
        """Cov[z|x], `[N, D, D]` (arguments used only by sample-based families)."""

    @abc.abstractmethod
    def log_prob(self, z: tf.Tensor) -> tf.Tensor:
        """log q(z|x) in nats for `z` broadcastable to `[..., N, D]`: `[..., N]`."""

    @abc.abstractmethod
    def marginal_log_prob(
        self, z: tf.Tensor, num_samples: int | None = None, seed: int | tf.Tensor | None = None
    ) -> tf.Tensor:
        """log q(z_d|x) per latent, `[..., N, D]` for `z` broadcastable to `[..., N, D]`."""

    @abc.abstractmethod
    def kl_to_standard_normal(
        self, num_samples: int | None = None, seed: int | tf.Tensor | None = None
    ) -> tf.Tensor:
        """KL(q(z|x) || N(0, I)) in nats, `[N]`."""

    def kl_per_latent(self) -> tf.Tensor | None:
        """KL split over latents `[N, D]` (nats) where it splits; otherwise None."""
        return None

    def kl_from_samples(self, z: tf.Tensor, log_q: tf.Tensor) -> tf.Tensor:
        """KL `[N]`: closed form, or for sampled families the mean over the given draws.

        `z [S, N, D]` and `log_q [S, N]` come from `sample_and_log_prob`; a
        training step reuses its reconstruction draws this way.
        """
        if self.closed_form_kl:
            return self.kl_to_standard_normal()
        return tf.reduce_mean(log_q - log_standard_normal(z), axis=0)


class _GaussianPosterior(Posterior):
    """A Gaussian q(z|x): mean `loc [N, D]`, density and draws from `distribution`.

    Subclasses set `self.loc` and `self.distribution` (a TFP multivariate
    normal) and give the covariance, marginals and closed-form KL.
    """

    loc: tf.Tensor
    distribution: tfd.Distribution

    @property
    def latent_dim(self) -> int:
        return int(self.loc.shape[-1])

    def sample_and_log_prob(self, num_samples, seed):
        return self.distribution.experimental_sample_and_log_prob(
            num_samples, seed=stateless_seed(seed)
        )

    def mean(self, num_samples=None, seed=None):
        return self.loc

    def log_prob(self, z):
        return self.distribution.log_prob(z)

    @abc.abstractmethod
    def _scale_noise(self, noise: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """`(A eps [S, N, D], log |det A| [N])` for the scale matrix A of q(z|x)."""

    def sample_from_noise(self, noise):
        noise = tf.convert_to_tensor(noise, dtype=self.loc.dtype)
        scaled, log_det = self._scale_noise(noise)
        return self.loc + scaled, log_standard_normal(noise) - log_det


class DiagonalGaussian(_GaussianPosterior):
    """q(z|x) = N(mu, diag(sigma^2)), `sigma = exp(log_variance / 2)`.

    KL(q || N(0, I)) = 1/2 sum_d (mu_d^2 + sigma_d^2 - 1 - log sigma_d^2).
    """

    def __init__(self, loc: tf.Tensor, log_variance: tf.Tensor) -> None:
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

    def kl_per_latent(self):
        return 0.5 * (tf.square(self.loc) + tf.exp(self.log_variance) - 1.0 - self.log_variance)

    def kl_to_standard_normal(self, num_samples=None, seed=None):
        return tf.reduce_sum(self.kl_per_latent(), axis=-1)


class FullCovarianceGaussian(_GaussianPosterior):
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

    def kl_to_standard_normal(self, num_samples=None, seed=None):
        d = tf.cast(self.latent_dim, self.loc.dtype)
        log_det = 2.0 * tf.reduce_sum(tf.math.log(tf.linalg.diag_part(self.scale_tril)), axis=-1)
        trace = tf.reduce_sum(tf.square(self.scale_tril), axis=[-2, -1])
        return 0.5 * (trace + tf.reduce_sum(tf.square(self.loc), axis=-1) - d - log_det)


class IAFPosterior(Posterior):
    """q(z|x): a diagonal Gaussian pushed through K conditioned IAF steps.

    `z_0 ~ N(mu, diag(sigma^2))`, then step k maps `z_{k-1}` to
    `z_k = (z_{k-1} - m_k(z_{k-1}, h)) * exp(-s_k(z_{k-1}, h))` (the inverse of a
    masked autoregressive flow), so `log q(z_K|x) = log N(z_0) + sum_k sum_d s_k`.
    Moments, marginals and KL are estimated from samples (module docstring).
    """

    closed_form_kl = False

    def __init__(
        self,
        loc: tf.Tensor,
        log_variance: tf.Tensor,
        context: tf.Tensor,
        networks: Sequence[tf_keras.layers.Layer],
        *,
        kl_samples: int = 1,
        moment_samples: int = 64,
    ) -> None:
        self.loc = loc
        self.log_variance = log_variance
        self.context = context
        self.kl_samples = int(kl_samples)
        self.moment_samples = int(moment_samples)
        self.networks = list(networks)
        base = tfd.MultivariateNormalDiag(loc=loc, scale_diag=tf.exp(0.5 * log_variance))
        steps = [
            tfb.Invert(
                tfb.MaskedAutoregressiveFlow(
                    shift_and_log_scale_fn=_bounded_made(network), unroll_loop=True
                ),
                name=f"iaf_step_{k}",
            )
            for k, network in enumerate(networks)
        ]
        # Chain applies its last bijector first: step 0 acts on the base draw.
        self.distribution = tfd.TransformedDistribution(base, tfb.Chain(steps[::-1]))
        self._bijector_kwargs = {s.name: {"conditional_input": context} for s in steps}

    @property
    def latent_dim(self) -> int:
        return int(self.loc.shape[-1])

    def sample_and_log_prob(self, num_samples, seed):
        return self.distribution.experimental_sample_and_log_prob(
            num_samples, seed=stateless_seed(seed), bijector_kwargs=self._bijector_kwargs
        )

    def sample_from_noise(self, noise):
        noise = tf.convert_to_tensor(noise, dtype=self.loc.dtype)
        base = self.distribution.distribution
        scale = tf.exp(0.5 * self.log_variance)
        z0 = self.loc + scale * noise
        flow = self.distribution.bijector
        z = flow.forward(z0, **self._bijector_kwargs)
        log_det = flow.forward_log_det_jacobian(z0, event_ndims=1, **self._bijector_kwargs)
        return z, base.log_prob(z0) - log_det

    def _moment_draws(self, num_samples, seed) -> tf.Tensor:
        z, _ = self.sample_and_log_prob(num_samples or self.moment_samples, seed)
        return z

    def mean(self, num_samples=None, seed=None):
        return tf.reduce_mean(self._moment_draws(num_samples, seed), axis=0)

    def covariance(self, num_samples=None, seed=None):
        z = self._moment_draws(num_samples, seed)
        centred = z - tf.reduce_mean(z, axis=0)
        count = tf.cast(tf.shape(z)[0] - 1, z.dtype)
        return tf.einsum("snd,sne->nde", centred, centred) / count

    def log_prob(self, z):
        # The sequential inverse keeps its loop state at one shape: broadcast first.
        z = tf.convert_to_tensor(z, dtype=self.loc.dtype) + tf.zeros_like(self.loc)
        return self.distribution.log_prob(z, bijector_kwargs=self._bijector_kwargs)

    def marginal_log_prob(self, z, num_samples=None, seed=None):
        draws = self._moment_draws(num_samples, seed)
        mean, variance = tf.nn.moments(draws, axes=[0])
        return tfd.Normal(mean, tf.sqrt(variance + 1e-12)).log_prob(z)

    def kl_to_standard_normal(self, num_samples=None, seed=None):
        z, log_q = self.sample_and_log_prob(num_samples or self.kl_samples, seed)
        return tf.reduce_mean(log_q - log_standard_normal(z), axis=0)


def _bounded_made(network: tf_keras.layers.Layer):
    """`shift_and_log_scale_fn` for a conditional MADE, with a soft log-scale bound.

    The context `[..., N, F]` gets leading ones so it broadcasts against the
    MADE's input `[S, N, D]` along N (not along S).
    """

    def shift_and_log_scale(x: tf.Tensor, conditional_input: tf.Tensor):
        context = conditional_input
        extra = x.shape.rank - context.shape.rank
        if extra > 0:
            context = tf.reshape(context, [1] * extra + tf.unstack(tf.shape(context)))
        params = network(x, conditional_input=context)
        shift, raw = tf.unstack(params, num=2, axis=-1)
        return shift, LOG_SCALE_BOUND * tf.tanh(raw / LOG_SCALE_BOUND)

    return shift_and_log_scale


def _count(layers: Sequence[tf_keras.layers.Layer]) -> int:
    """Free trainable parameters of built layers: every entry of their trainable
    variables, less the kernel entries a MADE mask (a kernel constraint) holds at zero."""
    total = 0
    for layer in layers:
        total += sum(int(np.prod(v.shape)) for v in layer.trainable_variables)
        for module in layer.submodules:
            constraint = getattr(module, "kernel_constraint", None)
            kernel = getattr(module, "kernel", None)
            if constraint is not None and kernel is not None:
                masked = constraint(tf.ones_like(kernel)).numpy()
                total -= int(masked.size - np.count_nonzero(masked))
    return total


@dataclass(frozen=True)
class FamilyOption:
    """One option a posterior family takes: its default and its check (`check(name, value)`)."""

    default: object
    check: Callable[[str, object], object]


class PosteriorFamily(tf_keras.layers.Layer, abc.ABC):
    """A head from encoder features `[N, F]` to a `Posterior` (call `posterior(features)`).

    A family declares the options it takes in `options` (name -> default and
    check); `make_family` passes them to its constructor as keywords, and an
    option it does not declare is an error, never silently ignored.
    `context_dim` is the width F of the encoder features.
    """

    options: ClassVar[Mapping[str, FamilyOption]] = {}

    def __init__(self, latent_dim: int, context_dim: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.context_dim = context_dim

    @abc.abstractmethod
    def posterior(self, features: tf.Tensor) -> Posterior:
        """The posterior object for a batch of encoder features."""

    @abc.abstractmethod
    def parameter_counts(self) -> dict[str, int]:
        """Free trainable parameters once built: `posterior_head` (the `(mu, log sigma^2)`
        head every family shares) and `flow` (what makes q(z|x) correlated: the
        off-diagonal head of `full_covariance`, the autoregressive networks of `iaf`)."""


@POSTERIORS.register("diagonal")
class DiagonalFamily(PosteriorFamily):
    """Dense head emitting `(mu, log sigma^2)`, `2 D` numbers."""

    def __init__(self, latent_dim: int, **kwargs) -> None:
        super().__init__(latent_dim, **kwargs)
        self.head = tf_keras.layers.Dense(2 * self.latent_dim, name="mean_log_variance")

    def posterior(self, features):
        loc, log_variance = tf.split(self.head(features), 2, axis=-1)
        return DiagonalGaussian(loc, log_variance)

    def parameter_counts(self) -> dict[str, int]:
        return {"posterior_head": _count([self.head]), "flow": 0}


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
        return {"posterior_head": _count([self.head]), "flow": _count(flow)}


@POSTERIORS.register("iaf")
class IAFFamily(PosteriorFamily):
    """Diagonal base head plus `iaf_steps` conditional MADEs (`iaf_hidden_units`, ReLU).

    Options: `iaf_steps` K (2) and the hidden widths of each step's network
    (`iaf_hidden_units`, (64, 64)); `kl_samples`, the Monte Carlo draws of the
    KL in training (1); `moment_samples`, the draws for means, covariances and
    marginals (64).
    """

    options = {
        "iaf_steps": FamilyOption(2, check.bounded_int(1, 64)),
        "iaf_hidden_units": FamilyOption(
            (64, 64), lambda name, value: check.positive_int_list(name, value, MAX_HIDDEN_UNITS)
        ),
        "kl_samples": FamilyOption(1, check.bounded_int(1, 4096)),
        "moment_samples": FamilyOption(64, check.bounded_int(2, 1_000_000)),
    }

    def __init__(
        self,
        latent_dim: int,
        *,
        iaf_steps: int = 2,
        iaf_hidden_units: Sequence[int] = (64, 64),
        context_dim: int,
        kl_samples: int = 1,
        moment_samples: int = 64,
        **kwargs,
    ) -> None:
        super().__init__(latent_dim, **kwargs)
        self.kl_samples = int(kl_samples)
        self.moment_samples = int(moment_samples)
        self.head = tf_keras.layers.Dense(2 * self.latent_dim, name="base_mean_log_variance")
        self.networks = [
            IdentityStartMADE(
                params=2,
                event_shape=[self.latent_dim],
                hidden_units=[int(u) for u in iaf_hidden_units],
                conditional=True,
                conditional_event_shape=[int(context_dim)],
                input_order="left-to-right" if k % 2 == 0 else "right-to-left",
                activation="relu",
                name=f"made_{k}",
            )
            for k in range(int(iaf_steps))
        ]

    def posterior(self, features):
        loc, log_variance = tf.split(self.head(features), 2, axis=-1)
        return IAFPosterior(
            loc,
            log_variance,
            features,
            self.networks,
            kl_samples=self.kl_samples,
            moment_samples=self.moment_samples,
        )

    def parameter_counts(self) -> dict[str, int]:
        return {"posterior_head": _count([self.head]), "flow": _count(self.networks)}


class IdentityStartMADE(tfb.AutoregressiveNetwork):
    """TFP's conditional MADE whose output layer starts at zero (shift 0, log-scale 0).

    After TFP builds the network (hidden layers drawn by their initialiser,
    masks as kernel constraints), the layers that feed the output (the masked
    output Dense and, when conditional, the context's Dense into it) are set
    to zero, so the IAF step is the identity at initialisation.
    """

    def build(self, input_shape):
        super().build(input_shape)
        output = self._network.layers[-1]
        if isinstance(output, tf_keras.layers.Add):
            feeding = output.inbound_nodes[0].inbound_layers
            feeding = feeding if isinstance(feeding, list | tuple) else [feeding]
        else:
            feeding = [output]
        for layer in feeding:
            for variable in layer.trainable_weights:
                variable.assign(tf.zeros_like(variable))


def family_options(name: str, given: Mapping[str, object]) -> dict[str, object]:
    """Every option of family `name`: the `given` ones checked, the others at their defaults.

    An option the family does not declare raises `ArgumentError` naming it and
    what the family takes; an unknown family raises `UserInputError`.
    """
    family = POSTERIORS.get(name)
    for key in given:
        if key not in family.options:
            takes = ", ".join(family.options) or "no options"
            users = [n for n in POSTERIORS.names() if key in POSTERIORS.get(n).options]
            detail = (
                f"not used by posterior family {name!r} (it takes {takes}); "
                f"{key!r} is an option of {' and '.join(repr(u) for u in users) or 'no family'}"
            )
            raise ArgumentError(f"{key}: {detail}", argument=key, detail=detail)
    return {
        key: option.check(key, given[key]) if key in given else option.default
        for key, option in family.options.items()
    }


def make_family(
    name: str, latent_dim: int, *, context_dim: int, **options: object
) -> PosteriorFamily:
    """The family registered as `name`, with its declared `options` (see `family_options`).

    Unknown names raise `UserInputError` listing the registered families.
    """
    family = POSTERIORS.get(name)
    resolved = family_options(name, options)
    return family(latent_dim, context_dim=context_dim, name="posterior", **resolved)


def _option_names() -> tuple[str, ...]:
    names: dict[str, None] = {}
    for family in POSTERIORS.names():
        names.update(dict.fromkeys(POSTERIORS.get(family).options))
    return tuple(names)


# Every option some family takes (a model entry accepts them and passes them on).
FAMILY_OPTION_NAMES = _option_names()
