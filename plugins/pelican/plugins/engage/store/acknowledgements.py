"""The acknowledgement ledger (``acknowledgement``): likes sent and comments marked done.

A like is recorded as ``pending`` (committed) before the network is called and
as ``posted`` after, like an answer; a comment marked done (it needs no
answer) is ``posted`` at once. One row per comment and kind, so a comment is
liked at most once whatever happens to the process.
"""

from __future__ import annotations

from collections.abc import Iterable

from .connection import Repository, Row

LIKE, DONE = "like", "done"


class Acknowledgements(Repository):
    """The ``acknowledgement`` table, keyed by (comment id, kind)."""

    def get(self, comment_id: str, kind: str) -> Row | None:
        row = self._conn.execute(
            "SELECT * FROM acknowledgement WHERE comment_id = ? AND kind = ?", (comment_id, kind)
        ).fetchone()
        return dict(row) if row is not None else None

    def add_pending(self, comment_id: str, kind: str, network: str, created_at: str) -> None:
        """Committed before the network is called: a rerun finds it and never likes twice."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO acknowledgement (comment_id, kind, network, state,"
                " created_at) VALUES (?, ?, ?, 'pending', ?)",
                (comment_id, kind, network, created_at),
            )

    def mark_posted(self, comment_id: str, kind: str, *, remote_id: str, posted_at: str) -> None:
        with self._db.atomic():
            self._conn.execute(
                "UPDATE acknowledgement SET state = 'posted', remote_id = ?, posted_at = ?"
                " WHERE comment_id = ? AND kind = ?",
                (remote_id or None, posted_at, comment_id, kind),
            )

    def mark_done(self, comment_id: str, network: str, at: str) -> bool:
        """The comment needs no answer; False when it was marked before."""
        with self._db.atomic():
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO acknowledgement (comment_id, kind, network, state,"
                " created_at, posted_at) VALUES (?, 'done', ?, 'posted', ?, ?)",
                (comment_id, network, at, at),
            )
        return cursor.rowcount > 0

    def kinds(self, comment_ids: Iterable[str]) -> dict[str, set[str]]:
        """comment id -> the acknowledgements it has (``like`` once posted, ``done``)."""
        ids = list(comment_ids)
        found: dict[str, set[str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._conn.execute(
                "SELECT comment_id, kind FROM acknowledgement"
                f" WHERE state = 'posted' AND comment_id IN ({marks})",
                chunk,
            ):
                found.setdefault(row[0], set()).add(row[1])
        return found
