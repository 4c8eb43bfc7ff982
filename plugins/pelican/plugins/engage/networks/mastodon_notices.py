"""Mastodon's notifications as :class:`~.notices.Changes`: what changed, in one request.

``GET /api/v2/notifications`` (grouped, Mastodon 4.3+) with ``types[]``
mention, favourite, reblog and update, favourites and reblogs of one status
grouped. Where a server answers it with 404 or 410 (Mastodon before 4.3 has no
such route), ``GET /api/v1/notifications`` is read instead in the same call. The
cursor then says ``"api": "v1"``, so such a server costs one failed request
once, not one every run. Both go forward with ``min_id`` (oldest first), so a
busy spell is read to its end over several runs without a gap; the cursor
keeps the last notification id read (the same ids in both versions) and the
account's own id (so a quiet check is this one request, with no
``verify_credentials``). The first call only notes the newest notification.

A v2 page is an object: ``notification_groups`` (newest first; each names
``status_id`` and the range of notification ids it covers on this page,
``page_min_id`` .. ``page_max_id``, as strings; ``most_recent_notification_id``
is a number) with the ``statuses`` and ``accounts`` they refer to. ``limit``
counts groups. The next page starts above the highest ``page_max_id``, as the
server's own ``Link: rel="prev"`` does.

A mention that answers something names its parent (``in_reply_to_id``); the
engine follows it to the conversation. A favourite or a reblog carries our
status with its current figures, which the engine applies without reading the
thread. A reply that does not mention the author (one deep in a thread, or
whose mention was removed) never arrives here: the slow per-thread schedule
catches it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import NotFound
from .base import Counts
from .notices import Changes, Notice, dump_cursor

log = logging.getLogger(__name__)

NOTIFY_TYPES = ["mention", "favourite", "reblog", "update"]
GROUPED_TYPES = ["favourite", "reblog"]
NOTIFY_PAGE = 80  # the most one page of notifications (v1) or groups (v2) holds
V1 = "v1"  # the cursor's "api" once the server turned the grouped API down


Entry = tuple[int, Callable[[Changes], None]]  # a notification id, and what it tells


def read_notifications(
    read: Callable[..., Any],
    state: dict[str, Any],
    me: str,
    pages: int,
    grouped: Callable[..., Any] | None = None,
) -> Changes:
    """``read(**params)`` is Mastodon.py's ``notifications`` and ``grouped(**params)`` its
    ``grouped_notifications``, both behind the adapter's error mapping (404: NotFound).

    Without ``grouped``, or once the cursor says the server has no v2, v1 alone is read.
    """
    if grouped is not None and state.get("api") != V1:
        try:
            return _read(_grouped_entries(grouped), state, me, pages, "v2")
        except _NoGroupedApi:  # read v1 now, so nothing that happened is lost, and from now on
            log.info("mastodon: the server has no grouped notifications (v2); reading v1")

    def entries(**params: Any) -> list[Entry]:
        page = read(types=NOTIFY_TYPES, **params)
        return [(int(n["id"]), functools.partial(add_notice, n)) for n in page]

    return _read(entries, state, me, pages, V1 if grouped is not None else None)


class _NoGroupedApi(Exception):
    """The server answered the first grouped request with 404: it has no v2."""


def _read(
    entries: Callable[..., list[Entry]], state: dict[str, Any], me: str, pages: int, api: str | None
) -> Changes:
    """The first call notes the newest id; later ones read at most ``pages`` pages above the
    cursor, oldest first."""
    if "since" not in state:
        newest = entries(limit=1)
        since = str(max(top for top, _ in newest)) if newest else ""
        return Changes(dump_cursor(since=since, me=me, api=api), baseline=True)
    since = str(state["since"])
    changes = Changes(None)
    for _ in range(max(pages, 1)):
        page = entries(min_id=since or "0", limit=NOTIFY_PAGE)  # "0": from the first
        for top, tell in sorted(page, key=lambda entry: entry[0]):  # oldest first: last wins
            tell(changes)
            since = str(max(top, int(since or 0)))
        if len(page) < NOTIFY_PAGE:
            break
    changes.cursor = dump_cursor(since=since, me=me, api=api)
    return changes


def _grouped_entries(grouped: Callable[..., Any]) -> Callable[..., list[Entry]]:
    """v2 pages as entries, one a group; a 404 to the first request is :class:`_NoGroupedApi`."""
    first = True

    def entries(**params: Any) -> list[Entry]:
        nonlocal first
        was_first, first = first, False
        try:
            page = grouped(types=NOTIFY_TYPES, grouped_types=GROUPED_TYPES, **params)
        except NotFound as exc:
            if was_first:
                raise _NoGroupedApi from exc
            raise
        statuses = {str(s["id"]): s for s in page.get("statuses") or []}
        groups = page.get("notification_groups") or []
        return [(group_top(g), functools.partial(add_group, g, statuses)) for g in groups]

    return entries


def group_top(group: Mapping[str, Any]) -> int:
    """The newest notification id a group covers on its page (the cursor moves past it)."""
    top = group.get("page_max_id") or group.get("most_recent_notification_id")
    return int(top or 0)


def add_group(group: Mapping[str, Any], statuses: Mapping[str, Any], changes: Changes) -> None:
    """One notification group as a notice, with its status from the page's ``statuses``."""
    status = statuses.get(str(group.get("status_id")))
    if status:  # a follow names no status; a deleted status is left out of the page
        add_status(str(group.get("type")), status, changes)


def add_notice(note: Any, changes: Changes) -> None:
    """One v1 notification as a notice (and, for a favourite or reblog, the status's figures)."""
    status = note.get("status")
    if status:  # a follow, a poll ending: nothing to do with a conversation
        add_status(str(note.get("type")), status, changes)


def add_status(kind: str, status: Any, changes: Changes) -> None:
    """A notification of ``kind`` about ``status``: a notice, and for a favourite or a
    reblog the status's current figures."""
    sid, parent = str(status["id"]), status.get("in_reply_to_id")
    if kind in ("favourite", "reblog"):
        changes.notices.append(Notice("like" if kind == "favourite" else "repost", sid))
        changes.counts[sid] = Counts(
            likes=int(status.get("favourites_count") or 0),
            reposts=int(status.get("reblogs_count") or 0),
            replies=int(status.get("replies_count") or 0),
        )
        return
    chain = (str(parent),) if parent else ()
    changes.notices.append(Notice("reply" if parent else kind, sid, chain))
