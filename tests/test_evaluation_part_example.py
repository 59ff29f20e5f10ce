"""A new latent score is one file: docs/adding-an-evaluation-part.md's worked example, saved in a
separate folder and loaded as a plugin, is listed, checked at load, computed, stored absent for
a point mass and tabled, with nothing else edited."""

import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
from vae_cases import Squares

from benchmark.absent import absent_reason
from benchmark.cli.main import main
from benchmark.columns import column_for, columns
from benchmark.config import catalog, load_task
from benchmark.config.schema import EvaluationConfig
from benchmark.errors import UserInputError
from benchmark.evaluation.part import PARTS
from benchmark.evaluation.run import evaluate
from benchmark.evaluation.saved_parts import SavedParts
from benchmark.metrics.spec import CORRELATION

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "adding-an-evaluation-part.md"
NAME = "effective_latents"


def _example() -> str:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    assert f'name="{NAME}"' in code
    return code


@pytest.fixture
def part_file(tmp_path, fresh_plugins):
    """The example saved outside the package (loaded through `--plugin` by each test); its
    registration is undone afterwards."""
    folder = tmp_path / "my_research"
    folder.mkdir()
    path = folder / "my_part.py"
    path.write_text(_example(), encoding="utf-8")
    yield path
    PARTS.remove(NAME)


class _Posterior:
    """Fixed Gaussian marginals: latents 0 and 1 at means +-1 (KL 0.5 nats each), latent 2
    at N(0, 1) (KL 0): the rate is spread over exactly 2 latents."""

    def __init__(self, n: int) -> None:
        sign = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
        self._mean = np.stack([sign, -sign, np.zeros(n)], axis=1)

    def mean(self, num_samples=None, seed=None):
        return self._mean

    def covariance(self, num_samples=None, seed=None):
        return np.broadcast_to(np.eye(3), (len(self._mean), 3, 3))


class _FixedModel:
    def encode(self, images):
        return _Posterior(len(images))


def test_the_docs_example_is_one_file_that_everything_reads(part_file, tmp_path, capsys):
    assert main(["--plugin", str(part_file), "list", "parts"]) == 0
    listed = capsys.readouterr().out
    assert NAME in listed and "setting effective_points = 500  images encoded" in listed
    part = PARTS.get(NAME)
    # A leaderboard column, placed among the parts' columns of its table.
    column = column_for(NAME)
    assert (column.label, column.group, column.metric) == (
        "effective latents (rate perplexity)", CORRELATION, NAME,
    )  # fmt: skip
    assert NAME in [c.key for c in columns()]

    # Its setting is checked when a task is loaded, before any training.
    task = tmp_path / "t.yaml"
    task.write_text(textwrap.dedent(f"""\
        name: t
        include: {ROOT / "tasks" / "defaults.yaml"}
        seeds: [0]
        models: [{{entry: beta_vae, args: {{architecture: fc}}}}]
        sweep: {{posterior: [diagonal], beta: [1]}}
        training: {{steps: 10}}
        evaluation: {{metrics: [mig], settings: {{latent_scores: {{effective_points: 1}}}}}}
        leaderboard: {{main_metric: {NAME}}}
        """), encoding="utf-8")  # fmt: skip
    with pytest.raises(UserInputError) as info:
        load_task(task, catalog=catalog.default_catalog())
    assert str(info.value).endswith(
        "evaluation.settings.latent_scores.effective_points: expected an integer from 2 to "
        "100,000, got 1"
    )
    task.write_text(task.read_text().replace("effective_points: 1", "effective_points: 20"))
    loaded = load_task(task, catalog=catalog.default_catalog())
    assert loaded.leaderboard.main_metric == NAME  # a part's key can be the headline

    # Known answer: two latents carry equal rate and one none, so the rate is spread over 2.
    plan = EvaluationConfig(metrics=(), settings={"latent_scores": {"effective_points": 10}})
    saved = SavedParts(tmp_path / "fixed", {"steps": 0})
    result = evaluate(_FixedModel(), Squares(), plan, seed=0, workdir=tmp_path, saved=saved,
                      parts=[part])  # fmt: skip
    assert result.scores == {NAME: pytest.approx(2.0, abs=1e-12)}


def test_the_docs_example_scores_a_vae_and_is_absent_for_a_point_mass(part_file, tmp_path):
    from benchmark.models import build_model
    from benchmark.training import train

    assert main(["--plugin", str(part_file), "list", "parts"]) == 0
    part = PARTS.get(NAME)
    data = Squares()
    plan = EvaluationConfig(metrics=(), settings={"latent_scores": {"effective_points": 64}})
    scored = {}
    for entry, args in (("beta_vae", {"posterior": "iaf"}), ("autoencoder", {})):
        model = build_model(entry, data.observation_shape, architecture="fc", fc_width=32,
                            latent_dim=3, **args)  # fmt: skip
        train(model, data, steps=20, batch_size=16, learning_rate=1e-3, seed=0,
              checkpoint_dir=tmp_path / entry, progress=False)  # fmt: skip
        saved = SavedParts(tmp_path / f"{entry}_run", {"steps": 20})
        result = evaluate(model, data, plan, seed=0, workdir=tmp_path, saved=saved, parts=[part])
        scored[entry] = result.scores[NAME]
    assert 1.0 <= scored["beta_vae"] <= 3.0
    assert absent_reason(scored["autoencoder"]) == "point mass"


def test_a_parts_key_in_a_table_without_a_parts_slot_is_still_a_column():
    import dataclasses

    from benchmark.columns import TRAINING
    from benchmark.evaluation.part import EvaluationPart, PartResult, ScoreKey

    part = EvaluationPart(
        name="late_check", summary="a test part", compute=lambda context: PartResult(),
        keys=(ScoreKey("late_check_share", "late check (share)", TRAINING),),
    )  # fmt: skip
    PARTS.add(part.name, part)
    try:
        column = column_for("late_check_share")
        assert (column.label, column.group, column.metric) == (
            "late check (share)", TRAINING, "late_check",
        )  # fmt: skip
        assert columns()[-1] == dataclasses.replace(column)  # placed last, not dropped
    finally:
        PARTS.remove(part.name)
    assert column_for("late_check_share").label == "late_check_share"  # gone with its part
