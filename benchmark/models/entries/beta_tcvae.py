"""`beta_tcvae`: reconstruction + KL + (beta - 1) * total correlation (Chen et al. 2018)."""

from __future__ import annotations

from benchmark.models import arguments as check
from benchmark.models.objectives import total_correlation
from benchmark.models.registry import register_model
from benchmark.models.vae import VAE, LossInputs
from benchmark.tf_quiet import lazy_tensorflow

tf = lazy_tensorflow()

__all__ = ["BetaTCVAE"]


@register_model("beta_tcvae")
class BetaTCVAE(VAE):
    """loss = E[-log p(x|z)] + KL + (beta - 1) * TC, as in disentanglement_lib.

    TC is the minibatch-weighted-sampling estimate over the batch
    (`objectives.total_correlation`) with the family's own log-densities:
    for IAF the joint density runs the flow's sequential inverse on N x N
    pairs, which makes this objective the most expensive one with IAF.
    disentanglement_lib's study sweeps beta over 1, 2, 4, 6, 8, 10. Logs "tc".
    """

    argument_checks = {"beta": check.non_negative_number}

    def __init__(self, observation_shape, *, beta: float = 1.0, **kwargs) -> None:
        super().__init__(observation_shape, **kwargs)
        self.beta = self.check_arg("beta", beta)

    def regularizer(self, inputs: LossInputs):
        tc = total_correlation(inputs.z, inputs.posterior, seed=inputs.seed)
        return tf.reduce_mean(inputs.kl) + (self.beta - 1.0) * tc, {"tc": tc}
