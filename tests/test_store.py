"""The results database: schema checks, transactions, WAL, claims, scores and artefacts."""

from __future__ import annotations

import math
import sqlite3
import threading

import pytest
from fake_pipeline import tiny_task

from benchmark.config import expand_task
from benchmark.store import (
    SCHEMA_VERSION,
    DatabaseError,
    ResultStore,
    RunOutcome,
)


def registered(path, task=None) -> tuple[ResultStore, list]:
    store = ResultStore(path)
    task = task or tiny_task()
    specs = expand_task(task)
    store.register_task(task.name, task.to_dict(), specs)
    return store, specs


def outcome(run_id: str, status: str = "done", **fields) -> RunOutcome:
    return RunOutcome(
        run_id=run_id,
        status=status,
        started_at="2025-01-01T00:00:00Z",
        finished_at="2025-01-01T00:01:00Z",
        duration_s=60.0,
        **fields,
    )


def test_new_database_has_schema_version_and_wal(tmp_path):
    path = tmp_path / "sub" / "r.sqlite"
    with ResultStore(path):
        pass
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    with ResultStore(path) as again:  # reopening keeps one version row
        assert again.task_names() == []
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 1


def test_not_sqlite_file_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "r.sqlite"
    path.write_text("runs,scores\n1,2\n")
    with pytest.raises(DatabaseError, match=r"r.sqlite: not an SQLite database \(it starts with"):
        ResultStore(path)
    assert path.read_text() == "runs,scores\n1,2\n"


def test_other_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE people (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="not a disbench results database.*people"):
        ResultStore(path)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "r.sqlite"
    ResultStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(
        DatabaseError, match=rf"written by a newer disbench \(schema version {SCHEMA_VERSION + 1}"
    ):
        ResultStore(path)


