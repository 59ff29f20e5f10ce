"""`VAE`: the base class of every model entry (encoder, posterior family, decoder, ELBO terms).

A model entry subclasses `VAE` and overrides `regularizer(inputs)`, the part
of its loss beyond the reconstruction term; `benchmark.models.entries` holds
the built-in ones. Shapes: a batch `x` is `[N, *observation_shape]` float32
in [0, 1]; latents are `[..., N, D]`; every loss term is in nats per input
(averaged over the batch).

The public surface other parts use:

- `encode(x) -> Posterior` (see `benchmark.models.posteriors`)
- `decode(z) -> logits [..., *observation_shape]` (Bernoulli)
- `reconstruction_nll(x, z) -> [..., N]` nats
- `loss_terms(x, step, seed) -> (losses, terms)`: `losses` maps optimizer
  names ("vae", and "discriminator" for FactorVAE) to scalars, `terms` holds
  the scalars to log ("loss", "reconstruction", "kl", "elbo", the
  objective's own) and `kl_per_latent [D]` for diagonal posteriors
- `make_optimizers(learning_rate)` and `optimizer_variables()`: what the
  trainer updates, one Adam per optimizer name (the step that differentiates
  the losses and applies the gradients is `benchmark.training.step`)
- `heldout_terms(x, seed)`: the ELBO and its two terms on a held-out batch
- `initialize(seed)`: creates the variables (seeded), once.
- `set_precision(precision)`: before `initialize`, makes the networks compute
  in bfloat16 or float16 (`benchmark.models.precision`); `precision` and
  `loss_scale` (a `LossScale` under "mixed_float16", else None; the
  training step applies it) say which.
"""

from __future__ import annotations

import contextlib
import inspect
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

import numpy as np

from benchmark.errors import ArgumentError, UserInputError
from benchmark.models import arguments as check
from benchmark.models.deferred_base import DeferredBase
from benchmark.models.networks import (
    ARCHITECTURES,
    check_architecture,
    feature_dim,
    make_decoder,
    make_encoder,
)
from benchmark.models.objectives import bernoulli_nll
from benchmark.models.optimizers import Adam
from benchmark.models.posteriors import (
    POSTERIORS,
    Posterior,
    family_option_names,
    family_options,
    log_standard_normal,
    make_family,
)
from benchmark.models.precision import LossScale, check_precision, layer_policy
from benchmark.tf_quiet import lazy_tensorflow, lazy_tf_keras

tf = lazy_tensorflow()
tf_keras = lazy_tf_keras()

__all__ = ["MAX_LATENT_DIM", "MAX_WIDTH", "VAE", "LossInputs", "seeded_initialization"]

# Upper bounds of the size arguments. At D = 1024 latents the full-covariance head
# alone has 256 x (D + D (D + 1) / 2) = 135M weights (0.5 GB, 1.6 GB with Adam's
# moments); a layer of 16384 units after a 64 x 64 image has 67M. Larger models
# do not fit in memory, so they are refused when a task is loaded, not at step 0.
MAX_LATENT_DIM = 1024
MAX_WIDTH = 16384


def _posterior(name: str, value: object) -> str:
    try:
        POSTERIORS.get(value)  # type: ignore[arg-type]  # unknown names list the known ones
    except UserInputError as error:
        raise ArgumentError(str(error), argument=name, detail=str(error)) from None
    return value  # type: ignore[return-value]


def _architecture(name: str, value: object) -> str:
    if value not in ARCHITECTURES:
        detail = f"unknown {value!r}; allowed: {', '.join(ARCHITECTURES)}"
        raise ArgumentError(f"model argument {name!r}: {detail}", argument=name, detail=detail)
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class LossInputs:
    """What an objective's `regularizer` sees for one batch (nats, batch of N)."""

    x: tf.Tensor  # [N, *observation_shape]
    posterior: Posterior
    z: tf.Tensor  # [N, D], the draw the reconstruction used
    samples: tf.Tensor  # [S, N, D], all draws (S = kl_samples for IAF, else 1)
    log_q: tf.Tensor  # [S, N], log q(samples | x)
    kl: tf.Tensor  # [N], KL(q(z|x) || N(0, I)) (closed form, or Monte Carlo for IAF)
    reconstruction: tf.Tensor  # [N], -log p(x | z)
    step: tf.Tensor  # scalar float32: updates done before this one
    seed: tf.Tensor  # [2] int32 stateless seed for the objective's own draws


