"""What a network's notifications say changed, and what its rate-limit headers leave.

:meth:`Adapter.changes <pelican.plugins.engage.networks.base.Adapter.changes>`
answers one cheap request (Mastodon's notifications, Bluesky's
listNotifications, X's mentions timeline, a Facebook Page's posts with
``updated_time``, webmention.io's domain-wide JF2) with :class:`Changes`: a
list of :class:`Notice` (something happened to an item, and the ids above it
that are known) and a cursor for the next call. The sync engine maps notices
onto its conversations; adapters know nothing of the store.

:class:`Windows` keeps the rate-limit windows a network's response headers
describe, for :meth:`Adapter.rate_budget`. Pure: no network library here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..http_client import retry_after
from .base import Counts


@dataclass(frozen=True)
class Notice:
    """Something happened to ``subject`` (a reply was written, a post liked, ...).

    ``chain`` lists the ids above the subject that the notification names,
    nearest first (a reply's parent, then its thread's root). The engine
    follows them until one is a conversation it knows; a reply to a reply in
    the same batch is found through the first reply.
    """

    kind: str  # reply, mention, like, repost, quote, comment, update
    subject: str
    chain: tuple[str, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.subject, *self.chain)


@dataclass
class Changes:
    """One answer of a network's notification feed (:meth:`Adapter.changes`)."""

    cursor: str | None  # hand it back on the next call
    notices: list[Notice] = field(default_factory=list)
    # Exact figures the notifications carried (Mastodon's favourited status, a Page
    # post's summaries), by remote id: applied without reading the thread.
    counts: dict[str, Counts] = field(default_factory=dict)
    # The first call: the cursor starts now, what happened before is unknown.
    baseline: bool = False
    # More happened than the pages read could tell: every conversation may have changed.
    overflow: bool = False
    # The remote ids the feed covers; None: every conversation of the network.
    watched: frozenset[str] | None = None


def load_cursor(cursor: str | None) -> dict[str, Any]:
    """An adapter's cursor (a small JSON object), or {} for none or an unreadable one."""
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def dump_cursor(**values: Any) -> str:
    return json.dumps({k: v for k, v in values.items() if v is not None}, sort_keys=True)


@dataclass
class HighWater:
    """The newest moment (a sortable string: ISO time) seen, and the ids seen at it.

    For feeds that can only be read newest first (Bluesky, a Page's posts): an
    item is new when it is later than the mark, or at the mark but not seen.
    """

    mark: str = ""
    at_mark: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, value: Any) -> HighWater:
        if not isinstance(value, dict):
            return cls()
        return cls(str(value.get("t") or ""), {str(i) for i in value.get("ids") or []})

    def dump(self) -> dict[str, Any]:
        return {"t": self.mark, "ids": sorted(self.at_mark)}

    def is_new(self, moment: str, item_id: str) -> bool:
        return moment > self.mark or (moment == self.mark and item_id not in self.at_mark)

    def moved(self, seen: Iterable[tuple[str, str]]) -> HighWater:
        """The mark after seeing ``(moment, id)`` pairs."""
        result = HighWater(self.mark, set(self.at_mark))
        for moment, item_id in seen:
            if moment > result.mark:
                result.mark, result.at_mark = moment, {item_id}
            elif moment == result.mark:
                result.at_mark.add(item_id)
        return result


class Windows:
    """Rate-limit windows read from response headers: name -> (requests left, resets at).

    Thread-safe (adapters read on several threads). :meth:`budget` answers the
    tightest window that has not reset yet, in the shape of
    :meth:`Adapter.rate_budget`.
    """

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def update(self, name: str, remaining: int, reset_in: float) -> None:
        with self._lock:
            self._windows[name] = (max(remaining, 0), time.time() + max(reset_in, 0.0))

    def read(self, headers: Mapping[str, str], prefix: str, *, name: str = "") -> None:
        """Note the window ``<prefix>-remaining`` / ``<prefix>-reset`` headers describe (a
        reset as epoch seconds, a delay or a date); ``name``: the header naming the window."""
        remaining = header_int(headers, f"{prefix}-remaining")
        reset = retry_after(headers, [f"{prefix}-reset"])
        if remaining is not None and reset is not None:
            self.update((headers.get(name) if name else None) or prefix, remaining, reset)

    def budget(self) -> tuple[int, float] | None:
        now = time.time()
        with self._lock:
            live = [(left, at - now) for left, at in self._windows.values() if at > now]
        return min(live) if live else None


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    """An integer header (case-insensitive lookup done by the caller's mapping), or None."""
    value = headers.get(name)
    try:
        return int(float(str(value).strip())) if value is not None else None
    except ValueError:
        return None
