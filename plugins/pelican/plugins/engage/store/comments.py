"""Backfed conversation rows: ``comment``, ``engagement`` (counts) and ``moderation``.

Writes join the caller's transaction when one is open (a sync merges many
threads per transaction) and run in one of their own otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .connection import Repository, Row

# Written on every read of a comment, by the one UPSERT of :meth:`Comments.save`.
_REFRESHED = (
    "article", "parent_id", "author_name", "author_handle", "author_url", "avatar_url", "html",
    "url", "kind", "is_own", "likes", "reposts", "created_at", "edited_at", "remote_extra",
    "moderated",
)  # fmt: skip
_SAVE = (
    f"INSERT INTO comment (id, network, remote_id, {', '.join(_REFRESHED)}, first_seen, last_seen)"
    f" VALUES (:id, :network, :remote_id, {', '.join(':' + c for c in _REFRESHED)}, :seen, :seen)"
    " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _REFRESHED)
    # Seen again: no longer missing, and back if it had been counted removed.
    + ", last_seen = excluded.last_seen, missing = 0, removed = 0"
)
_VISIBLE = "removed = 0 AND moderated = 0"
_CHUNK = 500  # below SQLite's bound-parameter limit

# What the article page shows, as plain tuples (much faster to read than sqlite3.Row);
# the constants below are the positions, in the order of SHOWN_COLUMNS.
SHOWN_COLUMNS = (
    "id, network, kind, author_name, author_handle, author_url, avatar_url, html, url,"
    " created_at, edited_at, is_own, likes, reposts, parent_id, article"
)
ID, NETWORK, KIND, NAME, HANDLE, AUTHOR_URL, AVATAR, HTML, URL = range(9)
CREATED, EDITED, OWN, LIKES, REPOSTS, PARENT, ARTICLE = range(9, 16)

# Someone else's visible reply; the answered test is a direct child by the author.
# Marked done (`engage done`): it needs no answer. Liked ones still wait.
_WAITING = """
SELECT c.*, r.ref AS ref FROM comment c LEFT JOIN comment_ref r ON r.comment_id = c.id
WHERE c.is_own = 0 AND c.removed = 0 AND c.moderated = 0 AND c.kind = 'reply'
  AND NOT EXISTS (
      SELECT 1 FROM comment a
      WHERE a.parent_id = c.id AND a.is_own = 1 AND a.removed = 0)
  AND NOT EXISTS (
      SELECT 1 FROM acknowledgement k WHERE k.comment_id = c.id AND k.kind = 'done')
