"""The IAF posterior stays a valid flow after training: autoregressive, exact log q, KL >= 0.

Regression test: the trainer's fused Adam once skipped variable constraints,
so the masks of TFP's AutoregressiveNetwork drifted, the flow stopped being
triangular, and log q(z|x) (hence the KL) was wrong, reaching -40 nats.
"""

import numpy as np

from benchmark.models import build_model
from benchmark.tf_quiet import import_tensorflow
from benchmark.training import train
from tests.vae_cases import Squares, small_family

tf = import_tensorflow()


def _trained_iaf(tmp_path):
    data = Squares()
    model = build_model("beta_vae", data.observation_shape, **small_family("iaf"))
    train(
        model,
        data,
        steps=30,
        batch_size=16,
        learning_rate=3e-2,  # large steps: masked weights would drift fast without constraints
        seed=0,
        checkpoint_dir=tmp_path,
        progress=False,
    )
    _, x = data.sample(8, np.random.RandomState(1))
    return model, model.encode(tf.constant(x))


def test_log_q_matches_the_jacobian_of_the_trained_flow(tmp_path):
    _, posterior = _trained_iaf(tmp_path)
    flow = posterior.distribution
    base_draw = flow.distribution.sample(seed=tf.constant([3, 4]))
    with tf.GradientTape() as tape:
        tape.watch(base_draw)
        z = flow.bijector.forward(base_draw, **posterior._bijector_kwargs)
    jacobian = tape.batch_jacobian(z, base_draw)
    exact = flow.distribution.log_prob(base_draw) - tf.linalg.slogdet(jacobian)[1]
    reported = flow.log_prob(z, bijector_kwargs=posterior._bijector_kwargs)
    np.testing.assert_allclose(reported.numpy(), exact.numpy(), rtol=1e-3, atol=1e-3)


def test_kl_of_the_trained_iaf_is_not_negative(tmp_path):
    _, posterior = _trained_iaf(tmp_path)
    kl = posterior.kl_to_standard_normal(num_samples=2000, seed=tf.constant([5, 6]))
    assert np.all(kl.numpy() > -0.05), kl.numpy()
