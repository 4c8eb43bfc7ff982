"""What a sync needs to know of the site's posts, kept in the store between runs.

`engage sync` needs, per article, its key, URL, slug, date, status and
``Comments_Feed``: nothing more. Learning them by running Pelican's
generators costs seconds on a big site (7 s for 1,000 posts), every run. So
the first sync (or `engage watch`'s first cycle) reads the site and keeps
those fields in the store (``sync_cursor`` row ``site:posts``) with a
fingerprint of the files that decide them: every file under the content
folder and the settings files beside the given one (name, size and
modification time). A later run whose fingerprint matches uses the stored
posts; any edit, new, moved or deleted file makes it read the site again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from ..store import Store

if TYPE_CHECKING:
    from ..gate.record import PostRecord

NAME = "site:posts"
VERSION = 1  # of the stored shape
# The fields kept as they are (strings); the date and the Comments_Feed are kept apart.
TEXT_FIELDS = ("key", "source_path", "slug", "url", "kind", "status")


@dataclass(frozen=True)
class KnownMeta:
    comments_feed: str | None = None


@dataclass(frozen=True)
class KnownPost:
    """A post as the store remembers it for syncing."""

    key: str
    source_path: str
    slug: str
    url: str
    kind: str
    status: str
    date: datetime | None
    meta: KnownMeta


# A post as a sync reads it: read from the site just now, or remembered from the last read.
SyncedPost: TypeAlias = "PostRecord | KnownPost"


def site_files(content: Path, settings_file: Path) -> Iterator[Path]:
    """The files whose change may change the posts: the content and the settings."""
    for root, _, names in os.walk(content):
        for name in names:
            yield Path(root, name)
    yield from sorted(settings_file.resolve().parent.glob("*.py"))


def fingerprint(files: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        try:
            info = path.stat()
        except OSError:
            continue
        digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def load(store: Store, stamp: str) -> list[KnownPost] | None:
    """The stored posts if they were learnt from files that have not changed since."""
    row = store.sync_states.cursor(NAME)
    if row is None or not row["value"]:
        return None
    try:
        data = json.loads(row["value"])
        if data.get("version") != VERSION or data.get("stamp") != stamp:
            return None
        return [_post(item) for item in data["posts"]]
    except (ValueError, KeyError, TypeError):
        return None


def save(store: Store, stamp: str, posts: Iterable[SyncedPost]) -> None:
    data = {
        "version": VERSION,
        "stamp": stamp,
        "posts": [
            {
                **{name: getattr(p, name) for name in TEXT_FIELDS},
                "date": _iso(p.date),
                "comments_feed": p.meta.comments_feed,
            }
            for p in posts
        ],
    }
    now = datetime.now(UTC).isoformat(timespec="seconds")
    store.sync_states.set_cursor(NAME, json.dumps(data), at=now)


def _post(item: dict[str, Any]) -> KnownPost:
    date = datetime.fromisoformat(item["date"]) if item.get("date") else None
    return KnownPost(
        **{name: str(item[name]) for name in TEXT_FIELDS},
        date=date,
        meta=KnownMeta(item.get("comments_feed")),
    )


def _iso(moment: Any) -> str | None:
    if not isinstance(moment, datetime):
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def known_posts(
    db_path: Path,
    content: Path,
    settings_file: Path,
    read: Callable[[], Sequence[SyncedPost]],
) -> Sequence[SyncedPost]:
    """The stored posts when the site's files have not changed, else ``read()`` (Pelican's
    generators), stored for the next run."""
    stamp = fingerprint(site_files(content, settings_file))
    with Store.open(db_path) as store:
        cached = load(store, stamp)
    if cached is not None:
        return cached
    posts = list(read())
    with Store.open(db_path) as store:
        save(store, stamp, posts)
    return posts
