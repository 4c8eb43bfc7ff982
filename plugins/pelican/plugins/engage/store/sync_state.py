"""Sync bookkeeping rows (``sync_state``): when each conversation was read, and how it went."""

from __future__ import annotations

from .connection import Repository, Row


class SyncStates(Repository):
    """The ``sync_state`` table, one row per (article, network, remote post)."""

    def all(self) -> list[Row]:
        return [dict(r) for r in self._conn.execute("SELECT * FROM sync_state")]

    def get(self, article: str, network: str, remote_id: str) -> Row | None:
        row = self._conn.execute(
            "SELECT * FROM sync_state WHERE article = ? AND network = ? AND remote_id = ?",
            (article, network, remote_id),
        ).fetchone()
        return dict(row) if row is not None else None

    def record_success(
        self,
        article: str,
        network: str,
        remote_id: str,
        *,
        at: str,
        full: bool,
        change: str | None,
        cursor: str | None,
    ) -> None:
        """A successful read at ``at``; a full one also moves last_full. Clears the error."""
        with self._db.atomic():
            self._conn.execute(
                "INSERT INTO sync_state (article, network, remote_id, last_attempt, last_success,"
                " last_full, last_change, cursor, last_error)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)"
                " ON CONFLICT (article, network, remote_id) DO UPDATE SET"
                " last_attempt = excluded.last_attempt, last_success = excluded.last_success,"
                " last_full = coalesce(excluded.last_full, last_full),"
                " last_change = excluded.last_change, cursor = excluded.cursor, last_error = NULL",
                (article, network, remote_id, at, at, at if full else None, change, cursor),
            )

    def record_failure(
        self, article: str, network: str, remote_id: str, *, at: str, error: str
    ) -> None:
        """A failed read: the attempt and its error; the last success stays."""
        with self._db.atomic():
            self._conn.execute(
                "INSERT INTO sync_state (article, network, remote_id, last_attempt, last_error)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (article, network, remote_id) DO UPDATE SET"
                " last_attempt = excluded.last_attempt, last_error = excluded.last_error",
                (article, network, remote_id, at, error),
            )
