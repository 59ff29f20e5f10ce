"""Known-answer tests on synthetic codes (in the spirit of Carbonneau et al. 2022, section 5).

Three factors (10, 8 and 3 values); codes built with known properties:
perfectly disentangled, one factor per latent plus noise, two factors rotated
by theta, a redundant copy of a factor, a factor missing, a monotone non-linear
map of each latent, and pure noise. Each test states the expected value or
ordering, and why.
"""

import numpy as np
import pytest

from benchmark.metrics.dci_es import dci_es, explicitness_from_curve
from benchmark.metrics.dcimig import dcimig, dcimig_from_mutual_info
from benchmark.metrics.infomec import info_compactness, info_modularity, infomec
from benchmark.metrics.jemmig import jemmig
from benchmark.metrics.z_diff import z_diff
from benchmark.metrics.z_min_var import z_min_var

SIZES = (10, 8, 3)
NUM_TRAIN, NUM_TEST = 3000, 1500


def _factors(num: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, s, num) for s in SIZES], axis=1)


FACTORS, FACTORS_TEST = _factors(NUM_TRAIN, 0), _factors(NUM_TEST, 1)


def _scaled(factors: np.ndarray) -> np.ndarray:
    """Each factor mapped to [-1, 1] (so a rotation mixes them evenly)."""
    return 2 * factors / (np.array(SIZES) - 1) - 1


def perfect(factors: np.ndarray, seed: int = 2) -> np.ndarray:
    return _scaled(factors) + np.random.default_rng(seed).normal(0, 0.01, factors.shape)


def noisy(factors: np.ndarray, seed: int = 2) -> np.ndarray:
    return _scaled(factors) + np.random.default_rng(seed).normal(0, 0.3, factors.shape)


def rotated(factors: np.ndarray, theta: float, seed: int = 2) -> np.ndarray:
    codes = perfect(factors, seed)
    c, s = np.cos(theta), np.sin(theta)
    first, second = codes[:, 0].copy(), codes[:, 1].copy()
    codes[:, 0], codes[:, 1] = c * first - s * second, s * first + c * second
    return codes


def redundant(factors: np.ndarray, seed: int = 2) -> np.ndarray:
    codes = perfect(factors, seed)
    return np.concatenate([codes, codes[:, :1] + 0.01], axis=1)


def missing(factors: np.ndarray, seed: int = 2) -> np.ndarray:
    return perfect(factors, seed)[:, :2]


def slightly_noisy(factors: np.ndarray, seed: int = 2) -> np.ndarray:
    return _scaled(factors) + np.random.default_rng(seed).normal(0, 0.05, factors.shape)


def monotone(factors: np.ndarray, seed: int = 2) -> np.ndarray:
    """exp(5 z) of `slightly_noisy`: the same information, bent."""
    return np.exp(5 * slightly_noisy(factors, seed))


def noise(factors: np.ndarray, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=factors.shape)


@pytest.fixture(scope="module")
def info() -> dict[str, dict]:
    cases = {"perfect": perfect, "noisy": noisy, "redundant": redundant, "missing": missing}
    cases |= {"slightly_noisy": slightly_noisy, "monotone": monotone, "noise": noise}
    cases |= {f"rot{deg}": (lambda f, d=deg: rotated(f, np.radians(d))) for deg in (15, 30, 45)}
    return {name: infomec(make(FACTORS), FACTORS) for name, make in cases.items()}


def test_infomec_is_one_on_perfect_codes_and_near_zero_on_noise(info):
    for key in ("info_m", "info_c", "info_e"):
        assert info["perfect"][key] > 0.95, key
        assert info["noise"][key] < 0.05, key


def test_info_m_falls_with_the_rotation_angle(info):
    scores = [info[name]["info_m"] for name in ("perfect", "rot15", "rot30", "rot45")]
    assert scores == sorted(scores, reverse=True) and scores[0] - scores[-1] > 0.3


def test_a_missing_factor_lowers_compactness_and_explicitness_but_not_modularity(info):
    assert info["missing"]["info_m"] > 0.95
    assert info["missing"]["info_c"] < info["perfect"]["info_c"] - 0.2
    assert info["missing"]["info_e"] < info["perfect"]["info_e"] - 0.2


def test_a_redundant_copy_lowers_compactness_but_not_modularity(info):
    assert info["redundant"]["info_m"] > 0.95
    assert info["redundant"]["info_c"] < info["perfect"]["info_c"] - 0.1


def test_linear_info_e_drops_under_a_monotone_map_where_forest_explicitness_holds(info):
    assert info["monotone"]["info_e"] < info["slightly_noisy"]["info_e"] - 0.1
    straight = dci_es(
        slightly_noisy(FACTORS), FACTORS, slightly_noisy(FACTORS_TEST, 3), FACTORS_TEST
    )
    bent = dci_es(monotone(FACTORS), FACTORS, monotone(FACTORS_TEST, 3), FACTORS_TEST)
    assert bent["dci_es_explicitness"] == pytest.approx(straight["dci_es_explicitness"], abs=0.02)


def test_infomec_reports_its_bin_sensitivity_and_both_estimators_agree_on_clean_codes(info):
    for bins in (10, 20, 50):
        assert info["perfect"][f"info_m_bins_{bins}"] > 0.95
    binned = infomec(perfect(FACTORS), FACTORS, estimator="binned")
    assert binned["info_m"] == pytest.approx(info["perfect"]["info_m"], abs=0.05)


