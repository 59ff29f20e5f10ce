"""The runner with fake pipelines: skipping, resuming, failures, interrupts, kills, workers."""

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

from benchmark.config import expand_task
from benchmark.errors import UserInputError
from benchmark.runner import LocalExecutor, check_pipeline, plan_runs, run_task
from benchmark.runner.environment import host_name
from benchmark.runner.suite import EXIT_HELD
from benchmark.store import ResultStore

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


tiny_task = functools.partial(fake_pipeline.tiny_task, posteriors=("diagonal", "iaf"))


def run(tmp_path: Path, pipeline, task=None, **options):
    task = task or tiny_task()
    with ResultStore(tmp_path / "r.sqlite") as store:
        summary = run_task(
            task,
            store,
            LocalExecutor(pipeline, workers=options.pop("workers", 1), progress=False),
            runs_dir=tmp_path / "runs",
            progress=False,
            **options,
        )
        statuses = {r.run_id: r.status for r in store.runs(task.name)}
    return summary, statuses


def starts(log: Path) -> list[str]:
    return [run_id for event, run_id in fake_pipeline.read_log(log) if event in ("start", "resume")]


def test_runs_everything_once_and_skips_finished_runs(tmp_path, log):
    summary, statuses = run(tmp_path, fake_pipeline.fixed)
    assert summary.exit_code == 0 and summary.ran == summary.done == summary.total == 8
    assert set(statuses.values()) == {"done"}
    assert sorted(starts(log)) == sorted(statuses)
    again, _ = run(tmp_path, fake_pipeline.fixed)
    assert again.ran == 0 and again.done == 8
    assert len(starts(log)) == 8  # nothing ran twice
    with ResultStore(tmp_path / "r.sqlite") as store:
        record = store.runs("tiny")[0]
        scores = store.scores([record.run_id])[record.run_id]
        assert scores["mig"] == pytest.approx(0.12)
        assert scores["mig_per_factor"] == pytest.approx([0.12, 0.06])
        assert store.artifact_names([record.run_id])[record.run_id] == {
            "traversals": "traversals.npy"
        }
        assert record.durations == {"train_s": 0.01, "eval_s": 0.01}
        assert record.versions["python"] and "numpy" in record.versions
        assert len(store.invocations("tiny")) == 2


def test_nan_run_is_recorded_failed_and_the_suite_goes_on(tmp_path, log):
    summary, statuses = run(tmp_path, fake_pipeline.diverges_at_beta_8)
    assert summary.exit_code == 1
    assert sorted(statuses.values()) == ["done"] * 4 + ["failed"] * 4
    assert len(summary.failed) == 4
    assert all(
        error == "TrainingDiverged: training diverged at step 123: loss is NaN"
        for _, _, error in summary.failed
    )
    with ResultStore(tmp_path / "r.sqlite") as store:
        failed = [r for r in store.runs("tiny") if r.status == "failed"]
        assert all("Traceback" in r.error_detail for r in failed)
        assert store.scores([failed[0].run_id]) == {failed[0].run_id: {}}
    # Failed runs are kept (and still fail the exit code) until asked to retry.
    again, _ = run(tmp_path, fake_pipeline.diverges_at_beta_8)
    assert again.ran == 0 and again.exit_code == 1
    retried, statuses = run(tmp_path, fake_pipeline.fixed, retry_failed=True)
    assert retried.ran == 4 and retried.exit_code == 0 and set(statuses.values()) == {"done"}


def test_full_disk_while_checkpointing_fails_that_run_only(tmp_path, log):
    summary, statuses = run(tmp_path, fake_pipeline.disk_full_at_seed_1)
    assert summary.exit_code == 1 and summary.done == 4
    (_, what, error), *_ = summary.failed
    assert "seed=1" in what
    assert error.startswith("OSError: [Errno 28] No space left on device:")
    assert "the disk is full: free space and run again; finished runs are kept" in error


def test_malformed_pipeline_result_is_a_failed_run(tmp_path, log):
    summary, _ = run(tmp_path, fake_pipeline.bad_scores, task=tiny_task(seeds=(0,), betas=(1,)))
    assert summary.failed[0][2] == (
        "TypeError: score 'mig': expected a number or a (nested) list of numbers, got str"
    )


