"""Trajectories: a run trained in segments is scored after each, and trains as it would whole."""

import functools
import json

import numpy as np
import pytest

import benchmark.pipeline
from benchmark.columns import TRAJECTORY_FIELDS
from benchmark.config import expand_task, load_task
from benchmark.evaluation.trajectory import trajectory_point
from benchmark.pipeline import TRAJECTORY_FILE, execute_run
from benchmark.runner.worker import _number_tree
from benchmark.training import load_model

TASK = """
name: tiny_trajectory
dataset: {name: dsprites32, args: {}}
models:
  - {entry: beta_vae, args: {architecture: fc, fc_width: 16, latent_dim: 3}}
sweep: {beta: [4], posterior: [diagonal]}
seeds: [0]
training: {steps: 20, batch_size: 8, learning_rate: 0.001, checkpoint_every: 10, log_every: 5,
           trajectory_points: TRAJECTORY}
evaluation:
  metrics: [mig]
  settings: {num_train: 100, num_test: 50}
  latent_scores: false
"""


@pytest.fixture(autouse=True)
def small_trajectory_points(monkeypatch):
    """The study's 5,000 images and 1,000 votes per point take seconds; tests use fewer."""
    small = functools.partial(trajectory_point, num_points=300, num_votes=20)
    monkeypatch.setattr(benchmark.pipeline, "trajectory_point", small)


def _run(tmp_path, points: int):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "t.yaml").write_text(TASK.replace("TRAJECTORY", str(points)))
    (spec,) = expand_task(load_task(tmp_path / "t.yaml"))
    return spec, execute_run(spec, tmp_path / "run", progress=False)


def test_a_trajectory_is_scored_after_each_segment(tmp_path):
    spec, result = _run(tmp_path / "a", 2)
    rows = result.scores["train/trajectory"]
    points = [dict(zip(TRAJECTORY_FIELDS, row, strict=True)) for row in rows]
    assert [p["steps"] for p in points] == [10, 20]
    assert [p["images"] for p in points] == [80, 160]
    for point in points:
        assert 0.0 <= point["mig"] <= 1.0 and 0.0 <= point["factor_vae"] <= 1.0
        assert 0 <= point["active_units"] <= 3 and np.isfinite(point["heldout_elbo"])
    assert np.shape(result.scores["train/trajectory_nmi"]) == (2, 3, 5)
    # What the results database takes: numbers and nested lists of numbers.
    for key in ("train/trajectory", "train/trajectory_nmi"):
        assert _number_tree(result.scores[key], key) == result.scores[key]
    stored = (tmp_path / "a" / "run" / "checkpoints" / TRAJECTORY_FILE).read_text().splitlines()
    assert len(stored) == 2 and json.loads(stored[0])["steps"] == 10


def test_training_in_segments_gives_the_weights_of_one_whole_run(tmp_path):
    _run(tmp_path / "a", 2)
    _run(tmp_path / "b", 0)
    segmented, _ = load_model(tmp_path / "a" / "run" / "checkpoints")
    whole, _ = load_model(tmp_path / "b" / "run" / "checkpoints")
    for a, b in zip(segmented.weights, whole.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


def test_a_resumed_segmented_run_keeps_its_whole_training_log(tmp_path):
    """Segments below the saved step train nothing and must not cut the log back to them."""
    _run(tmp_path / "a", 2)
    log = tmp_path / "a" / "run" / "checkpoints" / "train_log.jsonl"
    before = [json.loads(line)["step"] for line in log.read_text().splitlines()]
    assert before == [5, 10, 15, 20]
    _run(tmp_path / "a", 2)  # the same run again: both segments are below step 20
    after = [json.loads(line)["step"] for line in log.read_text().splitlines()]
    assert after == before
