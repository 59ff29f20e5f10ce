"""`dip_vae_ii`: DIP-VAE with the aggregate posterior's covariance Cov[mu] + E[Sigma] (Kumar et al. 2018)."""

from __future__ import annotations

from benchmark.models.entries.dip_vae_i import DIPVAEI
from benchmark.models.registry import register_model

__all__ = ["DIPVAEII"]


@register_model("dip_vae_ii")
class DIPVAEII(DIPVAEI):
    """DIP-VAE-I's penalty on C = Cov_x[E[z|x]] + E_x[Cov[z|x]].

    Each family's own covariance: diag(sigma^2), L L^T, or the sample
    covariance of IAF draws (never a diagonal shortcut). disentanglement_lib's
    study: lambda_od in 1, 2, 5, 10, 20, 50 and lambda_d = lambda_od. Logs "dip".
    """

    dip_kind = "ii"

    def __init__(
        self, observation_shape, *, lambda_od: float = 10.0, lambda_d: float = 10.0, **kwargs
    ) -> None:
        super().__init__(observation_shape, lambda_od=lambda_od, lambda_d=lambda_d, **kwargs)
