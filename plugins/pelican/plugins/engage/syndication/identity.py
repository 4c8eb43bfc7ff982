"""Post identity across edits: a post is cross-posted once in its life.

The ledger, the comments and the sync state name a post by a *key*: the source
path it was first seen under. Files move and slugs change, so each read of the
site maps every file to a known key before anything is planned:

1. the same source path as a known post: that post (its URL may have changed:
   the copies already out link to the old URL, and the author is told so);
2. else the same public URL as a known post whose file is gone: a moved or
   renamed file (same URL), so the same post;
3. else the same title and date as a known post whose file is gone: moved and
   re-slugged at once, still the same post;
4. else a new post, keyed by its source path.

Known posts no file maps to are *orphaned*: their ledger rows and comments are
kept, and nothing of them is ever posted again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class PostLike(Protocol):
    source_path: str
    url: str
    title: str
    date: Any


@dataclass(frozen=True)
class KnownPost:
    """One row of the store's post table."""

    key: str
    source_path: str
    url: str | None = None
    title: str | None = None
    date: str | None = None


@dataclass
class Resolution:
    keys: dict[str, str] = field(default_factory=dict)  # source path -> key
    moved: list[tuple[str, str]] = field(default_factory=list)  # (old path, new path)
    reslugged: list[tuple[str, str, str]] = field(default_factory=list)  # (path, old, new URL)
    orphaned: list[KnownPost] = field(default_factory=list)

    def key(self, source_path: str) -> str:
        return self.keys.get(source_path, source_path)

    def warnings(self) -> list[str]:
        """One sentence per post whose copies link to an address it no longer has."""
        return [
            f"{path}: its URL changed from {old} to {new}, and the copies already posted "
            "link to the old one; keep the old slug (Slug: metadata) or add a redirect"
            for path, old, new in self.reslugged
        ]


def date_text(value: Any) -> str | None:
    if value is None:
        return None
    iso = getattr(value, "isoformat", None)
    return str(iso() if callable(iso) else value)


def resolve(posts: Sequence[PostLike], known: Iterable[KnownPost]) -> Resolution:
    """Map each post's source path to its stable key (see the module docstring)."""
    result = Resolution()
    by_path = {k.source_path: k for k in known}
    present = {p.source_path for p in posts}
    # Known posts whose file is gone may be claimed once, by URL or by title and date.
    vacant = [k for path, k in by_path.items() if path not in present]
    claimed: set[str] = set()

    def claim(match: KnownPost | None) -> KnownPost | None:
        if match is None or match.key in claimed:
            return None
        claimed.add(match.key)
        return match

    by_url = {k.url: k for k in vacant if k.url}
    by_title: dict[tuple[str | None, str | None], KnownPost] = {
        (k.title, k.date): k for k in vacant if k.title and k.date
    }
    for post in posts:
        same = by_path.get(post.source_path)
        if same is not None:
            result.keys[post.source_path] = same.key
            if same.url and post.url and same.url != post.url:
                result.reslugged.append((post.source_path, same.url, post.url))
            continue
        found = claim(by_url.get(post.url)) or claim(
            by_title.get((post.title, date_text(post.date)))
        )
        if found is None:
            result.keys[post.source_path] = post.source_path
            continue
        result.keys[post.source_path] = found.key
        result.moved.append((found.source_path, post.source_path))
        if found.url and post.url and found.url != post.url:
            result.reslugged.append((post.source_path, found.url, post.url))
    result.orphaned = [k for k in vacant if k.key not in claimed]
    return result
