"""Mixed precision: the task option, the networks' compute type, float16 loss scaling, resume."""

import json

import numpy as np
import pytest
from vae_cases import FAMILIES, TINY_TASK, Squares, load_tiny_task, small_args

from benchmark.config import schema
from benchmark.config.runs import expand_task
from benchmark.errors import UserInputError
from benchmark.models import build_model
from benchmark.models import precision as precision_module
from benchmark.models.precision import LossScale
from benchmark.tf_quiet import import_tensorflow
from benchmark.training import train
from benchmark.training.step import apply_update

tf = import_tensorflow()

SQUARES = Squares()
BATCH = tf.constant(SQUARES.sample(8, np.random.RandomState(0))[1])
MIXED = ("mixed_bfloat16", "mixed_float16")
LOW = {"mixed_bfloat16": tf.bfloat16, "mixed_float16": tf.float16}


def _model(precision: str, posterior: str = "diagonal", entry: str = "beta_vae"):
    model = build_model(entry, (16, 16, 1), **small_args(entry, posterior))
    model.set_precision(precision)
    model.initialize(seed=0)
    return model


def _optimizers(model):
    optimizers = model.make_optimizers(1e-3)
    for name, variables in model.optimizer_variables().items():
        optimizers[name].build(variables)
    return optimizers


# ---- the task option --------------------------------------------------------------------------


def test_precision_names_agree_between_config_and_models():
    assert schema.PRECISIONS == precision_module.PRECISIONS


def test_precision_is_validated_when_the_task_loads(tmp_path):
    with pytest.raises(UserInputError) as error:
        load_tiny_task(tmp_path, ", precision: bfloat16")
    message = str(error.value)
    assert "x.yaml: training.precision: unknown precision 'bfloat16'" in message
    assert message.endswith("known: float32, mixed_bfloat16, mixed_float16")
    assert "\n" not in message


def test_cli_validate_refuses_an_unknown_precision_with_exit_2(tmp_path, capsys):
    from benchmark.cli.main import main

    path = tmp_path / "x.yaml"
    path.write_text(TINY_TASK % ", precision: half")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "x.yaml: training.precision: unknown precision 'half'" in err[0]


def test_default_precision_stays_out_of_run_ids(tmp_path):
    (default,) = expand_task(load_tiny_task(tmp_path))
    (explicit,) = expand_task(load_tiny_task(tmp_path, ", precision: float32"))
    (mixed,) = expand_task(load_tiny_task(tmp_path, ", precision: mixed_bfloat16"))
    assert default.training.precision == "float32"
    assert "precision" not in default.training_identity()["training"]
    assert (explicit.run_id, explicit.training_id) == (default.run_id, default.training_id)
    assert mixed.training_identity()["training"]["precision"] == "mixed_bfloat16"
    assert mixed.training_id != default.training_id and mixed.run_id != default.run_id


# ---- what computes in which type --------------------------------------------------------------


@pytest.mark.parametrize("precision", MIXED)
@pytest.mark.parametrize("posterior", FAMILIES)
def test_networks_compute_in_16_bits_and_the_rest_stays_float32(precision, posterior):
    model = _model(precision, posterior)
    layers = [
        layer
        for net in (model.encoder, model.decoder.net)
        for layer in net.layers
        if layer.trainable_weights
    ]
    assert layers and all(layer.compute_dtype == LOW[precision].name for layer in layers)
    assert model.encoder(BATCH).dtype == LOW[precision]
    assert all(v.dtype == tf.float32 for v in model.trainable_variables)
    assert all(v.dtype == tf.float32 for v in model.family.trainable_variables)
    losses, terms = model.loss_terms(BATCH, 0.0, [1, 2])
    assert all(v.dtype == tf.float32 for v in [*losses.values(), *terms.values()])
    posterior_q = model.encode(BATCH)
    z, log_q = posterior_q.sample_and_log_prob(2, tf.constant([3, 4]))
    assert z.dtype == tf.float32 and log_q.dtype == tf.float32
    assert posterior_q.log_prob(z[0]).dtype == tf.float32
    assert model.decode(z[0]).dtype == tf.float32
    assert model.reconstruction_nll(BATCH, z[0]).dtype == tf.float32
    assert (model.loss_scale is not None) == (precision == "mixed_float16")


