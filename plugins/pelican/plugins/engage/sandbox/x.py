"""A local stand-in for the X API v2: the endpoints tweepy's ``Client`` uses for us.

It answers like api.twitter.com where tweepy or our adapter can tell: snowflake
ids as strings, every tweet with ``edit_history_tweet_ids``, only the
``tweet.fields`` and ``user.fields`` asked for, ``{"data", "includes", "meta"}``
envelopes, problem-shaped errors (``title``, ``detail``, ``type``, ``status``),
a deleted or unknown tweet as HTTP 200 with an ``errors`` array, 403 for
duplicate content and for replies to a deleted tweet, 429 with
``x-rate-limit-limit``/``-remaining``/``-reset`` (epoch seconds), t.co links and
``&amp;`` escapes in returned text, OAuth 1.0a checked by consumer key and
token (the signature is not verified: tweepy signs for api.twitter.com). Recent
search honours ``conversation_id:``, ``from:``, ``since_id``, ``next_token``
and the seven-day window; hidden and non-public replies are left out of it.

Besides the base controls, tests use :meth:`XStandIn.lose_next_response` (the
server acts, the client never hears back), :meth:`XStandIn.quote`,
:meth:`XStandIn.restrict_replies` and ``read_only`` (an app without write rights).
"""

from __future__ import annotations

import hashlib
import html
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import unquote

from .base import Item, Request, Response, StandIn, iso_millis, plain_urls, route

