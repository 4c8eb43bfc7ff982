"""One adapter module per network, and the registry that declares them all.

The factory (and through it httpx and the adapters' session code) is imported
on first use: the Pelican build needs only the registry, and importing the
factory would add about a tenth of a second to every build.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .registry import NAMES, NETWORKS, NetworkSpec
from .registry import label as network_label

if TYPE_CHECKING:
    from .factory import adapter_class, build_adapter, build_adapters

_FROM_FACTORY = frozenset({"adapter_class", "build_adapter", "build_adapters"})

__all__ = [
    "NAMES",
    "NETWORKS",
    "NetworkSpec",
    "adapter_class",
    "build_adapter",
    "build_adapters",
    "network_label",
]


def __getattr__(name: str) -> Any:
    if name in _FROM_FACTORY:
        from . import factory

        return getattr(factory, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
