"""Source texts: what each post's Source said when it was last read (the gate compares to it)."""

from __future__ import annotations

from ..model import SourceText, now_iso
from .connection import Repository


class SourceTexts(Repository):
    """The ``source`` table."""

    def all(self) -> dict[str, SourceText]:
        rows = self._conn.execute("SELECT url, ok, text, error, fetched_at FROM source")
        return {
            r["url"]: SourceText(r["url"], bool(r["ok"]), r["text"], r["error"], r["fetched_at"])
            for r in rows
        }

    def save(self, source: SourceText, *, feed_url: str | None, via: str | None) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO source (url, feed_url, ok, text, via, error, fetched_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    source.url,
                    feed_url,
                    int(source.ok),
                    source.text,
                    via,
                    source.error,
                    source.fetched_at or now_iso(),
                ),
            )
