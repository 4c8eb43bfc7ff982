"""X (Twitter API v2) through tweepy's ``Client``, with a spending guard.

Pitfalls. tweepy hard-codes ``https://api.twitter.com``, so ``base_url`` is
honoured by the transport adapter of :mod:`.x_transport`. X bills
every post and every read, so each billable call first asks the usage meter
(``max_posts_per_day``, ``max_reads_per_day``). There is no idempotency key:
posting the same text twice is answered 403 "duplicate content", which we treat
as "maybe already posted" and confirm from the account's timeline. Replies are
found by recent search on ``conversation_id``, which only reaches seven days
back: for an older post the snapshot says ``complete=False``, so missing
replies are never taken for deleted ones. A deleted tweet comes back as HTTP
200 with an ``errors`` array and no ``data``. Returned text has t.co links and
``&amp;``-escaped entities. An edited tweet gets a new id; the first id of
``edit_history_tweet_ids`` is the stable one we use. Length and links follow
twitter-text (:mod:`.x_text`). A reply's parent is often only in ``includes.tweets``
or nowhere (deleted, protected): :mod:`.x_thread` places such replies. A
``since_id`` older than the window is a 400 on which we read the window in full;
an app whose plan lacks an endpoint (403 ``client-not-enrolled``) gets one
sentence naming the access level it needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import requests
import tweepy

from ..errors import AuthFailed, Duplicate, NetworkError, NotFound, RateLimited, Transient
from ..http_client import int_option, retry_after
from ..model import Author, Counts, OutgoingPost, RemoteComment, RemoteRef, ThreadSnapshot
from .base import AdapterContext, parse_time
from .x_notices import XFeed, light_snapshot
from .x_text import MAX_LENGTH, canonical, tweet_html, weighted_length, without_reply_prefix
from .x_thread import replied_to as _replied_to
from .x_thread import replies_under
from .x_thread import stable_id as _stable_id
from .x_transport import API_HOST, Rebase, mask_in_logs

WEB_URL = "https://x.com"
ENV_NAMES = ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")
SEARCH_WINDOW = timedelta(days=7)
# Snowflake ids carry their creation time: milliseconds since this epoch, shifted by 22 bits.
SNOWFLAKE_EPOCH_MS = 1288834974657

TWEET_FIELDS = [
    "created_at",
    "author_id",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "public_metrics",
    "entities",
]
USER_FIELDS = ["username", "name", "profile_image_url"]
# A reply's parent may be only in includes.tweets, and its author only in includes.users.
SEARCH_EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]
PLAN_URL = "https://developer.x.com/en/portal/products"
# What each call needs from the app's plan (X's "client-not-enrolled" 403 names none).
ENDPOINTS = {
    "search_recent_tweets": "recent search (GET /2/tweets/search/recent), which reads replies",
    "get_tweet": "tweet lookup (GET /2/tweets/:id), which reads the post's counts",
    "get_users_tweets": "the user timeline (GET /2/users/:id/tweets), which finds our posts",
    "get_me": "user lookup (GET /2/users/me)",
    "create_tweet": "posting (POST /2/tweets)",
}

log = logging.getLogger(__name__)

# -- the adapter ---------------------------------------------------------------------


class XAdapter(XFeed):
    """Post, thread, read back and answer on X through API v2.

    Options: ``base_url``, ``timeout``, ``max_length`` (280), ``max_posts_per_day``
    (50), ``max_reads_per_day`` (500; every GET counts, a search page of up to 100
    tweets is one read), ``max_search_pages`` (5 pages of 100 replies per fetch),
    ``lookup_count`` (how many recent tweets ``find_published`` reads, 20),
    ``web_url`` (https://x.com, for links) and ``username`` (the account's handle,
    for nicer links to our own posts; else ``/i/web/status/ID``).
    """

    name = "x"
    default_base_url: ClassVar[str] = API_HOST

    def __init__(self, options: Mapping[str, Any], ctx: AdapterContext) -> None:
        super().__init__(options, ctx)
        self.web_url = str(self.options.get("web_url") or WEB_URL).rstrip("/")
        self.username = self.options.get("username")
        self.max_posts = int_option(self.name, self.options, "max_posts_per_day", 50)
        self.max_reads = int_option(self.name, self.options, "max_reads_per_day", 500)
        self.max_pages = int_option(self.name, self.options, "max_search_pages", 5)
        self.lookup_count = min(
            100, max(5, int_option(self.name, self.options, "lookup_count", 20))
        )
        self._max_length = int_option(self.name, self.options, "max_length", MAX_LENGTH)
        self._client: tweepy.Client | None = None
        self._me: dict[str, Any] | None = None

    # -- text -------------------------------------------------------------------------
    def max_length(self) -> int:
        return self._max_length

    def measure(self, text: str) -> int:
        return weighted_length(text)

    # -- plumbing ---------------------------------------------------------------------
    @property
    def client(self) -> tweepy.Client:
        """The tweepy client, built on first use (credentials are read only then)."""
        if self._client is None:
            key, secret, token, token_secret = self.ctx.credential(self.name, *ENV_NAMES)
            mask_in_logs((key, secret, token, token_secret))
            client = tweepy.Client(
                consumer_key=key,
                consumer_secret=secret,
                access_token=token,
                access_token_secret=token_secret,
                return_type=dict,  # raw v2 JSON: "data", "includes", "errors", "meta"
                wait_on_rate_limit=False,  # it would sleep until the window resets
            )
            client.session.mount(API_HOST, Rebase(self.base_url, self.timeout))
            client.session.hooks["response"].append(self._on_response)  # x_notices
            self._client = client
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.session.close()

    def _call(self, kind: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One billable API call: ask the meter first, then map every failure."""
        limit = self.max_posts if kind == "posts" else self.max_reads
        self.ctx.meter.spend(self.name, kind, limit)
        try:
            return func(*args, user_auth=True, **kwargs)
        except tweepy.HTTPException as exc:
            raise self._error(exc, getattr(func, "__name__", "")) from None
        except requests.Timeout:
            raise Transient(self.name, f"no answer within {self.timeout:g} s") from None
        except requests.ConnectionError as exc:
            raise Transient(self.name, f"connection failed ({type(exc).__name__})") from None
        except requests.RequestException as exc:
            raise NetworkError(self.name, f"request failed ({type(exc).__name__})") from None
        except ValueError:  # a body that is not JSON
            raise Transient(self.name, "the answer was not JSON") from None

    def _error(self, exc: tweepy.HTTPException, endpoint: str = "") -> NetworkError:
        response = exc.response
        status = getattr(response, "status_code", 0)
        body = _json_body(response)
        detail = (
            "; ".join(str(m) for m in exc.api_messages)
            or str(body.get("detail") or "")
            or getattr(response, "reason", "")
        )
        message = f"HTTP {status}: {detail}"[:300]
        if body.get("reason") == "client-not-enrolled":
            return AuthFailed(self.name, _plan_sentence(endpoint, body))
        if isinstance(exc, tweepy.BadRequest) and _stale_since_id(exc.api_errors, detail):
            return StaleCursor(self.name, message)
        if isinstance(exc, tweepy.TooManyRequests):
            return RateLimited(self.name, message, _retry_after(response.headers))
        if isinstance(exc, tweepy.Unauthorized):
            return AuthFailed(self.name, f"{message} (check {', '.join(ENV_NAMES)})")
        if isinstance(exc, tweepy.Forbidden):
            lowered = detail.lower()
            if "duplicate" in lowered or 187 in exc.api_codes:
                return Duplicate(self.name, message)
            if "deleted or not visible" in lowered:
                return NotFound(self.name, message)
            if _is_permission_problem(body, lowered):
                return AuthFailed(self.name, message)
            return NetworkError(self.name, message)  # e.g. replies restricted by the author
        if isinstance(exc, tweepy.NotFound):
            return NotFound(self.name, message)
        if isinstance(exc, tweepy.TwitterServerError):
            return Transient(self.name, message)
        return NetworkError(self.name, message)

    def _me_data(self) -> dict[str, Any]:
        """The authenticated account (``id``, ``username``), read once per adapter."""
        if self._me is None:
            answer = self._call("reads", self.client.get_me, user_fields=USER_FIELDS)
            self._me = _data_or_not_found(self.name, answer, "the authenticated account")
        return self._me

    def _own_ref(self, tweet_id: str) -> RemoteRef:
        # Deterministic: the same tweet gets the same URL whatever was read before.
        path = f"{self.username}/status" if self.username else "i/web/status"
        return RemoteRef(self.name, tweet_id, f"{self.web_url}/{path}/{tweet_id}")

    # -- writing --------------------------------------------------------------------
    def publish(self, post: OutgoingPost) -> RemoteRef:
        kwargs: dict[str, Any] = {"text": post.text}
        if post.reply_to is not None:
            kwargs["in_reply_to_tweet_id"] = post.reply_to.id
        try:
            answer = self._call("posts", self.client.create_tweet, **kwargs)
        except Duplicate:
            # Often our own earlier attempt whose answer was lost: look before failing.
            found = self.find_published(post)
            if found is not None:
                log.info("x: duplicate refused; the post is already there as %s", found.id)
                return found
            raise
        data = _data_or_not_found(self.name, answer, "the new tweet")
        return self._own_ref(_stable_id(data))

    def like(self, ref: RemoteRef) -> str:
        """Like the tweet ``ref`` (billed as a write); X keeps one like per account."""
        answer = self._call("posts", self.client.like, ref.id)
        if not (answer.get("data") or {}).get("liked"):
            raise NetworkError(self.name, f"X did not confirm the like of {ref.id}")
        return ""

    def find_published(self, post: OutgoingPost) -> RemoteRef | None:
        """The account's recent tweet matching ``post`` by text, or by link and thread."""
        me = self._me_data()
        answer = self._call(
            "reads",
            self.client.get_users_tweets,
            me["id"],
            max_results=self.lookup_count,
            tweet_fields=[
                "created_at",
                "entities",
                "conversation_id",
                "in_reply_to_user_id",
                "referenced_tweets",
            ],
        )
        since = post.created_at - timedelta(minutes=5) if post.created_at else None
        matches = [t for t in answer.get("data") or [] if _matches(t, post, since)]
        if not matches:
            return None
        oldest = min(matches, key=lambda t: int(t["id"]))
        return self._own_ref(_stable_id(oldest))

    # -- reading --------------------------------------------------------------------
    def fetch_thread(self, post: RemoteRef, cursor: str | None = None) -> ThreadSnapshot:
        """Counts from the post, replies from recent search on its conversation.

        ``cursor`` is the newest tweet id seen; it is honoured (``since_id``) when
        ``post`` starts its conversation, and the snapshot is then incomplete.
        Replies older than the seven-day search window cannot be seen: for a post
        older than that, ``complete`` is False.
        """
        tweet = self._tweet(post.id)
        conversation = str(tweet.get("conversation_id") or tweet["id"])
        starts_conversation = conversation in {str(tweet["id"]), post.id}
        since = cursor if cursor and starts_conversation else None
        try:
            tweets, included, users, truncated, newest = self._search(conversation, since)
        except StaleCursor:
            # The cursor is older than search reaches back: read the whole window instead.
            log.info("x: the cursor for %s is out of the search window; reading it all", post.id)
            since = None
            tweets, included, users, truncated, newest = self._search(conversation, None)
        me_id = str(self._me_data()["id"])
        comments = replies_under(
            post.id, conversation, tweets, included, whole_conversation=starts_conversation
        )
        created = _created_at(tweet)
        in_window = created is not None and datetime.now(UTC) - created < SEARCH_WINDOW
        metrics = tweet.get("public_metrics") or {}
        counts = Counts(
            likes=int(metrics.get("like_count", 0)),
            # A quote is a repost with a comment: both spread the post.
            reposts=int(metrics.get("retweet_count", 0)) + int(metrics.get("quote_count", 0)),
            replies=int(metrics.get("reply_count", 0)),
        )
        return ThreadSnapshot(
            post=post,
            counts=counts,
            comments=[self._comment(t, users, me_id) for t in comments],
            complete=in_window and not truncated and since is None,
            cursor=newest or cursor,
        )

    def fetch_changed(self, post: RemoteRef, cursor: str | None = None) -> ThreadSnapshot:
        """After a mention: recent search alone, from the cursor (x_notices.light_snapshot)."""
        try:
            found = self._search(post.id, cursor)
        except StaleCursor:
            cursor = None
            found = self._search(post.id, None)
        return light_snapshot(self, post, cursor, found)

    def _tweet(self, tweet_id: str) -> dict[str, Any]:
        answer = self._call(
            "reads",
            self.client.get_tweet,
            tweet_id,
            tweet_fields=["public_metrics", "created_at", "conversation_id", "author_id"],
        )
        return _data_or_not_found(self.name, answer, f"tweet {tweet_id}")

    def _search(
        self, conversation: str, since: str | None
    ) -> tuple[
        list[dict[str, Any]], list[dict[str, Any]], dict[str, dict[str, Any]], bool, str | None
    ]:
        """All conversation tweets within reach, the tweets they reference (includes.tweets),
        their authors, whether pages were left, and the newest id."""
        tweets: list[dict[str, Any]] = []
        included: list[dict[str, Any]] = []
        users: dict[str, dict[str, Any]] = {}
        newest: str | None = None
        token: str | None = None
        for _ in range(self.max_pages):
            answer = self._call(
                "reads",
                self.client.search_recent_tweets,
                f"conversation_id:{conversation} -is:retweet",
                expansions=SEARCH_EXPANSIONS,
                tweet_fields=TWEET_FIELDS,
                user_fields=USER_FIELDS,
                max_results=100,
                since_id=since,
                next_token=token,
            )
            tweets.extend(answer.get("data") or [])
            includes = answer.get("includes") or {}
            included.extend(includes.get("tweets") or [])
            for user in includes.get("users") or []:
                users[str(user["id"])] = user
            meta = answer.get("meta") or {}
            if meta.get("newest_id") and (newest is None or int(meta["newest_id"]) > int(newest)):
                newest = str(meta["newest_id"])
            token = meta.get("next_token")
            if not token:
                return tweets, included, users, False, newest
        return tweets, included, users, True, newest

    def _comment(
        self, tweet: dict[str, Any], users: Mapping[str, dict[str, Any]], me_id: str
    ) -> RemoteComment:
        author_id = str(tweet.get("author_id", ""))
        user = users.get(author_id) or {}
        username = str(user.get("username") or author_id)
        tweet_id = _stable_id(tweet)
        edited = len(tweet.get("edit_history_tweet_ids") or ()) > 1
        metrics = tweet.get("public_metrics") or {}
        return RemoteComment(
            ref=RemoteRef(self.name, tweet_id, f"{self.web_url}/{username}/status/{tweet_id}"),
            parent_id=tweet["_parent"],
            author=Author(
                name=str(user.get("name") or username),
                handle=username,
                url=f"{self.web_url}/{username}",
                avatar=user.get("profile_image_url"),
            ),
            html=tweet_html(
                without_reply_prefix(str(tweet.get("text", ""))), tweet.get("entities") or {}
            ),
            created_at=_created_at(tweet) or parse_time(None),
            edited_at=_version_time(tweet) if edited else None,
            is_own=author_id == me_id,
            likes=int(metrics.get("like_count", 0)),
            reposts=int(metrics.get("retweet_count", 0)) + int(metrics.get("quote_count", 0)),
        )


