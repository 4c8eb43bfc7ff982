"""Local stand-ins for every network, for tests, `engage sandbox` and `invoke demo`."""

from __future__ import annotations

from .base import StandIn

STANDINS = {
    "mastodon": "mastodon:MastodonStandIn",
    "bluesky": "bluesky:BlueskyStandIn",
    "x": "x:XStandIn",
    "facebook": "facebook:FacebookStandIn",
    "webmention": "webmention:WebmentionStandIn",
    "feed": "feed:FeedStandIn",
}


def standin_class(name: str) -> type[StandIn]:
    import importlib

    module_name, _, class_name = STANDINS[name].partition(":")
    cls: type[StandIn] = getattr(importlib.import_module(f"{__name__}.{module_name}"), class_name)
    return cls


def start_all(latency: float = 0.0, names: tuple[str, ...] = tuple(STANDINS)) -> dict[str, StandIn]:
    """Start the named stand-ins (all six by default) on free loopback ports."""
    return {name: standin_class(name)(latency=latency).start() for name in names}
