"""Conversations rendered by the commands for the build (backfeed/prerender.py)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from .connection import Repository

# (article, token, args, html, shown, total)
RenderedRow = tuple[str, str, str, str, str, int]


class RenderedThreads(Repository):
    """The ``rendered_thread`` and ``conversation_version`` tables."""

    def versions(self) -> dict[str, int]:
        """Each article's conversation version (moved on by every change to its comments)."""
        return dict(self._conn.execute("SELECT article, version FROM conversation_version"))

    def stamps(self) -> dict[str, tuple[str, str]]:
        """(token, args) of every saved thread, without its markup."""
        rows = self._conn.execute("SELECT article, token, args FROM rendered_thread")
        return {r[0]: (r[1], r[2]) for r in rows}

    def saved(self) -> list[RenderedRow]:
        cursor = self._conn.cursor()
        cursor.row_factory = None
        return cursor.execute(
            "SELECT article, token, args, html, shown, total FROM rendered_thread"
        ).fetchall()

    def save(self, rows: Iterable[RenderedRow], *, drop: Collection[str] = ()) -> None:
        """Save ``rows`` and forget the threads of the ``drop`` articles."""
        with self._db.atomic() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO rendered_thread (article, token, args, html, shown, total)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.executemany("DELETE FROM rendered_thread WHERE article = ?", ((a,) for a in drop))