def test_float32_is_unchanged_and_precision_is_set_before_the_variables():
    model = _model("float32")
    assert model.precision == "float32" and model.loss_scale is None
    assert model.encoder(BATCH).dtype == tf.float32
    model.set_precision("float32")  # the same: nothing to do
    with pytest.raises(ValueError, match="before initialize"):
        model.set_precision("mixed_bfloat16")
    with pytest.raises(UserInputError, match="allowed: float32, mixed_bfloat16, mixed_float16"):
        build_model("beta_vae", (16, 16, 1), **small_args("beta_vae")).set_precision("fp8")


@pytest.mark.parametrize("precision", MIXED)
@pytest.mark.parametrize("entry", ["beta_vae", "factor_vae"])
def test_a_few_steps_train_to_a_finite_loss(tmp_path, precision, entry):
    model = build_model(entry, (16, 16, 1), **small_args(entry, "iaf"))
    result = train(
        model, SQUARES, steps=6, batch_size=8, learning_rate=1e-3, seed=1,
        checkpoint_dir=tmp_path, log_every=3, progress=False, precision=precision,
    )  # fmt: skip
    assert result.steps_done == 6 and result.setup["precision"] == precision
    assert np.isfinite(result.final_loss_terms["loss"])
    assert all(np.isfinite(elbo) for _, elbo in result.heldout_curve)
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["setup"]["precision"] == precision
    if precision == "mixed_float16":
        assert {"loss_scale", "skipped"} <= set(result.final_loss_terms)


# ---- float16 loss scaling ---------------------------------------------------------------------


def test_loss_scale_halves_on_overflow_and_grows_after_finite_steps():
    scale = LossScale(initial=8.0, growth_interval=3, minimum=2.0)
    scale.update(tf.constant(False))
    assert float(scale.scale) == 4.0 and int(scale.good_steps) == 0
    for expected in (1, 2):
        scale.update(tf.constant(True))
        assert float(scale.scale) == 4.0 and int(scale.good_steps) == expected
    scale.update(tf.constant(True))  # the third finite step in a row
    assert float(scale.scale) == 8.0 and int(scale.good_steps) == 0
    scale.update(tf.constant(False), ok=tf.constant(False))  # a diverged step changes nothing
    assert float(scale.scale) == 8.0
    for _ in range(3):
        scale.update(tf.constant(False))
    assert float(scale.scale) == 2.0 and not bool(scale.can_shrink())  # never below the minimum


def test_float16_loss_scaling_skips_an_update_with_an_inf_gradient():
    model = _model("mixed_float16")
    optimizers = _optimizers(model)
    seed = tf.constant([1, 1])
    model.loss_scale.scale.assign(2.0**100)  # every float16 gradient overflows
    before = [v.numpy().copy() for v in model.trainable_variables]
    terms, ok = apply_update(model, BATCH, tf.constant(0.0), seed, optimizers, guard=False)
    assert bool(ok) and float(terms["skipped"]) == 1.0 and float(terms["grad_norm"]) == 0.0
    assert float(terms["loss_scale"]) == 2.0**100 and float(model.loss_scale.scale) == 2.0**99
    assert int(optimizers["vae"].iterations) == 0
    for b, v in zip(before, model.trainable_variables, strict=True):
        np.testing.assert_array_equal(b, v.numpy())
    # A scale the gradients fit under: the update is applied and the scale kept.
    model.loss_scale.scale.assign(2.0**4)
    terms, ok = apply_update(model, BATCH, tf.constant(1.0), seed, optimizers, guard=False)
    assert bool(ok) and float(terms["skipped"]) == 0.0 and np.isfinite(float(terms["grad_norm"]))
    assert int(optimizers["vae"].iterations) == 1 and float(model.loss_scale.scale) == 2.0**4
    assert any(
        not np.array_equal(b, v.numpy())
        for b, v in zip(before, model.trainable_variables, strict=True)
    )


