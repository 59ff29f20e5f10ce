"""Values that would fail every run fail when the task is loaded: file, field path, what was expected.

Each row is a task that `disbench validate` used to accept and whose every run
then failed (some only after training). The data sets, model entries and
metric settings declare their checks; the loader runs them before the first
step, and nothing is written.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli.main import main
from benchmark.config import expand_task, load_task
from benchmark.config.validate import MAX_SEED, WARN_RUNS
from benchmark.errors import ConfigWarning, UserInputError

BASE = """\
name: t
dataset: {name: toy, args: {}}
models:
  - {entry: beta_vae, args: {architecture: fc, fc_width: 8, latent_dim: 2}}
seeds: [0]
training: {steps: 2, batch_size: 8}
evaluation: {metrics: [mig, dci], settings: {num_train: 50}, latent_scores: true}
"""


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def task_file(folder: Path, old: str = "", new: str = "", text: str = BASE) -> Path:
    if old:
        assert old in text, old
        text = text.replace(old, new)
    path = folder / "x.yaml"
    path.write_text(textwrap.dedent(text))
    return path


DATASET = "dataset: {name: toy, args: {}}"
MODEL_ARGS = "{architecture: fc, fc_width: 8, latent_dim: 2}"
SETTINGS = "settings: {num_train: 50}"

CASES = [
    # (old, new, the message after "x.yaml: ")
    (DATASET, "dataset: {name: dsprites, args: {size: 3}}", "dataset.args.size: unknown argument"),
    (
        DATASET,
        "dataset: {name: correlated_dsprites, args: {sigma: -1}}",
        "dataset.args.sigma: sigma must be a number > 0",
    ),
    (
        DATASET,
        "dataset: {name: correlated_dsprites, args: {pair: 'posX,posX'}}",
        "dataset.args.pair: pair must be two factor names",
    ),
    (
        DATASET,
        "dataset: {name: correlated_dsprites, args: {pair: [posX, posX]}}",
        "dataset.args.pair: pair needs two different factors",
    ),
    (
        DATASET,
        "dataset: {name: dsprites_file, args: {path: missing.npz}}",
        "dataset.args.path: missing.npz: no such file",
    ),
    (DATASET, "dataset: {name: dsprites_file}", "dataset.args.path: required, but missing"),
    (
        MODEL_ARGS,
        "{architecture: fc, fc_width: 8, latent_dim: -1}",
        "models[0].args.latent_dim: expected an integer from 1 to 1,024, got -1",
    ),
    (
        MODEL_ARGS,
        "{architecture: fc, fc_width: 8, latent_dim: 0}",
        "models[0].args.latent_dim: expected an integer from 1 to 1,024, got 0",
    ),
    (
        MODEL_ARGS,
        "{architecture: fc, fc_width: 8, latent_dim: 1000000000000}",
        "models[0].args.latent_dim: expected an integer from 1 to 1,024, got 1000000000000",
    ),
    (
        MODEL_ARGS,
        "{architecture: fc, fc_width: 8, latent_dim: 1e12}",
        "models[0].args.latent_dim: expected an integer, got 1000000000000.0",
    ),
    (
        MODEL_ARGS,
        "{architecture: fc, fc_width: 0, latent_dim: 2}",
        "models[0].args.fc_width: expected an integer from 1 to 16,384, got 0",
    ),
    (
        MODEL_ARGS,
        "{architecture: rnn}",
        "models[0].args.architecture: unknown 'rnn'; allowed: conv, fc",
    ),
    (
        MODEL_ARGS,
        "{architecture: conv}",
        "models[0].args.architecture: architecture 'conv': observation_shape (12,)",
    ),
    (
        MODEL_ARGS,
        "{architecture: fc, beta: -1}",
        "models[0].args.beta: expected a finite number >= 0, got -1",
    ),
    (
        "seeds: [0]",
        "seeds: [0]\nsweep: {beta: [1, -1]}",
        "sweep.beta[1]: expected a finite number >= 0, got -1",
    ),
    (
        MODEL_ARGS,
        "{architecture: fc, posterior: iaf, iaf_hidden_units: [8, 0]}",
        "models[0].args.iaf_hidden_units: expected an integer from 1 to 16,384, got 0",
    ),
    (
        MODEL_ARGS,
        "{architecture: fc, iaf_steps: 2}",
        "models[0].args.iaf_steps: not used by posterior family 'diagonal' (it takes "
        "kl_samples); 'iaf_steps' is an option of 'iaf'",
    ),
    (
        SETTINGS,
        "settings: {num_train: -10}",
        "evaluation.settings.num_train: expected an integer from 2 to 10,000,000, got -10",
    ),
    (
        SETTINGS,
        "settings: {num_train: 0}",
        "evaluation.settings.num_train: expected an integer from 2 to 10,000,000, got 0",
    ),
    (
        SETTINGS,
        "settings: {num_train: 50, mig: {num_bins: -1}}",
        "evaluation.settings.mig.num_bins: expected an integer from 1 to 100,000, got -1",
    ),
    (
        SETTINGS,
        "settings: {num_train: 50, num_bins: many}",
        "evaluation.settings.num_bins: expected an integer from 1 to 100,000, got 'many'",
    ),
    (
        SETTINGS,
        "settings: {num_train: 50, dci: {n_jobs: 0}}",
        "evaluation.settings.dci.n_jobs: expected -1 or an integer from 1 to 1,024 or null, got 0",
    ),
    (
        SETTINGS,
        "settings: {num_train: 50, latent_scores: {iw_samples: 0}}",
        "evaluation.settings.latent_scores.iw_samples: expected an integer from 1 to 100,000",
    ),
    (
        SETTINGS,
        "settings: {num_train: 50, latent_scores: {num_points: 1}}",
        "evaluation.settings.latent_scores.num_points: expected an integer from 2",
    ),
    (
        DATASET,
        "dataset: {name: toy, args: {factor_sizes: [4, 5]}}",
        "evaluation.settings.latent_scores.tc_sample_size: expected at most the 20 distinct "
        "images of data set 'toy' (the total correlation draws min(tc_sample_size, num_points) "
        "= 1,000 distinct points), got 1000 (the default)",
    ),
    (
        "latent_dim: 2}",
        "latent_dim: 1000, posterior: iaf}",
        "evaluation.settings.latent_scores.posterior_samples: expected more than the 1000 "
        "latents of models[0] (beta_vae, posterior iaf: its moments are sample estimates and "
        "need an invertible sample covariance), got 1000 (the default)",
    ),
    ("seeds: [0]", f"seeds: [{2**70}]", "seeds[0]: expected an integer from 0 to 2,147,483,647"),
    ("seeds: [0]", f"seeds: [{MAX_SEED + 1}]", "seeds[0]: expected an integer from 0 to"),
    ("seeds: [0]", "seeds: 100000000000", "seeds: expected an integer from 1 to 1,000,000"),
    ("name: t", "name: " + "a" * 5000, "name: expected at most 100 characters"),
    ("steps: 2,", f"steps: {2**70},", "training.steps: expected an integer from 1 to"),
    ("batch_size: 8", "batch_size: 10000000", "training.batch_size: expected an integer from 1"),
]


@pytest.mark.parametrize(("old", "new", "message"), CASES, ids=[c[2][:48] for c in CASES])
def test_values_that_fail_every_run_fail_at_load(in_tmp, old, new, message):
    with pytest.raises(UserInputError) as caught:
        load_task(task_file(in_tmp, old, new))
    text = str(caught.value)
    assert text.startswith("x.yaml: " + message), text
    assert "\n" not in text


def test_the_base_task_and_good_values_load(in_tmp):
    assert len(expand_task(load_task(task_file(in_tmp)))) == 1
    good = "{architecture: fc, fc_width: 8, latent_dim: 1024, beta: 0}"
    assert load_task(task_file(in_tmp, MODEL_ARGS, good)).models[0].args["latent_dim"] == 1024
    task = load_task(task_file(in_tmp, "seeds: [0]", f"seeds: [{MAX_SEED}]"))
    assert task.seeds == (MAX_SEED,)


def test_the_seed_bound_is_what_training_accepts(tmp_path):
    from benchmark.training.loop import train

    with pytest.raises(UserInputError, match="seed"):
        train(None, None, steps=1, seed=MAX_SEED + 1, checkpoint_dir=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_validate_and_run_exit_2_with_one_line_and_write_nothing(in_tmp, capsys):
    path = task_file(in_tmp, MODEL_ARGS, "{architecture: fc, latent_dim: 0}")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "x.yaml: models[0].args.latent_dim: expected" in err
    db = in_tmp / "results" / "r.db"
    assert main(["run", str(path), "--db", str(db), "--no-progress"]) == 2
    assert "x.yaml: models[0].args.latent_dim" in capsys.readouterr().err
    assert not (in_tmp / "results").exists()


def test_every_metric_and_latent_setting_has_a_declared_check():
    from benchmark.config.catalog import default_catalog

    catalog = default_catalog()
    for owner, names in catalog.metric_settings.items():
        checks = catalog.setting_checks[owner]
        missing = [n for n in names if n not in checks]
        assert not missing, (owner, missing)


def test_sizes_that_fit_every_configuration_load(in_tmp):
    """The size checks refuse only what would fail: a grid as large as the TC sample, a
    closed-form family with few draws, IAF with more draws than latents, latent scores off."""
    fits = [
        (DATASET, "dataset: {name: toy, args: {factor_sizes: [4, 5]}}\n", "tc_sample_size: 20"),
        (DATASET, "dataset: {name: toy, args: {factor_sizes: [4, 5]}}\n", "num_points: 20"),
        (SETTINGS, SETTINGS, "posterior_samples: 2"),
        ("latent_dim: 2}", "latent_dim: 2, posterior: iaf}", "posterior_samples: 3"),
    ]
    for old, new, latent in fits:
        text = BASE.replace(old, new).replace(
            "settings: {num_train: 50}", f"settings: {{num_train: 50, latent_scores: {{{latent}}}}}"
        )
        load_task(task_file(in_tmp, text=text))
    off = BASE.replace(DATASET, "dataset: {name: toy, args: {factor_sizes: [4, 5]}}")
    load_task(
        task_file(Path.cwd(), text=off.replace("latent_scores: true", "latent_scores: false"))
    )


def test_every_model_argument_has_a_declared_check():
    from benchmark.models import MODELS, model_arguments
    from benchmark.models.posteriors import family_option_names

    for entry in MODELS.names():
        cls = MODELS.get(entry)
        for name in model_arguments(entry):
            declared = any(name in vars(k).get("argument_checks", {}) for k in cls.__mro__)
            declared = declared or name in family_option_names()  # checked by the family
            assert declared, (entry, name)


def test_a_dsprites_file_is_checked_from_its_header_without_reading_images(in_tmp):
    from benchmark.data.dsprites_file import DSpritesFile

    imgs = np.zeros((2, 24, 24), np.uint8)
    classes = np.zeros((2, 6), np.int64)
    classes[1, 5] = 1
    np.savez(in_tmp / "d.npz", imgs=imgs, latents_classes=classes, latents_values=classes * 1.0)
    assert DSpritesFile.validate_args(path="d.npz") == (24, 24, 1)
    np.savez(in_tmp / "bad.npz", imgs=imgs)
    with pytest.raises(UserInputError, match="missing array 'latents_classes'"):
        DSpritesFile.validate_args(path="bad.npz")
    # 24 x 24 images cannot feed the conv networks (sides divisible by 16): refused at load
    text = BASE.replace(DATASET, "dataset: {name: dsprites_file, args: {path: d.npz}}")
    text = text.replace(MODEL_ARGS, "{architecture: conv}")
    with pytest.raises(UserInputError, match=r"models\[0\]\.args\.architecture: .*\(24, 24, 1\)"):
        load_task(task_file(in_tmp, text=text))


# ---- warnings: merged labels, large sweeps ------------------------------------------------------


def test_one_configuration_under_two_labels_warns_once_naming_both(in_tmp):
    text = BASE.replace(
        f"  - {{entry: beta_vae, args: {MODEL_ARGS}}}\n",
        "  - {entry: beta_vae, label: first, args: {architecture: fc}, sweep: {beta: [4]}}\n"
        "  - {entry: beta_vae, label: second, args: {architecture: fc}}\n"
        "sweep: {beta: [1, 4]}\n",
    )
    with pytest.warns(ConfigWarning) as caught:
        task = load_task(task_file(in_tmp, text=text))
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1
    assert (
        "models[1] (label 'second')" in messages[0] and "models[0] (label 'first')" in messages[0]
    )
    assert "beta=4" in messages[0] and "\n" not in messages[0]
    assert len(expand_task(task)) == 2  # beta 4 once (under 'first'), beta 1


def test_distinct_configurations_do_not_warn(in_tmp):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConfigWarning)
        load_task(task_file(in_tmp, "seeds: [0]", "seeds: [0]\nsweep: {beta: [1, 2]}"))


def test_large_sweeps_warn_before_expanding_and_huge_ones_are_refused(in_tmp):
    values = ", ".join(str(v) for v in range(1, 11))
    big = f"sweep: {{beta: [{values}], c: [{values}], d: [{values}]}}"  # 1,000 points
    seeds = "seeds: 101"  # 101,000 runs
    path = task_file(in_tmp, "seeds: [0]", f"{seeds}\n{big}")
    with pytest.warns(ConfigWarning, match=r"101,000 runs \(1,000 configurations x 101 seeds\)"):
        with pytest.raises(UserInputError):  # the sweep names arguments beta_vae does not take
            load_task(path)
    axes = ", ".join(f"a{k}: [{values}]" for k in range(8))  # 10**8 points
    path = task_file(in_tmp, "seeds: [0]", f"seeds: [0]\nsweep: {{{axes}}}")
    with pytest.raises(UserInputError, match=r"x.yaml: sweep: expected at most 1,000,000 runs"):
        load_task(path)
    assert WARN_RUNS == 100_000 and math.prod([10] * 8) > 1_000_000


def test_cli_prints_a_config_warning_on_one_line(in_tmp, capsys):
    text = BASE.replace(
        f"  - {{entry: beta_vae, args: {MODEL_ARGS}}}\n",
        "  - {entry: beta_vae, label: a, args: {architecture: fc, beta: 1}}\n"
        "  - {entry: beta_vae, label: b, args: {architecture: fc, beta: 1}}\n",
    )
    assert main(["validate", str(task_file(in_tmp, text=text))]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("disbench validate: warning: x.yaml: models[1]")


def test_an_option_the_posterior_family_does_not_use_fails_validate_with_exit_2(in_tmp, capsys):
    path = task_file(in_tmp, MODEL_ARGS, "{architecture: fc, moment_samples: 4}")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.endswith(
        "x.yaml: models[0].args.moment_samples: not used by posterior family 'diagonal' (it "
        "takes kl_samples); 'moment_samples' is an option of 'iaf'"
    )
    assert "\n" not in error
    good = task_file(in_tmp, MODEL_ARGS, "{architecture: fc, posterior: iaf, moment_samples: 4}")
    assert main(["validate", str(good)]) == 0
