"""One adapter module per network, and the registry that declares them all."""

from .factory import adapter_class, build_adapter, build_adapters
from .registry import NAMES, NETWORKS, NetworkSpec
from .registry import label as network_label

__all__ = [
    "NAMES",
    "NETWORKS",
    "NetworkSpec",
    "adapter_class",
    "build_adapter",
    "build_adapters",
    "network_label",
]
