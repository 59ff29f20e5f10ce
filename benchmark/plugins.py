"""Extensions from outside the package: a researcher's own model entry, metric, data set,
posterior family or executor, in their own file or package instead of a fork.

A plugin is a Python module that registers extensions when imported, exactly as
a file in `benchmark/models/entries/` or `benchmark/metrics/` does. It is found

- through the `disbench.plugins` entry-point group of an installed package
  (`[project.entry-points."disbench.plugins"] my_models = "my_package.models"`), or
- through `disbench --plugin PATH_OR_MODULE COMMAND ...` (a `.py` file or a
  dotted module name; repeatable), which also sets `DISBENCH_PLUGINS` so that
  worker processes load the same plugins.

Every registry loads the plugins once per process, after its own modules, the
first time it is used. A plugin that cannot be imported is one line naming it
(`UserInputError`), not a traceback.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from benchmark.errors import UserInputError

__all__ = ["ENTRY_POINT_GROUP", "ENVIRONMENT", "add_plugins", "load_plugins"]

ENTRY_POINT_GROUP = "disbench.plugins"
ENVIRONMENT = "DISBENCH_PLUGINS"  # os.pathsep-separated plugin paths or module names

_loaded: set[str] = set()


def _import(spec: str) -> None:
    """Imports one plugin: a `.py` path (as module `disbench_plugin_<stem>`) or a module name."""
    path = Path(spec)
    if spec.endswith(".py"):
        if not path.is_file():
            raise UserInputError(f"plugin {spec!r}: no such file")
        name = f"disbench_plugin_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path.resolve())
        if module_spec is None or module_spec.loader is None:
            raise UserInputError(f"plugin {spec!r}: not a Python file")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
    else:
        importlib.import_module(spec)


def _load(spec: str, origin: str) -> None:
    if spec in _loaded:
        return
    _loaded.add(spec)
    try:
        _import(spec)
    except UserInputError:
        raise
    except Exception as error:  # any import-time failure of someone else's code: one line
        detail = str(error).splitlines()[0] if str(error) else ""
        raise UserInputError(
            f"plugin {spec!r} ({origin}) failed to load: {type(error).__name__}: {detail}"
        ) from None


def _environment_plugins() -> list[str]:
    return [s for s in os.environ.get(ENVIRONMENT, "").split(os.pathsep) if s]


def load_plugins() -> None:
    """Imports every plugin of the entry-point group and of `DISBENCH_PLUGINS` (once each)."""
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        _load(entry_point.value, f"entry point {entry_point.name!r}")
    for spec in _environment_plugins():
        _load(spec, ENVIRONMENT)


def add_plugins(specs: Iterable[str]) -> None:
    """Adds `specs` (paths made absolute) to `DISBENCH_PLUGINS` and loads every plugin now
    (with no specs, the entry-point group's), so that a bad one fails before any work."""
    given = [str(Path(s).resolve()) if s.endswith(".py") else s for s in specs]
    if given:
        known = _environment_plugins()
        os.environ[ENVIRONMENT] = os.pathsep.join([*known, *(s for s in given if s not in known)])
    load_plugins()
