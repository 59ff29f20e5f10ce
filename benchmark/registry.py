"""One registry class for data sets, model entries, metrics, posterior families and executors.

`Registry` maps names to registered objects. `DiscoveredRegistry` also
imports every module of one or more packages before its first lookup, so an
extension registers itself by being a file in the right folder (a model entry
in `benchmark/models/entries/`, a metric in `benchmark/metrics/`, ...).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from benchmark.errors import UserInputError
from benchmark.plugins import load_plugins

__all__ = ["DiscoveredRegistry", "Registry", "check_kwargs", "suggest"]

T = TypeVar("T")


def suggest(name: str, known: list[str] | tuple[str, ...]) -> str:
    """A ' (did you mean ...?)' hint with the close matches of `name`, or ''."""
    close = difflib.get_close_matches(str(name), list(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


class Registry(Generic[T]):
    """Maps names to registered objects (usually classes or functions).

    Registering a name twice is an error; looking up an unknown name raises a
    `UserInputError` listing the known names and the close matches.

    >>> models = Registry("model")
    >>> @models.register("beta_vae")
    ... class BetaVAE: ...
    >>> models.get("beta_vae") is BetaVAE
    True
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers its target under `name`."""

        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        """Registers `obj` under `name`; a duplicate name is a ValueError."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} names must be non-empty strings, got {name!r}")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = obj

    def get(self, name: str) -> T:
        """The object registered as `name`; unknown names list the known ones."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            known = ", ".join(sorted(self._entries)) or "(none)"
            raise UserInputError(
                f"unknown {self.kind} {name!r}{suggest(name, self.names())}; known: {known}"
            ) from None

    def build(self, name: str, /, **kwargs: object) -> object:
        """Calls the object registered as `name` with `kwargs`.

        Keyword arguments are checked against its signature first, so a typo
        fails with the allowed names listed, not deep inside a constructor.
        """
        target = self.get(name)
        check_kwargs(target, kwargs, f"{self.kind} {name!r}", required=True)
        return target(**kwargs)  # type: ignore[operator]

    def remove(self, name: str) -> None:
        """Forgets `name` (for tests that register a temporary extension)."""
        self._entries.pop(name, None)

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)


class DiscoveredRegistry(Registry[T]):
    """A `Registry` that imports every module of `packages` before its first lookup.

    Modules register their extension when imported (a decorator or a
    `register_*` call at module level); modules whose names start with `_` are
    skipped. Import errors propagate: a broken extension is not silently absent.
    """

    def __init__(self, kind: str, *packages: str) -> None:
        super().__init__(kind)
        self._packages = packages
        self._discovered = False

    def discover(self, *, again: bool = False) -> None:
        """Imports the packages' modules (once; `again` imports modules added since)."""
        if self._discovered and not again:
            return
        self._discovered = True
        for name in self._packages:
            package = importlib.import_module(name)
            for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
                if not info.name.startswith("_"):
                    importlib.import_module(f"{name}.{info.name}")
        load_plugins()  # extensions from outside the package (benchmark.plugins)

    def get(self, name: str) -> T:
        self.discover()
        return super().get(name)

    def names(self) -> list[str]:
        self.discover()
        return super().names()

    def __contains__(self, name: object) -> bool:
        self.discover()
        return super().__contains__(name)

    def __len__(self) -> int:
        self.discover()
        return super().__len__()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def check_kwargs(
    target: Callable[..., object], kwargs: dict[str, object], what: str, *, required: bool = False
) -> None:
    """Raises `UserInputError` if `kwargs` has names `target` does not accept.

    With `required`, also when a keyword without a default is missing.
    """
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    if required:
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        for name, param in params.items():
            if param.kind in kinds and param.default is param.empty and name not in kwargs:
                raise UserInputError(f"{what}: argument {name!r} is required, but missing")
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    allowed = [
        n
        for n, p in params.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and n != "self"
    ]
    for key in kwargs:
        if key not in allowed:
            raise UserInputError(
                f"{what}: unknown argument {key!r}{suggest(key, allowed)}; "
                f"allowed: {', '.join(allowed) or '(none)'}"
            )
