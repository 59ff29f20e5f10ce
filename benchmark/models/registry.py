"""The model-entry registry: `register_model`, `build_model`, and entry discovery.

A model entry is a `VAE` subclass registered under a name; its keyword
arguments are those of its `__init__` plus, when that takes `**kwargs`, those
of its parents (the common ones of `VAE`). Entries live one per module in
`benchmark.models.entries`, and every module there is imported the first
time the registry is used, so adding an entry is adding one file.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmark.errors import UserInputError
from benchmark.models.vae import VAE
from benchmark.registry import DiscoveredRegistry, suggest

__all__ = [
    "MODELS",
    "EntryConfig",
    "build_model",
    "check_model_args",
    "model_arguments",
    "register_model",
]


@dataclass(frozen=True)
class EntryConfig:
    """How a model was built: `build_model(entry, observation_shape, **kwargs)`."""

    entry: str
    observation_shape: tuple[int, ...]
    kwargs: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "entry": self.entry,
            "observation_shape": list(self.observation_shape),
            "kwargs": dict(self.kwargs),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> EntryConfig:
        return cls(str(data["entry"]), tuple(data["observation_shape"]), dict(data["kwargs"]))

    def build(self) -> VAE:
        """A fresh model built from this configuration."""
        return build_model(self.entry, self.observation_shape, **self.kwargs)


MODELS: DiscoveredRegistry[type[VAE]] = DiscoveredRegistry(
    "model entry", "benchmark.models.entries"
)


def register_model(name: str) -> Callable[[type[VAE]], type[VAE]]:
    """Class decorator: `@register_model("beta_vae")` on a `VAE` subclass."""

    def decorator(cls: type[VAE]) -> type[VAE]:
        if not (isinstance(cls, type) and issubclass(cls, VAE)):
            raise TypeError(f"model entry {name!r}: expected a VAE subclass, got {cls!r}")
        MODELS.add(name, cls)
        cls.entry_name = name
        return cls

    return decorator


def model_arguments(entry: str | type[VAE]) -> dict[str, object]:
    """Keyword arguments an entry accepts, with their defaults (in signature order).

    An entry's own `__init__` arguments, then its parents' while they take
    `**kwargs`, down to `VAE`'s, whose `**family_options` are the options of
    every registered posterior family (`VAE.var_keyword_names()`; default
    None: the family's own).
    """
    cls = MODELS.get(entry) if isinstance(entry, str) else entry
    allowed: dict[str, object] = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__).parameters
        for name, parameter in list(parameters.items())[1:]:  # skip self
            if name == "observation_shape" or parameter.kind not in (
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                inspect.Parameter.KEYWORD_ONLY,
            ):
                continue
            allowed.setdefault(name, parameter.default)
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            break
        if "var_keyword_names" in vars(klass):  # VAE: its **family_options
            for name in klass.var_keyword_names():
                allowed.setdefault(name, None)
            break
    return allowed


def check_model_args(entry: str, kwargs: dict[str, object]) -> None:
    """Raises `UserInputError` for an unknown entry or an argument it does not accept."""
    allowed = list(model_arguments(entry))
    for key in kwargs:
        if key not in allowed:
            raise UserInputError(
                f"model entry {entry!r}: unknown argument {key!r}{suggest(key, allowed)}; "
                f"allowed: {', '.join(allowed)}"
            )


def build_model(entry: str, observation_shape: Sequence[int], **kwargs: object) -> VAE:
    """The entry registered as `entry`, built for `observation_shape` with `kwargs`.

    Variables are created later (`model.initialize(seed)`, which `train` and
    `restore` call). The model remembers how it was built in
    `model.entry_config` (an `EntryConfig`), which checkpoints store.
    """
    check_model_args(entry, kwargs)
    shape = tuple(int(s) for s in observation_shape)
    model = MODELS.get(entry)(shape, **kwargs)
    model.entry_config = EntryConfig(entry, shape, dict(kwargs))
    return model
