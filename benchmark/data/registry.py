"""The data-set registry: `register_dataset` and `get_dataset`.

Every module of `benchmark/data/` is imported the first time the registry
is used, so adding a data set is adding one file with a class decorated
`@register_dataset("name")`.
"""

from __future__ import annotations

from benchmark.data.base import GroundTruthData
from benchmark.registry import DiscoveredRegistry

__all__ = ["DATASETS", "get_dataset", "register_dataset"]

DATASETS: DiscoveredRegistry[type[GroundTruthData]] = DiscoveredRegistry(
    "data set", "benchmark.data"
)


def register_dataset(name: str):
    """Class decorator: `@register_dataset("dsprites")`."""
    return DATASETS.register(name)


def get_dataset(name: str, **kwargs: object) -> GroundTruthData:
    """Builds the data set registered as `name` with keyword arguments.

    Unknown names and unknown keyword arguments raise `UserInputError`
    listing what is allowed.
    """
    return DATASETS.build(name, **kwargs)  # type: ignore[return-value]
