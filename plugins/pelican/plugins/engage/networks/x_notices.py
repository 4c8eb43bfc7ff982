"""The X adapter's notification feed and rate-limit headers (a base of its class).

X has no notifications API for apps, but a reply mentions whom it answers
(and, as X's clients prefill them, the people above it): ``GET
/2/users/:id/mentions`` with ``since_id`` lists what arrived, newest first,
each tweet with its ``conversation_id`` (our post, for a reply in its
thread). Every read is billed, so each page is spent through the usage meter
(``max_reads_per_day``) like any other read, and the engine asks at most every
15 minutes (``notify_every``). The cursor keeps the newest id and the
account's id (so a quiet check is one billed read, without ``users/me``).
Likes and reposts are not mentions: their figures wait for the safety net.

A conversation a mention named is read with recent search alone, from the
thread's cursor (:func:`light_snapshot`): one request instead of two.

Rate limits are per endpoint and 15-minute window: ``x-rate-limit-remaining``
and ``x-rate-limit-reset`` (epoch seconds) of each endpoint are kept, and
:meth:`XFeed.rate_budget` answers the tightest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests

from .base import Adapter, AdapterContext, RemoteComment, RemoteRef, ThreadSnapshot, replies_only
from .notices import Changes, Notice, Windows, dump_cursor
from .x_thread import replied_to, replies_under, stable_id

MENTION_FIELDS = ["conversation_id", "referenced_tweets", "created_at"]
_ENDPOINT = re.compile(r"\d+")


class XFeed(Adapter):
    """Mentions since the cursor; budgets from the per-endpoint headers."""

    def __init__(self, options: Mapping[str, Any], ctx: AdapterContext) -> None:
        super().__init__(options, ctx)
        self._windows = Windows()
        self._me_id: str | None = None  # known from the cursor
        self.notification_pages = max(1, int(self.options.get("notification_pages", 5)))

    # The adapter's own, used here:
    @property
    def client(self) -> Any:  # tweepy.Client
        raise NotImplementedError

    def _call(self, kind: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError  # the meter asked first, errors mapped

    def _me_data(self) -> dict[str, Any]:
        raise NotImplementedError  # users/me, read once

    def _account_id(self) -> str:
        return str(self._me_data()["id"])

    def _comment(
        self, tweet: dict[str, Any], users: Mapping[str, dict[str, Any]], me_id: str
    ) -> RemoteComment:
        raise NotImplementedError

    # -- ours ----------------------------------------------------------------------
    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Count the answer; keep its endpoint's ``x-rate-limit-*`` window."""
        self._answered()
        headers = {k.lower(): v for k, v in response.headers.items()}
        path = _ENDPOINT.sub(":id", urlsplit(response.url).path)
        headers["x-endpoint"] = f"{response.request.method} {path}"
        self._windows.read(headers, "x-rate-limit", name="x-endpoint")

    def rate_budget(self) -> tuple[int, float] | None:
        return self._windows.budget()

    def changes(self, cursor: str | None, watched: Sequence[RemoteRef]) -> Changes | None:
        if not self.notifications:
            return None
        state, me = self._notice_state(cursor)
        read = self.client.get_users_mentions
        if "since" not in state:
            answer = self._call("reads", read, me, max_results=5)
            newest = (answer.get("meta") or {}).get("newest_id")
            return Changes(dump_cursor(me=me, since=str(newest or "")), baseline=True)
        since = str(state["since"] or "") or None
        changes = Changes(None)
        newest, token = since, None
        for _ in range(self.notification_pages):
            answer = self._call("reads", read, me, since_id=since, max_results=100,
                                pagination_token=token, tweet_fields=MENTION_FIELDS)  # fmt: skip
            for tweet in answer.get("data") or []:
                above = (replied_to(tweet), str(tweet.get("conversation_id") or ""))
                chain = tuple(i for i in above if i)
                changes.notices.append(Notice("reply" if chain else "mention",
                                              stable_id(tweet), chain))  # fmt: skip
            meta = answer.get("meta") or {}
            if meta.get("newest_id") and (newest is None or int(meta["newest_id"]) > int(newest)):
                newest = str(meta["newest_id"])
            token = meta.get("next_token")
            if not token:
                break
        else:
            changes.overflow = True  # more than the pages allowed: the gap is read by schedule
        changes.cursor = dump_cursor(me=me, since=newest or "")
        return changes


def light_snapshot(
    adapter: XFeed,
    post: RemoteRef,
    cursor: str | None,
    found: tuple[list[Any], list[Any], dict[str, Any], bool, str | None],
) -> ThreadSnapshot:
    """The replies a search of ``post``'s conversation found (since ``cursor``): never
    complete, since search reaches seven days back; the figures are kept."""
    tweets, included, users, _, newest = found
    replies = replies_under(post.id, post.id, tweets, included, whole_conversation=True)
    me = adapter.my_id()
    comments = [adapter._comment(t, users, me) for t in replies]
    return replies_only(post, comments, complete=False, cursor=newest or cursor)
