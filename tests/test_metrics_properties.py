"""Properties every metric should have: latent permutation, rescaling, constant codes,
a duplicated latent; plus the vectorised MI against scikit-learn and the API's checks."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from benchmark.data import get_dataset
from benchmark.errors import UserInputError
from benchmark.metrics import METRICS, metric_names, mutual_info, score_arrays, score_sampled
from benchmark.metrics.beta_vae import compute_beta_vae
from benchmark.metrics.dci import completeness, dci, disentanglement
from benchmark.metrics.discretize import histogram_discretize
from benchmark.metrics.factor_vae import compute_factor_vae
from benchmark.metrics.inputs import check_arrays
from benchmark.metrics.mutual_info import discrete_entropy, mutual_info_matrix

FAST = ["mig", "modularity_explicitness", "sap", "irs", "unsupervised"]
SIZES = np.array([3, 6, 10, 8])


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    """A disentangled code of 600 train / 300 test toy points: z_k = u_k + 0.02 eps_k."""
    dataset, random_state = get_dataset("toy"), np.random.RandomState(7)
    arrays = {}
    for split, num in (("train", 600), ("test", 300)):
        factors, obs = dataset.sample(num, random_state)
        arrays[f"codes_{split}"] = factors / (SIZES - 1) + 0.02 * obs[:, 4:8]
        arrays[f"factors_{split}"] = factors
    return arrays


def _with_codes(data: dict[str, np.ndarray], change) -> dict[str, np.ndarray]:
    return {
        **data,
        "codes_train": change(data["codes_train"]),
        "codes_test": change(data["codes_test"]),
    }


def test_mutual_info_matches_sklearn_pair_by_pair():
    rng = np.random.RandomState(0)
    a = rng.randint(0, 7, size=(500, 3))
    a[:, 2] = 4  # a constant column: MI exactly 0
    b = np.stack([a[:, 0] * 10 + rng.randint(0, 2, 500), rng.randint(0, 3, 500)], axis=1)
    matrix = mutual_info_matrix(a, b)
    for i in range(3):
        for j in range(2):
            assert matrix[i, j] == pytest.approx(mutual_info_score(b[:, j], a[:, i]), abs=1e-13)
    assert np.all(matrix[2] == 0.0)
    entropy = discrete_entropy(b)
    assert entropy == pytest.approx([mutual_info_score(c, c) for c in b.T], abs=1e-13)


def test_large_label_ranges_fall_back_to_pairwise_counting(monkeypatch):
    rng = np.random.RandomState(1)
    a = rng.randint(0, 20, size=(400, 2))
    b = np.stack([a[:, 0] * 5000 + rng.randint(0, 3, 400), rng.randint(0, 4, 400)], axis=1)
    dense = mutual_info_matrix(a, b)
    monkeypatch.setattr(mutual_info, "_MAX_CELLS", 10)
    np.testing.assert_allclose(mutual_info_matrix(a, b), dense, atol=1e-13)


def test_histogram_discretize_matches_numpy_digitize_exactly():
    rng = np.random.RandomState(2)
    columns = [
        rng.randint(0, 10, 300).astype(float),  # values on bin edges
        rng.standard_cauchy(300) * 1e5,
        np.full(300, 3.0),
        rng.normal(size=300).astype(np.float32),
        1e8 + rng.rand(300) * 1e-6,  # bins a few rounding steps wide
    ]
    for column in columns:
        for num_bins in (1, 2, 7, 20):
            edges = np.histogram_bin_edges(column, num_bins)[:-1]
            labels = histogram_discretize(column[:, None], num_bins)[:, 0]
            np.testing.assert_array_equal(labels, np.digitize(column, edges))


def test_histogram_discretize_uses_left_edges_of_20_bins():
    values = np.array([[0.0, 5.0], [1.0, 5.0], [0.5, 5.0], [0.049, 5.0], [0.05, 5.0]])
    labels = histogram_discretize(values, 20)
    assert labels[:, 0].tolist() == [1, 20, 11, 1, 2]  # the maximum lands in bin 20
    assert np.unique(labels[:, 1]).size == 1  # a constant column is one bin


def test_permuting_latents_permutes_per_code_results(data):
    permutation = np.array([2, 0, 3, 1])
    base = score_arrays(**data, metrics=FAST)
    permuted = score_arrays(**_with_codes(data, lambda c: c[:, permutation]), metrics=FAST)
    for key in ("mig", "modularity", "sap_discrete", "sap_continuous", "irs", "mutual_info_score"):
        assert permuted[key] == pytest.approx(base[key], abs=1e-12), key
    for key in ("gaussian_total_correlation", "gaussian_wasserstein_correlation"):
        assert permuted[key] == pytest.approx(base[key], rel=1e-9, abs=1e-13), key
    # A few ulps: logs and sums may run in SIMD kernels that depend on the processor.
    np.testing.assert_allclose(permuted["mig_per_factor"], base["mig_per_factor"], atol=1e-14)
    np.testing.assert_allclose(
        permuted["mutual_info_matrix_codes_x_factors"],
        base["mutual_info_matrix_codes_x_factors"][permutation],
        atol=1e-14,
    )
    np.testing.assert_allclose(
        permuted["sap_discrete_score_matrix"],
        base["sap_discrete_score_matrix"][permutation],
        atol=1e-12,
    )
    # lbfgs sums features in another order: equal up to its tolerance
    assert permuted["explicitness_test"] == pytest.approx(base["explicitness_test"], abs=1e-4)
    importance = np.random.RandomState(1).rand(4, 3)
    assert disentanglement(importance[permutation]) == pytest.approx(disentanglement(importance))
    assert completeness(importance[permutation]) == pytest.approx(completeness(importance))


def test_rescaling_leaves_scale_invariant_metrics_unchanged(data):
    # Powers of two rescale exactly in floating point, so invariance is exact.
    scales = np.array([4.0, 0.25, 8.0, 0.5])
    base = score_arrays(**data, metrics=[*FAST, "dci"])
    scaled = score_arrays(**_with_codes(data, lambda c: c * scales), metrics=[*FAST, "dci"])
    invariant = [
        "mig",
        "modularity",
        "explicitness_train",
        "explicitness_test",
        "sap_continuous",
        "mutual_info_score",
        "dci_disentanglement",
        "dci_completeness",
        "dci_informativeness_test",
    ]
    for key in invariant:
        assert scaled[key] == pytest.approx(base[key], abs=1e-12), key
    assert scaled["gaussian_total_correlation"] == pytest.approx(
        base["gaussian_total_correlation"], abs=1e-12
    )
    # IRS weights codes by their spread: invariant to one common scale only.
    common = score_arrays(**_with_codes(data, lambda c: c * 4.0), metrics=["irs"])
    assert common["irs"] == pytest.approx(base["irs"], abs=1e-12)
    # Documented scale dependence (goldens README): discrete SAP and the Wasserstein score.
    assert scaled["sap_discrete"] != base["sap_discrete"]
    assert scaled["gaussian_wasserstein_correlation"] != pytest.approx(
        base["gaussian_wasserstein_correlation"], rel=1e-3
    )


def test_constant_codes_score_zero(data):
    constant = _with_codes(data, lambda c: np.full_like(c, 0.3))
    result = score_arrays(**constant, metrics=[*FAST, "dci"])
    for key in (
        "mig",
        "modularity",
        "sap_discrete",
        "sap_continuous",
        "irs",
        "gaussian_total_correlation",
        "gaussian_wasserstein_correlation",
        "gaussian_wasserstein_correlation_norm",
        "mutual_info_score",
        "dci_disentanglement",
        "dci_completeness",
    ):
        assert result[key] == 0.0, key
    assert result["explicitness_test"] == pytest.approx(0.5)
    assert np.all(result["dci_importance_matrix_codes_x_factors"] == 0.0)


def test_one_constant_code_is_ignored_by_irs_and_gaussian_scores(data):
    padded = _with_codes(data, lambda c: np.concatenate([c, np.full((len(c), 1), 2.0)], axis=1))
    base = score_arrays(**data, metrics=["mig", "irs", "unsupervised"])
    result = score_arrays(**padded, metrics=["mig", "irs", "unsupervised"])
    for key in ("mig", "irs", "gaussian_total_correlation", "gaussian_wasserstein_correlation"):
        assert result[key] == pytest.approx(base[key], abs=1e-12), key
    assert np.all(result["mutual_info_matrix_codes_x_factors"][-1] == 0.0)


def test_duplicated_latent_removes_its_factors_gap(data):
    duplicated = _with_codes(data, lambda c: np.concatenate([c, c[:, 1:2]], axis=1))
    base = score_arrays(**data, metrics=["mig", "sap", "unsupervised"])
    result = score_arrays(**duplicated, metrics=["mig", "sap", "unsupervised"])
    assert base["mig_per_factor"][1] > 0.9
    assert result["mig_per_factor"][1] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(
        result["mig_per_factor"][[0, 2, 3]], base["mig_per_factor"][[0, 2, 3]]
    )
    assert result["mig"] < base["mig"] - 0.2
    assert result["sap_continuous"] < base["sap_continuous"] - 0.2
    assert result["mutual_info_score"] > base["mutual_info_score"]
    assert result["gaussian_total_correlation"] > 10.0  # a singular covariance: unbounded


def test_dci_does_not_depend_on_n_jobs(data):
    serial = dci(**data, n_jobs=1)
    parallel = dci(**data, n_jobs=2)
    # Worker processes run with other thread-pool limits; OpenMP-parallel kernels need not
    # add in the same order, so equal up to a few ulps rather than bit for bit.
    for key, value in serial.items():
        if isinstance(value, float | np.ndarray):
            np.testing.assert_allclose(parallel[key], value, rtol=1e-12, atol=1e-14, err_msg=key)
        else:
            assert parallel[key] == value, key
    assert serial["dci_disentanglement"] > 0.9


def test_score_arrays_without_test_points_skips_with_a_note(data):
    result = score_arrays(data["codes_train"], data["factors_train"], metrics="sap,dci,mig")
    assert set(result["skipped"]) == {
        "sap_discrete",
        "sap_discrete_score_matrix",
        "dci_informativeness_test",
    }
    assert all("codes_test" in reason for reason in result["skipped"].values())
    assert "sap_continuous" in result and "dci_disentanglement" in result
    assert "sap_discrete" not in result


def test_score_arrays_keeps_float32_codes(data):
    codes32 = _with_codes(data, lambda c: c.astype(np.float32))
    assert check_arrays(**codes32)[0].dtype == np.float32  # binned in float32, as the reference
    result = score_arrays(**codes32, metrics=["mig"])
    assert result["mig"] > 0.9
    assert check_arrays(**_with_codes(data, lambda c: (c * 10).astype(int)))[0].dtype == np.float64


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": ["mgi"]}, "did you mean 'mig'"),
        ({"metrics": ["beta_vae"]}, "needs a data set"),
        ({"num_binz": 10}, "did you mean 'num_bins'"),
    ],
)
def test_score_arrays_rejects_unknown_names(data, kwargs, message):
    with pytest.raises(UserInputError, match=message):
        score_arrays(**data, **kwargs)


def test_metric_registry_lists_every_metric_with_its_keys():
    assert list(metric_names()) == [
        "mig",
        "mig_sup",
        "infomec",
        "dcimig",
        "jemmig",
        "dci",
        "sap",
        "dci_es",
        "beta_vae",
        "factor_vae",
        "modularity_explicitness",
        "irs",
        "z_diff",
        "unsupervised",
        "z_min_var",
        "downstream_task_logistic_regression",
        "downstream_task_boosted_trees",
    ]
    assert sorted(METRICS.names()) == sorted(metric_names())
    for name in metric_names():
        metric = METRICS.get(name)
        assert set(metric.test_keys) <= set(metric.key_names)
        assert set(metric.sklearn_keys) <= set(metric.key_names)


def _constant_representation(observations: np.ndarray) -> np.ndarray:
    return np.zeros((len(observations), 3))


def test_sampled_scores_of_a_constant_representation():
    dataset = get_dataset("toy")
    factor = compute_factor_vae(dataset, _constant_representation, np.random.RandomState(0))
    assert factor["factorvae_eval_accuracy"] == 0.0
    assert factor["factorvae_num_active_dims_true"] == 0
    beta = compute_beta_vae(
        dataset, _constant_representation, np.random.RandomState(0), num_train=200, num_eval=100
    )
    assert beta["betavae_eval_accuracy"] < 0.45  # chance level for 4 factors


def test_score_sampled_checks_per_metric_settings():
    with pytest.raises(UserInputError, match="num_trian"):
        score_sampled(
            get_dataset("toy"),
            _constant_representation,
            metrics=["beta_vae"],
            settings={"beta_vae": {"num_trian": 10}},
        )
