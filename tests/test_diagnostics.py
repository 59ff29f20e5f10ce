"""`disbench show`: pictures drawn from a run's stored scores and artefacts."""

import io

import numpy as np
import PIL.Image
import pytest

from benchmark.absent import POINT_MASS_REASON, absent
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


def _reconstruction_pairs(num=4, size=24) -> np.ndarray:
    """uint8 `[2, num, size, size, 1]`: inputs whose pixel [0, 0] is 10 * i, reconstructions grey."""
    pairs = np.zeros((2, num, size, size, 1), np.uint8)
    pairs[0, :, 0, 0, 0] = 10 * np.arange(num)
    pairs[0, :, 8:16, 8:16] = 255
    pairs[1] = 128
    return pairs


def _record(store, spec, with_kl=True) -> None:
    """Marks `spec` done with a traversal, reconstructions and the two matrices (and KL bars)."""
    store.claim(spec.run_id, "h:1", expected_status="pending", expected_owner=None)
    buffer = io.BytesIO()
    np.save(buffer, _traversals().astype(np.float16))
    pairs = io.BytesIO()
    np.save(pairs, _reconstruction_pairs())
    mi = np.zeros((3, 5))
    mi[0, 3], mi[1, 4], mi[2, 0] = 1.2, 0.9, 0.3
    scores = {
        "mutual_info_matrix_codes_x_factors": mi.tolist(),
        "dci_importance_matrix_codes_x_factors": (mi / mi.sum()).tolist(),
    }
    if with_kl:
        scores["rate_per_latent_nats"] = [0.5, 2.0, 0.01]
    else:  # what a point mass stores: absent, with its reason
        scores["rate_per_latent_nats"] = absent(POINT_MASS_REASON)
    store.record_outcome(
        RunOutcome(
            run_id=spec.run_id,
            status="done",
            started_at="2025-03-01T10:00:00Z",
            finished_at="2025-03-01T10:01:00Z",
            duration_s=60.0,
            scores=scores,
            artifacts={
                "traversals": ("traversals.npy", buffer.getvalue()),
                "reconstructions": ("reconstructions.npy", pairs.getvalue()),
            },
        )
    )


def _task(models, sweep, rows) -> TaskConfig:
    return TaskConfig(
        name="show_demo",
        description="one run",
        dataset=DatasetConfig("dsprites"),
        models=models,
        sweep=sweep,
        seeds=(0,),
        training=TrainingConfig(steps=10, batch_size=8, learning_rate=0.001),
        evaluation=EvaluationConfig(metrics=("mig",), representation=("mean",)),
        leaderboard=LeaderboardConfig(rows=rows, main_metric="mig"),
    )


@pytest.fixture
def db(tmp_path):
    task = _task(
        (ModelConfig("beta_vae", {"architecture": "fc"}),),
        ({"beta": 1, "posterior": "diagonal"},),
        ("entry", "posterior", "beta"),
    )
    (spec,) = expand_task(task)
    path = tmp_path / "show.sqlite"
    store = ResultStore(path)
    store.register_task(task.name, task.to_dict(), [spec])
    _record(store, spec)
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
        "reconstructions.png",
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
        "reconstructions.png",
        "mig_mutual_info.png",
        "dci_importance.png",
        "kl_per_latent.png",
    ):
        assert f"(show_demo/diagnostics/diagonal_beta1/{name})" in page
        assert (
            tmp_path / "boards" / "show_demo" / "diagnostics" / "diagonal_beta1" / name
        ).is_file()


def test_reconstruction_canvas_puts_the_inputs_above():
    from benchmark.leaderboard.diagnostics import reconstruction_canvas

    pairs = _reconstruction_pairs().astype(np.float32) / 255
    canvas = reconstruction_canvas(pairs)
    assert canvas.shape == (2 * 24 + 2, 4 * 24 + 3 * 2, 1)
    for i in range(4):
        left = i * (24 + 2)
        np.testing.assert_array_equal(canvas[:24, left : left + 24], pairs[0, i])
        np.testing.assert_array_equal(canvas[26:, left : left + 24], pairs[1, i])
    assert np.all(canvas[24:26] == 1.0)  # a white gap between the rows


