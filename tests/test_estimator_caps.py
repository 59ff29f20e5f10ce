"""Estimators at their caps are flagged on the page, never read as measurements."""

from benchmark.leaderboard.rate_distortion import _capped, _estimator, _qstar_capped
from benchmark.leaderboard.results import RunRow


def _run(seed: int, **scores) -> RunRow:
    return RunRow(
        run_id=str(seed), status="done", label="beta_vae", entry="beta_vae", dataset="d",
        seed=seed, position=seed, model_args={"posterior": "iaf", "beta": 1}, scores=scores,
    )  # fmt: skip


def test_an_information_estimate_near_log_n_is_flagged_capped():
    log_n = 9.2103  # log 10,000
    runs = [
        _run(0, decomposition_mutual_information_nats=9.02, decomposition_log_population=log_n),
        _run(1, decomposition_mutual_information_nats=6.0, decomposition_log_population=log_n),
    ]
    assert _capped(runs) == " (capped: 1 of 2 runs at >= 95% of log N = 9.210)"
    assert _capped(runs[1:]) == ""


def test_tc_by_m_is_the_mean_over_every_seed_not_the_first():
    trend = [50, 100, 200]
    runs = [
        _run(s, decomposition_population=200.0, decomposition_trend_population=trend,
             decomposition_trend_total_correlation_nats=[1.0 + s, 2.0 + s, 3.0 + s])
        for s in range(3)
    ]  # fmt: skip
    text = _estimator(runs)
    assert "mean of 3 seeds" in text and "50: 2.000" in text and "200: 4.000" in text


def test_correlation_over_active_latents_ignores_the_inactive_ones():
    import numpy as np

    from benchmark.absent import absent_reason
    from benchmark.evaluation.latent_scores import _active_latents, _mean_abs_over_active

    corr = np.eye(4)
    corr[0, 1] = corr[1, 0] = 0.6
    activity = np.diag([1.0, 0.5, 0.001, 0.0])  # latents 2 and 3 at the prior
    assert _mean_abs_over_active(corr, _active_latents(activity)) == 0.6
    all_pairs = corr[~np.eye(4, dtype=bool)].mean()
    assert abs(all_pairs - 0.1) < 1e-12  # the all-latent mean dilutes it six-fold
    lone = _mean_abs_over_active(corr, _active_latents(np.diag([1.0, 0.0, 0.0, 0.0])))
    assert absent_reason(lone) == "fewer than two active latents"


def test_a_gap_with_many_images_at_the_qstar_step_cap_is_flagged():
    runs = [_run(0, gap_qstar_at_cap_share=0.4), _run(1, gap_qstar_at_cap_share=0.05), _run(2)]
    assert _qstar_capped(runs) == " (q* at its step cap: 1 of 3 runs with > 10% of images)"
    assert _qstar_capped(runs[1:]) == ""


def test_decomposition_terms_over_another_population_are_not_drawn_on_one_axis():
    from pathlib import Path

    import pytest

    from benchmark.leaderboard.figures import metric_series
    from benchmark.leaderboard.plots import _same_population
    from benchmark.leaderboard.results import load_results
    from benchmark.store import ResultStore

    db = Path(__file__).resolve().parent.parent / "results" / "cpu_study.sqlite"
    if not db.exists():
        pytest.skip("cpu_study.sqlite is not committed")
    with ResultStore(db, create=False, readonly=True) as store:
        results = load_results(store, "cpu_study")
    key = "decomposition_total_correlation_nats"
    kept, left_out = _same_population(results, key, metric_series(results, key))
    # Gaussian families over a 10,000-image subset, IAF over 200 images: IAF is left out.
    assert sorted(kept) == ["beta_vae diagonal", "beta_vae full_covariance"]
    assert left_out == ["beta_vae iaf (N = 200)"]
    assert _same_population(results, "mig", {"a": []}) == ({"a": []}, [])
