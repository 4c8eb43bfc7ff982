"""Plain data shared across layers: nothing here imports another engage module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


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
    url: str


@dataclass
class NetworkCounts:
    label: str
    likes: int = 0
    reposts: int = 0
    replies: int = 0
