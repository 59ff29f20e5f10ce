"""Metric specs: adding a metric is adding one file, and every consumer reads its spec."""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import textwrap

import numpy as np
import pytest

import benchmark.metrics
from benchmark.columns import column_for, columns
from benchmark.config import load_task
from benchmark.config.catalog import default_catalog, metric_names, setting_checks
from benchmark.errors import UserInputError
from benchmark.metrics import METRICS, score_arrays
from benchmark.metrics.spec import HIGHER, LOWER

TOY_METRIC = '''
"""Toy metric: the mean absolute code (a worked example of adding a metric)."""

import numpy as np

from benchmark.metrics import settings
from benchmark.metrics.spec import HIGHER, LOWER, Key, MetricSpec, register_metric


def mean_abs_code(codes, factors, scale=1.0):
    return {
        "toy_mean_abs_code": float(np.mean(np.abs(codes))) * scale,
        "toy_spread": float(np.std(codes)),
    }


METRIC = register_metric(
    MetricSpec(
        name="toy_metric",
        summary="mean absolute code, scaled",
        keys=(
            Key("toy_mean_abs_code", "mean |z|", HIGHER),
            Key("toy_spread", "spread of z", LOWER),
        ),
        settings=(settings.Setting("scale", 1.0, settings.number(0.0, 10.0)),),
        arrays=mean_abs_code,
        inputs=("codes_train", "factors_train"),
    )
)
'''

TASK = """\
name: toy_task
description: uses the toy metric
dataset: {name: toy, args: {}}
models:
  - {entry: beta_vae, args: {architecture: fc}}
seeds: [0]
training: {steps: 10, batch_size: 8, learning_rate: 1e-3}
evaluation: {metrics: [toy_metric], settings: {toy_metric: {scale: SCALE}}, latent_scores: false}
leaderboard: {main_metric: toy_spread}
"""


def _clear_caches() -> None:
    metric_names.cache_clear()
    setting_checks.cache_clear()


@pytest.fixture
def toy_metric(tmp_path, monkeypatch):
    """A metric module written to a folder on the metrics package's path, then discovered."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "toy_metric.py").write_text(textwrap.dedent(TOY_METRIC))
    monkeypatch.setattr(benchmark.metrics, "__path__", [*benchmark.metrics.__path__, str(folder)])
    METRICS.discover(again=True)
    _clear_caches()
    yield METRICS.get("toy_metric")
    METRICS.remove("toy_metric")
    sys.modules.pop("benchmark.metrics.toy_metric", None)
    _clear_caches()


def test_a_metric_file_is_seen_by_scoring_validation_catalog_and_columns(
    toy_metric, tmp_path, monkeypatch, capsys
):
    codes = np.array([[1.0, -1.0], [3.0, -3.0]])
    factors = np.array([[0], [1]])
    assert score_arrays(codes, factors, metrics=["toy_metric"], scale=2.0)[
        "toy_mean_abs_code"
    ] == pytest.approx(4.0)

    catalog = default_catalog()
    assert "toy_metric" in catalog.metrics
    assert catalog.metric_settings["toy_metric"] == ("num_train", "batch_size", "scale")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.yaml").write_text(TASK.replace("SCALE", "3"))
    task = load_task(tmp_path / "ok.yaml")
    assert task.evaluation.metrics == ("toy_metric",)
    assert task.leaderboard.main_metric == "toy_spread"
    (tmp_path / "bad.yaml").write_text(TASK.replace("SCALE", "30"))
    with pytest.raises(UserInputError, match=r"evaluation\.settings\.toy_metric\.scale"):
        load_task(tmp_path / "bad.yaml")

    assert column_for("toy_mean_abs_code").label == "mean |z|"
    assert column_for("toy_mean_abs_code").direction == HIGHER
    assert column_for("toy_spread").direction == LOWER
    assert column_for("sampled/toy_spread").metric == "toy_metric"
    assert "toy_spread" in [c.key for c in columns()]

    from benchmark.cli import list as list_command

    list_command.run(argparse.Namespace(kind="metrics"))
    assert re.search(r"^toy_metric +mean absolute code, scaled$", capsys.readouterr().out, re.M)


def test_builtin_spec_defaults_match_their_functions():
    """The defaults a spec declares are those its function uses when a setting is not given."""
    for spec in METRICS.specs():
        function = spec.arrays if spec.arrays is not None else spec.sample
        parameters = inspect.signature(function).parameters
        for setting in spec.settings:
            assert parameters[setting.name].default == setting.default, (spec.name, setting.name)


def test_every_builtin_key_with_a_label_has_a_direction_and_a_column():
    for spec in METRICS.specs():
        for key in spec.keys:
            if key.label:
                assert column_for(key.name).label == key.label
                assert column_for(key.name).metric == spec.name


def test_the_docs_show_this_example_in_full():
    from pathlib import Path

    page = Path(__file__).resolve().parent.parent / "docs" / "adding-a-metric.md"
    assert TOY_METRIC.strip() in page.read_text()
