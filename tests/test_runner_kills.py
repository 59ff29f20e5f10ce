"""Killing the runner at random moments never fails a healthy run, and a re-run finishes the task.

Each round starts `disbench run` (a subprocess with fake pipelines and the
no-TensorFlow catalog of `test_runner.DRIVER`), sends it SIGKILL at a
random moment (`kill_at_random`) and starts the next round at once. The final re-run must exit
0 with every run done and none failed. Attempts: a run whose runner died
during it is not charged for that; a run that really crashes its process
is still given up, with a message that says so.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import fake_pipeline
import pytest
from test_runner_faults import _alive, _children, _cli, run, tiny_task

from benchmark.config import expand_task
from benchmark.runner.environment import host_name
from benchmark.runner.suite import crash_reason
from benchmark.store import ResultStore

TESTS = Path(__file__).resolve().parent

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# 12 runs of `fake_pipeline.slow` (0.4 s each, a checkpoint half-way).
KILL_TASK = """\
name: killme
dataset: {name: toy}
models: [{entry: beta_vae, args: {architecture: fc}}]
sweep: {beta: [1, 2, 8], posterior: [diagonal, iaf]}
seeds: [0, 1]
training: {steps: 10}
evaluation: {metrics: [mig]}
"""
KILL_RUNS = 12


@dataclass
class KillCounts:
    """What the rounds did: kills sent to a live runner (and how many of them landed while a
    run was in flight), runners that ended before their kill, runs done at each kill."""

    kills: int = 0
    mid_run: int = 0
    finished: int = 0
    done_at_kills: list[int] = field(default_factory=list)
    final_db: Path | None = None  # the database of the final run


def _statuses(db: Path) -> dict[str, int]:
    """`{status: number of runs}` (empty before the runner made its tables)."""
    if not db.exists():
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return dict(conn.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall())
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()


# How long a killed runner's children may take to go (seconds). A worker that runs dies at
# once (the kernel's parent-death signal); one still starting (importing, on a loaded
# machine) ends when its start reaches `die_with_parent`, before it touches any run.
CHILDREN_GONE_S = 20.0


def _kill_runner(process: subprocess.Popen) -> None:
    """SIGKILL the runner, reap it, and wait until its workers are gone too."""
    workers = _children(process.pid)
    process.kill()
    process.wait(timeout=30)
    deadline = time.monotonic() + CHILDREN_GONE_S
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _alive(workers) == set(), "workers outlived their killed runner"


def _wait_for_a_run(log: Path, seen: int, process: subprocess.Popen, timeout_s: float) -> None:
    """Waits until the log has an event after its first `seen` (a run started), the runner
    ended, or `timeout_s` seconds passed."""
    deadline = time.monotonic() + timeout_s
    while len(fake_pipeline.read_log(log)) <= seen and process.poll() is None:
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)


def _run_in_flight(log: Path, seen: int) -> bool:
    """Whether a run started (or resumed) after the first `seen` events has not finished."""
    events = fake_pipeline.read_log(log)[seen:]
    started = {run_id for event, run_id in events if event in ("start", "resume")}
    return bool(started - {run_id for event, run_id in events if event == "finish"})


def kill_at_random(
    tmp_path: Path,
    log: Path,
    workers: int,
    kills: int,
    window_s: float,
    seed: int,
    during_runs: float = 0.5,
) -> tuple[KillCounts, subprocess.CompletedProcess]:
    """Rounds of start-then-SIGKILL at a random moment until `kills` kills hit a live runner;
    then a final run.

    A share `during_runs` of the rounds (drawn at random) is killed
    uniform(0, 1.5) s after its first run started, so that kills land during
    runs however slow the machine is; the others uniform(0, window_s) s after
    the start, mostly while the runner starts up. A round whose runner ends
    before its kill counts as finished (its exit status must be 0). When a
    round finishes the task (every run done, none failed), the next round
    starts a new database and runs folder. Returns the counts and the final
    run (on the last database).
    """
    base, env = _cli(tmp_path, log, KILL_TASK)
    base = base[: base.index("--db")] + base[base.index("--db") + 2 :]
    base += ["--pipeline", "fake_pipeline:slow", "--workers", str(workers)]
    draw = random.Random(seed)
    counts = KillCounts()
    generation = 0

    def command() -> list[str]:
        return [*base, "--db", f"r{generation}.sqlite", "--runs-dir", f"runs{generation}"]

    for _ in range(4 * kills):
        if counts.kills >= kills:
            break
        db = tmp_path / f"r{generation}.sqlite"
        seen = len(fake_pipeline.read_log(log))
        process = subprocess.Popen(
            command(), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        if draw.random() >= during_runs:
            delay = draw.uniform(0.0, window_s)
        else:
            _wait_for_a_run(log, seen, process, timeout_s=60.0)
            delay = draw.uniform(0.0, 1.5)
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            mid_run = _run_in_flight(log, seen)
            _kill_runner(process)
            counts.kills += 1
            counts.mid_run += mid_run
            counts.done_at_kills.append(_statuses(db).get("done", 0))
            continue
        stderr = process.stderr.read().decode() if process.stderr else ""
        assert process.returncode == 0, stderr
        counts.finished += 1
        assert _statuses(db) == {"done": KILL_RUNS}
        generation += 1
    final = subprocess.run(command(), cwd=tmp_path, env=env, capture_output=True, text=True)
    counts.final_db = tmp_path / f"r{generation}.sqlite"
    return counts, final


def _assert_finished(counts: KillCounts, final: subprocess.CompletedProcess) -> None:
    assert final.returncode == 0, final.stdout + final.stderr
    assert f"{KILL_RUNS} of {KILL_RUNS} runs done, 0 failed" in final.stdout
    assert counts.final_db is not None and _statuses(counts.final_db) == {"done": KILL_RUNS}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_few_random_kills_leave_a_task_that_a_rerun_finishes(tmp_path, log, workers):
    counts, final = kill_at_random(
        tmp_path, log, workers, kills=2, window_s=6.0, seed=workers, during_runs=1.0
    )
    _assert_finished(counts, final)
    assert counts.kills == 2  # 12 runs of 0.4 s: no runner finishes 1.5 s after its first


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_fifty_random_kills_never_fail_a_run(tmp_path, log, workers):
    """At least 50 kill -9s of the runner at random moments; each at once followed by a re-run."""
    seed = int(os.environ.get("DISBENCH_KILL_SEED", "27")) + workers
    counts, final = kill_at_random(tmp_path, log, workers, kills=60, window_s=8.0, seed=seed)
    print(
        f"workers={workers}: {counts.kills} kills sent to a live runner ({counts.mid_run} "
        f"while a run was in flight), {counts.finished} runners finished before their kill; "
        f"runs done at each kill: {counts.done_at_kills}; final re-run exit {final.returncode}"
    )
    print(f"  tasks finished by a re-run (databases): {counts.finished}")
    _assert_finished(counts, final)
    assert counts.kills >= 50 and counts.mid_run >= 10


# ---- attempts: a runner's death is not the run's fault -----------------------------------------


def _dead_owner() -> str:
    """The owner record of a process that has ended (a runner killed part-way)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{host_name()}:{child.pid}:1"


