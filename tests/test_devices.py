"""Several runs per machine without a GPU: device assignment, worker environments, Ray
requests, TensorFlow's memory growth and thread pools, DCI's parallel fits."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from benchmark.errors import UserInputError
from benchmark.metrics import dci as dci_module
from benchmark.resources import (
    GPU_MEMORY_VARIABLE,
    THREADS_VARIABLE,
    dci_n_jobs,
    gpu_memory_limit_mb,
    process_threads,
    threads_per_worker,
)
from benchmark.runner.devices import (
    assign_gpus,
    local_workers,
    visible_gpus,
    worker_environments,
)
from benchmark.runner.executors.ray_cluster import task_options, task_resources
from benchmark.tf_quiet import configure_tensorflow

REPO = Path(__file__).resolve().parents[1]


def no_smi() -> list[str]:
    raise AssertionError("nvidia-smi must not be asked when CUDA_VISIBLE_DEVICES is set")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0,1", ["0", "1"]), (" 2 , 3 ", ["2", "3"]), ("", []), ("-1", []), ("0,-1,2", ["0"])],
)
def test_visible_gpus_from_cuda_visible_devices(value, expected):
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": value}, query=no_smi) == expected


def test_visible_gpus_asks_nvidia_smi_when_unset():
    assert visible_gpus({}, query=lambda: ["0", "1", "2"]) == ["0", "1", "2"]


def test_workers_are_k_per_gpu_round_robin():
    assert local_workers(1, 2, ["0", "1"]) == 4
    assert local_workers(1, None, ["0", "1"]) == 1
    assert local_workers(3, None, []) == 3
    assert assign_gpus(5, ["0", "1"]) == ["0", "1", "0", "1", "0"]
    assert assign_gpus(2, []) == [None, None]


def test_runs_per_gpu_errors():
    with pytest.raises(UserInputError, match="--runs-per-gpu: no GPU is visible"):
        local_workers(1, 2, [])
    with pytest.raises(UserInputError, match="give one of them"):
        local_workers(3, 2, ["0"])
    with pytest.raises(UserInputError, match="--runs-per-gpu: expected an integer >= 1"):
        local_workers(1, 0, ["0"])


@pytest.mark.parametrize(
    ("workers", "cores", "threads"), [(1, 16, 16), (3, 16, 5), (4, 16, 4), (4, 2, 1), (2, 2, 1)]
)
def test_threads_per_worker_share_the_cores(workers, cores, threads):
    assert threads_per_worker(workers, cores) == threads
    assert workers * threads <= cores or threads == 1


def test_each_worker_environment_names_one_gpu_and_its_share_of_cores():
    environments = worker_environments(4, ["0", "1"], cores=16, gpu_memory_mb=2048)
    assert environments == [
        {"CUDA_VISIBLE_DEVICES": gpu, THREADS_VARIABLE: "4", GPU_MEMORY_VARIABLE: "2048"}
        for gpu in ("0", "1", "0", "1")
    ]
    assert worker_environments(2, [], cores=2) == [{THREADS_VARIABLE: "1"}] * 2


@pytest.mark.parametrize("runs_per_gpu", [1, 2, 3, 4, 6, 7, 8])
def test_a_ray_run_asks_for_one_kth_of_a_gpu(runs_per_gpu):
    share = task_resources({"CPU": 16.0, "GPU": 1.0}, runs_per_gpu)["num_gpus"]
    assert share == pytest.approx(1 / runs_per_gpu, abs=1e-4)
    units = round(share * 10_000)  # Ray's fixed-point resource units
    assert units == share * 10_000 and runs_per_gpu * units <= 10_000 < (runs_per_gpu + 1) * units
    assert task_resources({"CPU": 16.0}, runs_per_gpu) == {"num_cpus": 1}


def test_ray_options_carry_the_memory_cap():
    assert task_options({"GPU": 2.0}, 4, 3000) == {
        "num_gpus": 0.25,
        "runtime_env": {"env_vars": {GPU_MEMORY_VARIABLE: "3000"}},
    }
    assert task_options({"GPU": 2.0}) == {"num_gpus": 1.0}


def fake_tf(gpus: list[str]) -> mock.MagicMock:
    tf = mock.MagicMock()
    tf.config.list_physical_devices.side_effect = lambda kind=None: list(gpus)
    return tf


def test_memory_growth_is_requested_for_every_gpu():
    tf = fake_tf(["GPU:0", "GPU:1"])
    configure_tensorflow(tf, environ={})
    tf.config.list_physical_devices.assert_called_with("GPU")
    assert tf.config.experimental.set_memory_growth.call_args_list == [
        mock.call("GPU:0", True),
        mock.call("GPU:1", True),
    ]
    tf.config.set_logical_device_configuration.assert_not_called()
    tf.config.threading.set_intra_op_parallelism_threads.assert_not_called()


def test_a_memory_cap_replaces_growth_and_threads_set_both_pools():
    tf = fake_tf(["GPU:0", "GPU:1"])
    configure_tensorflow(tf, environ={GPU_MEMORY_VARIABLE: "1500", THREADS_VARIABLE: "3"})
    tf.config.experimental.set_memory_growth.assert_not_called()
    tf.config.LogicalDeviceConfiguration.assert_called_with(memory_limit=1500)
    calls = tf.config.set_logical_device_configuration.call_args_list
    assert [c.args[0] for c in calls] == ["GPU:0", "GPU:1"]
    tf.config.threading.set_intra_op_parallelism_threads.assert_called_once_with(3)
    tf.config.threading.set_inter_op_parallelism_threads.assert_called_once_with(3)


def test_no_gpu_means_no_device_calls():
    tf = fake_tf([])
    configure_tensorflow(tf, environ={})
    tf.config.experimental.set_memory_growth.assert_not_called()


def test_bad_settings_name_the_variable():
    assert process_threads({}) is None and gpu_memory_limit_mb({THREADS_VARIABLE: "2"}) is None
    with pytest.raises(UserInputError, match=f"{THREADS_VARIABLE}: expected an integer >= 1"):
        process_threads({THREADS_VARIABLE: "two"})
    with pytest.raises(UserInputError, match=f"{GPU_MEMORY_VARIABLE}: expected an integer >= 1"):
        gpu_memory_limit_mb({GPU_MEMORY_VARIABLE: "0"})


def test_dci_fits_use_the_process_thread_setting(monkeypatch):
    seen = []
    real = dci_module.Parallel

    def recording(n_jobs, **kwargs):
        seen.append(n_jobs)
        return real(n_jobs=n_jobs, **kwargs)

    monkeypatch.setattr(dci_module, "Parallel", recording)
    rng = np.random.RandomState(0)
    factors = rng.randint(0, 3, size=(60, 2))
    codes = factors + 0.1 * rng.randn(60, 2)
    monkeypatch.setenv(THREADS_VARIABLE, "3")
    assert dci_n_jobs() == 3
    threaded = dci_module.dci(codes, factors)
    monkeypatch.delenv(THREADS_VARIABLE)
    everything = dci_module.dci(codes, factors)
    explicit = dci_module.dci(codes, factors, n_jobs=1)
    assert seen == [3, -1, 1]
    assert threaded["dci_disentanglement"] == everything["dci_disentanglement"]
    assert explicit["dci_disentanglement"] == everything["dci_disentanglement"]


def test_tensorflow_takes_the_thread_setting_before_it_starts():
    """A fresh process: the pools must be set before TensorFlow's runtime exists."""
    code = (
        "from benchmark.tf_quiet import import_tensorflow\n"
        "tf = import_tensorflow()\n"
        "tf.constant(1.0) + 1.0\n"
        "print(tf.config.threading.get_intra_op_parallelism_threads(),"
        " tf.config.threading.get_inter_op_parallelism_threads())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), THREADS_VARIABLE: "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1"]


def test_disbench_run_spreads_k_workers_per_gpu(tmp_path, monkeypatch, capsys):
    """Two visible GPUs, --runs-per-gpu 1: two workers, one GPU each, half the cores each."""
    from benchmark.cli.main import main
    from benchmark.runner.devices import available_cores

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    (tmp_path / "t.yaml").write_text(
        "name: t\ndataset: {name: toy}\nmodels: [{entry: beta_vae, args: {architecture: fc}}]\n"
        "sweep: {beta: [1, 2, 4, 8]}\nseeds: [0]\ntraining: {steps: 10}\n"
        "evaluation: {metrics: [mig]}\n"
    )
    command = ["run", "t.yaml", "--db", "r.sqlite", "--no-progress"]
    command += ["--pipeline", "fake_pipeline:reports_environment"]
    assert main([*command, "--runs-per-gpu", "1", "--gpu-memory-mb", "700"]) == 0
    assert "2 workers over GPUs 0, 1" in capsys.readouterr().out
    conn = sqlite3.connect(tmp_path / "r.sqlite")
    rows = conn.execute("SELECT run_id, key, value FROM scores").fetchall()
    conn.close()
    scores: dict[str, dict[str, float]] = {}
    for run_id, key, value in rows:
        scores.setdefault(run_id, {})[key] = value
    assert len(scores) == 4
    by_process = {s["pid"]: s["gpu"] for s in scores.values()}
    assert sorted(set(by_process.values())) <= [0.0, 1.0]  # each process kept one GPU
    assert len(by_process) == len(set(by_process.values()))  # ... and no two share one
    assert {s["threads"] for s in scores.values()} == {float(max(1, available_cores() // 2))}
    assert {s["gpu_memory_mb"] for s in scores.values()} == {700.0}

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert main([*command, "--runs-per-gpu", "2"]) == 2
    assert "--runs-per-gpu: no GPU is visible" in capsys.readouterr().err
