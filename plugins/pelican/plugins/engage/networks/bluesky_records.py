"""Bluesky records: deterministic keys (TIDs), at:// URIs, record times, the replies to show.

Bluesky has no idempotency key, so a post is written under an explicit record
key derived from the post itself: a retry collides with the first attempt
instead of posting twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from atproto_client import models

from ..errors import NotFound
from ..model import RemoteComment
from .base import parse_time
from .bluesky_text import field

NO_UNAUTHENTICATED = "!no-unauthenticated"
MakeComment = Callable[[models.AppBskyFeedDefs.PostView, str, tuple[str, str]], RemoteComment]
# Base32-sortable, the TID alphabet: the string order of TIDs is their numeric order.
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
# Where hash-derived TID timestamps live when a post has no created_at (see record_key).
HASH_EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

AT_URI_RE = re.compile(r"^at://(?P<repo>[^/]+)/(?P<collection>[^/]+)/(?P<rkey>[^/?#]+)$")


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


def iso_time(value: datetime) -> str:
    """RFC 3339 in UTC with a Z, as records carry it (stable for a given datetime)."""
    moment = parse_time(value).astimezone(UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def not_for_the_public(view: models.AppBskyFeedDefs.PostView) -> bool:
    """The author asked not to be shown to logged-out viewers; the site is public."""
    labels = list(view.labels or []) + list(view.author.labels or [])
    return any(label.val == NO_UNAUTHENTICATED and not label.neg for label in labels)


def hidden_replies(gate: Any) -> set[str]:
    record = field(gate, "record")
    hidden = field(record, "hidden_replies", "hiddenReplies") or []
    return {str(uri) for uri in hidden}


def safe_time(value: Any, fallback: Any) -> datetime:
    try:
        return parse_time(str(value))
    except ValueError:
        return parse_time(str(fallback))


class ReplyWalk:
    """Collects the visible replies of a thread, depth first."""

    def __init__(self, comment: MakeComment, hidden: set[str], root: tuple[str, str]) -> None:
        self.comment = comment  # (view, parent uri, thread root) -> our comment
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
            if str(view.uri) in self.hidden or not_for_the_public(view):
                continue
            parent = field(field(view.record, "reply"), "parent")
            parent_id = str(field(parent, "uri") or node_uri)
            self.comments.append(self.comment(view, parent_id, self.root))
            self.replies(child, str(view.uri))
