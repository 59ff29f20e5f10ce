"""Who holds a run: zombies and reused pids are dead owners, and `disbench run` ends only when
the task is finished or provably held elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import fake_pipeline
import pytest
from test_runner_faults import run, tiny_task

from benchmark.cli.run import _wait_for_local_holders
from benchmark.config import expand_task
from benchmark.runner.environment import (
    host_name,
    owner_alive,
    owner_id,
    parse_owner,
    process_start_ticks,
)
from benchmark.runner.suite import EXIT_HELD
from benchmark.store import ResultStore

pytestmark = [
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc"),
    pytest.mark.usefixtures("log"),
]


def test_this_process_is_alive_and_its_owner_carries_its_start_time():
    host, pid, start = parse_owner(owner_id())
    assert (host, pid) == (host_name(), os.getpid())
    assert start == process_start_ticks(os.getpid())
    assert owner_alive(owner_id()) is True


def test_a_zombie_owner_is_dead():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 20
    # Not reaped (no wait()): the child stays a zombie after it exits.
    while time.monotonic() < deadline:
        state = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            break
        time.sleep(0.05)
    assert state == "Z"
    assert owner_alive(f"{host_name()}:{child.pid}") is False
    child.wait()


def test_a_reused_pid_is_not_the_owner():
    start = process_start_ticks(os.getpid())
    assert owner_alive(f"{host_name()}:{os.getpid()}:{start + 1}") is False
    assert owner_alive(f"{host_name()}:{os.getpid()}:{start}") is True
    assert owner_alive(f"{host_name()}:{os.getpid()}") is True  # an owner written before starts


def test_an_owner_on_another_host_is_unknown_and_malformed_ones_are_dead():
    assert owner_alive("elsewhere.example:123:456") is None
    assert owner_alive("no-pid") is False and owner_alive("") is False


def _hold(tmp_path: Path, owner: str) -> str:
    task = tiny_task()
    specs = {s.model_args["beta"]: s for s in expand_task(task)}
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.register_task(task.name, task.to_dict(), list(specs.values()))
        run_id = specs[8].run_id
        assert store.claim(run_id, owner, expected_status="pending", expected_owner=None)
    return run_id


def test_runs_held_on_another_host_give_the_held_exit_code(tmp_path):
    _hold(tmp_path, "elsewhere.example:123:456")
    summary, records = run(tmp_path, fake_pipeline.fixed)
    assert records[1].status == "done" and records[8].status == "running"
    assert summary.held_elsewhere == 1 and summary.exit_code == EXIT_HELD != 0


def test_a_dead_runners_run_is_taken_over_without_an_attempt_in_a_worker(tmp_path):
    """Three dead runners held the run; with worker processes none of that is charged."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = f"{host_name()}:{child.pid}:{1}"
    task = tiny_task()
    specs = {s.model_args["beta"]: s for s in expand_task(task)}
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.register_task(task.name, task.to_dict(), list(specs.values()))
        run_id = specs[8].run_id
        assert store.claim(
            run_id, dead, expected_status="pending", expected_owner=None, count_attempt=False
        )
        for _ in range(3):
            assert store.claim(
                run_id, dead, expected_status="running", expected_owner=dead, count_attempt=False
            )
        assert store.runs(task.name)[1].attempts == 0
    summary, records = run(tmp_path, fake_pipeline.fixed, workers=2, max_attempts=3)
    assert records[8].status == "done" and summary.exit_code == 0


def test_run_waits_for_a_live_local_holder_and_takes_over_what_it_leaves(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"])
    start = process_start_ticks(holder.pid)
    owner = f"{host_name()}:{holder.pid}:{start}"
    _hold(tmp_path, owner)
    reaper = threading.Thread(target=holder.wait)
    reaper.start()
    with ResultStore(tmp_path / "r.sqlite") as store:
        began = time.monotonic()
        assert _wait_for_local_holders(store, tiny_task().name, poll_s=0.1) is True
        assert 2.0 < time.monotonic() - began < 30  # waited until the holder died
        assert _wait_for_local_holders(store, tiny_task().name) is False
    reaper.join()
    summary, records = run(tmp_path, fake_pipeline.fixed)
    assert records[8].status == "done" and summary.exit_code == 0
