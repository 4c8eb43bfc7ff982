"""Every network engage knows, declared once: name, label, credentials, capabilities.

The command line, the planner, the settings check, the templates and the README
all read this table; nothing else lists network names. Adapter classes are named
as ``module:Class`` and imported on first use by ``factory.py``, so the gate
(which reads this table to check ``Syndicate`` metadata) never loads a network SDK.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    label: str  # how a sentence names the network ("replied on Mastodon")
    adapter: str  # "module:Class" inside this package
    credentials: tuple[str, ...]  # environment variables the adapter reads
    can_publish: bool = True  # takes our posts (False: read-only for the backfeed)
    can_reply: bool = True  # takes answers in a remote thread
    can_like: bool = False  # takes a like / favourite
    schedules_natively: bool = False  # the server holds posts due later
    rate_budget: str = ""  # the documented default limit, for people (adapters read headers)

    @property
    def read_only(self) -> bool:
        return not self.can_publish and not self.can_reply


NETWORKS: dict[str, NetworkSpec] = {
    spec.name: spec
    for spec in (
        NetworkSpec(
            "mastodon",
            "Mastodon",
            "mastodon:MastodonAdapter",
            ("MASTODON_ACCESS_TOKEN",),
            can_like=True,
            schedules_natively=True,
            rate_budget="300 requests per 5 minutes per account",
        ),
        NetworkSpec(
            "bluesky",
            "Bluesky",
            "bluesky:BlueskyAdapter",
            ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"),
            can_like=True,
            rate_budget="3,000 requests per 5 minutes; 30 logins per 5 minutes",
        ),
        NetworkSpec(
            "x",
            "X",
            "x:XAdapter",
            ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"),
            can_like=True,
            rate_budget="billed per post and per read; daily caps in the options",
        ),
        NetworkSpec(
            "facebook",
            "Facebook",
            "facebook:FacebookAdapter",
            ("FACEBOOK_PAGE_ACCESS_TOKEN",),
            can_like=True,
            rate_budget="Graph API app and Page usage headers",
        ),
        NetworkSpec(
            "webmention",
            "the web",
            "webmention:WebmentionAdapter",
            ("WEBMENTIONIO_TOKEN",),
            can_publish=False,
            can_reply=False,
            rate_budget="webmention.io sets no published limit",
        ),
        NetworkSpec(
            "feed",
            "the comment feed",
            "feed:FeedAdapter",
            (),
            can_publish=False,
            can_reply=False,
            rate_budget="one conditional GET per feed",
        ),
    )
}

NAMES: tuple[str, ...] = tuple(NETWORKS)


def spec(name: str) -> NetworkSpec:
    """The declaration of ``name``, or a ConfigError listing the known names."""
    try:
        return NETWORKS[name]
    except KeyError:
        raise ConfigError(
            f"unknown network {name!r}; known networks are {', '.join(NAMES)}"
        ) from None


def label(name: str) -> str:
    """The network's name for sentences; unknown names are shown as they are."""
    found = NETWORKS.get(name)
    return found.label if found else name
