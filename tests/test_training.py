"""The trainer: every objective with every family, resume, NaN handling, restore."""

import json

import numpy as np
import pytest
from vae_cases import BUILT_IN_ENTRIES, FAMILIES, Squares, small_args

from benchmark.cli.main import main
from benchmark.data import get_dataset
from benchmark.errors import UserInputError
from benchmark.models import build_model, representation_function
from benchmark.tf_quiet import import_tensorflow
from benchmark.training import TrainingDiverged, load_model, restore, train

tf = import_tensorflow()

SQUARES = Squares()
BATCH = tf.constant(SQUARES.sample(8, np.random.RandomState(0))[1])


def _small(entry: str = "beta_vae", posterior: str = "diagonal", shape=(16, 16, 1), **extra):
    return build_model(entry, shape, **small_args(entry, posterior, **extra))


@pytest.mark.parametrize("entry", BUILT_IN_ENTRIES)
@pytest.mark.parametrize("posterior", FAMILIES)
def test_every_objective_updates_with_every_family(entry, posterior):
    model = _small(entry, posterior)
    model.initialize(seed=0)
    optimizers = model.make_optimizers(1e-3)
    groups = model.optimizer_variables()
    for name, variables in groups.items():
        optimizers[name].build(variables)
    before = [v.numpy().copy() for v in model.trainable_variables]
    # Two updates: the IAF networks' output layers start at zero (identity steps), so
    # their hidden layers get a gradient only once the output layer has moved.
    for step in (1, 2):
        terms, ok = model.apply_update(
            BATCH, tf.constant(float(step)), tf.constant([1, step]), optimizers
        )
        assert bool(ok) and all(np.all(np.isfinite(v.numpy())) for v in terms.values())
    for name in groups:
        assert int(optimizers[name].iterations) == 2
    changed = [
        not np.array_equal(b, v.numpy())
        for b, v in zip(before, model.trainable_variables, strict=True)
    ]
    assert sum(changed) >= len(changed) - 2  # every layer moves (a zero-gradient bias may not)


def test_loss_goes_down_on_dsprites(tmp_path):
    dsprites = get_dataset("dsprites")
    model = build_model(
        "beta_vae", dsprites.observation_shape, architecture="fc", fc_width=64, latent_dim=4
    )
    train(
        model,
        dsprites,
        steps=60,
        batch_size=16,
        learning_rate=1e-3,
        checkpoint_dir=tmp_path,
        log_every=20,
        progress=False,
    )
    records = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [20, 40, 60]
    assert records[-1]["loss"] < 0.5 * records[0]["loss"]
    assert len(records[-1]["kl_per_latent"]) == 4


def _train(model, directory, steps, seed=3, **kwargs):
    return train(
        model, SQUARES, steps=steps, batch_size=8, learning_rate=1e-3, seed=seed,
        checkpoint_dir=directory, checkpoint_every=kwargs.pop("checkpoint_every", 5),
        log_every=5, progress=False, **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize("entry, posterior", [("beta_tcvae", "diagonal"), ("factor_vae", "iaf")])
def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path, entry, posterior):
    whole = _small(entry, posterior)
    _train(whole, tmp_path / "whole", 12, checkpoint_every=6)
    interrupted = _small(entry, posterior)
    first = _train(interrupted, tmp_path / "split", 6, checkpoint_every=6)
    assert first.steps_done == 6 and first.resumed_from_step == 0
    resumed = _small(entry, posterior)  # as a restarted process would build it
    second = _train(resumed, tmp_path / "split", 12, checkpoint_every=6)
    assert second.resumed_from_step == 6 and second.steps_done == 12
    assert len(whole.weights) == len(resumed.weights)
    for a, b in zip(whole.weights, resumed.weights, strict=True):
        if posterior == "diagonal":
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        else:  # layer names differ within one process, and graph rewrites may round differently
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    if posterior == "diagonal":
        other_seed = _small(entry, posterior)
        _train(other_seed, tmp_path / "other", 12, seed=4)
        assert not np.allclose(whole.weights[0].numpy(), other_seed.weights[0].numpy())


def test_finished_run_is_not_trained_again(tmp_path):
    model = _small()
    first = _train(model, tmp_path, 5)
    again = _train(_small(), tmp_path, 5)
    assert again.resumed_from_step == 5 and again.steps_done == 5
    assert again.final_loss_terms == first.final_loss_terms and "kl" in again.final_loss_terms
    assert again.final_kl_per_latent == first.final_kl_per_latent


