"""The Ray executor on a local one-CPU Ray instance with a fake pipeline."""

from __future__ import annotations

import os
from pathlib import Path

import fake_pipeline
import pytest

from benchmark.runner import run_task
from benchmark.runner.executors.ray_cluster import RayExecutor, task_resources
from benchmark.store import ResultStore

ray = pytest.importorskip("ray")

TESTS = Path(__file__).resolve().parent


def test_runs_ask_for_a_gpu_only_when_the_cluster_has_one():
    assert task_resources({"CPU": 16.0, "GPU": 2.0}) == {"num_gpus": 1}
    assert task_resources({"CPU": 16.0}) == {"num_cpus": 1}
    assert task_resources({"CPU": 16.0, "GPU": 0.0}) == {"num_cpus": 1}


def test_ray_executor_records_every_outcome_in_the_database(tmp_path, monkeypatch):
    log = tmp_path / "events.log"
    monkeypatch.setenv(fake_pipeline.LOG_VARIABLE, str(log))
    task = fake_pipeline.tiny_task("tiny_ray")
    executor = RayExecutor(
        "fake_pipeline:diverges_at_beta_8",
        init_kwargs={
            "num_cpus": 1,
            "include_dashboard": False,
            "log_to_driver": False,
            "runtime_env": {
                "env_vars": {
                    "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)]),
                    fake_pipeline.LOG_VARIABLE: str(log),
                }
            },
        },
    )
    with ResultStore(tmp_path / "r.sqlite") as store:
        summary = run_task(task, store, executor, runs_dir=tmp_path / "runs", progress=False)
        records = store.runs("tiny_ray")
        scores = store.scores([r.run_id for r in records])
    assert not ray.is_initialized()  # the executor shut down the Ray it started
    assert summary.exit_code == 1 and summary.done == 2 and len(summary.failed) == 2
    by_beta = {(r.args["beta"], r.seed): r for r in records}
    assert by_beta[(1, 0)].status == "done"
    assert scores[by_beta[(1, 1)].run_id]["mig"] == pytest.approx(0.13)
    assert by_beta[(8, 0)].status == "failed"
    assert by_beta[(8, 0)].error == "TrainingDiverged: training diverged at step 123: loss is NaN"
    assert by_beta[(1, 0)].host and by_beta[(1, 0)].versions["python"]
    # Each run executed exactly once, in a Ray worker process.
    started = [run_id for event, run_id in fake_pipeline.read_log(log) if event == "start"]
    assert sorted(started) == sorted(r.run_id for r in records)


class _Started(Exception):
    """Raised by the stand-in for `ray.init`: the test needs only its arguments."""


@pytest.mark.parametrize(("address", "expected"), [(None, "local"), ("10.0.0.1:6379", None)])
def test_no_address_starts_a_fresh_local_ray_never_a_stale_cluster(monkeypatch, address, expected):
    seen = {}

    def init(**options):
        seen.update(options)
        raise _Started

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")  # a stale cluster Ray would otherwise join
    with pytest.raises(_Started):
        next(RayExecutor("fake_pipeline:fixed", address=address).map(iter([])))
    assert seen["address"] == (expected or address)
