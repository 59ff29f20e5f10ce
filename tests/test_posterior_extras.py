"""Autoencoder entries, absent scores, settings checked at load, and the new leaderboard parts."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from vae_cases import Squares

from benchmark.absent import absent, absent_reason
from benchmark.columns import column_for
from benchmark.config import load_task
from benchmark.config.catalog import default_catalog
from benchmark.errors import UserInputError
from benchmark.evaluation.inference_gaps import GAP_KEYS
from benchmark.evaluation.part import PARTS, part_setting_defaults
from benchmark.evaluation.point_mass import point_mass_latent_scores
from benchmark.evaluation.run import evaluate, resolved_settings
from benchmark.evaluation.saved_parts import SavedParts
from benchmark.leaderboard.markdown import render_markdown
from benchmark.leaderboard.rate_distortion import (
    decomposition_table,
    plot_rate_distortion,
    rate_distortion_rows,
)
from benchmark.leaderboard.results import RunRow, TaskResults
from benchmark.models import build_model
from benchmark.runner.worker import _number_tree
from benchmark.store import ResultStore, RunOutcome
from benchmark.training import train

TASK = """
name: x
dataset: {name: dsprites}
models:
  - {entry: beta_vae, args: {architecture: fc}}
  - {entry: sparse_autoencoder, args: {architecture: fc}, sweep: [{sparsity: 0.1}, {sparsity: 1}]}
sweep: {posterior: [diagonal]}
seeds: [0]
training: {steps: 10}
evaluation:
  metrics: [mig]
  settings: {latent_scores: {SETTING}}
