"""The README's Results section is generated: each block equals what the committed files give."""

import importlib.util
from pathlib import Path

import pytest

from benchmark.leaderboard.findings import block_of, findings_lines, replace_block
from benchmark.leaderboard.results import load_results
from benchmark.store import ResultStore

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
# (task, database) of every findings block the README holds.
STUDIES = (
    ("cpu_study", "results/cpu_study.sqlite"),
    ("autoencoder_vs_vae", "results/cpu_study.sqlite"),
    ("disentangle_study", "results/disentangle_study.sqlite"),
)


@pytest.mark.parametrize(("task", "database"), STUDIES)
def test_a_findings_block_is_what_its_database_gives(task, database):
    path = REPO / database
    if not path.exists():
        pytest.skip(f"{database} is not committed yet")
    text = README.read_text(encoding="utf-8")
    assert block_of(text, task) is not None, f"README has no findings block for {task}"
    with ResultStore(path, create=False, readonly=True) as store:
        expected = replace_block(text, task, findings_lines(load_results(store, task)))
    assert block_of(text, task) == block_of(expected, task), (
        f"regenerate it: disbench leaderboard {task} --db {database} --readme README.md"
    )


def test_the_regime_table_is_what_the_probe_files_give():
    spec = importlib.util.spec_from_file_location("regime_probe", REPO / "scripts/regime_probe.py")
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    text = README.read_text(encoding="utf-8")
    block = text[text.index(probe.TABLE_START) : text.index(probe.TABLE_END)]
    expected = "\n".join([probe.TABLE_START, *probe.table(REPO / "results/regime_search"), ""])
    assert block == expected


def test_owned_factors_need_a_latent_of_their_own():
    spec = importlib.util.spec_from_file_location("regime_probe", REPO / "scripts/regime_probe.py")
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    # rows: latents; columns: shape, scale, orientation, posX, posY
    separate = [[0, 0, 0, 0.8, 0], [0, 0, 0, 0, 0.7], [0, 0.5, 0, 0, 0]]
    assert probe.owned_factors(separate) == ["posX", "posY", "scale"]
    mixed = [[0, 0, 0, 0.5, 0.4], [0, 0, 0, 0.3, 0.4], [0, 0.2, 0, 0, 0]]
    assert probe.owned_factors(mixed) == []


def test_the_cost_line_counts_every_attempt_and_the_runs_left():
    from benchmark.leaderboard.findings import _cost
    from benchmark.leaderboard.results import RunRow, TaskResults

    def run(i, status, total, last):
        return RunRow(run_id=f"r{i}", status=status, label="m", entry="m", dataset="d", seed=i,
                      position=i, total_duration_s=total, duration_s=last)  # fmt: skip

    runs = (
        run(0, "done", 1800.0, 600.0),  # failed once, then done: 30 min over its attempts
        run(1, "done", None, 3000.0),  # stored before every attempt's time was kept
        run(2, "done", 0.0, 0.0),  # took a finished run's result
        run(3, "done", 2400.0, 2400.0),
        run(4, "pending", None, None),
        run(5, "failed", 60.0, 60.0),
    )
    (line,) = _cost(TaskResults("t", {}, runs))
    assert line == (
        "- **Cost.** A finished run took a median of 40 minutes of wall time (range 30-50 over "
        "3 runs, the attempts that ended; time in an interrupted attempt is not stored; 1 took "
        "another run's result and no time); the 2 runs left are about 1.3 run-hours at that "
        "median."
    )
    assert _cost(TaskResults("t", {}, runs[4:])) == []
