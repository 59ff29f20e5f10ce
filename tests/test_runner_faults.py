"""The runner under faults: killed drivers, crashing, exiting and hanging pipelines, locks, limits.

Fake pipelines only (`fake_pipeline`); the subprocess tests use the CLI with
a catalog that needs no TensorFlow (`test_runner.DRIVER`).
"""

from __future__ import annotations

import functools
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import fake_pipeline
import pytest
from test_runner import DRIVER, TASK_YAML

from benchmark.config import TaskConfig, expand_task
from benchmark.errors import UserInputError
from benchmark.runner import LocalExecutor, run_task
from benchmark.runner.environment import host_name
from benchmark.runner.locks import LOCK_NAME, RunFolderBusy, folder_holder, hold_run_folder
from benchmark.runner.suite import crash_reason
from benchmark.runner.worker import execute_one
from benchmark.store import ResultStore

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

tiny_task = functools.partial(fake_pipeline.tiny_task, seeds=(0,))  # beta 1 and 8: two runs

# Spawned workers import the main script again: the command runs under the guard (DRIVER's).
GUARDED_DRIVER = DRIVER


def run(tmp_path: Path, pipeline, task=None, **options):
    task = task or tiny_task()
    executor = LocalExecutor(
        pipeline,
        workers=options.pop("workers", 1),
        progress=False,
        run_timeout=options.pop("run_timeout", None),
        isolate=options.pop("isolate", False),
        max_artifact_bytes=options.pop("max_artifact_bytes", 10**6),
    )
    with ResultStore(tmp_path / "r.sqlite") as store:
        summary = run_task(
            task, store, executor, runs_dir=tmp_path / "runs", progress=False, **options
        )
        records = {r.args["beta"]: r for r in store.runs(task.name)}
    return summary, records


# ---- a pipeline that exits, crashes or hangs costs its own run only -----------------------------


def test_system_exit_is_a_failed_run_and_the_suite_goes_on(tmp_path, log):
    summary, records = run(tmp_path, fake_pipeline.exits_at_beta_8)
    assert records[1].status == "done" and records[8].status == "failed"
    assert records[8].error == "SystemExit: the pipeline called sys.exit(3)"
    assert summary.exit_code == 1


@pytest.mark.parametrize("options", [{"isolate": True}, {"workers": 2}])
def test_a_crashing_pipeline_in_a_child_process_fails_that_run_only(tmp_path, log, options):
    summary, records = run(tmp_path, fake_pipeline.crashes_at_beta_8, **options)
    assert records[1].status == "done"
    assert records[8].status == "failed"
    assert records[8].error.startswith("the process running this run died (exit code 3:")
    assert summary.exit_code == 1


def test_run_timeout_fails_the_run_that_hangs(tmp_path, log):
    start = time.monotonic()
    summary, records = run(tmp_path, fake_pipeline.hangs_at_beta_8, run_timeout=15)
    assert time.monotonic() - start < 45  # not the 60 s the hanging run sleeps
    assert records[1].status == "done"
    assert records[8].status == "failed"
    assert records[8].error.startswith("timed out: still running after 15 s")
    assert records[8].duration_s >= 15


def test_a_run_whose_process_keeps_dying_is_failed_after_max_attempts(tmp_path, log):
    task = tiny_task()
    specs = {s.model_args["beta"]: s for s in expand_task(task)}
    dead = f"{host_name()}:{2**22 + 12345}"  # beyond pid_max on Linux: never alive
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.register_task(task.name, task.to_dict(), list(specs.values()))
        run_id = specs[8].run_id
        assert store.claim(run_id, dead, expected_status="pending", expected_owner=None)
        for _ in range(2):  # taken over twice, dying each time
            assert store.claim(run_id, dead, expected_status="running", expected_owner=dead)
    summary, records = run(tmp_path, fake_pipeline.fixed, max_attempts=4)
    assert records[8].status == "done"  # 3 attempts < 4: taken over once more
    with ResultStore(tmp_path / "r.sqlite") as store:
        # Taken over after a death in the runner's process, it ran in a child: no charge.
        assert store.runs(task.name)[1].attempts == 3
        store._conn.execute("UPDATE runs SET status = 'running', owner = ?", (dead,))
        store._conn.execute("UPDATE runs SET attempts = 4 WHERE run_id = ?", (run_id,))
    summary, records = run(tmp_path, fake_pipeline.fixed, max_attempts=4)
    assert records[8].status == "failed"
    assert records[8].error == crash_reason(4)
    assert records[1].status == "done"  # the other run was taken over and finished
    assert [error for _, _, error in summary.failed] == [crash_reason(4)]
    # An interrupted attempt does not count; a retried failed run starts counting again.
    summary, records = run(tmp_path, fake_pipeline.fixed, retry_failed=True)
    assert records[8].status == "done" and records[8].attempts == 1


