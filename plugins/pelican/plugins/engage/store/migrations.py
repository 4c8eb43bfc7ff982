"""The versioned schema: the MIGRATIONS list and the runner that applies it.

The schema version lives in ``PRAGMA user_version``; each step runs in one
transaction together with its version bump, so a failed upgrade leaves the
file at the previous version, untouched.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from ..errors import StoreError

if TYPE_CHECKING:
    from .connection import Database

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
    # 4: post identity. Ledger rows, comments and sync state keep naming a post by the
    # key it was first seen under; a moved, renamed or re-slugged file maps to that key.
    """
    CREATE TABLE post (
        key             TEXT PRIMARY KEY,   -- the source path the post was first seen under
        source_path     TEXT NOT NULL UNIQUE,
        url             TEXT,
        title           TEXT,
        date            TEXT,
        seen_at         TEXT,
        missing_since   TEXT                -- set while no file of the site is this post
    );
    INSERT OR IGNORE INTO post (key, source_path, url)
        SELECT article, article, MAX(link) FROM entry GROUP BY article;
    INSERT OR IGNORE INTO post (key, source_path)
        SELECT DISTINCT article, article FROM comment;
    """,
    # 5: short refs (`engage reply 41`), acknowledgements (likes sent, comments marked
    # done) and a change counter that the answer desk polls.
    """
    CREATE TABLE comment_ref (
        ref         INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, even after a delete
        comment_id  TEXT NOT NULL UNIQUE
    );
    INSERT INTO comment_ref (comment_id) SELECT id FROM comment ORDER BY created_at, id;
    CREATE TRIGGER comment_ref_new AFTER INSERT ON comment
    WHEN NOT EXISTS (SELECT 1 FROM comment_ref WHERE comment_id = new.id)
    BEGIN
        INSERT INTO comment_ref (comment_id) VALUES (new.id);
    END;
    CREATE TABLE acknowledgement (
        comment_id  TEXT NOT NULL,
        kind        TEXT NOT NULL,      -- like (sent to the network), done (needs no answer)
        network     TEXT NOT NULL,
        state       TEXT NOT NULL,      -- pending (recorded before the call), posted
        created_at  TEXT NOT NULL,
        posted_at   TEXT,
        remote_id   TEXT,               -- the like's own id, where the network has one
        PRIMARY KEY (comment_id, kind)
    );
    CREATE TABLE change_counter (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        value       INTEGER NOT NULL
    );
    INSERT INTO change_counter (id, value) VALUES (1, 0);
    CREATE TRIGGER change_comment_new AFTER INSERT ON comment
    BEGIN
        UPDATE change_counter SET value = value + 1;
    END;
    CREATE TRIGGER change_comment_shown AFTER UPDATE ON comment
    WHEN old.html IS NOT new.html OR old.removed != new.removed
        OR old.moderated != new.moderated
    BEGIN
        UPDATE change_counter SET value = value + 1;
    END;
    CREATE TRIGGER change_ack_new AFTER INSERT ON acknowledgement
    BEGIN
        UPDATE change_counter SET value = value + 1;
    END;
    CREATE TRIGGER change_ack_state AFTER UPDATE ON acknowledgement
    BEGIN
        UPDATE change_counter SET value = value + 1;
    END;
    """,
    # 6: notification-driven sync. Each network's notification cursor (and `engage
    # watch` marks) by name; a thread a notification named stays flagged until read.
    """
    CREATE TABLE sync_cursor (
        name            TEXT PRIMARY KEY,   -- a network name, or watch:<mark>
        value           TEXT,
        updated_at      TEXT NOT NULL
    );
    ALTER TABLE sync_state ADD COLUMN flagged_at TEXT;
    """,
    # 7: the gate's results, saved by the commands for the read-only build
    # (gate/cache.py): one analysis per rendered post, the verdicts of recent sites.
    """
    CREATE TABLE gate_analysis (
        key             TEXT PRIMARY KEY,   -- hash of the rules, headings and HTML
        value           TEXT NOT NULL       -- JSON
    );
    CREATE TABLE gate_verdicts (
        site            TEXT PRIMARY KEY,   -- hash of every input of the rules
        value           TEXT NOT NULL,      -- JSON: the verdict of each post
        saved_at        TEXT NOT NULL
    );
    """,
    # 8: conversations rendered by the commands for the build (backfeed/prerender.py).
    # Any insert, update or delete of an article's comments moves its version on, so
    # saved markup is never shown after its conversation changed. (No INSERT OR IGNORE
    # in the triggers: an outer statement's conflict clause would override it.)
    """
    CREATE TABLE conversation_version (
        article         TEXT PRIMARY KEY,
        version         INTEGER NOT NULL
    );
    INSERT INTO conversation_version (article, version)
        SELECT DISTINCT article, 1 FROM comment;
    CREATE TRIGGER conversation_new AFTER INSERT ON comment
    BEGIN
        INSERT INTO conversation_version (article, version) SELECT new.article, 0
            WHERE NOT EXISTS (SELECT 1 FROM conversation_version WHERE article = new.article);
        UPDATE conversation_version SET version = version + 1 WHERE article = new.article;
    END;
    CREATE TRIGGER conversation_changed AFTER UPDATE ON comment
    BEGIN
        INSERT INTO conversation_version (article, version) SELECT new.article, 0
            WHERE NOT EXISTS (SELECT 1 FROM conversation_version WHERE article = new.article);
        UPDATE conversation_version SET version = version + 1
            WHERE article IN (old.article, new.article);
    END;
    CREATE TRIGGER conversation_gone AFTER DELETE ON comment
    BEGIN
        UPDATE conversation_version SET version = version + 1 WHERE article = old.article;
    END;
    CREATE TABLE rendered_thread (
        article         TEXT PRIMARY KEY,
        token           TEXT NOT NULL,      -- settings and code it was rendered with, version
        args            TEXT NOT NULL,      -- JSON: article URL, SITEURL, syndication links
        html            TEXT NOT NULL,
        shown           TEXT NOT NULL,      -- JSON: comments shown per network
        total           INTEGER NOT NULL
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: Database) -> None:
    """Move ``db`` forward to the newest schema, one transaction per step."""
    version = db.conn.execute("PRAGMA user_version").fetchone()[0]
    for step in range(version, SCHEMA_VERSION):
        try:
            with db.transaction() as conn:
                # executescript() would COMMIT first; run statement by statement so
                # a migration and its version bump land together or not at all.
                for statement in _statements(MIGRATIONS[step]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {step + 1}")
        except sqlite3.Error as exc:
            raise StoreError(
                f"could not upgrade {db.path} to schema {step + 1} ({exc}); "
                f"it was left at schema {step}"
            ) from None


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
