"""What the stand-ins notify the blog's account ("author") of: replies, likes, reposts, quotes.

A stand-in that serves a notification feed (Mastodon's notifications,
Bluesky's listNotifications) keeps an :class:`EventLog`: every reply written
in one of the author's threads, and every like, repost or quote of one of the
author's items, becomes a numbered :class:`Event`. A reply mentions the author
unless it was written with ``extra={"mention": False}`` (on Mastodon a reply
deep in a thread may drop the mention; nothing then tells the author).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from .base import Item

AUTHOR = "author"


@dataclass(frozen=True)
class Event:
    id: int  # increasing: a notification id
    kind: str  # reply, mention, like, repost, quote, update
    actor: str  # account key of whoever did it
    item_id: str  # the reply written, or the item liked / reposted / quoted
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


class EventLog:
    """Numbered notifications for the author, appended as the conversation changes."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def record(self, kind: str, actor: str, item_id: str) -> None:
        if actor == AUTHOR:
            return  # nobody is notified of their own doing
        with self._lock:
            self.events.append(Event(next(self._ids), kind, actor, item_id))

    def clear(self) -> None:
        with self._lock:
            self.events.clear()

    def reply_written(self, item: Item, lookup: Callable[[str], Item | None]) -> None:
        """Note ``item`` if it answers the author, or anyone in one of the author's threads."""
        if item.parent_id is None or item.author == AUTHOR:
            return
        parent = lookup(item.parent_id)
        root = lookup(item.root_id or item.parent_id)
        in_thread = root is not None and root.author == AUTHOR
        answers_author = parent is not None and parent.author == AUTHOR
        if answers_author or (in_thread and item.extra.get("mention", True)):
            self.record("reply", item.author, item.id)

    def acted_on(self, kind: str, item: Item, accounts: tuple[str, ...]) -> None:
        """Likes, reposts, quotes of the author's own items."""
        if item.author != AUTHOR:
            return
        for account in accounts:
            self.record(kind, account, item.id)

    def page(
        self,
        *,
        kinds: set[str] | None = None,
        since_id: int | None = None,
        min_id: int | None = None,
        max_id: int | None = None,
        limit: int = 40,
    ) -> list[Event]:
        """Mastodon's paging: newest first; ``min_id`` takes the page just above it."""
        with self._lock:
            found = [e for e in self.events if kinds is None or e.kind in kinds]
        if max_id is not None:
            found = [e for e in found if e.id < max_id]
        if since_id is not None:
            found = [e for e in found if e.id > since_id]
        if min_id is not None:
            found = [e for e in found if e.id > min_id][:limit]
            return list(reversed(found))
        return list(reversed(found))[:limit]


class NotifyingStandIn:
    """Mixin for a stand-in with a notification feed: replies, likes and reposts written
    through its controls become :class:`Event` entries of ``self.notices``."""

    like_reason: ClassVar[str]  # how the network names a like ("favourite") and a repost
    repost_reason: ClassVar[str]
    items: dict[str, Item]
    lock: Any

    def __init__(self, **kw: Any) -> None:
        self.notices = EventLog()
        super().__init__(**kw)

    def reset(self) -> None:
        with self.lock:
            super().reset()  # type: ignore[misc]
            self.notices.clear()

    def add_post(self, author: str, text: str, parent_id: str | None = None, **kw: Any) -> Item:
        item: Item = super().add_post(author, text, parent_id=parent_id, **kw)  # type: ignore[misc]
        self.notices.reply_written(item, self.items.get)
        return item

    def like(self, item_id: str, *accounts: str) -> None:
        super().like(item_id, *accounts)  # type: ignore[misc]
        self.notices.acted_on(self.like_reason, self.items[item_id], accounts or ("carol",))

    def repost(self, item_id: str, *accounts: str) -> None:
        super().repost(item_id, *accounts)  # type: ignore[misc]
        self.notices.acted_on(self.repost_reason, self.items[item_id], accounts or ("dave",))
