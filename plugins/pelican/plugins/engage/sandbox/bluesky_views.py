"""The Bluesky stand-in's AppView side: profiles, post views and thread building.

Views carry no ``$type`` where the lexicon needs none (as recorded: only the
thread nodes, a union, name theirs). Threads are built as the AppView builds
them: a deleted reply vanishes together with its whole subtree (the real
AppView drops it from getPostThread; only a deleted *parent* above the
requested post shows as ``notFoundPost``), replies from a blocked account are
``blockedPost``, and a root whose author hid replies carries a thread gate.
"""

from __future__ import annotations

from typing import Any

from .base import Account, Item, Request, Response, iso_millis, route
from .bluesky_xrpc import BlueskySessions, X, cid_for

MAX_URIS = 25  # getPosts' limit
CREATED = "2024-01-01T00:00:00.000Z"  # when every stand-in account was made


def not_found_post(uri: str) -> dict[str, Any]:
    return {"$type": "app.bsky.feed.defs#notFoundPost", "uri": uri, "notFound": True}


class BlueskyViews(BlueskySessions):
    """Read endpoints (getProfile, getPostThread, getPosts) and the views they return."""

    def __init__(self, **kw: Any) -> None:
        self.blocked: set[str] = set()
        self.labels: dict[str, set[str]] = {}
        super().__init__(**kw)

    # -- controls ------------------------------------------------------------------
    def block(self, *accounts: str) -> None:
        """A block between the blog's account and ``accounts`` (either direction looks the same)."""
        with self.lock:
            self.blocked.update(accounts)

    def label(self, account: str, value: str = "!no-unauthenticated") -> None:
        """A self-label on an account, such as the request not to be shown to logged-out viewers."""
        with self.lock:
            self.labels.setdefault(account, set()).add(value)

    # -- actors ---------------------------------------------------------------------
    def _labels(self, account: Account) -> list[dict[str, Any]]:
        return [
            {
                "src": account.id,
                "uri": f"at://{account.id}/app.bsky.actor.profile/self",
                "val": value,
                "cts": CREATED,
            }
            for value in sorted(self.labels.get(account.key, ()))
        ]

    def profile_basic(self, account: Account) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "did": account.id,
            "handle": account.handle,
            "displayName": account.name,
            "labels": self._labels(account),
            "viewer": {"muted": False, "blockedBy": False},
            "createdAt": CREATED,
        }
        if account.avatar:
            profile["avatar"] = account.avatar
        return profile

    @route("GET", X + r"app\.bsky\.actor\.getProfile", auth="optional")
    def get_profile(self, request: Request) -> Response:
        account = self.account(str(request.arg("actor", "")).lstrip("@"))
        if account is None:
            return self.xrpc_error(400, "InvalidRequest", "Profile not found")
        posts = [i for i in self.items.values() if i.author == account.key and not i.deleted]
        profile = self.profile_basic(account)
        profile.update(
            {
                "description": "",
                "followersCount": 0,
                "followsCount": 0,
                "postsCount": len(posts),
                "indexedAt": CREATED,
            }
        )
        return Response(200, profile)

    # -- posts and threads ------------------------------------------------------------
    def post_view(self, item: Item) -> dict[str, Any]:
        record = item.extra["record"]
        view: dict[str, Any] = {
            "uri": item.id,
            "cid": item.extra["cid"],
            "author": self.profile_basic(self.accounts[item.author]),
            "record": record,
            "replyCount": len(self.children(item.id)),  # direct replies, like the AppView
            "repostCount": len(item.reposted_by),
            "likeCount": len(item.liked_by),
            "quoteCount": len(item.extra.get("quoted_by", ())),
            "bookmarkCount": 0,
            "indexedAt": iso_millis(item.created_at),
            "labels": [],
            "viewer": {},  # as recorded for a reader who has not liked or reposted it
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
            "createdAt": iso_millis(root.created_at),
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
            return None  # gone, and its replies with it, as the AppView answers
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

    def _attach_parents(self, node: dict[str, Any], item: Item, height: int) -> None:
        while height > 0 and item.parent_id and node.get("$type", "").endswith("threadViewPost"):
            parent = self.items[item.parent_id]
            parent_node = self.thread_node(parent, 0) or not_found_post(parent.id)
            parent_node.pop("replies", None)
            node["parent"] = parent_node
            node, item, height = parent_node, parent, height - 1

    @route("GET", X + r"app\.bsky\.feed\.getPostThread", auth="optional")
    def get_post_thread(self, request: Request) -> Response:
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

    @route("GET", X + r"app\.bsky\.feed\.getPosts", auth="optional")
    def get_posts(self, request: Request) -> Response:
        uris = request.query.get("uris", [])
        if len(uris) > MAX_URIS:
            return self.xrpc_error(
                400, "InvalidRequest", f"uris must not have more than {MAX_URIS} elements"
            )
        posts = [self.post_view(item) for uri in uris if (item := self.live(uri)) is not None]
        return Response(200, {"posts": posts})
