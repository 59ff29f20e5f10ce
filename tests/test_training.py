"""The trainer: every objective with every family, resume, NaN handling, restore."""

import json

import numpy as np
import pytest
from vae_cases import BUILT_IN_ENTRIES, FAMILIES, Squares, poisoned_stream, small_args

from benchmark.cli.main import main
from benchmark.data import get_dataset
from benchmark.errors import UserInputError
from benchmark.models import build_model, representation_function
from benchmark.tf_quiet import import_tensorflow
from benchmark.training import TrainingDiverged, load_model, restore, train
from benchmark.training.step import apply_update

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
        terms, ok = apply_update(
            model, BATCH, tf.constant(float(step)), tf.constant([1, step]), optimizers
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


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    model = _small()
    with pytest.raises(TrainingDiverged) as caught:
        train(
            model, poisoned_stream(BATCH, 6), steps=20, batch_size=8, checkpoint_dir=tmp_path,
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
    # two graphs of one architecture: equal up to kernel rounding
    np.testing.assert_allclose(
        representation_function(model)(images),
        representation_function(loaded)(images),
        rtol=1e-6,
        atol=1e-7,
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


def _while_ops(concrete):
    return [op for op in concrete.graph.get_operations() if op.type in ("While", "StatelessWhile")]


def _op_types(graph_def, function_name: str) -> set[str]:
    """Op types of a library function and of every function it calls, recursively."""
    library = {f.signature.name: f for f in graph_def.library.function}
    seen, types, pending = set(), set(), [function_name]
    while pending:
        name = pending.pop()
        if name in seen or name not in library:
            continue
        seen.add(name)
        for node in library[name].node_def:
            types.add(node.op)
            for value in node.attr.values():
                if value.func.name:
                    pending.append(value.func.name)
    return types


_BRANCHES = {"If", "StatelessIf", "Case", "StatelessCase"}
_HOST_CALLS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


def test_the_training_chunk_never_waits_on_the_host():
    """In the chunk's loop body: no branch and no Python call, and the step counter is not read."""
    from benchmark.data.stream import make_batches
    from benchmark.training.loop import make_chunk_runner, make_step_runner

    model = _small()
    model.initialize(seed=0)
    optimizers = model.make_optimizers(1e-3)
    optimizers["vae"].build(model.optimizer_variables()["vae"])
    step = tf.Variable(0, dtype=tf.int64, trainable=False)
    iterator = iter(make_batches(SQUARES, 8, seed=0))
    chunk = make_chunk_runner(model, optimizers, step, seed=0).get_concrete_function(
        iterator, tf.constant(0, tf.int64), tf.constant(3)
    )
    guarded = make_step_runner(model, optimizers, step, seed=0).get_concrete_function(
        iterator, tf.constant(3)
    )
    for concrete, expect_wait in ((chunk, False), (guarded, True)):
        (loop,) = _while_ops(concrete)
        graph_def = concrete.graph.as_graph_def()
        body = _op_types(graph_def, loop.get_attr("body").name)
        assert not body & _HOST_CALLS
        assert bool(body & _BRANCHES) is expect_wait  # the old per-step tf.cond
        step_handle = next(
            internal for external, internal in concrete.graph.captures if external is step.handle
        )
        assert (
            any(t is step_handle for t in loop.inputs) is expect_wait
        )  # seed from the device step


def test_heldout_curve_is_logged_and_judged(tmp_path):
    result = _train(_small(), tmp_path, 20, checkpoint_every=10, heldout_size=16)
    records = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [5, 10, 15, 20]
    assert all(r["heldout_elbo"] < 0 for r in records)
    for r in records:
        assert r["heldout_elbo"] == pytest.approx(-(r["heldout_reconstruction"] + r["heldout_kl"]))
    assert result.heldout_curve == [(r["step"], r["heldout_elbo"]) for r in records]
    assert result.convergence is not None and result.convergence.points == 4  # all 4 (< 10)
    assert "heldout_elbo" not in result.final_loss_terms
    assert result.setup["device"] == "CPU" and result.setup["tf32"] is False


def test_stop_when_converged_ends_the_run_and_stays_stopped(tmp_path):
    # A tolerance of 1e6 nats per 1,000 steps holds at once; with a log every 2 steps the
    # window first holds its 10 evaluations at step 20 (2, 4, ..., 20).
    def run():
        return train(
            _small(), SQUARES, steps=40, batch_size=8, learning_rate=1e-3, seed=3,
            checkpoint_dir=tmp_path, checkpoint_every=100, log_every=2, progress=False,
            heldout_size=8, convergence_tolerance=1e6, stop_when_converged=True,
        )  # fmt: skip

    first = run()
    assert first.steps_done == 20 and first.stopped_early and first.convergence.converged
    assert restore(_small(), tmp_path) == 20
    again = run()
    assert again.steps_done == 20 and again.resumed_from_step == 20 and again.stopped_early


def test_resume_on_another_numerical_setup_is_refused(tmp_path):
    _train(_small(), tmp_path, 5)
    settings = json.loads((tmp_path / "run.json").read_text())
    settings["setup"] = {**settings["setup"], "device": "NVIDIA H100", "xla": True}
    (tmp_path / "run.json").write_text(json.dumps(settings))
    with pytest.raises(UserInputError, match=r"run.json: setup: .*device 'NVIDIA H100' -> 'CPU'"):
        _train(_small(), tmp_path, 10)


def test_chunked_updates_match_the_per_step_guarded_loop():
    """Seeds from the host's step number give the updates the device-step loop gave."""
    from benchmark.data.stream import make_batches
    from benchmark.training.loop import make_chunk_runner, make_step_runner

    weights = []
    for chunked in (True, False):
        model = _small("beta_vae", "full_covariance")
        model.initialize(seed=0)
        optimizers = model.make_optimizers(1e-3)
        optimizers["vae"].build(model.optimizer_variables()["vae"])
        step = tf.Variable(2, dtype=tf.int64, trainable=False)
        iterator = iter(make_batches(SQUARES, 8, seed=5, start=2))
        if chunked:
            run = make_chunk_runner(model, optimizers, step, seed=5)
            finite, sums, _ = run.unpack(
                run(iterator, tf.constant(2, tf.int64), tf.constant(4)).numpy()
            )
            assert finite and np.isfinite(sums["loss"])
        else:
            done, ok, _, _ = make_step_runner(model, optimizers, step, seed=5)(
                iterator, tf.constant(4)
            )
            assert int(done) == 4 and bool(ok)
        assert int(step.numpy()) == 6
        weights.append([w.numpy() for w in model.weights])
    for a, b in zip(*weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_no_early_stop_before_min_steps(tmp_path):
    """The criterion holds from step 20 (test above); `min_steps` 30 holds the stop back to 30."""
    result = train(
        _small(), SQUARES, steps=40, batch_size=8, learning_rate=1e-3, seed=3,
        checkpoint_dir=tmp_path, checkpoint_every=100, log_every=2, progress=False,
        heldout_size=8, convergence_tolerance=1e6, stop_when_converged=True, min_steps=30,
    )  # fmt: skip
    assert result.steps_done == 30 and result.stopped_early