SEARCH_WINDOW = timedelta(days=7)
SNOWFLAKE_EPOCH_MS = 1288834974657
RATE_LIMIT = 300
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
REPLY_TO_GONE = "You attempted to reply to a Tweet that is deleted or not visible to you."
REPLY_RESTRICTED = (
    "Reply to this conversation is not allowed because you have not been mentioned or "
    "otherwise engaged by the author of the post you are replying to."
)
READ_ONLY = (
    "Your client app is not configured with the appropriate oauth1 app permissions "
    "for this endpoint."
)
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')
_STATUS_TITLES = {
    400: "Invalid Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _fields(request: Request, name: str) -> set[str]:
    return {f for f in (request.arg(name) or "").split(",") if f}


def _tco(url: str) -> str:
    return "https://t.co/" + hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()[:10]


class XStandIn(StandIn):
    """api.twitter.com's v2 tweets, users and recent-search endpoints, as the author."""

    network: ClassVar[str] = "x"

    def __init__(self, **kw: Any) -> None:
        self._last_snowflake = 0
        super().__init__(**kw)
        self.consumer_key = "sandbox-x-consumer-key"
        self.consumer_secret = "sandbox-x-consumer-secret"
        self.access_token = f"{self.accounts['author'].id}-sandbox-x-access-token"
        self.access_token_secret = "sandbox-x-access-token-secret"
        self._versions: dict[str, str] = {}  # any version id of an edited tweet -> Item.id
        self.read_only = False  # the app lacks write permission: every POST is a 403

    # -- ids and accounts -----------------------------------------------------------
    def next_id(self) -> str:
        """A snowflake: milliseconds since X's epoch in the high bits, always increasing."""
        now = (int(time.time() * 1000) - SNOWFLAKE_EPOCH_MS) << 22
        self._last_snowflake = max(now, self._last_snowflake + 1)
        return str(self._last_snowflake)

    def handle_for(self, key: str) -> str:
        return "ada_quill" if key == "author" else key

    def account_id(self, key: str) -> str:
        return str(1_400_000_000_000_000_000 + len(self.accounts) + 1)

    # -- settings for `engage sandbox` ---------------------------------------------------
    def network_options(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "web_url": self.base_url,
            "username": self.accounts["author"].handle,
            "timeout": 5,
        }

    def environment(self) -> dict[str, str]:
        return {
            "X_API_KEY": self.consumer_key,
            "X_API_SECRET": self.consumer_secret,
            "X_ACCESS_TOKEN": self.access_token,
            "X_ACCESS_TOKEN_SECRET": self.access_token_secret,
        }

    # -- test controls -----------------------------------------------------------------
    def lose_next_response(self, count: int = 1) -> None:
        """Carry out the next ``count`` successful calls, then stall and drop the answer."""
        self.lose_answers(count)

    def edit(self, item_id: str, text: str, html: str | None = None) -> Item:
        """Edit as X does: the tweet gets a new id, listed in ``edit_history_tweet_ids``."""
        with self.lock:
            item = super().edit(item_id, text, html)
            new_id = self.next_id()
            item.extra.setdefault("versions", []).append(new_id)
            self._versions[new_id] = item.id
            return item

    def restrict_replies(self, item_id: str) -> None:
        """Only accounts the author engaged with may answer ``item_id`` (as X enforces)."""
        with self.lock:
            self.items[item_id].extra["replies_restricted"] = True

    def quote(self, item_id: str, count: int = 1) -> None:
        with self.lock:
            item = self.items[item_id]
            item.extra["quotes"] = item.extra.get("quotes", 0) + count

    def resolve(self, tweet_id: str) -> Item | None:
        """The live item behind any version id."""
        return self.live(self._versions.get(tweet_id, tweet_id))

    def current_id(self, item: Item) -> str:
        versions = item.extra.get("versions") or []
        return str(versions[-1]) if versions else item.id

    # -- errors --------------------------------------------------------------------------
    def rate_limited(self, retry_after: float) -> Response:
        response = self.error(429, "Too Many Requests")
        response.headers.update(
            {
                "x-rate-limit-limit": str(RATE_LIMIT),
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": self.reset_epoch(retry_after),
            }
        )
        return response

    def error(self, status: int, message: str) -> Response:
        title = _STATUS_TITLES.get(status, "Error")
        body = {"title": title, "detail": message, "type": "about:blank", "status": status}
        return Response(status, body, content_type="application/problem+json")

    def _invalid(self, message: str, parameter: str) -> Response:
        body = {
            "errors": [{"parameters": {parameter: []}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }
        return Response(400, body)

    @staticmethod
    def _not_found(tweet_id: str, parameter: str = "id") -> dict[str, Any]:
        return {
            "value": tweet_id,
            "detail": f"Could not find tweet with {parameter}: [{tweet_id}].",
            "title": "Not Found Error",
            "resource_type": "tweet",
            "parameter": parameter,
            "resource_id": tweet_id,
            "type": "https://api.twitter.com/2/problems/resource-not-found",
        }

    def authenticate(self, request: Request, required: bool) -> Response | None:
        """OAuth 1.0a by consumer key and token; the signature is only required to be there."""
        header = request.headers.get("authorization", "")
        params = {k: unquote(v) for k, v in _AUTH_PARAM.findall(header)}
        if (
            header.startswith("OAuth ")
            and params.get("oauth_consumer_key") == self.consumer_key
            and params.get("oauth_token") == self.access_token
            and params.get("oauth_signature")
        ):
            request.viewer = "author"
            return None
        return self.error(401, "Unauthorized")

    # -- rendering ---------------------------------------------------------------------------
    def display(self, text: str) -> tuple[str, list[dict[str, Any]]]:
        """Text as X returns it (t.co links, &amp; escapes) and its ``entities.urls``."""
        out, urls, position, length = [], [], 0, 0
        for start, url in plain_urls(text):
            plain = html.escape(text[position:start], quote=False)
            out.append(plain)
            length += len(plain)
            short = _tco(url)
            display = re.sub(r"^https?://", "", url)
            urls.append(
                {
                    "start": length,
                    "end": length + len(short),
                    "url": short,
                    "expanded_url": url,
                    "display_url": display if len(display) <= 26 else display[:25] + "…",
                }
            )
            out.append(short)
            length += len(short)
            position = start + len(url)
        out.append(html.escape(text[position:], quote=False))
        return "".join(out), urls

    def render_tweet(self, item: Item, fields: set[str]) -> dict[str, Any]:
        text, urls = self.display(item.text)
        versions = [item.id, *item.extra.get("versions", [])]
        data: dict[str, Any] = {
            "id": versions[-1],
            "text": text,
            "edit_history_tweet_ids": versions,
        }
        parent = self.items.get(item.parent_id) if item.parent_id else None
        if "created_at" in fields:
            data["created_at"] = iso_millis(
                item.edited_at if len(versions) > 1 and item.edited_at else item.created_at
            )
        if "author_id" in fields:
            data["author_id"] = self.accounts[item.author].id
        if "conversation_id" in fields:
            data["conversation_id"] = item.root_id or item.id
        if parent is not None and "in_reply_to_user_id" in fields:
            data["in_reply_to_user_id"] = self.accounts[parent.author].id
        if parent is not None and "referenced_tweets" in fields:
            replied = item.extra.get("replied_to") or parent.id
            data["referenced_tweets"] = [{"type": "replied_to", "id": replied}]
        if "public_metrics" in fields:
            data["public_metrics"] = {
                "retweet_count": len(item.reposted_by),
                "reply_count": len(self.children(item.id)),
                "like_count": len(item.liked_by),
                "quote_count": int(item.extra.get("quotes", 0)),
                "bookmark_count": 0,
                "impression_count": 0,
            }
        if "entities" in fields and urls:
            data["entities"] = {"urls": urls}
        return data

    def render_user(self, key: str, fields: set[str]) -> dict[str, Any]:
        account = self.accounts[key]
        data: dict[str, Any] = {"id": account.id, "name": account.name, "username": account.handle}
        if "profile_image_url" in fields:
            data["profile_image_url"] = account.avatar or (
                f"{self.base_url}/avatars/{account.handle}_normal.png"
            )
        if "protected" in fields:
            data["protected"] = False
        return data

    def envelope(self, request: Request, items: list[Item], **meta: Any) -> dict[str, Any]:
        """``{"data", "includes", "meta"}`` for a list of tweets, with the asked expansions."""
        fields = _fields(request, "tweet.fields")
        expansions = _fields(request, "expansions")
        body: dict[str, Any] = {}
        if items:
            body["data"] = [self.render_tweet(i, fields) for i in items]
        includes: dict[str, Any] = {}
        if "author_id" in expansions and items:
            user_fields = _fields(request, "user.fields")
            keys = list(dict.fromkeys(i.author for i in items))
            includes["users"] = [self.render_user(k, user_fields) for k in keys]
        if "referenced_tweets.id" in expansions:
            parents = [self.live(i.parent_id) for i in items if i.parent_id]
            unique = {p.id: p for p in parents if p is not None}
            if unique:
                includes["tweets"] = [self.render_tweet(p, fields) for p in unique.values()]
        if includes:
            body["includes"] = includes
        if items:
            meta = {
                "newest_id": self.current_id(items[0]),
                "oldest_id": self.current_id(items[-1]),
                **meta,
            }
        body["meta"] = {"result_count": len(items), **meta}
        return body

    # -- pagination --------------------------------------------------------------------------
    def _page(
        self, request: Request, items: list[Item], token_name: str, low: int, high: int
    ) -> Response:
        try:
            size = int(request.arg("max_results") or 10)
        except ValueError:
            size = -1
        if not low <= size <= high:
            return self._invalid(
                f"The `max_results` query parameter value [{size}] is not between {low} and {high}",
                "max_results",
            )
        since = request.arg("since_id")
        if since:
            items = [i for i in items if int(self.current_id(i)) > int(since)]
        items.sort(key=lambda i: int(self.current_id(i)), reverse=True)
        token = request.arg(token_name)
        try:
            start = int(token, 36) if token else 0
        except ValueError:
            return self._invalid(f"The `{token_name}` query parameter is invalid", token_name)
        page = items[start : start + size]
        meta: dict[str, Any] = {}
        if start + size < len(items):
            meta["next_token"] = _to36(start + size)
        return Response(200, self.envelope(request, page, **meta))

    # -- routes ------------------------------------------------------------------------------
    @route("POST", r"/2/tweets", auth="required")
    def create_tweet(self, request: Request) -> Response:
        if self.read_only:
            response = self.error(403, READ_ONLY)
            response.body["type"] = "https://api.twitter.com/2/problems/oauth1-permissions"
            response.body["title"] = "Unsupported Authentication"
            return response
        try:
            body = request.json() or {}
        except ValueError:
            return self._invalid("Request body is not valid JSON", "body")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return self._invalid("$.text: is missing but it is required", "text")
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        parent = self.resolve(str(reply_to)) if reply_to else None
        if reply_to and (parent is None or parent.visibility != "public"):
            return self.error(403, REPLY_TO_GONE)
        if parent is not None and parent.extra.get("replies_restricted"):
            return self.error(403, REPLY_RESTRICTED)
        if any(i.text.strip() == text.strip() for i in self.posts_by("author")):
            return self.error(403, DUPLICATE)
        item = self.add_post("author", text, parent_id=parent.id if parent else None)
        if reply_to:
            item.extra["replied_to"] = str(reply_to)
        shown, _ = self.display(text)
        data = {"id": item.id, "text": shown, "edit_history_tweet_ids": [item.id]}
        return Response(201, {"data": data})

    @route("GET", r"/2/tweets", auth="required")
    def lookup_tweets(self, request: Request) -> Response:
        ids = [i for i in (request.arg("ids") or "").split(",") if i]
        if not ids:
            return self._invalid("The `ids` query parameter can not be empty", "ids")
        found = [(i, self.resolve(i)) for i in ids]
        body = self.envelope(request, [item for _, item in found if item is not None])
        body.pop("meta", None)
        errors = [self._not_found(i, "ids") for i, item in found if item is None]
        if errors:
            body["errors"] = errors
        return Response(200, body)

    @route("GET", r"/2/tweets/(?P<tweet_id>\d+)", auth="required")
    def get_tweet(self, request: Request) -> Response:
        tweet_id = request.params["tweet_id"]
        item = self.resolve(tweet_id)
        if item is None:
            return Response(200, {"errors": [self._not_found(tweet_id)]})
        body = self.envelope(request, [item])
        body["data"] = body["data"][0]
        body.pop("meta", None)
        return Response(200, body)

    @route("GET", r"/2/users/me", auth="required")
    def me(self, request: Request) -> Response:
        return Response(200, {"data": self.render_user("author", _fields(request, "user.fields"))})

    @route("GET", r"/2/users/(?P<user_id>\d+)/tweets", auth="required")
    def user_tweets(self, request: Request) -> Response:
        account = self.account_by_id(request.params["user_id"])
        if account is None:
            return self.error(404, f"Could not find user with id: [{request.params['user_id']}].")
        items = [i for i in self.posts_by(account.key) if i.visibility == "public"]
        return self._page(request, items, "pagination_token", 5, 100)

    @route("GET", r"/2/tweets/search/recent", auth="required")
    def search_recent(self, request: Request) -> Response:
        query = request.arg("query") or ""
        if not query.strip():
            return self._invalid("The `query` query parameter can not be empty", "query")
        cutoff = datetime.now(UTC) - SEARCH_WINDOW
        items = [
            i
            for i in self.items.values()
            if not i.deleted
            and not i.hidden
            and i.visibility == "public"
            and i.created_at >= cutoff
            and self._query_matches(query, i)
        ]
        return self._page(request, items, "next_token", 10, 100)

    def _query_matches(self, query: str, item: Item) -> bool:
        """The few operators we need: conversation_id:, from:, -is:retweet, plain words."""
        for term in query.split():
            negated = term.startswith("-")
            name, _, value = term.lstrip("-").partition(":")
            if name == "conversation_id" and value:
                hit = (item.root_id or item.id) == value or self.current_id(item) == value
            elif name == "from" and value:
                hit = self.accounts[item.author].handle.lower() == value.lower()
            elif name == "is" and value == "retweet":
                hit = False  # the stand-in has no retweets as tweets of their own
            elif value:
                hit = True  # other operators are not modelled
            else:
                hit = term.lstrip("-").lower() in item.text.lower()
            if hit == negated:
                return False
        return True

    @route("GET", r"/(?:i/web|[A-Za-z0-9_]{1,15})/status/(?P<tweet_id>\d+)")
    def web_page(self, request: Request) -> Response:
        """The tweet's page, so links in a sandboxed site lead somewhere."""
        item = self.resolve(request.params["tweet_id"])
        if item is None:
            return Response(
                404,
                "<!doctype html><title>Not found</title><p>This post is gone.</p>",
                content_type="text/html; charset=utf-8",
            )
        account = self.accounts[item.author]
        page = (
            f"<!doctype html><meta charset=utf-8><title>{html.escape(account.name)} on X</title>"
            f"<article><p><b>{html.escape(account.name)}</b> @{html.escape(account.handle)}</p>"
            f"<p>{html.escape(item.text)}</p><p><small>{iso_millis(item.created_at)}</small></p></article>"
        )
        return Response(200, page, content_type="text/html; charset=utf-8")


def _to36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out
