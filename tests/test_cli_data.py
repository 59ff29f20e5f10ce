"""`disbench data preview` and `disbench perf data`."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from matplotlib import image as mpimg

from benchmark.cli.data import parse_kwargs, parse_value
from benchmark.cli.main import main
from benchmark.data import get_dataset
from benchmark.data.preview import preview_grid
from benchmark.errors import UserInputError
from benchmark.perf import data as perf_data


def test_preview_writes_a_png(tmp_path, capsys):
    out = tmp_path / "d.png"
    assert main(["data", "preview", "dsprites", "--out", str(out), "--columns", "4"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    picture = mpimg.imread(out)
    # 6 rows (5 factors + random) of 64 px images with 14 px gaps, plus the title
    assert picture.shape[0] == 6 * (64 + 14) + 24
    assert picture.shape[1] == 4 * 68 - 4 + 90 + 6
    assert f"wrote {out}" in capsys.readouterr().out


def test_preview_default_out_is_name_png(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["data", "preview", "correlated_dsprites", "--arg", "sigma=0.1", "--columns", "2"]
    assert main(argv) == 0
    assert (tmp_path / "correlated_dsprites.png").stat().st_size > 1000


def test_preview_grid_sweeps_one_factor_per_row():
    data = get_dataset("dsprites")
    grid = preview_grid(data, columns=10, seed=0)
    assert grid.images.shape == (6, 10, 64, 64, 1)
    assert grid.row_labels == ["shape", "scale", "orientation", "posX", "posY", "random"]
    np.testing.assert_array_equal(grid.filled.sum(axis=1), [3, 6, 10, 10, 10, 10])
    assert grid.cell_labels[0][:3] == ["square", "ellipse", "heart"]
    assert grid.cell_labels[3][0] == "0" and grid.cell_labels[3][9] == "1"
    # the posX row: only the column of the sprite changes, left to right
    xs = [np.nonzero(img[..., 0])[1].mean() for img in grid.images[3]]
    ys = [np.nonzero(img[..., 0])[0].mean() for img in grid.images[3]]
    assert np.all(np.diff(xs) > 0) and np.ptp(ys) < 0.2
    again = preview_grid(data, columns=10, seed=0)
    np.testing.assert_array_equal(grid.images, again.images)


def test_preview_of_colour_data_has_three_channels():
    grid = preview_grid(get_dataset("color_dsprites"), columns=3)
    assert grid.images.shape == (6, 3, 64, 64, 3)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["data", "preview", "dsprite"], "unknown data set 'dsprite' (did you mean 'dsprites'"),
        (["data", "preview", "dsprites", "--arg", "sigma"], "--arg expects KEY=VALUE"),
        (
            ["data", "preview", "correlated_dsprites", "--arg", "rho=1"],
            "unknown argument 'rho'; allowed: pair, sigma",
        ),
        (
            ["data", "preview", "correlated_dsprites", "--arg", "pair=posX,colour"],
            "unknown factor 'colour' in pair",
        ),
        (["data", "preview", "toy"], "preview needs image observations"),
        (["data", "preview", "dsprites_file", "--arg", "path=/no/such.npz"], "no such file"),
    ],
)
def test_preview_errors_are_one_line(tmp_path, capsys, argv, message):
    assert main([*argv, "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_unknown_name_lists_the_data_sets(capsys, tmp_path):
    assert main(["data", "preview", "mnist", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    for name in ("color_dsprites", "correlated_dsprites", "dsprites", "noisy_dsprites", "toy"):
        assert name in err


def test_arg_values_are_parsed():
    assert parse_value("0.5") == 0.5 and parse_value("3") == 3
    assert parse_value("inf") == float("inf")
    assert parse_value("posX,posY") == ("posX", "posY")
    assert parse_value("true") is True
    assert parse_value("nan") == "nan"
    assert parse_kwargs(["sigma=0.2", " pair = scale,shape"]) == {
        "sigma": 0.2,
        "pair": ("scale", "shape"),
    }
    with pytest.raises(UserInputError, match="KEY=VALUE"):
        parse_kwargs(["=3"])


def test_perf_data_reports_images_per_second(capsys):
    result = perf_data.measure(argparse.Namespace(quick=True))
    assert set(result) == set(perf_data.DATASET_NAMES)
    for row in result.values():
        assert set(row) == {"images_per_second"} and row["images_per_second"] > 0
    table = perf_data.format_table(result)
    assert "| dsprites |" in table
    assert main(["perf", "data", "--quick", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == set(perf_data.DATASET_NAMES)
