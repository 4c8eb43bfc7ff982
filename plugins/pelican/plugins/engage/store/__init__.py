"""The SQLite state database: source texts, the posting ledger, comments.

One file, beside pelicanconf.py by default. Opened in WAL mode with a busy
timeout; commands that write hold an exclusive file lock for their whole run,
so two `engage` processes never interleave their work. The schema is
versioned with ``PRAGMA user_version`` and moved forward by the MIGRATIONS
list, one transaction per step. A file that is not ours, is corrupt, or was
written by a newer version is refused with one sentence and never touched.
No credential is ever stored here.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import BudgetExceeded, StoreError
from ..model import SourceText, now_iso

APPLICATION_ID = 0x656E6761  # "enga": marks a database as ours

# Each entry moves the schema from version i to i + 1. Never edit a released
# step: add a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE source (
        url         TEXT PRIMARY KEY,
        feed_url    TEXT,
        ok          INTEGER NOT NULL,
        text        TEXT NOT NULL DEFAULT '',
        via         TEXT,
        error       TEXT,
        fetched_at  TEXT NOT NULL
    );
    CREATE TABLE usage (
        network TEXT NOT NULL,
        kind    TEXT NOT NULL,
        day     TEXT NOT NULL,
        count   INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (network, kind, day)
    );
    """,
    # 2: the syndication ledger and the backfed conversation.
    """
    CREATE TABLE entry (
        id              INTEGER PRIMARY KEY,
        article         TEXT NOT NULL,      -- source path, relative to the site folder
        network         TEXT NOT NULL,
        seq             INTEGER NOT NULL,   -- 0: the first post; 1, 2, ...: follow-ups
        text            TEXT NOT NULL,
        link            TEXT,
        due_at          TEXT NOT NULL,      -- UTC ISO 8601
        idempotency_key TEXT NOT NULL UNIQUE,
        created_at      TEXT NOT NULL,      -- stable across retries
        state           TEXT NOT NULL,      -- queued pending scheduled posted skipped cancelled
        attempts        INTEGER NOT NULL DEFAULT 0,
        retry_at        TEXT,
        last_error      TEXT,
        remote_id       TEXT,
        remote_url      TEXT,
        remote_extra    TEXT,               -- JSON: what the network needs to thread under it
        posted_at       TEXT,
        UNIQUE (article, network, seq)
    );
    CREATE INDEX entry_due ON entry (state, due_at);
    CREATE TABLE network_state (
        network         TEXT PRIMARY KEY,
        first_publish   TEXT NOT NULL       -- when the first-run guard was applied
    );
    CREATE TABLE comment (
        id              TEXT PRIMARY KEY,   -- network:remote id
        network         TEXT NOT NULL,
        remote_id       TEXT NOT NULL,
        article         TEXT NOT NULL,
        parent_id       TEXT,               -- another comment's id, or NULL under the post
        author_name     TEXT NOT NULL,
        author_handle   TEXT NOT NULL,
        author_url      TEXT NOT NULL,
        avatar_url      TEXT,
        html            TEXT NOT NULL,      -- sanitized with an allowlist before it is stored
        url             TEXT NOT NULL,
        kind            TEXT NOT NULL DEFAULT 'reply',
        is_own          INTEGER NOT NULL DEFAULT 0,
        likes           INTEGER NOT NULL DEFAULT 0,
        reposts         INTEGER NOT NULL DEFAULT 0,
        created_at      TEXT NOT NULL,
        edited_at       TEXT,
        first_seen      TEXT NOT NULL,
        last_seen       TEXT NOT NULL,
        missing         INTEGER NOT NULL DEFAULT 0,  -- successful fetches in a row without it
        removed         INTEGER NOT NULL DEFAULT 0,  -- gone on the network (deleted, hidden)
        moderated       INTEGER NOT NULL DEFAULT 0,  -- hidden here for good (hide, blocklist)
        remote_extra    TEXT                -- JSON: what the network needs to reply to it
    );
    CREATE INDEX comment_article ON comment (article);
    CREATE TABLE engagement (
        article         TEXT NOT NULL,
        network         TEXT NOT NULL,
        likes           INTEGER NOT NULL DEFAULT 0,
        reposts         INTEGER NOT NULL DEFAULT 0,
        replies         INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (article, network)
    );
    CREATE TABLE sync_state (
        article         TEXT NOT NULL,
        network         TEXT NOT NULL,
        remote_id       TEXT NOT NULL,
        last_attempt    TEXT,
        last_success    TEXT,
        last_full       TEXT,
        last_change     TEXT,
        cursor          TEXT,
        last_error      TEXT,
        PRIMARY KEY (article, network, remote_id)
    );
    CREATE TABLE moderation (
        kind            TEXT NOT NULL,      -- comment, account, domain
        value           TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        PRIMARY KEY (kind, value)
    );
    """,
    # 3: answers sent from `engage reply`, recorded before they are sent.
    """
    CREATE TABLE answer (
        id              INTEGER PRIMARY KEY,
        comment_id      TEXT NOT NULL,
        network         TEXT NOT NULL,
        text            TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        created_at      TEXT NOT NULL,
        state           TEXT NOT NULL,      -- pending, posted
        remote_id       TEXT,
        remote_url      TEXT,
        posted_at       TEXT,
        last_error      TEXT
    );
    CREATE INDEX answer_comment ON answer (comment_id);
    CREATE INDEX comment_parent ON comment (parent_id);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


class Store:
    """A connection to the state database; use :meth:`open` or :meth:`open_readonly`."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: FileLock | None) -> None:
        self.path = path
        self.conn = conn
        self._lock = lock

    # -- opening ------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str, *, lock_timeout: float = 30.0) -> Store:
        """Open for writing, creating and migrating as needed, under an exclusive lock."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(f"{path}.lock", timeout=lock_timeout)
        try:
            lock.acquire()
        except Timeout:
            raise StoreError(
                f"{path} is in use by another engage command; wait for it to finish"
            ) from None
        try:
            store = cls(path, cls._connect(path, readonly=False), lock)
        except BaseException:
            lock.release()
            raise
        try:
            store._check_identity()
            store._migrate()
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open_readonly(cls, path: Path | str) -> Store | None:
        """Open for reading without locking or creating; None when there is no database."""
        path = Path(path)
        if not path.exists():
            return None
        conn = cls._connect(path, readonly=True)
        store = cls(path, conn, None)
        version = store._check_identity()
        if version < SCHEMA_VERSION:
            store.close()
            raise StoreError(
                f"{path} uses an older schema (version {version}); "
                "run any engage command to upgrade it"
            )
        return store

    @staticmethod
    def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
        try:
            if readonly:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            else:
                conn = sqlite3.connect(path, timeout=10, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{path} is not a usable engage database ({exc}); move it aside to start afresh"
            ) from None
        return conn

    def _check_identity(self) -> int:
        try:
            app_id = self.conn.execute("PRAGMA application_id").fetchone()[0]
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            tables = self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError(
                f"{self.path} is not a usable engage database ({exc}); "
                "move it aside to start afresh"
            ) from None
        if tables and app_id != APPLICATION_ID:
            self.conn.close()
            raise StoreError(
                f"{self.path} is an SQLite database but not an engage one; refusing to touch it"
            )
        if version > SCHEMA_VERSION:
            self.conn.close()
            raise StoreError(
                f"{self.path} was written by a newer pelican-engage (schema {version}, this one "
                f"knows {SCHEMA_VERSION}); upgrade pelican-engage"
            )
        return int(version)

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        for step in range(version, SCHEMA_VERSION):
            try:
                with self.transaction():
                    # executescript() would COMMIT first; run statement by statement so
                    # a migration and its version bump land together or not at all.
                    for statement in _statements(MIGRATIONS[step]):
                        self.conn.execute(statement)
                    self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    self.conn.execute(f"PRAGMA user_version = {step + 1}")
            except sqlite3.Error as exc:
                raise StoreError(
                    f"could not upgrade {self.path} to schema {step + 1} ({exc}); "
                    f"it was left at schema {step}"
                ) from None

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT: committed (durably) when the block ends."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    # -- source texts -----------------------------------------------------------
    def sources(self) -> dict[str, SourceText]:
        rows = self.conn.execute("SELECT url, ok, text, error, fetched_at FROM source")
        return {
            r["url"]: SourceText(r["url"], bool(r["ok"]), r["text"], r["error"], r["fetched_at"])
            for r in rows
        }

    def save_source(self, source: SourceText, *, feed_url: str | None, via: str | None) -> None:
        with self.transaction() as conn:
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

    # -- daily usage (the X spending guard) ------------------------------------------
    def spend(self, network: str, kind: str, limit: int | None) -> None:
        """A persistent UsageMeter: refuse past ``limit`` calls of ``kind`` today (UTC)."""
        day = datetime.now(UTC).date().isoformat()
        with self.transaction() as conn:
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


def _statements(script: str) -> list[str]:
    """Split an SQL script into complete statements."""
    statements, current = [], ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    rest = current.rstrip(";").strip()
    if rest:
        statements.append(rest)
    return [s for s in statements if s.strip(" \n;")]
