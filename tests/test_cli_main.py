"""The `disbench` entry point: help, version, quiet start-up, no TensorFlow where not needed."""

import subprocess
import sys

import pytest

import benchmark
from benchmark.cli.main import main


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert benchmark.__version__ in capsys.readouterr().out


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "perf" in out


def test_cli_and_data_imports_do_not_load_tensorflow():
    code = (
        "import sys, benchmark.cli.main, benchmark.data, benchmark.registry;"
        "benchmark.cli.main.build_parser();"
        "print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_tensorflow_import_is_quiet():
    code = (
        "from benchmark.tf_quiet import import_tensorflow, import_tfp;"
        "tf = import_tensorflow(); import_tfp(); print(float(tf.reduce_sum(tf.ones(3))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "3.0"
    for noise in ("oneDNN", "cuInit", "cuda drivers", "absl::InitializeLog"):
        assert noise not in out.stderr, out.stderr
