"""`iaf`: a diagonal Gaussian base followed by K conditioned inverse autoregressive flow steps.

Each step is `tfb.Invert(tfb.MaskedAutoregressiveFlow)` whose
`tfb.AutoregressiveNetwork` (a MADE) is conditioned on the encoder's feature
vector (the context `h` of Kingma et al. 2016); consecutive steps alternate
the autoregressive order. Each step's log-scale is bounded softly,
`b * tanh(raw / b)` with `b = 3`, so the sequential inverse used by
`log_prob` cannot overflow: an unbounded `exp(log_scale)` made intermediate
iterates of that inverse infinite, and `inf * 0` in the masked layers turned
whole rows into NaN. The output layer of every autoregressive network (its
masked kernel and bias, and the kernel of its context input) starts at zero,
so each step is the identity (shift 0, log-scale 0, log-det 0) at
initialisation and the family starts as the diagonal one; the hidden layers
keep their random start, so the gradients of the output layer are not zero.
The masks stay variable constraints of TFP's network.

Samples and their log-density come from `experimental_sample_and_log_prob`
(one parallel pass). `mean()` and `covariance()` are Monte Carlo estimates
from `moment_samples` draws (default 64, fixed seed 0 unless one is given),
i.e. the posterior mean E[z|x] itself, not the flow applied to the base mean
(evaluation codes use 100 antithetic draws of per-input noise instead, see
`benchmark.models.representation`). `kl_to_standard_normal` is the Monte
Carlo average of `log q(z|x) - log N(z; 0, I)` over `kl_samples` draws.
`log_prob(z)` at an arbitrary point runs the sequential inverse (D passes of
each network, unrolled in the graph: 1.5x faster than TFP's
`tf.while_loop` in beta-TCVAE's training step). There is no closed form for
the marginals q(z_d|x): `marginal_log_prob` moment-matches one Gaussian per
input and latent from the `moment_samples` draws (an approximation, used
only by beta-TCVAE's product of marginals).

Reference: Kingma, Salimans, Jozefowicz, Chen, Sutskever, Welling (2016),
"Improved variational inference with inverse autoregressive flow", NeurIPS.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.models import arguments as check
from benchmark.models.deferred_base import DeferredBase
from benchmark.models.posteriors import (
    POSTERIORS,
    Posterior,
    PosteriorFamily,
    count_free_parameters,
    log_standard_normal,
    stateless_seed,
)
from benchmark.settings import Setting, by_name
from benchmark.tf_quiet import lazy_tensorflow, lazy_tf_keras, lazy_tfp

tf = lazy_tensorflow()
tf_keras = lazy_tf_keras()

tfd = lazy_tfp("distributions")
tfb = lazy_tfp("bijectors")

__all__ = ["IAFFamily", "IAFPosterior", "IdentityStartMADE"]

LOG_SCALE_BOUND = 3.0
# The widest hidden layer an IAF step's network may have (as the encoder's and decoder's).
MAX_HIDDEN_UNITS = 16384


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

    @property
    def training_kl_samples(self) -> int:
        return self.kl_samples

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

    def local_parameters(self):
        """The base `loc`, `log_variance` and the `context`; the flow networks stay fixed
        (q* is then a semi-amortised optimum)."""
        parameters = {"loc": self.loc, "log_variance": self.log_variance, "context": self.context}

        def build(p):
            return IAFPosterior(
                p["loc"],
                p["log_variance"],
                p["context"],
                self.networks,
                kl_samples=self.kl_samples,
                moment_samples=self.moment_samples,
            )

        return parameters, build

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


@POSTERIORS.register("iaf")
class IAFFamily(PosteriorFamily):
    """Diagonal base head plus `iaf_steps` conditional MADEs (`iaf_hidden_units`, ReLU).

    Options: `iaf_steps` K (2) and the hidden widths of each step's network
    (`iaf_hidden_units`, (64, 64)); `kl_samples`, the Monte Carlo draws of the
    KL in training (1); `moment_samples`, the draws for means, covariances and
    marginals (64); `iaf_trainable` (True): False freezes every step at the
    identity it starts as, so the family is a diagonal Gaussian trained on
    the Monte Carlo KL (the control a family difference is checked against).
    """

    closed_form = False
    options = by_name(
        Setting("iaf_steps", 2, check.bounded_int(1, 64), "flow steps"),
        Setting(
            "iaf_hidden_units",
            (64, 64),
            lambda name, value: check.positive_int_list(name, value, MAX_HIDDEN_UNITS),
            "hidden widths of each step's autoregressive network",
        ),
        Setting("kl_samples", 1, check.bounded_int(1, 4096), "draws of the Monte Carlo KL"),
        Setting("moment_samples", 64, check.bounded_int(2, 1_000_000), "draws per moment"),
        Setting("iaf_trainable", True, check.boolean, "false: every step frozen at the identity"),
    )

    def __init__(
        self,
        latent_dim: int,
        *,
        iaf_steps: int = 2,
        iaf_hidden_units: Sequence[int] = (64, 64),
        context_dim: int,
        kl_samples: int = 1,
        moment_samples: int = 64,
        iaf_trainable: bool = True,
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
        for network in self.networks:  # frozen: every step stays the identity it starts as
            network.trainable = bool(iaf_trainable)

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
        return {
            "posterior_head": count_free_parameters([self.head]),
            "flow": count_free_parameters(self.networks),
        }


class IdentityStartMADE(DeferredBase):
    """TFP's conditional MADE whose output layer starts at zero (shift 0, log-scale 0).

    After TFP builds the network (hidden layers drawn by their initialiser,
    masks as kernel constraints), the layers that feed the output (the masked
    output Dense and, when conditional, the context's Dense into it) are set
    to zero, so the IAF step is the identity at initialisation.
    """

    deferred_base = staticmethod(lambda: tfb.AutoregressiveNetwork)

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
