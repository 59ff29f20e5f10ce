"""The statistics layer: paired tests, Holm's adjustment, TOST equivalence, and modes."""

import numpy as np
import pytest
from scipy import stats

from benchmark.columns import Column
from benchmark.leaderboard.contrasts import contrasts, holm, modes, paired_test
from benchmark.leaderboard.results import RunRow
from benchmark.leaderboard.tables import Row


def test_holm_matches_a_hand_computation():
    # sorted: 0.01 (x4) = 0.04, 0.02 (x3) = 0.06, 0.03 (x2) = 0.06, 0.04 (x1) = 0.04 -> 0.06
    assert holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert holm([0.5, float("nan"), 0.01]) == pytest.approx([0.5, float("nan"), 0.02], nan_ok=True)
    assert holm([0.4, 0.3]) == pytest.approx([0.6, 0.6])  # 0.3 x 2, then max(0.6, 0.4 x 1)
    assert holm([0.7, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1


def test_identical_distributions_give_uniform_p_and_equivalence_within_a_wide_margin():
    rng = np.random.default_rng(0)
    p_values, equivalent = [], 0
    for _ in range(2000):
        shared = rng.normal(0, 1, 10)  # a seed effect both rows share (pairing)
        a = shared + rng.normal(0, 0.1, 10)
        b = shared + rng.normal(0, 0.1, 10)
        test = paired_test(a, b, margin=0.5)
        p_values.append(test.p)
        equivalent += test.p_equivalence < 0.05
    assert stats.kstest(p_values, "uniform").pvalue > 0.01
    assert np.mean(np.asarray(p_values) < 0.05) == pytest.approx(0.05, abs=0.015)
    assert equivalent >= 0.99 * 2000


def test_a_planted_difference_is_detected_and_not_called_equivalent():
    rng = np.random.default_rng(1)
    detected = 0
    for _ in range(500):
        shared = rng.normal(0, 1, 10)
        a = shared + rng.normal(0, 0.1, 10)
        b = shared + 0.3 + rng.normal(0, 0.1, 10)
        test = paired_test(a, b, margin=0.05)
        detected += test.p < 0.05
        assert test.p_equivalence > 0.05
        assert test.low < 0.3 + 0.2 and test.high > 0.3 - 0.2
    assert detected >= 0.99 * 500


def test_the_tost_p_is_the_larger_of_the_two_one_sided_t_tests():
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.1, 2.0, 3.05, 4.0])
    test = paired_test(a, b, margin=0.2)
    d = b - a
    lower = stats.ttest_1samp(d, -0.2, alternative="greater").pvalue
    upper = stats.ttest_1samp(d, 0.2, alternative="less").pvalue
    assert test.p_equivalence == pytest.approx(max(lower, upper))
    assert np.isnan(paired_test(a, b, margin=None).p_equivalence)


def _run(posterior: str, seed: int, mig: float, units: float) -> RunRow:
    return RunRow(
        run_id=f"{posterior}{seed}", status="done", label="", entry="beta_vae", dataset="d",
        seed=seed, position=0, model_args={"posterior": posterior},
        scores={"mig": mig, "active_units": units},
    )  # fmt: skip


def test_contrasts_pair_rows_by_seed_and_adjust_over_the_page():
    mig = Column("mig", "MIG", "g", 1, "mig", margin=0.05)
    rows = [
        Row(("diagonal", "4"), tuple(_run("d", s, 0.30 + 0.01 * s, 3) for s in range(5))),
        Row(("iaf", "4"), tuple(_run("i", s, 0.10 + 0.01 * s, 2) for s in range(5))),
        Row(("iaf", "8"), tuple(_run("j", s, 0.10 + 0.01 * s, 2) for s in range(5))),
    ]
    found = contrasts(rows, ("posterior", "beta"), [mig], skip_fields=("beta",))
    assert len(found) == 1  # (iaf, 4) vs (iaf, 8) differs in beta only: skipped
    (c,) = found
    assert (c.field, c.a, c.b, c.at) == ("posterior", "diagonal", "iaf", "beta 4")
    assert c.test.mean == pytest.approx(-0.2) and c.test.n == 5
    assert c.verdict == "differs"


def test_modes_group_seeds_by_active_units():
    runs = [_run("d", 0, 0.1, 2), _run("d", 1, 0.12, 2), _run("d", 2, 0.3, 3)]
    found = modes(runs, "mig")
    assert [(m.value, m.seeds) for m in found] == [(2.0, 2), (3.0, 1)]
    assert found[0].main_mean == pytest.approx(0.11)
