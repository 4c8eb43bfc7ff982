"""Sync bookkeeping: when each conversation was read and how it went (``sync_state``), which
ones a notification flagged, and each network's notification cursor (``sync_cursor``)."""

from __future__ import annotations

from collections.abc import Iterable

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
        """A successful read at ``at``; a full one also moves last_full. Clears the error
        and the notification flag (the read saw what the notification announced)."""
        with self._db.atomic():
            self._conn.execute(
                "INSERT INTO sync_state (article, network, remote_id, last_attempt, last_success,"
                " last_full, last_change, cursor, last_error)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)"
                " ON CONFLICT (article, network, remote_id) DO UPDATE SET"
                " last_attempt = excluded.last_attempt, last_success = excluded.last_success,"
                " last_full = coalesce(excluded.last_full, last_full),"
                " last_change = excluded.last_change, cursor = excluded.cursor, last_error = NULL,"
                " flagged_at = NULL",
                (article, network, remote_id, at, at, at if full else None, change, cursor),
            )

    def record_failure(
        self, article: str, network: str, remote_id: str, *, at: str, error: str
    ) -> None:
        """A failed read: the attempt and its error; the last success stays."""
        self._upsert(
            "sync_state",
            {"article": article, "network": network, "remote_id": remote_id},
            {"last_attempt": at, "last_error": error},
        )

    # -- notifications --------------------------------------------------------------------
    def flag(self, keys: Iterable[tuple[str, str, str]], *, at: str) -> int:
        """Mark conversations a notification named as due for a read; returns how many
        were not flagged yet. The flag stays until a successful read clears it."""
        added = 0
        with self._db.atomic():
            for article, network, remote_id in keys:
                cursor = self._conn.execute(
                    "INSERT INTO sync_state (article, network, remote_id, flagged_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (article, network, remote_id) DO UPDATE"
                    " SET flagged_at = excluded.flagged_at WHERE flagged_at IS NULL",
                    (article, network, remote_id, at),
                )
                added += cursor.rowcount
        return added

    def cursor(self, name: str) -> Row | None:
        """``{"value", "updated_at"}`` of a named cursor (a network's notifications)."""
        row = self._conn.execute(
            "SELECT value, updated_at FROM sync_cursor WHERE name = ?", (name,)
        ).fetchone()
        return dict(row) if row is not None else None

    def set_cursor(self, name: str, value: str | None, *, at: str) -> None:
        self._upsert("sync_cursor", {"name": name}, {"value": value, "updated_at": at})

    def forget_cursor(self, name: str) -> None:
        with self._db.atomic():
            self._conn.execute("DELETE FROM sync_cursor WHERE name = ?", (name,))