def test_interrupt_puts_the_run_back_and_keeps_finished_ones(tmp_path, log):
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, fake_pipeline.interrupted_at_third)
    started = starts(log)  # in the order they ran
    with ResultStore(tmp_path / "r.sqlite") as store:
        status = {r.run_id: r for r in store.runs("tiny")}
        assert [status[r].status for r in started] == ["done", "done", "pending"]
        assert sum(r.status == "pending" for r in status.values()) == 6
        assert status[started[2]].error.startswith("interrupted")
        (invocation,) = store.invocations("tiny")
        assert invocation["exit_code"] == 130
    summary, statuses = run(tmp_path, fake_pipeline.slow)
    assert summary.ran == 6 and set(statuses.values()) == {"done"}
    events = fake_pipeline.read_log(log)
    assert ("resume", started[2]) in events  # picked up its checkpoint
    assert [e for e in events if e[1] == started[0]] == [
        ("start", started[0]),
        ("finish", started[0]),
    ]


def test_runs_left_running_by_dead_processes_resume_live_ones_are_left(tmp_path, log):
    task = tiny_task()
    specs = expand_task(task)
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.register_task(task.name, task.to_dict(), specs)
        host = host_name()
        dead = f"{host}:{2**22 + 12345}"  # beyond pid_max on Linux: never alive
        alive = f"{host}:{os.getppid()}"
        assert store.claim(specs[0].run_id, dead, expected_status="pending", expected_owner=None)
        assert store.claim(specs[1].run_id, alive, expected_status="pending", expected_owner=None)
        todo, held = plan_runs(store.runs("tiny"), retry_failed=False, me="x:1")
        assert specs[0].run_id in {r.run_id for r in todo} and held == 1
    summary, statuses = run(tmp_path, fake_pipeline.fixed)
    assert summary.held_elsewhere == 1 and summary.exit_code == EXIT_HELD  # not finished: not 0
    assert statuses[specs[0].run_id] == "done" and statuses[specs[1].run_id] == "running"
    summary, statuses = run(tmp_path, fake_pipeline.fixed, take_over=True)
    assert summary.ran == 1 and set(statuses.values()) == {"done"}


def test_worker_processes(tmp_path, log):
    summary, statuses = run(tmp_path, fake_pipeline.slow, workers=2)
    assert summary.exit_code == 0 and set(statuses.values()) == {"done"}
    assert sorted(starts(log)) == sorted(statuses)


def test_pipeline_is_checked_before_anything_runs():
    check_pipeline("benchmark.runner.worker:execute_one")
    with pytest.raises(UserInputError, match="no module named 'nowhere'"):
        check_pipeline("nowhere:execute_run")
    with pytest.raises(UserInputError, match="expected MODULE:FUNCTION"):
        check_pipeline("nowhere")


# ---- the real command, killed part-way ---------------------------------------------------------

TASK_YAML = """\
name: killme
dataset: {name: toy}
models: [{entry: beta_vae, args: {architecture: fc}}]
sweep: {beta: [1, 2, 8], posterior: [diagonal, iaf]}
seeds: [0]
training: {steps: 10}
evaluation: {metrics: [mig]}
"""

# The CLI with a catalog that needs no TensorFlow (test speed only): the live metric names,
# and just the data set, model entry and posteriors TASK_YAML names. Spawned worker
# processes import the main script again, so the command itself runs under the guard
# (as in the `disbench` script): a run taken over from a killed runner runs in one.
DRIVER = """\
import sys
import benchmark.config.loader as loader
from benchmark.config.catalog import Catalog, metric_names
loader.default_catalog = lambda: Catalog(
    ("toy",), ("beta_vae",), ("diagonal", "iaf"), metric_names()[0], evaluation_settings=()
)
from benchmark.cli.main import main
if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
"""


