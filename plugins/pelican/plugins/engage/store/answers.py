"""The answer ledger (``answer``): answers sent with `engage reply`, recorded before they go."""

from __future__ import annotations

from .connection import Repository, Row


class Answers(Repository):
    """The ``answer`` table, keyed by the answer's idempotency key."""

    def get(self, key: str) -> Row | None:
        row = self._conn.execute(
            "SELECT * FROM answer WHERE idempotency_key = ?", (key,)
        ).fetchone()
        return dict(row) if row is not None else None

    def add_pending(
        self, *, comment_id: str, network: str, text: str, key: str, created_at: str
    ) -> None:
        """Committed before the answer is sent: a retry finds it and checks the network."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO answer (comment_id, network, text, idempotency_key, created_at, state)"
                " VALUES (?, ?, ?, ?, ?, 'pending')",
                (comment_id, network, text, key, created_at),
            )

    def mark_posted(
        self, key: str, *, remote_id: str, remote_url: str | None, posted_at: str
    ) -> None:
        with self._db.atomic():
            self._conn.execute(
                "UPDATE answer SET state='posted', remote_id=?, remote_url=?, posted_at=?"
                " WHERE idempotency_key=?",
                (remote_id, remote_url, posted_at, key),
            )
