"""Plain data shared across layers: nothing here imports another engage module.

The types the network adapters hand over (:class:`RemoteRef`, :class:`RemoteComment`,
:class:`ThreadSnapshot`, ...) live here because the ledger, the merge and the answers
use them too; ``networks.base`` re-exports them.

It also holds the one URL policy (:func:`web_url`): every URL that reaches a
page, the dashboard or the terminal (syndication links, comment, author and
avatar URLs) passes it when it is stored and again when it is rendered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

MAX_URL_CHARS = 2048
# C0 controls (tab and newline too: a URL never holds them), DEL and C1 controls.
_URL_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Never legal in a URL, and each could end an attribute or a tag: percent-encoded,
# so the URL stays inert even where a template forgets to escape it.
_URL_UNSAFE = str.maketrans(
    {'"': "%22", "'": "%27", "<": "%3C", ">": "%3E", "`": "%60", " ": "%20"}
)


def web_url(url: object) -> str:
    """``url`` if it is an absolute http(s) URL with a host, else "".

    No ``javascript:``, ``data:`` or relative URL, no user name or password
    (``https://blog.example@evil.example/``), no control character, at most
    MAX_URL_CHARS long; quotes, angle brackets, backticks and spaces come back
    percent-encoded.
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL_CHARS or url != url.strip():
        return ""
    if _URL_CONTROL_RE.search(url):
        return ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    if "@" in parts.netloc or "\\" in parts.netloc:
        return ""
    return url.translate(_URL_UNSAFE)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class SourceText:
    url: str
    ok: bool
    text: str = ""
    error: str | None = None
    fetched_at: str | None = None


@dataclass
class Syndication:
    network: str
    label: str
    url: str  # an http(s) URL (web_url), or "" when the stored one was not

    def __post_init__(self) -> None:
        self.url = web_url(self.url)


@dataclass
class NetworkCounts:
    label: str
    likes: int = 0
    reposts: int = 0
    replies: int = 0


# -- what the network adapters exchange with the ledger, the merge and the answers ----
@dataclass(frozen=True)
class RemoteRef:
    """Where a post or a comment lives on a network.

    ``extra`` holds what the network needs to thread under it later (Bluesky
    keeps the record's ``uri`` and ``cid`` and the thread root's), as strings.
    """

    network: str
    id: str
    url: str
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Author:
    name: str
    handle: str
    url: str
    avatar: str | None = None


@dataclass
class RemoteComment:
    """One reply (or mention) as the network reports it; ``html`` is NOT sanitized."""

    ref: RemoteRef
    parent_id: str
    author: Author
    html: str
    created_at: datetime
    edited_at: datetime | None = None
    is_own: bool = False
    kind: str = "reply"  # reply | mention (webmention/feed entries that are not replies)
    likes: int = 0
    reposts: int = 0


@dataclass
class Counts:
    likes: int = 0
    reposts: int = 0
    replies: int = 0


@dataclass
class ThreadSnapshot:
    """What one fetch saw of a post's conversation.

    ``comments`` lists every public reply at any depth, already without the
    not-found, blocked and author-hidden ones. ``complete`` is False when the
    fetch was incremental or the server says more may follow, so a comment
    absent from it must not be taken for deleted. ``cursor`` is handed back to
    the next incremental fetch.
    """

    post: RemoteRef
    counts: Counts
    comments: list[RemoteComment]
    complete: bool = True
    cursor: str | None = None
    # The read did not ask for the post's like and repost figures (a light read after a
    # notification): keep the stored ones.
    keep_counts: bool = False
    # The server said nothing changed since ``cursor`` (a feed's 304): nothing to merge.
    unchanged: bool = False


@dataclass(frozen=True)
class OutgoingPost:
    text: str
    idempotency_key: str
    link: str | None = None  # the canonical article URL (link card, Facebook's link field)
    link_title: str | None = None
    link_description: str | None = None
    reply_to: RemoteRef | None = None
    scheduled_at: datetime | None = None  # only for networks with native scheduling
    # When the ledger first queued this post: stable across retries, so a network
    # without idempotency keys can derive a deterministic record key from it.
    created_at: datetime | None = None