def test_show_draws_reconstructions_from_a_checkpoint_when_none_were_stored(tmp_path, capsys):
    """A run evaluated before reconstructions were stored: `--checkpoint` draws them."""
    from benchmark.data import get_dataset
    from benchmark.evaluation.reconstructions import reconstruction_inputs
    from benchmark.models import build_model
    from benchmark.training import train

    task = TaskConfig(
        name="old_run",
        description="one run without reconstructions",
        dataset=DatasetConfig("dsprites"),
        models=(ModelConfig("beta_vae", {"architecture": "fc", "fc_width": 16, "latent_dim": 2}),),
        sweep=({"beta": 1, "posterior": "diagonal"},),
        seeds=(0,),
        training=TrainingConfig(steps=2, batch_size=8, learning_rate=0.001),
        evaluation=EvaluationConfig(metrics=("mig",), representation=("mean",)),
        leaderboard=LeaderboardConfig(rows=("entry", "posterior", "beta"), main_metric="mig"),
    )
    (spec,) = expand_task(task)
    data = get_dataset("dsprites")
    model = build_model(spec.entry, data.observation_shape, **spec.model_args)
    checkpoints = tmp_path / "checkpoints"
    train(model, data, steps=2, batch_size=8, seed=0, checkpoint_dir=checkpoints, progress=False)
    path = tmp_path / "old.sqlite"
    with ResultStore(path) as store:
        store.register_task(task.name, task.to_dict(), [spec])
        store.claim(spec.run_id, "h:1", expected_status="pending", expected_owner=None)
        store.record_outcome(
            RunOutcome(
                run_id=spec.run_id,
                status="done",
                started_at="2025-03-01T10:00:00Z",
                finished_at="2025-03-01T10:01:00Z",
                duration_s=60.0,
                scores={"mig": 0.1},
            )
        )
    out = tmp_path / "pictures"
    assert main(["show", spec.run_id, "--db", str(path), "--out", str(out)]) == 0
    assert "stored no reconstructions; pass --checkpoint" in capsys.readouterr().err
    assert not (out / "reconstructions.png").exists()
    argv = ["show", spec.run_id, "--db", str(path), "--out", str(out), "--checkpoint"]
    assert main([*argv, str(checkpoints)]) == 0
    assert "reconstructions.png" in capsys.readouterr().out
    picture = np.asarray(PIL.Image.open(out / "reconstructions.png"))
    assert picture.ndim == 3 and picture.shape[1] > picture.shape[0]  # two rows of ten
    assert reconstruction_inputs(data).shape == (10, 64, 64, 1)


def test_autoencoders_get_diagnostics_of_their_own(tmp_path):
    """A run without posterior and beta (an autoencoder) gets its own cell, named by its row."""
    from benchmark.leaderboard.writer import write_leaderboard

    task = _task(
        (
            ModelConfig("beta_vae", {"architecture": "fc", "beta": 1, "posterior": "diagonal"}),
            ModelConfig("sparse_autoencoder", {"architecture": "fc", "sparsity": 0.1}),
        ),
        ({},),
        ("entry", "posterior", "beta", "sparsity"),
    )
    specs = expand_task(task)
    path = tmp_path / "show.sqlite"
    with ResultStore(path) as store:
        store.register_task(task.name, task.to_dict(), specs)
        for spec in specs:
            _record(store, spec, with_kl=spec.entry == "beta_vae")
        write_leaderboard(store, "show_demo", tmp_path / "boards", command="disbench leaderboard")
    page = (tmp_path / "boards" / "show_demo.md").read_text()
    assert (
        "## Diagnostics of the best run of each posterior and beta (and of each autoencoder)"
        in page
    )
    autoencoder = next(s for s in specs if s.entry == "sparse_autoencoder")
    assert f"### sparse_autoencoder, sparsity 0.1 (run `{autoencoder.run_id}`)" in page
    assert "### diagonal, beta 1 (run `" in page
    folder = tmp_path / "boards" / "show_demo" / "diagnostics" / "sparse_autoencoder_sparsity0.1"
    assert sorted(p.name for p in folder.iterdir()) == [
        "dci_importance.png", "mig_mutual_info.png", "reconstructions.png", "traversals.gif",
    ]  # fmt: skip
    assert "(show_demo/diagnostics/sparse_autoencoder_sparsity0.1/traversals.gif)" in page
