"""Import TensorFlow without flooding the terminal with its C++ start-up log.

TensorFlow writes oneDNN notices, "could not find cuda drivers" and cuInit
errors straight to file descriptor 2 before Python's logging exists, so
`TF_CPP_MIN_LOG_LEVEL` alone does not silence them. `import_tensorflow()`
captures fd 2 while TensorFlow loads and probes its devices, and replays the
captured text only if the import fails. Set `DISBENCH_TF_VERBOSE=1` to see it.

It is also where every TensorFlow process disbench starts is configured,
before any tensor exists (`configure_tensorflow`): memory growth on each
visible GPU, so that several runs can share one (TensorFlow otherwise
reserves nearly all of a GPU's memory for the first process that touches
it), or a fixed cap per GPU from `DISBENCH_GPU_MEMORY_MB`; and thread pools
of `DISBENCH_THREADS` threads when the runner shares the cores among workers
(see `benchmark.resources`).

`lazy_tensorflow()`, `lazy_tfp(...)` and `lazy_tf_keras()` stand for those
modules in files that must import without TensorFlow (model entries,
posterior families and what they import: `disbench validate` and `disbench
list` read their declarations only); the import happens, quietly, at the first
attribute read.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from types import ModuleType

from benchmark.resources import gpu_memory_limit_mb, process_threads

__all__ = [
    "LazyModule",
    "configure_tensorflow",
    "import_tensorflow",
    "import_tf_keras",
    "import_tfp",
    "lazy_tensorflow",
    "lazy_tf_keras",
    "lazy_tfp",
]

_loaded: dict[str, ModuleType] = {}


@contextlib.contextmanager
def _captured_stderr_fd() -> Iterator[None]:
    """Redirects OS-level stderr to a temp file; replays it if the block raises."""
    if os.environ.get("DISBENCH_TF_VERBOSE"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def configure_tensorflow(tf: ModuleType, environ: Mapping[str, str] | None = None) -> None:
    """Applies this process's GPU memory and thread settings; call before any tensor is made.

    Each GPU in `tf.config.list_physical_devices("GPU")` gets memory growth,
    or, with `DISBENCH_GPU_MEMORY_MB=m`, one logical device capped at m MiB
    (TensorFlow allows one or the other). With `DISBENCH_THREADS=n`, the
    intra-op and inter-op pools get n threads each. `environ` defaults to
    `os.environ`.
    """
    limit = gpu_memory_limit_mb(environ)
    threads = process_threads(environ)
    for gpu in tf.config.list_physical_devices("GPU"):
        if limit is None:
            tf.config.experimental.set_memory_growth(gpu, True)
        else:
            tf.config.set_logical_device_configuration(
                gpu, [tf.config.LogicalDeviceConfiguration(memory_limit=limit)]
            )
    if threads is not None:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def import_tensorflow() -> ModuleType:
    """`tensorflow`, imported quietly, its devices probed and configured (`configure_tensorflow`)."""
    if "tf" not in _loaded:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with _captured_stderr_fd():
            import tensorflow as tf

            tf.get_logger().setLevel("ERROR")
            tf.config.list_physical_devices()  # triggers the cuInit probe now, while muted
            configure_tensorflow(tf)
        _loaded["tf"] = tf
    return _loaded["tf"]


def _import_after_tensorflow(name: str) -> ModuleType:
    """Module `name`, imported quietly once TensorFlow is (imported and configured)."""
    if name not in _loaded:
        import_tensorflow()
        with _captured_stderr_fd():
            _loaded[name] = importlib.import_module(name)
    return _loaded[name]


def import_tfp() -> ModuleType:
    """`tensorflow_probability`, imported quietly (after TensorFlow)."""
    return _import_after_tensorflow("tensorflow_probability")


def import_tf_keras() -> ModuleType:
    """`tf_keras`, imported quietly (after TensorFlow)."""
    return _import_after_tensorflow("tf_keras")


class LazyModule:
    """Stands for a module (or a module's attribute) that is imported at its first attribute read.

    `load()` returns the real object; each attribute read once is then kept
    on this object, so later reads cost what a module attribute read costs.
    """

    def __init__(self, name: str, load: Callable[[], object]) -> None:
        self.__dict__["_lazy_name"] = name
        self.__dict__["_lazy_load"] = load

    def __getattr__(self, attribute: str) -> object:
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)  # copy, pickle and inspect probes load nothing
        value = getattr(self._lazy_load(), attribute)
        self.__dict__[attribute] = value
        return value

    def __repr__(self) -> str:
        return f"<lazily imported {self._lazy_name}>"


def lazy_tensorflow() -> LazyModule:
    """`tensorflow`, imported quietly (`import_tensorflow`) at the first attribute read."""
    return LazyModule("tensorflow", import_tensorflow)


def lazy_tfp(submodule: str | None = None) -> LazyModule:
    """`tensorflow_probability` (or its `submodule`, e.g. "distributions"), imported when first read."""
    if submodule is None:
        return LazyModule("tensorflow_probability", import_tfp)
    return LazyModule(
        f"tensorflow_probability.{submodule}", lambda: getattr(import_tfp(), submodule)
    )


def lazy_tf_keras() -> LazyModule:
    """`tf_keras`, imported (after the quiet TensorFlow import) at the first attribute read."""
    return LazyModule("tf_keras", import_tf_keras)
