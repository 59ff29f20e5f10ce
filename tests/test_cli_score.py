"""`disbench score FILE.npz`: table, --json, and one clear line (exit 2) for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli.main import main
from benchmark.metrics import score_arrays

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    """300 train / 150 test points of a disentangled 4-code representation."""
    rng = np.random.RandomState(3)
    sizes = np.array([3, 6, 10, 8])
    result = {}
    for split, num in (("train", 300), ("test", 150)):
        factors = np.stack([rng.randint(s, size=num) for s in sizes], axis=1)
        result[f"factors_{split}"] = factors
        result[f"codes_{split}"] = factors / (sizes - 1) + 0.02 * rng.normal(size=(num, 4))
    return result


def _write(tmp_path: Path, name: str = "codes.npz", **arrays: object) -> str:
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


def test_table_lists_scores_and_marks_sklearn_dependent_ones(tmp_path, arrays, capsys):
    path = _write(tmp_path, **arrays)
    assert main(["score", path, "--metrics", "mig,sap,modularity_explicitness"]) == 0
    out = capsys.readouterr().out
    expected = score_arrays(**arrays, metrics="mig,sap,modularity_explicitness")
    assert f"{path}: 300 train / 150 test points, 4 codes, 4 factors" in out
    assert f"mig{' ' * 37} {expected['mig']:.6f}" in out
    assert "explicitness_test *" in out and "sap_discrete_score_matrix *" in out
    assert "* depends on scikit-learn (version" in out
    assert "4x4 (codes x factors):" in out


def test_json_is_one_object_with_the_score_arrays_values(tmp_path, arrays, capsys):
    path = _write(tmp_path, **arrays)
    assert (
        main(["score", path, "--metrics", "mig,dci,unsupervised", "--json", "--n-jobs", "1"]) == 0
    )
    out = capsys.readouterr().out
    result = json.loads(out)
    expected = score_arrays(**arrays, metrics="mig,dci,unsupervised", n_jobs=1)
    assert result["file"] == path
    assert result["mig"] == expected["mig"]
    assert result["dci_importance_matrix_codes_x_factors"] == (
        expected["dci_importance_matrix_codes_x_factors"].tolist()
    )
    assert result["sklearn_version"] == expected["sklearn_version"]
    assert result["skipped"] == {}
    assert out.count("\n") == 1


def test_without_test_arrays_the_test_keys_are_skipped_with_a_note(tmp_path, arrays, capsys):
    path = _write(
        tmp_path, codes_train=arrays["codes_train"], factors_train=arrays["factors_train"]
    )
    assert main(["score", path, "--metrics", "sap"]) == 0
    out = capsys.readouterr().out
    assert "skipped sap_discrete: needs test points (codes_test and factors_test)" in out
    assert "sap_continuous" in out


def _bad_inputs(arrays: dict[str, np.ndarray]) -> list[tuple[str, dict, list[str], list[str]]]:
    """(id, npz contents, extra args, words the error line must contain)."""
    codes, factors = arrays["codes_train"], arrays["factors_train"]
    nan = codes.copy()
    nan[5, 2] = np.nan
    inf = codes.copy()
    inf[7, 0] = np.inf
    half = factors.astype(float)
    half[3, 1] = 0.5
    negative = factors.copy()
    negative[4, 2] = -1
    return [
        ("missing key", {"codes_train": codes}, [], ["factors_train", "missing"]),
        ("lengths", {"codes_train": codes, "factors_train": factors[:-1]}, [], ["factors_train", "299 rows"]),
        ("nan", {"codes_train": nan, "factors_train": factors}, [], ["codes_train", "finite", "row 5, column 2"]),
        ("inf", {"codes_train": inf, "factors_train": factors}, [], ["codes_train", "finite", "row 7, column 0"]),
        ("rank", {"codes_train": codes[:, 0], "factors_train": factors}, [], ["codes_train", "2-D"]),
        ("non-integer", {"codes_train": codes, "factors_train": half}, [], ["factors_train", "integer", "0.5"]),
        ("negative", {"codes_train": codes, "factors_train": negative}, [], ["factors_train", ">= 0", "-1"]),
        ("test half", {**arrays, "factors_test": None}, [], ["factors_test", "missing"]),
        ("test columns", {**arrays, "codes_test": arrays["codes_test"][:, :3]}, [], ["codes_test", "4 columns"]),
        ("text", {"codes_train": np.array([["a"]]), "factors_train": factors}, [], ["codes_train", "numeric"]),
        ("constant factor", {"codes_train": codes, "factors_train": factors * [1, 1, 0, 1]}, [], ["factors_train", "column 2"]),
        ("unknown metric", {"codes_train": codes, "factors_train": factors}, ["--metrics", "mig,mgi"], ["--metrics", "did you mean 'mig'"]),
        ("dataset metric", {"codes_train": codes, "factors_train": factors}, ["--metrics", "beta_vae"], ["--metrics", "needs a data set"]),
    ]  # fmt: skip


@pytest.mark.parametrize("index", range(13))
def test_bad_input_gives_one_line_and_exit_2(tmp_path, arrays, capsys, index):
    name, contents, extra, words = _bad_inputs(arrays)[index]
    path = _write(tmp_path, **{k: v for k, v in contents.items() if v is not None})
    assert main(["score", path, *extra]) == 2, name
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, (name, captured.err)
    assert captured.out == ""
    assert lines[0].startswith("disbench score: error: ")
    if not extra:
        assert path in lines[0], name
    for word in words:
        assert word in lines[0], (name, lines[0])


def test_unreadable_and_missing_files(tmp_path, capsys):
    broken = tmp_path / "broken.npz"
    broken.write_text("not a zip archive")
    assert main(["score", str(broken)]) == 2
    assert str(broken) in capsys.readouterr().err
    assert main(["score", str(tmp_path / "absent.npz")]) == 2
    err = capsys.readouterr().err
    assert "absent.npz: no such file" in err and len(err.strip().splitlines()) == 1
    pickled = tmp_path / "pickled.npz"
    np.savez(
        pickled, codes_train=np.array([{"a": 1}], dtype=object), factors_train=np.zeros((1, 1))
    )
    assert main(["score", str(pickled)]) == 2
    assert "codes_train: expected a numeric array" in capsys.readouterr().err


def test_subprocess_bad_input_has_no_traceback(tmp_path):
    path = _write(tmp_path, codes_train=np.zeros((4, 2)))
    done = subprocess.run(
        [sys.executable, "-m", "benchmark", "score", path],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"disbench score: error: {path}: factors_train: missing; expected arrays codes_train, "
        "factors_train (optional codes_test, factors_test), found: codes_train"
    ]


def test_score_command_does_not_import_tensorflow(tmp_path, arrays):
    path = _write(tmp_path, **arrays)
    code = (
        "import sys; from benchmark.cli.main import main; "
        f"rc = main(['score', {path!r}, '--metrics', 'mig', '--json']); "
        "import benchmark.metrics, benchmark.perf.metrics; "
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'; sys.exit(rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mig"] > 0.9