def test_info_m_and_info_c_closed_forms():
    one_hot = np.eye(3)
    assert info_modularity(one_hot) == pytest.approx(1.0)
    assert info_compactness(one_hot) == pytest.approx(1.0)
    even = np.full((3, 3), 0.5)  # every latent tells the same about every factor: chance
    assert info_modularity(even) == pytest.approx(0.0)
    # Latent 0 holds factors 0 and 1 equally (ratio 1/2), latent 1 only factor 2 (ratio 1):
    # mean 0.75, rescaled (0.75 - 1/3) / (2/3) = 0.625.
    two = np.array([[0.8, 0.0], [0.8, 0.0], [0.0, 0.9]])
    assert info_modularity(two) == pytest.approx(0.625)


def test_dci_es_explicitness_closed_forms_and_ordering():
    capacities = np.arange(1, 9)
    assert explicitness_from_curve(capacities, np.zeros(8), 1.0) == pytest.approx(1.0)
    assert explicitness_from_curve(capacities, np.ones(8), 1.0) == pytest.approx(-1.0)
    linear = 1 - (capacities - 1) / 7  # falls linearly from the baseline to 0: the triangle
    assert explicitness_from_curve(capacities, linear, 1.0) == pytest.approx(0.0)
    # A loss that rises again is held at its running minimum.
    assert explicitness_from_curve(capacities, [1, 0, 0, 0, 0, 0, 0, 1], 1.0) == pytest.approx(
        1 - 0.5 / 3.5
    )
    scores = {
        name: dci_es(make(FACTORS), FACTORS, make(FACTORS_TEST, 3), FACTORS_TEST)
        for name, make in {"perfect": perfect, "noisy": noisy, "noise": noise}.items()
    }
    e = {name: s["dci_es_explicitness"] for name, s in scores.items()}
    assert e["perfect"] > e["noisy"] > e["noise"] and e["noise"] < -0.9
    assert scores["perfect"]["dci_es_size"] == 1.0
    assert dci_es(redundant(FACTORS), FACTORS, redundant(FACTORS_TEST, 3), FACTORS_TEST)[
        "dci_es_size"
    ] == pytest.approx(0.75)


def test_dcimig_credits_each_factor_once_and_falls_with_rotation():
    # Two latents hold factor 0 (gaps 0.6 and 0.4): only the larger counts; latent 2 gives 0.9.
    mutual_info = np.array([[0.7, 0.1], [0.5, 0.1], [0.0, 0.9]])
    score, credited = dcimig_from_mutual_info(mutual_info, np.array([1.0, 1.0]))
    assert credited.tolist() == pytest.approx([0.6, 0.9]) and score == pytest.approx(0.75)
    scores = [dcimig(make(FACTORS), FACTORS)["dcimig"] for make in (perfect, noise)]
    assert scores[0] > 0.9 and scores[1] < 0.05
    rotations = [dcimig(rotated(FACTORS, np.radians(d)), FACTORS)["dcimig"] for d in (0, 20, 45)]
    assert rotations == sorted(rotations, reverse=True)


def test_jemmig_orders_perfect_redundant_and_noise():
    scores = {
        name: jemmig(make(FACTORS), FACTORS)["jemmig"]
        for name, make in {"perfect": perfect, "redundant": redundant, "noise": noise}.items()
    }
    # A redundant copy is a second-best latent that knows the factor: JEMMIG charges it.
    assert scores["perfect"] > scores["redundant"] + 0.1 > scores["noise"] + 0.1
    assert 0.0 <= scores["noise"] < 0.3


def test_z_min_var_and_z_diff_from_given_points():
    for metric, key in ((z_min_var, "z_min_var"), (z_diff, "z_diff")):
        assert metric(perfect(FACTORS), FACTORS)[key] == 1.0
        chance = metric(noise(FACTORS), FACTORS)[key]
        assert chance < 0.5, (key, chance)  # 3 factors: chance is 1/3
        assert metric(rotated(FACTORS, np.radians(45)), FACTORS)[key] < 1.0


def test_chen_protocol_leaves_out_the_factors_a_data_set_declares():
    from benchmark.data.registry import DATASETS

    assert DATASETS.get("dsprites").chen_mig_excluded_factors == ("shape",)
    assert DATASETS.get("dsprites32").chen_mig_excluded_factors == ("shape",)


def test_the_new_metrics_run_through_the_sampling_layer():
    """The pipeline's path: points drawn by `score_sampled`, test points only where asked."""
    from benchmark.data.toy import ToyData
    from benchmark.metrics import score_sampled

    dataset = ToyData()
    names = ["infomec", "dcimig", "jemmig", "dci_es", "z_diff", "z_min_var"]
    result = score_sampled(
        dataset, lambda x: np.asarray(x, np.float64).reshape(len(x), -1), seed=0,
        metrics=names, num_train=300, num_test=150,
    )  # fmt: skip
    for key in ("info_m", "info_e", "info_c", "dcimig", "jemmig", "dci_es_explicitness"):
        assert np.isfinite(result[key]), key
    assert 0.0 <= result["z_diff"] <= 1.0 and 0.0 <= result["z_min_var"] <= 1.0
    assert dci_es(perfect(FACTORS), FACTORS) == {}  # no test points: skipped, not an error
