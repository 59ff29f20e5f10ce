"""Bad command-line values and files: one line naming the input and what was expected, exit 2.

Each row used to end in a Python traceback (or, for `--out DIR/`, in a file
written somewhere else than reported).
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli.main import main


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a folder")
    return tmp_path


def one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


PREVIEW_CASES = [
    (["--columns", "100000"], "--columns: expected an integer from 1 to 1,000, got 100000"),
    (["--columns", "0"], "--columns: expected an integer from 1 to 1,000, got 0"),
    (["--zoom", "100000"], "--zoom: expected an integer from 1 to 64, got 100000"),
    (["--zoom", "40"], "the picture would be 25,732 x 15,468 pixels; expected at most 16,384"),
    (["--seed", "-1"], "--seed: expected an integer from 0 to 4,294,967,295, got -1"),
    (["--out", "x.txt"], "x.txt: expected a .png file name (or a folder), got .txt suffix"),
    (["--out", "missing/"], "missing/: no such folder"),
    (["--out", "afile/x.png"], "afile/x.png: folder afile does not exist"),
    (["--out", "nowhere/x.png"], "nowhere/x.png: folder nowhere does not exist"),
]


@pytest.mark.parametrize(
    ("extra", "message"), PREVIEW_CASES, ids=[c[1][:40] for c in PREVIEW_CASES]
)
def test_preview_options(in_tmp, capsys, extra, message):
    line = one_line_error(capsys, ["data", "preview", "dsprites", *extra])
    assert line.startswith("disbench data: error: ") and message in line, line
    assert sorted(p.name for p in in_tmp.iterdir()) == ["afile"]  # nothing written


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs a /proc file system")
def test_preview_into_an_unwritable_place(in_tmp, capsys):
    line = one_line_error(
        capsys, ["data", "preview", "dsprites", "--columns", "2", "--out", "/proc/x.png"]
    )
    assert "/proc/x.png: cannot write" in line


def test_preview_without_a_dsprites_file_path(in_tmp, capsys):
    line = one_line_error(capsys, ["data", "preview", "dsprites_file"])
    assert "data set 'dsprites_file': argument 'path' is required, but missing" in line


@pytest.mark.parametrize("out", ["pictures/", "pictures"])
def test_preview_into_a_folder_writes_name_png_there_and_says_so(in_tmp, capsys, out):
    (in_tmp / "pictures").mkdir()
    assert main(["data", "preview", "dsprites", "--columns", "2", "--out", out]) == 0
    written = in_tmp / "pictures" / "dsprites.png"
    assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out.strip() == f"wrote {Path('pictures') / 'dsprites.png'}"
    assert not (in_tmp / "pictures.png").exists()


# ---- train ------------------------------------------------------------------------------------

TRAIN = ["train", "beta_vae", "--steps", "1", "--no-progress"]

TRAIN_CASES = [
    (["--out", "afile"], "--out afile: is an existing file; expected a run folder"),
    (["--out", "afile/run"], "--out afile/run: afile is a file; expected a run folder"),
    (
        ["--out", "r", "--arg", "beta=[1"],
        "--arg beta: cannot read '[1' as YAML: expected ',' or ']', but got '<stream end>'",
    ),
    (
        ["--out", "r", "--dataset", "dsprites_file"],
        "data set 'dsprites_file': argument 'path' is required, but missing",
    ),
    (
        ["--out", "r", "--dataset", "dsprites_file", "--dataset-arg", "path=missing.npz"],
        "missing.npz: no such file",
    ),
    (["--out", "r", "--arg", "latent_dim=0"], "'latent_dim': expected an integer from 1 to 1,024"),
    (["--out", "r", "--seed", "-1"], "--seed: expected an integer from 0 to 2,147,483,647, got -1"),
]


@pytest.mark.parametrize(("extra", "message"), TRAIN_CASES, ids=[c[1][:40] for c in TRAIN_CASES])
def test_train_options(in_tmp, capsys, extra, message):
    line = one_line_error(capsys, [*TRAIN, *extra])
    assert line.startswith("disbench train: error: ") and message in line, line
    assert sorted(p.name for p in in_tmp.iterdir()) == ["afile"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs a /proc file system")
def test_train_into_an_unwritable_place(in_tmp, capsys):
    argv = [*TRAIN, "--out", "/proc/none/run", "--arg", "architecture=fc", "--dataset", "toy"]
    line = one_line_error(capsys, argv)
    assert "--out /proc/none/run: cannot create the run folder" in line


# ---- score ------------------------------------------------------------------------------------


def good_arrays() -> dict[str, np.ndarray]:
    rng = np.random.RandomState(0)
    factors = rng.randint(3, size=(40, 2))
    return {"codes_train": factors + 0.1 * rng.normal(size=(40, 2)), "factors_train": factors}


def test_score_n_jobs_is_checked(in_tmp, capsys):
    np.savez(in_tmp / "a.npz", **good_arrays())
    for value in ("0", "100000", "-2"):
        line = one_line_error(capsys, ["score", "a.npz", "--n-jobs", value])
        assert (
            f"--n-jobs: expected -1 (all cores) or an integer from 1 to 1,024, got {value}" in line
        )


def test_score_refuses_a_header_claiming_more_than_the_file_holds(in_tmp, capsys):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    with zipfile.ZipFile(in_tmp / "big.npz", "w") as archive:
        archive.writestr("codes_train.npy", header.getvalue() + b"\0" * 64)
        archive.writestr("factors_train.npy", header.getvalue())
    line = one_line_error(capsys, ["score", "big.npz"])
    assert "big.npz: codes_train: its header claims shape (1000000000000,) of float64" in line
    assert "(8,000,000,000,000 bytes) but the file holds 64 bytes for it" in line


def test_score_text_and_npy_files_get_our_own_line(in_tmp, capsys):
    (in_tmp / "t.npz").write_text("codes_train,factors_train\n1,2\n")
    line = one_line_error(capsys, ["score", "t.npz"])
    assert "t.npz: not an .npz archive (np.savez writes a zip file" in line
    assert "pickle" not in line
    np.save(in_tmp / "a.npy", np.zeros(3))
    line = one_line_error(capsys, ["score", "a.npy"])
    assert "a.npy: expected an .npz archive (np.savez)" in line and "single .npy array" in line


def test_score_names_the_file_and_a_plain_number_for_uint64_factors(in_tmp, capsys):
    arrays = good_arrays()
    factors = arrays["factors_train"].astype(np.uint64)
    factors[3, 1] = np.uint64(2**64 - 1)
    np.savez(in_tmp / "u.npz", codes_train=arrays["codes_train"], factors_train=factors)
    line = one_line_error(capsys, ["score", "u.npz"])
    assert line == (
        "disbench score: error: u.npz: factors_train: expected integer factor values from 0 "
        "to 2**63 - 1, got 18446744073709551615 at row 3, column 1"
    )
    factors[3, 1] = 2
    np.savez(in_tmp / "u.npz", codes_train=arrays["codes_train"], factors_train=factors)
    assert main(["score", "u.npz", "--metrics", "mig"]) == 0


# ---- a reader that goes away ------------------------------------------------------------------


class ClosedPipe(io.TextIOBase):
    """stdout whose reader has gone (`| head -1` after its line)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        raise io.UnsupportedOperation("no file descriptor")


def test_a_closed_stdout_ends_quietly(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["validate", "--runs", "quick"]) == 141
    assert capsys.readouterr().err == ""
