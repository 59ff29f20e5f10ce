"""`disbench show`: pictures drawn from a run's stored scores and artefacts."""

import io

import numpy as np
import PIL.Image
import pytest

from benchmark.cli.main import main
from benchmark.config import expand_task
from benchmark.config.schema import (
    DatasetConfig,
    EvaluationConfig,
    LeaderboardConfig,
    ModelConfig,
    TaskConfig,
    TrainingConfig,
)
from benchmark.store import ResultStore, RunOutcome


def _traversals(latents=3, steps=5, size=24) -> np.ndarray:
    """A square that moves right along z0, down along z1, and stays put along z2."""
    images = np.zeros((latents, steps, size, size, 1), np.float32)
    for t in range(steps):
        images[0, t, 8:14, 2 + 4 * t : 8 + 4 * t] = 1.0
        images[1, t, 2 + 4 * t : 8 + 4 * t, 8:14] = 1.0
        images[2, t, 8:14, 8:14] = 1.0
    return images


@pytest.fixture
def db(tmp_path):
    task = TaskConfig(
        name="show_demo",
        description="one run",
        dataset=DatasetConfig("dsprites"),
        models=(ModelConfig("beta_vae", {"architecture": "fc"}),),
        sweep=({"beta": 1, "posterior": "diagonal"},),
        seeds=(0,),
        training=TrainingConfig(steps=10, batch_size=8, learning_rate=0.001),
        evaluation=EvaluationConfig(metrics=("mig",), representation=("mean",)),
        leaderboard=LeaderboardConfig(rows=("entry", "posterior", "beta"), main_metric="mig"),
    )
    (spec,) = expand_task(task)
    path = tmp_path / "show.sqlite"
    store = ResultStore(path)
    store.register_task(task.name, task.to_dict(), [spec])
    store.claim(spec.run_id, "h:1", expected_status="pending", expected_owner=None)
    buffer = io.BytesIO()
    np.save(buffer, _traversals().astype(np.float16))
    mi = np.zeros((3, 5))
    mi[0, 3], mi[1, 4], mi[2, 0] = 1.2, 0.9, 0.3
    store.record_outcome(
        RunOutcome(
            run_id=spec.run_id,
            status="done",
            started_at="2025-03-01T10:00:00Z",
            finished_at="2025-03-01T10:01:00Z",
            duration_s=60.0,
            scores={
                "mutual_info_matrix_codes_x_factors": mi.tolist(),
                "dci_importance_matrix_codes_x_factors": (mi / mi.sum()).tolist(),
                "rate_per_latent_nats": [0.5, 2.0, 0.01],
            },
            artifacts={"traversals": ("traversals.npy", buffer.getvalue())},
        )
    )
    store.close()
    return path, spec.run_id


def test_show_writes_the_pictures(db, tmp_path, capsys):
    path, run_id = db
    out = tmp_path / "pictures"
    assert main(["show", run_id[:8], "--db", str(path), "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "dci_importance.png",
        "kl_per_latent.png",
        "mig_mutual_info.png",
        "traversals.gif",
    ]
    gif = PIL.Image.open(out / "traversals.gif")
    assert gif.n_frames == 5 + 3  # 5 steps forward, then back without repeating the ends
    frame = np.asarray(gif.convert("L"))
    assert frame.shape == (48, 2 * (3 * 24 + 2 * 2))  # three latents side by side, doubled


def test_show_unknown_run(db, capsys):
    path, _ = db
    assert main(["show", "nope", "--db", str(path)]) == 2
    assert "no run 'nope'" in capsys.readouterr().err


def test_leaderboard_embeds_the_best_runs_pictures(db, tmp_path):
    from benchmark.leaderboard.writer import write_leaderboard

    path, run_id = db
    with ResultStore(path, create=False) as store:
        write_leaderboard(store, "show_demo", tmp_path / "boards", command="disbench leaderboard")
    page = (tmp_path / "boards" / "show_demo.md").read_text()
    assert "## Diagnostics of the best run of each posterior and beta" in page
    assert f"### diagonal, beta 1 (run `{run_id}`)" in page
    for name in (
        "traversals.gif",
        "mig_mutual_info.png",
        "dci_importance.png",
        "kl_per_latent.png",
    ):
        assert f"(show_demo/diagnostics/diagonal_beta1/{name})" in page
        assert (
            tmp_path / "boards" / "show_demo" / "diagnostics" / "diagonal_beta1" / name
        ).is_file()
