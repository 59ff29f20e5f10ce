"""The results database under bad input: refused files stay untouched, read-only reading, limits."""

from __future__ import annotations

import ctypes
import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from fake_pipeline import tiny_task

from benchmark.config import expand_task
from benchmark.store import DatabaseError, ResultStore, RunOutcome

REPO = Path(__file__).resolve().parent.parent


def registered(path: Path) -> tuple[ResultStore, list]:
    store = ResultStore(path)
    task = tiny_task()
    specs = expand_task(task)
    store.register_task(task.name, task.to_dict(), specs)
    return store, specs


def outcome(run_id: str, **fields) -> RunOutcome:
    return RunOutcome(
        run_id=run_id,
        status="done",
        started_at="2025-01-01T00:00:00Z",
        finished_at="2025-01-01T00:01:00Z",
        duration_s=60.0,
        **fields,
    )


def folder_state(folder: Path) -> dict[str, str]:
    """`{file name: sha256}` of every file in `folder`."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _old_database(path: Path, statements: list[str]) -> None:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("statements", "message"),
    [
        (
            [
                "CREATE TABLE schema_version (version INTEGER)",
                "INSERT INTO schema_version VALUES (1)",
                "CREATE TABLE runs (run_id TEXT PRIMARY KEY, status TEXT)",
            ],
            r"schema version 1 but incomplete \(missing table artifacts, .*runs\.task",
        ),
        (
            [
                "CREATE TABLE schema_version (version TEXT)",
                "INSERT INTO schema_version VALUES ('1')",
            ],
            r"schema_version\.version: expected one integer row, got '1'",
        ),
        (
            ["CREATE TABLE schema_version (version INTEGER)"],
            r"schema_version\.version: expected one integer row, got no row",
        ),
    ],
    ids=["missing-columns", "text-version", "no-version-row"],
)
def test_a_refused_database_is_not_modified_at_all(tmp_path, statements, message, capsys):
    path = tmp_path / "old.sqlite"
    _old_database(path, statements)
    before = folder_state(tmp_path)
    with pytest.raises(DatabaseError, match=message):
        ResultStore(path)
    assert folder_state(tmp_path) == before  # no table added, no WAL switch, no journal
    from benchmark.cli.main import main

    assert main(["leaderboard", "tiny", "--db", str(path), "--out", str(tmp_path / "lb")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "old.sqlite" in err and "Traceback" not in err
    assert folder_state(tmp_path) == before


def test_an_artefact_over_the_blob_limit_is_a_failed_run_not_a_crash(tmp_path):
    store, specs = registered(tmp_path / "r.sqlite")
    store._conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 10_000)  # SQLite's limit, made small
    run_id = specs[0].run_id
    store.claim(run_id, "me:1", expected_status="pending", expected_owner=None)
    big = outcome(run_id, scores={"mig": 0.5}, artifacts={"traversals": ("t.npy", b"x" * 20_000)})
    assert store.record_outcome(big, owner="me:1")
    record = store.runs("tiny")[0]
    assert record.status == "failed" and record.owner is None
    assert record.error.startswith("the results could not be stored: DataError: string or blob")
    assert "artefact 'traversals' is 20,000 bytes; SQLite stores at most 10,000 bytes" in (
        record.error
    )
    assert store.scores([run_id]) == {run_id: {}} and store.artifact_names([run_id])[run_id] == {}
    store.close()


def _drop_dac_capabilities() -> None:
    """Run as root without the right to ignore file permissions (`PR_CAPBSET_DROP`)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        libc.prctl(24, capability, 0, 0, 0)


