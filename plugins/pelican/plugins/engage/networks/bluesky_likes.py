"""Bluesky likes: a like record under a key derived from the liked post.

A PDS stores as many like records for one post as it is sent, and each one
notifies its author again. The record key is a TID derived from the liked
post's URI (:func:`.bluesky_records.record_key`), so a retry writes the same
key and finds it taken instead of liking twice; as with posts, the taken key
is answered with a 500, 400 or 409 depending on the PDS, so a failed write is
followed by a look at that key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from atproto_client import Client, models

from ..errors import AuthFailed, NetworkError, NotFound, RateLimited
from ..model import RemoteRef
from .bluesky_records import iso_time, record_key
from .bluesky_text import field

if TYPE_CHECKING:
    from .bluesky import BlueskyAdapter

LIKE_COLLECTION = "app.bsky.feed.like"


def like_key(uri: str) -> str:
    """The record key of our like of ``uri``: the same for every attempt."""
    return record_key(None, f"like|{uri}")


def like(adapter: BlueskyAdapter, ref: RemoteRef) -> str:
    """Write a like record of ``ref`` (once); returns the like record's at:// URI."""
    uri, cid = ref.extra.get("uri") or ref.id, ref.extra.get("cid")
    if not cid:
        uri, cid, _root = adapter._resolve(uri)
    rkey = like_key(uri)
    record = models.AppBskyFeedLike.Record(
        subject=models.ComAtprotoRepoStrongRef.Main(uri=uri, cid=cid),
        created_at=iso_time(datetime.now(UTC)),
    )

    def create(client: Client) -> models.ComAtprotoRepoCreateRecord.Response:
        data = models.ComAtprotoRepoCreateRecord.Data(
            repo=adapter._did, collection=LIKE_COLLECTION, rkey=rkey, record=record
        )
        return client.com.atproto.repo.create_record(data)

    try:
        return str(adapter._call("liking", create).uri)
    except (RateLimited, AuthFailed, NotFound):
        raise
    except NetworkError:
        existing = _existing(adapter, rkey, uri)
        if existing is None:
            raise
        return existing


def _existing(adapter: BlueskyAdapter, rkey: str, uri: str) -> str | None:
    """Our like of ``uri`` at ``rkey`` (an earlier attempt), or None."""
    found = adapter._own_record(LIKE_COLLECTION, rkey, "looking up the like")
    if found is None:
        return None
    subject = field(found.value, "subject")
    return str(found.uri) if field(subject, "uri") == uri else None
