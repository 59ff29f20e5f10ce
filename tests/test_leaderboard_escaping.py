"""Leaderboard pages show untrusted text as text: no HTML comments, tags, links or remote images."""

from __future__ import annotations

import json
import re

from benchmark.cli.main import main
from benchmark.config import (
    DatasetConfig,
    EvaluationConfig,
    ModelConfig,
    TaskConfig,
    TrainingConfig,
    expand_task,
)
from benchmark.leaderboard.markdown import INDEX_MARKER, cell, code, text
from benchmark.store import ResultStore, RunOutcome

HOSTILE_LABEL = "<img src=https://evil.example/l.png>"
HOSTILE_ERROR = "![x](https://evil.example/e.png) <script>alert(1)</script> | done"
HOSTILE_KEY = "<b>bold</b>"


def hostile_db(path) -> None:
    task = TaskConfig(
        name="hostile",
        description="Before <!-- everything after this would vanish --> and [a link](https://x)",
        dataset=DatasetConfig("toy"),
        models=(ModelConfig("beta_vae", {"architecture": "fc"}, label=HOSTILE_LABEL),),
        sweep=({"beta": 1},),
        seeds=(0, 1),
        training=TrainingConfig(steps=10),
        evaluation=EvaluationConfig(metrics=("mig",)),
    )
    specs = expand_task(task)
    with ResultStore(path) as store:
        store.register_task(task.name, task.to_dict(), specs)
        store.start_invocation(task.name, "disbench run `x` <!--", "local")
        for spec, status in zip(specs, ("done", "failed"), strict=True):
            store.claim(spec.run_id, "h:1", expected_status="pending", expected_owner=None)
            store.record_outcome(
                RunOutcome(
                    run_id=spec.run_id,
                    status=status,
                    started_at="2025-01-01T00:00:00Z",
                    finished_at="2025-01-01T00:01:00Z",
                    duration_s=60.0,
                    scores={"mig": 0.5, HOSTILE_KEY: 1.0} if status == "done" else {},
                    error=HOSTILE_ERROR if status == "failed" else None,
                )
            )


def test_escaping_helpers():
    assert text("<!-- x -->") == "&lt;!-- x --&gt;"
    assert text("![i](http://e/x.png)") == "!\\[i\\](http://e/x.png)"
    assert text("# heading\nnext  line") == "\\# heading next line"
    assert text("a & b") == "a &amp; b"
    assert text("1. item") == "1\\. item" and text("2) x") == "2\\) x"  # no ordered list
    assert text("0.01") == "0.01" and text("-5") == "\\-5"  # a backslash before a digit shows
    assert text("the `quick` task") == "the `quick` task"  # code spans show text literally
    assert cell("a | b") == "a \\| b"
    assert code("run `x`") == "`` run `x` ``"
    assert code("disbench run quick") == "`disbench run quick`"


def test_hostile_text_cannot_hide_the_page_or_load_anything(tmp_path, capsys):
    hostile_db(tmp_path / "r.sqlite")
    out = tmp_path / "lb"
    db = str(tmp_path / "r.sqlite")
    assert main(["leaderboard", "hostile", "--db", db, "--out", str(out)]) == 0
    capsys.readouterr()
    page = (out / "hostile.md").read_text()
    first, rest = page.split("\n", 1)
    assert first.startswith(INDEX_MARKER) and first.endswith(" -->")
    assert "<" not in first[len(INDEX_MARKER) :]  # the description cannot close or open comments
    summary = json.loads(first[len(INDEX_MARKER) : -3])
    assert summary["description"].startswith("Before <!-- everything")  # data kept as is
    command = "`` disbench run `x` <!-- ``"  # a code span shows its text literally
    assert command in rest
    outside_code = rest.replace(command, "")
    for raw in ("<!--", "<img", "<script", "<b>"):
        assert raw not in outside_code, raw
    # No link or image but the page's own figures: every other "](" is escaped.
    links = re.findall(r"(?<!\\)\]\((\S+)\)", outside_code)
    assert links and all(link.startswith("hostile/") for link in links), links
    assert "Before &lt;!-- everything after this would vanish --&gt; and \\[a link\\]" in rest
    assert "&lt;img src=https://evil.example/l.png&gt;" in rest  # the label, shown as text
    assert "&lt;b&gt;bold&lt;/b&gt;" in rest  # the score key, in the Other scores table
    assert "!\\[x\\](https://evil.example/e.png) &lt;script&gt;" in rest  # the failure reason
    assert "\\| done |" in rest  # a pipe in the reason does not add a column
    # Every table row has as many cells as its header.
    for table in rest.split("\n\n"):
        rows = [line for line in table.splitlines() if line.startswith("|")]
        counts = {line.replace("\\|", "").count("|") for line in rows}
        assert len(counts) <= 1, table
    index = (out / "README.md").read_text()
    assert "<!--" not in index and "&lt;!--" in index
