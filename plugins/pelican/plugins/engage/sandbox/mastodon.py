"""A local stand-in for a Mastodon server: the REST API subset Mastodon.py uses.

It answers the way Mastodon 4.4 does where our adapter (and Mastodon.py) can
tell the difference (checked against recorded answers, tests/recordings/mastodon):
numeric string ids, ``{"error": "..."}`` bodies (404 ``Not Found`` for a status,
``Record not found`` elsewhere), 401 ``The access token is invalid`` for a wrong
bearer token, ``X-RateLimit-*``
headers on every API response (reset as ISO 8601, or epoch seconds like some
compatible servers when ``reset_style = "epoch"``), ``Idempotency-Key`` kept
per account for an hour, ``scheduled_at`` honoured only when at least five
minutes ahead (nearer times publish at once, as Mastodon does), and the
``Mastodon-Async-Refresh`` header on the context endpoint on request.

Besides the base controls, tests use :meth:`MastodonStandIn.set_async_refresh`,
:meth:`MastodonStandIn.publish_scheduled` and :meth:`MastodonStandIn.reset`
(one server per test module is much faster than one per test). Notifications come
as v1 and as grouped v2 (Mastodon 4.3+, shaped and paged like the recorded answers);
``has_grouped_notifications = False`` (or ``MastodonStandIn(grouped_notifications=False)``)
makes it an older server, whose v2 answers 404. Every account has a token
(``token_for("bob")``), so the real client can act as anyone.
URLs are counted and linked by the stand-in's own rule (``mastodon_text``), which
counts a URL without a real top-level domain (``https://blog.example/``) in full
as Mastodon does; the JSON entities are built in ``mastodon_views``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from .base import Account, Item, Request, Response, route
from .mastodon_text import URL_RESERVED, countable_length
from .mastodon_views import MAX_CHARACTERS, NOTIFICATION_TYPES, MastodonViews, Scheduled
from .notify import NotifyingStandIn

MIN_SCHEDULE_OFFSET = timedelta(minutes=5)
SCHEDULED_TOTAL_LIMIT = 300
SCHEDULED_DAILY_LIMIT = 50
IDEMPOTENCY_TTL = 3600.0
RATE_LIMIT = 300
RATE_WINDOW = 300.0
# Unauthenticated context calls are capped like Mastodon's StatusesController.
ANON_DESCENDANTS, ANON_DEPTH = 60, 20
# What /api/v2/notifications groups unless asked otherwise (follows: the stand-in has none).
GROUPABLE = {"favourite", "reblog"}

_INVALID_TOKEN = "The access token is invalid"
_NOT_FOUND = "Record not found"
# GET /api/v1/statuses/:id (and its context, same controller) words it differently (recorded).
_STATUS_NOT_FOUND = "Not Found"


class MastodonStandIn(NotifyingStandIn, MastodonViews):
    """Mastodon 4.4's statuses, context, instance and credentials endpoints."""

    network: ClassVar[str] = "mastodon"
    like_reason, repost_reason = "favourite", "reblog"  # the notification types

    def __init__(self, *, grouped_notifications: bool = True, **kw: Any) -> None:
        """``grouped_notifications=False``: a server older than Mastodon 4.3, which answers
        ``/api/v2/notifications`` with 404 (tests may also set ``has_grouped_notifications``)."""
        self.tokens: dict[str, str] = {}
        self._grouped_default = grouped_notifications
        self.has_grouped_notifications = grouped_notifications
        super().__init__(**kw)
        self.reset_style = "iso"  # or "epoch", as GoToSocial and some forks send it
        self.scheduled: dict[str, Scheduled] = {}
        self._idempotency: dict[tuple[str, str], tuple[str, float]] = {}
        self._async_refresh: dict[str, list[int]] = {}  # status id -> [polls left, retry]
        self._hits: dict[str, list[float]] = {}
        self.rate_limit = RATE_LIMIT  # calls per token and window, as the headers report
        self.enforcing = False  # answer 429 past the limit (tests of pacing turn this on)
        self._status_ids = iter(range(113_400_000_000_000_001, 10**19))

    # -- accounts ---------------------------------------------------------------
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
            super().reset()
            self.scheduled.clear()
            self._idempotency.clear()
            self._async_refresh.clear()
            self._hits.clear()
            self.rate_limit, self.enforcing = RATE_LIMIT, False
            self.tokens = {f"sandbox-mastodon-{key}-token": key for key in self.accounts}
            self.reset_style = "iso"
            self.max_characters, self.url_reserved = MAX_CHARACTERS, URL_RESERVED
            self.has_grouped_notifications = self._grouped_default

    # -- notifications (sandbox/notify.py) ---------------------------------------------
    @route("GET", r"/api/v1/notifications", auth="required")
    def notifications(self, request: Request) -> Response:
        """The author's notifications, newest first, with Mastodon's paging parameters."""
        if request.caller != "author":
            return Response(200, [])
        page = self.notices.page(
            kinds=_kinds(request, "types"), **_paging(request), limit=_limit(request)
        )
        body = []
        for event in page:
            item = self.items.get(event.item_id)
            if item is None or item.deleted:
                continue  # Mastodon drops notifications of deleted statuses
            body.append(
                {
                    "id": str(event.id),
                    "type": NOTIFICATION_TYPES[event.kind],
                    "created_at": _iso_ms(event.at),
                    "group_key": f"ungrouped-{event.id}",
                    "account": self.account_json(event.actor),
                    "status": self.status_json(item, "author"),
                }
            )
        return Response(200, body)

    @route("GET", r"/api/v2/notifications", auth="required")
    def grouped_notifications(self, request: Request) -> Response:
        """Grouped notifications (Mastodon 4.3+): ``limit`` counts groups, favourites and
        reblogs of one status are grouped unless ``grouped_types[]`` says otherwise.
        With ``has_grouped_notifications`` False, answered as by an older server: 404."""
        if not self.has_grouped_notifications:
            return self.error(404, f"no route for {request.path}")
        expand = request.arg("expand_accounts") or "partial_avatars"
        if request.caller != "author":
            return Response(200, self.grouped_notifications_json([], expand))
        grouped = _kinds(request, "grouped_types")
        groups = self.notices.group_page(
            kinds=_kinds(request, "types"),
            grouped=GROUPABLE if grouped is None else grouped,
            keep=lambda event: self.live(event.item_id) is not None,
            **_paging(request),
            limit=_limit(request),
        )
        headers = {}
        if groups:
            low = min(events[-1].id for _, events in groups)
            high = max(events[0].id for _, events in groups)
            url = f"{self.base_url}{request.path}?limit={_limit(request)}"
            headers["Link"] = f'<{url}&max_id={low}>; rel="next", <{url}&min_id={high}>; rel="prev"'
        return Response(200, self.grouped_notifications_json(groups, expand), headers)

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

    def _reset_header(self, seconds: float) -> str:
        if self.reset_style == "epoch":
            return self.reset_epoch(seconds)
        return self.reset_iso(seconds)

    def enforce_rate_limit(self, limit: int | None = RATE_LIMIT) -> None:
        """Answer 429 once a token has made ``limit`` calls in the window (None: only report)."""
        self.rate_limit = limit if limit is not None else RATE_LIMIT
        self.enforcing = limit is not None

    def dispatch(self, request: Request) -> Response | None:
        if self.enforcing and request.path.startswith("/api/"):
            key = request.headers.get("authorization", "anonymous")
            now = time.time()
            with self.lock:
                recent = [t for t in self._hits.get(key, []) if now - t < RATE_WINDOW]
            if len(recent) >= self.rate_limit:
                self.requests.append(request)
                return self.rate_limited(RATE_WINDOW - (now - recent[0]))
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
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(self.rate_limit - len(hits), 0)),
            "X-RateLimit-Reset": self._reset_header(RATE_WINDOW - (now - hits[0])),
        }

    def authenticate(self, request: Request, required: bool) -> Response | None:
        """The account behind the bearer token; 401 for an unknown one (or none, if required)."""
        if not request.headers.get("authorization") and not required:
            return None
        request.viewer = self.tokens.get(request.bearer() or "")
        if request.viewer is not None:
            return None
        refusal = self.error(401, _INVALID_TOKEN)
        refusal.headers["WWW-Authenticate"] = (
            'Bearer realm="Doorkeeper", error="invalid_token", '
            f'error_description="{_INVALID_TOKEN}"'
        )
        return refusal

    # -- routes -------------------------------------------------------------------
    @route("GET", r"/api/v2/instance/?")
    def get_instance_v2(self, request: Request) -> Response:
        return Response(200, self.instance_json(2))

    @route("GET", r"/api/v1/instance/?")
    def get_instance_v1(self, request: Request) -> Response:
        return Response(200, self.instance_json(1))

    @route("GET", r"/api/v1/accounts/verify_credentials", auth="required")
    def verify_credentials(self, request: Request) -> Response:
        body = self.account_json(request.caller)
        body["source"] = {"privacy": "public", "sensitive": False, "language": "en", "note": ""}
        return Response(200, body)

    @route("GET", r"/api/v1/accounts/(?P<account_id>\d+)", auth="optional")
    def get_account(self, request: Request) -> Response:
        account = self.account_by_id(request.params["account_id"])
        if account is None:
            return self.error(404, _NOT_FOUND)
        return Response(200, self.account_json(account.key))

    @route("GET", r"/api/v1/accounts/(?P<account_id>\d+)/statuses", auth="optional")
    def account_statuses(self, request: Request) -> Response:
        viewer = request.viewer
        account = self.account_by_id(request.params["account_id"])
        if account is None:
            return self.error(404, _NOT_FOUND)
        limit = min(int(request.arg("limit") or 20), 40)
        items = [i for i in reversed(self.posts_by(account.key)) if self.visible(i, viewer)]
        if request.arg("exclude_replies") in ("1", "true"):
            items = [i for i in items if i.parent_id is None]
        if max_id := request.arg("max_id"):
            items = [i for i in items if int(i.id) < int(max_id)]
        return Response(200, [self.status_json(i, viewer) for i in items[:limit]])

    @route("GET", r"/api/v1/statuses/(?P<status_id>\d+)", auth="optional")
    def get_status(self, request: Request) -> Response:
        item = self.items.get(request.params["status_id"])
        if item is None or not self.visible(item, request.viewer):
            return self.error(404, _STATUS_NOT_FOUND)
        return Response(200, self.status_json(item, request.viewer))

    @route("DELETE", r"/api/v1/statuses/(?P<status_id>\d+)", auth="required")
    def delete_status(self, request: Request) -> Response:
        item = self.live(request.params["status_id"])
        if item is None:
            return self.error(404, _NOT_FOUND)
        if item.author != request.caller:
            return self.error(403, "This action is not allowed")
        body = self.status_json(item, request.caller)
        body["text"] = item.text
        item.deleted = True
        return Response(200, body)

    @route("POST", r"/api/v1/statuses/(?P<status_id>\d+)/favourite", auth="required")
    def favourite(self, request: Request) -> Response:
        """One favourite per account: favouriting again changes nothing, as on Mastodon."""
        item = self.items.get(request.params["status_id"])
        if item is None or not self.visible(item, request.caller):
            return self.error(404, _NOT_FOUND)
        item.liked_by.add(request.caller)
        return Response(200, self.status_json(item, request.caller))

    @route("GET", r"/api/v1/statuses/(?P<status_id>\d+)/context", auth="optional")
    def get_context(self, request: Request) -> Response:
        viewer = request.viewer
        item = self.items.get(request.params["status_id"])
        if item is None or not self.visible(item, viewer):
            return self.error(404, _STATUS_NOT_FOUND)
        ancestors: list[Item] = []
        parent = self.live(item.parent_id) if item.parent_id else None
        while parent is not None:
            ancestors.insert(0, parent)
            parent = self.live(parent.parent_id) if parent.parent_id else None
        descendants = [d for d, depth in self._tree(item.id, 1) if viewer or depth <= ANON_DEPTH]
        descendants = [d for d in descendants if self.visible(d, viewer) and not d.hidden]
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

    @route("GET", r"/api/v1_alpha/async_refreshes/(?P<refresh_id>[^/]+)", auth="required")
    def get_async_refresh(self, request: Request) -> Response:
        status_id = request.params["refresh_id"].split(":")[1:2]
        state = self._async_refresh.get(status_id[0] if status_id else "")
        if state is None:
            return self.error(404, _NOT_FOUND)
        # Polling the refresh also moves it along, so await_async_refresh terminates.
        status = "running" if state[0] > 0 else "finished"
        state[0] = max(state[0] - 1, 0)
        refresh = {"id": request.params["refresh_id"], "status": status, "result_count": None}
        return Response(200, {"async_refresh": refresh})

    @route("POST", r"/api/v1/statuses", auth="required")
    def post_status(self, request: Request) -> Response:
        viewer = request.caller
        params = request.form()
        key = request.headers.get("idempotency-key")
        # Permissive mode: the key is forgotten (as after Mastodon's hour), every retry posts.
        if key and not self.permissive and (earlier := self._idempotent(viewer, key)) is not None:
            return earlier
        text = params.get("status", "")
        if not text.strip():
            return self.error(422, "Validation failed: Text can't be blank")
        if countable_length(text, self.url_reserved) > self.max_characters:
            return self.error(
                422, f"Validation failed: Text character limit of {self.max_characters} exceeded"
            )
        parent_id = params.get("in_reply_to_id") or None
        if parent_id and not self.visible(self.items.get(parent_id), viewer):
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
        scheduled = Scheduled(id=self.next_id(), author=viewer, scheduled_at=when, params=params)
        self.scheduled[scheduled.id] = scheduled
        if key:
            self._idempotency[(viewer, key)] = (scheduled.id, time.time())
        return Response(200, self.scheduled_json(scheduled))

    def _publish_scheduled(self, scheduled: Scheduled) -> Item:
        del self.scheduled[scheduled.id]
        parent = scheduled.params.get("in_reply_to_id")
        return self.add_post(
            scheduled.author,
            scheduled.params["text"],
            parent_id=str(parent) if parent else None,
            visibility=scheduled.params["visibility"],
        )

    @route("GET", r"/api/v1/scheduled_statuses", auth="required")
    def list_scheduled(self, request: Request) -> Response:
        mine = [s for s in self.scheduled.values() if s.author == request.caller]
        return Response(200, [self.scheduled_json(s) for s in mine])

    @route("GET", r"/api/v1/scheduled_statuses/(?P<scheduled_id>\d+)", auth="required")
    def get_scheduled(self, request: Request) -> Response:
        scheduled = self.scheduled.get(request.params["scheduled_id"])
        if scheduled is None or scheduled.author != request.caller:
            return self.error(404, _NOT_FOUND)
        return Response(200, self.scheduled_json(scheduled))

    @route("DELETE", r"/api/v1/scheduled_statuses/(?P<scheduled_id>\d+)", auth="required")
    def delete_scheduled(self, request: Request) -> Response:
        scheduled = self.scheduled.get(request.params["scheduled_id"])
        if scheduled is None or scheduled.author != request.caller:
            return self.error(404, _NOT_FOUND)
        del self.scheduled[scheduled.id]
        return Response(200, {})


def _kinds(request: Request, name: str) -> set[str] | None:
    """The stand-in's event kinds that ``name[]`` asks for (None: not asked, so all)."""
    asked = set(request.query.get(f"{name}[]", []) + request.query.get(name, []))
    if not asked:
        return None
    return {kind for kind, mastodon in NOTIFICATION_TYPES.items() if mastodon in asked}


def _paging(request: Request) -> dict[str, int | None]:
    """``since_id``, ``min_id`` and ``max_id`` as numbers (None when absent or not one)."""
    values = {name: request.arg(name) for name in ("since_id", "min_id", "max_id")}
    return {k: int(v) if v and v.isdigit() else None for k, v in values.items()}


def _limit(request: Request) -> int:
    return max(1, min(int(request.arg("limit") or 40), 80))


def _iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_when(raw: str) -> datetime:
    parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
