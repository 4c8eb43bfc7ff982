"""A local stand-in for a Mastodon server: the REST API subset Mastodon.py uses.

It answers the way Mastodon 4.4 does where our adapter (and Mastodon.py) can
tell the difference: numeric string ids, ``{"error": "..."}`` bodies, 401
``The access token is invalid`` for a wrong bearer token, ``X-RateLimit-*``
headers on every API response (reset as ISO 8601, or epoch seconds like some
compatible servers when ``reset_style = "epoch"``), ``Idempotency-Key`` kept
per account for an hour, ``scheduled_at`` honoured only when at least five
minutes ahead (nearer times publish at once, as Mastodon does), and the
``Mastodon-Async-Refresh`` header on the context endpoint on request.

Besides the base controls, tests use :meth:`MastodonStandIn.set_async_refresh`,
:meth:`MastodonStandIn.publish_scheduled` and :meth:`MastodonStandIn.reset`
(one server per test module is much faster than one per test). Every account
has a token (``token_for("bob")``), so the real client can act as anyone.
URLs are counted and linked with twitter-text's rule as Mastodon does, so a
URL without a known top-level domain (``https://blog.example/``) counts in full.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import grapheme
from mastodon._url_regex import url_regex  # twitter-text's rule, which Mastodon's extractor uses

from .base import Account, Item, Request, Response, StandIn, route

MAX_CHARACTERS = 500
URL_RESERVED = 23
MIN_SCHEDULE_OFFSET = timedelta(minutes=5)
SCHEDULED_TOTAL_LIMIT = 300
SCHEDULED_DAILY_LIMIT = 50
IDEMPOTENCY_TTL = 3600.0
RATE_LIMIT = 300
RATE_WINDOW = 300.0
# Unauthenticated context calls are capped like Mastodon's StatusesController.
ANON_DESCENDANTS, ANON_DEPTH = 60, 20

_MENTION = re.compile(r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@[\w.-]+\w)?", re.IGNORECASE)
_INVALID_TOKEN = "The access token is invalid"
_NOT_FOUND = "Record not found"

REMOTE_DOMAINS = {"dave": "fedi.example"}


@dataclass
class _Scheduled:
    id: str
    author: str
    scheduled_at: datetime
    params: dict[str, Any]
    created: float = field(default_factory=time.time)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    moment = value.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class MastodonStandIn(StandIn):
    """Mastodon 4.4's statuses, context, instance and credentials endpoints."""

    network: ClassVar[str] = "mastodon"
    version: ClassVar[str] = "4.4.0"

    def __init__(self, **kw: Any) -> None:
        self.tokens: dict[str, str] = {}
        super().__init__(**kw)
        self.reset_style = "iso"  # or "epoch", as GoToSocial and some forks send it
        self.max_characters = MAX_CHARACTERS
        self.url_reserved = URL_RESERVED
        self.scheduled: dict[str, _Scheduled] = {}
        self._idempotency: dict[tuple[str, str], tuple[str, float]] = {}
        self._async_refresh: dict[str, list[int]] = {}  # status id -> [polls left, retry]
        self._hits: dict[str, list[float]] = {}
        self._status_ids = iter(range(113_400_000_000_000_001, 10**19))

    # -- accounts ---------------------------------------------------------------
    def handle_for(self, key: str) -> str:
        return "ada" if key == "author" else key

    def add_account(self, key: str, name: str) -> Account:
        account = super().add_account(key, name)
        self.tokens[f"sandbox-mastodon-{key}-token"] = key
        return account

    def token_for(self, key: str = "author") -> str:
        return next(t for t, k in self.tokens.items() if k == key)

    def next_id(self) -> str:
        return str(next(self._status_ids))

    # -- settings for `engage sandbox` ---------------------------------------------
    def network_options(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "timeout": 5}

    def environment(self) -> dict[str, str]:
        return {"MASTODON_ACCESS_TOKEN": self.token_for("author")}

    # -- test controls ------------------------------------------------------------
    def reset(self) -> None:
        """Forget posts, schedules, faults, settings and the request log; keep the accounts."""
        with self.lock:
            self.items.clear()
            self.scheduled.clear()
            self._idempotency.clear()
            self._async_refresh.clear()
            self._hits.clear()
            self.requests.clear()
            self.clear_faults()
            self.tokens = {f"sandbox-mastodon-{key}-token": key for key in self.accounts}
            self.reset_style = "iso"
            self.max_characters, self.url_reserved = MAX_CHARACTERS, URL_RESERVED

    def set_async_refresh(self, status_id: str, polls: int, retry: int = 1) -> None:
        """Answer the next ``polls`` context calls for ``status_id`` with Mastodon-Async-Refresh."""
        with self.lock:
            self._async_refresh[status_id] = [polls, retry]

    def publish_scheduled(self, scheduled_id: str | None = None) -> list[Item]:
        """Publish ``scheduled_id`` now (or every due one), as Mastodon's worker would."""
        with self.lock:
            due = [
                s
                for s in self.scheduled.values()
                if s.id == scheduled_id
                or (scheduled_id is None and s.scheduled_at <= datetime.now(UTC))
            ]
            return [self._publish_scheduled(s) for s in due]

    # -- the wire shapes ------------------------------------------------------------
    def rate_limited(self, retry_after: float) -> Response:
        headers = {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": self._reset_header(retry_after),
        }
        return Response(429, {"error": "Too many requests"}, headers)

    def error(self, status: int, message: str) -> Response:
        return Response(status, {"error": message})

    def _reset_header(self, seconds: float) -> str:
        if self.reset_style == "epoch":
            return self.reset_epoch(seconds)
        moment = datetime.now(UTC) + timedelta(seconds=seconds)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"

    def dispatch(self, request: Request) -> Response | None:
        response = super().dispatch(request)
        if response is not None and response.status != 429 and request.path.startswith("/api/"):
            response.headers.update(self._rate_headers(request))
        return response

    def _rate_headers(self, request: Request) -> dict[str, str]:
        """Count calls per token in a five-minute window, as Mastodon's headers report them."""
        key = request.headers.get("authorization", "anonymous")
        now = time.time()
        with self.lock:
            hits = [t for t in self._hits.get(key, []) if now - t < RATE_WINDOW]
            hits.append(now)
            self._hits[key] = hits
        return {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(max(RATE_LIMIT - len(hits), 0)),
            "X-RateLimit-Reset": self._reset_header(RATE_WINDOW - (now - hits[0])),
        }

    def _viewer(self, request: Request) -> tuple[str | None, Response | None]:
        """The account key behind the bearer token; a 401 if a token is given but unknown."""
        header = request.headers.get("authorization")
        if not header:
            return None, None
        scheme, _, token = header.partition(" ")
        key = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            return None, self.error(401, _INVALID_TOKEN)
        return key, None

    def _required_viewer(self, request: Request) -> tuple[str, Response | None]:
        key, denied = self._viewer(request)
        if denied is not None or key is None:
            return "", denied or self.error(401, _INVALID_TOKEN)
        return key, None

    def account_json(self, key: str) -> dict[str, Any]:
        account = self.accounts[key]
        domain = REMOTE_DOMAINS.get(key)
        origin = f"https://{domain}" if domain else self.base_url
        url = f"{origin}/@{account.handle}"
        return {
            "id": account.id,
            "username": account.handle,
            "acct": f"{account.handle}@{domain}" if domain else account.handle,
            "display_name": account.name,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "indexable": True,
            "group": False,
            "created_at": "2024-01-01T00:00:00.000Z",
            "note": "",
            "url": url,
            "uri": f"{origin}/users/{account.handle}",
            "avatar": account.avatar or f"{origin}/avatars/{account.handle}.png",
            "avatar_static": account.avatar or f"{origin}/avatars/{account.handle}.png",
            "header": f"{origin}/headers/original/missing.png",
            "header_static": f"{origin}/headers/original/missing.png",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": len(self.posts_by(key)),
            "last_status_at": None,
            "hide_collections": False,
            "noindex": False,
            "emojis": [],
            "roles": [],
            "fields": [],
        }

    def render_html(self, text: str) -> str:
        """Mastodon's plain-text formatting: paragraphs, <br />, linked URLs and mentions."""

        def inline(line: str) -> str:
            out, last = [], 0
            for match in url_regex.finditer(line):
                out.append(self._mentions(html.escape(line[last : match.start(3)], quote=False)))
                out.append(_link_html(match.group(3)))
                last = match.end(3)
            out.append(self._mentions(html.escape(line[last:], quote=False)))
            return "".join(out)

        paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p]
        return "".join(
            "<p>" + "<br />".join(inline(line) for line in p.split("\n")) + "</p>"
            for p in paragraphs
        )

    def _mentions(self, escaped: str) -> str:
        def link(match: re.Match[str]) -> str:
            account = next((a for a in self.accounts.values() if a.handle == match.group(1)), None)
            if account is None:
                return match.group(0)
            url = self.account_json(account.key)["url"]
            return (
                f'<span class="h-card" translate="no"><a href="{url}" class="u-url mention">'
                f"@<span>{account.handle}</span></a></span>"
            )

        return _MENTION.sub(link, escaped)

    def status_json(self, item: Item, viewer: str | None = None) -> dict[str, Any]:
        account = self.accounts[item.author]
        parent = self.items.get(item.parent_id) if item.parent_id else None
        return {
            "id": item.id,
            "created_at": _iso(item.created_at),
            "edited_at": _iso(item.edited_at),
            "in_reply_to_id": item.parent_id,
            "in_reply_to_account_id": self.accounts[parent.author].id if parent else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": item.visibility,
            "language": "en",
            "uri": f"{self.base_url}/users/{account.handle}/statuses/{item.id}",
            "url": f"{self.base_url}/@{account.handle}/{item.id}",
            "replies_count": len(self.children(item.id)),
            "reblogs_count": len(item.reposted_by),
            "favourites_count": len(item.liked_by),
            "quotes_count": 0,
            "favourited": viewer in item.liked_by,
            "reblogged": viewer in item.reposted_by,
            "muted": False,
            "bookmarked": False,
            "pinned": False,
            "content": item.html if item.html is not None else self.render_html(item.text),
            "filtered": [],
            "reblog": None,
            "quote": None,
            "application": {"name": "Web", "website": None},
            "account": self.account_json(item.author),
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def scheduled_json(self, scheduled: _Scheduled) -> dict[str, Any]:
        return {
            "id": scheduled.id,
            "scheduled_at": _iso(scheduled.scheduled_at),
            "params": dict(scheduled.params),
            "media_attachments": [],
        }

    def instance_configuration(self) -> dict[str, Any]:
        return {
            "urls": {"streaming": self.base_url.replace("http", "ws", 1)},
            "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
            "statuses": {
                "max_characters": self.max_characters,
                "max_media_attachments": 4,
                "characters_reserved_per_url": self.url_reserved,
            },
            "media_attachments": {
                "supported_mime_types": ["image/png"],
                "image_size_limit": 16777216,
            },
            "polls": {"max_options": 4, "max_characters_per_option": 50},
            "translation": {"enabled": False},
        }

    def _visible(self, item: Item | None, viewer: str | None) -> bool:
        if item is None or item.deleted:
            return False
        if item.visibility in ("public", "unlisted"):
            return True
        return viewer is not None  # the signed-in viewer follows / is mentioned by everyone here

    # -- routes -------------------------------------------------------------------
    @route("GET", r"/api/v2/instance/?")
    def get_instance_v2(self, request: Request) -> Response:
        host = self.base_url.split("://", 1)[1]
        return Response(
            200,
            {
                "domain": host,
                "title": "Mastodon stand-in",
                "version": self.version,
                "source_url": "https://github.com/mastodon/mastodon",
                "description": "A local stand-in for tests",
                "usage": {"users": {"active_month": len(self.accounts)}},
                "thumbnail": {"url": f"{self.base_url}/thumbnail.png"},
                "languages": ["en"],
                "configuration": self.instance_configuration(),
                "registrations": {"enabled": False, "approval_required": False, "message": None},
                "contact": {"email": "admin@example.invalid", "account": None},
                "rules": [],
            },
        )

    @route("GET", r"/api/v1/instance/?")
    def get_instance_v1(self, request: Request) -> Response:
        host = self.base_url.split("://", 1)[1]
        return Response(
            200,
            {
                "uri": host,
                "title": "Mastodon stand-in",
                "short_description": "A local stand-in for tests",
                "description": "",
                "email": "admin@example.invalid",
                "version": self.version,
                "urls": {"streaming_api": self.base_url.replace("http", "ws", 1)},
                "stats": {"user_count": len(self.accounts), "status_count": len(self.items)},
                "languages": ["en"],
                "registrations": False,
                "approval_required": False,
                "invites_enabled": False,
                "configuration": self.instance_configuration(),
                "contact_account": None,
                "rules": [],
            },
        )

    @route("GET", r"/api/v1/accounts/verify_credentials")
    def verify_credentials(self, request: Request) -> Response:
        viewer, denied = self._required_viewer(request)
        if denied:
            return denied
        body = self.account_json(viewer)
        body["source"] = {"privacy": "public", "sensitive": False, "language": "en", "note": ""}
        return Response(200, body)

    @route("GET", r"/api/v1/accounts/(?P<account_id>\d+)")
    def get_account(self, request: Request) -> Response:
        _viewer, denied = self._viewer(request)
        account = self.account_by_id(request.params["account_id"])
        if denied or account is None:
            return denied or self.error(404, _NOT_FOUND)
        return Response(200, self.account_json(account.key))

    @route("GET", r"/api/v1/accounts/(?P<account_id>\d+)/statuses")
    def account_statuses(self, request: Request) -> Response:
        viewer, denied = self._viewer(request)
        account = self.account_by_id(request.params["account_id"])
        if denied or account is None:
            return denied or self.error(404, _NOT_FOUND)
        limit = min(int(request.arg("limit") or 20), 40)
        items = [i for i in reversed(self.posts_by(account.key)) if self._visible(i, viewer)]
        if request.arg("exclude_replies") in ("1", "true"):
            items = [i for i in items if i.parent_id is None]
        if max_id := request.arg("max_id"):
            items = [i for i in items if int(i.id) < int(max_id)]
        return Response(200, [self.status_json(i, viewer) for i in items[:limit]])

    @route("GET", r"/api/v1/statuses/(?P<status_id>\d+)")
    def get_status(self, request: Request) -> Response:
        viewer, denied = self._viewer(request)
        item = self.items.get(request.params["status_id"])
        if denied:
            return denied
        if item is None or not self._visible(item, viewer):
            return self.error(404, _NOT_FOUND)
        return Response(200, self.status_json(item, viewer))

    @route("DELETE", r"/api/v1/statuses/(?P<status_id>\d+)")
    def delete_status(self, request: Request) -> Response:
        viewer, denied = self._required_viewer(request)
        if denied:
            return denied
        item = self.live(request.params["status_id"])
        if item is None:
            return self.error(404, _NOT_FOUND)
        if item.author != viewer:
            return self.error(403, "This action is not allowed")
        body = self.status_json(item, viewer)
        body["text"] = item.text
        item.deleted = True
        return Response(200, body)

    @route("GET", r"/api/v1/statuses/(?P<status_id>\d+)/context")
    def get_context(self, request: Request) -> Response:
        viewer, denied = self._viewer(request)
        item = self.items.get(request.params["status_id"])
        if denied:
            return denied
        if item is None or not self._visible(item, viewer):
            return self.error(404, _NOT_FOUND)
        ancestors: list[Item] = []
        parent = self.live(item.parent_id) if item.parent_id else None
        while parent is not None:
            ancestors.insert(0, parent)
            parent = self.live(parent.parent_id) if parent.parent_id else None
        descendants = [d for d, depth in self._tree(item.id, 1) if viewer or depth <= ANON_DEPTH]
        descendants = [d for d in descendants if self._visible(d, viewer) and not d.hidden]
        if viewer is None:
            ancestors, descendants = ancestors[-40:], descendants[:ANON_DESCENDANTS]
        headers = self._async_refresh_header(item.id, len(descendants)) if viewer else {}
        body = {
            "ancestors": [self.status_json(a, viewer) for a in ancestors],
            "descendants": [self.status_json(d, viewer) for d in descendants],
        }
        return Response(200, body, headers)

    def _tree(self, item_id: str, depth: int) -> Iterator[tuple[Item, int]]:
        """Descendants depth first, as Mastodon orders them; hidden ones prune their subtree."""
        for child in self.children(item_id):
            yield child, depth
            if not child.hidden:
                yield from self._tree(child.id, depth + 1)

    def _async_refresh_header(self, status_id: str, count: int) -> dict[str, str]:
        state = self._async_refresh.get(status_id)
        if not state or state[0] <= 0:
            return {}
        state[0] -= 1
        refresh_id = f"context:{status_id}:refresh"
        return {
            "Mastodon-Async-Refresh": f'id="{refresh_id}", retry={state[1]}, result_count={count}'
        }

    @route("GET", r"/api/v1_alpha/async_refreshes/(?P<refresh_id>[^/]+)")
    def get_async_refresh(self, request: Request) -> Response:
        _viewer, denied = self._required_viewer(request)
        if denied:
            return denied
        status_id = request.params["refresh_id"].split(":")[1:2]
        state = self._async_refresh.get(status_id[0] if status_id else "")
        if state is None:
            return self.error(404, _NOT_FOUND)
        # Polling the refresh also moves it along, so await_async_refresh terminates.
        status = "running" if state[0] > 0 else "finished"
        state[0] = max(state[0] - 1, 0)
        refresh = {"id": request.params["refresh_id"], "status": status, "result_count": None}
        return Response(200, {"async_refresh": refresh})

    @route("POST", r"/api/v1/statuses")
    def post_status(self, request: Request) -> Response:
        viewer, denied = self._required_viewer(request)
        if denied:
            return denied
        params = request.form()
        key = request.headers.get("idempotency-key")
        if key and (earlier := self._idempotent(viewer, key)) is not None:
            return earlier
        text = params.get("status", "")
        if not text.strip():
            return self.error(422, "Validation failed: Text can't be blank")
        if countable_length(text, self.url_reserved) > self.max_characters:
            return self.error(
                422, f"Validation failed: Text character limit of {self.max_characters} exceeded"
            )
        parent_id = params.get("in_reply_to_id") or None
        if parent_id and not self._visible(self.items.get(parent_id), viewer):
            return self.error(404, "The post you are trying to reply to does not appear to exist.")
        visibility = params.get("visibility") or "public"
        if visibility not in ("public", "unlisted", "private", "direct"):
            return self.error(422, "Validation failed: Visibility is not included in the list")
        if raw_when := params.get("scheduled_at"):
            try:
                when = _parse_when(raw_when)
            except ValueError:
                return self.error(422, "Validation failed: Scheduled at is invalid")
            if when > datetime.now(UTC) + MIN_SCHEDULE_OFFSET:
                return self._schedule(viewer, key, when, text, parent_id, visibility)
        item = self.add_post(viewer, text, parent_id=parent_id, visibility=visibility)
        if key:
            self._idempotency[(viewer, key)] = (item.id, time.time())
        return Response(200, self.status_json(item, viewer))

    def _idempotent(self, viewer: str, key: str) -> Response | None:
        """Mastodon answers a repeated key with the status (or scheduled status) it made."""
        known = self._idempotency.get((viewer, key))
        if known is None or time.time() - known[1] > IDEMPOTENCY_TTL:
            return None
        if known[0] in self.scheduled:
            return Response(200, self.scheduled_json(self.scheduled[known[0]]))
        item = self.live(known[0])
        return Response(200, self.status_json(item, viewer)) if item else None

    def _schedule(
        self,
        viewer: str,
        key: str | None,
        when: datetime,
        text: str,
        parent_id: str | None,
        visibility: str,
    ) -> Response:
        mine = [s for s in self.scheduled.values() if s.author == viewer]
        if len(mine) >= SCHEDULED_TOTAL_LIMIT:
            return self.error(
                422,
                "Validation failed: Scheduled at You have exceeded the limit of "
                f"{SCHEDULED_TOTAL_LIMIT} scheduled posts",
            )
        if sum(s.scheduled_at.date() == when.date() for s in mine) >= SCHEDULED_DAILY_LIMIT:
            return self.error(
                422,
                "Validation failed: Scheduled at You have exceeded the limit of "
                f"{SCHEDULED_DAILY_LIMIT} scheduled posts for today",
            )
        params = {
            "text": text,
            "poll": None,
            "media_ids": None,
            "sensitive": None,
            "spoiler_text": None,
            "visibility": visibility,
            "scheduled_at": None,
            "language": None,
            "application_id": 1,
            "in_reply_to_id": int(parent_id) if parent_id else None,
            "idempotency": None,
            "with_rate_limit": False,
        }
        scheduled = _Scheduled(id=self.next_id(), author=viewer, scheduled_at=when, params=params)
        self.scheduled[scheduled.id] = scheduled
        if key:
            self._idempotency[(viewer, key)] = (scheduled.id, time.time())
        return Response(200, self.scheduled_json(scheduled))

    def _publish_scheduled(self, scheduled: _Scheduled) -> Item:
        del self.scheduled[scheduled.id]
        parent = scheduled.params.get("in_reply_to_id")
        return self.add_post(
            scheduled.author,
            scheduled.params["text"],
            parent_id=str(parent) if parent else None,
            visibility=scheduled.params["visibility"],
        )

    @route("GET", r"/api/v1/scheduled_statuses")
    def list_scheduled(self, request: Request) -> Response:
        viewer, denied = self._required_viewer(request)
        if denied:
            return denied
        mine = [s for s in self.scheduled.values() if s.author == viewer]
        return Response(200, [self.scheduled_json(s) for s in mine])

    @route("GET", r"/api/v1/scheduled_statuses/(?P<scheduled_id>\d+)")
    def get_scheduled(self, request: Request) -> Response:
        viewer, denied = self._required_viewer(request)
        if denied:
            return denied
        scheduled = self.scheduled.get(request.params["scheduled_id"])
        if scheduled is None or scheduled.author != viewer:
            return self.error(404, _NOT_FOUND)
        return Response(200, self.scheduled_json(scheduled))

    @route("DELETE", r"/api/v1/scheduled_statuses/(?P<scheduled_id>\d+)")
    def delete_scheduled(self, request: Request) -> Response:
        viewer, denied = self._required_viewer(request)
        if denied:
            return denied
        scheduled = self.scheduled.get(request.params["scheduled_id"])
        if scheduled is None or scheduled.author != viewer:
            return self.error(404, _NOT_FOUND)
        del self.scheduled[scheduled.id]
        return Response(200, {})


def countable_length(text: str, url_reserved: int = URL_RESERVED) -> int:
    """Mastodon's StatusLengthValidator: URLs fixed, ``@user@domain`` as ``@user``, graphemes."""
    countable = url_regex.sub(lambda m: m.group(2) + "x" * url_reserved, text)
    countable = _MENTION.sub(lambda m: "@" + m.group(1), countable)
    return int(grapheme.length(countable))


def _link_html(url: str) -> str:
    """A URL the way Mastodon links it: scheme hidden, long paths cut with an ellipsis."""
    scheme, _, rest = url.partition("://")
    shown, hidden = rest[:30], rest[30:]
    css = "ellipsis" if hidden else ""
    return (
        f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{html.escape(scheme)}://</span>'
        f'<span class="{css}">{html.escape(shown)}</span>'
        f'<span class="invisible">{html.escape(hidden)}</span></a>'
    )


def _parse_when(raw: str) -> datetime:
    parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
