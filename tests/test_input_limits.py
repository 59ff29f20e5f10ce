"""Issue 27, input handling: every bad input below is one line on stderr and exit 2 (or, for a
damaged artefact, a warning in the page), never a traceback, a hang, or a path outside --out.

Each case ended in a traceback, a hang, a MemoryError or a silently wrong result before.
Inputs are tiny; the YAML bombs trip the reader's limits after a few hundred nodes.
"""

from __future__ import annotations

import io
import os
import sqlite3
import time
from pathlib import Path

import fake_pipeline
import numpy as np
import pytest
from test_runner import TASK_YAML

import benchmark.config.loader as loader
from benchmark.cli.main import main
from benchmark.config import Catalog, expand_task, load_task
from benchmark.config.catalog import metric_names
from benchmark.data.toy import ToyData
from benchmark.data.variants import CorrelatedDSprites
from benchmark.errors import UserInputError
from benchmark.leaderboard.names import file_part
from benchmark.leaderboard.results import load_results
from benchmark.leaderboard.udr import with_udr
from benchmark.models import arguments
from benchmark.store import DatabaseError, ResultStore, RunOutcome
from benchmark.terminal import printable

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def _catalog() -> Catalog:
    """The catalog the runner tests use: no TensorFlow is imported."""
    return Catalog(
        ("toy",), ("beta_vae",), ("diagonal", "iaf"), metric_names()[0], evaluation_settings=()
    )


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(loader, "default_catalog", _catalog)
    monkeypatch.setenv(fake_pipeline.LOG_VARIABLE, str(tmp_path / "events.log"))
    (tmp_path / "t.yaml").write_text(TASK_YAML)
    (tmp_path / "afile").write_text("not a folder")
    return tmp_path


