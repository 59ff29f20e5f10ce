"""Signals to `disbench run`: any number, in any rhythm, end it within seconds, workers gone.

Fake pipelines only; the CLI runs in a subprocess (`test_runner_faults._cli`) with two
worker processes whose runs sleep, so only the runner's own handling can end it in time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import fake_pipeline
import pytest
from test_runner_faults import _alive, _cli, _start_two_workers, _statuses

from benchmark.runner import pool
from benchmark.store import ResultStore

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
TESTS = Path(__file__).resolve().parent

# What "within a few seconds" means here: the runner, then each worker, must be gone by then.
END_WITHIN_S = 10.0


def _kill_left_over(process: subprocess.Popen, workers: set[int]) -> None:
    """SIGKILLs what a failed test left: the runner this test started and its workers."""
    for pid in _alive(workers):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def _burst(process: subprocess.Popen, signals: list[int], gap_s: float) -> None:
    for signum in signals:
        process.send_signal(signum)
        time.sleep(gap_s)


@pytest.mark.parametrize(
    ("signals", "gap_s"),
    [
        ([signal.SIGINT] * 3, 0.002),
        ([signal.SIGHUP, signal.SIGTERM, signal.SIGINT] * 3, 0.0005),
    ],
    ids=["3-sigint-2ms", "9-mixed-0.5ms"],
)
def test_signal_bursts_end_the_runner_with_workers_gone_and_runs_pending(
    tmp_path, log, signals, gap_s
):
    process, workers = _start_two_workers(tmp_path, log)
    try:
        sent = time.monotonic()
        _burst(process, signals, gap_s)
        try:
            output, _ = process.communicate(timeout=END_WITHIN_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the runner still runs {END_WITHIN_S:g} s after {len(signals)} signals")
        assert time.monotonic() - sent < END_WITHIN_S
        assert process.returncode == 130, output.decode()
        assert "Traceback" not in output.decode()
        deadline = time.monotonic() + 5
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _alive(workers) == set()
        assert _statuses(tmp_path / "r.sqlite") == ["pending"] * 6
        with ResultStore(tmp_path / "r.sqlite") as store:
            assert all(r.attempts == 0 for r in store.runs("killme"))
    finally:
        _kill_left_over(process, workers)


def test_sighup_to_a_runner_running_in_its_own_process_puts_the_run_back_uncharged(tmp_path, log):
    """SIGHUP (a closed terminal) is SIGTERM: the run goes back to pending, no attempt counted."""
    command, env = _cli(tmp_path, log)
    process = subprocess.Popen(
        [*command, "--pipeline", "fake_pipeline:sleeps"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while not fake_pipeline.read_log(log):
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "the run did not start within 90 s"
            time.sleep(0.05)
        process.send_signal(signal.SIGHUP)
        output, _ = process.communicate(timeout=END_WITHIN_S)
        assert process.returncode == 130, output.decode()
        assert _statuses(tmp_path / "r.sqlite") == ["pending"] * 6
        with ResultStore(tmp_path / "r.sqlite") as store:
            assert all(r.attempts == 0 for r in store.runs("killme"))
    finally:
        _kill_left_over(process, set())


class _Interrupting(pool._Worker):
    """A worker whose first stop is cut short by a KeyboardInterrupt (a second Ctrl-C)."""

    made: list[pool._Worker] = []
    interrupted = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _Interrupting.made.append(self)

    def _interrupt_once(self) -> None:
        if not _Interrupting.interrupted:
            _Interrupting.interrupted = True
            raise KeyboardInterrupt

    def stop(self) -> None:
        self._interrupt_once()
        super().stop()

    def kill(self) -> None:  # the name before `stop` and `reap`
        self._interrupt_once()
        super().kill()


def test_an_interrupt_during_cleanup_still_kills_every_worker(tmp_path, log, monkeypatch):
    """A KeyboardInterrupt while the pool stops its workers leaves none of them running."""
    from benchmark.config import expand_task
    from benchmark.runner.executors import Job

    monkeypatch.setattr(pool, "_Worker", _Interrupting)
    specs = expand_task(fake_pipeline.tiny_task(seeds=(0,)))
    jobs = iter([Job(s, tmp_path / s.run_id) for s in specs])
    outcomes = pool.WorkerPool(fake_pipeline.sleeps, 2).map(jobs)

    def wait_then_stop(objects, timeout=None):  # both runs started: stop as Ctrl-C would
        deadline = time.monotonic() + 60
        while len(fake_pipeline.read_log(log)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        raise KeyboardInterrupt

    monkeypatch.setattr(pool, "wait", wait_then_stop)
    with pytest.raises(KeyboardInterrupt):
        next(outcomes)
    processes = [w.process for w in _Interrupting.made]
    try:
        assert len(processes) == 2 and _Interrupting.interrupted
        assert not any(p.is_alive() for p in processes)
    finally:
        for process in processes:
            process.kill()
            process.join(5)
