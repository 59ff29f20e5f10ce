"""Models: posterior families, objectives, networks and the model-entry registry.

Public API (other parts build against these names):

- `build_model(entry, observation_shape, **kwargs) -> VAE`: a registered
  entry ("beta_vae", "annealed_vae", "beta_tcvae", "factor_vae",
  "dip_vae_i", "dip_vae_ii", "beta_vae_free_bits", and any file added to
  `benchmark/models/entries/`). Common keyword arguments: `posterior`
  ("diagonal" | "full_covariance" | "iaf"), `latent_dim` (10),
  `architecture` ("conv" | "fc"), `fc_width`, `iaf_steps`,
  `iaf_hidden_units`, `kl_samples`, `moment_samples`; plus each objective's
  own (beta; gamma, c_max, iteration_threshold; gamma; lambda_od, lambda_d).
  Unknown names or arguments raise `UserInputError` listing the allowed ones.
- `register_model(name)`: class decorator for a `VAE` subclass.
- `MODELS`, `POSTERIORS`: the registries; `model_arguments(entry)` gives an
  entry's arguments with defaults, `check_model_args(entry, kwargs)` checks them.
- `model.encode(x) -> Posterior` with `sample_and_log_prob(num_samples,
  seed) -> (z [S, N, D], log_q [S, N])`, `sample_from_noise(eps [S, N, D])`
  (the same map for given noise), `mean() [N, D]`, `covariance()
  [N, D, D]`, `log_prob(z)`, `marginal_log_prob(z)`,
  `kl_to_standard_normal(num_samples=None, seed=None) [N]`, `kl_per_latent()`.
- `model.decode(z) -> logits`, `model.reconstruction_nll(x, z) -> [..., N]` nats.
- `representation_function(model, kind="mean", batch_size=64, seed=0,
  mean_samples=100)`: numpy `[N, *obs]` -> numpy `[N, D]` float64 (IAF
  means from 50 antithetic pairs of per-input draws; codes independent of
  `batch_size`).
- `model.parameter_counts()`: free parameters per part (encoder, posterior
  head, flow, decoder).

Importing this package does not import TensorFlow: the modules read it lazily
(`benchmark.tf_quiet.lazy_tensorflow`), and the Keras classes get their Keras
base when first built (`benchmark.models.deferred_base`).
"""

from benchmark.models.families.diagonal import DiagonalGaussian
from benchmark.models.families.full_covariance import FullCovarianceGaussian
from benchmark.models.families.iaf import IAFPosterior
from benchmark.models.posteriors import POSTERIORS, Posterior
from benchmark.models.registry import (
    MODELS,
    EntryConfig,
    build_model,
    check_model_args,
    model_arguments,
    register_model,
)
from benchmark.models.representation import representation_function
from benchmark.models.vae import VAE, LossInputs

__all__ = [
    "MODELS",
    "POSTERIORS",
    "VAE",
    "DiagonalGaussian",
    "EntryConfig",
    "FullCovarianceGaussian",
    "IAFPosterior",
    "LossInputs",
    "Posterior",
    "build_model",
    "check_model_args",
    "model_arguments",
    "register_model",
    "representation_function",
]