def one_line(capsys, argv: list[str]) -> str:
    """The one stderr line of a command that must exit 2."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


RUN = ["run", "t.yaml", "--db", "r.sqlite", "--pipeline", "fake_pipeline:fixed", "--no-progress"]


# ---- 4. numbers have upper bounds ------------------------------------------------------------

RUN_OPTIONS = [
    (["--run-timeout", "2200000"], "--run-timeout: expected a number > 0 and at most 2,000,000"),
    (["--workers", "1000000000000"], "--workers: expected an integer from 1 to 256"),
    (["--max-attempts", "100000000000000000000"], "--max-attempts: expected an integer from 1"),
    (["--max-artifact-mb", "1e300"], "--max-artifact-mb: expected a number > 0 and at most 1,000"),
    (["--status-every", "1e300"], "--status-every: expected seconds from 0 (off) to 604,800"),
    (["--gpu-memory-mb", "100000000000000"], "--gpu-memory-mb: expected an integer from 1 to"),
    (["--runs-per-gpu", "100000"], "--runs-per-gpu: expected an integer from 1 to 64"),
]


@pytest.mark.parametrize(("extra", "message"), RUN_OPTIONS, ids=[c[0][0] for c in RUN_OPTIONS])
def test_run_options_have_upper_bounds(in_tmp, capsys, extra, message):
    line = one_line(capsys, [*RUN, *extra])
    assert message in line, line
    assert not (in_tmp / "r.sqlite").exists()  # refused before anything was opened


YAML_NUMBERS = [
    ("execution: {run_timeout: 1e7}", "execution.run_timeout: expected a number > 0 and at most"),
    ("execution: {max_attempts: 1e20}", "execution.max_attempts: expected an integer from 1 to"),
    ("execution: {max_artifact_mb: 1e300}", "execution.max_artifact_mb: expected a number > 0"),
    ("training: {steps: 10, learning_rate: 1e300}", "training.learning_rate: expected a number"),
    ("training: {steps: 10, checkpoint_every: 1e300}", "got 1e+300"),  # not 300 digits
]


@pytest.mark.parametrize(("line", "message"), YAML_NUMBERS, ids=[c[0] for c in YAML_NUMBERS])
def test_task_numbers_have_upper_bounds_at_load(in_tmp, line, message):
    text = TASK_YAML.replace("training: {steps: 10}\n", "") + line + "\n"
    if not line.startswith("training"):
        text += "training: {steps: 10}\n"
    (in_tmp / "n.yaml").write_text(text)
    with pytest.raises(UserInputError) as error:
        load_task("n.yaml")
    assert str(error.value).startswith("n.yaml: ") and message in str(error.value)
    assert "\n" not in str(error.value)


def test_model_and_data_numbers_have_upper_bounds():
    with pytest.raises(UserInputError, match=r"'beta': expected a number from 0 to 1,000,000"):
        arguments.non_negative_number("beta", 1e300)
    with pytest.raises(UserInputError, match="sigma must be at most 1,000,000"):
        CorrelatedDSprites(sigma=1e300)  # was OverflowError in sigma**2
    with pytest.raises(UserInputError, match="factor_sizes: expected a list of 1 to 16 integers"):
        ToyData(factor_sizes=[10**12, 5])  # was accepted, then diverged in training
    with pytest.raises(UserInputError, match="factor_sizes"):
        ToyData(factor_sizes=["a"])  # was ValueError with a traceback


# ---- 5. YAML is read with limits -------------------------------------------------------------


def _mapping_bomb(levels: int = 9) -> str:
    lines = ["  a0: &a0 {x: 1, y: 2}"]
    for i in range(1, levels):
        refs = ", ".join(f"k{j}: *a{i - 1}" for j in range(9))
        lines.append(f"  a{i}: &a{i} {{{refs}}}")
    return "bomb:\n" + "\n".join(lines) + "\n"


def _list_bomb(levels: int = 9) -> str:
    lines = ["  - &a0 [lol, lol]"]
    for i in range(1, levels):
        lines.append(f"  - &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "description:\n" + "\n".join(lines) + "\n"


YAML_BOMBS = [
    (_mapping_bomb(), "more than 100,000 values (aliases count as what they repeat)"),
    (_list_bomb(), "more than 100,000 values (aliases count as what they repeat)"),
    ("deep: " + "[" * 500 + "]" * 500 + "\n", "nested more than 64 levels deep"),
    ("deep: " + "{a: " * 500 + "1" + "}" * 500 + "\n", "nested more than 64 levels deep"),
    ("description: &r [*r]\n", "alias *r refers to a value that contains it"),
    ("[1, 2]: 3\n", "a list used as a key; keys are names"),
    ("{a: 1}: 3\n", "a mapping used as a key; keys are names"),
]


@pytest.mark.parametrize(("extra", "message"), YAML_BOMBS, ids=[m[:24] for _, m in YAML_BOMBS])
def test_yaml_limits_give_one_line_quickly(in_tmp, capsys, extra, message):
    (in_tmp / "b.yaml").write_text(TASK_YAML + extra)
    started = time.monotonic()
    line = one_line(capsys, ["validate", "b.yaml"])
    assert time.monotonic() - started < 10
    assert line.startswith("disbench validate: error: b.yaml: line ") and message in line, line


def test_a_key_that_is_not_a_string_is_blamed_on_the_file_that_holds_it(in_tmp, capsys):
    (in_tmp / "defaults.yaml").write_text("training: {steps: 10}\n")
    text = TASK_YAML.replace("training: {steps: 10}\n", "training: {1: 2}\n")
    (in_tmp / "x.yaml").write_text("include: defaults.yaml\n" + text)
    line = one_line(capsys, ["validate", "x.yaml"])
    assert "error: x.yaml: training: keys must be strings, got 1" in line, line


def test_a_sweep_over_the_cap_is_refused_before_it_is_expanded(in_tmp, capsys):
    axes = ", ".join(f"a{k}: *x" for k in range(7))  # 10**7 points from 17 written values
    sweep = "x: &x [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nsweep: {" + axes + "}\n"
    text = TASK_YAML.replace("sweep: {beta: [1, 2, 8], posterior: [diagonal, iaf]}\n", "")
    (in_tmp / "s.yaml").write_text(text + sweep.replace("x: &x", "description: &x"))
    started = time.monotonic()
    line = one_line(capsys, ["validate", "s.yaml"])
    assert time.monotonic() - started < 10
    assert "description: expected text" in line or "expected at most 1,000,000 runs" in line
    (in_tmp / "s.yaml").write_text(
        text
        + "sweep: {"
        + ", ".join(f"a{k}: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]" for k in range(7))
        + "}\n"
    )
    line = one_line(capsys, ["validate", "s.yaml"])
    assert "s.yaml: sweep: expected at most 1,000,000 runs, got 10,000,000" in line, line
    assert time.monotonic() - started < 20


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_as_task_file_is_refused_without_reading_it(in_tmp, capsys):
    os.mkfifo(in_tmp / "pipe.yaml")
    line = one_line(capsys, ["validate", "pipe.yaml"])
    assert "pipe.yaml: not a regular file" in line


# ---- 6. names from a database ---------------------------------------------------------------


def test_reserved_task_names_are_refused_at_load(in_tmp, capsys):
    for name in ("README", "index", "readme"):
        (in_tmp / "r.yaml").write_text(TASK_YAML.replace("name: killme", f"name: {name}"))
        line = one_line(capsys, ["validate", "r.yaml"])
        assert f"r.yaml: name: {name!r} is reserved" in line, line


def _done_store(db: Path, task_name: str = "tiny") -> tuple[ResultStore, list]:
    """A store with the tiny task's runs done, each with a few scores."""
    task = fake_pipeline.tiny_task(name=task_name, seeds=(0,))
    specs = expand_task(task)
    store = ResultStore(db)
    store.register_task(task.name, task.to_dict(), specs)
    for spec in specs:
        store.claim(spec.run_id, "h:1", expected_status="pending", expected_owner=None)
        store.record_outcome(
            RunOutcome(
                run_id=spec.run_id,
                status="done",
                started_at="2025-03-01T10:00:00Z",
                finished_at="2025-03-01T10:01:00Z",
                duration_s=60.0,
                scores={"mig": 0.25},
            )
        )
    return store, specs


