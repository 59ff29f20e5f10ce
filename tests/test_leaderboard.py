"""Leaderboards: Student-t intervals, the Markdown page (golden file), figures and the index."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
import pytest

from benchmark.config import (
    DatasetConfig,
    EvaluationConfig,
    LeaderboardConfig,
    ModelConfig,
    TaskConfig,
    TrainingConfig,
    expand_task,
)
from benchmark.errors import UserInputError
from benchmark.leaderboard import (
    load_results,
    render_markdown,
    seed_interval,
    write_leaderboard,
)
from benchmark.leaderboard.figures import best_run, plan_figures
from benchmark.leaderboard.tables import best_indices, build_rows
from benchmark.store import ResultStore, RunOutcome

GOLDEN = Path(__file__).resolve().parent / "golden" / "leaderboard_synthetic.md"
PNG = b"\x89PNG\r\n\x1a\n"


# ---- intervals over seeds ----------------------------------------------------------------------


def test_student_t_interval_matches_the_textbook_value():
    # n = 5, mean 3, s = sqrt(2.5), t(0.975, 4) = 2.7764 (any t table): 3 +- 1.9632.
    summary = seed_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    assert summary.n == 5 and summary.mean == pytest.approx(3.0)
    assert summary.low == pytest.approx(3.0 - 2.7764 * math.sqrt(2.5 / 5), abs=1e-4)
    assert summary.high == pytest.approx(3.0 + 2.7764 * math.sqrt(2.5 / 5), abs=1e-4)
    # Two seeds: t(0.975, 1) = 12.706, far wider than the two values themselves.
    pair = seed_interval([0.4, 0.6])
    assert pair.high - pair.low == pytest.approx(2 * 12.706 * 0.1, abs=1e-3)
    assert pair.low < 0.4 and pair.high > 0.6


def test_student_t_interval_covers_the_mean_at_its_stated_rate():
    rng = np.random.RandomState(0)
    draws = rng.normal(1.0, 2.0, size=(4000, 5))
    covered = [(s.low <= 1.0 <= s.high) for s in map(seed_interval, draws)]
    assert np.mean(covered) == pytest.approx(0.95, abs=0.015)  # binomial sd 0.0034


def test_interval_edge_cases():
    assert seed_interval([]) is None
    assert seed_interval([float("nan")]) is None
    single = seed_interval([0.7, float("nan")])
    assert (single.mean, single.low, single.high, single.n) == (0.7, 0.7, 0.7, 1)
    constant = seed_interval([0.5, 0.5, 0.5])
    assert constant.low == constant.high == 0.5
    with pytest.raises(ValueError):
        seed_interval([1.0, 2.0], confidence=1.0)


def test_best_is_bold_only_when_its_interval_clears_the_others():
    summaries = [seed_interval([0.3, 0.31]), seed_interval([0.5, 0.52]), None]
    assert best_indices(summaries, +1) == {1}
    assert best_indices(summaries, -1) == {0}
    assert best_indices(summaries, 0) == set()
    assert best_indices([seed_interval([0.3]), None], +1) == set()  # one row: nothing to beat
    overlapping = [seed_interval([0.3, 0.6]), seed_interval([0.5, 0.52])]
    assert best_indices(overlapping, +1) == set()  # no winner among overlapping intervals
    tied = [seed_interval([0.5]), seed_interval([0.5])]
    assert best_indices(tied, +1) == set()


# ---- a fixed synthetic database ----------------------------------------------------------------


def synthetic_task() -> TaskConfig:
    return TaskConfig(
        name="synthetic",
        description="A fixed synthetic database for the golden leaderboard.",
        dataset=DatasetConfig("toy"),
        models=(ModelConfig("beta_vae", {"architecture": "fc"}),),
        sweep=tuple(
            {"beta": b, "posterior": p} for b in (1, 4) for p in ("diagonal", "full_covariance")
        ),
        seeds=(0, 1, 2),
        training=TrainingConfig(steps=500, batch_size=32, learning_rate=0.001),
        evaluation=EvaluationConfig(
            metrics=("mig", "dci", "unsupervised"), representation=("mean", "sampled")
        ),
        leaderboard=LeaderboardConfig(rows=("entry", "posterior", "beta"), main_metric="mig"),
    )


def synthetic_scores(posterior: str, beta: int, seed: int) -> dict:
    rng = np.random.RandomState(1000 * beta + 10 * seed + (posterior == "diagonal"))
    mig = 0.1 * beta**0.5 + (0.15 if posterior == "full_covariance" else 0.0) + 0.03 * rng.rand()
    corr = 0.05 if posterior == "diagonal" else 0.3 / beta
    return {
        "mig": mig,
        "dci_disentanglement": 0.4 + 0.1 * beta**0.5 + 0.02 * rng.rand(),
        "dci_completeness": 0.5 + 0.01 * seed,
        "dci_informativeness_train": 0.99,  # secondary: stored, not tabled
        "gaussian_total_correlation": 2.0 / beta + 0.1 * rng.rand(),
        "posterior_mean_abs_correlation": corr + 0.01 * seed,
        "sampled/mig": 0.8 * mig,
        "custom_score": float(seed),
        "irs": float("nan") if seed == 2 else 0.6,
        "posterior_correlation_matrix": [[1.0, corr], [corr, 1.0]],
        "mig_per_factor": [mig, mig],
    }


def make_synthetic_db(path: Path, extra=None) -> ResultStore:
    """The golden database; `extra(posterior, beta, seed)` adds scores to each finished run."""
    task = synthetic_task()
    specs = expand_task(task)
    store = ResultStore(path)
    store.register_task(task.name, task.to_dict(), specs)
    number = store.start_invocation(
        task.name, "disbench run synthetic --workers 2", "local", git_commit="0123abc"
    )
    versions = {"python": "3.11.7", "disbench": "0.1.0", "numpy": "2.4.6", "tensorflow": "2.21.0"}
    traversal = io.BytesIO()
    np.save(traversal, np.linspace(0, 1, 2 * 3 * 4 * 4).reshape(2, 3, 4, 4))
    for index, spec in enumerate(specs):
        posterior, beta = spec.model_args["posterior"], spec.model_args["beta"]
        store.claim(spec.run_id, "h:1", expected_status="pending", expected_owner=None)
        if posterior == "diagonal" and beta == 4 and spec.seed == 2:
            store.record_outcome(
                RunOutcome(
                    run_id=spec.run_id,
                    status="failed",
                    started_at="2025-03-01T10:00:00Z",
                    finished_at="2025-03-01T10:00:05Z",
                    duration_s=5.0,
                    error="TrainingDiverged: training diverged at step 312: loss is NaN",
                )
            )
            continue
        if posterior == "full_covariance" and beta == 4 and spec.seed == 2:
            continue  # left running: an interrupted run
        store.record_outcome(
            RunOutcome(
                run_id=spec.run_id,
                status="done",
                started_at=f"2025-03-01T{10 + index // 6:02d}:{index % 6 * 10:02d}:00Z",
                finished_at=f"2025-03-01T{10 + index // 6:02d}:{index % 6 * 10 + 9:02d}:00Z",
                duration_s=540.0,
                scores={
                    **synthetic_scores(posterior, beta, spec.seed),
                    **(extra(posterior, beta, spec.seed) if extra else {}),
                },
                artifacts={"traversals": ("traversals.npy", traversal.getvalue())},
                versions=versions,
                git_commit="0123abc",
            )
        )
    store.finish_invocation(number, 1)
    return store


@pytest.fixture
def synthetic(tmp_path) -> ResultStore:
    store = make_synthetic_db(tmp_path / "synthetic.sqlite")
    yield store
    store.close()


def test_markdown_matches_the_golden_file(synthetic):
    text = render_markdown(
        load_results(synthetic, "synthetic"),
        command="disbench leaderboard synthetic",
        figure_dir="synthetic",
    )
    if os.environ.get("DISBENCH_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_markdown_is_a_function_of_the_rows_alone(tmp_path):
    first = make_synthetic_db(tmp_path / "a.sqlite")
    second = make_synthetic_db(tmp_path / "b.sqlite")
    pages = [
        render_markdown(load_results(s, "synthetic"), command="c", figure_dir="f")
        for s in (first, second)
    ]
    assert pages[0] == pages[1]


def test_rows_group_seeds_and_follow_the_task_order(synthetic):
    results = load_results(synthetic, "synthetic")
    rows = build_rows(results, ("entry", "posterior", "beta"))
    assert [row.key for row in rows] == [
        ("beta_vae", "diagonal", "1"),
        ("beta_vae", "diagonal", "4"),
        ("beta_vae", "full_covariance", "1"),
        ("beta_vae", "full_covariance", "4"),
    ]
    assert [len(row.done) for row in rows] == [3, 2, 3, 2]
    best = best_run(results, lambda run: True)
    assert (best.model_args["posterior"], best.model_args["beta"]) == ("full_covariance", 4)


def test_figures_planned_and_written(synthetic, tmp_path):
    results = load_results(synthetic, "synthetic")
    kinds = [f.kind for f in plan_figures(results)]
    assert kinds.count("metric_vs_x") >= 3  # mig, dci disentanglement, correlation, ...
    assert "traversals" in kinds and "correlation_heatmap" in kinds
    out = tmp_path / "boards"
    (out / "synthetic").mkdir(parents=True)
    (out / "synthetic" / "stale.png").write_bytes(PNG)
    written = write_leaderboard(synthetic, "synthetic", out, command="disbench leaderboard x")
    assert (out / "synthetic.md").read_text().startswith("<!-- disbench leaderboard ")
    pngs = sorted(p.name for p in (out / "synthetic").iterdir())
    assert "stale.png" not in pngs
    assert {"mig_vs_beta.png", "traversals_best.png", "posterior_correlation.png"} <= set(pngs)
    for name in pngs:
        assert (out / "synthetic" / name).read_bytes().startswith(PNG)
    index = (out / "README.md").read_text()
    assert "| [synthetic](synthetic.md) | 10 of 12 | 1 |" in index
    assert out / "README.md" in written


def test_unknown_task_in_database(synthetic):
    with pytest.raises(UserInputError, match=r"no runs of task 'synthetik' \(did you mean"):
        load_results(synthetic, "synthetik")


def test_leaderboard_command(synthetic, tmp_path, capsys):
    from benchmark.cli.main import main

    out = tmp_path / "boards"
    code = main(["leaderboard", "synthetic", "--db", str(synthetic.path), "--out", str(out)])
    assert code == 0
    assert (out / "synthetic.md").exists() and (out / "README.md").exists()
    assert "synthetic.md" in capsys.readouterr().out
    assert main(["leaderboard", "synthetic", "--db", str(tmp_path / "none.sqlite")]) == 2
    assert not (tmp_path / "none.sqlite").exists()


def convergence_scores(posterior: str, beta: int, seed: int) -> dict:
    """Saturating held-out ELBO curves; full covariance at beta 4, seed 1 still rising."""
    steps = np.arange(50, 501, 50)
    rising = posterior == "full_covariance" and beta == 4 and seed == 1
    scale = 2000.0 if rising else 60.0
    elbo = -40.0 * beta**0.3 - 5.0 * seed - 300.0 * np.exp(-steps / scale)
    return {
        "train/converged": 0.0 if rising else 1.0,
        "train/heldout_elbo_slope": 1.0,
        "train/heldout_elbo": float(elbo[-1]),
        "train/steps_trained": 500.0,
        "train/heldout_elbo_curve": [[int(s), float(e)] for s, e in zip(steps, elbo, strict=True)],
    }


def test_unconverged_runs_are_counted_marked_and_their_curves_drawn(tmp_path):
    store = make_synthetic_db(tmp_path / "c.sqlite", extra=convergence_scores)
    results = load_results(store, "synthetic")
    text = render_markdown(results, command="c", figure_dir="f")
    assert "**1 of 10 finished runs are not converged**" in text
    mig_rows = [line for line in text.splitlines() if line.startswith("| beta_vae |")]
    marked = [line for line in mig_rows if "†" in line]
    assert marked and all("| full_covariance | 4 |" in line for line in marked)
    assert "## Training and convergence" in text and "converged (share)" in text
    kinds = [f.kind for f in plan_figures(results)]
    assert "heldout_curves" in kinds
    out = tmp_path / "boards"
    write_leaderboard(store, "synthetic", out, command="disbench leaderboard synthetic")
    assert (out / "synthetic" / "heldout_elbo_curves.png").read_bytes().startswith(PNG)
    store.close()


def test_header_lists_free_parameters_per_family_and_never_tables_them(synthetic):
    import dataclasses

    results = load_results(synthetic, "synthetic")
    flow = {"diagonal": 0, "full_covariance": 4950}
    runs = tuple(
        dataclasses.replace(
            run,
            scores={
                **run.scores,
                "parameters/encoder": 1_000_000.0,
                "parameters/posterior_head": 20_200.0,
                "parameters/flow": float(flow[run.model_args["posterior"]]),
                "parameters/decoder": 2_000.0,
            },
        )
        for run in results.runs
    )
    text = render_markdown(dataclasses.replace(results, runs=runs), command="c", figure_dir="f")
    line = next(t for t in text.splitlines() if t.startswith("| free parameters |"))
    assert line == (
        "| free parameters | diagonal: encoder trunk 1,000,000, posterior head 20,200, flow 0, "
        "decoder 2,000; full_covariance: encoder trunk 1,000,000, posterior head 20,200, "
        "flow 4,950, decoder 2,000 |"
    )
    assert "parameters/" not in text  # not in any table, not in "Other scores"


def test_headline_total_correlation_is_the_mixture_estimate():
    """TC q(z) from M codes is biased low (negative on cpu_study at beta 4); no figure shows it."""
    from benchmark.columns import column_for

    assert column_for("decomposition_total_correlation_nats").headline
    minibatch = column_for("aggregate_total_correlation_nats")
    assert not minibatch.headline and "biased low" in minibatch.label


def trajectory_scores(posterior: str, beta: int, seed: int) -> dict:
    """Three trajectory points per run: MIG rising with the images seen."""
    # TRAJECTORY_FIELDS: steps, images, heldout_elbo, mig, factor_vae, active_units
    return {
        "train/trajectory": [
            [float(s), 32.0 * s, -50.0 + k, 0.1 * k + 0.01 * seed, 0.5, 3.0]
            for k, s in enumerate((100, 200, 300), start=1)
        ]
    }


def test_trajectories_are_drawn_against_images_seen(tmp_path):
    from benchmark.leaderboard.figures import trajectories
    from benchmark.leaderboard.plots import draw_trajectories

    store = make_synthetic_db(tmp_path / "t.sqlite", extra=trajectory_scores)
    results = load_results(store, "synthetic")
    rows = trajectories(results)
    assert rows and all(len(points) == 3 for seeds in rows.values() for _, points in seeds)
    first = next(iter(rows.values()))[0][1]
    assert [p["images"] for p in first] == [3200.0, 6400.0, 9600.0]
    assert "trajectories" in [f.kind for f in plan_figures(results)]
    path = draw_trajectories(results, tmp_path / "t.png")
    assert path.stat().st_size > 10_000