def test_float16_inf_gradient_at_the_smallest_scale_is_a_divergence():
    model = _model("mixed_float16")
    optimizers = _optimizers(model)
    model.loss_scale.minimum = 2.0**100  # the scale cannot shrink: an overflow is final
    model.loss_scale.scale.assign(2.0**100)
    before = [v.numpy().copy() for v in model.trainable_variables]
    terms, ok = apply_update(model, BATCH, tf.constant(0.0), tf.constant([1, 1]), optimizers)
    assert not bool(ok) and not np.isfinite(float(terms["grad_norm"]))
    assert float(terms["skipped"]) == 0.0 and float(model.loss_scale.scale) == 2.0**100
    for b, v in zip(before, model.trainable_variables, strict=True):
        np.testing.assert_array_equal(b, v.numpy())


def test_float16_run_with_overflows_resumes_exactly(tmp_path, monkeypatch):
    """The loss scale is checkpointed: a resumed float16 run ends with the uninterrupted weights."""
    import functools

    from benchmark.models import vae

    # Start high enough that the first updates overflow, so the scale moves and skips happen.
    monkeypatch.setattr(vae, "LossScale", functools.partial(LossScale, initial=2.0**40))

    def run(directory, steps):
        model = build_model("beta_vae", (16, 16, 1), **small_args("beta_vae"))
        result = train(
            model, SQUARES, steps=steps, batch_size=8, learning_rate=1e-3, seed=2,
            checkpoint_dir=directory, checkpoint_every=5, log_every=5, progress=False,
            precision="mixed_float16",
        )  # fmt: skip
        return model, result

    whole, result = run(tmp_path / "whole", 10)
    first = json.loads((tmp_path / "whole" / "train_log.jsonl").read_text().splitlines()[0])
    assert first["skipped"] > 0 and result.final_loss_terms["loss_scale"] < 2.0**40
    run(tmp_path / "split", 5)
    split, _ = run(tmp_path / "split", 10)
    assert float(split.loss_scale.scale) == float(whole.loss_scale.scale)
    for a, b in zip(whole.variables, split.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# ---- resume ---------------------------------------------------------------------------------


def _train(directory, steps, precision="float32"):
    model = build_model("beta_vae", (16, 16, 1), **small_args("beta_vae"))
    return train(
        model, SQUARES, steps=steps, batch_size=8, learning_rate=1e-3, seed=3,
        checkpoint_dir=directory, checkpoint_every=5, log_every=5, progress=False,
        precision=precision,
    )  # fmt: skip


def test_resume_under_another_precision_is_refused(tmp_path):
    _train(tmp_path, 5, "mixed_bfloat16")
    with pytest.raises(
        UserInputError,
        match=r"run.json: setup: .*precision 'mixed_bfloat16' -> 'float32'",
    ):
        _train(tmp_path, 10)
    assert _train(tmp_path, 10, "mixed_bfloat16").steps_done == 10


def test_runs_recorded_before_the_option_are_float32(tmp_path):
    _train(tmp_path, 5)
    settings = json.loads((tmp_path / "run.json").read_text())
    del settings["setup"]["precision"]  # a run.json written before precision was recorded
    (tmp_path / "run.json").write_text(json.dumps(settings))
    with pytest.raises(UserInputError, match=r"precision 'float32' -> 'mixed_float16'"):
        _train(tmp_path, 10, "mixed_float16")
    assert _train(tmp_path, 10).steps_done == 10


def test_bad_precision_is_a_user_error(tmp_path):
    with pytest.raises(UserInputError, match=r"^train: precision: unknown 'float16'; allowed"):
        _train(tmp_path, 5, "float16")
