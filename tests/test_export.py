"""`disbench export` and `benchmark.results`: the stored scores as a table, round-tripped
against the leaderboard's own numbers on the committed cpu_study database."""

import csv
import io
import json
from pathlib import Path

import pytest

from benchmark.cli.main import main
from benchmark.leaderboard.results import load_results
from benchmark.leaderboard.tables import build_rows
from benchmark.results import load, rows
from benchmark.store import ResultStore

DB = Path(__file__).resolve().parent.parent / "results" / "cpu_study.sqlite"
pytestmark = pytest.mark.skipif(not DB.exists(), reason="cpu_study.sqlite is not committed")


def test_the_table_reproduces_the_leaderboard_means():
    frame = load("cpu_study", DB)
    with ResultStore(DB, create=False, readonly=True) as store:
        results = load_results(store, "cpu_study")
    fields = ("entry", "posterior", "beta")
    leaderboard = build_rows(results, fields)
    assert leaderboard
    for row in leaderboard:
        entry, posterior, beta = row.key
        for key in ("mig", "factorvae_eval_accuracy", "pca/mig"):
            base, representation = (key[4:], "pca") if key.startswith("pca/") else (key, "mean")
            picked = frame[
                (frame.entry == entry)
                & (frame.posterior == posterior)
                & (frame.beta == float(beta))
                & (frame.key == base)
                & (frame.representation == representation)
                & (frame.status == "done")
            ]
            assert picked.value.mean() == pytest.approx(row.summary(key).mean, rel=1e-12), key
            assert len(picked) == row.summary(key).n


def test_every_row_is_one_run_key_and_representation():
    table = rows("cpu_study", DB)
    triples = [(r["run_id"], r["key"], r["representation"]) for r in table]
    assert len(triples) == len(set(triples))
    assert {r["representation"] for r in table} >= {"mean", "pca", "ica"}
    assert all(isinstance(r["value"], float) for r in table)


def test_export_writes_csv_json_and_parquet(tmp_path, capsys):
    assert main(["export", "cpu_study", "--db", str(DB)]) == 0
    written = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(written) == len(rows("cpu_study", DB))
    out = tmp_path / "s.jsonl"
    assert (
        main(["export", "cpu_study", "--db", str(DB), "--format", "json", "--out", str(out)]) == 0
    )
    first = json.loads(out.read_text().splitlines()[0])
    assert {"run_id", "key", "representation", "value", "posterior", "beta"} <= set(first)
    parquet = tmp_path / "s.parquet"
    argv = ["export", "cpu_study", "--db", str(DB), "--format", "parquet", "--out", str(parquet)]
    assert main(argv) == 0
    pandas = pytest.importorskip("pandas")
    assert len(pandas.read_parquet(parquet)) == len(written)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "nosuch", "--db", str(DB)], "no runs of task 'nosuch'"),
        (["export", "cpu_study", "--db", "/nonexistent/x.sqlite"], "no such results database"),
        (["export", "cpu_study", "--db", str(DB), "--format", "parquet"], "give --out FILE"),
    ],
)
def test_bad_export_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