# -- helpers -----------------------------------------------------------------------------


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds until X lets us try again, from its ``*-reset`` headers (epoch seconds).

    A 429 may come from the 15-minute window (``x-rate-limit-*``) or a daily cap
    (``x-user-limit-24hour-*``, ``x-app-limit-24hour-*``); the exhausted one counts.
    The headers are read by ``http_client.retry_after``, the one parser.
    """
    exhausted = [
        f"{prefix}-reset"
        for prefix in ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour")
        if headers.get(f"{prefix}-remaining", "0") == "0"
    ]
    waits = [w for name in exhausted if (w := retry_after(headers, [name])) is not None]
    if waits:
        return max(waits)
    return retry_after(headers, ["x-rate-limit-reset", "retry-after"])


def _data_or_not_found(network: str, answer: Any, what: str) -> dict[str, Any]:
    """``answer["data"]``; v2 reports a deleted tweet as 200 with only ``errors``."""
    data = answer.get("data") if isinstance(answer, dict) else None
    if isinstance(data, dict):
        return data
    errors = answer.get("errors") if isinstance(answer, dict) else None
    detail = "; ".join(str(e.get("detail") or e.get("title")) for e in errors or [])
    raise NotFound(network, f"{what} is not there ({detail or 'no data'})")


def _version_time(tweet: Mapping[str, Any]) -> datetime | None:
    """When this version of the tweet was written (its ``created_at``)."""
    return parse_time(tweet["created_at"]) if tweet.get("created_at") else None


def _created_at(tweet: Mapping[str, Any]) -> datetime | None:
    """When the tweet was first posted: an edited version's ``created_at`` is the edit's
    time, so take the original's from its snowflake id."""
    if len(tweet.get("edit_history_tweet_ids") or ()) > 1:
        return _snowflake_time(_stable_id(tweet)) or _version_time(tweet)
    return _version_time(tweet)


