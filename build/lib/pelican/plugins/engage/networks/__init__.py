"""One adapter module per network; imported lazily so the gate never loads an SDK."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from .base import Adapter, AdapterContext

NETWORKS: dict[str, str] = {
    "mastodon": "mastodon:MastodonAdapter",
    "bluesky": "bluesky:BlueskyAdapter",
    "x": "x:XAdapter",
    "facebook": "facebook:FacebookAdapter",
    "webmention": "webmention:WebmentionAdapter",
    "feed": "feed:FeedAdapter",
}

LABELS = {
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "x": "X",
    "facebook": "Facebook",
    "webmention": "the web",
    "feed": "the comment feed",
}


def adapter_class(name: str) -> type[Adapter]:
    try:
        target = NETWORKS[name]
    except KeyError:
        known = ", ".join(NETWORKS)
        raise ConfigError(f"unknown network {name!r}; known networks are {known}") from None
    module_name, _, class_name = target.partition(":")
    module = importlib.import_module(f"{__name__}.{module_name}")
    cls: type[Adapter] = getattr(module, class_name)
    return cls


def build_adapter(name: str, options: Mapping[str, Any], ctx: AdapterContext) -> Adapter:
    """The adapter for ``name`` configured with its ENGAGE_NETWORKS options."""
    return adapter_class(name)(options, ctx)
