"""A local stand-in for the X API v2: the endpoints tweepy's ``Client`` uses for us.

It answers like api.twitter.com where tweepy or our adapter can tell: snowflake
ids as strings, every tweet with ``edit_history_tweet_ids``, only the
``tweet.fields`` and ``user.fields`` asked for, ``{"data", "includes", "meta"}``
envelopes, problem-shaped errors (``title``, ``detail``, ``type``, ``status``),
a deleted or unknown tweet as HTTP 200 with an ``errors`` array, 403 for
duplicate content and for replies to a deleted tweet, 429 as a text/plain
"Rate limit exceeded" with ``x-rate-limit-limit``/``-remaining``/``-reset``
(epoch seconds), t.co links and ``&amp;`` escapes in returned text, OAuth 1.0a
checked by consumer key and token (the signature is not verified: tweepy signs
for api.twitter.com). Recent search honours ``conversation_id:``, ``from:``,
``since_id``, ``next_token`` and the seven-day window; hidden and non-public
replies are left out of it. As in the recorded answers (tests/recordings/x): a
reply's parent comes in ``includes.tweets`` (``expansions=referenced_tweets.id``)
or, when it is deleted or not public, as an ``errors`` entry; a ``since_id``
older than the window is a 400 "Invalid Request"; an app whose plan lacks
search (``search_enrolled = False``) gets the 403 ``client-not-enrolled``.

Besides the base controls, tests use :meth:`XStandIn.lose_next_response` (the
server acts, the client never hears back), :meth:`XStandIn.quote`,
:meth:`XStandIn.restrict_replies` and ``read_only`` (an app without write rights).
"""

from __future__ import annotations

import html
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import unquote

from .base import Item, Request, Response, iso_millis, route
from .x_limits import XLimits
from .x_views import NOT_ENROLLED, SNOWFLAKE_EPOCH_MS, fields_of

SEARCH_WINDOW = timedelta(days=7)
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
# X refuses the same text posted *recently* (the window is not published; a day by default).
DUPLICATE_WINDOW = timedelta(hours=24)
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


class XStandIn(XLimits):
    """api.twitter.com's v2 tweets, users and recent-search endpoints, as the author."""

    network: ClassVar[str] = "x"
    duplicate_window: timedelta = DUPLICATE_WINDOW  # identical text within it is refused

    def __init__(self, **kw: Any) -> None:
        self._last_snowflake = 0
        super().__init__(**kw)
        self.consumer_key = "sandbox-x-consumer-key"
        self.consumer_secret = "sandbox-x-consumer-secret"
        self.access_token = f"{self.accounts['author'].id}-sandbox-x-access-token"
        self.access_token_secret = "sandbox-x-access-token-secret"
        self._versions: dict[str, str] = {}  # any version id of an edited tweet -> Item.id
        self.read_only = False  # the app lacks write permission: every POST is a 403
        self.search_enrolled = True  # False: the app's plan lacks recent search (403)

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.search_enrolled = True

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
        if not self.permissive and self._recent_duplicate(text):
            return self.error(403, DUPLICATE)
        item = self.add_post("author", text, parent_id=parent.id if parent else None)
        if reply_to:
            item.extra["replied_to"] = str(reply_to)
        shown, _ = self.display(text)
        data = {"id": item.id, "text": shown, "edit_history_tweet_ids": [item.id]}
        return Response(201, {"data": data})

    def _recent_duplicate(self, text: str) -> bool:
        """Whether the author posted this very text within ``duplicate_window`` (X's rule)."""
        since = datetime.now(UTC) - self.duplicate_window
        return any(
            i.text.strip() == text.strip() and i.created_at >= since
            for i in self.posts_by("author")
        )

    @route("POST", r"/2/users/(?P<user_id>\d+)/likes", auth="required")
    def like_tweet(self, request: Request) -> Response:
        """One like per account: liking again still answers ``liked: true`` and adds none."""
        if request.params["user_id"] != self.accounts["author"].id:
            return self.error(403, "You are not allowed to like on behalf of this user.")
        tweet_id = str((request.json() or {}).get("tweet_id") or "")
        item = self.resolve(tweet_id) if tweet_id else None
        if item is None or item.visibility != "public":
            return self.error(403, "You cannot like a Tweet that is deleted or not visible to you.")
        item.liked_by.add("author")
        return Response(200, {"data": {"liked": True}})

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
        return Response(
            200, {"data": self.render_user("author", fields_of(request, "user.fields"))}
        )

    @route("GET", r"/2/users/(?P<user_id>\d+)/tweets", auth="required")
    def user_tweets(self, request: Request) -> Response:
        account = self.account_by_id(request.params["user_id"])
        if account is None:
            return self.error(404, f"Could not find user with id: [{request.params['user_id']}].")
        items = [i for i in self.posts_by(account.key) if i.visibility == "public"]
        return self._page(request, items, "pagination_token", 5, 100)

    @route("GET", r"/2/users/(?P<user_id>\d+)/mentions", auth="required")
    def user_mentions(self, request: Request) -> Response:
        """Tweets mentioning the account, newest first (x_limits.XLimits.mentions_of)."""
        account = self.account_by_id(request.params["user_id"])
        if account is None:
            return self.error(404, f"Could not find user with id: [{request.params['user_id']}].")
        return self._page(request, self.mentions_of(account.key), "pagination_token", 5, 100)

    @route("GET", r"/2/tweets/search/recent", auth="required")
    def search_recent(self, request: Request) -> Response:
        if not self.search_enrolled:
            return Response(403, dict(NOT_ENROLLED))
        query = request.arg("query") or ""
        if not query.strip():
            return self._invalid("The `query` query parameter can not be empty", "query")
        cutoff = datetime.now(UTC) - SEARCH_WINDOW
        since = request.arg("since_id") or ""
        if since.isdigit() and _snowflake_time(int(since)) < cutoff:
            oldest = (int(cutoff.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS) << 22
            return self._invalid(
                f"'since_id' must be a tweet id created after {cutoff:%Y-%m-%dT%H:%MZ}. "
                f"Please use a 'since_id' that is larger than {oldest}",
                "since_id",
                since,
            )
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


def _snowflake_time(tweet_id: int) -> datetime:
    return datetime.fromtimestamp(((tweet_id >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, UTC)


def _to36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out
