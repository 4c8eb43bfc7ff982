"""A local Bluesky: the PDS and AppView XRPC endpoints the atproto SDK calls.

It serves ``/xrpc/<nsid>`` with the lexicons' JSON shapes (``$type`` fields
included) and the reference PDS's error answers: ``{"error", "message"}``
bodies, 400 ``NotFound`` for a missing thread, 400 ``ExpiredToken`` for an
expired token, 401 ``AuthenticationRequired`` for a wrong app password, and
429 with ``RateLimit-Limit/-Remaining/-Reset/-Policy`` headers (``createSession``
also has its real budget of 30 per 5 minutes). Access tokens are unsigned JWTs
with an ``exp`` claim (the SDK decides when to refresh by reading it), and
``createSession`` returns a ``didDoc`` naming this server as the PDS (the SDK
moves to the PDS a didDoc names), so the client stays here.

Controls beyond the base: ``hide`` (the thread author lists the reply in the
thread gate), ``block`` (replies from that account become ``blockedPost``),
``label`` (e.g. ``!no-unauthenticated``), ``quote``, ``expire_sessions`` and
``revoke_sessions`` (the server refuses the tokens it issued),
``lose_next_write`` (a post is stored but its answer is lost) and
``collision`` (how a taken record key is answered: ``"500"`` as bsky.social
does today, ``"400"`` or ``"409"`` as newer PDSs do).

Sessions, tokens and error answers live in ``bluesky_xrpc``, profiles and thread
building in ``bluesky_views``, notifications and rate-limit headers in
``bluesky_notify``; this module holds the post repository.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Any

import regex

from .base import Item, Request, Response, iso_millis, plain_urls, route
from .bluesky_notify import BlueskyNotifications
from .bluesky_xrpc import POST, TID_RE, X, cid_for, tid

__all__ = ["TID_RE", "BlueskyStandIn"]
MAX_GRAPHEMES, MAX_BYTES = 300, 3000
STRONG_REF = "com.atproto.repo.strongRef"  # the app writes reply refs with their $type
LIKE = "app.bsky.feed.like"


class BlueskyStandIn(BlueskyNotifications):
    """A PDS and AppView in one: sessions, the post repository and thread views."""

    collision: str = "500"

    def __init__(self, **kw: Any) -> None:
        self._last_micros = 0
        self.like_records: dict[str, dict[str, Any]] = {}  # at:// URI -> like record
        super().__init__(**kw)

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
            "createdAt": iso_millis(item.created_at),
        }
        facets = [
            {
                "$type": "app.bsky.richtext.facet",
                "index": {"byteStart": start, "byteEnd": start + len(url.encode())},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
            }
            for offset, url in plain_urls(item.text)
            for start in [len(item.text[:offset].encode())]
        ]
        if facets:
            record["facets"] = facets
        if item.parent_id:
            parent = self.items[item.parent_id]
            root = self.items[item.root_id or item.parent_id]
            record["reply"] = {
                "root": {"$type": STRONG_REF, "uri": root.id, "cid": root.extra["cid"]},
                "parent": {"$type": STRONG_REF, "uri": parent.id, "cid": parent.extra["cid"]},
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
            self.notices.acted_on("quote", self.items[item_id], accounts or ("eve",))

    def lose_next_write(self, count: int = 1) -> None:
        """The next ``count`` createRecord calls are stored, but the answer never arrives."""
        self.lose_answers(count, X + "com.atproto.repo.createRecord")

    # -- repository -----------------------------------------------------------------
    @route("POST", X + r"com\.atproto\.repo\.createRecord", auth="required")
    def create_record(self, request: Request) -> Response:
        viewer = request.caller
        body = request.json() or {}
        repo = self.account(body.get("repo") or "")
        if repo is None:
            return self.xrpc_error(
                400, "InvalidRequest", f"Could not find repo: {body.get('repo')}"
            )
        if repo.key != viewer:
            return self._no_credentials()
        if body.get("collection") == LIKE:
            return self._create_like(
                viewer, body.get("rkey") or self.next_rkey(), body.get("record")
            )
        if body.get("collection") != POST:
            return self.xrpc_error(400, "InvalidRequest", "this stand-in only stores posts")
        rkey = body.get("rkey") or self.next_rkey()
        if not TID_RE.match(str(rkey)):
            return self.xrpc_error(400, "InvalidRequest", f"Invalid {POST} record key: {rkey}")
        record = body.get("record")
        problem = self._invalid_record(record)
        if problem or not isinstance(record, dict):
            return self.xrpc_error(400, "InvalidRequest", f"Invalid {POST} record: {problem}")
        uri = self.uri(viewer, rkey)
        if self.live(uri) is not None and self.permissive:
            # As if the key were free: the copy lands beside the first under a fresh key.
            rkey = self.next_rkey()
            uri = self.uri(viewer, rkey)
        if self.live(uri) is not None:
            return self._collision(uri)
        reply = record.get("reply")
        parent_id = reply["parent"]["uri"] if reply else None
        self.items.pop(uri, None)  # a deleted record's key may be used again
        item = self.add_post(viewer, record["text"], parent_id=parent_id, rkey=rkey, record=record)
        return Response(
            200,
            {
                "uri": item.id,
                "cid": item.extra["cid"],
                "commit": {"cid": cid_for([item.id, "commit"]), "rev": self.next_rkey()},
                "validationStatus": "valid",
            },
        )

    def _create_like(self, viewer: str, rkey: Any, record: Any) -> Response:
        """A like record: a PDS keeps every one it is sent; only a taken key is refused."""
        subject = (record.get("subject") if isinstance(record, dict) else None) or {}
        liked = self.live(str(subject.get("uri") or ""))
        if not TID_RE.match(str(rkey)) or liked is None or liked.extra["cid"] != subject.get("cid"):
            return self.xrpc_error(400, "InvalidRequest", f"Invalid {LIKE} record")
        uri = f"at://{self.accounts[viewer].id}/{LIKE}/{rkey}"
        if uri in self.like_records and not self.permissive:
            return self._collision(uri)
        if uri in self.like_records:  # permissive: a second record under a fresh key
            uri = f"at://{self.accounts[viewer].id}/{LIKE}/{self.next_rkey()}"
        self.like_records[uri] = record
        liked.liked_by.add(viewer)  # the AppView counts one like per account
        commit = {"cid": cid_for([uri, "commit"]), "rev": self.next_rkey()}
        return Response(200, {"uri": uri, "cid": cid_for(record), "commit": commit})

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.like_records.clear()

    def likes_of(self, item_id: str) -> list[str]:
        """The URIs of the like records whose subject is ``item_id`` (what tests count)."""
        return [u for u, r in self.like_records.items() if r["subject"]["uri"] == item_id]

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
        if len(regex.findall(r"\X", text)) > MAX_GRAPHEMES:  # user-perceived characters
            return f"Record/text must not be longer than {MAX_GRAPHEMES} graphemes"
        size = len(text.encode())
        if size > MAX_BYTES:
            return f"Record/text must not be longer than {MAX_BYTES} characters"
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
        account = self.account(repo or "")
        if account is None or collection != POST or not rkey:
            return None
        return self.uri(account.key, rkey)

    @route("GET", X + r"com\.atproto\.repo\.getRecord", auth="optional")
    def get_record(self, request: Request) -> Response:
        if request.arg("collection") == LIKE:
            found = self.account(request.arg("repo") or "")
            like_uri = f"at://{found.id if found else ''}/{LIKE}/{request.arg('rkey')}"
            if like_uri in self.like_records:
                value = self.like_records[like_uri]
                return Response(200, {"uri": like_uri, "cid": cid_for(value), "value": value})
        uri = self._split(request.arg("repo"), request.arg("collection"), request.arg("rkey"))
        item = self.live(uri) if uri else None
        if item is None:
            where = f"at://{request.arg('repo')}/{request.arg('collection')}/{request.arg('rkey')}"
            return self.xrpc_error(400, "RecordNotFound", f"Could not locate record: {where}")
        return Response(
            200, {"uri": item.id, "cid": item.extra["cid"], "value": item.extra["record"]}
        )

    @route("POST", X + r"com\.atproto\.repo\.deleteRecord", auth="required")
    def delete_record(self, request: Request) -> Response:
        body = request.json() or {}
        uri = self._split(body.get("repo"), body.get("collection"), body.get("rkey"))
        repo = self.account(body.get("repo") or "")
        if repo is None or repo.key != request.caller:
            return self._no_credentials()
        if uri and self.live(uri):
            self.delete(uri)
        return Response(200, {"commit": {"cid": cid_for([uri, "delete"]), "rev": self.next_rkey()}})
