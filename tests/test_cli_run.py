"""`disbench validate` and `disbench list`, against the live registries."""

from __future__ import annotations

import pytest
from vae_cases import BUILT_IN_ENTRIES, FAMILIES

from benchmark.cli.main import main


def test_validate_shipped_tasks(capsys):
    assert main(["validate", "quick", "dlib_reproduction"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(
        "tasks/quick.yaml: ok: task 'quick', 6 runs = 6 configurations (1 model entry) x 1 seed, "
        "500 steps each"
    )
    assert "1800 runs = 36 configurations (6 model entries) x 50 seeds" in out[1]


def test_validate_lists_runs(capsys):
    assert main(["validate", "quick", "--runs"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert len(lines) == 6
    assert lines[0].split()[1:] == ["beta_vae", "posterior=iaf", "beta=1", "seed=0"]  # IAF first


def test_validate_bad_file_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text(
        "name: bad\ndataset: {name: toy}\nmodels: [{entry: beta_vae}]\n"
        "sweep: {beta: [1, 2, four]}\nseeds: [0]\ntraining: {steps: 1}\n"
        "evaluation: {metrics: [mig]}\n"
    )
    assert main(["validate", "bad.yaml"]) == 2
    assert capsys.readouterr().err == (
        "disbench validate: error: bad.yaml: sweep.beta[2]: expected a number, got 'four'\n"
    )
    assert main(["validate", "quik"]) == 2
    assert "did you mean 'quick'?" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "tasks",
            [
                "autoencoder_vs_vae",
                "correlated_factors",
                "cpu_study",
                "disentangle_controls",
                "disentangle_study",
                "dlib_reproduction",
                "posterior_beta_sweep",
                "posterior_beta_sweep_shapes3d",
                "quick",
                "small_sweep",
            ],
        ),
        (
            "metrics",
            [
                "beta_vae",
                "dci",
                "dci_es",
                "dcimig",
                "downstream_task_boosted_trees",
                "downstream_task_logistic_regression",
                "factor_vae",
                "infomec",
                "irs",
                "jemmig",
                "mig",
                "mig_sup",
                "modularity_explicitness",
                "sap",
                "unsupervised",
                "z_diff",
                "z_min_var",
            ],
        ),
        ("models", sorted([*BUILT_IN_ENTRIES, "autoencoder", "sparse_autoencoder"])),
        ("posteriors", list(FAMILIES)),
    ],
)
def test_list(kind, expected, capsys):
    assert main(["list", kind]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == expected


def test_list_datasets_shows_their_docstrings(capsys):
    assert main(["list", "datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    toy = next(line for line in lines if line.startswith("toy"))
    assert "Four independent uniform factors" in toy
    assert {"dsprites", "correlated_dsprites", "toy"} <= {line.split()[0] for line in lines}


def test_run_refuses_conflicting_options(capsys):
    assert main(["run", "quick", "--status-every", "-5"]) == 2
    assert "--status-every: expected seconds >= 0 (0: off), got -5.0" in capsys.readouterr().err
    assert main(["run", "quick", "--executor", "ray", "--workers", "2"]) == 2
    assert "--workers applies to the local executor" in capsys.readouterr().err
    assert main(["run", "quick", "--ray-address", "auto"]) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err
