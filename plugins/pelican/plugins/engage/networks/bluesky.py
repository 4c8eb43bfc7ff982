"""Bluesky through the atproto SDK: posts, threads and reply trees over XRPC.

Pitfalls this adapter works around. ``createSession`` is limited to 30 calls
per 5 minutes and a few hundred a day, so the session is kept in a 0600 file
under ``ctx.state_dir`` (never in the database or a log), rewritten whenever
the client refreshes its tokens, and the app password is used only when the
stored session is refused. Bluesky has no idempotency key: the post is written
with ``createRecord`` under an explicit record key, a TID derived from the
post's ``created_at`` and idempotency key, so a retry collides with the first
attempt instead of posting twice; bsky.social answers that collision with a
500 today (newer PDSs with a 400 or 409), so a failed write is followed by a
look at that key. Text is limited to 300 graphemes and 3,000 UTF-8 bytes with
URLs counted in full, and a link is plain text unless a facet, in UTF-8 *byte*
offsets, marks it. ``getPostThread`` answers with not-found and blocked
placeholders and still lists the replies the author hid (named in the thread
gate), all of which must be left out.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import grapheme
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
from .base import (
    Adapter,
    AdapterContext,
    Author,
    Counts,
    OutgoingPost,
    RemoteComment,
    RemoteRef,
    ThreadSnapshot,
    parse_time,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

POST_COLLECTION = "app.bsky.feed.post"
MAX_GRAPHEMES = 300
MAX_BYTES = 3000
DEFAULT_THREAD_DEPTH = 100
NO_UNAUTHENTICATED = "!no-unauthenticated"

# Base32-sortable, the TID alphabet: the string order of TIDs is their numeric order.
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
# Where hash-derived TID timestamps live when a post has no created_at (see record_key).
HASH_EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

AT_URI_RE = re.compile(r"^at://(?P<repo>[^/]+)/(?P<collection>[^/]+)/(?P<rkey>[^/?#]+)$")
# Characters a URL may carry in a sentence but that end it rather than belong to it.
TRAILING_PUNCTUATION = ".,;:!?\"'"

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


# -- record keys -----------------------------------------------------------------
def encode_tid(value: int) -> str:
    """The 13-character base32-sortable form of a 64-bit TID integer."""
    chars = []
    for _ in range(13):
        chars.append(TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def decode_tid(tid: str) -> int:
    value = 0
    for char in tid:
        value = value * 32 + TID_ALPHABET.index(char)
    return value


def record_key(created_at: datetime | None, idempotency_key: str) -> str:
    """A valid TID that is the same for every attempt at the same post.

    The 53-bit timestamp is ``created_at`` in microseconds since the epoch and
    the 10-bit clock id is a hash of the idempotency key, so two posts queued
    in the same microsecond still differ 1023 times out of 1024. Without a
    ``created_at`` the timestamp comes from the key's hash too (40 bits of
    microseconds after 2023-01-01, about 12 days): retries still collide, but
    the key no longer sorts by posting time in the repository, which only
    affects ``listRecords`` order (feeds sort by the record's ``createdAt``).
    """
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).digest()
    clock_id = int.from_bytes(digest[:2], "big") & 0x3FF
    if created_at is None:
        offset = int.from_bytes(digest[2:7], "big")  # 40 bits
        micros = (HASH_EPOCH - _EPOCH) // timedelta(microseconds=1) + offset
    else:
        micros = (parse_time(created_at) - _EPOCH) // timedelta(microseconds=1)
    micros &= (1 << 53) - 1  # the top bit of a TID stays zero
    return encode_tid((micros << 10) | clock_id)


def split_at_uri(uri: str) -> tuple[str, str, str]:
    """(repo, collection, rkey) of an at:// record URI."""
    match = AT_URI_RE.match(uri)
    if not match:
        raise NotFound("bluesky", f"{uri!r} is not an at:// record URI")
    return match["repo"], match["collection"], match["rkey"]


# -- text ------------------------------------------------------------------------
def measure_text(text: str) -> int:
    """Graphemes, as Bluesky counts them, unless the text breaks the byte limit.

    Bluesky enforces both 300 graphemes and 3,000 UTF-8 bytes. Past 3,000
    bytes this returns a tenth of the byte count (more than 300), so one
    number answers both limits: a text fits exactly when it is at most 300.
    """
    size = len(text.encode("utf-8"))
    graphemes = grapheme.length(text)
    return graphemes if size <= MAX_BYTES else max(graphemes, math.ceil(size / 10))


def link_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(byte_start, byte_end, url) of every URL in ``text``, in UTF-8 byte offsets."""
    for match in re.finditer(r"https?://[^\s<>\"']+", text, re.IGNORECASE):
        url = match.group(0)
        url = url.rstrip(TRAILING_PUNCTUATION)
        if url.endswith(")") and "(" not in url:
            url = url[:-1]
        start = len(text[: match.start()].encode("utf-8"))
        yield start, start + len(url.encode("utf-8")), url


def link_facets(text: str) -> list[models.AppBskyRichtextFacet.Main]:
    return [
        models.AppBskyRichtextFacet.Main(
            features=[models.AppBskyRichtextFacet.Link(uri=url)],
            index=models.AppBskyRichtextFacet.ByteSlice(byte_start=start, byte_end=end),
        )
        for start, end, url in link_spans(text)
    ]


def field(obj: Any, name: str, alias: str | None = None) -> Any:
    """A field of a model or of the plain dict the SDK falls back to for unknown records."""
    if obj is None:
        return None
    if isinstance(obj, Mapping) or hasattr(obj, "to_dict"):
        try:
            value = obj[alias or name]
        except (KeyError, TypeError):
            value = None
        return value
    return getattr(obj, name, None)


def facet_href(feature: Any, web_url: str) -> str | None:
    kind = str(field(feature, "py_type", "$type") or "")
    if kind.endswith("#link"):
        uri = str(field(feature, "uri") or "")
        return uri if re.match(r"https?://", uri, re.IGNORECASE) else None
    if kind.endswith("#mention"):
        return f"{web_url}/profile/{field(feature, 'did')}"
    if kind.endswith("#tag"):
        return f"{web_url}/hashtag/{field(feature, 'tag')}"
    return None


def record_html(text: str, facets: list[Any] | None, web_url: str) -> str:
    """Escaped text in paragraphs, with faceted spans turned into links."""
    data = text.encode("utf-8")
    spans = []
    for facet in facets or []:
        index = field(facet, "index")
        start, end = field(index, "byte_start", "byteStart"), field(index, "byte_end", "byteEnd")
        features = field(facet, "features") or []
        href = next((h for f in features if (h := facet_href(f, web_url))), None)
        if (
            isinstance(start, int)
            and isinstance(end, int)
            and 0 <= start < end <= len(data)
            and href
        ):
            spans.append((start, end, href))
    out, pos = [], 0
    for start, end, href in sorted(spans):
        if start < pos:
            continue  # overlapping facets: keep the first
        out.append(html.escape(data[pos:start].decode("utf-8", "replace")))
        label = html.escape(data[start:end].decode("utf-8", "replace"))
        out.append(f'<a href="{html.escape(href, quote=True)}">{label}</a>')
        pos = end
    out.append(html.escape(data[pos:].decode("utf-8", "replace")))
    body = "".join(out)
    paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
    return "".join(f"<p>{p.strip().replace(chr(10), '<br>')}</p>" for p in paragraphs) or "<p></p>"


# -- the adapter -----------------------------------------------------------------------
class BlueskyAdapter(Adapter):
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

    # -- text -------------------------------------------------------------------------
    def max_length(self) -> int:
        return int(self.options.get("max_length", MAX_GRAPHEMES))

    def measure(self, text: str) -> int:
        return measure_text(text)

    # -- session ------------------------------------------------------------------
    def session_path(self, handle: str) -> Path:
        safe = re.sub(r"[^a-z0-9._-]", "_", handle.lower().lstrip("@"))
        return Path(self.ctx.state_dir) / f"bluesky-{safe}.session"

    def _new_client(self) -> Client:
        # The SDK's Request hands its keyword arguments to httpx.Client: that is the timeout.
        client = Client(base_url=self.base_url, request=Request(timeout=self.timeout))
        client.on_session_change(self._on_session_change)
        return client

    def _on_session_change(self, event: SessionEvent, session: Session) -> None:
        if event in (SessionEvent.CREATE, SessionEvent.REFRESH):
            self._store_session(self._login_name or session.handle, session.encode())

    def _store_session(self, handle: str, session_string: str) -> None:
        path = self.session_path(handle)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.parent.stat().st_mode & 0o077:
            path.parent.chmod(0o700)  # it holds a secret
        payload = json.dumps({"service": self.base_url, "session": session_string})
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
            os.write(fd, payload.encode("utf-8"))
        finally:
            os.close(fd)
        os.replace(tmp, path)

    def _load_session(self, handle: str) -> str | None:
        """The stored session string, if there is one for this service."""
        path = self.session_path(handle)
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            log.warning("bluesky: the stored session is unreadable; logging in again")
            return None
        if not isinstance(data, dict) or data.get("service") != self.base_url:
            return None  # made for another server (a stand-in on another port, say)
        session = data.get("session")
        if not isinstance(session, str) or not _decodable(session):
            log.warning("bluesky: the stored session is unreadable; logging in again")
            return None
        return session

    def _forget_session(self, handle: str) -> None:
        self.session_path(handle).unlink(missing_ok=True)

    def _login(self) -> Client:
        handle, password = self.ctx.credential(self.name, "BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD")
        self._login_name = self._handle = handle.strip().lstrip("@")
        stored = self._load_session(self._login_name)
        if stored:
            client = self._new_client()
            try:
                self._guard(lambda: self._resume(client, stored), "resuming the stored session")
                return self._adopt(client)
            except AuthFailed:
                log.info(
                    "bluesky: the stored session was rejected; logging in with the app password"
                )
                self._forget_session(self._login_name)
        client = self._new_client()
        try:
            self._guard(lambda: client.login(self._login_name, password), "logging in")
        except AuthFailed:
            self._forget_session(self._login_name)
            raise
        return self._adopt(client)

    def _resume(self, client: Client, stored: str) -> None:
        try:
            client.login(session_string=stored)
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
                self._forget_session(self._login_name)
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
            created_at=_iso(post.created_at or datetime.now(UTC)),
            facets=link_facets(post.text) or None,
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

    def _existing(self, rkey: str, post: OutgoingPost) -> RemoteRef | None:
        """Our record at ``rkey`` (a retry), None if there is none, Duplicate if it is not ours.

        "Ours" means the same text, the same ``createdAt`` (when the post has one)
        and the same parent: what a retry of this very post would have written.
        """

        def get(client: Client) -> models.ComAtprotoRepoGetRecord.Response:
            params = models.ComAtprotoRepoGetRecord.Params(
                repo=self._did, collection=POST_COLLECTION, rkey=rkey
            )
            return client.com.atproto.repo.get_record(params)

        try:
            found = self._call("looking up the post", get)
        except NotFound:
            return None
        value = found.value
        same_text = field(value, "text") == post.text
        same_time = post.created_at is None or (
            field(value, "created_at", "createdAt") == _iso(post.created_at)
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
        hidden = _hidden_replies(answer.threadgate) | _hidden_replies(view.threadgate)
        root_ref = field(field(view.record, "reply"), "root")
        root = (str(field(root_ref, "uri")), str(field(root_ref, "cid"))) if root_ref else None
        walk = _Walk(self, hidden, root or (str(view.uri), str(view.cid)))
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
            created_at=_safe_time(created, view.indexed_at),
            is_own=author.did == self._did,
            likes=view.like_count or 0,
            reposts=(view.repost_count or 0) + (view.quote_count or 0),
        )


class _Walk:
    """Collects the visible replies of a thread, depth first."""

    def __init__(self, adapter: BlueskyAdapter, hidden: set[str], root: tuple[str, str]) -> None:
        self.adapter = adapter
        self.hidden = hidden
        self.root = root
        self.comments: list[RemoteComment] = []
        self.complete = True

    def replies(self, node: models.AppBskyFeedDefs.ThreadViewPost, node_uri: str) -> None:
        if node.replies is None:
            if node.post.reply_count:
                self.complete = False  # the depth limit cut the tree here
            return
        for child in node.replies:
            # NotFoundPost and BlockedPost placeholders: their subtrees are unreachable anyway.
            if not isinstance(child, models.AppBskyFeedDefs.ThreadViewPost):
                continue
            view = child.post
            if str(view.uri) in self.hidden or _not_for_the_public(view):
                continue
            parent = field(field(view.record, "reply"), "parent")
            parent_id = str(field(parent, "uri") or node_uri)
            self.comments.append(self.adapter._comment(view, parent_id, self.root))
            self.replies(child, str(view.uri))


def _not_for_the_public(view: models.AppBskyFeedDefs.PostView) -> bool:
    """The author asked not to be shown to logged-out viewers; the site is public."""
    labels = list(view.labels or []) + list(view.author.labels or [])
    return any(label.val == NO_UNAUTHENTICATED and not label.neg for label in labels)


def _hidden_replies(gate: Any) -> set[str]:
    record = field(gate, "record")
    hidden = field(record, "hidden_replies", "hiddenReplies") or []
    return {str(uri) for uri in hidden}


def _decodable(session_string: str) -> bool:
    """Whether the SDK can import this session string (and read its token's expiry)."""
    try:
        return Session.decode(session_string).access_jwt_payload.exp is not None
    except (ValueError, AtProtocolError):
        return False


def _safe_time(value: Any, fallback: Any) -> datetime:
    try:
        return parse_time(str(value))
    except ValueError:
        return parse_time(str(fallback))


def _iso(value: datetime) -> str:
    """RFC 3339 in UTC with a Z, as records carry it (stable for a given datetime)."""
    moment = parse_time(value).astimezone(UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


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
    """Seconds until the window resets, from RateLimit-Reset (epoch seconds)."""
    if exc.retry_after is not None:
        return exc.retry_after
    if exc.reset_at is not None:
        return max(0.0, exc.reset_at.timestamp() - time.time())
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
    "link_facets",
    "measure_text",
    "record_html",
    "record_key",
]