def test_folder_and_missing_database(tmp_path):
    with pytest.raises(DatabaseError, match="is a folder"):
        ResultStore(tmp_path)
    with pytest.raises(DatabaseError, match="no results database here"):
        ResultStore(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()


def test_register_is_idempotent_and_keeps_results(tmp_path):
    store, specs = registered(tmp_path / "r.sqlite")
    assert store.counts("tiny") == {"pending": 4, "running": 0, "done": 0, "failed": 0}
    assert store.claim(specs[0].run_id, "me:1", expected_status="pending", expected_owner=None)
    store.record_outcome(outcome(specs[0].run_id, scores={"mig": 0.5}))
    task = tiny_task()
    store.register_task(task.name, task.to_dict(), specs)
    assert store.counts("tiny")["done"] == 1
    # A smaller task file drops runs from the task, not their results.
    smaller = tiny_task(seeds=(0,))
    store.register_task(smaller.name, smaller.to_dict(), expand_task(smaller))
    assert len(store.runs("tiny")) == 2
    assert store.scores([specs[0].run_id]) == {specs[0].run_id: {"mig": 0.5}}
    assert [r.position for r in store.runs("tiny")] == [0, 1]


def test_claim_is_compare_and_set(tmp_path):
    store, specs = registered(tmp_path / "r.sqlite")
    run_id = specs[0].run_id
    assert store.claim(run_id, "a:1", expected_status="pending", expected_owner=None)
    assert not store.claim(run_id, "b:2", expected_status="pending", expected_owner=None)
    assert store.claim(run_id, "b:2", expected_status="running", expected_owner="a:1")
    record = store.runs("tiny")[0]
    assert (record.status, record.owner, record.attempts) == ("running", "b:2", 2)
    # The old owner's late result does not overwrite the new owner's run.
    assert not store.record_outcome(outcome(run_id, scores={"mig": 1.0}), owner="a:1")
    assert store.record_outcome(outcome(run_id, scores={"mig": 2.0}), owner="b:2")
    assert store.scores([run_id])[run_id] == {"mig": 2.0}


def test_scores_and_artefacts_round_trip(tmp_path):
    store, specs = registered(tmp_path / "r.sqlite")
    run_id = specs[1].run_id
    store.claim(run_id, "me:1", expected_status="pending", expected_owner=None)
    scores = {"mig": 0.25, "irs": float("nan"), "matrix": [[1.0, 0.5], [0.5, 1.0]], "n": 3}
    store.record_outcome(
        outcome(
            run_id,
            scores=scores,
            artifacts={"traversals": ("t.png", b"\x89PNG bytes")},
            durations={"train_s": 1.5},
            versions={"numpy": "2.4.6"},
            git_commit="abc",
        )
    )
    stored = store.scores([run_id])[run_id]
    assert stored["mig"] == 0.25 and stored["n"] == 3.0
    assert math.isnan(stored["irs"])
    assert stored["matrix"] == [[1.0, 0.5], [0.5, 1.0]]
    assert store.artifact_names([run_id]) == {run_id: {"traversals": "t.png"}}
    assert store.artifact(run_id, "traversals") == ("t.png", b"\x89PNG bytes")
    record = next(r for r in store.runs("tiny") if r.run_id == run_id)
    assert record.status == "done" and record.owner is None
    assert record.durations == {"train_s": 1.5} and record.versions == {"numpy": "2.4.6"}
    assert record.finished_at == "2025-01-01T00:01:00Z" and record.total_duration_s == 60.0


def test_a_failing_write_leaves_no_half_written_run(tmp_path):
    store, specs = registered(tmp_path / "r.sqlite")
    run_id = specs[0].run_id
    store.claim(run_id, "me:1", expected_status="pending", expected_owner=None)
    broken = outcome(run_id, scores={"mig": 0.5, None: 1.0})
    with pytest.raises(sqlite3.IntegrityError):  # score key NOT NULL: fails mid-transaction
        store.record_outcome(broken)
    record = store.runs("tiny")[0]
    assert record.status == "running"
    assert store.scores([run_id]) == {run_id: {}}


def test_full_database_disk_keeps_finished_results(tmp_path):
    store, specs = registered(tmp_path / "r.sqlite")
    first, second = specs[0].run_id, specs[1].run_id
    for run_id in (first, second):
        store.claim(run_id, "me:1", expected_status="pending", expected_owner=None)
    store.record_outcome(outcome(first, scores={"mig": 0.5}))
    # No more pages may be added: SQLite reports "database or disk is full".
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")
    big = outcome(second, scores={"mig": 0.1}, artifacts={"t": ("t.npy", b"x" * 200_000)})
    with pytest.raises(DatabaseError, match="database or disk is full.*recorded before this one"):
        store.record_outcome(big)
    store.close()
    with ResultStore(tmp_path / "r.sqlite") as again:
        assert again.scores([first]) == {first: {"mig": 0.5}}
        assert {r.run_id: r.status for r in again.runs("tiny")}[second] == "running"


def test_release_returns_runs_to_pending(tmp_path):
    store, specs = registered(tmp_path / "r.sqlite")
    store.claim(specs[0].run_id, "me:1", expected_status="pending", expected_owner=None)
    store.release([specs[0].run_id], "me:1", "interrupted")
    record = store.runs("tiny")[0]
    assert (record.status, record.owner, record.error) == ("pending", None, "interrupted")


def test_concurrent_writers_all_land(tmp_path):
    path = tmp_path / "r.sqlite"
    store, specs = registered(path, tiny_task(seeds=range(10)))
    store.close()
    errors = []

    def worker(part):
        try:
            with ResultStore(path) as mine:
                for spec in part:
                    mine.claim(spec.run_id, "w:1", expected_status="pending", expected_owner=None)
                    mine.record_outcome(outcome(spec.run_id, scores={"mig": spec.seed / 10}))
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(specs[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with ResultStore(path) as check:
        assert check.counts("tiny")["done"] == 20


def test_invocations_are_recorded(tmp_path):
    store, _ = registered(tmp_path / "r.sqlite")
    number = store.start_invocation("tiny", "disbench run tiny", "local", git_commit="abc")
    store.finish_invocation(number, 0)
    (row,) = store.invocations("tiny")
    assert (row["command"], row["executor"], row["exit_code"], row["git_commit"]) == (
        "disbench run tiny",
        "local",
        0,
        "abc",
    )
