"""`DeferredBase` classes build as the Keras subclass they stand for; `LazyModule` loads on use."""

from __future__ import annotations

import numpy as np

from benchmark.models.deferred_base import DeferredBase, with_deferred_base
from benchmark.tf_quiet import LazyModule, import_tensorflow, import_tf_keras, lazy_tf_keras

tf = import_tensorflow()
tf_keras = import_tf_keras()


class _ScaleBody:
    """`x * w` through a nested Dense: the body both test layers share."""

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dense = tf_keras.layers.Dense(units, name="dense")

    def build(self, input_shape):
        self.w = self.add_weight(name="w", shape=[int(input_shape[-1])], initializer="ones")

    def call(self, x):
        return self.dense(x * self.w)


class _Scale(_ScaleBody, tf_keras.layers.Layer):
    """A plain Keras layer."""


class _DeferredScale(_ScaleBody, DeferredBase):
    """The same layer, declared without naming Keras at class-definition time."""

    deferred_base = staticmethod(lambda: lazy_tf_keras().layers.Layer)


def _checkpoint_keys(layer, tmp_path, name: str) -> list[tuple[str, list[int]]]:
    layer(tf.ones([2, 3]))
    path = tf.train.Checkpoint(model=layer).write(str(tmp_path / name))
    return sorted((key, shape) for key, shape in tf.train.list_variables(path) if "model" in key)


def test_a_deferred_class_builds_as_a_keras_layer_with_the_same_checkpoint(tmp_path):
    plain, deferred = _Scale(4, name="scale"), _DeferredScale(4, name="scale")
    assert isinstance(deferred, _DeferredScale) and isinstance(deferred, tf_keras.layers.Layer)
    assert type(deferred) is with_deferred_base(_DeferredScale)  # built once per class
    assert type(_DeferredScale(2)) is type(deferred)
    assert type(deferred).__name__ == "_DeferredScale"
    assert [v.name for v in deferred.weights] == [] and deferred.name == "scale"
    assert _checkpoint_keys(plain, tmp_path, "plain") == _checkpoint_keys(
        deferred, tmp_path, "deferred"
    )
    assert [v.name for v in plain.trainable_variables] == [
        v.name for v in deferred.trainable_variables
    ]


def test_every_model_class_keeps_the_keras_method_order():
    from benchmark.models import build_model

    model = build_model("factor_vae", (8, 8, 1), architecture="fc", fc_width=8)
    order = [k.__name__ for k in type(model).__mro__]
    assert order[:3] == ["FactorVAE", "FactorVAE", "VAE"]
    assert order.index("DeferredBase") < order.index("Model") < order.index("Layer")
    assert isinstance(model.family, tf_keras.layers.Layer)
    assert isinstance(model.discriminator, tf_keras.Model)


def test_a_lazy_module_loads_on_the_first_attribute_read_and_keeps_it():
    loads = []

    def load():
        loads.append(1)
        return np

    lazy = LazyModule("numpy", load)
    assert repr(lazy) == "<lazily imported numpy>" and not loads
    assert not hasattr(lazy, "__wrapped__") and not loads  # probes load nothing
    assert lazy.float32 is np.float32 and lazy.float32 is np.float32
    assert lazy.zeros(2).tolist() == [0.0, 0.0]
    assert len(loads) == 2  # once per attribute, then kept
