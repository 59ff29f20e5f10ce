"""Posterior families q(z|x): the interface every family answers, and their registry.

A *family* is a Keras layer that turns encoder features `[N, F]` into a
*posterior object* for that batch. Each family is one file in
`benchmark/models/families/` (`diagonal.py`, `full_covariance.py`,
`iaf.py`), registered with `@POSTERIORS.register("name")` and found the first
time the registry is used; `make_family(name, ...)` builds one with the
options it declares (`PosteriorFamily.options`).

Every posterior object answers the same questions (N inputs, D latents,
S samples; densities in nats):

- `sample_and_log_prob(num_samples, seed) -> (z [S, N, D], log_q [S, N])`
- `sample_from_noise(noise [S, N, D]) -> (z [S, N, D], log_q [S, N])`
- `mean() -> [N, D]` and `covariance() -> [N, D, D]`
- `log_prob(z) -> [..., N]` for `z` broadcastable to `[..., N, D]`
- `marginal_log_prob(z) -> [..., N, D]`: log q(z_d | x) per latent, the
  densities of the product of marginals in total-correlation estimators
- `kl_to_standard_normal(num_samples=None, seed=None) -> [N]`: KL(q || N(0, I))
- `kl_per_latent() -> [N, D]` or `None` where the KL does not split by latent
  (only the diagonal family splits it).

`seed` is always a stateless seed: a Python int or a shape-[2] int32 tensor,
so the same seed draws the same numbers inside and outside `tf.function`.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

import numpy as np

from benchmark.errors import ArgumentError
from benchmark.models.deferred_base import DeferredBase
from benchmark.registry import DiscoveredRegistry
from benchmark.settings import Setting
from benchmark.tf_quiet import lazy_tensorflow, lazy_tf_keras, lazy_tfp

tf = lazy_tensorflow()
tf_keras = lazy_tf_keras()

tfd = lazy_tfp("distributions")

__all__ = [
    "POSTERIORS",
    "GaussianPosterior",
    "Posterior",
    "PosteriorFamily",
    "count_free_parameters",
    "family_option_names",
    "family_options",
    "log_standard_normal",
    "make_family",
    "stateless_seed",
]

_LOG_2PI = math.log(2.0 * math.pi)

POSTERIORS: DiscoveredRegistry[type[PosteriorFamily]] = DiscoveredRegistry(
    "posterior family", "benchmark.models.families"
)


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

    def local_parameters(
        self,
    ) -> tuple[dict[str, tf.Tensor], Callable[[dict[str, tf.Tensor]], Posterior]]:
        """`(parameters, build)`: this batch's per-input parameters (`[N, ...]` each) and the map back.

        `build(parameters)` gives a posterior of the same family; what is
        shared across inputs (networks) stays fixed. Inference gaps optimise
        these per image (q*, Cremer et al. 2018) and the KL decomposition
        rebuilds posteriors from them. A family without them gets no gaps.
        """
        raise NotImplementedError(
            f"{type(self).__name__}: no per-input parameters (local_parameters) declared"
        )

    @property
    def training_kl_samples(self) -> int:
        """Draws of the Monte Carlo KL a training step uses; 0: the closed form.

        Sampled families (IAF) always use draws; a Gaussian family may be
        asked for them (`kl_samples` of `diagonal`), so that a family
        difference can be told from the KL estimator's.
        """
        return 0 if self.closed_form_kl else 1

    def kl_from_samples(self, z: tf.Tensor, log_q: tf.Tensor) -> tf.Tensor:
        """KL `[N]`: closed form, or for sampled families the mean over the given draws.

        `z [S, N, D]` and `log_q [S, N]` come from `sample_and_log_prob`; a
        training step reuses its reconstruction draws this way.
        """
        if self.closed_form_kl:
            return self.kl_to_standard_normal()
        return tf.reduce_mean(log_q - log_standard_normal(z), axis=0)


class GaussianPosterior(Posterior):
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


def count_free_parameters(layers: Sequence[tf_keras.layers.Layer]) -> int:
    """Free trainable parameters of built layers: every entry of their trainable
    variables, less the kernel entries a MADE mask (a kernel constraint) holds at zero."""
    total = 0
    for layer in layers:
        trainable = {id(v) for v in layer.trainable_variables}
        total += sum(int(np.prod(v.shape)) for v in layer.trainable_variables)
        for module in layer.submodules:
            constraint = getattr(module, "kernel_constraint", None)
            kernel = getattr(module, "kernel", None)
            if constraint is not None and kernel is not None and id(kernel) in trainable:
                masked = constraint(tf.ones_like(kernel)).numpy()
                total -= int(masked.size - np.count_nonzero(masked))
    return total


class PosteriorFamily(DeferredBase, abc.ABC):
    """A head from encoder features `[N, F]` to a `Posterior` (call `posterior(features)`).

    A family declares the options it takes in `options` (name -> `Setting`:
    default, check, what it does; `benchmark.settings.by_name`); `make_family` passes them to its constructor as keywords, and an
    option it does not declare is an error, never silently ignored.
    `context_dim` is the width F of the encoder features.
    """

    deferred_base = staticmethod(lambda: tf_keras.layers.Layer)

    options: ClassVar[Mapping[str, Setting]] = {}
    #: False for a family whose moments and KL are Monte Carlo estimates (IAF): its
    #: evaluation draws `posterior_samples` per input, which must exceed the latents.
    closed_form: ClassVar[bool] = True

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


def family_option_names() -> tuple[str, ...]:
    """Every option some registered family takes (a model entry accepts them and passes them on)."""
    names: dict[str, None] = {}
    for family in POSTERIORS.names():
        names.update(dict.fromkeys(POSTERIORS.get(family).options))
    return tuple(names)
