"""The Facebook adapter's notification feed and rate-limit headers (a base of its class).

A Page has no notification feed an app can read, but its posts' ``updated_time``
moves when a comment is added: one ``GET /{page-id}/posts`` with
``updated_time`` and the reaction, share and comment summaries tells which
posts changed and gives every listed post's figures, which the engine stores
without reading. The listing holds the newest ``notify_posts`` posts (100):
older ones stay on the decaying schedule (:attr:`Changes.watched` says which
are covered). The cursor keeps each listed post's ``updated_time`` and comment
total: either moving means the post changed (``updated_time`` has one-second
resolution, so a comment in the same second as the last change shows in the
total).

The Graph API reports usage, not a count: ``X-App-Usage`` (the app, over a
rolling hour) and ``X-Business-Use-Case-Usage`` / ``X-Page-Usage`` (per Page)
carry percentages of ``call_count``, ``total_cputime`` and ``total_time``,
and ``estimated_time_to_regain_access`` in minutes once throttled.
:meth:`FacebookFeed.rate_budget` answers the percentage left as "requests
left", so the engine's reserve of 10 stops a sync at 90% of the budget.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from .base import Adapter, AdapterContext, Counts, RemoteRef
from .notices import Changes, Notice, Windows, dump_cursor, load_cursor

NOTIFY_POSTS = 100  # the most one page of a Page's posts holds
LISTING_FIELDS = (
    "id,updated_time,shares,reactions.summary(total_count).limit(0),"
    "comments.filter(stream).summary(total_count).limit(0)"
)
USAGE_HEADERS = ("x-app-usage", "x-business-use-case-usage", "x-page-usage")
ROLLING_WINDOW = 3600.0  # the usage percentages are of a rolling hour


class FacebookFeed(Adapter):
    """Changes from the Page's posts listing; the budget from the usage headers."""

    page_id: str

    def __init__(self, options: Mapping[str, Any], ctx: AdapterContext) -> None:
        super().__init__(options, ctx)
        self._windows = Windows()

    def _get(self, path: str, **params: str) -> dict[str, Any]:
        raise NotImplementedError  # the adapter's: one Graph API GET, errors mapped

    def _on_response(self, response: httpx.Response) -> None:
        self._answered()
        budget = usage_budget(response.headers)
        if budget is not None:
            self._windows.update("usage", *budget)

    def rate_budget(self) -> tuple[int, float] | None:
        return self._windows.budget()

    def changes(self, cursor: str | None, watched: Sequence[RemoteRef]) -> Changes | None:
        if not self.notifications:
            return None
        state = load_cursor(cursor)
        body = self._get(f"{self.page_id}/posts", fields=LISTING_FIELDS, limit=str(NOTIFY_POSTS))
        rows = [r for r in body.get("data") or [] if isinstance(r, dict) and r.get("id")]
        before = state.get("posts")
        changes = Changes(None, baseline=not isinstance(before, dict))
        now: dict[str, list[Any]] = {}
        for row in rows:
            post_id = str(row["id"])
            counts = Counts(
                likes=_total(row.get("reactions")),
                reposts=int((row.get("shares") or {}).get("count") or 0),
                replies=_total(row.get("comments")),
            )
            changes.counts[post_id] = counts
            now[post_id] = [str(row.get("updated_time") or ""), counts.replies]
            if isinstance(before, dict) and before.get(post_id) != now[post_id]:
                changes.notices.append(Notice("comment", post_id))
        changes.watched = frozenset(now)
        changes.cursor = dump_cursor(posts=now)
        return changes


def usage_budget(headers: Mapping[str, str]) -> tuple[int, float] | None:
    """(percent of the budget left, seconds until it returns) from the usage headers."""
    used: list[float] = []
    regain: list[float] = []
    for name in USAGE_HEADERS:
        try:
            value = json.loads(headers.get(name) or "null")
        except ValueError:
            continue
        for usage in _usages(value):
            used += [float(usage[k]) for k in ("call_count", "total_cputime", "total_time")
                     if isinstance(usage.get(k), int | float)]  # fmt: skip
            minutes = usage.get("estimated_time_to_regain_access")
            if isinstance(minutes, int | float) and minutes > 0:
                regain.append(float(minutes) * 60)
    if not used:
        return None
    return max(0, int(100 - max(used))), max(regain, default=ROLLING_WINDOW)


def _usages(value: Any) -> Iterator[dict[str, Any]]:
    """Every usage object in a header: the app's, or each Page's list of them."""
    if isinstance(value, dict):
        if any(k in value for k in ("call_count", "total_cputime", "total_time")):
            yield value
            return
        for item in value.values():
            yield from _usages(item)
    elif isinstance(value, list):
        for item in value:
            yield from _usages(item)


def _total(edge: Any) -> int:
    if not isinstance(edge, dict):
        return 0
    return int((edge.get("summary") or {}).get("total_count") or 0)
