"""The Bluesky stand-in's notifications and rate-limit headers.

``app.bsky.notification.listNotifications`` answers the author's
notifications newest first, in the lexicon's shape (checked against the
recording in tests/recordings/bluesky/list_notifications.json): ``uri`` and
``cid`` of the record that caused it (the reply, the like, the repost, the
quoting post), ``author``, ``reason`` (reply, like, repost, quote),
``reasonSubject`` (the post it concerns), the ``record``, ``isRead`` and
``indexedAt``, with a ``cursor`` for the next, older page.

Every XRPC answer carries ``RateLimit-Limit/-Remaining/-Reset/-Policy`` (3,000
calls per 5 minutes, the reset in epoch seconds); :meth:`enforce_rate_limit`
makes the stand-in answer 429 past a lower limit.
"""

from __future__ import annotations

from typing import Any

from .base import Request, Response, iso_millis, route
from .bluesky_views import BlueskyViews
from .bluesky_xrpc import POST, X, cid_for, tid
from .notify import Event, NotifyingStandIn
from .ratelimits import WindowedStandIn

RATE_LIMIT, RATE_WINDOW = 3000, 300
RECORD_TYPES = {"like": "app.bsky.feed.like", "repost": "app.bsky.feed.repost"}


class BlueskyNotifications(WindowedStandIn, NotifyingStandIn, BlueskyViews):
    """listNotifications over an :class:`EventLog`, and the rate-limit window."""

    window_limit, window_seconds = RATE_LIMIT, RATE_WINDOW
    like_reason, repost_reason = "like", "repost"

    # -- rate-limit headers ----------------------------------------------------------
    def dispatch(self, request: Request) -> Response | None:
        key = request.headers.get("authorization") or "anonymous"
        if request.path.startswith(X):
            refused = self.window.refused(key)
            if refused is not None:
                with self.lock:
                    self.requests.append(request)
                return self.rate_limited(refused.reset_in, limit=refused.limit, window=RATE_WINDOW)
        response = super().dispatch(request)
        if response is not None and response.status != 429 and request.path.startswith(X):
            state = self.window.hit(key)
            response.headers.update(
                {
                    "RateLimit-Limit": str(state.limit),
                    "RateLimit-Remaining": str(state.remaining),
                    "RateLimit-Reset": str(state.reset_epoch),
                    "RateLimit-Policy": f"{state.limit};w={RATE_WINDOW}",
                }
            )
        return response

    # -- the endpoint -------------------------------------------------------------------
    @route("GET", X + r"app\.bsky\.notification\.listNotifications", auth="required")
    def list_notifications(self, request: Request) -> Response:
        if request.caller != "author":
            return Response(200, {"notifications": []})
        cursor = request.arg("cursor")
        try:
            limit = max(1, min(int(request.arg("limit") or 50), 100))
            before = int(cursor) if cursor else None
        except ValueError:
            return self.xrpc_error(400, "InvalidRequest", "limit and cursor must be integers")
        page = self.notices.page(max_id=before, limit=limit + 10)
        rows = [row for e in page if (row := self._notification(e)) is not None][:limit]
        body: dict[str, Any] = {"notifications": rows}
        if rows and len(page) >= limit:
            body["cursor"] = str(rows[-1]["_event"])
        for row in rows:
            del row["_event"]
        return Response(200, body)

    def _notification(self, event: Event) -> dict[str, Any] | None:
        item = self.items.get(event.item_id)
        if item is None or item.deleted:
            return None
        actor = self.accounts[event.actor]
        author = {k: v for k, v in self.profile_basic(actor).items() if k != "$type"}
        author["indexedAt"] = "2024-01-01T00:00:00.000Z"
        row: dict[str, Any] = {
            "_event": event.id,
            "author": author,
            "reason": event.kind,
            "isRead": False,
            "indexedAt": iso_millis(event.at),
            "labels": [],
        }
        if event.kind == "reply":
            row.update(uri=item.id, cid=item.extra["cid"], record=item.extra["record"])
            row["reasonSubject"] = item.parent_id
            return row
        subject = {"uri": item.id, "cid": item.extra["cid"]}
        rkey = tid(int(event.at.timestamp() * 1_000_000), event.id)
        when = iso_millis(event.at)
        if event.kind == "quote":
            record: dict[str, Any] = {
                "$type": POST,
                "text": "Quoting this",
                "embed": {"$type": "app.bsky.embed.record", "record": subject},
                "createdAt": when,
            }
            uri = f"at://{actor.id}/{POST}/{rkey}"
        else:
            record = {"$type": RECORD_TYPES[event.kind], "subject": subject, "createdAt": when}
            uri = f"at://{actor.id}/{RECORD_TYPES[event.kind]}/{rkey}"
        row.update(uri=uri, cid=cid_for(record), record=record, reasonSubject=item.id)
        return row
