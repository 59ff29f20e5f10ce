"""Task files: loading, include:, validation messages, run expansion and stable run ids."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import pytest

from benchmark.config import (
    RunSpec,
    expand_task,
    load_task,
    resolve_task_path,
    run_id_of,
    shipped_tasks,
)
from benchmark.config.catalog import Catalog, default_catalog
from benchmark.config.loader import TASKS_DIR
from benchmark.data import DATASETS
from benchmark.errors import UserInputError


class FakeEntry:
    """A model entry with typed arguments, as the real ones have."""

    def __init__(
        self,
        observation_shape: tuple[int, ...],
        *,
        beta: float = 1.0,
        latent_dim: int = 10,
        posterior: str = "diagonal",
        architecture: str = "conv",
    ) -> None: ...


def catalog(**targets) -> Catalog:
    """The live registries; `targets` (entry name -> class) replace the real model classes."""
    live = default_catalog()
    return dataclasses.replace(live, model_targets=targets) if targets else live


GOOD = """\
name: tiny
description: a tiny task
dataset: {name: toy, args: {}}
models:
  - {entry: beta_vae, args: {architecture: fc}}
sweep:
  beta: [1, 8]
  posterior: [diagonal, full_covariance, iaf]
seeds: [0, 1]
training: {steps: 100, batch_size: 8, learning_rate: 1e-3, checkpoint_every: 50}
evaluation: {metrics: [mig, dci], representation: [mean], settings: {num_train: 100}, latent_scores: true}
leaderboard: {rows: [entry, posterior, beta], main_metric: mig}
"""


def write(tmp_path: Path, text: str, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(path: Path, **targets):
    return load_task(path, catalog=catalog(**targets))


def error_of(path: Path, **targets) -> str:
    with pytest.raises(UserInputError) as caught:
        load(path, **targets)
    return str(caught.value)


# ---- the shipped tasks -------------------------------------------------------------------------


def test_shipped_tasks_validate_and_have_the_study_sizes():
    sizes = {}
    for shipped in shipped_tasks():
        if shipped.name == "posterior_beta_sweep_shapes3d":  # needs the user's own file
            with pytest.raises(UserInputError) as error:
                load_task(shipped.path, catalog=catalog())
            assert str(error.value).endswith(
                "posterior_beta_sweep_shapes3d.yaml: dataset.args.path: data/3dshapes.h5: no "
                "such file; expected the Shapes3D HDF5 file with images [480000, 64, 64, 3] uint8"
            )
            sizes[shipped.name] = 180
            continue
        task = load_task(shipped.path, catalog=catalog())
        assert task.name == shipped.name == shipped.path.stem
        sizes[task.name] = len(expand_task(task))
    assert sizes == {
        "quick": 6,
        "small_sweep": 18,
        "posterior_beta_sweep": 180,
        "posterior_beta_sweep_shapes3d": 180,
        "correlated_factors": 180,
        "dlib_reproduction": 1800,
        "autoencoder_vs_vae": 30,
        "cpu_study": 45,
        "disentangle_study": 90,
        "disentangle_controls": 25,
    }


def test_quick_covers_three_posteriors_at_two_betas():
    task = load_task("quick", catalog=catalog())
    specs = expand_task(task)
    assert {s.model_args["posterior"] for s in specs} == {"diagonal", "full_covariance", "iaf"}
    assert len({s.model_args["beta"] for s in specs}) >= 2
    assert all(s.model_args["architecture"] == "fc" for s in specs)


def test_dlib_grids_are_the_published_ones():
    task = load_task("dlib_reproduction", catalog=catalog())
    grids = {m.entry: [p for p in m.sweep] for m in task.models}
    assert [p["beta"] for p in grids["beta_vae"]] == [1, 2, 4, 6, 8, 16]
    assert [p["c_max"] for p in grids["annealed_vae"]] == [5, 10, 25, 50, 75, 100]
    assert [p["gamma"] for p in grids["factor_vae"]] == [10, 20, 30, 40, 50, 100]
    assert all(p["lambda_d"] == 10 * p["lambda_od"] for p in grids["dip_vae_i"])
    assert all(p["lambda_d"] == p["lambda_od"] for p in grids["dip_vae_ii"])
    assert [p["beta"] for p in grids["beta_tcvae"]] == [1, 2, 4, 6, 8, 10]
    assert task.seeds == tuple(range(50))
    assert task.training.steps == 300_000 and task.training.learning_rate == 1e-4
    assert all(m.args["posterior"] == "diagonal" for m in task.models)
    annealed = next(m for m in task.models if m.entry == "annealed_vae")
    assert annealed.args["gamma"] == 1000 and annealed.args["iteration_threshold"] == 100_000


def test_shipped_runs_are_shared_between_tasks_with_equal_configurations():
    sweep = {s.run_id for s in expand_task(load_task("posterior_beta_sweep", catalog=catalog()))}
    dlib = {s.run_id for s in expand_task(load_task("dlib_reproduction", catalog=catalog()))}
    # beta_vae, diagonal, beta in {1, 2, 4, 6, 8, 16}, seeds 0..9: the same 60 runs.
    assert len(sweep & dlib) == 60
    # autoencoder_vs_vae's beta-VAEs are cpu_study's beta 1 and 16 at seeds 0-2: 18 runs.
    study = {s.run_id for s in expand_task(load_task("cpu_study", catalog=catalog()))}
    baselines = expand_task(load_task("autoencoder_vs_vae", catalog=catalog()))
    shared = [s for s in baselines if s.run_id in study]
    assert len(shared) == 18 and {s.entry for s in shared} == {"beta_vae"}


def test_the_docs_task_file_example_is_valid(tmp_path, monkeypatch):
    page = (TASKS_DIR.parent / "docs" / "tasks.md").read_text()
    section = page.split("## The task file", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "defaults.yaml").write_text((TASKS_DIR / "defaults.yaml").read_text())
    (tmp_path / "example.yaml").write_text(example)
    monkeypatch.chdir(tmp_path)
    task = load(tmp_path / "example.yaml")
    assert task.name == "quick" and task.models[0].label == "beta_vae_fc"
    assert task.evaluation.settings_for("dci")["num_train"] == 2000
    assert len(expand_task(task)) == 6 * 2  # 2 betas x 3 posteriors x 2 seeds


def test_defaults_file_is_not_a_task():
    assert "defaults" not in [t.name for t in shipped_tasks()]
    assert (TASKS_DIR / "defaults.yaml").exists()


# ---- loading and include ---------------------------------------------------------------------


def test_good_task_loads_with_types(in_tmp):
    task = load(write(in_tmp, GOOD))
    assert task.training.learning_rate == pytest.approx(1e-3)  # `1e-3` is a float, not a string
    assert task.training.log_every == 1000  # default
    assert task.evaluation.metrics == ("mig", "dci")
    assert len(task.sweep) == 6 and task.seeds == (0, 1)


def test_include_merges_mappings_and_replaces_lists(in_tmp):
    write(
        in_tmp,
        """\
        dataset: {name: toy}
        seeds: [0, 1, 2]
        training: {steps: 10, batch_size: 4, learning_rate: 0.01}
        evaluation: {metrics: [mig, sap], settings: {num_train: 50, num_test: 20}}
        """,
        "base.yaml",
    )
    path = write(
        in_tmp,
        """\
        name: child
        include: base.yaml
        models: [{entry: beta_vae, args: {architecture: fc}}]
        seeds: [5]
        training: {steps: 99}
        evaluation: {metrics: [mig], settings: {num_test: 7}}
        """,
    )
    task = load(path)
    assert task.seeds == (5,)
    assert (task.training.steps, task.training.batch_size) == (99, 4)
    assert task.evaluation.metrics == ("mig",)
    assert task.evaluation.settings == {"num_train": 50, "num_test": 7}


def test_error_in_included_file_names_that_file(in_tmp):
    write(in_tmp, "training: {steps: 10, batch_size: many}\n", "base.yaml")
    path = write(
        in_tmp,
        """\
        name: child
        include: [base.yaml]
        dataset: {name: toy}
        models: [{entry: beta_vae}]
        seeds: [0]
        evaluation: {metrics: [mig]}
        """,
    )
    assert error_of(path) == "base.yaml: training.batch_size: expected an integer, got 'many'"


def test_include_errors(in_tmp):
    path = write(in_tmp, "name: a\ninclude: nothere.yaml\n")
    assert "x.yaml: include: no such file 'nothere.yaml'" in error_of(path)
    write(in_tmp, "include: x.yaml\n", "b.yaml")
    path = write(in_tmp, "name: a\ninclude: b.yaml\n")
    assert "files include each other: x.yaml -> b.yaml -> x.yaml" in error_of(path)


def test_yaml_syntax_error_gives_line_and_column(in_tmp):
    path = write(in_tmp, "name: x\nmodels: [\n  {entry: beta_vae\n")
    message = error_of(path)
    assert message.startswith("x.yaml: line ") and "invalid YAML" in message


def test_duplicate_yaml_key_is_an_error(in_tmp):
    path = write(in_tmp, GOOD + "seeds: [3]\n")
    assert error_of(path) == (
        "x.yaml: line 13, column 1: invalid YAML: duplicate key 'seeds' (first at line 9)"
    )


# ---- each kind of mistake ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "beta: [1, 8]",
            "beta: [1, 2, four]",
            "x.yaml: sweep.beta[2]: expected a number, got 'four'",
        ),
        (
            "training:",
            "trainig:",
            "x.yaml: trainig: unknown key (did you mean 'training'?); allowed here: name,",
        ),
        (
            "steps: 100",
            "stepz: 100",
            "x.yaml: training.stepz: unknown key (did you mean 'steps'?)",
        ),
        ("{steps: 100, ", "{", "x.yaml: training.steps: required, but missing"),
        ("steps: 100", "steps: 0", "x.yaml: training.steps: expected an integer >= 1, got 0"),
        (
            "learning_rate: 1e-3",
            "learning_rate: fast",
            "x.yaml: training.learning_rate: expected a number, got 'fast'",
        ),
        (
            "steps: 100",
            "steps: 100, convergence_tolerance: 1.5e7",
            "x.yaml: training.convergence_tolerance: expected nats per 1,000 steps in (0, 1e6]",
        ),
        (
            "steps: 100",
            "steps: 100, min_steps: 200",
            "x.yaml: training.min_steps: expected at most training.steps (100), got 200",
        ),
        (
            "steps: 100",
            "steps: 100, stop_when_converged: yes please",
            "x.yaml: training.stop_when_converged: expected true or false, got 'yes please'",
        ),
        (
            "entry: beta_vae",
            "entry: beta_vea",
            "x.yaml: models[0].entry: unknown model entry 'beta_vea' (did you mean 'beta_vae'",
        ),
        (
            "[mig, dci]",
            "[mig, dcii]",
            "x.yaml: evaluation.metrics[1]: unknown metric 'dcii' (did you mean 'dci', ",
        ),
        (
            "name: toy",
            "name: dsprite",
            "x.yaml: dataset.name: unknown data set 'dsprite' (did you mean 'dsprites'",
        ),
        (
            "full_covariance",
            "full_covarience",
            "x.yaml: sweep.posterior[1]: unknown posterior family 'full_covarience' "
            "(did you mean 'full_covariance'?)",
        ),
        (
            "seeds: [0, 1]",
            "seeds: [0, 0]",
            "x.yaml: seeds[1]: duplicate of seeds[0] (0)",
        ),
        ("seeds: [0, 1]", "seeds: [0, -1]", "x.yaml: seeds[1]: expected an integer >= 0, got -1"),
        ("seeds: [0, 1]", "seeds: some", "x.yaml: seeds: expected a list, got 'some'"),
        (
            "num_train: 100",
            "num_trian: 100",
            "x.yaml: evaluation.settings.num_trian: unknown setting (did you mean 'num_train'",
        ),
        (
            "representation: [mean]",
            "representation: [means]",
            "x.yaml: evaluation.representation[0]: unknown representation 'means' "
            "(did you mean 'mean'?)",
        ),
        (
            "rows: [entry, posterior, beta]",
            "rows: [entry, posterior, betta]",
            "x.yaml: leaderboard.rows[2]: unknown row field 'betta' (did you mean 'beta'?)",
        ),
        (
            "main_metric: mig",
            "main_metric: sap_discrete",
            "x.yaml: leaderboard.main_metric: 'sap_discrete' is not computed by this task's "
            "evaluation; add 'sap' to evaluation.metrics",
        ),
        (
            "main_metric: mig",
            "main_metric: dci",
            "x.yaml: leaderboard.main_metric: unknown score key 'dci' (did you mean "
            "'dci_disentanglement'",
        ),
        (
            "args: {architecture: fc}",
            "args: {architecture: fc, beta: 2}",
            "x.yaml: sweep.beta[0]: 'beta' is both swept here and fixed in models[0].args.beta",
        ),
        ("name: tiny", "name: 'tiny task'", "x.yaml: name: expected a name of letters"),
        (
            "dataset: {name: toy, args: {}}",
            "dataset: {name: toy, args: {factor_size: [2, 3]}}",
            "x.yaml: dataset.args.factor_size: unknown argument (did you mean 'factor_sizes'?)",
        ),
        (
            "latent_scores: true",
            "latent_scores: yes please",
            "x.yaml: evaluation.latent_scores: expected true or false, got 'yes please'",
        ),
    ],
)
def test_each_mistake_names_file_field_and_expectation(in_tmp, old, new, expected):
    assert old in GOOD
    path = write(in_tmp, GOOD.replace(old, new, 1))
    assert error_of(path).startswith(expected)


def test_model_arguments_are_checked_against_the_entry_signature(in_tmp):
    path = write(in_tmp, GOOD.replace("{architecture: fc}", "{architecture: fc, latnt_dim: 4}"))
    message = error_of(path, beta_vae=FakeEntry)
    assert message.startswith(
        "x.yaml: models[0].args.latnt_dim: unknown argument (did you mean 'latent_dim'?); "
        "allowed: beta, latent_dim, posterior, architecture"
    )
    path = write(in_tmp, GOOD.replace("{architecture: fc}", "{architecture: fc, latent_dim: 2.5}"))
    assert error_of(path, beta_vae=FakeEntry) == (
        "x.yaml: models[0].args.latent_dim: expected an integer, got 2.5"
    )
    path = write(in_tmp, GOOD.replace("beta: [1, 8]", "beta: ['1', '8']"))
    assert error_of(path, beta_vae=FakeEntry) == "x.yaml: sweep.beta[0]: expected a number, got '1'"
    # observation_shape comes from the data set, never from the task file.
    path = write(in_tmp, GOOD.replace("{architecture: fc}", "{observation_shape: 3}"))
    assert "unknown argument" in error_of(path, beta_vae=FakeEntry)
    assert load(write(in_tmp, GOOD), beta_vae=FakeEntry).name == "tiny"


def test_per_metric_settings_override_the_shared_ones(in_tmp):
    text = GOOD.replace(
        "settings: {num_train: 100}",
        "settings: {num_train: 100, num_test: 50, dci: {num_train: 20}, "
        "latent_scores: {iw_samples: 5}}",
    )
    evaluation = load(write(in_tmp, text)).evaluation
    assert evaluation.settings_for("dci") == {"num_train": 20, "num_test": 50}
    assert evaluation.settings_for("mig", accepted=("num_train", "num_bins")) == {"num_train": 100}
    assert evaluation.settings_for("latent_scores", accepted=("batch_size",)) == {"iw_samples": 5}
    bad = text.replace("dci: {num_train: 20}", "sap: {num_train: 20}")
    assert error_of(write(in_tmp, bad)).startswith(
        "x.yaml: evaluation.settings.sap: per-metric settings for 'sap', which this task does "
        "not compute"
    )
    typo = text.replace("iw_samples: 5", "iw_sample: 5")
    assert error_of(write(in_tmp, typo)).startswith(
        "x.yaml: evaluation.settings.latent_scores.iw_sample: unknown setting "
        "(did you mean 'iw_samples'"
    )


def test_default_catalog_reads_the_live_registries():
    from benchmark.metrics import METRICS
    from benchmark.models import MODELS, POSTERIORS

    live = default_catalog()
    assert live.datasets == tuple(DATASETS.names()) and "toy" in live.datasets
    assert live.model_entries == tuple(MODELS.names()) and "beta_vae" in live.model_entries
    assert live.posteriors == tuple(POSTERIORS.names()) == ("diagonal", "full_covariance", "iaf")
    assert live.metrics == tuple(METRICS.names()) and "mig" in live.metrics
    assert live.model_targets["beta_vae"] is MODELS.get("beta_vae")
    # Latent scores: latent_scores' keyword settings (not dataset_size) and its draws, plus the
    # posterior MIG's, the gaps', the decomposition's and the rotation controls' settings.
    assert live.metric_settings["latent_scores"] == tuple(
        sorted(
            {
                "batch_size",
                "iw_samples",
                "marginal_samples",
                "num_heldout",
                "num_points",
                "posterior_mig_points",
                "posterior_samples",
                "reconstruction_samples",
                "tc_sample_size",
                *(f"gap_{n}" for n in ("images", "iw_samples", "batch_images", "steps")),
                *(f"gap_{n}" for n in ("learning_rate", "step_samples", "eval_samples")),
                *(f"gap_{n}" for n in ("check_every", "tolerance")),
                *(f"decomposition_{n}" for n in ("population", "outer_draws", "batch")),
                "decomposition_sampled_population",
                "rotation_controls",
                "rotation_fit_points",
                "active_direction_threshold",
            }
        )
    )
    assert live.metric_settings["mig"] == ("num_train", "batch_size", "num_bins")
    assert "num_test" in live.metric_settings["dci"]
    # The data a metric is given is never a setting.
    for name in ("dataset", "dataset_size", "representation_function", "random_state", "seed"):
        assert name not in live.evaluation_settings
    assert {"num_train", "num_test", "prune_threshold", "iw_samples"} <= set(
        live.evaluation_settings
    )
    assert list(live.evaluation_settings) == sorted(live.evaluation_settings)


def test_top_level_must_be_a_mapping(in_tmp):
    path = write(in_tmp, "- a\n- b\n")
    assert (
        error_of(path)
        == "x.yaml: (top level): expected a mapping of task fields, got a list ['a', 'b']"
    )


def test_unknown_task_name_suggests_shipped_ones():
    with pytest.raises(UserInputError, match=r"unknown task 'quik' \(did you mean 'quick'\?\)"):
        resolve_task_path("quik")
    assert resolve_task_path("quick") == TASKS_DIR / "quick.yaml"
    with pytest.raises(UserInputError, match="nothere.yaml: no such task file"):
        resolve_task_path("nothere.yaml")


# ---- sweeps and expansion ----------------------------------------------------------------------


def test_per_model_sweep_replaces_the_task_sweep_and_point_lists_zip(in_tmp):
    text = GOOD.replace(
        "  - {entry: beta_vae, args: {architecture: fc}}\n",
        "  - {entry: beta_vae, args: {architecture: fc}}\n"
        "  - entry: dip_vae_i\n    args: {architecture: fc}\n"
        "    sweep: [{lambda_od: 1, lambda_d: 10}, {lambda_od: 2, lambda_d: 20}]\n",
    ).replace("rows: [entry, posterior, beta]", "rows: [entry, posterior, beta, lambda_od]")
    task = load(write(in_tmp, text))
    specs = expand_task(task)
    assert len(specs) == (6 + 2) * 2
    dip = [s for s in specs if s.entry == "dip_vae_i"]
    assert [(s.model_args["lambda_od"], s.model_args["lambda_d"], s.seed) for s in dip] == [
        (1, 10, 0),
        (1, 10, 1),
        (2, 20, 0),
        (2, 20, 1),
    ]
    first = specs[0]
    assert first.sweep == {"beta": 1, "posterior": "diagonal"}
    assert first.model_args == {"architecture": "fc", "beta": 1, "posterior": "diagonal"}
    assert first.describe() == "beta_vae beta=1 posterior=diagonal seed=0"


def test_run_ids_are_stable_and_depend_only_on_what_decides_results(in_tmp):
    base = expand_task(load(write(in_tmp, GOOD)))
    assert len({s.run_id for s in base}) == len(base) == 12
    assert all(len(s.run_id) == 16 for s in base)
    # Fixed value: changing how ids are computed would orphan every stored result.
    assert base[0].run_id == run_id_of(base[0].identity())
    assert base[0].run_id == "aac8d64c39e0b6ca"
    same = (
        GOOD.replace("name: tiny", "name: other")
        .replace("checkpoint_every: 50", "checkpoint_every: 7")
        .replace("beta: [1, 8]", "beta: [1.0, 8.0]")
        .replace("{entry: beta_vae,", "{entry: beta_vae, label: my_vae,")
    )
    assert [s.run_id for s in expand_task(load(write(in_tmp, same, "y.yaml")))] == [
        s.run_id for s in base
    ]
    changed = GOOD.replace("steps: 100", "steps: 101")
    assert not {s.run_id for s in expand_task(load(write(in_tmp, changed, "z.yaml")))} & {
        s.run_id for s in base
    }
    defaults = GOOD.replace(
        "steps: 100",
        "steps: 100, convergence_tolerance: 0.25, stop_when_converged: false, min_steps: 0, "
        "trajectory_points: 0",
    )
    assert [s.run_id for s in expand_task(load(write(in_tmp, defaults, "d.yaml")))] == [
        s.run_id for s in base
    ]
    for setting in ("convergence_tolerance: 0.01", "stop_when_converged: true", "min_steps: 50"):
        other = GOOD.replace("steps: 100", f"steps: 100, {setting}")
        assert not {s.run_id for s in expand_task(load(write(in_tmp, other, "o.yaml")))} & {
            s.run_id for s in base
        }


def test_families_whose_model_changed_get_new_ids_and_the_diagonal_keeps_its_own(in_tmp):
    """full_covariance and iaf now start as the diagonal family: old trainings must not count."""
    from benchmark.config.runs import FAMILY_REVISIONS

    specs = expand_task(load(write(in_tmp, GOOD)))
    for spec in specs:
        identity = spec.training_identity()
        family = spec.model_args["posterior"]
        if family == "diagonal":
            assert "family_revision" not in identity
        else:
            assert identity.pop("family_revision") == FAMILY_REVISIONS[family] == 2
            old_id = run_id_of({**identity, "evaluation": spec.evaluation_identity()})
            assert spec.run_id != old_id  # the id of the same configuration before the change
        assert spec.run_id == run_id_of(spec.identity())
    assert {s.model_args["posterior"] for s in specs} >= {"diagonal", "iaf"}


def test_run_spec_round_trips_through_json(in_tmp):
    spec = expand_task(load(write(in_tmp, GOOD)))[3]
    again = RunSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert again.run_id == run_id_of(again.identity())
    assert hash(again) == hash(spec)


FAMILY_WITH_OPTIONS = """\
name: families
dataset: {name: toy, args: {}}
models:
  - {entry: beta_vae, args: ARGS}
