"""`dip_vae_i`: reconstruction + KL + a penalty pulling Cov[E[z|x]] to the identity (Kumar et al. 2018)."""

from __future__ import annotations

from benchmark.models import arguments as check
from benchmark.models.objectives import dip_covariance, dip_regularizer
from benchmark.models.registry import register_model
from benchmark.models.vae import VAE, LossInputs
from benchmark.tf_quiet import lazy_tensorflow

tf = lazy_tensorflow()

__all__ = ["DIPVAEI"]


@register_model("dip_vae_i")
class DIPVAEI(VAE):
    """loss = E[-log p(x|z)] + KL + lambda_od sum_{i!=j} C_ij^2 + lambda_d sum_i (C_ii - 1)^2.

    C = Cov_x[E[z|x]] over the batch, with the family's own posterior mean
    (the sample mean for IAF). disentanglement_lib's study: lambda_od in
    1, 2, 5, 10, 20, 50 and lambda_d = 10 lambda_od. Logs "dip".
    """

    dip_kind = "i"

    argument_checks = {
        "lambda_od": check.non_negative_number,
        "lambda_d": check.non_negative_number,
    }

    def __init__(
        self, observation_shape, *, lambda_od: float = 10.0, lambda_d: float = 100.0, **kwargs
    ) -> None:
        super().__init__(observation_shape, **kwargs)
        self.lambda_od = self.check_arg("lambda_od", lambda_od)
        self.lambda_d = self.check_arg("lambda_d", lambda_d)

    def regularizer(self, inputs: LossInputs):
        covariance = dip_covariance(inputs.posterior, self.dip_kind, seed=inputs.seed)
        dip = dip_regularizer(covariance, self.lambda_od, self.lambda_d)
        return tf.reduce_mean(inputs.kl) + dip, {"dip": dip}
