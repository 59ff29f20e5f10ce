"""UDR at leaderboard time, from the codes each run stored."""

import io

import numpy as np
import pytest
import scipy.stats

from benchmark.config import expand_task
from benchmark.config.schema import (
    DatasetConfig,
    EvaluationConfig,
    LeaderboardConfig,
    ModelConfig,
    TaskConfig,
    TrainingConfig,
)
from benchmark.leaderboard.markdown import render_markdown
from benchmark.leaderboard.results import load_results
from benchmark.leaderboard.udr import udr_section, with_udr
from benchmark.leaderboard.writer import write_leaderboard
from benchmark.store import ResultStore, RunOutcome


def _task() -> TaskConfig:
    return TaskConfig(
        name="udr_demo",
        description="Seeds of the full-covariance runs agree; the diagonal ones do not.",
        dataset=DatasetConfig("toy"),
        models=(ModelConfig("beta_vae", {"architecture": "fc"}),),
        sweep=tuple({"beta": 1, "posterior": p} for p in ("diagonal", "full_covariance")),
        seeds=(0, 1, 2),
        training=TrainingConfig(steps=10, batch_size=8, learning_rate=0.001),
        evaluation=EvaluationConfig(metrics=("mig",), representation=("mean",)),
        leaderboard=LeaderboardConfig(rows=("entry", "posterior", "beta"), main_metric="mig"),
    )


def _grid(values: int = 10, dim: int = 3) -> np.ndarray:
    axes = np.meshgrid(*[np.linspace(-1.0, 1.0, values)] * dim, indexing="ij")
    return np.stack([a.ravel() for a in axes], axis=1)  # 1,000 points, uncorrelated latents


def _codes(posterior: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    if posterior == "full_covariance":  # the same code up to permutation, sign and scale
        codes = _grid()[:, rng.permutation(3)] * rng.choice([-2.0, 3.0], size=3)
    else:
        codes = rng.normal(size=(1000, 3))
    buffer = io.BytesIO()
    np.savez(buffer, codes=codes.astype(np.float32), kl_per_latent=np.ones(3))
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path):
    task = _task()
    specs = expand_task(task)
    db = ResultStore(tmp_path / "udr.sqlite")
    db.register_task(task.name, task.to_dict(), specs)
    for spec in specs:
        posterior = spec.model_args["posterior"]
        db.claim(spec.run_id, "h:1", expected_status="pending", expected_owner=None)
        db.record_outcome(
            RunOutcome(
                run_id=spec.run_id,
                status="done",
                started_at="2025-03-01T10:00:00Z",
                finished_at="2025-03-01T10:01:00Z",
                duration_s=60.0,
                scores={"mig": 0.5 if posterior == "full_covariance" else 0.1 + 0.01 * spec.seed},
                artifacts={"udr_codes": ("udr_codes.npz", _codes(posterior, spec.seed))},
            )
        )
    yield db
    db.close()


def test_udr_pools_seeds_of_a_configuration_and_all_runs(store):
    results = with_udr(store, load_results(store, "udr_demo"))
    for run in results.runs:
        if run.model_args["posterior"] == "full_covariance":
            assert run.scores["udr_spearman"] == pytest.approx(1.0, abs=1e-9)
            assert run.scores["udr_lasso"] == pytest.approx(0.9, abs=1e-6)
        else:
            assert run.scores["udr_spearman"] < 0.15
            assert run.scores["udr_lasso"] < 0.05
        # Across all six runs the median partner is a stranger half the time.
        assert "udr_spearman_all" in run.scores
    lines = "\n".join(udr_section(results))
    udr_values = [r.scores["udr_spearman"] for r in results.runs]
    mig_values = [r.scores["mig"] for r in results.runs]
    rho = scipy.stats.spearmanr(udr_values, mig_values)[0]
    assert rho > 0.5  # the agreeing seeds are also the high-MIG ones
    assert f"| udr_spearman | {rho:.2f} (n=6) |" in lines


def test_leaderboard_page_shows_udr(store, tmp_path):
    write_leaderboard(store, "udr_demo", tmp_path, command="disbench leaderboard udr_demo")
    page = (tmp_path / "udr_demo.md").read_text()
    assert "## Unsupervised model selection (UDR)" in page
    assert "UDR Spearman (seeds)" in page and "## UDR and supervised metrics" in page
    # Without stored codes nothing changes: the page is the rows' alone.
    plain = render_markdown(load_results(store, "udr_demo"), command="x", figure_dir="f")
    assert "UDR" not in plain