def _cli(tmp_path: Path, log: Path, task: str = TASK_YAML) -> tuple[list[str], dict[str, str]]:
    (tmp_path / "killme.yaml").write_text(task)
    (tmp_path / "driver.py").write_text(textwrap.dedent(GUARDED_DRIVER))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPO)]),
        fake_pipeline.LOG_VARIABLE: str(log),
    }
    command = [sys.executable, "driver.py", "run", "killme.yaml", "--db", "r.sqlite"]
    return [*command, "--no-progress"], env


def test_in_process_crash_is_failed_on_a_later_run_instead_of_crash_looping(tmp_path, log):
    two_runs = TASK_YAML.replace("beta: [1, 2, 8], posterior: [diagonal, iaf]", "beta: [1, 8]")
    command, env = _cli(tmp_path, log, two_runs)
    command += ["--pipeline", "fake_pipeline:crashes_at_beta_8", "--max-attempts", "1"]
    first = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert first.returncode == 3  # the pipeline killed the runner itself (os._exit(3))
    second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "1 of 2 runs done, 1 failed" in second.stdout
    assert crash_reason(1) in second.stdout
    starts = [e for e in fake_pipeline.read_log(log) if e[0] == "start"]
    assert len(starts) == 2  # the crashing run was not started again


# ---- workers die with their runner; signals stop runs promptly ---------------------------------


