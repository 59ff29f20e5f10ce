"""The model-entry registry: discovery, argument checks and the worked example of
docs/adding-a-model-entry.md."""

import pkgutil
from pathlib import Path

import numpy as np
import pytest
from vae_cases import BUILT_IN_ENTRIES, FAMILIES, Squares, small_args

import benchmark.models.entries
from benchmark.errors import UserInputError
from benchmark.models import MODELS, VAE, build_model, check_model_args, model_arguments
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "benchmark" / "models" / "entries" / "beta_vae_free_bits.py"


def test_every_module_in_entries_registers_its_name():
    modules = {m.name for m in pkgutil.iter_modules(benchmark.models.entries.__path__)}
    assert modules <= set(MODELS.names())
    assert set(BUILT_IN_ENTRIES) <= set(MODELS.names())
    for name in MODELS.names():
        cls = MODELS.get(name)
        assert issubclass(cls, VAE) and cls.entry_name == name


def test_unknown_entry_lists_the_known_ones():
    with pytest.raises(UserInputError, match=r"did you mean 'beta_vae'.*known: annealed_vae"):
        build_model("beta_vea", (16, 16, 1))


def test_unknown_argument_lists_the_allowed_ones():
    with pytest.raises(
        UserInputError, match=r"'factor_vae': unknown argument 'beta'.*allowed: gamma"
    ):
        build_model("factor_vae", (16, 16, 1), beta=4.0)
    with pytest.raises(UserInputError, match=r"did you mean 'latent_dim'"):
        check_model_args("beta_vae", {"latent_dims": 4})


def test_subclass_arguments_include_the_parents():
    args = model_arguments("beta_vae_free_bits")
    assert args["free_bits"] == 0.5 and args["beta"] == 1.0
    assert {"posterior", "latent_dim", "architecture", "iaf_steps", "kl_samples"} <= set(args)
    assert model_arguments("dip_vae_ii")["lambda_d"] == 10.0  # its own default wins
    assert model_arguments("dip_vae_i")["lambda_d"] == 100.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"posterior": "diag"}, "did you mean 'diagonal'"),
        ({"latent_dim": 0}, "'latent_dim': expected an integer from 1 to 1,024"),
        ({"beta": -1.0}, "'beta': expected a finite number >= 0"),
        ({"posterior": "iaf", "iaf_hidden_units": []}, "'iaf_hidden_units'"),
        ({"iaf_steps": 3}, "not used by posterior family 'diagonal'"),
        ({"architecture": "mlp"}, "allowed: conv, fc"),
        ({"architecture": "conv"}, "divisible by 16"),
    ],
)
def test_bad_values_name_the_argument(kwargs, message):
    args = {**small_args("beta_vae"), **kwargs}
    with pytest.raises(UserInputError, match=message):
        build_model("beta_vae", (12, 12, 1), **args)


@pytest.mark.parametrize("entry", BUILT_IN_ENTRIES)
def test_every_entry_builds_with_every_family_and_records_its_config(entry):
    for posterior in FAMILIES:
        model = build_model(entry, (16, 16, 1), **small_args(entry, posterior))
        assert model.posterior_name == posterior and model.latent_dim == 3
        assert model.entry_config.entry == entry
        assert model.entry_config.build().entry_config == model.entry_config


def test_conv_architecture_shapes():
    model = build_model("beta_vae", (64, 64, 1), latent_dim=4, posterior="full_covariance")
    x = tf.zeros([2, 64, 64, 1])
    posterior = model.encode(x)
    assert posterior.mean().shape == (2, 4) and posterior.covariance().shape == (2, 4, 4)
    assert model.decode(posterior.mean()).shape == (2, 64, 64, 1)
    assert model.decode(tf.zeros([3, 2, 4])).shape == (3, 2, 64, 64, 1)
    assert model.reconstruction_nll(x, tf.zeros([3, 2, 4])).shape == (3, 2)


def test_the_docs_show_the_worked_example_in_full():
    page = (ROOT / "docs" / "adding-a-model-entry.md").read_text()
    assert EXAMPLE.read_text().strip() in page
    assert "- {entry: beta_vae_free_bits, args: {free_bits: 0.5}}" in page


def test_the_worked_example_trains(tmp_path):
    """Exactly the docs' example: the entry with `free_bits: 0.5`, a few steps."""
    from benchmark.training import train

    model = build_model("beta_vae_free_bits", (16, 16, 1), free_bits=0.5, **small_args("beta_vae"))
    result = train(
        model,
        Squares(),
        steps=6,
        batch_size=8,
        learning_rate=1e-3,
        checkpoint_dir=tmp_path,
        log_every=3,
        progress=False,
    )
    terms = result.final_loss_terms
    assert result.steps_done == 6 and np.isfinite(terms["loss"])
    floor = 0.5 * model.latent_dim
    assert terms["loss"] >= terms["reconstruction"] + floor - 1e-3


def test_the_worked_example_rejects_a_negative_floor():
    with pytest.raises(UserInputError, match="free_bits"):
        build_model("beta_vae_free_bits", (16, 16, 1), free_bits=-1.0, **small_args("beta_vae"))
