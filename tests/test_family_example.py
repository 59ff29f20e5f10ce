"""docs/adding-a-posterior-family.md's worked example: one file, found everywhere."""

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from vae_cases import Squares

import benchmark.models.families
from benchmark.config.catalog import model_names
from benchmark.config.loader import load_task
from benchmark.errors import UserInputError
from benchmark.evaluation.inference_gaps import free_parameters
from benchmark.models import POSTERIORS, build_model
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

ROOT = Path(__file__).resolve().parents[1]

ISOTROPIC = '''\
"""`isotropic`: q(z|x) = N(mu, s^2 I), one variance per input (docs/adding-a-posterior-family.md's example)."""

from benchmark.models.families.diagonal import DiagonalGaussian
from benchmark.models.posteriors import POSTERIORS, PosteriorFamily, count_free_parameters
from benchmark.tf_quiet import lazy_tensorflow, lazy_tf_keras

tf = lazy_tensorflow()
tf_keras = lazy_tf_keras()


class IsotropicGaussian(DiagonalGaussian):
    """A diagonal Gaussian whose D variances are one number, `log_variance [N, 1]`."""

    def __init__(self, loc, log_variance):
        super().__init__(loc, log_variance + tf.zeros_like(loc))
        self.shared_log_variance = log_variance

    def local_parameters(self):
        parameters = {"loc": self.loc, "log_variance": self.shared_log_variance}
        return parameters, lambda p: IsotropicGaussian(p["loc"], p["log_variance"])


@POSTERIORS.register("isotropic")
class IsotropicFamily(PosteriorFamily):
    """A Dense head emitting `(mu, log s^2)`, D + 1 numbers."""

    def __init__(self, latent_dim, **kwargs):
        super().__init__(latent_dim, **kwargs)
        self.head = tf_keras.layers.Dense(self.latent_dim + 1, name="mean_log_variance")

    def posterior(self, features):
        outputs = self.head(features)
        return IsotropicGaussian(outputs[..., :-1], outputs[..., -1:])

    def parameter_counts(self):
        return {"posterior_head": count_free_parameters([self.head]), "flow": 0}
'''

TASK = """\
name: isotropic_task
description: a beta-VAE with the isotropic family
dataset: {name: toy, args: {}}
models:
  - {entry: beta_vae, args: {architecture: fc, posterior: isotropic ARGS}}
seeds: [0]
training: {steps: 10, batch_size: 8, learning_rate: 1e-3}
evaluation: {metrics: [mig], latent_scores: false}
"""


@pytest.fixture
def isotropic(tmp_path, monkeypatch):
    """The example written to a folder on the families package's path, then discovered."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "isotropic.py").write_text(textwrap.dedent(ISOTROPIC))
    monkeypatch.setattr(
        benchmark.models.families, "__path__", [*benchmark.models.families.__path__, str(folder)]
    )
    POSTERIORS.discover(again=True)
    model_names.cache_clear()
    yield POSTERIORS.get("isotropic")
    POSTERIORS.remove("isotropic")
    sys.modules.pop("benchmark.models.families.isotropic", None)
    model_names.cache_clear()


def test_the_docs_show_this_example_in_full():
    page = (ROOT / "docs" / "adding-a-posterior-family.md").read_text()
    assert ISOTROPIC.strip() in page
    assert "posterior: isotropic" in page


def test_a_family_file_is_validated_built_trained_and_gapped(isotropic, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.yaml").write_text(TASK.replace(" ARGS", ""))
    assert load_task(tmp_path / "ok.yaml").models[0].args["posterior"] == "isotropic"
    (tmp_path / "bad.yaml").write_text(TASK.replace(" ARGS", ", iaf_steps: 2"))
    with pytest.raises(UserInputError, match=r"bad\.yaml: models\[0\]\.args\.iaf_steps: not used"):
        load_task(tmp_path / "bad.yaml")

    from benchmark.training import train

    model = build_model(
        "beta_vae", (16, 16, 1), architecture="fc", fc_width=16, latent_dim=3, posterior="isotropic"
    )
    result = train(
        model,
        Squares(),
        steps=4,
        batch_size=8,
        learning_rate=1e-3,
        checkpoint_dir=tmp_path / "run",
        log_every=2,
        progress=False,
    )
    assert result.steps_done == 4 and np.isfinite(result.final_loss_terms["loss"])
    assert model.parameter_counts()["posterior_head"] == (16 + 1) * (3 + 1)

    x = Squares().sample_observations_from_factors(np.array([[0, 1, 0], [3, 2, 1]]), None)
    posterior = model.encode(tf.constant(x))
    variances = np.diagonal(posterior.covariance().numpy(), axis1=1, axis2=2)
    np.testing.assert_allclose(variances, variances[:, :1] * np.ones((1, 3)), rtol=1e-6)
    parameters, build = free_parameters(posterior)
    assert parameters["log_variance"].shape == (2, 1)  # q* stays in the family
    np.testing.assert_allclose(
        build(parameters).kl_to_standard_normal(), posterior.kl_to_standard_normal(), rtol=1e-6
    )
