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
- XLA: each update is compiled with XLA on a GPU. On a CPU it is off unless
  asked for (`xla=True`, the task's `training.xla: on`): whether it is
  faster there depends on the network and the processor. `disbench perf
  train` on the 2-core AMD EPYC (AVX2) development machine, idle: the fc
  architecture trained 1.61 times as fast with it at width 256 and 1.38
  times at width 1200, the conv architecture 0.70 times as fast. XLA
  also draws different noise (its Philox generator orders its output
  differently from TensorFlow's kernel), so the two settings are different
  samples of the same training: the runs of a comparison share one setting
  (a pool that mixes GPU and CPU workers needs it set explicitly).
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


def configure(xla: bool | None = None) -> dict[str, object]:
    """Sets TF32 off (and op determinism on where a GPU is visible); returns the setup.

    `xla`: compile each update with XLA; None chooses it on a GPU, not on a CPU.
    """
    from tensorflow.python.framework import config as tf_config

    tf.config.experimental.enable_tensor_float_32_execution(False)
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    if on_gpu and not tf_config.is_op_determinism_enabled():
        tf.config.experimental.enable_op_determinism()
    return {
        "device": _device(),
        "tf32": bool(tf.config.experimental.tensor_float_32_execution_enabled()),
        "op_determinism": bool(tf_config.is_op_determinism_enabled()),
        "xla": on_gpu if xla is None else bool(xla),
    }


def describe_mismatch(stored: dict[str, object], current: dict[str, object]) -> str:
    """`"device 'CPU' -> 'NVIDIA H100', xla False -> True"`: the settings that differ."""
    keys = sorted(set(stored) | set(current))
    return ", ".join(
        f"{k} {stored.get(k)!r} -> {current.get(k)!r}"
        for k in keys
        if stored.get(k) != current.get(k)
    )