leaderboard: {rows: [entry, posterior, sparsity]}
"""


def _load(tmp_path, setting: str):
    path = tmp_path / "x.yaml"
    path.write_text(textwrap.dedent(TASK).replace("{SETTING}", setting))
    return load_task(path, catalog=default_catalog())


def test_settings_are_declared_and_checked_at_load(tmp_path):
    task = _load(tmp_path, "{gap_images: 20, gap_learning_rate: 0.05, decomposition_population: 0}")
    assert task.evaluation.settings["latent_scores"]["gap_images"] == 20
    assert task.num_runs == 3
    assert {"gap_iw_samples", "decomposition_outer_draws", "rotation_controls"} <= set(
        default_catalog().metric_settings["latent_scores"]
    )
    bad = {
        "{gap_images: -1}": "gap_images: expected an integer from 0 to 10,000,000, got -1",
        "{gap_learning_rate: 0}": "gap_learning_rate: expected a number from 1e-12 to "
        "10,000,000, got 0",
        "{gap_steps: 2.5}": "gap_steps: expected an integer from 1 to 10,000,000, got 2.5",
        "{rotation_controls: 2}": "rotation_controls: expected 0 or 1, got 2",
        "{gap_tolerance: -0.1}": "gap_tolerance: expected a number from 0 to 10,000,000, got -0.1",
        "{gap_iw_samples: true}": "gap_iw_samples: expected an integer from 1 to 10,000,000, "
        "got True",  # a bool is not a count
    }
    for text, message in bad.items():
        with pytest.raises(UserInputError, match="x.yaml: evaluation.settings.latent_scores."):
            _load(tmp_path, text)
        with pytest.raises(UserInputError) as info:
            _load(tmp_path, text)
        assert str(info.value).endswith(message), str(info.value)


def test_resolved_settings_fill_every_parts_defaults_and_check_the_given():
    from benchmark.config.schema import EvaluationConfig

    plan = EvaluationConfig(
        metrics=(), settings={"latent_scores": {"num_points": 10, "gap_images": 5}}
    )
    resolved = resolved_settings(plan)
    assert resolved == {**part_setting_defaults(), "num_points": 10, "gap_images": 5}
    assert resolved["gap_iw_samples"] == 5000 and resolved["posterior_mig_points"] == 2000
    with pytest.raises(UserInputError, match="setting 'gap_steps': expected"):
        resolved_settings(
            EvaluationConfig(metrics=(), settings={"latent_scores": {"gap_steps": 0}})
        )


def test_autoencoders_train_and_store_point_mass_scores_as_absent(tmp_path):
    data = Squares()
    model = build_model("sparse_autoencoder", data.observation_shape, architecture="fc",
                        fc_width=32, latent_dim=3, sparsity=0.5)  # fmt: skip
    result = train(model, data, steps=20, batch_size=16, learning_rate=1e-3, seed=0,
                   checkpoint_dir=tmp_path / "ck", progress=False)  # fmt: skip
    assert set(result.final_loss_terms) >= {"loss", "reconstruction", "code_l1"}
    assert "kl" not in result.final_loss_terms
    with pytest.raises(UserInputError, match="unknown argument 'beta'"):
        build_model("autoencoder", data.observation_shape, beta=4.0)

    _, images = data.sample(40, np.random.RandomState(0))
    scores = point_mass_latent_scores(model, images, batch_size=16)
    code = model.encode(images).mean().numpy()
    recon = model.reconstruction_nll(images, code).numpy()
    assert scores["reconstruction_nll_nats"] == pytest.approx(float(np.mean(recon)), rel=1e-5)
    eigenvalues = np.linalg.eigvalsh(np.cov(code.astype(np.float64), rowvar=False))
    assert scores["active_directions"] == int(np.sum(eigenvalues > 0.01))  # exists for a point mass
    assert "rate_nats" not in scores  # the part stores it absent, from its declaration

    # The whole evaluation: each part checks the capability in one place, and every key
    # declared `absent_without: density` is stored absent; the codes' own scores exist.
    from benchmark.config.schema import EvaluationConfig

    plan = EvaluationConfig(
        metrics=(),
        settings={"latent_scores": {"num_points": 40, "num_heldout": 8, "gap_images": 2,
                                    "tc_sample_size": 20, "posterior_mig_points": 40}},
    )  # fmt: skip
    parts = [PARTS.get(n) for n in ("latent_scores", "posterior_codes", "inference_gaps",
                                     "kl_decomposition")]  # fmt: skip
    result = evaluate(model, data, plan, seed=0, workdir=tmp_path, parts=parts,
                      saved=SavedParts(tmp_path, {"steps": 20}))  # fmt: skip
    declared = [k.name for part in parts for k in part.keys if k.absent_without == "density"]
    assert {"rate_nats", "elbo_nats", "posterior_mig", *GAP_KEYS} <= set(declared)
    for key in declared:
        assert absent_reason(result.scores[key]) == "point mass", key
    assert result.scores["reconstruction_nll_nats"] > 0
    assert result.artifacts == {"udr_codes": "udr_codes.npz"}  # UDR compares codes of any model
    assert "inference_gaps_s" not in result.durations  # not run: only its keys are written


def test_absent_scores_round_trip_through_the_store(tmp_path):
    assert _number_tree(absent("point mass"), "rate_nats") == {"absent": "point mass"}
    with pytest.raises(TypeError):
        _number_tree({"absent": 3}, "rate_nats")
    with ResultStore(tmp_path / "db.sqlite") as store:
        from benchmark.config import expand_task

        task = _load(tmp_path, "{gap_images: 2}")
        specs = expand_task(task)
        store.register_task(task.name, task.to_dict(), specs)
        outcome = RunOutcome(
            run_id=specs[1].run_id, status="done", started_at="t0", finished_at="t1",
            duration_s=1.0, scores={"rate_nats": absent("point mass"), "mig": 0.1},
        )  # fmt: skip
        store.record_outcome(outcome)
        stored = store.scores([specs[1].run_id])[specs[1].run_id]
    assert stored == {"rate_nats": {"absent": "point mass"}, "mig": 0.1}


def _run(position, entry, posterior, beta, seed, scores):
    args = {"beta": beta, "posterior": posterior} if posterior else {"sparsity": beta}
    return RunRow(
        run_id=f"r{position}", status="done", label=entry, entry=entry, dataset="dsprites",
        seed=seed, position=position, model_args=args, sweep=args, scores=scores,
    )  # fmt: skip


def _results() -> TaskResults:
    runs = []
    for i, (family, beta, seed) in enumerate(
        [("diagonal", 1, 0), ("diagonal", 1, 1), ("diagonal", 8, 0), ("iaf", 1, 0)]
    ):
        runs.append(
            _run(
                i,
                "beta_vae",
                family,
                beta,
                seed,
                {
                    "mig": 0.1 * (i + 1),
                    "rate_nats": 20.0 / beta + seed,
                    "reconstruction_nll_nats": 40.0 + 3 * beta,
                    "approximation_gap_nats": 2.0 + seed,
                    "approximation_gap_se_nats": 0.1,
                    "amortisation_gap_nats": 1.0,
                    "amortisation_gap_se_nats": 0.05,
                    "approximation_gap_check_failed": 0.0,
                    "decomposition_rate_nats": 20.0 / beta,
                    "decomposition_sum_nats": 20.0 / beta,
                    "decomposition_mutual_information_nats": 5.0,
                    "decomposition_total_correlation_nats": 1.0,
                    "decomposition_dimension_wise_kl_nats": 20.0 / beta - 6.0,
                    "decomposition_population": 737280.0 if family == "diagonal" else 500.0,
                    "decomposition_full_grid": 1.0 if family == "diagonal" else 0.0,
                    **(
                        {
                            "decomposition_trend_population": [125.0, 250.0, 500.0],
                            "decomposition_trend_total_correlation_nats": [-1.0, 0.0, 0.5],
                        }
                        if family == "iaf"
                        else {}
                    ),
                },
            )  # fmt: skip
        )
    keys = [k.name for name in ("latent_scores", "inference_gaps", "kl_decomposition")
            for k in PARTS.get(name).keys if k.absent_without]  # fmt: skip
    point_mass = {k: absent("point mass") for k in keys}
    runs.append(_run(9, "autoencoder", None, 0.1, 0, {"mig": 0.05, **point_mass}))
    config = {"leaderboard": {"rows": ["entry", "posterior", "beta"], "main_metric": "mig"}}
    return TaskResults("t", config, tuple(runs))


def test_leaderboard_shows_point_mass_scores_as_not_applicable_and_the_gap_table():
    results = _results()
    page = render_markdown(results, command="disbench leaderboard t", figure_dir="t")
    assert "n/a (point mass)" in page
    table = decomposition_table(results)
    text = "\n".join(table)
    assert "## Rate decomposition and inference gaps" in text
    assert "| beta_vae | diagonal | 1 | 2 | 20.00 |" in text
    assert "2.500 ± 0.100" in text  # mean over the two seeds, mean standard error
    assert "full grid (N=737,280)" in text
    assert "TC by M, mean of 1 seeds (125: -1.000, 250: 0.000, 500: 0.500)" in text
    ae_line = next(line for line in table if line.startswith("| autoencoder"))
    assert ae_line.count("n/a (point mass)") == 8  # every column after n
    assert "rate_distortion.png" in page
    for key in ("approximation_gap_nats", "decomposition_total_correlation_nats",
                "pca/active_directions", "gap_qstar_steps_mean"):  # fmt: skip
        assert column_for(key).label != key
    assert column_for("ica/mig").label == "MIG"


def test_point_mass_curves_get_their_own_panel_and_no_bold_elbo(tmp_path):
    """An autoencoder's curve is minus its held-out loss: not on an ELBO axis, not 'best ELBO'."""
    import dataclasses

    from benchmark.leaderboard.figures import POINT_MASS_PANEL, heldout_curves
    from benchmark.leaderboard.plots import curves_title, draw_heldout_curves

    curve = {"train/heldout_elbo_curve": [[0, -90.0], [500, -60.0]],
             "train/heldout_elbo": -60.0}  # fmt: skip
    results = _results()
    runs = [dataclasses.replace(r, scores={**r.scores, **curve}) for r in results.runs]
    runs[-1].scores.update({"train/heldout_elbo": absent("point mass"),
                            "train/heldout_loss_nats": 25.0})  # fmt: skip
    results = dataclasses.replace(results, runs=tuple(runs))
    panels = heldout_curves(results)
    assert list(panels[POINT_MASS_PANEL]) == ["autoencoder"]
    assert "autoencoder" not in panels["beta=1"]
    assert draw_heldout_curves(results, tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert "minus the held-out loss" in curves_title("t", list(panels))
    assert curves_title("t", ["beta=1"]) == "t: held-out ELBO during training"
    page = render_markdown(results, command="disbench leaderboard t", figure_dir="t")
    ae_training = [line for line in page.splitlines()
                   if line.startswith("| autoencoder") and "25.00" in line]  # fmt: skip
    assert len(ae_training) == 1 and "n/a (point mass)" in ae_training[0]
    # Lines in the plots against beta leave the unset sparsity out of their names.
    from benchmark.leaderboard.figures import metric_series

    board = {"leaderboard": {"rows": ["entry", "posterior", "beta", "sparsity"]}}
    with_sparsity = dataclasses.replace(results, config={**results.config, **board})
    names = list(metric_series(with_sparsity, "rate_nats"))
    assert names and all("–" not in name for name in names), names


def test_rate_distortion_rows_and_figure(tmp_path):
    rows = rate_distortion_rows(_results())
    assert len(rows) == 4  # the autoencoder has no rate
    assert rows[0] == {"posterior": "diagonal", "beta": 1.0, "seed": 0, "rate": 20.0,
                       "distortion": 43.0}  # fmt: skip
    path = plot_rate_distortion(rows, "t", tmp_path / "rd.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rotation_controls_score_the_metrics_that_declare_it():
    from benchmark.evaluation.parts.rotation_controls import rotation_metrics

    names = ("mig", "dci", "infomec", "dci_es", "beta_vae", "z_min_var")
    assert rotation_metrics(names) == ("mig", "infomec", "dci_es", "z_min_var")