class StaleCursor(NetworkError):
    """HTTP 400 for a ``since_id`` older than recent search reaches back."""


def _json_body(response: Any) -> dict[str, Any]:
    """The error answer's JSON object, or {} (X's 429 comes as text/plain)."""
    try:
        body = response.json()
    except (ValueError, AttributeError):
        return {}
    return body if isinstance(body, dict) else {}


def _stale_since_id(errors: list[Any], detail: str) -> bool:
    """Whether a 400 refuses the ``since_id`` (X: "'since_id' must be a tweet id created
    after <time>. Please use a 'since_id' that is larger than <id>")."""
    named = any(
        isinstance(e, dict) and "since_id" in (e.get("parameters") or {}) for e in errors or []
    )
    return named or "'since_id'" in detail


def _plan_sentence(endpoint: str, body: Mapping[str, Any]) -> str:
    """One sentence for X's 403 ``client-not-enrolled``: the app's plan lacks the endpoint."""
    what = ENDPOINTS.get(endpoint, "this endpoint")
    asked = str(body.get("required_enrollment") or "").strip()
    needed = f' (X asks for "{asked[:60]}")' if asked else ""
    return (
        f"the X developer app's access level does not include {what}{needed}: reading replies "
        "and posting need an app attached to a Project on the Basic access level or higher "
        f"(or pay-per-use credits), so change the plan at {PLAN_URL} and run again"
    )


