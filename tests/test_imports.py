"""Imports point down the pipeline: checking names and settings loads no TensorFlow, and the
leaderboard reads the store without the runner, the configuration or the models."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running `code`."""
    script = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    return set(done.stdout.split())


def test_metric_and_setting_checks_import_no_tensorflow():
    loaded = _modules_after(
        "from benchmark.config import catalog as c\n"
        "c.metric_names(); c.dataset_names(); c.latent_score_settings(); c.setting_checks()\n"
        "from benchmark.cli.main import main\n"
        "main(['list', 'metrics'])"
    )
    assert "tensorflow" not in loaded
    assert "benchmark.pipeline" not in loaded


def test_validate_and_list_read_entries_and_families_without_tensorflow():
    loaded = _modules_after(
        "from benchmark.cli.main import main\n"
        "assert main(['validate', 'quick']) == 0\n"
        "assert main(['validate', 'cpu_study']) == 0\n"
        "assert main(['list', 'models']) == 0\n"
        "assert main(['list', 'posteriors']) == 0\n"
        "from benchmark.models import MODELS, POSTERIORS, model_arguments\n"
        "assert 'iaf_steps' in model_arguments('factor_vae')\n"
        "assert not POSTERIORS.get('iaf').closed_form"
    )
    tensorflow = {"tensorflow", "tensorflow_probability", "tf_keras", "keras"}
    assert not tensorflow & loaded
    assert "benchmark.models.entries.factor_vae" in loaded  # the declarations were read
    assert "benchmark.models.families.iaf" in loaded


def test_the_leaderboard_does_not_import_later_or_earlier_stages():
    loaded = _modules_after("import benchmark.leaderboard")
    assert "tensorflow" not in loaded
    stages = ("benchmark.runner", "benchmark.config", "benchmark.pipeline", "benchmark.models")
    assert not [m for m in loaded if m.startswith(stages)]


def test_latent_settings_match_the_latent_scores_signature():
    from benchmark.evaluation.latent_scores import latent_scores
    from benchmark.evaluation.parts.latent_scores import SCORE_SETTINGS

    parameters = inspect.signature(latent_scores).parameters
    declared = {s.name: s.default for s in SCORE_SETTINGS}
    taken = {
        name: p.default
        for name, p in parameters.items()
        if p.kind is p.KEYWORD_ONLY and name not in ("seed", "dataset_size", "timings")
    }
    assert taken == declared


def test_executors_register_themselves_and_ray_loads_only_when_a_run_starts():
    loaded = _modules_after(
        "from benchmark.runner import EXECUTORS, make_executor\n"
        "assert EXECUTORS.names() == ['local', 'ray'], EXECUTORS.names()\n"
        "assert make_executor('ray', 'x:y', ray_address='auto').address == 'auto'\n"
        "assert make_executor('local', 'x:y', workers=2).workers == 2"
    )
    assert "ray" not in loaded


def test_the_evaluation_reads_a_plan_and_imports_no_configuration():
    loaded = _modules_after(
        "import benchmark.evaluation.interpretability, benchmark.evaluation.run\n"
        "from benchmark.evaluation.part import ordered_parts; ordered_parts()"
    )
    assert not [m for m in loaded if m.startswith(("benchmark.config", "benchmark.runner"))]
    from benchmark.config.schema import EvaluationConfig
    from benchmark.evaluation.plan import EvaluationPlan

    plan = EvaluationConfig(metrics=("mig",), settings={"num_train": 10, "mig": {"num_bins": 5}})
    assert isinstance(plan, EvaluationPlan)
    assert plan.settings_for("mig") == {"num_train": 10, "num_bins": 5}


def test_the_store_and_the_models_import_nothing_after_them():
    store = _modules_after("import benchmark.store")
    assert {m for m in store if m.startswith("benchmark.")} <= {
        "benchmark.errors",
        *(m for m in store if m.startswith("benchmark.store")),
    }
    models = _modules_after(
        "import benchmark.models.vae\n"
        "from benchmark.models import model_arguments\n"
        "model_arguments('factor_vae')"
    )
    assert "benchmark.models.vae" in models and "benchmark.models.entries.factor_vae" in models
    assert not [m for m in models if m.startswith(("benchmark.training", "benchmark.runner"))]
