"""Import TensorFlow without flooding the terminal with its C++ start-up log.

TensorFlow writes oneDNN notices, "could not find cuda drivers" and cuInit
errors straight to file descriptor 2 before Python's logging exists, so
`TF_CPP_MIN_LOG_LEVEL` alone does not silence them. `import_tensorflow()`
captures fd 2 while TensorFlow loads and probes its devices, and replays the
captured text only if the import fails. Set `DISBENCH_TF_VERBOSE=1` to see it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType

__all__ = ["import_tensorflow", "import_tfp"]

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


def import_tensorflow() -> ModuleType:
    """`tensorflow`, imported quietly, with its devices already probed."""
    if "tf" not in _loaded:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with _captured_stderr_fd():
            import tensorflow as tf

            tf.get_logger().setLevel("ERROR")
            tf.config.list_physical_devices()  # triggers the cuInit probe now, while muted
        _loaded["tf"] = tf
    return _loaded["tf"]


def import_tfp() -> ModuleType:
    """`tensorflow_probability`, imported quietly (after TensorFlow)."""
    if "tfp" not in _loaded:
        import_tensorflow()
        with _captured_stderr_fd():
            import tensorflow_probability as tfp
        _loaded["tfp"] = tfp
    return _loaded["tfp"]
