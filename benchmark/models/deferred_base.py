"""`DeferredBase`: a class declared without TensorFlow that gets its Keras base when first built.

Model entries and posterior families are Keras objects, yet `disbench
validate` and `disbench list` only read their declarations (names, argument
defaults and checks, family options), and should not spend seconds importing
TensorFlow for that. A class that would subclass `tf_keras.Model` (or a
Keras layer) subclasses `DeferredBase` instead and names its TensorFlow base
in `deferred_base`, a static method returning that class. Declaring the class,
reading its attributes and inspecting its signature import nothing; the first
instantiation creates, once per class, the subclass `(cls, base)` and builds
that. Its method order is the one `class cls(base)` would have, so methods,
`super()` calls, variable names and checkpoint paths are unchanged, and
`isinstance(obj, cls)` holds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

__all__ = ["DeferredBase", "with_deferred_base"]


@functools.cache
def with_deferred_base(cls: type) -> type:
    """`cls` with its `deferred_base()` class added as the last base (made once per class)."""
    base = cls.deferred_base()
    if issubclass(cls, base):
        return cls
    namespace = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
    }
    return type(cls)(cls.__name__, (cls, base), namespace)


class DeferredBase:
    """Base of a class whose TensorFlow base class (`deferred_base()`) is added when it is built."""

    #: Returns the TensorFlow class this one extends, e.g. `staticmethod(lambda: tf_keras.Model)`.
    deferred_base: ClassVar[Callable[[], type]]

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        built = with_deferred_base(cls)
        if built is not cls:
            return built.__new__(built, *args, **kwargs)  # Python then runs __init__
        following = super().__new__
        if following is object.__new__:
            return object.__new__(cls)
        return following(cls, *args, **kwargs)
