"""Bluesky's ``app.bsky.notification.listNotifications`` as :class:`~.notices.Changes`.

The feed is read newest first, page by page, until it reaches what the last
run saw: the cursor keeps the newest ``indexedAt`` read and the notification
URIs at that moment (:class:`~.notices.HighWater`), so a quiet check is one
request. ``updateSeen`` is never called: reading marks nothing as read in the
author's app. The reasons used: ``reply`` and ``mention`` (the record's reply
refs name the parent and the thread's root), ``quote`` (the quoted post),
``like`` and ``repost`` (``reasonSubject``, the post liked). Other reasons
(follows, starter packs) concern no conversation. When more pages arrive than
``notification_pages`` allows, the answer says ``overflow`` and the engine
reads every young conversation by the schedule instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from atproto_client import Client, models

from .base import Adapter, AdapterContext, RemoteRef
from .bluesky_text import field
from .notices import Changes, HighWater, Notice, Windows, dump_cursor, load_cursor

PAGE = 50
REASONS = ("reply", "mention", "quote", "like", "repost")

# One page: (notifications, the cursor for the next, older page) for a cursor.
ListPage = Callable[[str | None, int], tuple[list[Any], str | None]]


class BlueskyFeed(Adapter):
    """The Bluesky adapter's notification feed and rate-limit headers (its base class)."""

    def __init__(self, options: Mapping[str, Any], ctx: AdapterContext) -> None:
        super().__init__(options, ctx)
        self._windows = Windows()
        self.notification_pages = max(1, int(self.options.get("notification_pages", 10)))

    def _call(self, what: str, op: Callable[[Client], Any]) -> Any:
        raise NotImplementedError  # the adapter's: errors mapped, the session renewed

    def _on_response(self, response: httpx.Response) -> None:
        """Count the answer; keep its ``RateLimit-*`` window (the reset is epoch seconds)."""
        self._answered()
        self._windows.read(response.headers, "ratelimit", name="ratelimit-policy")

    def rate_budget(self) -> tuple[int, float] | None:
        return self._windows.budget()

    def changes(self, cursor: str | None, watched: Sequence[RemoteRef]) -> Changes | None:
        """Replies, mentions, quotes, likes and reposts since the cursor, newest first."""
        if not self.notifications:
            return None
        pages = page_reader(self._call)
        return read_notifications(pages, load_cursor(cursor), self.notification_pages)


def page_reader(call: Callable[..., Any]) -> ListPage:
    """Pages of listNotifications through the adapter's ``_call`` (errors mapped, the
    session renewed once if the server refused it)."""

    def page(at: str | None, limit: int) -> tuple[list[Any], str | None]:
        params = models.AppBskyNotificationListNotifications.Params(limit=limit, cursor=at)
        answer = call(
            "reading the notifications",
            lambda client: client.app.bsky.notification.list_notifications(params),
        )
        return list(answer.notifications), answer.cursor

    return page


def read_notifications(list_page: ListPage, state: dict[str, Any], pages: int) -> Changes:
    if "t" not in state:  # the first call: note where the feed is now
        rows, _ = list_page(None, 1)
        water = HighWater().moved((str(r.indexed_at), str(r.uri)) for r in rows)
        return Changes(dump_cursor(**water.dump()), baseline=True)
    water = HighWater.load(state)
    changes = Changes(None)
    seen: list[tuple[str, str]] = []
    cursor: str | None = None
    for _ in range(max(pages, 1)):
        rows, cursor = list_page(cursor, PAGE)
        reached = False
        for row in rows:  # newest first
            moment, uri = str(row.indexed_at), str(row.uri)
            if moment < water.mark:
                reached = True  # older than anything new: the rest was read last time
                break
            if not water.is_new(moment, uri):
                continue
            seen.append((moment, uri))
            notice = _notice(row)
            if notice is not None:
                changes.notices.append(notice)
        if reached or not cursor or len(rows) < PAGE:
            break
    else:
        changes.overflow = True
    changes.cursor = dump_cursor(**water.moved(seen).dump())
    return changes


def _notice(row: Any) -> Notice | None:
    reason = str(row.reason)
    if reason not in REASONS:
        return None
    if reason in ("like", "repost"):
        subject = row.reason_subject
        return Notice(reason, str(subject)) if subject else None
    reply = field(row.record, "reply")
    chain = tuple(
        str(uri)
        for uri in (field(field(reply, "parent"), "uri"), field(field(reply, "root"), "uri"))
        if uri
    )
    if reason == "quote" and row.reason_subject:
        chain = (str(row.reason_subject), *chain)
    return Notice("reply" if reply else reason, str(row.uri), chain)