@contextlib.contextmanager
def seeded_initialization(seed: int) -> Iterator[None]:
    """Seeds TensorFlow and Keras's initializers; Python's and NumPy's global RNGs are restored."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    tf_keras.utils.set_random_seed(int(seed))
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


class VAE(DeferredBase):
    """Encoder trunk + posterior family + decoder with a Bernoulli likelihood.

    The loss is `mean reconstruction NLL + regularizer(inputs)`; the base
    regularizer is the mean KL, so `VAE` itself is the plain VAE. Arguments
    common to every entry:

    - posterior: "diagonal" | "full_covariance" | "iaf"
    - latent_dim: D (10)
    - architecture: "conv" (disentanglement_lib, 64x64 images) | "fc"
    - fc_width: width of the "fc" architecture's hidden layers (1200)
    - `**family_options`: the options of the posterior family, passed on to
      it (for "iaf": iaf_steps, iaf_hidden_units, kl_samples, moment_samples;
      each family declares its own in `PosteriorFamily.options`, with
      defaults). An option the chosen family does not take is an error (None
      leaves the family's default); `model_arguments` lists every option of
      every registered family as an argument of each entry.
    """

    deferred_base = staticmethod(lambda: tf_keras.Model)

    #: The name this class is registered under (set by `register_model`).
    entry_name: ClassVar[str] = ""
    #: How `build_model` built it (a `benchmark.models.registry.EntryConfig`), else None.
    entry_config = None
    #: q(z|x) has a density and a KL (an evaluation capability: `benchmark.evaluation.part`).
    has_density: ClassVar[bool] = True
    #: The value check of each argument this class adds (`check(name, value) -> value`).
    #: Subclasses declare their own; `check_arg` and `validate_args` read these, so
    #: `__init__` and the task loader run the same checks.
    argument_checks: ClassVar[Mapping[str, check.ArgumentCheck]] = {
        "posterior": _posterior,
        "latent_dim": check.bounded_int(1, MAX_LATENT_DIM),
        "architecture": _architecture,
        "fc_width": check.bounded_int(1, MAX_WIDTH),
    }

    @classmethod
    def var_keyword_names(cls) -> tuple[str, ...]:
        """What `__init__`'s `**family_options` takes: every option of every registered family."""
        return family_option_names()

    @classmethod
    def check_arg(cls, name: str, value: object) -> object:
        """`value` checked by the nearest class's declared check of `name` (as is if none)."""
        for klass in cls.__mro__:
            checks = vars(klass).get("argument_checks", {})
            if name in checks:
                return checks[name](name, value)
        return value

    @classmethod
    def validate_args(
        cls, observation_shape: Sequence[int] | None = None, **kwargs: object
    ) -> None:
        """Runs every declared check on `kwargs` without building a layer (cheap).

        With `observation_shape`, also checks that the architecture can take
        it (e.g. "conv" needs 64 x 64-like images). Raises `UserInputError`
        (an `ArgumentError` naming the argument where one is to blame).
        """
        option_names = family_option_names()
        options = {k: v for k, v in kwargs.items() if k in option_names and v is not None}
        for name, value in kwargs.items():
            if name not in option_names:
                cls.check_arg(name, value)
        posterior = kwargs.get("posterior", "diagonal")
        if isinstance(posterior, str) and posterior in POSTERIORS:
            family_options(posterior, options)  # options the family does not use are errors
        if observation_shape is not None:
            default = inspect.signature(VAE.__init__).parameters["architecture"].default
            architecture = kwargs.get("architecture", default)
            try:
                check_architecture(str(architecture), tuple(observation_shape))
            except UserInputError as error:
                raise ArgumentError(
                    str(error), argument="architecture", detail=str(error)
                ) from None

    def __init__(
        self,
        observation_shape: Sequence[int],
        *,
        posterior: str = "diagonal",
        latent_dim: int = 10,
        architecture: str = "conv",
        fc_width: int = 1200,
        **family_options: object,
    ) -> None:
        super().__init__(name=self.entry_name or "vae")
        self.observation_shape = tuple(
            check.positive_int("observation_shape", s) for s in observation_shape
        )
        self.posterior_name = self.check_arg("posterior", posterior)
        self.latent_dim = self.check_arg("latent_dim", latent_dim)
        self.check_arg("architecture", architecture)
        check_architecture(architecture, self.observation_shape)
        self.architecture = architecture
        fc_width = self.check_arg("fc_width", fc_width)
        self.fc_width = fc_width
        self.encoder = make_encoder(architecture, self.observation_shape, fc_width)
        self.family = make_family(
            posterior,
            self.latent_dim,
            context_dim=feature_dim(architecture, fc_width),
            **{k: v for k, v in family_options.items() if v is not None},
        )
        self.decoder = make_decoder(architecture, self.observation_shape, fc_width)
        self.precision = "float32"
        self.loss_scale: LossScale | None = None
        self._initialized = False
        self._term_shapes: Mapping[str, tf.TensorShape] = MappingProxyType({})

    def set_precision(self, precision: str) -> None:
        """Rebuilds the encoder trunk and decoder under `precision`'s Keras policy (before `initialize`).

        "float32" changes nothing. Under "mixed_bfloat16" or "mixed_float16"
        the networks keep float32 weights and compute in the 16-bit type;
        `encode` and `decode` cast their outputs to float32, so the posterior
        family, log-densities, KL and losses stay float32. "mixed_float16"
        also creates `loss_scale`, which the training step uses
        (`benchmark.training.step`). The layers are made afresh (same names,
        same weight shapes, so checkpoints are interchangeable), hence only
        before the variables exist.
        """
        precision = check_precision(precision)
        if precision == self.precision:
            return
        if self._initialized:
            raise ValueError(
                f"set_precision({precision!r}): the model's variables already exist "
                f"(built under {self.precision!r}); set the precision before initialize()"
            )
        policy = layer_policy(precision)
        shape = self.observation_shape
        self.encoder = make_encoder(self.architecture, shape, self.fc_width, dtype=policy)
        self.decoder = make_decoder(self.architecture, shape, self.fc_width, dtype=policy)
        self.loss_scale = LossScale() if precision == "mixed_float16" else None
        self.precision = precision

    # --- the model --------------------------------------------------------------------------

    def features(self, x: tf.Tensor) -> tf.Tensor:
        """The encoder trunk's features `[N, F]` of a float32 batch, as float32."""
        return tf.cast(self.encoder(x), tf.float32)

    def encode(self, x: tf.Tensor) -> Posterior:
        """q(z|x) for a float32 batch `[N, *observation_shape]`."""
        return self.family.posterior(self.features(x))

    def decode(self, z: tf.Tensor) -> tf.Tensor:
        """Bernoulli logits `[..., *observation_shape]` (float32) for latents `[..., D]`."""
        return tf.cast(self.decoder(z), tf.float32)

    def reconstruction_nll(self, x: tf.Tensor, z: tf.Tensor) -> tf.Tensor:
        """-log p(x|z) in nats, `[..., N]`, for `x [N, *obs]` and `z [..., N, D]`."""
        return bernoulli_nll(x, self.decode(z), event_ndims=len(self.observation_shape))

    @property
    def vae_variables(self) -> list[tf.Variable]:
        """Trainable variables of encoder, posterior head and decoder."""
        return (
            self.encoder.trainable_variables
            + self.family.trainable_variables
            + self.decoder.trainable_variables
        )

    def parameter_counts(self) -> dict[str, int]:
        """Free trainable parameters per part: `encoder` (trunk), `posterior_head`,
        `flow` (see `PosteriorFamily.parameter_counts`) and `decoder`; builds the model."""
        self.initialize()
        return {
            "encoder": int(sum(np.prod(v.shape) for v in self.encoder.trainable_variables)),
            **self.family.parameter_counts(),
            "decoder": int(sum(np.prod(v.shape) for v in self.decoder.trainable_variables)),
        }

    # --- the objective ----------------------------------------------------------------------

    def regularizer(self, inputs: LossInputs) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """`(penalty, extra terms)`: the loss beyond the reconstruction. Plain VAE: mean KL."""
        return tf.reduce_mean(inputs.kl), {}

    def optimizer_losses(
        self, loss: tf.Tensor, terms: dict[str, tf.Tensor]
    ) -> dict[str, tf.Tensor]:
        """The scalar each optimizer minimises, keyed like `optimizer_variables()`."""
        return {"vae": loss}

    def loss_terms(
        self, x: tf.Tensor, step: tf.Tensor | float, seed: tf.Tensor | Sequence[int]
    ) -> tuple[dict[str, tf.Tensor], dict[str, tf.Tensor]]:
        """`(losses per optimizer, terms to log)` for batch `x` at update `step` with `seed`."""
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int32), 2)
        posterior = self.encode(x)
        draws = posterior.training_kl_samples  # 0: the closed-form KL
        samples, log_q = posterior.sample_and_log_prob(max(draws, 1), seeds[0])
        z = samples[0]
        reconstruction = self.reconstruction_nll(x, z)
        if draws == 0:
            kl = posterior.kl_to_standard_normal()
        else:  # the Monte Carlo KL over the draws (Kingma & Welling 2014, eq. 6)
            kl = tf.reduce_mean(log_q - log_standard_normal(samples), axis=0)
        inputs = LossInputs(
            x=x,
            posterior=posterior,
            z=z,
            samples=samples,
            log_q=log_q,
            kl=kl,
            reconstruction=reconstruction,
            step=tf.cast(step, tf.float32),
            seed=seeds[1],
        )
        penalty, extra = self.regularizer(inputs)
        mean_reconstruction = tf.reduce_mean(reconstruction)
        mean_kl = tf.reduce_mean(kl)
        loss = mean_reconstruction + penalty
        terms = {
            "loss": loss,
            "reconstruction": mean_reconstruction,
            "kl": mean_kl,
            "elbo": -(mean_reconstruction + mean_kl),
            **extra,
        }
        per_latent = posterior.kl_per_latent()
        if per_latent is not None:
            terms["kl_per_latent"] = tf.reduce_mean(per_latent, axis=0)
        return self.optimizer_losses(loss, terms), terms

    # --- what the trainer reads -------------------------------------------------------------

    def optimizer_variables(self) -> dict[str, list[tf.Variable]]:
        """The variables each optimizer updates."""
        return {"vae": self.vae_variables}

    def make_optimizers(self, learning_rate: float) -> dict[str, Adam]:
        """Adam per optimizer name (disentanglement_lib: beta1 0.9, beta2 0.999, eps 1e-8)."""
        return {"vae": Adam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8, name="vae")}

    def initialize(self, seed: int | None = None) -> None:
        """Creates every variable by running the loss once on zeros; seeded when `seed` is given.

        The encoder, the `(mu, log sigma^2)` head and the decoder are built
        first, in that order, and a family's flow (which starts as the
        identity) after them: with one seed, the three posterior families get
        the same encoder, head and decoder weights, so they are the same model
        at step 0.
        """
        if self._initialized:
            return
        dummy = tf.zeros((2, *self.observation_shape), tf.float32)
        context = seeded_initialization(seed) if seed is not None else contextlib.nullcontext()
        with context:
            self.family.head(self.features(dummy))
            self.decode(tf.zeros((2, self.latent_dim), tf.float32))
            _, terms = self.loss_terms(dummy, step=0.0, seed=[0, 0])
        # A read-only mapping: Keras would wrap (and track) a plain dict attribute.
        self._term_shapes = MappingProxyType({name: value.shape for name, value in terms.items()})
        self._initialized = True

    def term_shapes(self) -> dict[str, tf.TensorShape]:
        """Name -> shape of every entry of `loss_terms`' terms (scalars, `[D]` for per-latent KL)."""
        self.initialize()
        return dict(self._term_shapes)

    def heldout_terms(self, x: tf.Tensor, seed: tf.Tensor | Sequence[int]) -> dict[str, tf.Tensor]:
        """`{"elbo", "reconstruction", "kl"}`: batch means (nats) of the ELBO's terms on `x`.

        The objective's own regularizer is not computed: this is the
        held-out bound the convergence check follows (Monte Carlo KL with
        `kl_samples` draws for IAF, closed form otherwise), with fixed `seed`.
        """
        draw = tf.random.experimental.stateless_split(tf.cast(seed, tf.int32), 2)[0]
        posterior = self.encode(x)
        num_samples = 1 if posterior.closed_form_kl else posterior.kl_samples
        samples, log_q = posterior.sample_and_log_prob(num_samples, draw)
        reconstruction = tf.reduce_mean(self.reconstruction_nll(x, samples[0]))
        kl = tf.reduce_mean(posterior.kl_from_samples(samples, log_q))
        return {"elbo": -(reconstruction + kl), "reconstruction": reconstruction, "kl": kl}
