"""Plain data shared across layers: nothing here imports another engage module.

It also holds the one URL policy (:func:`web_url`): every URL that reaches a
page, the dashboard or the terminal (syndication links, comment, author and
avatar URLs) passes it when it is stored and again when it is rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
