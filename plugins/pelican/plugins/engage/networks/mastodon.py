"""Mastodon through Mastodon.py: post, thread, read a conversation, answer in it.

Pitfalls this module exists for. Mastodon.py's default ``ratelimit_method``
sleeps until the window resets (minutes), its default timeout is 300 s and its
``MastodonRatelimitError`` is no ``MastodonAPIError``: we throw, pass our
timeout, and compute the retry time ourselves from ``X-RateLimit-Reset`` (ISO
8601 on Mastodon, epoch seconds on some compatible servers). ``status_reply``
prefixes a mention even when answering yourself, so threads use
``in_reply_to_id``; when answering someone else we add their mention ourselves
(without it Mastodon does not notify them). A server counts length in grapheme
clusters after turning every URL into ``characters_reserved_per_url``
characters and every ``@user@domain`` into ``@user``. The context endpoint
lists only replies the server knows; Mastodon 4.4+ says so with a
``Mastodon-Async-Refresh`` header, on which we wait briefly and refetch, else
report the snapshot incomplete. ``replies_count`` counts direct replies only.

Scheduling: with ``OutgoingPost.scheduled_at`` at least five minutes ahead the
server answers with a *scheduled status* whose id is not the id the post will
have. :meth:`MastodonAdapter.publish` then returns a ref with
``extra["scheduled"] == "1"`` and no URL; :meth:`MastodonAdapter.fetch_thread`
(and :meth:`MastodonAdapter.resolve_scheduled`) finds the published status
later by its text, and the snapshot's ``post`` carries the real id and URL for
the caller to store. Nearer times are published at once by the server.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonServerError,
)

from ..errors import AuthFailed, ConfigError, NetworkError, NotFound, RateLimited, Transient
from ..http_client import retry_after
from ..model import Author, Counts, OutgoingPost, RemoteComment, RemoteRef, ThreadSnapshot
from .base import Adapter, AdapterContext, parse_time, replies_only
from .mastodon_notices import read_notifications
from .mastodon_text import MENTION_RE, html_to_text, text_digest, without_leading_mentions
from .notices import Changes
from .text import grapheme_count, url_spans

log = logging.getLogger(__name__)

TOKEN_ENV = "MASTODON_ACCESS_TOKEN"
DEFAULT_MAX_CHARACTERS = 500
DEFAULT_URL_CHARACTERS = 23
DEFAULT_ASYNC_REFRESH_WAIT = 5.0
VISIBILITIES = ("public", "unlisted", "private", "direct")
SHOWN_VISIBILITIES = ("public", "unlisted")  # what a public comment section may show


class MastodonAdapter(Adapter):
    """One Mastodon account on one server (``base_url`` is the server)."""

    name: ClassVar[str] = "mastodon"

    def __init__(self, options: Mapping[str, Any], ctx: AdapterContext) -> None:
        super().__init__(options, ctx)
        self.async_refresh_wait = self._number("async_refresh_wait", DEFAULT_ASYNC_REFRESH_WAIT)
        self.visibility = str(self.options.get("visibility", "public"))
        if self.visibility not in VISIBILITIES:
            choices = ", ".join(VISIBILITIES)
            raise ConfigError(f"ENGAGE_NETWORKS['mastodon']['visibility'] must be one of {choices}")
        self.mention_on_reply = bool(self.options.get("mention_on_reply", True))
        self._max_override = self._optional_int("max_length")
        self._url_override = self._optional_int("characters_reserved_per_url")
        self._limits: tuple[int, int] | None = None  # (max_characters, characters per URL)
        self.notification_pages = max(1, int(self.options.get("notification_pages", 10)))
        self._api: Mastodon | None = None
        self._secret = ""
        self._me: Any = None
        self._me_id: str | None = None  # the account's id, known from the notification cursor
        self._last_429: Mapping[str, str] | None = None

    # -- options ------------------------------------------------------------------
    def _number(self, key: str, default: float) -> float:
        try:
            return float(self.options.get(key, default))
        except (TypeError, ValueError):
            raise ConfigError(
                f"ENGAGE_NETWORKS['mastodon'][{key!r}] must be a number of seconds"
            ) from None

    def _optional_int(self, key: str) -> int | None:
        if self.options.get(key) is None:
            return None
        try:
            return int(self.options[key])
        except (TypeError, ValueError):
            raise ConfigError(f"ENGAGE_NETWORKS['mastodon'][{key!r}] must be an integer") from None

    # -- text ---------------------------------------------------------------------
    def max_length(self) -> int:
        if self._max_override is not None:
            return self._max_override
        return self._limits[0] if self._limits else DEFAULT_MAX_CHARACTERS

    def url_length(self) -> int:
        """How many characters one URL counts as on this server."""
        if self._url_override is not None:
            return self._url_override
        return self._limits[1] if self._limits else DEFAULT_URL_CHARACTERS

    def measure(self, text: str) -> int:
        """Mastodon's StatusLengthValidator: URLs fixed, mentions without domain, graphemes.

        Mastodon extracts URLs the twitter-text way, with a scheme only
        (``extract_url_without_protocol: false``), and counts each as
        ``characters_reserved_per_url``.
        """
        filler = "x" * self.url_length()
        pieces, position = [], 0
        for start, end in url_spans(text, bare_domains=False):
            pieces += [text[position:start], filler]
            position = end
        countable = "".join(pieces) + text[position:]
        countable = MENTION_RE.sub(lambda m: "@" + m.group(1), countable)
        return grapheme_count(countable)

    def refresh_limits(self) -> int:
        """Read the server's length limits (one call); returns the new max_length()."""
        api = self._client()
        try:
            info = self._call("read the server's limits", api.instance_v2)
        except NotFound:  # servers older than Mastodon 4.0 only have v1
            info = self._call("read the server's limits", api.instance_v1)
        config = info.get("configuration") or {}
        statuses = config.get("statuses") or {}
        max_chars = statuses.get("max_characters") or info.get("max_toot_chars")
        per_url = statuses.get("characters_reserved_per_url")
        self._limits = (
            int(max_chars or DEFAULT_MAX_CHARACTERS),
            int(per_url if per_url is not None else DEFAULT_URL_CHARACTERS),
        )
        return self.max_length()

    # -- the client -------------------------------------------------------------------
    def _client(self) -> Mastodon:
        if self._api is None:
            (token,) = self.ctx.credential(self.name, TOKEN_ENV)
            session = requests.Session()
            session.hooks["response"].append(self._watch_response)
            self._secret = token
            self._api = Mastodon(
                access_token=token,
                api_base_url=self.base_url,
                ratelimit_method="throw",
                request_timeout=self.timeout,
                version_check_mode="none",
                session=session,
            )
        return self._api

    def rate_budget(self) -> tuple[int, float] | None:
        """Requests left in the current rate-limit window and seconds until it resets.

        Mastodon.py keeps the last answer's X-RateLimit headers (the reset already
        moved to our clock); the sync engine reads this to stop short of a 429.
        None before the first call or once the window has passed.
        """
        api = self._api
        if api is None or api.ratelimit_lastcall is None or not api.ratelimit_reset:
            return None
        reset = float(api.ratelimit_reset) - time.time()
        return (int(api.ratelimit_remaining), reset) if reset > 0 else None

    def _watch_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Count the answer; keep a 429's headers: Mastodon.py raises without them."""
        self._answered()
        if response.status_code == 429:
            self._last_429 = dict(response.headers)

    def close(self) -> None:
        if self._api is not None:
            self._api.session.close()

    def _call(self, doing: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one library call, turning its exceptions into ours."""
        self._last_429 = None
        try:
            return func(*args, **kwargs)
        except MastodonRatelimitError as exc:  # not a MastodonAPIError: catch it first
            raise self._rate_limited(doing) from exc
        except MastodonNetworkError as exc:
            raise Transient(self.name, f"could not {doing}: {self._scrub(exc)}") from exc
        except MastodonAPIError as exc:
            raise self._api_error(doing, exc) from exc
        except MastodonError as exc:
            raise NetworkError(self.name, f"could not {doing}: {self._scrub(exc)}") from exc

    def _scrub(self, value: object) -> str:
        text = str(value)
        return text.replace(self._secret, "[token]") if self._secret else text

    def _rate_limited(self, doing: str) -> NetworkError:
        if self._last_429 is None:
            # Mastodon.py also raises this when a normal answer has an unreadable reset header.
            return Transient(self.name, f"could not {doing}: unreadable rate-limit headers")
        retry_after = retry_after_from(self._last_429)
        if retry_after is None and self._api is not None and self._api.ratelimit_reset:
            retry_after = max(0.0, float(self._api.ratelimit_reset) - time.time())
        wait = f"; retry in {retry_after:.0f} s" if retry_after is not None else ""
        return RateLimited(self.name, f"rate limited while trying to {doing}{wait}", retry_after)

    def _api_error(self, doing: str, exc: MastodonAPIError) -> NetworkError:
        # Mastodon.py raises ("Mastodon API returned error", status, reason, server's error text).
        args = exc.args
        status = args[1] if len(args) > 1 and isinstance(args[1], int) else None
        if status is None:
            message = f"could not {doing}: {self._scrub(args[0] if args else exc)}"
        else:
            detail = args[3] if len(args) > 3 and args[3] else args[2] if len(args) > 2 else ""
            message = f"could not {doing}: HTTP {status}: {self._scrub(detail)}"
        if status in (404, 410):
            return NotFound(self.name, message)
        if status in (401, 403):
            return AuthFailed(self.name, message)
        if status == 429:
            return self._rate_limited(doing)
        if status is None or status >= 500 or status == 408 or isinstance(exc, MastodonServerError):
            return Transient(self.name, message)
        return NetworkError(self.name, message)

    def _account(self) -> Any:
        """The authenticated account (cached: one call per adapter)."""
        if self._me is None:
            api = self._client()
            self._me = self._call("check the access token", api.account_verify_credentials)
        return self._me

    def _account_id(self) -> str:
        return str(self._account()["id"])

    # -- writing ---------------------------------------------------------------------
    def publish(self, post: OutgoingPost) -> RemoteRef:
        text = post.text
        if post.link and post.link not in text:  # the composer normally put it there already
            text = f"{text.rstrip()}\n\n{post.link}"
        in_reply_to = self._published(post.reply_to).id if post.reply_to else None
        # Mastodon.py would read a naive time as local time; ours are UTC.
        when = parse_time(post.scheduled_at) if post.scheduled_at else None
        api = self._client()
        result = self._call(
            "publish the post",
            api.status_post,
            text,
            in_reply_to_id=in_reply_to,
            idempotency_key=post.idempotency_key,
            visibility=self.visibility,
            scheduled_at=when,
        )
        if "params" in result and "uri" not in result:  # a ScheduledStatus, not a Status
            return RemoteRef(
                self.name,
                str(result["id"]),
                "",
                {
                    "scheduled": "1",
                    "scheduled_at": parse_time(result.get("scheduled_at")).isoformat(),
                    "digest": text_digest(text),
                    "in_reply_to_id": in_reply_to or "",
                },
            )
        return self._ref(result)

    def find_published(self, post: OutgoingPost) -> RemoteRef | None:
        """Crash recovery past the Idempotency-Key, which the server forgets after about an
        hour: the account's recent status with the same text under the same parent."""
        if post.scheduled_at is not None:
            return None  # the server's scheduler holds it; the key covers the retry
        text = post.text
        if post.link and post.link not in text:
            text = f"{text.rstrip()}\n\n{post.link}"
        parent = self._published(post.reply_to).id if post.reply_to else ""
        want = text_digest(without_leading_mentions(text))
        recent = self._call(
            "list the account's posts",
            self._client().account_statuses,
            self._account()["id"],
            exclude_reblogs=True,
            limit=40,
        )
        for status in recent:  # newest first
            if str(status.get("in_reply_to_id") or "") != parent:
                continue
            seen = without_leading_mentions(html_to_text(status.get("content") or ""))
            if text_digest(seen) == want:
                return self._ref(status)
        return None

    def reply(
        self, to: RemoteRef, text: str, idempotency_key: str, created_at: datetime | None = None
    ) -> RemoteRef:
        """Answer ``to`` in its thread, mentioning its author so they are notified.

        The mention (``@user `` for local authors, ``@user@domain `` for remote
        ones) is added to ``text``; a caller at the very length limit should
        leave room for it, or set the option ``mention_on_reply`` to false.
        """
        to = self._published(to)
        if self.mention_on_reply:
            text = self._with_mention(to, text)
        return self.publish(OutgoingPost(text=text, idempotency_key=idempotency_key, reply_to=to))

    def like(self, ref: RemoteRef) -> str:
        """Favourite ``ref``: Mastodon keeps one favourite per account, so a repeat is harmless."""
        self._call("favourite the comment", self._client().status_favourite, ref.id)
        return ""

    def _with_mention(self, to: RemoteRef, text: str) -> str:
        acct = to.extra.get("acct")
        if not acct:
            status = self._call("fetch the post to answer", self._client().status, to.id)
            acct = str(status["account"]["acct"])
        if acct == str(self._account()["acct"]):
            return text
        username, _, domain = acct.partition("@")
        for match in MENTION_RE.finditer(text):
            if match.group(1).lower() == username.lower() and (
                not domain or domain.lower() in match.group(0).lower()
            ):
                return text
        return f"@{acct} {text}"

    def _published(self, ref: RemoteRef) -> RemoteRef:
        if ref.extra.get("scheduled") != "1":
            return ref
        resolved = self.resolve_scheduled(ref)
        if resolved is None:
            raise Transient(self.name, "the post to answer is scheduled and not published yet")
        return resolved

    def resolve_scheduled(self, ref: RemoteRef) -> RemoteRef | None:
        """The published status behind a scheduled ref; None while it is still pending."""
        api = self._client()
        try:
            self._call("look up the scheduled post", api.scheduled_status, ref.id)
            return None
        except NotFound:
            pass  # gone from the schedule: published, or cancelled
        me = self._account()
        recent = self._call(
            "list the account's posts",
            api.account_statuses,
            me["id"],
            exclude_reblogs=True,
            limit=40,
        )
        for status in recent:  # newest first
            if str(status.get("in_reply_to_id") or "") != ref.extra.get("in_reply_to_id", ""):
                continue
            if text_digest(html_to_text(status.get("content") or "")) == ref.extra.get("digest"):
                return self._ref(status)
        raise NotFound(self.name, "the scheduled post was cancelled or deleted before it went out")

    def _ref(self, status: Any, **extra: str) -> RemoteRef:
        url = status.get("url") or status.get("uri") or ""
        return RemoteRef(self.name, str(status["id"]), str(url), extra)

    # -- reading ---------------------------------------------------------------------
    def fetch_thread(self, post: RemoteRef, cursor: str | None = None) -> ThreadSnapshot:
        """Counts from the status, replies from its context (Mastodon has no incremental read)."""
        target = post
        if post.extra.get("scheduled") == "1":
            resolved = self.resolve_scheduled(post)
            if resolved is None:  # still pending: nothing to read yet
                return ThreadSnapshot(post=post, counts=Counts(), comments=[], complete=False)
            target = resolved
        api = self._client()
        status = self._call("fetch the post", api.status, target.id)
        context, settled = self._context(target.id)
        comments = self._comments(target.id, context.get("descendants") or [], self.my_id())
        counts = Counts(
            likes=int(status.get("favourites_count") or 0),
            reposts=int(status.get("reblogs_count") or 0),
            # replies_count covers direct replies only; the visible tree may be larger.
            replies=max(int(status.get("replies_count") or 0), len(comments)),
        )
        if not target.url:
            target = self._ref(status, **dict(target.extra))
        return ThreadSnapshot(post=target, counts=counts, comments=comments, complete=settled)

    # -- notifications (mastodon_notices) --------------------------------------------
    def changes(self, cursor: str | None, watched: Sequence[RemoteRef]) -> Changes | None:
        """Mentions, favourites, reblogs and edits since the cursor (:mod:`.mastodon_notices`):
        grouped (v2) where the server has them, else v1, which the cursor then remembers."""
        if not self.notifications:
            return None
        state, me = self._notice_state(cursor)
        api = self._client()
        read = functools.partial(self._call, "read the notifications", api.notifications)
        grouped = functools.partial(self._call, "read the notifications", api.grouped_notifications)
        return read_notifications(read, state, me, self.notification_pages, grouped)

    def fetch_changed(self, post: RemoteRef, cursor: str | None = None) -> ThreadSnapshot:
        """The replies alone (one context call): the figures came with the notifications."""
        if post.extra.get("scheduled") == "1" or not post.url:
            return self.fetch_thread(post, cursor)
        context, settled = self._context(post.id)
        comments = self._comments(post.id, context.get("descendants") or [], self.my_id())
        return replies_only(post, comments, complete=settled)

    def _context(self, status_id: str) -> tuple[Any, bool]:
        """The context, refetched while the server says it is still fetching replies."""
        api = self._client()
        deadline = time.monotonic() + self.async_refresh_wait
        context = self._call("fetch the replies", api.status_context, status_id)
        while (refresh := api.get_async_refresh_info(context)) is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                log.info("mastodon: the server is still fetching replies to %s", status_id)
                return context, False
            time.sleep(min(max(float(refresh[1] or 1), 0.1), left))
            context = self._call("fetch the replies", api.status_context, status_id)
        return context, True

    def _comments(self, root_id: str, descendants: list[Any], me: str) -> list[RemoteComment]:
        """Public replies whose whole chain up to the post is public too."""
        shown = [s for s in descendants if s.get("visibility") in SHOWN_VISIBILITIES]
        reachable = {str(root_id)}
        grew = True
        while grew:  # parents come first in Mastodon's order; loop anyway for other servers
            grew = False
            for status in shown:
                sid = str(status["id"])
                if sid not in reachable and str(status.get("in_reply_to_id")) in reachable:
                    reachable.add(sid)
                    grew = True
        return [self._comment(s, me) for s in shown if str(s["id"]) in reachable]

    def _comment(self, status: Any, me: str) -> RemoteComment:
        account = status["account"]
        acct = str(account.get("acct") or account.get("username"))
        edited = status.get("edited_at")
        return RemoteComment(
            ref=self._ref(status, acct=acct),
            parent_id=str(status["in_reply_to_id"]),
            author=Author(
                name=str(account.get("display_name") or account.get("username") or acct),
                handle="@" + full_acct(acct, str(account.get("url") or self.base_url)),
                url=str(account.get("url") or ""),
                avatar=account.get("avatar") or None,
            ),
            html=str(status.get("content") or ""),
            created_at=parse_time(status.get("created_at")),
            edited_at=parse_time(edited) if edited else None,
            is_own=str(account["id"]) == me,
            likes=int(status.get("favourites_count") or 0),
            reposts=int(status.get("reblogs_count") or 0),
        )


def full_acct(acct: str, account_url: str) -> str:
    """``user@domain`` even for local accounts, whose acct has no domain."""
    if "@" in acct:
        return acct
    host = urlsplit(account_url).hostname
    return f"{acct}@{host}" if host else acct


def retry_after_from(headers: Mapping[str, str]) -> float | None:
    """Seconds until the rate-limit window resets, from Mastodon's (or a look-alike's) headers.

    ``X-RateLimit-Reset`` is ISO 8601 on Mastodon, epoch seconds on GoToSocial and
    friends, a delay on some; then ``Retry-After``. ``http_client.retry_after`` reads
    them all, against the server's clock (its Date header).
    """
    return retry_after(headers, ["x-ratelimit-reset", "retry-after"])