def _children(pid: int) -> set[int]:
    """Every live (non-zombie) descendant of `pid`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _start_two_workers(tmp_path: Path, log: Path) -> tuple[subprocess.Popen, set[int]]:
    command, env = _cli(tmp_path, log)
    command += ["--pipeline", "fake_pipeline:sleeps", "--workers", "2"]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # A parent that ignores SIGINT (a background shell, a test-runner worker) passes
        # that on, and Python then installs no KeyboardInterrupt handler: start it default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 90
    while len(fake_pipeline.read_log(log)) < 2:
        assert process.poll() is None, process.stdout.read().decode()
        assert time.monotonic() < deadline, "two workers did not start within 90 s"
        time.sleep(0.1)
    workers = _children(process.pid)
    assert len(workers) >= 2
    return process, workers


def _statuses(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return sorted(row[0] for row in conn.execute("SELECT status FROM runs"))
    finally:
        conn.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_a_two_worker_runner_leaves_no_process_within_5_seconds(tmp_path, log):
    process, workers = _start_two_workers(tmp_path, log)
    process.kill()
    process.wait(timeout=10)
    deadline = time.monotonic() + 5
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _alive(workers) == set()
    # Nobody writes the two run folders now: their locks are free.
    folders = [p for p in (tmp_path / "runs").iterdir() if (p / LOCK_NAME).exists()]
    assert len(folders) == 2 and all(folder_holder(p) is None for p in folders)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_sigint_stops_runs_at_once_and_keeps_them_resumable(tmp_path, log, signum):
    process, workers = _start_two_workers(tmp_path, log)
    sent = time.monotonic()
    process.send_signal(signum)
    process.wait(timeout=30)
    assert time.monotonic() - sent < 5  # not the 60 s the runs would take
    assert process.returncode == 130
    deadline = time.monotonic() + 5
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _alive(workers) == set()
    assert _statuses(tmp_path / "r.sqlite") == ["pending"] * 6  # both runs put back
    with ResultStore(tmp_path / "r.sqlite") as store:
        (invocation,) = store.invocations("killme")
        assert invocation["exit_code"] == 130
        assert all(r.attempts == 0 for r in store.runs("killme"))
        started = [run_id for _, run_id in fake_pipeline.read_log(log)]
        # The next run resumes the two interrupted runs from their checkpoints.
        task = TaskConfig.from_dict(store.task_config("killme"))
        summary = run_task(
            task,
            store,
            LocalExecutor(fake_pipeline.slow, progress=False),
            runs_dir=tmp_path / "runs",
            progress=False,
        )
    assert summary.done == 6
    resumed = [run_id for event, run_id in fake_pipeline.read_log(log) if event == "resume"]
    assert sorted(resumed) == sorted(started)


# ---- one writer per run folder -----------------------------------------------------------------


def test_a_locked_run_folder_is_left_alone_at_claim_time(tmp_path, log, monkeypatch):
    monkeypatch.setattr("benchmark.runner.worker.LOCK_WAIT_S", 0.2)
    task = tiny_task()
    specs = {s.model_args["beta"]: s for s in expand_task(task)}
    folder = tmp_path / "runs" / specs[8].run_id
    with hold_run_folder(folder):  # another process (here: this one) writes the folder
        assert folder_holder(folder) == str(os.getpid())
        with pytest.raises(RunFolderBusy, match="being written by process"):
            with hold_run_folder(folder, wait_s=0.2):
                pass
        summary, records = run(tmp_path, fake_pipeline.fixed)
        assert records[1].status == "done" and records[8].status == "pending"
        assert summary.held_elsewhere == 1
        # A worker that finds the folder locked runs nothing and says so.
        busy = execute_one(specs[8].to_dict(), folder, fake_pipeline.fixed, False)
        assert busy.status == "busy" and "being written by process" in busy.error
    assert folder_holder(folder) is None
    summary, records = run(tmp_path, fake_pipeline.fixed)
    assert records[8].status == "done" and summary.held_elsewhere == 0
    starts = [e for e in fake_pipeline.read_log(log) if e[0] == "start"]
    assert len(starts) == 2  # the locked run never started while locked


# ---- artefacts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("/tmp/disbench-absolute-artefact.bin", "is an absolute path"),
        ("../outside.bin", "is outside the run folder"),
        ("big.bin", "is 1,000 bytes, more than the limit of 100 bytes"),
    ],
)
def test_artefacts_outside_the_run_folder_or_too_large_fail_the_run(
    tmp_path, log, monkeypatch, name, reason
):
    monkeypatch.setenv("DISBENCH_FAKE_ARTIFACT", name)
    summary, records = run(
        tmp_path, fake_pipeline.names_artifact, task=tiny_task(betas=(1,)), max_artifact_bytes=100
    )
    assert records[1].status == "failed"
    assert reason in records[1].error


def test_an_artefact_symlinked_out_of_the_run_folder_fails_the_run(tmp_path, log, monkeypatch):
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    task = tiny_task(betas=(1,))
    (spec,) = expand_task(task)
    folder = tmp_path / "runs" / spec.run_id
    folder.mkdir(parents=True)
    (folder / "link.bin").symlink_to(secret)
    monkeypatch.setenv("DISBENCH_FAKE_ARTIFACT", "inner/ok.bin")
    outcome = execute_one(spec.to_dict(), folder, fake_pipeline.names_artifact, False)
    assert outcome.status == "done" and outcome.artifacts["file"][0] == "ok.bin"
    monkeypatch.setenv("DISBENCH_FAKE_ARTIFACT", "link.bin")
    # names_artifact writes through the link first; the runner still refuses to read it.
    outcome = execute_one(spec.to_dict(), folder, fake_pipeline.names_artifact, False)
    assert outcome.status == "failed" and "is outside the run folder" in outcome.error


# ---- task settings ---------------------------------------------------------------------------


def test_execution_settings_are_checked_at_load_time(tmp_path, capsys):
    from benchmark.cli.main import main
    from benchmark.config import Catalog, load_task
    from benchmark.config.catalog import metric_names

    catalog = Catalog(
        ("toy",), ("beta_vae",), ("diagonal", "iaf"), metric_names()[0], evaluation_settings=()
    )
    base = TASK_YAML
    (tmp_path / "ok.yaml").write_text(
        base + "execution: {run_timeout: 30, max_attempts: 2, max_artifact_mb: 5}\n"
    )
    loaded = load_task(str(tmp_path / "ok.yaml"), catalog)
    assert (loaded.execution.run_timeout, loaded.execution.max_attempts) == (30.0, 2)
    assert loaded.execution.max_artifact_mb == 5.0
    for bad, message in [
        ("{run_timeout: -1}", "execution.run_timeout: expected a number > 0, got -1"),
        ("{max_attempts: 0}", "execution.max_attempts: expected an integer >= 1, got 0"),
        ("{max_artifact_mb: big}", "execution.max_artifact_mb: expected a number, got 'big'"),
        ("{timeout: 5}", "execution.timeout: unknown key"),
    ]:
        (tmp_path / "bad.yaml").write_text(base + f"execution: {bad}\n")
        with pytest.raises(UserInputError, match="bad.yaml: ") as error:
            load_task(str(tmp_path / "bad.yaml"), catalog)
        assert message in str(error.value) and "\n" not in str(error.value)
    assert main(["run", str(tmp_path / "ok.yaml"), "--run-timeout", "0"]) == 2
    assert "--run-timeout: expected a number > 0, got 0" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "ok.yaml"), "--max-attempts", "0"]) == 2
    assert "--max-attempts: expected an integer >= 1, got 0" in capsys.readouterr().err


def test_seed_beyond_64_bits_is_one_clear_error_and_nothing_is_written(tmp_path):
    task = tiny_task(seeds=(2**70,), betas=(1,))
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as store:
        with pytest.raises(UserInputError, match=r"seed 1180591620717411303424 does not fit"):
            store.register_task(task.name, task.to_dict(), expand_task(task))
        assert store.task_names() == []
        with pytest.raises(UserInputError, match="does not fit"):
            run_task(
                task, store, LocalExecutor(fake_pipeline.fixed), runs_dir=tmp_path, progress=False
            )


def test_a_ray_task_with_a_time_limit_runs_its_run_in_a_child_it_can_stop(tmp_path, log):
    from benchmark.runner.pool import execute_in_child

    (spec,) = expand_task(tiny_task(betas=(8,)))
    outcome = execute_in_child(
        spec.to_dict(), tmp_path / spec.run_id, fake_pipeline.hangs_at_beta_8, 2.0, None
    )
    assert outcome.status == "failed" and outcome.error.startswith("timed out: still running")
