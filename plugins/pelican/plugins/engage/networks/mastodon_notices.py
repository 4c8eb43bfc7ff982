"""Mastodon's notifications as :class:`~.notices.Changes`: what changed, in one request.

``GET /api/v1/notifications`` with ``types[]`` mention, favourite, reblog and
update. Pages go forward with ``min_id`` (oldest first), so a busy spell is
read to its end over several runs without a gap; the cursor keeps the last id
read and the account's own id (so a quiet check is this one request, with no
``verify_credentials``). The first call only notes the newest notification.

A mention that answers something names its parent (``in_reply_to_id``); the
engine follows it to the conversation. A favourite or a reblog carries our
status with its current figures, which the engine applies without reading the
thread. A reply that does not mention the author (one deep in a thread, or
whose mention was removed) never arrives here: the slow per-thread schedule
catches it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import Counts
from .notices import Changes, Notice, dump_cursor

NOTIFY_TYPES = ["mention", "favourite", "reblog", "update"]
NOTIFY_PAGE = 80  # the most one page of notifications holds


def read_notifications(
    read: Callable[..., Any], state: dict[str, Any], me: str, pages: int
) -> Changes:
    """``read(**params)`` is Mastodon.py's ``notifications`` behind the adapter's error mapping."""
    if "since" not in state:
        newest = read(types=NOTIFY_TYPES, limit=1)
        since = str(newest[0]["id"]) if newest else ""
        return Changes(dump_cursor(since=since, me=me), baseline=True)
    since = str(state["since"])
    changes = Changes(None)
    for _ in range(max(pages, 1)):
        page = read(types=NOTIFY_TYPES, min_id=since or None, limit=NOTIFY_PAGE)
        for note in sorted(page, key=lambda n: int(n["id"])):  # oldest first: the last wins
            add_notice(note, changes)
            since = str(note["id"])
        if len(page) < NOTIFY_PAGE:
            break
    changes.cursor = dump_cursor(since=since, me=me)
    return changes


def add_notice(note: Any, changes: Changes) -> None:
    """One notification as a notice (and, for a favourite or reblog, the status's figures)."""
    status = note.get("status")
    if not status:
        return  # a follow, a poll ending: nothing to do with a conversation
    sid, parent = str(status["id"]), status.get("in_reply_to_id")
    kind = str(note.get("type"))
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
