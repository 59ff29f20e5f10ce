"""Rotation-invariant controls: PCA-whitened and ICA mean codes, and active directions.

With an isotropic prior N(0, I) and a family closed under rotations of z
(full covariance, IAF), rotating z leaves the ELBO unchanged, so scores that
read single axes (MIG, SAP, DCI, per-latent rate, active axes) are set by the
accident of optimisation; a diagonal posterior is what aligns the axes
(Rolinek, Zietlow, Martius 2019). Scoring every run also on its mean codes
after a rotation fitted to the codes themselves removes that accident:

- `pca`: E[z|x] centred and whitened along the eigenvectors of
  Cov_x(E[z|x]) (unit variance in each principal direction);
- `ica`: scikit-learn's FastICA of E[z|x] (unit-variance whitening, fixed
  seed), the rotation that makes the codes most non-Gaussian per axis.

Both maps are fitted once on a seeded sample of mean codes and then applied
as fixed linear maps to every code the metrics ask for. Pure numpy and
scikit-learn: a representation is any function `[N, *obs] -> [N, D]`.

References:
  Rolinek, Zietlow, Martius (2019). Variational Autoencoders Pursue PCA
    Directions (by Accident). CVPR.
  Hyvarinen, Oja (2000). Independent component analysis: algorithms and
    applications. Neural Networks.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import FastICA
from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "ROTATIONS",
    "Rotation",
    "active_directions",
    "fit_rotation",
    "rotated_representation",
]

ROTATIONS = ("pca", "ica")
# Eigenvalues below this fraction of the largest are floored before whitening.
_RELATIVE_FLOOR = 1e-8

Representation = Callable[[np.ndarray], np.ndarray]


def active_directions(mean_codes: np.ndarray, threshold: float = 0.01) -> int:
    """#{eigenvalues of Cov_x(E[z|x]) > threshold}: active units that do not depend on the axes.

    Burda et al.'s (2016) active units count axes with Var_x(E[z_d|x]) > 0.01;
    counting directions (eigenvalues, population covariance) is the same count
    for a diagonal covariance and is unchanged by rotating z.

    Args:
      mean_codes: `[N, D]` posterior means, N >= 2.
    """
    codes = np.asarray(mean_codes, np.float64)
    if codes.ndim != 2 or len(codes) < 2:
        raise ValueError(f"mean_codes: expected shape [N >= 2, D], got {codes.shape}")
    eigenvalues = np.linalg.eigvalsh(
        np.cov(codes, rowvar=False, bias=True).reshape(codes.shape[1], -1)
    )
    return int(np.sum(eigenvalues > threshold))


@dataclass(frozen=True)
class Rotation:
    """A fitted rotation: `apply` maps codes `[N, D] -> [N, D]`; `iterations` and
    `converged` describe the fit (FastICA's; PCA is closed form: 0 and True)."""

    apply: Callable[[np.ndarray], np.ndarray]
    iterations: int = 0
    converged: bool = True

    def __call__(self, codes: np.ndarray) -> np.ndarray:
        return self.apply(codes)


def fit_rotation(codes: np.ndarray, kind: str, seed: int) -> Rotation:
    """A fixed map `[N, D] -> [N, D]` fitted on `codes [M, D]`: PCA whitening or FastICA.

    PCA: `(c - mean) V diag(1/sqrt(lambda))`, eigenvalues floored at 1e-8 of
    the largest so dead directions do not divide by zero. ICA: FastICA with
    `whiten="unit-variance"`, `random_state=seed`, all D components, at most
    1,000 iterations to a tolerance of 1e-4. A fit that stops at that cap
    (collapsed latents leave Gaussian noise directions that no rotation makes
    non-Gaussian) is kept, its last iterate used, and reported as
    `converged=False` instead of as a warning in the run's log.
    """
    c = np.asarray(codes, np.float64)
    if c.ndim != 2 or len(c) < 2:
        raise ValueError(f"codes: expected shape [M >= 2, D], got {c.shape}")
    mean = c.mean(axis=0)
    if kind == "pca":
        eigenvalues, vectors = np.linalg.eigh(
            np.cov(c, rowvar=False, bias=True).reshape(c.shape[1], -1)
        )
        order = np.argsort(eigenvalues)[::-1]
        eigenvalues, vectors = eigenvalues[order], vectors[:, order]
        floor = max(float(eigenvalues[0]), 1e-30) * _RELATIVE_FLOOR
        projection = vectors / np.sqrt(np.maximum(eigenvalues, floor))[None, :]
        return Rotation(lambda x: (np.asarray(x, np.float64) - mean) @ projection)
    if kind == "ica":
        ica = FastICA(
            n_components=c.shape[1],
            whiten="unit-variance",
            random_state=int(seed) % (2**32),
            max_iter=1000,
            tol=1e-4,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ica.fit(c)
        return Rotation(
            lambda x: ica.transform(np.asarray(x, np.float64)),
            iterations=int(ica.n_iter_),
            converged=int(ica.n_iter_) < ica.max_iter,
        )
    raise ValueError(f"rotation kind {kind!r}: expected one of {', '.join(ROTATIONS)}")


def rotated_representation(
    represent: Representation, fit_observations: np.ndarray, kind: str, seed: int
) -> tuple[Representation, Rotation]:
    """`(represent followed by the rotation, the rotation)`, the `kind` rotation fitted on
    `represent(fit_observations)`."""
    rotation = fit_rotation(represent(fit_observations), kind, seed)
    return (lambda observations: rotation.apply(represent(observations))), rotation