def _rename_task(db: Path, name: str) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE tasks SET name = ?", (name,))
        conn.execute("UPDATE task_runs SET task = ?", (name,))
        conn.execute("UPDATE runs SET task = ?", (name,))
    conn.close()


@pytest.mark.parametrize("name", ["README", "..", "a/b", "index", "x\x1b[2J"])
def test_task_names_from_a_database_are_checked_before_they_become_paths(in_tmp, capsys, name):
    store, _ = _done_store(in_tmp / "r.sqlite")
    store.close()
    _rename_task(in_tmp / "r.sqlite", name)
    out = in_tmp / "boards"
    out.mkdir()
    (out / "README.md").write_text("the index")
    line = one_line(capsys, ["leaderboard", name, "--db", "r.sqlite", "--out", "boards"])
    # A name with "/" is read as a task file's path; any other name is checked as a name.
    checked = "r.sqlite: task " in line and ("reserved" in line or "expected a name" in line)
    assert checked or ("/" in name and "no such task file" in line), line
    assert (out / "README.md").read_text() == "the index"
    assert sorted(p.name for p in out.iterdir()) == ["README.md"]
    outside = {p.name for p in in_tmp.iterdir() if not p.name.startswith("r.sqlite")}
    assert outside == {"afile", "boards", "t.yaml"}


def test_file_parts_stay_one_plain_name():
    for text in ("../../etc", "..", "a/b", "\x1b[31m", "", ".hidden", "x" * 500):
        part = file_part(text)
        assert "/" not in part and not part.startswith(".") and 0 < len(part) <= 121, part


# ---- 7. a damaged database ------------------------------------------------------------------


