"""The numerical setup of a training process: device, TF32, op determinism, XLA.

`configure()` makes the process-wide choices before a run trains and
returns them as a dict that `train` records in `run.json` (key `setup`); a
run is resumed only on the same setup, since a resumed run ends with the
weights of an uninterrupted one only when every kernel computes alike.

- TF32: off. TensorFlow enables TensorFloat-32 matrix products and
  convolutions on Ampere and newer GPUs by default, which rounds float32
  inputs to a 10-bit mantissa; published numbers are float32.
- Op determinism: enabled on a GPU (`tf.config.experimental.
  enable_op_determinism`), where cuDNN and atomic reductions may otherwise
  differ from run to run. On a CPU it is left off: the CPU kernels used
  here give the same results for the same thread count (the exact-resume
  tests check it), and enabling it makes every unseeded random op in the
  process an error, e.g. initialising a model to restore its weights.
- XLA: each update is compiled with XLA on a GPU; not on a CPU, where the
  trainer ran about twice as slow with it (`disbench perf train` shows both).
- device: the GPU's name, or "CPU". A CPU run may resume on another CPU.
"""

from __future__ import annotations

from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

__all__ = ["configure", "describe_mismatch"]


def _device() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    names = []
    for gpu in gpus:
        details = tf.config.experimental.get_device_details(gpu)
        names.append(str(details.get("device_name", gpu.name)))
    return " + ".join(names)


def configure() -> dict[str, object]:
    """Sets TF32 off (and op determinism on where a GPU is visible); returns the setup."""
    from tensorflow.python.framework import config as tf_config

    tf.config.experimental.enable_tensor_float_32_execution(False)
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    if on_gpu and not tf_config.is_op_determinism_enabled():
        tf.config.experimental.enable_op_determinism()
    return {
        "device": _device(),
        "tf32": bool(tf.config.experimental.tensor_float_32_execution_enabled()),
        "op_determinism": bool(tf_config.is_op_determinism_enabled()),
        "xla": on_gpu,
    }


def describe_mismatch(stored: dict[str, object], current: dict[str, object]) -> str:
    """`"device 'CPU' -> 'NVIDIA H100', xla False -> True"`: the settings that differ."""
    keys = sorted(set(stored) | set(current))
    return ", ".join(
        f"{k} {stored.get(k)!r} -> {current.get(k)!r}"
        for k in keys
        if stored.get(k) != current.get(k)
    )
