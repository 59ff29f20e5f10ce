"""The shared registry: duplicates, unknown names, keyword checks."""

import pytest

from benchmark.errors import UserInputError
from benchmark.registry import Registry, check_kwargs


def _registry() -> Registry:
    registry: Registry = Registry("widget")

    @registry.register("round_widget")
    class Round:
        def __init__(self, radius: float = 1.0, *, colour: str = "red") -> None:
            self.radius = radius
            self.colour = colour

    return registry


def test_register_get_and_build():
    registry = _registry()
    assert registry.names() == ["round_widget"]
    assert "round_widget" in registry and len(registry) == 1
    built = registry.build("round_widget", radius=2.0, colour="blue")
    assert (built.radius, built.colour) == (2.0, "blue")


def test_duplicate_name_is_an_error():
    registry = _registry()
    with pytest.raises(ValueError, match="already registered"):
        registry.add("round_widget", object())


def test_unknown_name_suggests_close_matches_and_lists_known():
    registry = _registry()
    with pytest.raises(UserInputError) as info:
        registry.get("round_widgte")
    message = str(info.value)
    assert "unknown widget 'round_widgte'" in message
    assert "did you mean 'round_widget'" in message
    assert "known: round_widget" in message


def test_unknown_keyword_lists_allowed_ones():
    registry = _registry()
    with pytest.raises(UserInputError) as info:
        registry.build("round_widget", radious=3)
    message = str(info.value)
    assert "unknown argument 'radious'" in message
    assert "did you mean 'radius'" in message
    assert "allowed: radius, colour" in message


def test_check_kwargs_accepts_var_keyword_targets():
    def anything(**kwargs):
        return kwargs

    check_kwargs(anything, {"whatever": 1}, "target")  # no error
