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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Unpack

from ..model import RemoteRef, now_iso, web_url
from ..store import Store
from ..store.ledger import EntryFilter

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
    def from_row(cls, row: Mapping[str, Any]) -> Entry:
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
    """Entry operations on the state database; every method commits before returning.

    The SQL is the store's (:class:`~pelican.plugins.engage.store.ledger.LedgerEntries`);
    this turns its rows into :class:`Entry` objects and keeps them in step.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rows = store.ledger

    # -- reading -------------------------------------------------------------
    def entries(self, **where: Unpack[EntryFilter]) -> list[Entry]:
        return [Entry.from_row(r) for r in self.rows.select(**where)]

    def get(self, article: str, network: str, seq: int) -> Entry | None:
        row = self.rows.get(article, network, seq)
        return Entry.from_row(row) if row else None

    def due(self, now: datetime) -> list[Entry]:
        """Open entries whose time has come and whose back-off has passed."""
        return [Entry.from_row(r) for r in self.rows.due(to_iso(now))]

    def due_or_waiting(self, now: datetime) -> list[Entry]:
        """Open entries whose time has come, in back-off or not: the work that remains."""
        return [Entry.from_row(r) for r in self.rows.due_or_waiting(to_iso(now))]

    def syndications(self, article: str | None = None) -> list[Entry]:
        """Posted first posts (seq 0): the remote copies of each article."""
        return [Entry.from_row(r) for r in self.rows.posted_first(article)]

    def own_remote_ids(self) -> set[tuple[str, str]]:
        """(network, remote id) of everything we posted, so backfeed can tell it apart."""
        return self.rows.remote_ids()

    # -- writing -------------------------------------------------------------
    def add(self, entry: Entry) -> Entry:
        entry.id = self.rows.add(
            article=entry.article,
            network=entry.network,
            seq=entry.seq,
            text=entry.text,
            link=entry.link,
            due_at=to_iso(entry.due_at),
            idempotency_key=entry.idempotency_key,
            created_at=to_iso(entry.created_at),
            state=entry.state,
            last_error=entry.last_error,
        )
        return entry

    def replan(self, entry: Entry, text: str, link: str | None, due_at: datetime) -> None:
        """Update an entry that has not been sent yet (the post was edited)."""
        self.rows.replan(entry.id, text, link, to_iso(due_at))

    def set_state(self, entry: Entry, state: str, reason: str | None = None) -> None:
        self.rows.set_state(entry.id, state, reason)
        entry.state, entry.last_error = state, reason

    def mark_pending(self, entry: Entry) -> None:
        """Committed before the network call: from here on the write may have happened."""
        self.rows.mark_pending(entry.id)
        entry.state, entry.attempts = PENDING, entry.attempts + 1

    def mark_posted(self, entry: Entry, ref: RemoteRef, *, scheduled: bool = False) -> None:
        state = SCHEDULED if scheduled else POSTED
        self.rows.mark_posted(
            entry.id,
            state=state,
            remote_id=ref.id,
            # A link the page will print: an http(s) URL or nothing (model.web_url).
            remote_url=web_url(ref.url) or None,
            remote_extra=json.dumps(dict(ref.extra)),
            posted_at=None if scheduled else now_iso(),
        )
        entry.state, entry.remote_id, entry.remote_url = state, ref.id, web_url(ref.url) or None
        entry.remote_extra = dict(ref.extra)

    def mark_failed(
        self, entry: Entry, error: str, *, retry_at: datetime | None, sent: bool
    ) -> None:
        """Record a failed attempt. ``sent``: the write may have reached the network
        (timeout, 5xx), so the entry stays pending and the next run recovers first."""
        state = PENDING if sent else QUEUED
        self.rows.mark_failed(
            entry.id, state=state, error=error, retry_at=to_iso(retry_at) if retry_at else None
        )
        entry.state, entry.last_error, entry.retry_at = state, error, retry_at

    # -- the first-run guard -----------------------------------------------------
    def first_publish(self, network: str) -> datetime | None:
        return from_iso(self.rows.first_publish(network))

    def record_first_publish(self, network: str, when: datetime) -> None:
        self.rows.record_first_publish(network, to_iso(when))