ORDER BY c.created_at, c.id
"""
# A short ref as people type it: 41 or #41.
_REF_RE = re.compile(r"#?([0-9]{1,18})")


class Comments(Repository):
    """The ``comment``, ``engagement`` and ``moderation`` tables."""

    # -- single comments --------------------------------------------------------------
    def get(self, cid: str) -> Row | None:
        row = self._conn.execute("SELECT * FROM comment WHERE id = ?", (cid,)).fetchone()
        return dict(row) if row is not None else None

    def rows(self, ids: list[str]) -> dict[str, Row]:
        """The stored rows among ``ids``, by id."""
        found: dict[str, Row] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in self._conn.execute(f"SELECT * FROM comment WHERE id IN ({marks})", chunk):
                found[row["id"]] = dict(row)
        return found

    def save(self, values: Mapping[str, Any], *, seen: str) -> None:
        """Insert a comment or refresh the stored one (edits, counts, moderation).

        ``values`` holds ``id``, ``network``, ``remote_id`` and every refreshed
        column; ``seen`` stamps first_seen (new rows) and last_seen.
        """
        with self._db.atomic():
            self._conn.execute(_SAVE, {**values, "seen": seen})

    def add_answer(
        self,
        *,
        cid: str,
        network: str,
        remote_id: str,
        article: str,
        parent_id: str,
        author_name: str,
        html: str,
        url: str,
        created_at: str,
        remote_extra: str,
    ) -> None:
        """The author's own answer under ``parent_id``, unless a sync brought it already."""
        with self._db.atomic():
            self._conn.execute(
                "INSERT OR IGNORE INTO comment (id, network, remote_id, article, parent_id,"
                " author_name, author_handle, author_url, avatar_url, html, url, kind, is_own,"
                " created_at, first_seen, last_seen, remote_extra)"
                " VALUES (?, ?, ?, ?, ?, ?, '', '', NULL, ?, ?, 'reply', 1, ?, ?, ?, ?)",
                (
                    cid,
                    network,
                    remote_id,
                    article,
                    parent_id,
                    author_name,
                    html,
                    url,
                    created_at,
                    created_at,
                    created_at,
                    remote_extra,
                ),
            )

    # -- one thread -----------------------------------------------------------------------
    def present(self, article: str, network: str) -> list[Row]:
        """``id``, ``missing``, ``moderated`` of the thread's comments not removed."""
        rows = self._conn.execute(
            "SELECT id, missing, moderated FROM comment"
            " WHERE article = ? AND network = ? AND removed = 0",
            (article, network),
        ).fetchall()
        return [dict(r) for r in rows]

    def set_missing(self, cid: str, missing: int, *, removed: bool) -> None:
        with self._db.atomic():
            self._conn.execute(
                "UPDATE comment SET missing = ?, removed = ? WHERE id = ?",
                (missing, int(removed), cid),
            )

    def visible_count(self, article: str, network: str) -> int:
        row = self._conn.execute(
            f"SELECT count(*) FROM comment WHERE article = ? AND network = ? AND {_VISIBLE}",
            (article, network),
        ).fetchone()
        return int(row[0])

    # -- across threads -------------------------------------------------------------------
    def newest(self) -> list[tuple[str, str, str]]:
        """(article, network, created_at of its newest visible comment)."""
        rows = self._conn.execute(
            "SELECT article, network, max(created_at) FROM comment"
            f" WHERE {_VISIBLE} GROUP BY article, network"
        )
        return [(r[0], r[1], r[2]) for r in rows if r[2]]

    def unconfirmed(self) -> set[tuple[str, str]]:
        """(article, network) with a comment missing from the last complete read."""
        rows = self._conn.execute(
            "SELECT DISTINCT article, network FROM comment WHERE missing > 0 AND removed = 0"
        )
        return {(r[0], r[1]) for r in rows}

    def shown(self) -> Iterator[tuple[Any, ...]]:
        """Every visible comment as a tuple of SHOWN_COLUMNS, in time order."""
        cursor = self._conn.cursor()
        cursor.row_factory = None  # tuples, whatever the connection's factory
        return cursor.execute(
            f"SELECT {SHOWN_COLUMNS} FROM comment WHERE {_VISIBLE} ORDER BY created_at, id"
        )

    def avatar_urls(self) -> list[str]:
        """The distinct avatar URLs of visible comments."""
        rows = self._conn.execute(
            f"SELECT DISTINCT avatar_url FROM comment WHERE {_VISIBLE} AND avatar_url IS NOT NULL"
        )
        return [r[0] for r in rows if r[0]]

    # -- answering ------------------------------------------------------------------------
    def waiting(self) -> list[Row]:
        """Visible replies by others with no direct answer by the author, oldest first."""
        return [dict(r) for r in self._conn.execute(_WAITING)]

    def with_first_answer(self) -> list[Row]:
        """Visible replies by others, each with ``answered_at`` (the author's first answer),
        ``liked`` (a like was sent) and ``done`` (marked as needing no answer)."""
        rows = self._conn.execute(
            "SELECT c.*, (SELECT min(a.created_at) FROM comment a WHERE a.parent_id = c.id"
            " AND a.is_own = 1 AND a.removed = 0) AS answered_at,"
            " EXISTS (SELECT 1 FROM acknowledgement k WHERE k.comment_id = c.id"
            " AND k.kind = 'like' AND k.state = 'posted') AS liked,"
            " EXISTS (SELECT 1 FROM acknowledgement k WHERE k.comment_id = c.id"
            " AND k.kind = 'done') AS done FROM comment c"
            " WHERE c.is_own = 0 AND c.removed = 0 AND c.moderated = 0 AND c.kind = 'reply'"
        )
        return [dict(r) for r in rows]

    # -- short refs (`engage reply 41`) and the answer desk -----------------------------------
    def resolve(self, name: str) -> str | None:
        """The full id of the comment ``name`` (a short ref, ``41`` or ``#41``, or a full id)."""
        name = name.strip()
        match = _REF_RE.fullmatch(name)
        if match:
            row = self._conn.execute(
                "SELECT c.id FROM comment_ref r JOIN comment c ON c.id = r.comment_id"
                " WHERE r.ref = ?",
                (int(match.group(1)),),
            ).fetchone()
            return str(row[0]) if row is not None else None
        row = self._conn.execute("SELECT id FROM comment WHERE id = ?", (name,)).fetchone()
        return str(row[0]) if row is not None else None

    def with_ref(self, cid: str) -> Row | None:
        """The stored comment ``cid`` and its short ``ref``."""
        row = self._conn.execute(
            "SELECT c.*, r.ref AS ref FROM comment c"
            " LEFT JOIN comment_ref r ON r.comment_id = c.id WHERE c.id = ?",
            (cid,),
        ).fetchone()
        return dict(row) if row is not None else None

    def thread(self, article: str, network: str) -> list[Row]:
        """The visible comments of one conversation with their refs, in time order."""
        rows = self._conn.execute(
            "SELECT c.*, r.ref AS ref FROM comment c"
            " LEFT JOIN comment_ref r ON r.comment_id = c.id"
            " WHERE c.article = ? AND c.network = ? AND c.removed = 0 AND c.moderated = 0"
            " ORDER BY c.created_at, c.id",
            (article, network),
        )
        return [dict(r) for r in rows]

    def last_ref(self) -> int:
        """The highest ref handed out so far (0 before the first comment)."""
        row = self._conn.execute("SELECT max(ref) FROM comment_ref").fetchone()
        return int(row[0] or 0)

    def change_counter(self) -> int:
        """Grows whenever a comment arrives, changes what it shows, or is acknowledged."""
        row = self._conn.execute("SELECT value FROM change_counter").fetchone()
        return int(row[0]) if row is not None else 0

    # -- moderation -----------------------------------------------------------------------
    def moderation(self) -> list[tuple[str, str]]:
        """(kind, value) of everything hidden here for good: comment, account or domain."""
        return [(r[0], r[1]) for r in self._conn.execute("SELECT kind, value FROM moderation")]

    def add_moderation(self, kind: str, value: str, created_at: str) -> None:
        with self._db.atomic():
            self._conn.execute(
                "INSERT OR IGNORE INTO moderation (kind, value, created_at) VALUES (?, ?, ?)",
                (kind, value, created_at),
            )

    def unmoderated(self) -> list[Row]:
        """Who wrote each comment not yet moderated, for matching against the blocklist."""
        rows = self._conn.execute(
            "SELECT id, network, author_handle, author_url, url, is_own FROM comment"
            " WHERE moderated = 0"
        )
        return [dict(r) for r in rows]

    def moderate(self, ids: Iterable[str]) -> int:
        """Hide these comments for good; returns how many were not hidden before."""
        hidden = 0
        with self._db.atomic():
            for cid in ids:
                cursor = self._conn.execute(
                    "UPDATE comment SET moderated = 1 WHERE id = ? AND moderated = 0", (cid,)
                )
                hidden += cursor.rowcount
        return hidden

    # -- engagement counts ----------------------------------------------------------------
    def counts(self, article: str, network: str) -> tuple[int, int, int] | None:
        """(likes, reposts, replies) last stored for a thread."""
        row = self._conn.execute(
            "SELECT likes, reposts, replies FROM engagement WHERE article = ? AND network = ?",
            (article, network),
        ).fetchone()
        return (row[0], row[1], row[2]) if row is not None else None

    def save_counts(
        self, article: str, network: str, likes: int, reposts: int, replies: int
    ) -> None:
        self._upsert(
            "engagement",
            {"article": article, "network": network},
            {"likes": likes, "reposts": reposts, "replies": replies},
        )

    def all_counts(self) -> Iterator[tuple[str, str, int, int]]:
        """(article, network, likes, reposts) of every thread with a counts row."""
        cursor = self._conn.cursor()
        cursor.row_factory = None
        return cursor.execute("SELECT article, network, likes, reposts FROM engagement")