def _damage(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA ignore_check_constraints = ON")
    with conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()


DAMAGE = [
    ("UPDATE runs SET args = '{not json'", "runs row ", "args: not valid JSON"),
    ("UPDATE runs SET spec = '[1, 2]'", "runs row ", "spec: expected a JSON dict, got list"),
    ("UPDATE task_runs SET sweep = 'nope'", "runs row ", "sweep: not valid JSON"),
    ("UPDATE tasks SET config = '{'", "tasks row 'tiny'", "config: not valid JSON"),
    ("UPDATE scores SET value = 'abc'", "scores row ", "value: expected a number, got 'abc'"),
    ("UPDATE runs SET status = 'weird'", "runs row ", "status: unknown status 'weird'"),
    ("UPDATE runs SET entry = CAST(X'ff41' AS TEXT)", "cannot read table runs", "UTF-8"),
]


@pytest.mark.parametrize(("statement", "where", "message"), DAMAGE, ids=[d[2] for d in DAMAGE])
def test_a_damaged_row_is_one_line_naming_table_row_and_field(
    in_tmp, capsys, statement, where, message
):
    store, specs = _done_store(in_tmp / "r.sqlite")
    store.close()
    _damage(in_tmp / "r.sqlite", statement)
    for argv in (
        ["leaderboard", "tiny", "--db", "r.sqlite", "--out", "boards"],
        ["show", specs[0].run_id, "--db", "r.sqlite", "--out", "pictures"],
    ):
        if argv[0] == "show" and "tasks" in where:
            continue  # show reads runs, not a task's configuration
        line = one_line(capsys, argv)
        assert where in line and message in line, (argv[0], line)
    assert not (in_tmp / "boards" / "tiny.md").exists()


def test_a_damaged_row_stops_run_with_one_line_and_keeps_the_results(in_tmp, capsys):
    (in_tmp / "t.yaml").write_text(TASK_YAML.replace("[1, 2, 8]", "[1]"))
    assert main([*RUN]) == 0
    capsys.readouterr()
    _damage(in_tmp / "r.sqlite", "UPDATE runs SET args = '{' WHERE rowid = 1")
    line = one_line(capsys, [*RUN])
    assert "runs row " in line and "args: not valid JSON" in line, line
    conn = sqlite3.connect(in_tmp / "r.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'done'").fetchone()[0] == 2
    conn.close()


def test_a_corrupt_page_is_one_line_for_reads_and_writes(in_tmp):
    store, specs = _done_store(in_tmp / "r.sqlite")
    store.close()
    conn = sqlite3.connect(in_tmp / "r.sqlite")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
    conn.close()
    with open(in_tmp / "r.sqlite", "r+b") as handle:
        handle.seek((root - 1) * page)
        handle.write(b"\xa5" * page)
    with pytest.raises(DatabaseError) as error:
        with ResultStore(in_tmp / "r.sqlite") as damaged:
            damaged.runs("tiny")
    assert "malformed" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(DatabaseError, match="cannot write the results database"):
        with ResultStore(in_tmp / "r.sqlite") as damaged:
            damaged.give_up(specs[0].run_id, "h:1", "x")


def test_a_malformed_udr_artefact_is_skipped_with_a_warning(in_tmp):
    store, specs = _done_store(in_tmp / "r.sqlite")
    good = io.BytesIO()
    np.savez(good, codes=np.random.default_rng(0).normal(size=(50, 3)), kl_per_latent=np.ones(3))
    for spec, data in zip(specs, [b"not an npz", good.getvalue()], strict=True):
        store.claim(spec.run_id, "h:1", expected_status="done", expected_owner=None)
        store.record_outcome(
            RunOutcome(
                run_id=spec.run_id,
                status="done",
                started_at="2025-03-01T10:00:00Z",
                finished_at="2025-03-01T10:01:00Z",
                duration_s=60.0,
                scores={"mig": 0.25},
                artifacts={"udr_codes": ("udr_codes.npz", data)},
            )
        )
    results = with_udr(store, load_results(store, "tiny"))
    store.close()
    assert len(results.warnings) == 1
    assert specs[0].run_id in results.warnings[0] and "left out of UDR" in results.warnings[0]
    from benchmark.leaderboard.markdown import render_markdown

    page = render_markdown(results, command="x", figure_dir="f")
    assert "> **Warning:** run " + specs[0].run_id in page


# ---- 8. file-system errors ------------------------------------------------------------------

FS_CASES = [
    (["--db", "afile/x.sqlite"], "afile/x.sqlite: afile is a file, not a folder"),
    (["--runs-dir", "afile"], "--runs-dir"),
    (["--runs-dir", "/proc/disbench-none"], "--runs-dir /proc/disbench-none: cannot write"),
]


@pytest.mark.parametrize(("extra", "message"), FS_CASES, ids=[c[1][:30] for c in FS_CASES])
def test_run_refuses_unusable_places_before_claiming_a_run(in_tmp, capsys, extra, message):
    argv = [*RUN, *extra] if "--db" not in extra else [*RUN[:2], *RUN[4:], *extra]
    line = one_line(capsys, argv)
    assert message in line, line
    if (in_tmp / "r.sqlite").exists():
        conn = sqlite3.connect(in_tmp / "r.sqlite")
        claimed = conn.execute("SELECT COUNT(*) FROM runs WHERE status != 'pending'").fetchone()
        conn.close()
        assert claimed[0] == 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_as_database_is_refused_without_blocking(in_tmp, capsys):
    os.mkfifo(in_tmp / "db.fifo")
    for argv in (
        [*RUN[:2], *RUN[4:], "--db", "db.fifo"],
        ["leaderboard", "tiny", "--db", "db.fifo"],
        ["show", "abc", "--db", "db.fifo"],
    ):
        assert "db.fifo: not a regular file" in one_line(capsys, argv)


def test_leaderboard_out_that_cannot_be_written_is_one_line(in_tmp, capsys):
    store, _ = _done_store(in_tmp / "r.sqlite")
    store.close()
    base = ["leaderboard", "tiny", "--db", "r.sqlite"]
    assert "afile: --out is a file" in one_line(capsys, [*base, "--out", "afile"])
    (in_tmp / "boards").mkdir()
    (in_tmp / "boards" / "tiny").write_text("a file where the figures go")
    assert "the figure folder is a file" in one_line(capsys, [*base, "--out", "boards"])
    line = one_line(capsys, [*base, "--out", "/proc/disbench-none"])
    assert "--out /proc/disbench-none: cannot write" in line, line
    if Path("/dev/full").exists():  # a full disk: every write fails with ENOSPC
        (in_tmp / "full").mkdir()
        (in_tmp / "full" / "tiny.md").symlink_to("/dev/full")
        line = one_line(capsys, [*base, "--out", "full"])
        assert "No space left on device" in line, line


# ---- 9. show --------------------------------------------------------------------------------


def test_show_refuses_an_empty_id_and_an_ambiguous_prefix(in_tmp, capsys):
    store, specs = _done_store(in_tmp / "r.sqlite")
    store.close()
    assert "expected a run id" in one_line(capsys, ["show", "", "--db", "r.sqlite"])
    tables = ("runs", "task_runs", "scores", "artifacts")
    _damage(in_tmp / "r.sqlite", *(f"UPDATE {t} SET run_id = 'ab' || run_id" for t in tables))
    ids = sorted("ab" + s.run_id for s in specs)
    line = one_line(capsys, ["show", "ab", "--db", "r.sqlite"])
    assert f"matches {len(ids)} runs: {', '.join(ids)}" in line, line


def test_show_reads_the_database_read_only(in_tmp, capsys):
    (in_tmp / "empty.sqlite").write_bytes(b"")
    line = one_line(capsys, ["show", "abc", "--db", "empty.sqlite"])
    assert "an empty database" in line
    assert (in_tmp / "empty.sqlite").read_bytes() == b""
    assert sorted(p.name for p in in_tmp.iterdir() if p.name.startswith("empty")) == [
        "empty.sqlite"
    ]


# ---- 10. control characters -----------------------------------------------------------------


def test_control_characters_are_escaped_on_the_terminal(in_tmp, capsys):
    text = TASK_YAML.replace(
        "args: {architecture: fc}}", 'args: {architecture: fc}, label: "x\\e[2J\\u202ey"}'
    )
    (in_tmp / "c.yaml").write_text(text)
    assert main(["validate", "--runs", "c.yaml"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert "x\\x1b[2J\\u202ey" in out
    line = one_line(capsys, ["validate", "no\x1b]0;title\x07such"])
    assert "\x1b" not in line and "\x07" not in line and "no\\x1b]0;title\\x07such" in line
    assert printable("tab\there\nnewline") == "tab\\x09here\\x0anewline"
