"""A local Bluesky: the PDS and AppView XRPC endpoints the atproto SDK calls.

It serves ``/xrpc/<nsid>`` with the lexicons' JSON shapes (``$type`` fields
included) and the reference PDS's error answers: ``{"error", "message"}``
bodies, 400 ``NotFound`` for a missing thread, 400 ``ExpiredToken`` for an
expired token, 401 ``AuthenticationRequired`` for a wrong app password, and
429 with ``RateLimit-Limit/-Remaining/-Reset/-Policy`` headers (``createSession``
also has its real budget of 30 per 5 minutes). Access tokens are unsigned JWTs
with an ``exp`` claim (the SDK decides when to refresh by reading it), and
``createSession`` returns no ``didDoc``, so the client stays on this server.

Controls beyond the base: ``hide`` (the thread author lists the reply in the
thread gate), ``block`` (replies from that account become ``blockedPost``),
``label`` (e.g. ``!no-unauthenticated``), ``quote``, ``expire_sessions`` and
``revoke_sessions`` (the server refuses the tokens it issued),
``lose_next_write`` (a post is stored but its answer is lost) and
``collision`` (how a taken record key is answered: ``"500"`` as bsky.social
does today, ``"400"`` or ``"409"`` as newer PDSs do).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import grapheme

from .base import Account, Item, Request, Response, StandIn, route

POST = "app.bsky.feed.post"
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
URL_RE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
X = "/xrpc/"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def cid_for(data: Any) -> str:
    """A CIDv1-looking string derived from the content (dag-cbor is not worth faking)."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).digest()
    return "bafyrei" + base64.b32encode(digest).decode().lower().rstrip("=")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def tid(micros: int, clock_id: int) -> str:
    value = (micros << 10) | (clock_id & 0x3FF)
    return "".join(TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


@dataclass
class Token:
    did: str
    kind: str  # "access" | "refresh"
    exp: float
    revoked: bool = False


class BlueskyStandIn(StandIn):
    network: ClassVar[str] = "bluesky"
    app_password: ClassVar[str] = "sand-box0-blue-sky1"
    access_ttl: float = 2 * 3600.0  # the reference PDS's access token lifetime
    refresh_ttl: float = 90 * 86400.0
    session_limit: int = 30  # createSession per handle and 5 minutes
    collision: str = "500"

    def __init__(self, **kw: Any) -> None:
        self.tokens: dict[str, Token] = {}
        self.blocked: set[str] = set()
        self.labels: dict[str, set[str]] = {}
        self.session_times: list[float] = []
        self._lose_writes = 0
        self._last_micros = 0
        super().__init__(**kw)

    # -- accounts ---------------------------------------------------------------
    def handle_for(self, key: str) -> str:
        return f"{key}.bsky.social"

    def account_id(self, key: str) -> str:
        return f"did:plc:{key}"

    def account(self, who: str) -> Account | None:
        """An account by key, handle or DID."""
        return self.accounts.get(who) or next(
            (a for a in self.accounts.values() if who in (a.handle, a.id)), None
        )

    def network_options(self) -> dict[str, Any]:
        return {"base_url": self.base_url}

    def environment(self) -> dict[str, str]:
        return {
            "BLUESKY_HANDLE": self.accounts["author"].handle,
            "BLUESKY_APP_PASSWORD": self.app_password,
        }

    # -- conversation -------------------------------------------------------------
    def next_rkey(self) -> str:
        micros = max(time.time_ns() // 1000, self._last_micros + 1)
        self._last_micros = micros
        return tid(micros, secrets.randbelow(1024))

    def uri(self, author: str, rkey: str) -> str:
        return f"at://{self.accounts[author].id}/{POST}/{rkey}"

    def add_post(self, author: str, text: str, parent_id: str | None = None, **kw: Any) -> Item:
        """A post (a reply with ``parent_id``) by ``author``; its id is its at:// URI."""
        with self.lock:
            rkey = kw.pop("rkey", None) or self.next_rkey()
            record = kw.pop("record", None)
            kw["id"] = self.uri(author, rkey)
            item = super().add_post(author, text, parent_id=parent_id, **kw)
            if record is None:
                record = self._record_for(item)
            item.extra.update(rkey=rkey, record=record, cid=cid_for(record))
            item.extra.setdefault("quoted_by", set())
            return item

    def _record_for(self, item: Item) -> dict[str, Any]:
        """The record the Bluesky app would write: link facets and reply refs included."""
        record: dict[str, Any] = {
            "$type": POST,
            "text": item.text,
            "createdAt": iso(item.created_at),
        }
        facets = [
            {
                "$type": "app.bsky.richtext.facet",
                "index": {"byteStart": start, "byteEnd": start + len(url.encode())},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
            }
            for match in URL_RE.finditer(item.text)
            for url in [match.group(0).rstrip(".,;:!?")]
            for start in [len(item.text[: match.start()].encode())]
        ]
        if facets:
            record["facets"] = facets
        if item.parent_id:
            parent = self.items[item.parent_id]
            root = self.items[item.root_id or item.parent_id]
            record["reply"] = {
                "root": {"uri": root.id, "cid": root.extra["cid"]},
                "parent": {"uri": parent.id, "cid": parent.extra["cid"]},
            }
        return record

    def edit(self, item_id: str, text: str, html: str | None = None) -> Item:
        """Bluesky has no edits; this rewrites the record as a delete and re-create would."""
        with self.lock:
            item = super().edit(item_id, text, html)
            item.extra["record"] = dict(item.extra["record"], text=text)
            item.extra["cid"] = cid_for(item.extra["record"])
            return item

    def quote(self, item_id: str, *accounts: str) -> None:
        with self.lock:
            self.items[item_id].extra["quoted_by"].update(accounts or ("eve",))

    def block(self, *accounts: str) -> None:
        """A block between the blog's account and ``accounts`` (either direction looks the same)."""
        with self.lock:
            self.blocked.update(accounts)

    def label(self, account: str, value: str = "!no-unauthenticated") -> None:
        """A self-label on an account, such as the request not to be shown to logged-out viewers."""
        with self.lock:
            self.labels.setdefault(account, set()).add(value)

    # -- sessions -------------------------------------------------------------------
    def expire_sessions(self) -> None:
        """Every access token issued so far is refused as expired (refresh tokens still work)."""
        with self.lock:
            for token in self.tokens.values():
                if token.kind == "access":
                    token.exp = 0
                    token.revoked = True

    def revoke_sessions(self) -> None:
        """Every token issued so far is refused: only a password login helps."""
        with self.lock:
            for token in self.tokens.values():
                token.revoked = True

    def lose_next_write(self, count: int = 1) -> None:
        """The next ``count`` createRecord calls are stored, but the answer never arrives."""
        with self.lock:
            self._lose_writes += count

    def _jwt(self, did: str, kind: str, ttl: float) -> str:
        now = int(time.time())
        header = {"typ": "at+jwt" if kind == "access" else "refresh+jwt", "alg": "ES256K"}
        claims: dict[str, Any] = {
            "scope": "com.atproto.appPass" if kind == "access" else "com.atproto.refresh",
            "sub": did,
            "aud": "did:web:127.0.0.1",
            "iat": now,
            "exp": int(now + ttl),
        }
        if kind == "refresh":
            claims["jti"] = secrets.token_urlsafe(24)
        token = ".".join(
            [
                b64url(json.dumps(header).encode()),
                b64url(json.dumps(claims).encode()),
                b64url(secrets.token_bytes(32)),  # unsigned: nobody verifies it here
            ]
        )
        self.tokens[token] = Token(did=did, kind=kind, exp=now + ttl)
        return token

    def _session_body(self, account: Account) -> dict[str, Any]:
        return {
            "accessJwt": self._jwt(account.id, "access", self.access_ttl),
            "refreshJwt": self._jwt(account.id, "refresh", self.refresh_ttl),
            "handle": account.handle,
            "did": account.id,
            "email": f"{account.key}@example.org",
            "emailConfirmed": True,
            "active": True,
        }

    def _bearer(self, request: Request) -> str | None:
        value = request.headers.get("authorization", "")
        return value[7:].strip() if value.lower().startswith("bearer ") else None

    def _check_token(self, token: str, kind: str) -> Account | Response:
        known = self.tokens.get(token)
        if known is None or known.kind != kind:
            return self.xrpc_error(401, "InvalidToken", "Token could not be verified")
        if known.revoked and kind == "refresh":
            return self.xrpc_error(400, "ExpiredToken", "Token has been revoked")
        if known.revoked or known.exp < time.time():
            return self.xrpc_error(400, "ExpiredToken", "Token has expired")
        account = self.account(known.did)
        if account is None:
            return self.xrpc_error(401, "InvalidToken", "Token could not be verified")
        return account

    def _viewer(self, request: Request, required: bool) -> Account | Response | None:
        """The authenticated account, None when anonymous, or the refusal to send."""
        token = self._bearer(request)
        if token is None:
            if required:
                return self.xrpc_error(401, "AuthenticationRequired", "Authentication Required")
            return None
        return self._check_token(token, "access")

    # -- errors ----------------------------------------------------------------------
    NAMES: ClassVar[dict[int, str]] = {
        400: "InvalidRequest",
        401: "AuthenticationRequired",
        403: "Forbidden",
        404: "XRPCNotSupported",
        405: "InvalidRequest",
        500: "InternalServerError",
        502: "UpstreamFailure",
        503: "NotEnoughResources",
        504: "UpstreamTimeout",
    }

    def xrpc_error(self, status: int, error: str, message: str) -> Response:
        return Response(status, {"error": error, "message": message})

    def error(self, status: int, message: str) -> Response:
        name = self.NAMES.get(status, "InternalServerError")
        if status >= 500:
            message = "Internal Server Error" if status == 500 else message
        return self.xrpc_error(status, name, message)

    def rate_limited(self, retry_after: float, limit: int = 3000, window: int = 300) -> Response:
        response = self.xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded")
        response.headers.update(
            {
                "RateLimit-Limit": str(limit),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": self.reset_epoch(retry_after),
                "RateLimit-Policy": f"{limit};w={window}",
            }
        )
        return response

    def dispatch(self, request: Request) -> Response | None:
        response = super().dispatch(request)
        if response is not None and request.path == X + "com.atproto.repo.createRecord":
            with self.lock:
                lose = self._lose_writes > 0 and response.status == 200
                if lose:
                    self._lose_writes -= 1
            if lose:
                time.sleep(self.timeout_seconds)
                return None
        return response

    # -- server ---------------------------------------------------------------------
    @route("POST", X + r"com\.atproto\.server\.createSession")
    def create_session(self, request: Request) -> Response:
        body = request.json() or {}
        now = time.time()
        self.session_times = [t for t in self.session_times if t > now - 300]
        if len(self.session_times) >= self.session_limit:
            wait = (self.session_times[0] if self.session_times else now) + 300 - now
            return self.rate_limited(wait, limit=self.session_limit, window=300)
        self.session_times.append(now)
        account = self.account(str(body.get("identifier", "")).lstrip("@"))
        if account is None or account.key != "author" or body.get("password") != self.app_password:
            return self.xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        return Response(200, self._session_body(account))

    @route("GET", X + r"com\.atproto\.server\.getSession")
    def get_session(self, request: Request) -> Response:
        viewer = self._viewer(request, required=True)
        if not isinstance(viewer, Account):
            return viewer or self.error(401, "Authentication Required")
        return Response(200, {"handle": viewer.handle, "did": viewer.id, "active": True})

    @route("POST", X + r"com\.atproto\.server\.refreshSession")
    def refresh_session(self, request: Request) -> Response:
        token = self._bearer(request)
        if token is None:
            return self.xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        account = self._check_token(token, "refresh")
        if not isinstance(account, Account):
            return account
        self.tokens[token].revoked = True  # refresh tokens rotate
        body = self._session_body(account)
        body.pop("email")
        body.pop("emailConfirmed")
        return Response(200, body)

    # -- actors ---------------------------------------------------------------------
    def _labels(self, account: Account) -> list[dict[str, Any]]:
        return [
            {
                "src": account.id,
                "uri": f"at://{account.id}/app.bsky.actor.profile/self",
                "val": value,
                "cts": "2024-01-01T00:00:00.000Z",
            }
            for value in sorted(self.labels.get(account.key, ()))
        ]

    def profile_basic(self, account: Account) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "$type": "app.bsky.actor.defs#profileViewBasic",
            "did": account.id,
            "handle": account.handle,
            "displayName": account.name,
            "labels": self._labels(account),
            "viewer": {"muted": False, "blockedBy": False},
            "createdAt": "2024-01-01T00:00:00.000Z",
        }
        if account.avatar:
            profile["avatar"] = account.avatar
        return profile

    @route("GET", X + r"app\.bsky\.actor\.getProfile")
    def get_profile(self, request: Request) -> Response:
        viewer = self._viewer(request, required=False)
        if isinstance(viewer, Response):
            return viewer
        account = self.account(str(request.arg("actor", "")).lstrip("@"))
        if account is None:
            return self.xrpc_error(400, "InvalidRequest", "Profile not found")
        posts = [i for i in self.items.values() if i.author == account.key and not i.deleted]
        profile = self.profile_basic(account)
        profile.update(
            {
                "$type": "app.bsky.actor.defs#profileViewDetailed",
                "description": "",
                "followersCount": 0,
                "followsCount": 0,
                "postsCount": len(posts),
                "indexedAt": "2024-01-01T00:00:00.000Z",
            }
        )
        return Response(200, profile)

    # -- repository -----------------------------------------------------------------
    def _repo_account(self, repo: str | None) -> Account | None:
        return self.account(repo or "")

    @route("POST", X + r"com\.atproto\.repo\.createRecord")
    def create_record(self, request: Request) -> Response:
        viewer = self._viewer(request, required=True)
        if not isinstance(viewer, Account):
            return viewer or self.error(401, "Authentication Required")
        body = request.json() or {}
        repo = self._repo_account(body.get("repo"))
        if repo is None:
            return self.xrpc_error(
                400, "InvalidRequest", f"Could not find repo: {body.get('repo')}"
            )
        if repo.key != viewer.key:
            return self.xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        if body.get("collection") != POST:
            return self.xrpc_error(400, "InvalidRequest", "this stand-in only stores posts")
        rkey = body.get("rkey") or self.next_rkey()
        if not TID_RE.match(str(rkey)):
            return self.xrpc_error(400, "InvalidRequest", f"Invalid {POST} record key: {rkey}")
        record = body.get("record")
        problem = self._invalid_record(record)
        if problem or not isinstance(record, dict):
            return self.xrpc_error(400, "InvalidRequest", f"Invalid {POST} record: {problem}")
        uri = self.uri(viewer.key, rkey)
        if self.live(uri) is not None:
            return self._collision(uri)
        reply = record.get("reply")
        parent_id = reply["parent"]["uri"] if reply else None
        self.items.pop(uri, None)  # a deleted record's key may be used again
        item = self.add_post(
            viewer.key, record["text"], parent_id=parent_id, rkey=rkey, record=record
        )
        return Response(
            200,
            {
                "uri": item.id,
                "cid": item.extra["cid"],
                "commit": {"cid": cid_for([item.id, "commit"]), "rev": self.next_rkey()},
                "validationStatus": "valid",
            },
        )

    def _collision(self, uri: str) -> Response:
        if self.collision == "400":
            return self.xrpc_error(400, "InvalidRequest", f"Record already exists: {uri}")
        if self.collision == "409":
            return self.xrpc_error(409, "RecordAlreadyExists", f"Record already exists: {uri}")
        # What bsky.social serves today (bluesky-social/atproto#3718).
        return self.xrpc_error(500, "InternalServerError", "Internal Server Error")

    def _invalid_record(self, record: Any) -> str | None:
        """Why a post record is invalid, or None. Stricter than a PDS on reply refs."""
        if not isinstance(record, dict) or record.get("$type", POST) != POST:
            return "Record/$type must be app.bsky.feed.post"
        text = record.get("text")
        if not isinstance(text, str):
            return "Record/text must be a string"
        if grapheme.length(text) > 300:
            return "Record/text must not be longer than 300 graphemes"
        size = len(text.encode())
        if size > 3000:
            return "Record/text must not be longer than 3000 characters"
        try:
            created = datetime.fromisoformat(str(record.get("createdAt")).replace("Z", "+00:00"))
        except ValueError:
            return "Record/createdAt must be an valid atproto datetime"
        if created.tzinfo is None:
            return "Record/createdAt must be an valid atproto datetime"
        for facet in record.get("facets") or []:
            index = facet.get("index") or {}
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= size):
                return "Record/facets has a byte slice outside the text"
        embed = record.get("embed")
        if embed is not None and embed.get("$type") == "app.bsky.embed.external":
            external = embed.get("external") or {}
            if not all(isinstance(external.get(k), str) for k in ("uri", "title", "description")):
                return "Record/embed/external must have uri, title and description"
        reply = record.get("reply")
        return self._invalid_reply(reply) if reply is not None else None

    def _invalid_reply(self, reply: dict[str, Any]) -> str | None:
        # A real PDS stores a broken reply and the AppView orphans it; failing here shows the bug.
        try:
            parent_uri, parent_cid = reply["parent"]["uri"], reply["parent"]["cid"]
            root_uri, root_cid = reply["root"]["uri"], reply["root"]["cid"]
        except (KeyError, TypeError):
            return "Record/reply must have root and parent strong refs"
        parent, root = self.live(parent_uri), self.live(root_uri)
        if parent is None or root is None:
            return "Record/reply refers to a post that does not exist"
        if parent.extra["cid"] != parent_cid or root.extra["cid"] != root_cid:
            return "Record/reply has a cid that does not match the post"
        if (parent.root_id or parent.id) != root.id:
            return "Record/reply/root is not the root of the parent's thread"
        return None

    def _split(self, repo: str | None, collection: str | None, rkey: str | None) -> str | None:
        account = self._repo_account(repo)
        if account is None or collection != POST or not rkey:
            return None
        return self.uri(account.key, rkey)

    @route("GET", X + r"com\.atproto\.repo\.getRecord")
    def get_record(self, request: Request) -> Response:
        viewer = self._viewer(request, required=False)
        if isinstance(viewer, Response):
            return viewer
        uri = self._split(request.arg("repo"), request.arg("collection"), request.arg("rkey"))
        item = self.live(uri) if uri else None
        if item is None:
            where = f"at://{request.arg('repo')}/{request.arg('collection')}/{request.arg('rkey')}"
            return self.xrpc_error(400, "RecordNotFound", f"Could not locate record: {where}")
        return Response(
            200, {"uri": item.id, "cid": item.extra["cid"], "value": item.extra["record"]}
        )

    @route("POST", X + r"com\.atproto\.repo\.deleteRecord")
    def delete_record(self, request: Request) -> Response:
        viewer = self._viewer(request, required=True)
        if not isinstance(viewer, Account):
            return viewer or self.error(401, "Authentication Required")
        body = request.json() or {}
        uri = self._split(body.get("repo"), body.get("collection"), body.get("rkey"))
        repo = self._repo_account(body.get("repo"))
        if repo is None or repo.key != viewer.key:
            return self.xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        if uri and self.live(uri):
            self.delete(uri)
        return Response(200, {"commit": {"cid": cid_for([uri, "delete"]), "rev": self.next_rkey()}})

    # -- feeds -------------------------------------------------------------------------
    def post_view(self, item: Item) -> dict[str, Any]:
        record = item.extra["record"]
        view: dict[str, Any] = {
            "$type": "app.bsky.feed.defs#postView",
            "uri": item.id,
            "cid": item.extra["cid"],
            "author": self.profile_basic(self.accounts[item.author]),
            "record": record,
            "replyCount": len(self.children(item.id)),  # direct replies, like the AppView
            "repostCount": len(item.reposted_by),
            "likeCount": len(item.liked_by),
            "quoteCount": len(item.extra.get("quoted_by", ())),
            "bookmarkCount": 0,
            "indexedAt": iso(item.created_at),
            "labels": [],
            "viewer": {"threadMuted": False, "embeddingDisabled": False},
        }
        embed = record.get("embed")
        if embed and embed.get("$type") == "app.bsky.embed.external":
            external = embed["external"]
            view["embed"] = {
                "$type": "app.bsky.embed.external#view",
                "external": {k: external[k] for k in ("uri", "title", "description")},
            }
        if not item.parent_id:
            gate = self.threadgate(item)
            if gate:
                view["threadgate"] = gate
        return view

    def threadgate(self, root: Item) -> dict[str, Any] | None:
        """The root's thread gate: present once its author hid a reply."""
        hidden = sorted(
            (i for i in self.items.values() if i.hidden and (i.root_id or i.id) == root.id),
            key=lambda i: i.created_at,
        )
        if not hidden:
            return None
        did = self.accounts[root.author].id
        record = {
            "$type": "app.bsky.feed.threadgate",
            "post": root.id,
            "createdAt": iso(root.created_at),
            "hiddenReplies": [i.id for i in hidden],
        }
        return {
            "$type": "app.bsky.feed.defs#threadgateView",
            "uri": f"at://{did}/app.bsky.feed.threadgate/{root.extra['rkey']}",
            "cid": cid_for(record),
            "record": record,
            "lists": [],
        }

    def _all_children(self, item_id: str) -> list[Item]:
        return sorted(
            (i for i in self.items.values() if i.parent_id == item_id), key=lambda i: i.created_at
        )

    def thread_node(self, item: Item, depth: int) -> dict[str, Any] | None:
        """A threadViewPost with ``depth`` levels of replies, or the AppView's placeholder."""
        if item.deleted:
            if not self._all_children(item.id):
                return None  # a deleted leaf simply vanishes
            return {"$type": "app.bsky.feed.defs#notFoundPost", "uri": item.id, "notFound": True}
        if item.author in self.blocked:
            did = self.accounts[item.author].id
            return {
                "$type": "app.bsky.feed.defs#blockedPost",
                "uri": item.id,
                "blocked": True,
                "author": {
                    "$type": "app.bsky.feed.defs#blockedAuthor",
                    "did": did,
                    "viewer": {"blockedBy": True},
                },
            }
        node: dict[str, Any] = {
            "$type": "app.bsky.feed.defs#threadViewPost",
            "post": self.post_view(item),
        }
        if depth > 0:
            replies = [self.thread_node(c, depth - 1) for c in self._all_children(item.id)]
            node["replies"] = [r for r in replies if r is not None]
        return node

    @route("GET", X + r"app\.bsky\.feed\.getPostThread")
    def get_post_thread(self, request: Request) -> Response:
        viewer = self._viewer(request, required=False)
        if isinstance(viewer, Response):
            return viewer
        uri = request.arg("uri") or ""
        try:
            depth = int(request.arg("depth", "6") or 6)
            height = int(request.arg("parentHeight", "80") or 80)
        except ValueError:
            return self.xrpc_error(400, "InvalidRequest", "depth and parentHeight must be integers")
        if not (0 <= depth <= 1000 and 0 <= height <= 1000):
            return self.xrpc_error(
                400, "InvalidRequest", "depth and parentHeight must be 0 to 1000"
            )
        item = self.live(uri)
        if item is None:
            return self.xrpc_error(400, "NotFound", f"Post not found: {uri}")
        thread = self.thread_node(item, depth) or {}
        self._attach_parents(thread, item, height)
        body: dict[str, Any] = {"thread": thread}
        gate = self.threadgate(self.items[item.root_id or item.id])
        if gate:
            body["threadgate"] = gate
        return Response(200, body)

    def _attach_parents(self, node: dict[str, Any], item: Item, height: int) -> None:
        while height > 0 and item.parent_id and node.get("$type", "").endswith("threadViewPost"):
            parent = self.items[item.parent_id]
            parent_node = self.thread_node(parent, 0) or {
                "$type": "app.bsky.feed.defs#notFoundPost",
                "uri": parent.id,
                "notFound": True,
            }
            parent_node.pop("replies", None)
            node["parent"] = parent_node
            node, item, height = parent_node, parent, height - 1

    @route("GET", X + r"app\.bsky\.feed\.getPosts")
    def get_posts(self, request: Request) -> Response:
        viewer = self._viewer(request, required=False)
        if isinstance(viewer, Response):
            return viewer
        uris = request.query.get("uris", [])
        if len(uris) > 25:
            return self.xrpc_error(
                400, "InvalidRequest", "uris must not have more than 25 elements"
            )
        posts = [self.post_view(item) for uri in uris if (item := self.live(uri)) is not None]
        return Response(200, {"posts": posts})
