"""InfoMEC: InfoM (modularity), InfoE (explicitness) and InfoC (compactness) of Hsu et al.
(2023), "Disentanglement via Latent Quantization", NeurIPS, section 5.

All three read the normalised mutual information NMI[k, j] = I(v_k; z_j) / H(v_k)
between factor k and latent j, over the active latents only (a latent whose
range is above 1/20 of the largest range, the paper's rule):

    InfoM = (mean_j  max_k NMI[k, j] / sum_k NMI[k, j] - 1/K) / (1 - 1/K)
    InfoC = (mean_k  max_j NMI[k, j] / sum_j NMI[k, j] - 1/J) / (1 - 1/J)
    InfoE = mean_k (H_null,k - CE_k) / H_null,k

with K factors and J active latents: InfoM is 1 when each latent informs about
one factor and 0 when it informs about all equally; InfoC likewise per factor.
CE_k is the log loss (nats) of an unpenalised multinomial logistic regression
of factor k on all standardised codes (balanced class weights, evaluated on
the points it was fit on, as the paper does); H_null,k is the log loss of the
same model without inputs, which with balanced weights predicts the uniform
distribution: log(number of classes). InfoE is linear explicitness: a monotone
non-linear map of a latent lowers it.

The estimator of I(v_k; z_j) is stated by the `estimator` setting: "ksg"
(default, the paper's: scikit-learn's `mutual_info_classif`, a
Kraskov-Stoegbauer-Grassberger nearest-neighbour estimate with 10 neighbours
on standardised codes) or "binned" (the plug-in estimate on `num_bins`
equal-width bins, as `mig`). Whatever the estimator, InfoM and InfoC are also
reported on 10, 20 and 50 bins, so that their bin sensitivity is visible.
Normalised MI below 0.02 is read as 0 before InfoM and InfoC: both are
ratios, and on codes that carry nothing the estimators' noise (about 0.01 for
20 bins or KSG at 10,000 points) would otherwise decide which latent "holds" a
factor (pure-noise codes then score InfoC 1 under KSG). This floor is ours, not
the paper's. A latent that then shares nothing with any factor counts as
uninformative about which factor it holds (ratio 1/K), likewise a factor no
latent informs about (1/J); with a single active latent InfoC is 1.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import mutual_info_classif
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from benchmark.metrics import settings
from benchmark.metrics.discretize import histogram_discretize
from benchmark.metrics.modularity_explicitness import standardize
from benchmark.metrics.mutual_info import discrete_entropy, mutual_info_matrix
from benchmark.metrics.spec import HIGHER, Key, MetricSpec, register_metric

__all__ = [
    "METRIC",
    "SENSITIVITY_BINS",
    "active_latents",
    "info_compactness",
    "info_explicitness",
    "info_modularity",
    "infomec",
    "normalised_mutual_info",
]

SENSITIVITY_BINS = (10, 20, 50)  # InfoM and InfoC are always also reported on these binnings
KSG_NEIGHBOURS = 10  # Hsu et al.'s n_neighbors
ACTIVE_RANGE_FRACTION = 1 / 20  # active: range above this fraction of the largest range
NMI_FLOOR = 0.02  # normalised MI below this is estimator noise for InfoM / InfoC (see above)

ESTIMATOR = settings.Setting("estimator", "ksg", settings.choice("ksg", "binned"))
MI_RANDOM_STATE = settings.Setting(
    "mi_random_state", 0, settings.integer(0, 2**32 - 1)
)  # the KSG estimator adds tiny noise to tied values with this seed


def active_latents(codes: np.ndarray) -> np.ndarray:
    """`[num_codes]` bool: range above 1/20 of the largest range (Hsu et al.'s rule)."""
    ranges = np.ptp(np.asarray(codes, dtype=np.float64), axis=0)
    return ranges > ACTIVE_RANGE_FRACTION * ranges.max(initial=0.0)


def normalised_mutual_info(
    codes: np.ndarray,
    factors: np.ndarray,
    estimator: str = "ksg",
    num_bins: int = 20,
    mi_random_state: int = 0,
) -> np.ndarray:
    """`[num_factors, num_codes]` I(v_k; z_j) / H(v_k), clipped to [0, 1].

    `estimator` "ksg": `mutual_info_classif` with 10 neighbours on standardised
    codes (one call per factor covers every latent); "binned": the plug-in
    estimate on `num_bins` equal-width bins. H(v_k) is the plug-in entropy of
    the factor's labels in the sample (nats); a constant factor gives 0.
    """
    codes = np.asarray(codes, dtype=np.float64)
    factors = np.asarray(factors)
    entropy = discrete_entropy(factors)  # [num_factors]
    if estimator == "binned":
        mutual_info = mutual_info_matrix(histogram_discretize(codes, num_bins), factors).T
    elif estimator == "ksg":
        scaled = standardize(codes)[0]
        mutual_info = np.stack(
            [
                mutual_info_classif(
                    scaled,
                    factors[:, k],
                    discrete_features=False,
                    n_neighbors=KSG_NEIGHBOURS,
                    random_state=mi_random_state,
                )
                for k in range(factors.shape[1])  # factors are few; each call covers all latents
            ]
        )
    else:
        raise ValueError(f"estimator must be 'ksg' or 'binned', got {estimator!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        nmi = np.where(entropy[:, None] > 0, mutual_info / entropy[:, None], 0.0)
    return np.clip(nmi, 0.0, 1.0)


def _chance_corrected_peak(matrix: np.ndarray, axis: int) -> float:
    """Mean over the other axis of max / sum along `axis`, rescaled so chance is 0 and one-hot 1."""
    count = matrix.shape[axis]
    matrix = np.where(matrix >= NMI_FLOOR, matrix, 0.0)
    if matrix.size == 0:
        return 0.0
    if count == 1:
        return 1.0
    total = matrix.sum(axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        peak = np.where(total > 0, matrix.max(axis=axis) / total, 1.0 / count)
    return float((np.mean(peak) - 1.0 / count) / (1.0 - 1.0 / count))


def info_modularity(nmi: np.ndarray) -> float:
    """InfoM of `[num_factors, num_active_codes]` normalised MI: each latent holds one factor."""
    return _chance_corrected_peak(nmi, axis=0)


def info_compactness(nmi: np.ndarray) -> float:
    """InfoC of `[num_factors, num_active_codes]` normalised MI: each factor sits in one latent."""
    return _chance_corrected_peak(nmi, axis=1)


def info_explicitness(codes: np.ndarray, factors: np.ndarray) -> tuple[float, np.ndarray]:
    """`(InfoE, per factor [num_factors])`: normalised predictive information of a linear probe.

    Per factor: (log C - CE) / log C, C the number of classes present, CE the
    log loss (nats) of an unpenalised multinomial logistic regression with
    balanced class weights on standardised codes. A factor with one class scores 0.
    """
    scaled = standardize(np.asarray(codes, dtype=np.float64))[0]
    factors = np.asarray(factors)
    scores = np.zeros(factors.shape[1])
    for k in range(factors.shape[1]):  # one probe per factor
        classes = np.unique(factors[:, k])
        if classes.size < 2:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            probe = LogisticRegression(C=np.inf, class_weight="balanced", max_iter=100)
            probe.fit(scaled, factors[:, k])
        cross_entropy = log_loss(factors[:, k], probe.predict_proba(scaled), labels=probe.classes_)
        null = np.log(classes.size)
        scores[k] = (null - cross_entropy) / null
    return float(np.mean(scores)), scores


def infomec(
    codes: np.ndarray,
    factors: np.ndarray,
    estimator: str = "ksg",
    num_bins: int = 20,
    mi_random_state: int = 0,
) -> dict[str, object]:
    """InfoM, InfoE and InfoC of codes `[num_points, num_codes]` against factors `[num_points, num_factors]`.

    Returns `info_m`, `info_c`, `info_e` with the chosen estimator, the
    per-binning `info_m_bins_B` / `info_c_bins_B` (B in 10, 20, 50), the NMI
    matrix `infomec_nmi_codes_x_factors` `[num_codes, num_factors]` (all latents),
    `info_e_per_factor` and the number of active latents.
    """
    codes = np.asarray(codes, dtype=np.float64)
    active = active_latents(codes)
    nmi = normalised_mutual_info(codes, factors, estimator, num_bins, mi_random_state)
    info_e, per_factor = info_explicitness(codes, factors)
    result: dict[str, object] = {
        "info_m": info_modularity(nmi[:, active]),
        "info_c": info_compactness(nmi[:, active]),
        "info_e": info_e,
        "info_e_per_factor": per_factor,
        "infomec_nmi_codes_x_factors": nmi.T,
        "infomec_active_codes": int(active.sum()),
    }
    for bins in SENSITIVITY_BINS:
        same = estimator == "binned" and bins == num_bins  # already computed above
        binned = (nmi if same else normalised_mutual_info(codes, factors, "binned", bins))[
            :, active
        ]
        result[f"info_m_bins_{bins}"] = info_modularity(binned)
        result[f"info_c_bins_{bins}"] = info_compactness(binned)
    return result


METRIC = register_metric(
    MetricSpec(
        name="infomec",
        summary="InfoMEC (Hsu et al. 2023): InfoM, InfoE, InfoC from normalised MI (KSG or binned)",
        keys=(
            Key("info_m", "InfoM", HIGHER, margin=0.05),
            Key("info_e", "InfoE", HIGHER, sklearn=True, margin=0.05),
            Key("info_c", "InfoC", HIGHER, margin=0.05),
            *(Key(f"info_m_bins_{b}") for b in SENSITIVITY_BINS),
            *(Key(f"info_c_bins_{b}") for b in SENSITIVITY_BINS),
            Key("info_e_per_factor", sklearn=True),
            Key("infomec_nmi_codes_x_factors"),
            Key("infomec_active_codes"),
        ),
        settings=(ESTIMATOR, settings.NUM_BINS, MI_RANDOM_STATE),
        arrays=infomec,
        inputs=("codes_train", "factors_train"),
        order=12,
        rotation_control=True,
    )
)