def test_a_run_charged_for_its_runners_death_runs_next_in_a_child_without_a_charge(tmp_path, log):
    """In the runner's own process a kill and a crash look alike: the next attempt is in a
    worker process of its own, where the runner's death is not charged."""
    task = tiny_task()
    specs = {s.model_args["beta"]: s for s in expand_task(task)}
    dead = _dead_owner()
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.register_task(task.name, task.to_dict(), list(specs.values()))
        assert store.claim(specs[8].run_id, dead, expected_status="pending", expected_owner=None)
    summary, records = run(tmp_path, fake_pipeline.reports_environment, max_attempts=2)
    assert summary.exit_code == 0 and records[8].status == "done"
    assert records[8].attempts == 1  # the claim in a child charged nothing
    with ResultStore(tmp_path / "r.sqlite") as store:
        scores = store.scores([specs[1].run_id, specs[8].run_id])
    assert scores[specs[1].run_id]["pid"] == os.getpid()  # a fresh run: in this process
    assert scores[specs[8].run_id]["pid"] != os.getpid()  # the taken-over run: in a child


def test_an_interrupted_uncharged_claim_gives_back_no_earlier_attempt(tmp_path):
    task = tiny_task(betas=(1,))
    (spec,) = expand_task(task)
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.register_task(task.name, task.to_dict(), [spec])
        assert store.claim(spec.run_id, "a:1", expected_status="pending", expected_owner=None)
        assert store.claim(
            spec.run_id, "b:2", expected_status="running", expected_owner="a:1", count_attempt=False
        )
        store.release([spec.run_id], "b:2", "interrupted", uncount=False)
        (record,) = store.runs(task.name)
    assert record.status == "pending" and record.attempts == 1


def test_a_run_that_crashes_the_runner_fails_on_the_next_call_with_its_exit_code(tmp_path, log):
    """Default attempts: the crash is seen in a child on the second call, not crash-looped."""
    two_runs = KILL_TASK.replace("seeds: [0, 1]", "seeds: [0]").replace(
        "beta: [1, 2, 8], posterior: [diagonal, iaf]", "beta: [1, 8]"
    )
    command, env = _cli(tmp_path, log, two_runs)
    command += ["--pipeline", "fake_pipeline:crashes_at_beta_8"]
    first = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert first.returncode == 3  # the pipeline ended the runner itself (os._exit(3))
    second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "1 of 2 runs done, 1 failed" in second.stdout
    assert "the process running this run died (exit code 3" in second.stdout
    third = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert third.returncode == 1  # kept failed: no third crash
    starts = [e for e in fake_pipeline.read_log(log) if e[0] == "start"]
    assert len(starts) == 3  # beta 1 once, beta 8 in the runner and once in a child


def test_max_attempts_still_gives_up_a_run_whose_runner_keeps_dying(tmp_path, log):
    """With --max-attempts 1 a death in the runner's own process fails the run at once."""
    task = tiny_task()
    specs = {s.model_args["beta"]: s for s in expand_task(task)}
    dead = _dead_owner()
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.register_task(task.name, task.to_dict(), list(specs.values()))
        assert store.claim(specs[8].run_id, dead, expected_status="pending", expected_owner=None)
    summary, records = run(tmp_path, fake_pipeline.fixed, max_attempts=1)
    assert records[8].status == "failed" and records[8].error == crash_reason(1)
    assert records[1].status == "done"
