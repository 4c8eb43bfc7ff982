"""Syndication ledger rows (``entry``, ``network_state``): one per planned or sent remote write.

Every write commits before it returns (a strict transaction, never joined
to an open one): the runner relies on ``pending`` being on disk before it
calls a network.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypedDict, Unpack

from .connection import Repository, Row

_OPEN = "('queued', 'pending', 'scheduled')"


class EntryFilter(TypedDict, total=False):
    """Which entries to list: of one article, of one network, in these states (None: any)."""

    article: str | None
    network: str | None
    states: Iterable[str] | None


class LedgerEntries(Repository):
    """The ``entry`` and ``network_state`` tables; times are UTC ISO 8601 strings."""

    # -- reading -------------------------------------------------------------
    def select(self, **where: Unpack[EntryFilter]) -> list[Row]:
        sql, args = "SELECT * FROM entry WHERE 1=1", []
        article, network, states = where.get("article"), where.get("network"), where.get("states")
        if article is not None:
            sql += " AND article = ?"
            args.append(article)
        if network is not None:
            sql += " AND network = ?"
            args.append(network)
        if states is not None:
            wanted = list(states)
            sql += f" AND state IN ({','.join('?' * len(wanted))})"
            args.extend(wanted)
        sql += " ORDER BY due_at, article, network, seq"
        return self._rows(sql, args)

    def get(self, article: str, network: str, seq: int) -> Row | None:
        found = self._rows(
            "SELECT * FROM entry WHERE article=? AND network=? AND seq=?", (article, network, seq)
        )
        return found[0] if found else None

    def due(self, at: str) -> list[Row]:
        """Open entries due by ``at`` whose back-off has passed."""
        return self._rows(
            f"SELECT * FROM entry WHERE state IN {_OPEN}"
            " AND due_at <= ? AND (retry_at IS NULL OR retry_at <= ?)"
            " ORDER BY due_at, article, seq, network",
            (at, at),
        )

    def due_or_waiting(self, at: str) -> list[Row]:
        """Queued or pending entries due by ``at``, in back-off or not."""
        return self._rows(
            "SELECT * FROM entry WHERE state IN ('queued', 'pending') AND due_at <= ?", (at,)
        )

    def posted_first(self, article: str | None = None) -> list[Row]:
        """Posted first posts (seq 0), by network."""
        sql = "SELECT * FROM entry WHERE seq = 0 AND state = 'posted'"
        args: list[Any] = []
        if article is not None:
            sql += " AND article = ?"
            args.append(article)
        return self._rows(sql + " ORDER BY network", args)

    def remote_ids(self) -> set[tuple[str, str]]:
        """(network, remote id) of every entry that reached a network."""
        rows = self._conn.execute(
            "SELECT network, remote_id FROM entry WHERE remote_id IS NOT NULL"
        )
        return {(r[0], r[1]) for r in rows}

    def _rows(self, sql: str, args: Iterable[Any]) -> list[Row]:
        return [dict(r) for r in self._conn.execute(sql, tuple(args))]

    # -- writing -------------------------------------------------------------
    def add(
        self,
        *,
        article: str,
        network: str,
        seq: int,
        text: str,
        link: str | None,
        due_at: str,
        idempotency_key: str,
        created_at: str,
        state: str,
        last_error: str | None,
    ) -> int:
        """A new entry; returns its id."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO entry (article, network, seq, text, link, due_at, idempotency_key,"
                " created_at, state, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    article,
                    network,
                    seq,
                    text,
                    link,
                    due_at,
                    idempotency_key,
                    created_at,
                    state,
                    last_error,
                ),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def replan(self, entry_id: int | None, text: str, link: str | None, due_at: str) -> None:
        """New text, link and time for an entry still queued (nothing sent can change)."""
        self._write(
            "UPDATE entry SET text=?, link=?, due_at=? WHERE id=? AND state='queued'",
            (text, link, due_at, entry_id),
        )

    def set_state(self, entry_id: int | None, state: str, reason: str | None) -> None:
        self._write("UPDATE entry SET state=?, last_error=? WHERE id=?", (state, reason, entry_id))

    def mark_pending(self, entry_id: int | None) -> None:
        """From here on the write may have happened: counted as an attempt."""
        self._write("UPDATE entry SET state='pending', attempts=attempts+1 WHERE id=?", (entry_id,))

    def mark_posted(
        self,
        entry_id: int | None,
        *,
        state: str,
        remote_id: str,
        remote_url: str | None,
        remote_extra: str,
        posted_at: str | None,
    ) -> None:
        self._write(
            "UPDATE entry SET state=?, remote_id=?, remote_url=?, remote_extra=?,"
            " posted_at=?, last_error=NULL, retry_at=NULL WHERE id=?",
            (state, remote_id, remote_url, remote_extra, posted_at, entry_id),
        )

    def mark_failed(
        self, entry_id: int | None, *, state: str, error: str, retry_at: str | None
    ) -> None:
        self._write(
            "UPDATE entry SET state=?, last_error=?, retry_at=? WHERE id=?",
            (state, error, retry_at, entry_id),
        )

    def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        with self._db.transaction() as conn:
            conn.execute(sql, args)

    # -- the first-run guard -----------------------------------------------------
    def first_publish(self, network: str) -> str | None:
        row = self._conn.execute(
            "SELECT first_publish FROM network_state WHERE network=?", (network,)
        ).fetchone()
        return row[0] if row else None

    def record_first_publish(self, network: str, when: str) -> None:
        """Kept from the first time only."""
        self._write(
            "INSERT OR IGNORE INTO network_state (network, first_publish) VALUES (?, ?)",
            (network, when),
        )
