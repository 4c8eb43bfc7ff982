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
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from .base import Item

AUTHOR = "author"
GROUP_SPAN_HOURS = 12  # Mastodon starts a new group of favourites of a status after this


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

    def group_page(
        self,
        *,
        kinds: set[str] | None = None,
        grouped: Collection[str] = (),
        keep: Callable[[Event], bool] = lambda event: True,
        since_id: int | None = None,
        min_id: int | None = None,
        max_id: int | None = None,
        limit: int = 40,
    ) -> list[tuple[str, list[Event]]]:
        """Mastodon's grouped paging (``/api/v2/notifications``): ``limit`` counts groups.

        Events of a ``grouped`` kind about the same item within twelve hours of the
        group's first hour share a key; every other event is a group of its own. The page
        walks from its end (the newest, or just above ``min_id``) and takes each group's
        first event until ``limit`` groups are found; a group then holds its events
        between the page's lowest and highest first events, or, on a last page (fewer
        groups), to the end of the walk. Groups and their events newest first, as
        ``(group key, events)``.
        """
        with self._lock:
            events = list(self.events)
        keys = _group_keys(events, grouped)
        found = [
            e
            for e in events
            if (kinds is None or e.kind in kinds)
            and keep(e)
            and (max_id is None or e.id < max_id)
            and (since_id is None or e.id > since_id)
            and (min_id is None or e.id > min_id)
        ]
        walk = found if min_id is not None else list(reversed(found))
        firsts: dict[str, Event] = {}
        for event in walk:
            if len(firsts) >= limit:
                break
            firsts.setdefault(keys[event.id], event)
        if not firsts:
            return []
        low = min(e.id for e in firsts.values())
        high = max(e.id for e in firsts.values())
        if len(firsts) < limit:  # the last page: its groups reach to the end of the walk
            low, high = (low, found[-1].id) if min_id is not None else (found[0].id, high)
        members: dict[str, list[Event]] = {key: [] for key in firsts}
        for event in reversed(found):
            if low <= event.id <= high and keys[event.id] in members:
                members[keys[event.id]].append(event)
        order = list(firsts) if min_id is None else list(reversed(firsts))
        return [(key, members[key]) for key in order]


def _group_keys(events: list[Event], grouped: Collection[str]) -> dict[int, str]:
    """Every event's group key, as Mastodon forms them: ``<type>-<status>-<hour>``, the hour
    of the group's first event (reused for twelve hours), or ``ungrouped-<id>``."""
    keys: dict[int, str] = {}
    hours: dict[tuple[str, str], int] = {}
    for event in events:
        if event.kind not in grouped:
            keys[event.id] = f"ungrouped-{event.id}"
            continue
        hour = int(event.at.timestamp()) // 3600
        first = hours.get((event.kind, event.item_id))
        if first is not None and hour < first + GROUP_SPAN_HOURS:
            hour = first
        hours[(event.kind, event.item_id)] = hour
        keys[event.id] = f"{event.kind}-{event.item_id}-{hour}"
    return keys


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