READ = """
import sys
from benchmark.leaderboard import load_results
from benchmark.store import ResultStore
with ResultStore(sys.argv[1], create=False, readonly=True) as store:
    results = load_results(store, "tiny")
    print(sum(r.status == "done" for r in results.runs), results.runs[0].scores["mig"])
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux permissions")
@pytest.mark.parametrize("wal_left", [False, True], ids=["closed-cleanly", "wal-file-left"])
def test_leaderboard_reads_a_database_in_a_read_only_folder(tmp_path, wal_left):
    folder = tmp_path / "results"
    folder.mkdir()
    store, specs = registered(folder / "r.sqlite")
    store.claim(specs[0].run_id, "me:1", expected_status="pending", expected_owner=None)
    store.record_outcome(outcome(specs[0].run_id, scores={"mig": 0.25}))
    writer = None
    if wal_left:  # a writer still open: the result is only in the -wal file
        store._conn.execute("PRAGMA wal_autocheckpoint = 0")
        store.claim(specs[1].run_id, "me:1", expected_status="pending", expected_owner=None)
        store.record_outcome(outcome(specs[1].run_id, scores={"mig": 0.5}))
        writer = store
        assert (folder / "r.sqlite-wal").stat().st_size > 0
    else:
        store.close()
    before = folder_state(folder)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    for p in folder.iterdir():
        p.chmod(stat.S_IRUSR | stat.S_IRGRP)
    try:
        result = subprocess.run(
            [sys.executable, "-c", READ, str(folder / "r.sqlite")],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            preexec_fn=_drop_dac_capabilities if os.geteuid() == 0 else None,
            timeout=120,
        )
        # The check itself: a read-only folder really refuses writes to that process.
        probe = subprocess.run(
            [sys.executable, "-c", f"open({str(folder / 'x')!r}, 'w')"],
            capture_output=True,
            preexec_fn=_drop_dac_capabilities if os.geteuid() == 0 else None,
        )
    finally:
        folder.chmod(0o755)
        for p in folder.iterdir():
            p.chmod(0o644)
        if writer is not None:
            writer.close()
    assert probe.returncode != 0
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == (["2", "0.25"] if wal_left else ["1", "0.25"])
    assert folder_state(folder) == before or wal_left  # the writer may checkpoint on close


def test_read_only_store_never_writes(tmp_path):
    store, _ = registered(tmp_path / "r.sqlite")
    store.close()
    before = folder_state(tmp_path)
    with ResultStore(tmp_path / "r.sqlite", readonly=True) as reader:
        assert reader.task_names() == ["tiny"]
        with pytest.raises(DatabaseError, match="cannot write the results database"):
            reader.start_invocation("tiny", "x", "local")
    after = folder_state(tmp_path)
    assert after["r.sqlite"] == before["r.sqlite"]
    # SQLite's reader may leave an empty -wal (and its -shm index) where it can write.
    assert set(after) - set(before) <= {"r.sqlite-wal", "r.sqlite-shm"}
    assert (
        after.get("r.sqlite-wal", hashlib.sha256(b"").hexdigest())
        == hashlib.sha256(b"").hexdigest()
    )
    with pytest.raises(DatabaseError, match="no results database here"):
        ResultStore(tmp_path / "missing.sqlite", readonly=True)
    assert not (tmp_path / "missing.sqlite").exists()


def test_a_failure_too_large_to_store_keeps_its_reason_and_drops_the_traceback(tmp_path):
    store, specs = registered(tmp_path / "r.sqlite")
    store._conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 10_000)
    run_id = specs[0].run_id
    store.claim(run_id, "me:1", expected_status="pending", expected_owner=None)
    failed = RunOutcome(
        run_id=run_id,
        status="failed",
        started_at="2025-01-01T00:00:00Z",
        finished_at="2025-01-01T00:01:00Z",
        duration_s=60.0,
        error="RuntimeError: boom",
        error_detail="Traceback\n" * 5_000,
    )
    assert store.record_outcome(failed, owner="me:1")
    record = store.runs("tiny")[0]
    assert (record.status, record.error, record.error_detail) == (
        "failed",
        "RuntimeError: boom",
        None,
    )
    store.close()
