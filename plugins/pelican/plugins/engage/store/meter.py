"""The persistent daily usage meter (X bills every post and read), counted in UTC days."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from ..errors import BudgetExceeded
from .connection import Database, Repository


def utc_day() -> str:
    """Today in UTC: the day the networks bill by, whatever the machine's time zone."""
    return datetime.now(UTC).date().isoformat()


class SpendMeter(Repository):
    """The ``usage`` table: calls per network, kind and UTC day."""

    def spend(self, network: str, kind: str, limit: int | None) -> None:
        """Record one call of ``kind``; refuse past ``limit`` calls today (UTC)."""
        day = utc_day()
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT count FROM usage WHERE network=? AND kind=? AND day=?", (network, kind, day)
            ).fetchone()
            used = row[0] if row else 0
            if limit is not None and used >= limit:
                raise BudgetExceeded(
                    network, f"daily limit of {limit} {kind} reached; raise max_{kind}_per_day"
                )
            conn.execute(
                "INSERT INTO usage (network, kind, day, count) VALUES (?, ?, ?, 1)"
                " ON CONFLICT (network, kind, day) DO UPDATE SET count = count + 1",
                (network, kind, day),
            )

    def used(self, network: str, kind: str) -> int:
        """Calls of ``kind`` counted today (UTC)."""
        row = self._conn.execute(
            "SELECT count FROM usage WHERE network=? AND kind=? AND day=?",
            (network, kind, utc_day()),
        ).fetchone()
        return int(row[0]) if row else 0


class SharedMeter:
    """The spend meter for worker threads (a sync reads X from several at once).

    It keeps its own connection (the store's belongs to the calling thread,
    which may be inside a batch of merges) and serializes the calls.
    """

    def __init__(self, db: Database) -> None:
        self._db = db.companion()
        self._meter = SpendMeter(self._db)
        self._lock = threading.Lock()

    def spend(self, network: str, kind: str, limit: int | None) -> None:
        with self._lock:
            self._meter.spend(network, kind, limit)

    def close(self) -> None:
        with self._lock:
            self._db.close()