SWEEP
seeds: [0]
training: {steps: 100, batch_size: 8, learning_rate: 1e-3, checkpoint_every: 50}
evaluation: {metrics: [mig], representation: [mean], settings: {num_train: 100}}
"""


def _family_task(tmp_path: Path, args: str, sweep: str = "", name: str = "x.yaml") -> Path:
    text = FAMILY_WITH_OPTIONS.replace("ARGS", args).replace("SWEEP", sweep)
    return write(tmp_path, text, name)


def test_a_posterior_family_and_its_options_are_one_mapping_with_the_flat_run_ids(tmp_path):
    flat = expand_task(
        load(
            _family_task(tmp_path, "{architecture: fc, posterior: iaf, iaf_steps: 2}", "", "a.yaml")
        )
    )
    nested = expand_task(
        load(
            _family_task(
                tmp_path,
                "{architecture: fc, posterior: {family: iaf, iaf_steps: 2, iaf_hidden_units: [8]}}",
                "",
                "b.yaml",
            )
        )
    )
    assert nested[0].model_args == {
        "architecture": "fc",
        "posterior": "iaf",
        "iaf_steps": 2,
        "iaf_hidden_units": [8],
    }
    plain = expand_task(
        load(
            _family_task(
                tmp_path, "{architecture: fc, posterior: {family: iaf, iaf_steps: 2}}", "", "c.yaml"
            )
        )
    )
    assert [s.run_id for s in plain] == [s.run_id for s in flat]
    assert nested[0].run_id != flat[0].run_id


def test_a_sweep_over_families_gives_each_family_only_its_own_options(tmp_path):
    sweep = "sweep:\n  posterior: [diagonal, {family: iaf, iaf_steps: 3}]\n  beta: [1, 4]\n"
    specs = expand_task(load(_family_task(tmp_path, "{architecture: fc}", sweep)))
    args = [s.model_args for s in specs]
    assert args == [
        {"architecture": "fc", "posterior": "diagonal", "beta": 1},
        {"architecture": "fc", "posterior": "diagonal", "beta": 4},
        {"architecture": "fc", "posterior": "iaf", "iaf_steps": 3, "beta": 1},
        {"architecture": "fc", "posterior": "iaf", "iaf_steps": 3, "beta": 4},
    ]
    listed = "sweep:\n  - {posterior: {family: iaf, kl_samples: 2}, beta: 2}\n  - {posterior: full_covariance}\n"
    specs = expand_task(load(_family_task(tmp_path, "{architecture: fc}", listed, "y.yaml")))
    assert [s.model_args.get("kl_samples") for s in specs] == [2, None]


@pytest.mark.parametrize(
    ("args", "sweep", "message"),
    [
        (
            "{posterior: {family: diagonal, iaf_steps: 2}}",
            "",
            "x.yaml: models[0].args.posterior.iaf_steps: unknown option of posterior family "
            "'diagonal'; it takes kl_samples",
        ),
        (
            "{posterior: {family: iaf, iaf_step: 2}}",
            "",
            "x.yaml: models[0].args.posterior.iaf_step: unknown option (did you mean 'iaf_steps'?) "
            "of posterior family 'iaf'; it takes iaf_steps, iaf_hidden_units, kl_samples, "
            "moment_samples, iaf_trainable",
        ),
        (
            "{posterior: {iaf_steps: 2}}",
            "",
            "x.yaml: models[0].args.posterior: expected a family name (posterior: NAME) or a "
            "mapping with a 'family' key",
        ),
        (
            "{posterior: {family: iaff}}",
            "",
            "x.yaml: models[0].args.posterior.family: unknown posterior family 'iaff' "
            "(did you mean 'iaf'?)",
        ),
        (
            "{posterior: {family: iaf, iaf_steps: 0}}",
            "",
            "x.yaml: models[0].args.posterior.iaf_steps: ",
        ),
        (
            "{iaf_steps: 2}",
            "sweep:\n  posterior: [{family: iaf, iaf_steps: 3}]\n",
            "x.yaml: sweep.posterior[0].iaf_steps: 'iaf_steps' is both swept here and fixed in "
            "models[0].args.iaf_steps; set it in one place",
        ),
        (
            "{}",
            "sweep:\n  posterior: [{family: iaf, iaf_steps: 3}]\n  iaf_steps: [2]\n",
            "x.yaml: sweep.iaf_steps[0]: 'iaf_steps' is also set at sweep.posterior[0].iaf_steps; "
            "set it in one place",
        ),
    ],
)
def test_a_family_mapping_names_the_field_to_blame(in_tmp, args, sweep, message):
    error = error_of(_family_task(Path("."), args, sweep))
    assert error.startswith(message), error


def test_rows_that_would_average_two_configurations_as_seeds_are_refused(in_tmp):
    sweep = "sweep:\n  posterior: [{family: iaf, iaf_steps: 1}, {family: iaf, iaf_steps: 2}]\n"
    error = error_of(_family_task(Path("."), "{architecture: fc}", sweep))
    assert error == (
        "x.yaml: leaderboard.rows: two configurations of models[0] differ in iaf_steps but "
        "would share one row (entry, posterior), where their runs would be averaged as if they "
        "were seeds; add 'iaf_steps' (or 'sweep') to the rows"
    )
    for rows in ("[entry, posterior, iaf_steps]", "[entry, sweep]"):
        text = FAMILY_WITH_OPTIONS.replace("ARGS", "{architecture: fc}").replace("SWEEP", sweep)
        path = write(in_tmp, text + f"leaderboard: {{rows: {rows}}}\n", "rows.yaml")
        assert len(expand_task(load(path))) == 2
