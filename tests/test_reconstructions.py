"""Reconstructions of a tiny model: the inputs row is the data, the second row the decoder mean."""

import numpy as np

from benchmark.data import get_dataset
from benchmark.evaluation.reconstructions import (
    NUM_RECONSTRUCTIONS,
    reconstruction_inputs,
    reconstructions,
    write_reconstructions,
)
from benchmark.models import build_model
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

SMALL = {"architecture": "fc", "fc_width": 16, "latent_dim": 3}


def _model(data, posterior="diagonal"):
    model = build_model("beta_vae", data.observation_shape, **{**SMALL, "posterior": posterior})
    model.initialize()
    return model


def test_inputs_above_decoder_means_at_the_posterior_mean():
    data = get_dataset("dsprites")
    model = _model(data)
    inputs = reconstruction_inputs(data)
    assert inputs.shape == (NUM_RECONSTRUCTIONS, 64, 64, 1)
    np.testing.assert_array_equal(inputs, reconstruction_inputs(data))  # a fixed sample
    _, again = data.sample(NUM_RECONSTRUCTIONS, np.random.RandomState(1414))
    np.testing.assert_array_equal(inputs, again)
    pairs = reconstructions(model, inputs, seed=0)
    assert pairs.shape == (2, NUM_RECONSTRUCTIONS, 64, 64, 1) and pairs.dtype == np.float32
    np.testing.assert_array_equal(pairs[0], inputs)
    mean = model.encode(tf.constant(inputs)).mean()
    expected = tf.sigmoid(model.decode(mean)).numpy()
    np.testing.assert_allclose(pairs[1], expected, rtol=1e-5, atol=1e-6)
    assert 0.0 <= pairs[1].min() and pairs[1].max() <= 1.0


def test_written_artefact_is_uint8_pairs(tmp_path):
    data = get_dataset("dsprites")
    written = write_reconstructions(_model(data, "full_covariance"), data, tmp_path, seed=3)
    assert written == {"reconstructions": "reconstructions.npy"}
    stored = np.load(tmp_path / "reconstructions.npy")
    assert stored.shape == (2, 10, 64, 64, 1) and stored.dtype == np.uint8
    np.testing.assert_array_equal(stored[0], np.rint(reconstruction_inputs(data) * 255))


def test_no_artefact_for_data_without_images(tmp_path):
    data = get_dataset("toy")
    if len(data.observation_shape) == 3:
        return
    assert write_reconstructions(_model(data), data, tmp_path, seed=0) == {}