def test_resume_with_other_settings_is_refused(tmp_path):
    _train(_small(), tmp_path, 5)
    with pytest.raises(UserInputError, match="run.json: seed: .* trained with 3, got 9"):
        _train(_small(), tmp_path, 10, seed=9)


def _poisoned_stream(bad_batch: int) -> tf.data.Dataset:
    """Batches of SQUARES, except batch `bad_batch` (0-based) is all NaN."""
    clean = tf.data.Dataset.from_tensors(BATCH).repeat()
    steps = tf.data.Dataset.counter()
    return tf.data.Dataset.zip(steps, clean).map(
        lambda t, x: tf.where(t == bad_batch, tf.fill(tf.shape(x), np.nan), x)
    )


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    model = _small()
    with pytest.raises(TrainingDiverged) as caught:
        train(
            model, _poisoned_stream(6), steps=20, batch_size=8, checkpoint_dir=tmp_path,
            checkpoint_every=4, log_every=2, progress=False,
        )  # fmt: skip
    error = caught.value
    assert isinstance(error, RuntimeError)
    assert error.step == 7 and "reconstruction=nan" in error.reason and "step 7" in str(error)
    assert all(np.all(np.isfinite(w.numpy())) for w in model.weights)  # update 7 was skipped
    assert restore(_small(), tmp_path) == 4
    last = json.loads((tmp_path / "train_log.jsonl").read_text().splitlines()[-1])
    assert last == {"step": 7, "diverged": error.reason}


def test_restore_and_load_model_reproduce_the_trained_encoder(tmp_path):
    model = _small("dip_vae_ii", "full_covariance")
    _train(model, tmp_path, 6)
    loaded, step = load_model(tmp_path)
    assert step == 6 and loaded.entry_config == model.entry_config
    images = SQUARES.sample(10, np.random.RandomState(1))[1]
    np.testing.assert_array_equal(
        representation_function(model)(images), representation_function(loaded)(images)
    )
    with pytest.raises(UserInputError, match="no checkpoint"):
        restore(_small(), tmp_path / "empty")


@pytest.mark.parametrize("posterior", FAMILIES)
def test_representation_function_is_batched_numpy(posterior):
    model = _small(posterior=posterior)
    images = SQUARES.sample(10, np.random.RandomState(2))[1]
    codes = representation_function(model, "mean", batch_size=4)(images)
    assert codes.shape == (10, 3) and codes.dtype == np.float64
    if posterior != "iaf":  # IAF's Monte Carlo mean depends on the position in the batch
        np.testing.assert_allclose(
            codes, representation_function(model, batch_size=64)(images), rtol=1e-5, atol=1e-6
        )
    sampled = representation_function(model, "sampled", seed=5)
    first, second = sampled(images), sampled(images)
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(first, representation_function(model, "sampled", seed=5)(images))
    with pytest.raises(UserInputError, match="expected shape"):
        sampled(images[:, :8])
    with pytest.raises(UserInputError, match="mean, sampled"):
        representation_function(model, "median")


def test_bad_train_arguments_are_user_errors(tmp_path):
    with pytest.raises(UserInputError, match="steps"):
        train(_small(), SQUARES, steps=-1, checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(UserInputError, match="shape"):
        train(_small(shape=(8, 8, 1)), SQUARES, steps=1, checkpoint_dir=tmp_path, progress=False)


def test_cli_train_runs_one_entry(tmp_path, capsys):
    out = tmp_path / "run"
    code = main([
        "train", "beta_vae", "--dataset", "dsprites", "--steps", "4", "--batch-size", "4",
        "--out", str(out), "--posterior", "iaf", "--arg", "architecture=fc", "--arg", "fc_width=16",
        "--arg", "latent_dim=2", "--arg", "iaf_hidden_units=[4]", "--no-progress", "--log-every", "2",
    ])  # fmt: skip
    assert code == 0
    assert "4 steps (from 0)" in capsys.readouterr().out
    assert main(["train", "beta_vae", "--steps", "1", "--out", str(out), "--arg", "bta=2"]) == 2
    assert "did you mean 'beta'" in capsys.readouterr().err
