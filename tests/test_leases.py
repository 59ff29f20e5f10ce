"""Leases: runs owned on another host are held while their heartbeat is fresh, taken over after.

A runner writes `runs.heartbeat_at` for each run in flight (`benchmark.runner.lease`);
the tests set it by hand to stand for a process on another machine.
"""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import fake_pipeline
import pytest
from test_runner import TASK_YAML
from test_runner_faults import run, tiny_task

from benchmark.config import expand_task
from benchmark.runner import lease
from benchmark.runner.lease import LEASE_S, Heartbeat, heartbeat_age_s, lease_expired
from benchmark.runner.suite import EXIT_HELD, plan_runs
from benchmark.store import ResultStore

ELSEWHERE = "elsewhere.example:123:456"  # a runner on another host

pytestmark = pytest.mark.usefixtures("log")


def _iso(seconds_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hold_elsewhere(tmp_path, heartbeat: str | None) -> str:
    """The beta-8 run of `tiny_task`, running for a process on another host, last beat then."""
    task = tiny_task()
    specs = {s.model_args["beta"]: s for s in expand_task(task)}
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.register_task(task.name, task.to_dict(), list(specs.values()))
        run_id = specs[8].run_id
        assert store.claim(run_id, ELSEWHERE, expected_status="pending", expected_owner=None)
        store._conn.execute(
            "UPDATE runs SET heartbeat_at = ? WHERE run_id = ?", (heartbeat, run_id)
        )
    return run_id


def test_heartbeat_ages_are_read_from_iso_times():
    now = datetime(2025, 1, 31, 12, 10, 0, tzinfo=UTC)
    assert heartbeat_age_s("2025-01-31T12:00:00Z", now) == pytest.approx(600.0)
    assert heartbeat_age_s("2025-01-31T12:20:00Z", now) == 0.0  # a clock running fast
    assert heartbeat_age_s(None, now) is None and heartbeat_age_s("soon", now) is None
    assert lease_expired(LEASE_S + 1) and not lease_expired(LEASE_S - 1)
    assert not lease_expired(None)  # no heartbeat: nothing says it is gone
    assert LEASE_S == 600.0


def test_a_run_on_another_host_with_a_stale_heartbeat_is_taken_over(tmp_path):
    _hold_elsewhere(tmp_path, _iso(LEASE_S + 60))
    summary, records = run(tmp_path, fake_pipeline.fixed)
    assert records[8].status == "done" and summary.exit_code == 0
    assert summary.held_elsewhere == 0


@pytest.mark.parametrize(
    ("seconds_ago", "shown"),
    [(125, r"last heartbeat 2m\d\ds ago"), (None, "no heartbeat recorded")],
    ids=["fresh", "none"],
)
def test_a_run_on_another_host_with_a_fresh_or_no_heartbeat_is_held_and_reported(
    tmp_path, seconds_ago, shown
):
    _hold_elsewhere(tmp_path, None if seconds_ago is None else _iso(seconds_ago))
    summary, records = run(tmp_path, fake_pipeline.fixed)
    assert records[8].status == "running" and records[1].status == "done"
    assert summary.exit_code == EXIT_HELD
    (line,) = summary.held_lines
    assert re.match(f"1 runs held by {re.escape(ELSEWHERE)} on another host: {shown}", line)
    assert "judged dead after 10m00s without one" in line


def test_the_cli_names_the_holder_and_its_heartbeats_age(tmp_path, monkeypatch, capsys):
    from benchmark.cli.main import main

    (tmp_path / "killme.yaml").write_text(TASK_YAML)
    monkeypatch.chdir(tmp_path)
    command = ["run", "killme.yaml", "--db", "r.sqlite", "--no-progress"]
    assert main([*command, "--pipeline", "fake_pipeline:fixed"]) == 0
    conn = sqlite3.connect(tmp_path / "r.sqlite")
    with conn:
        conn.execute(
            "UPDATE runs SET status = 'running', owner = ?, heartbeat_at = ? "
            "WHERE run_id = (SELECT MIN(run_id) FROM runs)",
            (ELSEWHERE, _iso(30)),
        )
    conn.close()
    capsys.readouterr()
    assert main([*command, "--pipeline", "fake_pipeline:fixed"]) == EXIT_HELD
    out = capsys.readouterr().out
    assert f"1 runs held by {ELSEWHERE} on another host: last heartbeat 3" in out
    assert f"exit code {EXIT_HELD}" in out


def test_plan_runs_takes_over_only_expired_leases_on_other_hosts(tmp_path):
    task = tiny_task()
    with ResultStore(tmp_path / "r.sqlite") as store:
        specs = expand_task(task)
        store.register_task(task.name, task.to_dict(), specs)
        for spec in specs:
            store.claim(spec.run_id, ELSEWHERE, expected_status="pending", expected_owner=None)
        records = store.runs(task.name)
    first, second = (r.run_id for r in records)
    todo, held = plan_runs(
        records, retry_failed=False, me="me:1", heartbeat_ages={first: LEASE_S + 1, second: 5.0}
    )
    assert [r.run_id for r in todo] == [first] and held == 1
    todo, held = plan_runs(records, retry_failed=False, me="me:1")  # no heartbeats known
    assert todo == [] and held == 2


def test_the_heartbeat_thread_refreshes_only_this_owners_running_runs(tmp_path):
    task = tiny_task()
    specs = expand_task(task)
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as store:
        store.register_task(task.name, task.to_dict(), specs)
        for spec, owner in zip(specs, ("me:1", "other:2"), strict=True):
            store.claim(spec.run_id, owner, expected_status="pending", expected_owner=None)
        old = _iso(3600)
        store._conn.execute("UPDATE runs SET heartbeat_at = ?", (old,))
        ids = {spec.run_id for spec in specs}
        with Heartbeat(path, "me:1", lambda: ids, every_s=0.05):
            deadline = time.monotonic() + 20
            while store.heartbeats(ids)[specs[0].run_id] == old and time.monotonic() < deadline:
                time.sleep(0.05)
        beats = store.heartbeats(ids)
    assert heartbeat_age_s(beats[specs[0].run_id]) < 60
    assert beats[specs[1].run_id] == old  # another owner's run is not touched


def test_the_runner_beats_for_its_runs_in_flight(tmp_path, monkeypatch):
    beats: list[set[str]] = []
    original = ResultStore.beat

    def spy(self, run_ids, owner):
        beats.append(set(run_ids))
        original(self, run_ids, owner)

    monkeypatch.setattr(ResultStore, "beat", spy)
    monkeypatch.setattr(lease, "HEARTBEAT_EVERY_S", 0.05)
    summary, records = run(tmp_path, fake_pipeline.slow)
    assert summary.exit_code == 0
    assert beats and all(len(ids) == 1 for ids in beats)  # one run in flight at a time
    assert {r.run_id for r in records.values()} >= set().union(*beats)


def test_a_database_without_the_heartbeat_column_is_read_and_then_upgraded(tmp_path):
    path = tmp_path / "r.sqlite"
    run(tmp_path, fake_pipeline.fixed)
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE runs DROP COLUMN heartbeat_at")  # as an older disbench wrote it
    conn.close()
    with ResultStore(path, readonly=True) as store:
        records = store.runs("tiny")
        assert [r.status for r in records] == ["done", "done"]
        assert store.heartbeats([r.run_id for r in records]) == {r.run_id: None for r in records}
    with ResultStore(path) as store:  # opened for writing: the column is added
        columns = {row[1] for row in store._conn.execute("PRAGMA table_info(runs)")}
        assert "heartbeat_at" in columns and len(store.runs("tiny")) == 2
