"""Bluesky through the atproto SDK: posts, threads and reply trees over XRPC.

Pitfalls this adapter works around. ``createSession`` is rate limited, so the
session is kept on disk (:mod:`.bluesky_session`) and the app password is used
only when the stored session is refused. Bluesky has no idempotency key: the post is written
with ``createRecord`` under an explicit record key, a TID derived from the
post's ``created_at`` and idempotency key, so a retry collides with the first
attempt instead of posting twice; bsky.social answers that collision with a
500 today (newer PDSs with a 400 or 409), so a failed write is followed by a
look at that key. Length and link facets are in :mod:`.bluesky_text`.
``getPostThread`` answers with not-found and blocked
placeholders and still lists the replies the author hid (named in the thread
gate), all of which must be left out.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import httpx
from atproto_client import Client, models
from atproto_client.client.session import Session, SessionEvent
from atproto_client.exceptions import (
    BadRequestError,
    InvokeTimeoutError,
    LoginRequiredError,
    ModelError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)
from atproto_client.exceptions import NetworkError as AtNetworkError
from atproto_client.models.common import XrpcError
from atproto_client.request import Request
from atproto_core.exceptions import AtProtocolError

from ..errors import AuthFailed, Duplicate, NetworkError, NotFound, RateLimited, Transient
from ..http_client import retry_after
from ..model import Author, Counts, OutgoingPost, RemoteComment, RemoteRef, ThreadSnapshot
from . import bluesky_likes
from .base import AdapterContext
from .bluesky_notices import BlueskyFeed
from .bluesky_records import (
    ReplyWalk,
    decode_tid,
    encode_tid,
    hidden_replies,
    iso_time,
    record_key,
    safe_time,
    split_at_uri,
)
from .bluesky_session import SessionFile
from .bluesky_text import MAX_BYTES, MAX_GRAPHEMES, field, measure_text, record_html, text_facets

log = logging.getLogger(__name__)

T = TypeVar("T")

POST_COLLECTION = "app.bsky.feed.post"
DEFAULT_THREAD_DEPTH = 100

# XRPC error names, by what they mean to us.
NOT_FOUND_ERRORS = frozenset({"NotFound", "RecordNotFound"})
AUTH_ERRORS = frozenset(
    {
        "AuthenticationRequired",
        "AuthMissing",
        "ExpiredToken",
        "InvalidToken",
        "AccountTakedown",
        "AccountDeactivated",
        "AuthFactorTokenRequired",
    }
)
SESSION_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})
AUTH_HINT = "check BLUESKY_HANDLE and BLUESKY_APP_PASSWORD (an app password, not the account's)"


# -- the adapter -----------------------------------------------------------------------
class BlueskyAdapter(BlueskyFeed):
    """Options: ``base_url`` (the PDS, default bsky.social), ``timeout``,
    ``thread_depth`` (replies levels read, default 100), ``max_length``,
    ``web_url`` (for links to posts, default https://bsky.app) and ``langs``.
    """

    name: ClassVar[str] = "bluesky"
    default_base_url: ClassVar[str] = "https://bsky.social"

    def __init__(self, options: Mapping[str, Any], ctx: AdapterContext) -> None:
        super().__init__(options, ctx)
        self.web_url = str(self.options.get("web_url") or "https://bsky.app").rstrip("/")
        depth = int(self.options.get("thread_depth", DEFAULT_THREAD_DEPTH))
        self.thread_depth = max(0, min(depth, 1000))  # the lexicon's bounds
        langs = self.options.get("langs")
        self.langs = [langs] if isinstance(langs, str) else list(langs or [])
        self._client: Client | None = None
        self._login_name = ""  # BLUESKY_HANDLE as configured: names the session file
        self._handle = ""  # the handle the server reports: used in web URLs
        self._did = ""
        self._lock = threading.RLock()
        self.sessions = SessionFile(self.ctx.state_dir, self.base_url)

    # -- text -------------------------------------------------------------------------
    def max_length(self) -> int:
        return int(self.options.get("max_length", MAX_GRAPHEMES))

    def measure(self, text: str) -> int:
        return measure_text(text)

    # -- session ------------------------------------------------------------------
    def _new_client(self) -> Client:
        # The SDK's Request hands its keyword arguments to httpx.Client: the timeout, and
        # a hook that counts answers and reads their rate-limit headers.
        hooks = {"response": [self._on_response]}
        client = Client(
            base_url=self.base_url, request=Request(timeout=self.timeout, event_hooks=hooks)
        )
        client.on_session_change(self._on_session_change)
        return client

    def _on_session_change(self, event: SessionEvent, session: Session) -> None:
        if event in (SessionEvent.CREATE, SessionEvent.REFRESH):
            self.sessions.store(self._login_name or session.handle, session.encode())

    def _login(self) -> Client:
        handle, password = self.ctx.credential(self.name, "BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD")
        self._login_name = self._handle = handle.strip().lstrip("@")
        stored = self.sessions.load(self._login_name)
        if stored:
            client = self._new_client()
            try:
                self._guard(lambda: self._resume(client, stored), "resuming the stored session")
                return self._adopt(client)
            except AuthFailed:
                log.info(
                    "bluesky: the stored session was rejected; logging in with the app password"
                )
                self.sessions.forget(self._login_name)
        client = self._new_client()
        try:
            self._guard(lambda: client.login(self._login_name, password), "logging in")
        except AuthFailed:
            self.sessions.forget(self._login_name)
            raise
        return self._adopt(client)

    def _resume(self, client: Client, stored: str) -> None:
        try:
            # The session names the account: no getProfile, so a quiet sync is one request.
            client.login(session_string=stored, fetch_bsky_profile=False)
        except (BadRequestError, UnauthorizedError) as exc:
            if _xrpc_error(exc) not in SESSION_ERRORS:
                raise
            # The server refused the access token before its time: try the refresh token.
            session = client._refresh_and_set_session()
            client.me = client.app.bsky.actor.get_profile({"actor": session.did})

    def _adopt(self, client: Client) -> Client:
        session = client._session
        self._did = (client.me.did if client.me else None) or (session.did if session else "")
        self._handle = (client.me.handle if client.me else None) or (
            session.handle if session else self._handle
        )
        self._client = client
        return client

    def client(self) -> Client:
        """The logged-in client, logging in (or resuming the stored session) on first use."""
        with self._lock:
            if self._client is None:
                self._client = self._login()
            return self._client

    def _renew(self, client: Client) -> Client:
        """After the server refused our access token: refresh, or log in again."""
        with self._lock:
            try:
                self._guard(client._refresh_and_set_session, "refreshing the session")
                return client
            except AuthFailed:
                self.sessions.forget(self._login_name)
                self._client = None
                return self.client()

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.request.close()
                self._client = None

    # -- calls and errors -------------------------------------------------------
    def _call(self, what: str, op: Callable[[Client], T]) -> T:
        """Run ``op`` with the logged-in client, once more after a session renewal."""
        client = self.client()
        try:
            return op(client)
        except (BadRequestError, UnauthorizedError) as exc:
            if _xrpc_error(exc) not in SESSION_ERRORS:
                raise self._mapped(exc, what) from exc
        except (AtProtocolError, httpx.HTTPError) as exc:
            raise self._mapped(exc, what) from exc
        # The server refused a token the client still thought valid: renew and retry once.
        client = self._renew(client)
        return self._guard(lambda: op(client), what)

    def _guard(self, op: Callable[[], T], what: str) -> T:
        try:
            return op()
        except (AtProtocolError, httpx.HTTPError) as exc:
            raise self._mapped(exc, what) from exc

    def _mapped(self, exc: BaseException, what: str) -> NetworkError:
        """Our error for an SDK or transport exception; the message never echoes a request."""
        if isinstance(exc, NetworkError):
            return exc
        detail = _detail(exc)
        if isinstance(exc, RateLimitExceededError):
            wait = _retry_after(exc)
            return RateLimited(self.name, f"{what}: rate limited ({detail})", retry_after=wait)
        if isinstance(exc, InvokeTimeoutError | httpx.TimeoutException):
            return Transient(self.name, f"{what}: no answer within {self.timeout:g} s")
        if isinstance(exc, AtNetworkError | httpx.TransportError) and _status(exc) is None:
            return Transient(
                self.name, f"{what}: connection failed ({type(exc.__cause__ or exc).__name__})"
            )
        status = _status(exc)
        error = _xrpc_error(exc)
        if isinstance(exc, LoginRequiredError):
            return AuthFailed(self.name, f"{what}: not logged in; {AUTH_HINT}")
        if isinstance(exc, UnauthorizedError) or error in AUTH_ERRORS:
            return AuthFailed(self.name, f"{what}: {detail}; {AUTH_HINT}")
        if error in NOT_FOUND_ERRORS:
            return NotFound(self.name, f"{what}: {detail}")
        if status is not None and (status >= 500 or status == 408):
            return Transient(self.name, f"{what}: server error {detail}")
        if status == 409:
            return Duplicate(self.name, f"{what}: {detail}")
        if isinstance(exc, ModelError):
            return NetworkError(self.name, f"{what}: unexpected answer ({exc})")
        if isinstance(exc, RequestErrorBase | httpx.HTTPError):
            return NetworkError(self.name, f"{what}: refused ({detail})")
        return NetworkError(self.name, f"{what}: {type(exc).__name__}")

    # -- writing ----------------------------------------------------------------------
    def publish(self, post: OutgoingPost) -> RemoteRef:
        length = self.measure(post.text)
        if length > MAX_GRAPHEMES:
            raise NetworkError(
                self.name,
                f"the text measures {length}; Bluesky takes {MAX_GRAPHEMES} graphemes "
                f"and {MAX_BYTES} bytes",
            )
        rkey = record_key(post.created_at, post.idempotency_key)
        reply, root = self._reply_ref(post.reply_to) if post.reply_to else (None, None)
        record = models.AppBskyFeedPost.Record(
            text=post.text,
            created_at=iso_time(post.created_at or datetime.now(UTC)),
            facets=text_facets(post.text) or None,
            embed=self._link_card(post),
            reply=reply,
            langs=self.langs or None,
        )

        def create(client: Client) -> models.ComAtprotoRepoCreateRecord.Response:
            data = models.ComAtprotoRepoCreateRecord.Data(
                repo=self._did, collection=POST_COLLECTION, rkey=rkey, record=record
            )
            return client.com.atproto.repo.create_record(data)

        try:
            created_ref = self._call("publishing", create)
        except NetworkError as exc:
            if not _maybe_collision(exc):
                raise
            existing = self._existing(rkey, post)
            if existing is None:
                raise
            log.info("bluesky: the post was already there (a retry); keeping the first")
            return existing
        uri, cid = str(created_ref.uri), str(created_ref.cid)
        return self._ref(uri, cid, self._handle, root or (uri, cid))

    def find_published(self, post: OutgoingPost) -> RemoteRef | None:
        """The record under this post's deterministic key, if it was written."""
        return self._existing(record_key(post.created_at, post.idempotency_key), post)

    def like(self, ref: RemoteRef) -> str:
        """A like record under a key derived from ``ref``, so a retry never likes twice."""
        return bluesky_likes.like(self, ref)

    def _own_record(
        self, collection: str, rkey: str, what: str
    ) -> models.ComAtprotoRepoGetRecord.Response | None:
        """The account's record ``rkey`` in ``collection``, or None if there is none."""

        def get(client: Client) -> models.ComAtprotoRepoGetRecord.Response:
            params = models.ComAtprotoRepoGetRecord.Params(
                repo=self._did, collection=collection, rkey=rkey
            )
            return client.com.atproto.repo.get_record(params)

        try:
            return self._call(what, get)
        except NotFound:
            return None

    def _existing(self, rkey: str, post: OutgoingPost) -> RemoteRef | None:
        """Our record at ``rkey`` (a retry), None if there is none, Duplicate if it is not ours.

        "Ours" means the same text, the same ``createdAt`` (when the post has one)
        and the same parent: what a retry of this very post would have written.
        """
        found = self._own_record(POST_COLLECTION, rkey, "looking up the post")
        if found is None:
            return None
        value = found.value
        same_text = field(value, "text") == post.text
        same_time = post.created_at is None or (
            field(value, "created_at", "createdAt") == iso_time(post.created_at)
        )
        reply = field(value, "reply")
        parent_uri = field(field(reply, "parent"), "uri")
        wanted_parent = post.reply_to.extra.get("uri", post.reply_to.id) if post.reply_to else None
        if not (same_text and same_time and parent_uri == wanted_parent):
            raise Duplicate(
                self.name,
                f"record key {rkey} already holds a different post; "
                "change the post's idempotency key",
            )
        uri, cid = str(found.uri), str(found.cid or "")
        root_ref = field(reply, "root")
        root = (
            (str(field(root_ref, "uri")), str(field(root_ref, "cid"))) if root_ref else (uri, cid)
        )
        return self._ref(uri, cid, self._handle, root)

    def _link_card(self, post: OutgoingPost) -> models.AppBskyEmbedExternal.Main | None:
        if not post.link:
            return None
        return models.AppBskyEmbedExternal.Main(
            external=models.AppBskyEmbedExternal.External(
                uri=post.link,
                title=post.link_title or "",
                description=post.link_description or "",
            )
        )

    def _reply_ref(self, to: RemoteRef) -> tuple[models.AppBskyFeedPost.ReplyRef, tuple[str, str]]:
        """The root and parent strong refs of a reply to ``to``."""
        uri, cid = to.extra.get("uri") or to.id, to.extra.get("cid")
        root_uri, root_cid = to.extra.get("root_uri"), to.extra.get("root_cid")
        if not cid or not (root_uri and root_cid):
            uri, cid, (root_uri, root_cid) = self._resolve(uri)
        parent = models.ComAtprotoRepoStrongRef.Main(uri=uri, cid=cid)
        root = models.ComAtprotoRepoStrongRef.Main(uri=root_uri, cid=root_cid)
        return models.AppBskyFeedPost.ReplyRef(root=root, parent=parent), (root_uri, root_cid)

    def _resolve(self, uri: str) -> tuple[str, str, tuple[str, str]]:
        """uri, cid and thread root of a post known only by its URI."""
        split_at_uri(uri)
        found = self._call(
            "looking up the post to answer",
            lambda c: c.app.bsky.feed.get_posts(models.AppBskyFeedGetPosts.Params(uris=[uri])),
        )
        if not found.posts:
            raise NotFound(self.name, f"the post to answer is gone ({uri})")
        view = found.posts[0]
        root_ref = field(field(view.record, "reply"), "root")
        root = (str(field(root_ref, "uri")), str(field(root_ref, "cid"))) if root_ref else None
        return str(view.uri), str(view.cid), root or (str(view.uri), str(view.cid))

    def _ref(self, uri: str, cid: str, handle: str, root: tuple[str, str]) -> RemoteRef:
        rkey = split_at_uri(uri)[2]
        return RemoteRef(
            network=self.name,
            id=uri,
            url=f"{self.web_url}/profile/{handle}/post/{rkey}",
            extra={"uri": uri, "cid": cid, "root_uri": root[0], "root_cid": root[1]},
        )

    # -- reading ------------------------------------------------------------------
    def fetch_thread(self, post: RemoteRef, cursor: str | None = None) -> ThreadSnapshot:
        """The whole reply tree (Bluesky has no incremental read; ``cursor`` is ignored)."""
        uri = post.extra.get("uri") or post.id
        split_at_uri(uri)
        params = models.AppBskyFeedGetPostThread.Params(
            uri=uri, depth=self.thread_depth, parent_height=0
        )
        answer = self._call("reading the thread", lambda c: c.app.bsky.feed.get_post_thread(params))
        thread = answer.thread
        if not isinstance(thread, models.AppBskyFeedDefs.ThreadViewPost):
            raise NotFound(self.name, f"the post is gone or blocked ({uri})")
        view = thread.post
        hidden = hidden_replies(answer.threadgate) | hidden_replies(view.threadgate)
        root_ref = field(field(view.record, "reply"), "root")
        root = (str(field(root_ref, "uri")), str(field(root_ref, "cid"))) if root_ref else None
        walk = ReplyWalk(self._comment, hidden, root or (str(view.uri), str(view.cid)))
        walk.replies(thread, str(view.uri))
        counts = Counts(
            likes=view.like_count or 0,
            # Quote posts are reposts with a comment: the site shows them as reposts.
            reposts=(view.repost_count or 0) + (view.quote_count or 0),
            # Direct replies as Bluesky counts them (hidden and blocked ones included).
            replies=view.reply_count or 0,
        )
        ref = self._ref(str(view.uri), str(view.cid), view.author.handle, walk.root)
        return ThreadSnapshot(
            post=ref, counts=counts, comments=walk.comments, complete=walk.complete
        )

    def _comment(
        self, view: models.AppBskyFeedDefs.PostView, parent_id: str, root: tuple[str, str]
    ) -> RemoteComment:
        record = view.record
        author = view.author
        text = str(field(record, "text") or "")
        created = field(record, "created_at", "createdAt") or view.indexed_at
        return RemoteComment(
            ref=self._ref(str(view.uri), str(view.cid), author.handle, root),
            parent_id=parent_id,
            author=Author(
                name=author.display_name or author.handle,
                handle=f"@{author.handle}",
                url=f"{self.web_url}/profile/{author.handle}",
                avatar=author.avatar,
            ),
            html=record_html(text, field(record, "facets"), self.web_url),
            created_at=safe_time(created, view.indexed_at),
            is_own=author.did == self._did,
            likes=view.like_count or 0,
            reposts=(view.repost_count or 0) + (view.quote_count or 0),
        )


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _xrpc_error(exc: BaseException) -> str | None:
    content = getattr(getattr(exc, "response", None), "content", None)
    return content.error if isinstance(content, XrpcError) else None


def _detail(exc: BaseException) -> str:
    """Status and the server's own error text, never anything from the request."""
    status = _status(exc)
    content = getattr(getattr(exc, "response", None), "content", None)
    if isinstance(content, XrpcError):
        text = f"{content.error}: {content.message}" if content.message else content.error
    else:
        text = ""
    summary = " ".join(part for part in (str(status or ""), text) if part) or type(exc).__name__
    return summary[:200]


def _retry_after(exc: RateLimitExceededError) -> float:
    """Seconds until the window resets: Retry-After, else RateLimit-Reset (epoch seconds),
    read by ``http_client.retry_after`` (the one parser), else the policy's window."""
    headers = exc.response.headers if exc.response is not None else {}
    wait = retry_after(headers, ["retry-after", "ratelimit-reset"])
    if wait is not None:
        return wait
    window = re.search(r"w=(\d+)", exc.policy or "")
    return float(window.group(1)) if window else 60.0


def _maybe_collision(exc: NetworkError) -> bool:
    """Could this write failure be our record key already taken (a retried post)?

    bsky.social answers with a 500 today (bluesky-social/atproto#3718); newer
    PDSs with a 400 or a 409.
    """
    if isinstance(exc, RateLimited | AuthFailed | NotFound):
        return False
    cause = exc.__cause__
    return cause is not None and _status(cause) in {400, 409, 500}


__all__ = [
    "BlueskyAdapter",
    "decode_tid",
    "encode_tid",
    "measure_text",
    "record_html",
    "record_key",
    "text_facets",
]
