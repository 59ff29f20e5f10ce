"""Encoder trunks and decoders: disentanglement_lib's conv architecture and its fc one.

`make_encoder(architecture, observation_shape)` returns a Keras layer from
observations `[N, *observation_shape]` to features `[N, F]`; the posterior
family's head turns features into q(z|x). `make_decoder(...)` returns a layer
from latents `[..., D]` to Bernoulli logits `[..., *observation_shape]`.

- "conv" (disentanglement_lib `conv_encoder` / `deconv_decoder`, Locatello et
  al. 2019): conv 32, 32, 64, 64 filters with kernels 4, 4, 2, 2, stride 2,
  ReLU, "same" padding; dense 256 (F = 256). Decoder: dense 256, dense
  `H/16 * W/16 * 64`, then transposed convs 64, 32, 32, C with kernel 4 and
  stride 2. Needs height and width divisible by 16 (64x64 images).
- "fc" (disentanglement_lib `fc_encoder` / `fc_decoder`): dense `fc_width`
  (1200) ReLU twice (F = `fc_width`); decoder dense `fc_width` tanh three
  times then a dense layer to all pixels. Any observation shape; tests and
  quick runs use it with a small `fc_width`.

Both take `dtype`, the Keras dtype policy of every layer (None: float32);
under a mixed policy (`benchmark.models.precision`) the layers keep float32
weights, compute in bfloat16 or float16 and return that type, which the
caller casts back to float32.
"""

from __future__ import annotations

import math

from benchmark.errors import UserInputError
from benchmark.models.deferred_base import DeferredBase
from benchmark.tf_quiet import lazy_tensorflow, lazy_tf_keras

tf = lazy_tensorflow()
tf_keras = lazy_tf_keras()

__all__ = ["ARCHITECTURES", "check_architecture", "feature_dim", "make_decoder", "make_encoder"]

ARCHITECTURES = ("conv", "fc")
_CONV_FEATURES = 256


def check_architecture(architecture: str, observation_shape: tuple[int, ...]) -> None:
    """Raises `UserInputError` for unknown names or shapes the architecture cannot take."""
    if architecture not in ARCHITECTURES:
        raise UserInputError(
            f"architecture: unknown {architecture!r}; allowed: {', '.join(ARCHITECTURES)}"
        )
    if architecture == "conv":
        ok = len(observation_shape) == 3 and all(s % 16 == 0 for s in observation_shape[:2])
        if not ok:
            raise UserInputError(
                f"architecture 'conv': observation_shape {tuple(observation_shape)}: expected "
                "(height, width, channels) with height and width divisible by 16; use 'fc'"
            )


def feature_dim(architecture: str, fc_width: int) -> int:
    """F, the width of the encoder's feature vector (the IAF context)."""
    return _CONV_FEATURES if architecture == "conv" else int(fc_width)


def make_encoder(
    architecture: str,
    observation_shape: tuple[int, ...],
    fc_width: int = 1200,
    dtype: tf_keras.mixed_precision.Policy | None = None,
) -> tf_keras.layers.Layer:
    """Observations `[N, *observation_shape]` -> features `[N, F]` (in `dtype`'s compute type)."""
    check_architecture(architecture, observation_shape)
    layers = tf_keras.layers
    if architecture == "conv":
        stack = [
            layers.Conv2D(32, 4, 2, "same", activation="relu", name="e1", dtype=dtype),
            layers.Conv2D(32, 4, 2, "same", activation="relu", name="e2", dtype=dtype),
            layers.Conv2D(64, 2, 2, "same", activation="relu", name="e3", dtype=dtype),
            layers.Conv2D(64, 2, 2, "same", activation="relu", name="e4", dtype=dtype),
            layers.Flatten(dtype=dtype),
            layers.Dense(_CONV_FEATURES, activation="relu", name="e5", dtype=dtype),
        ]
    else:
        stack = [
            layers.Flatten(dtype=dtype),
            layers.Dense(fc_width, activation="relu", name="e1", dtype=dtype),
            layers.Dense(fc_width, activation="relu", name="e2", dtype=dtype),
        ]
    return tf_keras.Sequential(stack, name="encoder")


class _ChannelBias(DeferredBase):
    """`x + b` with one bias per channel, as a broadcast add.

    The same as a layer's own bias, but its gradient is a plain sum: TF's
    `BiasAddGrad` is slow on the decoder's single-channel 64x64 output.
    """

    deferred_base = staticmethod(lambda: tf_keras.layers.Layer)

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=[input_shape[-1]], initializer="zeros")

    def call(self, x):
        return x + self.bias


class _Decoder(DeferredBase):
    """Latents `[..., D]` -> logits `[..., *observation_shape]` (any leading shape)."""

    deferred_base = staticmethod(lambda: tf_keras.layers.Layer)

    def __init__(self, stack: list, observation_shape: tuple[int, ...], **kwargs) -> None:
        super().__init__(**kwargs)
        self.net = tf_keras.Sequential(stack, name="layers")
        self.observation_shape = tuple(int(s) for s in observation_shape)

    def call(self, z):
        lead = tf.shape(z)[:-1]
        flat = tf.reshape(z, [-1, z.shape[-1]])
        logits = self.net(flat)
        return tf.reshape(logits, tf.concat([lead, self.observation_shape], 0))


def make_decoder(
    architecture: str,
    observation_shape: tuple[int, ...],
    fc_width: int = 1200,
    dtype: tf_keras.mixed_precision.Policy | None = None,
) -> tf_keras.layers.Layer:
    """Latents `[..., D]` -> Bernoulli logits `[..., *observation_shape]` (in `dtype`'s compute type)."""
    check_architecture(architecture, observation_shape)
    layers = tf_keras.layers
    if architecture == "conv":
        height, width, channels = observation_shape
        start = (height // 16, width // 16, 64)
        up = layers.Conv2DTranspose
        stack = [
            layers.Dense(256, activation="relu", name="d1", dtype=dtype),
            layers.Dense(math.prod(start), activation="relu", name="d2", dtype=dtype),
            layers.Reshape(start, dtype=dtype),
            up(64, 4, 2, "same", activation="relu", name="d3", dtype=dtype),
            up(32, 4, 2, "same", activation="relu", name="d4", dtype=dtype),
            up(32, 4, 2, "same", activation="relu", name="d5", dtype=dtype),
            up(channels, 4, 2, "same", use_bias=False, name="d6", dtype=dtype),
            _ChannelBias(name="d6_bias", dtype=dtype),
        ]
    else:
        stack = [
            layers.Dense(fc_width, activation="tanh", name="d1", dtype=dtype),
            layers.Dense(fc_width, activation="tanh", name="d2", dtype=dtype),
            layers.Dense(fc_width, activation="tanh", name="d3", dtype=dtype),
            layers.Dense(math.prod(observation_shape), name="d4", dtype=dtype),
        ]
    return _Decoder(stack, observation_shape, name="decoder", dtype=dtype)
