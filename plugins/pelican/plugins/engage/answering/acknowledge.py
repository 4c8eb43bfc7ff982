"""Acknowledge: like a comment on its network (once), or mark it as needing no answer.

A like is recorded as pending before the network is called and as posted
after, like an answer: a rerun (or a second press in the answer desk) finds
the posted like and calls nothing; a rerun after a crash between the call
and the record calls again, which every network takes as the same like
(Mastodon, X and Facebook keep one like per account; our Bluesky like record
has a key derived from the comment). A liked comment still waits for an
answer; a comment marked done ("thanks!") does not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import EngageError, NotFound, Unsupported
from ..model import now_iso
from ..networks import network_label
from ..networks.base import Adapter, RemoteRef
from ..networks.registry import NETWORKS
from ..store import Store
from .context import comment_row

LIKE, DONE = "like", "done"
CANNOT_LIKE = {
    "webmention": (
        "a webmention cannot be liked from here: answer it with a post on your own site "
        "that links to {url}"
    ),
    "feed": "the comment feed is read-only: like the comment where it was written, at {url}",
}


@dataclass(frozen=True)
class Acknowledged:
    id: str
    ref: int | None
    network: str
    already: bool = False  # liked (or marked done) before: nothing was sent or changed

    @property
    def name(self) -> str:
        return str(self.ref) if self.ref is not None else self.id


def like_refusal(network: str, url: str) -> str | None:
    """Why comments on ``network`` cannot be liked from here (one sentence), or None."""
    spec = NETWORKS.get(network)
    if spec is not None and spec.can_like:
        return None
    template = CANNOT_LIKE.get(network, "{label} has no likes that engage can send")
    return template.format(url=url, label=network_label(network))


def like(store: Store, adapter: Adapter, name: str) -> Acknowledged:
    """Like comment ``name`` (a ref or a full id) on its network, once."""
    row = comment_row(store, name)
    cid, network = row["id"], row["network"]
    found = Acknowledged(cid, row.get("ref"), network)
    refusal = like_refusal(network, row["url"])
    if refusal is not None:
        raise Unsupported(network, refusal)
    if row["is_own"]:
        raise EngageError(f"comment {found.name} is your own; nothing was liked")
    existing = store.acknowledgements.get(cid, LIKE)
    if existing is not None and existing["state"] == "posted":
        return Acknowledged(cid, found.ref, network, already=True)
    if existing is None:  # committed before the call: a rerun knows it may have landed
        store.acknowledgements.add_pending(cid, LIKE, network, now_iso())
    ref = RemoteRef(network, row["remote_id"], row["url"], json.loads(row["remote_extra"] or "{}"))
    try:
        remote_id = adapter.like(ref)
    except NotFound:
        raise EngageError(
            f"the comment {found.name} is gone from {network_label(network)}; nothing was liked"
        ) from None
    store.acknowledgements.mark_posted(cid, LIKE, remote_id=remote_id, posted_at=now_iso())
    return found


def done(store: Store, name: str) -> Acknowledged:
    """Mark comment ``name`` as needing no answer: it leaves the inbox, and counts as
    acknowledged (not as answered) in the stats."""
    row = comment_row(store, name)
    if row["is_own"]:
        raise EngageError(f"comment {row.get('ref') or row['id']} is your own answer")
    fresh = store.acknowledgements.mark_done(row["id"], row["network"], now_iso())
    return Acknowledged(row["id"], row.get("ref"), row["network"], already=not fresh)
