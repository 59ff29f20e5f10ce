"""The real pipeline: one tiny dsprites run from a task file to scores, artefacts and resume."""

import dataclasses
import json

import numpy as np
import pytest

from benchmark.config import expand_task, load_task
from benchmark.config.runs import run_id_of
from benchmark.data import get_dataset
from benchmark.metrics import score_sampled
from benchmark.models import representation_function
from benchmark.pipeline import execute_run
from benchmark.runner.status import TRAIN_LOG, status_line
from benchmark.training import load_model

TASK = """
name: tiny_pipeline
description: one tiny run through the real pipeline
dataset: {name: dsprites, args: {}}
models:
  - {entry: beta_vae, args: {architecture: fc, fc_width: 32, latent_dim: 3}}
sweep: {beta: [4], posterior: [full_covariance]}
seeds: [0]
training: {steps: 20, batch_size: 16, learning_rate: 0.001, checkpoint_every: 10, log_every: 10}
evaluation:
  metrics: [mig, dci, unsupervised, beta_vae, factor_vae, downstream_task_logistic_regression]
  settings:
    num_train: 120
    num_test: 60
    dci: {num_train: 80, num_test: 40}
    beta_vae: {num_train: 20, num_eval: 10}
    factor_vae: {num_train: 20, num_eval: 10, num_variance_estimate: 200}
    downstream_task_logistic_regression:
      {num_train: 10, num_test: 40, efficiency_small: 10, efficiency_large: 10}
    latent_scores: {num_points: 40, num_heldout: 8, iw_samples: 4, tc_sample_size: 40,
                    gap_images: 4, gap_iw_samples: 8, gap_steps: 4, gap_step_samples: 2,
                    gap_eval_samples: 8, gap_check_every: 2, decomposition_population: 200,
                    decomposition_outer_draws: 50, rotation_fit_points: 100,
                    posterior_mig_points: 60}
leaderboard: {rows: [entry, posterior, beta], main_metric: mig}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    (folder / "tiny.yaml").write_text(TASK)
    (spec,) = expand_task(load_task(folder / "tiny.yaml"))
    workdir = folder / spec.run_id
    return spec, workdir, execute_run(spec, workdir, progress=False)


def test_scores_artefacts_and_durations(run):
    spec, workdir, result = run
    for key in ("mig", "dci_disentanglement", "gaussian_total_correlation"):
        assert np.isfinite(result.scores[key]), key
    for key in ("betavae_eval_accuracy", "factorvae_eval_accuracy"):
        assert 0.0 <= result.scores[key] <= 1.0, key
    for key in ("posterior_mean_abs_correlation", "rate_nats", "elbo_nats", "train/loss"):
        assert np.isfinite(result.scores[key]), key
    assert result.scores["rate_nats"] > 0
    assert not {"sklearn_version", "seed", "skipped", "dci_gbt_random_state"} & set(result.scores)
    traversals = np.load(workdir / result.artifacts["traversals"])
    assert traversals.shape == (3, 9, 64, 64, 1)
    pairs = np.load(workdir / result.artifacts["reconstructions"])
    assert pairs.shape == (2, 10, 64, 64, 1) and pairs.dtype == np.uint8
    assert set(result.durations) >= {"train_s", "metrics_s", "latent_scores_s"}
    # inference gaps, the KL decomposition and the rotation controls
    for key in ("approximation_gap_nats", "amortisation_gap_nats", "gap_log_px_nats",
                "decomposition_mutual_information_nats", "decomposition_total_correlation_nats",
                "pca/mig", "ica/mig", "pca/active_directions"):  # fmt: skip
        assert np.isfinite(result.scores[key]), key
    assert result.scores["amortisation_gap_nats"] >= 0.0  # q* starts from q and keeps its best
    assert result.scores["decomposition_population"] == 200.0
    assert set(result.durations) >= {"inference_gaps_s", "kl_decomposition_s"}
    # Posterior MIG (stratified grid sample) and the shared-sample codes UDR reads later.
    assert 0.0 <= result.scores["posterior_mig"] <= 1.0
    # Chen et al.'s protocol on dSprites: the same per-factor MIG without shape (factor 0).
    per_factor = np.asarray(result.scores["posterior_mig_per_factor"])
    assert result.scores["posterior_mig_chen"] == pytest.approx(per_factor[1:].mean())
    assert np.shape(result.scores["posterior_mutual_info_matrix_codes_x_factors"]) == (3, 5)
    shared = np.load(workdir / result.artifacts["udr_codes"])
    assert shared["codes"].shape == (1000, 3) and shared["kl_per_latent"].shape == (3,)
    assert np.all(shared["kl_per_latent"] >= 0)
    # Closed-form means: the activity is Var_x(E[z|x]) itself, no noise floor to take off.
    np.testing.assert_allclose(
        shared["mean_code_activity"], shared["codes"].astype(np.float64).var(axis=0), rtol=1e-4
    )
    assert result.scores["downstream_task_logistic_regression:sample_efficiency"] == 1.0
    assert 0 <= result.scores["downstream_task_logistic_regression:10:mean_test_accuracy"] <= 1


def test_a_per_metric_override_draws_its_own_points(run):
    spec, workdir, result = run
    model, _ = load_model(workdir / "checkpoints")
    represent = representation_function(model, "mean", batch_size=256, seed=spec.seed)
    dataset = get_dataset(spec.dataset, **spec.dataset_args)
    # The reloaded model is a second graph; its kernels may round codes differently from the
    # trained one's, so the scores agree closely rather than bit for bit. Other draws differ
    # far more (the override is a separate, smaller sample).
    alone = score_sampled(dataset, represent, seed=0, metrics=["dci"], num_train=80, num_test=40)
    assert result.scores["dci_disentanglement"] == pytest.approx(
        alone["dci_disentanglement"], abs=1e-6
    )
    shared = score_sampled(dataset, represent, seed=0, metrics=["mig"], num_train=120, num_test=60)
    assert result.scores["mig"] == pytest.approx(
        shared["mig"], abs=1e-6
    )  # the shared 120-point draws


def test_running_again_resumes_and_gives_the_same_scores(run):
    spec, workdir, result = run
    again = execute_run(spec, workdir, progress=False)
    assert again.durations["train_steps_per_second"] == 0.0  # nothing left to train
    for key in ("mig", "dci_disentanglement", "betavae_eval_accuracy", "rate_nats"):
        assert again.scores[key] == result.scores[key], key
    assert again.scores["train/loss"] == result.scores["train/loss"]


def test_durations_per_metric_and_per_latent_part(run):
    _, _, result = run
    durations = result.durations
    metric_parts = ("mig", "dci", "unsupervised", "beta_vae", "factor_vae", "draws", "draws/dci")
    for name in (*metric_parts, "encode"):
        assert durations[f"metric_s/{name}"] >= 0.0, name
    assert durations["metric_s/encode"] > 0.0  # full-covariance mean codes come from the table
    assert sum(durations[f"metric_s/{n}"] for n in metric_parts) <= durations["metrics_s"]
    latent_parts = ("draws", "posterior_terms", "aggregate_gaussian", "aggregate_tc", "heldout_iw")
    for name in latent_parts:
        assert durations[f"latent_s/{name}"] >= 0.0, name
    assert sum(durations[f"latent_s/{n}"] for n in latent_parts) <= durations["latent_scores_s"]


def test_a_changed_metric_setting_rescores_the_finished_training_without_training(run, tmp_path):
    spec, workdir, result = run
    assert result.durations["train_steps"] == 20
    # Fewer metrics keep the test short; MIG on 100 points instead of 120.
    evaluation = dataclasses.replace(
        spec.evaluation,
        metrics=("mig",),
        latent_scores=False,
        settings={**spec.evaluation.settings, "num_train": 100},
    )
    other = dataclasses.replace(spec, evaluation=evaluation)
    other = dataclasses.replace(other, run_id=run_id_of(other.identity()))
    assert other.training_id == spec.training_id and other.run_id != spec.run_id
    rescored = execute_run(
        other, tmp_path / other.run_id, progress=False, training_dir=workdir / "checkpoints"
    )
    assert rescored.durations["train_steps"] == 0  # loaded, not trained
    assert rescored.scores["train/loss"] == result.scores["train/loss"]  # the same training
    assert (
        np.isfinite(rescored.scores["mig"]) and rescored.scores["mig"] != result.scores["mig"]
    )  # new draws
    assert "dci_disentanglement" not in rescored.scores


def test_an_interrupted_evaluation_keeps_its_finished_parts(run, tmp_path, monkeypatch):
    """Killed in its last part, the next attempt computes only that part, with the same scores."""
    import dataclasses
    import shutil

    from benchmark.evaluation.part import PARTS
    from benchmark.evaluation.saved_parts import PARTS_FILE

    spec, workdir, result = run
    copy = tmp_path / spec.run_id
    shutil.copytree(workdir, copy)

    def replaced(name, compute):
        monkeypatch.setitem(
            PARTS._entries, name, dataclasses.replace(PARTS.get(name), compute=compute)
        )

    def killed(context):
        raise KeyboardInterrupt

    gaps = PARTS.get("inference_gaps")
    replaced("inference_gaps", killed)
    with pytest.raises(KeyboardInterrupt):
        execute_run(spec, copy, progress=False)
    assert (copy / PARTS_FILE).exists()
    replaced("inference_gaps", gaps.compute)

    def must_not_run(context):
        raise AssertionError("a finished part was computed again")

    for name in ("metrics", "latent_scores", "posterior_codes"):
        replaced(name, must_not_run)
    resumed = execute_run(spec, copy, progress=False)
    assert resumed.durations["evaluation_parts_reused"] == 3.0  # the parts before the gaps
    assert not (copy / PARTS_FILE).exists()  # complete: nothing left to resume
    for key in (
        "mig",
        "dci_disentanglement",
        "betavae_eval_accuracy",
        "rate_nats",
        "posterior_mig",
    ):
        assert resumed.scores[key] == result.scores[key], key
    assert np.shape(resumed.scores["posterior_mutual_info_matrix_codes_x_factors"]) == (3, 5)
    assert resumed.durations["metrics_s"] > 0.0  # the first attempt's time, not this one's
    assert resumed.artifacts["udr_codes"] == result.artifacts["udr_codes"]
    assert np.isfinite(resumed.scores["approximation_gap_nats"])  # the part that was redone


def test_parts_saved_for_another_training_are_ignored(tmp_path):
    from benchmark.evaluation.saved_parts import SavedParts

    parts = SavedParts(tmp_path, {"steps": 10, "checkpoints": "a"})
    parts.put("metrics/mean", {"mig": np.float64(0.5), "nan": float("nan"), "m": np.eye(2)})
    again = SavedParts(tmp_path, {"steps": 10, "checkpoints": "a"}).get("metrics/mean")
    assert again["scores"]["mig"] == 0.5 and np.isnan(again["scores"]["nan"])
    assert again["scores"]["m"] == [[1.0, 0.0], [0.0, 1.0]]
    assert SavedParts(tmp_path, {"steps": 20, "checkpoints": "a"}).get("metrics/mean") is None
    (tmp_path / "evaluation_parts.json").write_text("{not json")
    assert SavedParts(tmp_path, {"steps": 10, "checkpoints": "a"}).get("metrics/mean") is None


def test_metrics_finished_before_an_interruption_are_not_computed_again(run, tmp_path, monkeypatch):
    """Killed after two metrics, the next attempt computes only the others, with the same scores."""
    import shutil

    import benchmark.evaluation.interpretability as interpretability

    spec, workdir, result = run
    copy = tmp_path / spec.run_id
    shutil.copytree(workdir, copy)
    original = interpretability.interpretability_scores
    computed: list[str] = []

    def interrupted_after_two(*args, on_metric=None, **kwargs):
        if on_metric is None:  # the rotation controls' calls
            return original(*args, **kwargs)

        def keep_then_stop(name, scores, seconds):
            on_metric(name, scores, seconds)
            computed.append(name)
            if len(computed) == 2:
                raise KeyboardInterrupt

        return original(*args, on_metric=keep_then_stop, **kwargs)

    monkeypatch.setattr(interpretability, "interpretability_scores", interrupted_after_two)
    with pytest.raises(KeyboardInterrupt):
        execute_run(spec, copy, progress=False)
    first_two = list(computed)

    def recorded(*args, on_metric=None, **kwargs):
        if on_metric is None:
            return original(*args, **kwargs)

        def keep(name, scores, seconds):
            computed.append(name)
            on_metric(name, scores, seconds)

        return original(*args, on_metric=keep, **kwargs)

    computed.clear()
    monkeypatch.setattr(interpretability, "interpretability_scores", recorded)
    resumed = execute_run(spec, copy, progress=False)
    assert sorted(computed) == sorted(set(spec.evaluation.metrics) - set(first_two))
    metric_keys = [k for k in result.scores if k.split("_")[0] in ("mig", "dci", "betavae")]
    metric_keys += ["factorvae_eval_accuracy", "gaussian_total_correlation"]
    for key in metric_keys:
        assert np.array_equal(resumed.scores[key], result.scores[key]), key
    for name in first_two:  # the first attempt's time, kept with its scores
        assert resumed.durations[f"metric_s/{name}"] > 0.0


def test_a_sparse_autoencoder_runs_through_the_whole_pipeline(tmp_path):
    """Point-mass entries are scored end to end: parameters, metrics, absent densities."""
    from benchmark.absent import absent_reason

    entry = "{entry: sparse_autoencoder, args: {architecture: fc, fc_width: 32, latent_dim: 3}}"
    task = TASK.replace(
        "{entry: beta_vae, args: {architecture: fc, fc_width: 32, latent_dim: 3}}", entry
    ).replace("sweep: {beta: [4], posterior: [full_covariance]}", "sweep: {sparsity: [0.1]}")
    task = task.replace("rows: [entry, posterior, beta]", "rows: [entry, sparsity]").replace(
        "metrics: [mig, dci, unsupervised, beta_vae, factor_vae, "
        "downstream_task_logistic_regression]",
        "metrics: [mig, dci]",
    )
    for unused in (
        "    beta_vae: {num_train: 20, num_eval: 10}\n",
        "    factor_vae: {num_train: 20, num_eval: 10, num_variance_estimate: 200}\n",
        "    downstream_task_logistic_regression:\n"
        "      {num_train: 10, num_test: 40, efficiency_small: 10, efficiency_large: 10}\n",
    ):
        assert unused in task
        task = task.replace(unused, "")
    (tmp_path / "tiny.yaml").write_text(task)
    (spec,) = expand_task(load_task(tmp_path / "tiny.yaml"))
    result = execute_run(spec, tmp_path / spec.run_id, progress=False)
    assert result.scores["parameters/posterior_head"] == 32 * 3 + 3
    assert result.scores["parameters/flow"] == 0
    for key in ("mig", "dci_disentanglement", "reconstruction_nll_nats", "pca/mig"):
        assert np.isfinite(result.scores[key]), key
    for key in ("rate_nats", "elbo_nats", "approximation_gap_nats", "posterior_mig",
                "train/heldout_elbo"):  # fmt: skip
        assert absent_reason(result.scores[key]) == "point mass", key
    assert result.scores["train/heldout_loss_nats"] > 0  # reconstruction NLL + L1, nats
    # Its training log and the status line name the loss, not an ELBO.
    (log,) = (tmp_path / spec.run_id).rglob(TRAIN_LOG)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    held_out = [r for r in records if "heldout_elbo" in r]
    assert held_out and all(r["heldout_loss"] == -r["heldout_elbo"] for r in held_out)
    assert f"held-out loss {held_out[-1]['heldout_loss']:.2f}" in status_line(spec, log.parent)