def _done_count(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'done'").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0
    finally:
        conn.close()


def test_killed_disbench_run_finishes_on_rerun_without_redoing_or_losing_runs(tmp_path):
    (tmp_path / "killme.yaml").write_text(TASK_YAML)
    (tmp_path / "driver.py").write_text(textwrap.dedent(DRIVER))
    db = tmp_path / "results" / "r.sqlite"
    log_path = tmp_path / "events.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPO)]),
        fake_pipeline.LOG_VARIABLE: str(log_path),
    }
    command = [
        sys.executable,
        "driver.py",
        "run",
        "killme.yaml",
        "--db",
        str(db),
        "--pipeline",
        "fake_pipeline:slow",
        "--no-progress",
    ]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while _done_count(db) < 2:
        assert process.poll() is None, process.stdout.read().decode()
        assert time.monotonic() < deadline, "no run finished within 60 s"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    conn = sqlite3.connect(db)
    done_before = {row[0] for row in conn.execute("SELECT run_id FROM runs WHERE status = 'done'")}
    scores_before = conn.execute("SELECT run_id, key, value FROM scores ORDER BY 1, 2").fetchall()
    conn.close()
    assert 2 <= len(done_before) < 6

    rerun = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "6 of 6 runs done, 0 failed" in rerun.stdout
    conn = sqlite3.connect(db)
    statuses = dict(conn.execute("SELECT run_id, status FROM runs").fetchall())
    scores_after = conn.execute("SELECT run_id, key, value FROM scores ORDER BY 1, 2").fetchall()
    conn.close()
    assert set(statuses.values()) == {"done"} and len(statuses) == 6
    assert set(scores_before) <= set(scores_after)  # nothing lost
    events = fake_pipeline.read_log(log_path)
    finished = [run_id for event, run_id in events if event == "finish"]
    for run_id in done_before:  # nothing finished was started again
        assert [e for e in events if e[1] == run_id][-1] == ("finish", run_id)
        assert sum(1 for e in events if e[1] == run_id and e[0] in ("start", "resume")) == 1
    assert set(finished) == set(statuses)


def test_cli_exit_code_is_nonzero_when_a_run_failed(tmp_path, monkeypatch, log):
    from benchmark.cli.main import main

    (tmp_path / "killme.yaml").write_text(TASK_YAML)
    monkeypatch.chdir(tmp_path)
    base = ["run", "killme.yaml", "--db", "r.sqlite", "--no-progress", "--pipeline"]
    assert main([*base, "fake_pipeline:diverges_at_beta_8"]) == 1
    assert main([*base, "fake_pipeline:fixed"]) == 1  # failed runs kept
    assert main([*base, "fake_pipeline:fixed", "--retry-failed"]) == 0
    assert main([*base, "fake_pipeline:fixed", "--workers", "0"]) == 2
    assert main([*base, "nowhere:f"]) == 2


def test_a_huge_error_message_is_cut_to_one_readable_line():
    from benchmark.runner.worker import REASON_MAX_CHARS, _reason

    reason = _reason(RuntimeError("in user code:\n" + "File x.py, line 3\n" * 5000))
    assert len(reason) <= REASON_MAX_CHARS
    assert "\n" not in reason
    assert reason.startswith("RuntimeError: in user code: File x.py")
    assert reason.endswith("(full traceback in the database)")


def test_finished_run_lines_carry_the_count_and_an_eta():
    from benchmark.runner.suite import _progress_note

    # 5 of 45 finished, 2 of them by this invocation in 20 minutes: 40 more at 10 min each.
    assert _progress_note(finished=5, total=45, ran_here=2, elapsed_s=1200) == "[5/45, ETA 6h40m]"
    assert _progress_note(finished=45, total=45, ran_here=2, elapsed_s=1200) == "[45/45]"
    assert _progress_note(finished=3, total=45, ran_here=0, elapsed_s=0) == "[3/45]"


def test_a_log_without_a_terminal_gets_status_lines_of_the_runs_in_flight(tmp_path, capsys):
    from benchmark.runner.status import TRAIN_LOG, status_line
    from benchmark.training.progress import LOG_FILE

    assert TRAIN_LOG == LOG_FILE
    task = tiny_task(seeds=(0,), betas=(1,), posteriors=("iaf",))
    run(tmp_path, fake_pipeline.logs_training, task=task, status_every_s=0.1)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("running")]
    assert lines, "no status line"
    assert all("beta_vae beta=1 posterior=iaf seed=0" in line for line in lines)
    assert any("step 5/10  12.5 steps/s  held-out ELBO -90.50" in line for line in lines)
    (spec,) = expand_task(task)
    assert status_line(spec, tmp_path / "nowhere").endswith("(no training step logged yet)")
