"""The syndication ledger: every remote write, recorded before the next step.

An entry moves queued → pending → posted (or scheduled → posted for a
server-side scheduled Mastodon post). ``pending`` is written and committed
*before* the network is called, so after a crash at any instant the next run
knows the write may have happened and recovers instead of posting again: the
same idempotency key (Mastodon), the same record key (Bluesky), or a lookup of
the account's recent posts (X, Facebook). Entries that must not go out are
``skipped`` (first-run guard) or ``cancelled`` (the post stopped qualifying).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..model import now_iso
from ..networks.base import RemoteRef
from ..store import Store

QUEUED, PENDING, SCHEDULED, POSTED = "queued", "pending", "scheduled", "posted"
SKIPPED, CANCELLED = "skipped", "cancelled"
OPEN_STATES = (QUEUED, PENDING, SCHEDULED)


def to_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass
class Entry:
    """One planned or performed remote write."""

    article: str
    network: str
    seq: int
    text: str
    link: str | None
    due_at: datetime
    idempotency_key: str
    created_at: datetime
    state: str = QUEUED
    id: int | None = None
    attempts: int = 0
    retry_at: datetime | None = None
    last_error: str | None = None
    remote_id: str | None = None
    remote_url: str | None = None
    remote_extra: dict[str, str] = field(default_factory=dict)
    posted_at: datetime | None = None

    @property
    def ref(self) -> RemoteRef | None:
        if not self.remote_id:
            return None
        return RemoteRef(
            self.network, self.remote_id, self.remote_url or "", dict(self.remote_extra)
        )

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Entry:
        due_at = from_iso(row["due_at"])
        created_at = from_iso(row["created_at"])
        assert due_at is not None and created_at is not None
        return cls(
            id=row["id"],
            article=row["article"],
            network=row["network"],
            seq=row["seq"],
            text=row["text"],
            link=row["link"],
            due_at=due_at,
            idempotency_key=row["idempotency_key"],
            created_at=created_at,
            state=row["state"],
            attempts=row["attempts"],
            retry_at=from_iso(row["retry_at"]),
            last_error=row["last_error"],
            remote_id=row["remote_id"],
            remote_url=row["remote_url"],
            remote_extra=json.loads(row["remote_extra"] or "{}"),
            posted_at=from_iso(row["posted_at"]),
        )


class Ledger:
    """Entry operations on the state database; every method commits before returning."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.conn = store.conn

    # -- reading -------------------------------------------------------------
    def entries(
        self,
        *,
        article: str | None = None,
        network: str | None = None,
        states: Iterable[str] | None = None,
    ) -> list[Entry]:
        sql, args = "SELECT * FROM entry WHERE 1=1", []
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
        return [Entry.from_row(r) for r in self.conn.execute(sql, args)]

    def get(self, article: str, network: str, seq: int) -> Entry | None:
        row = self.conn.execute(
            "SELECT * FROM entry WHERE article=? AND network=? AND seq=?", (article, network, seq)
        ).fetchone()
        return Entry.from_row(row) if row else None

    def due(self, now: datetime) -> list[Entry]:
        """Open entries whose time has come and whose back-off has passed."""
        at = to_iso(now)
        rows = self.conn.execute(
            "SELECT * FROM entry WHERE state IN ('queued', 'pending', 'scheduled')"
            " AND due_at <= ? AND (retry_at IS NULL OR retry_at <= ?)"
            " ORDER BY due_at, article, seq, network",
            (at, at),
        )
        return [Entry.from_row(r) for r in rows]

    def due_or_waiting(self, now: datetime) -> list[Entry]:
        """Open entries whose time has come, in back-off or not: the work that remains."""
        rows = self.conn.execute(
            "SELECT * FROM entry WHERE state IN ('queued', 'pending') AND due_at <= ?",
            (to_iso(now),),
        )
        return [Entry.from_row(r) for r in rows]

    def syndications(self, article: str | None = None) -> list[Entry]:
        """Posted first posts (seq 0): the remote copies of each article."""
        sql = "SELECT * FROM entry WHERE seq = 0 AND state = 'posted'"
        args: list[Any] = []
        if article is not None:
            sql += " AND article = ?"
            args.append(article)
        return [Entry.from_row(r) for r in self.conn.execute(sql + " ORDER BY network", args)]

    def own_remote_ids(self) -> set[tuple[str, str]]:
        """(network, remote id) of everything we posted, so backfeed can tell it apart."""
        rows = self.conn.execute("SELECT network, remote_id FROM entry WHERE remote_id IS NOT NULL")
        return {(r[0], r[1]) for r in rows}

    # -- writing -------------------------------------------------------------
    def add(self, entry: Entry) -> Entry:
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO entry (article, network, seq, text, link, due_at, idempotency_key,"
                " created_at, state, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.article,
                    entry.network,
                    entry.seq,
                    entry.text,
                    entry.link,
                    to_iso(entry.due_at),
                    entry.idempotency_key,
                    to_iso(entry.created_at),
                    entry.state,
                    entry.last_error,
                ),
            )
        entry.id = cursor.lastrowid
        return entry

    def replan(self, entry: Entry, text: str, link: str | None, due_at: datetime) -> None:
        """Update an entry that has not been sent yet (the post was edited)."""
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE entry SET text=?, link=?, due_at=? WHERE id=? AND state='queued'",
                (text, link, to_iso(due_at), entry.id),
            )

    def set_state(self, entry: Entry, state: str, reason: str | None = None) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE entry SET state=?, last_error=? WHERE id=?", (state, reason, entry.id)
            )
        entry.state, entry.last_error = state, reason

    def mark_pending(self, entry: Entry) -> None:
        """Committed before the network call: from here on the write may have happened."""
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE entry SET state='pending', attempts=attempts+1 WHERE id=?", (entry.id,)
            )
        entry.state, entry.attempts = PENDING, entry.attempts + 1

    def mark_posted(self, entry: Entry, ref: RemoteRef, *, scheduled: bool = False) -> None:
        state = SCHEDULED if scheduled else POSTED
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE entry SET state=?, remote_id=?, remote_url=?, remote_extra=?,"
                " posted_at=?, last_error=NULL, retry_at=NULL WHERE id=?",
                (
                    state,
                    ref.id,
                    ref.url or None,
                    json.dumps(dict(ref.extra)),
                    None if scheduled else now_iso(),
                    entry.id,
                ),
            )
        entry.state, entry.remote_id, entry.remote_url = state, ref.id, ref.url or None
        entry.remote_extra = dict(ref.extra)

    def mark_failed(
        self, entry: Entry, error: str, *, retry_at: datetime | None, sent: bool
    ) -> None:
        """Record a failed attempt. ``sent``: the write may have reached the network
        (timeout, 5xx), so the entry stays pending and the next run recovers first."""
        state = PENDING if sent else QUEUED
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE entry SET state=?, last_error=?, retry_at=? WHERE id=?",
                (state, error, to_iso(retry_at) if retry_at else None, entry.id),
            )
        entry.state, entry.last_error, entry.retry_at = state, error, retry_at

    # -- the first-run guard -----------------------------------------------------
    def first_publish(self, network: str) -> datetime | None:
        row = self.conn.execute(
            "SELECT first_publish FROM network_state WHERE network=?", (network,)
        ).fetchone()
        return from_iso(row[0]) if row else None

    def record_first_publish(self, network: str, when: datetime) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO network_state (network, first_publish) VALUES (?, ?)",
                (network, to_iso(when)),
            )