def _is_permission_problem(body: Mapping[str, Any], detail: str) -> bool:
    """Whether a 403 is about the app's or the token's rights rather than the content."""
    kind = str(body.get("type", ""))
    rights = ("client-not-enrolled", "unsupported-authentication", "oauth1-permissions")
    words = ("permission", "not permitted", "authoriz", "enrolled", "suspended")
    return kind.endswith(rights) or any(w in detail for w in words)


def _snowflake_time(tweet_id: str) -> datetime | None:
    try:
        millis = (int(tweet_id) >> 22) + SNOWFLAKE_EPOCH_MS
    except ValueError:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC)


def _matches(tweet: Mapping[str, Any], post: OutgoingPost, since: datetime | None) -> bool:
    """Whether ``tweet`` is ``post``: same thread position, same text or same link."""
    if since is not None and tweet.get("created_at") and parse_time(tweet["created_at"]) < since:
        return False
    wanted_parent = post.reply_to.id if post.reply_to else None
    if _replied_to(tweet) != wanted_parent:
        return False
    if canonical(str(tweet.get("text", ""))) == canonical(post.text):
        return True
    if not post.link:
        return False
    links = {u.get("expanded_url") for u in (tweet.get("entities") or {}).get("urls") or []}
    return post.link in links


__all__ = ["API_HOST", "MAX_LENGTH", "XAdapter", "tweet_html", "weighted_length"]
