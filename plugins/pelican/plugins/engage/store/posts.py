"""Post identities: the key each post was first seen under, and where it lives now."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..model import now_iso
from .connection import Repository


class PostIdentities(Repository):
    """The ``post`` table (see syndication/identity.py for the matching rules)."""

    def all(self) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT key, source_path, url, title, date, missing_since FROM post"
        )
        return [dict(r) for r in rows]

    def remember(
        self,
        current: Sequence[tuple[str, str, str | None, str | None, str | None]],
        orphaned: Sequence[str],
    ) -> None:
        """Record ``(key, source_path, url, title, date)`` of every post read, and mark the
        ``orphaned`` keys as missing (kept, never deleted)."""
        now = now_iso()
        with self._db.atomic() as conn:
            # A moved file frees its old path first, so the UNIQUE path never collides.
            for key, path, *_ in current:
                conn.execute(
                    "UPDATE post SET source_path = '~moving~' || key"
                    " WHERE source_path = ? AND key != ?",
                    (path, key),
                )
            for key, path, url, title, date in current:
                conn.execute(
                    "INSERT INTO post (key, source_path, url, title, date, seen_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET source_path = excluded.source_path,"
                    # Once copies are out, the URL they link to is the post's URL of record.
                    " url = CASE WHEN EXISTS (SELECT 1 FROM entry WHERE entry.article = post.key"
                    " AND entry.state IN ('pending', 'scheduled', 'posted'))"
                    " THEN COALESCE(post.url, excluded.url) ELSE excluded.url END,"
                    " title = excluded.title, date = excluded.date,"
                    " seen_at = excluded.seen_at, missing_since = NULL",
                    (key, path, url, title, date, now),
                )
            for key in orphaned:
                conn.execute(
                    "UPDATE post SET missing_since = COALESCE(missing_since, ?) WHERE key = ?",
                    (now, key),
                )
