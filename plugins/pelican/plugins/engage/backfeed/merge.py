"""Keep the comment table in step with what the networks report.

One snapshot of one conversation (a syndicated post, an article's
webmentions, a comment feed) is merged at a time, inside a store
transaction, by these rules:

* A comment's identity is ``network:remote id``; an edit updates it in place.
* A comment absent from a *complete* snapshot is counted missing; it is
  removed only when it is missing from two successful reads in a row (a
  server that briefly forgets a reply must not delete it). An incomplete
  snapshot (incremental, cut by a page or depth limit) and a failed fetch
  remove nothing. A removed comment that shows up again is restored.
* Our own syndicated posts (first posts and follow-ups, from the ledger) are
  not comments; a reply to one of them hangs under the article.
* Moderation is permanent: a comment hidden with `engage hide`, or written
  by an account or domain on the blocklist (settings or the moderation
  table), is stored with ``moderated = 1`` and no later sync clears it.
* ``is_own`` marks the author's answers: the network says so, or the
  answer comes from the blog's own site (webmentions, comment feeds).
* HTML is sanitized before it is stored; links we print ourselves must be
  absolute http(s) URLs.

Pure storage logic: no network library, no Pelican.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from ..errors import EngageError
from ..networks.base import Counts, RemoteComment, ThreadSnapshot
from ..store import Store
from ..syndication.ledger import Ledger
from .sanitize import clean_html, one_line, web_url

MISSING_LIMIT = 2  # successful complete reads in a row without a comment before it goes
EDITS_UNREPORTED = frozenset({"bluesky", "facebook", "webmention"})


class ThreadKey(NamedTuple):
    """One conversation: an article on one network, under one remote post (or URL)."""

    article: str
    network: str
    remote_id: str


def iso(moment: datetime) -> str:
    """UTC, seconds precision: one format, so ORDER BY created_at is time order."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds")


def comment_id(network: str, remote_id: str) -> str:
    return f"{network}:{remote_id}"


@dataclass
class MergeStats:
    """What one merge (or one sync) did to the conversation on the site."""

    new: int = 0
    updated: int = 0
    removed: int = 0
    moderated: int = 0  # arrived hidden: blocklisted or hidden before
    counts_changed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated or self.removed or self.counts_changed)

    def add(self, other: MergeStats) -> None:
        self.new += other.new
        self.updated += other.updated
        self.removed += other.removed
        self.moderated += other.moderated
        self.counts_changed += other.counts_changed


@dataclass(frozen=True)
class SyncState:
    """The sync_state row of one conversation."""

    key: ThreadKey
    last_attempt: datetime | None
    last_success: datetime | None
    last_full: datetime | None
    last_change: datetime | None
    cursor: str | None
    last_error: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> SyncState:
        return cls(
            key=ThreadKey(row["article"], row["network"], row["remote_id"]),
            last_attempt=_time(row["last_attempt"]),
            last_success=_time(row["last_success"]),
            last_full=_time(row["last_full"]),
            last_change=_time(row["last_change"]),
            cursor=row["cursor"],
            last_error=row["last_error"],
        )


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# -- moderation ----------------------------------------------------------------------


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def _under(host: str, domain: str) -> bool:
    return bool(host) and (host == domain or host.endswith("." + domain))


@dataclass
class Moderation:
    """Comment ids, accounts and domains whose comments never show.

    Accounts are written as the networks show handles (``@bob@mastodon.social``,
    ``bob.bsky.social``, ``bob``); a domain (``spam.example``) blocks every
    account whose handle or page lives there, subdomains included. An entry
    without ``@`` may be either, so it is tried as both: a Bluesky handle is a
    domain anyway. ``network:handle`` limits an account to one network.
    """

    comments: set[str] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, conn: sqlite3.Connection, blocklist: Iterable[str] = ()) -> Moderation:
        found = cls()
        for entry in blocklist:
            found.block(entry)
        for kind, value in conn.execute("SELECT kind, value FROM moderation"):
            if kind == "comment":
                found.comments.add(value)
            elif kind == "domain":
                found.domains.add(value.lower())
            else:
                found.block(value)
        return found

    def block(self, entry: str) -> None:
        value = entry.strip().lower()
        if "://" in value:
            self.domains.add(_host(value))
            return
        network, colon, handle = value.rpartition(":") if ":" in value else ("", "", value)
        handle = handle.lstrip("@")
        if not handle:
            return
        self.accounts.add(f"{network}{colon}{handle}")
        if not network and "@" not in handle and "." in handle:
            self.domains.add(handle)

    def hides(self, cid: str, network: str, handle: str, author_url: str, url: str) -> bool:
        if cid in self.comments:
            return True
        name = handle.strip().lower().lstrip("@")
        if name and (name in self.accounts or f"{network}:{name}" in self.accounts):
            return True
        hosts = {_host(author_url), _host(url)}
        if "@" in name:
            hosts.add(name.rsplit("@", 1)[1])
        elif "." in name:
            hosts.add(name)  # Bluesky handles and webmention authors are domains
        return any(_under(h, d) for h in hosts for d in self.domains)


# -- the store operations -------------------------------------------------------------


class UnknownComment(EngageError):
    """No stored comment has that id."""


@dataclass
class _Values:
    """One remote comment, cleaned and ready for the comment table."""

    id: str
    parent_id: str | None
    author_name: str
    author_handle: str
    author_url: str
    avatar_url: str | None
    html: str
    url: str
    kind: str
    is_own: int
    likes: int
    reposts: int
    created_at: str
    edited_at: str | None
    remote_extra: str

    SHOWN = ("parent_id", "author_name", "author_handle", "author_url", "avatar_url", "html",
             "url", "kind", "is_own", "likes", "reposts", "created_at", "edited_at")  # fmt: skip


def _edited_unreported(network: str, row: sqlite3.Row, values: _Values) -> bool:
    """Whether to date an edit the network does not report (Bluesky, Facebook and
    webmention.io give no edit time): the body changed since the last read.

    An answer `engage reply` recorded before any sync has no handle yet: its
    first read only brings the network's rendering of the same words.
    """
    if network not in EDITS_UNREPORTED or not row["author_handle"]:
        return False
    return bool(row["edited_at"]) or row["html"] != values.html


class Threads:
    """Comment, engagement, moderation and sync_state operations on the store.

    Every public method that writes does so in one transaction (or inside the
    caller's, see :meth:`batch`).
    """

    def __init__(self, store: Store, *, blocklist: Iterable[str] = (), site_url: str = "") -> None:
        self.store = store
        self.conn = store.conn
        self.blocklist = tuple(blocklist)
        self.moderation = Moderation.load(self.conn, self.blocklist)
        self.own_posts = Ledger(store).own_remote_ids()
        self.own_host = _host(web_url(site_url))
        self._in_batch = False

    # -- transactions ---------------------------------------------------------------
    @contextlib.contextmanager
    def batch(self) -> Iterator[Threads]:
        """One transaction around several merges: a sync commits them in batches."""
        with self.store.transaction():
            self._in_batch = True
            try:
                yield self
            finally:
                self._in_batch = False

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A transaction of its own, unless a batch holds one already."""
        if self._in_batch:
            yield self.conn
            return
        with self.store.transaction() as conn:
            yield conn

    # -- reading --------------------------------------------------------------------------
    def states(self) -> dict[ThreadKey, SyncState]:
        rows = self.conn.execute("SELECT * FROM sync_state")
        return {s.key: s for s in map(SyncState.from_row, rows)}

    def newest_comments(self) -> dict[tuple[str, str], datetime]:
        """(article, network) -> when its newest visible comment was written."""
        rows = self.conn.execute(
            "SELECT article, network, max(created_at) FROM comment"
            " WHERE removed = 0 AND moderated = 0 GROUP BY article, network"
        )
        return {(r[0], r[1]): datetime.fromisoformat(r[2]) for r in rows if r[2]}

    def unconfirmed(self) -> set[tuple[str, str]]:
        """(article, network) with a comment missing once: read them again soon to settle it."""
        rows = self.conn.execute(
            "SELECT DISTINCT article, network FROM comment WHERE missing > 0 AND removed = 0"
        )
        return {(r[0], r[1]) for r in rows}

    def get(self, cid: str) -> sqlite3.Row:
        row = self.conn.execute("SELECT * FROM comment WHERE id = ?", (cid,)).fetchone()
        if row is None:
            raise UnknownComment(f"there is no comment {cid!r}; `engage inbox --json` lists ids")
        return row

    # -- merging --------------------------------------------------------------------------
    def merge(
        self, key: ThreadKey, snapshot: ThreadSnapshot, *, full: bool, now: datetime | None = None
    ) -> MergeStats:
        """Bring the stored conversation of ``key`` in line with ``snapshot``."""
        now = now or datetime.now(UTC)
        with self._tx() as conn:
            stats = self._merge_comments(conn, key, snapshot, now)
            stats.counts_changed = self._save_counts(conn, key, snapshot.counts)
            self._save_success(conn, key, snapshot, stats, full=full, now=now)
        return stats

    def _roots(self, key: ThreadKey, snapshot: ThreadSnapshot) -> set[str]:
        """Remote ids a reply may answer to hang directly under the article."""
        roots = {key.remote_id, snapshot.post.id}
        roots.update(rid for net, rid in self.own_posts if net == key.network)
        return roots

    def _values(self, key: ThreadKey, comment: RemoteComment, roots: set[str]) -> _Values:
        network = key.network
        cid = comment_id(network, comment.ref.id)
        parent = None if comment.parent_id in roots else comment_id(network, comment.parent_id)
        author_url = web_url(comment.author.url)
        own_site = bool(self.own_host) and _host(author_url) == self.own_host
        return _Values(
            id=cid,
            parent_id=None if parent == cid else parent,
            author_name=one_line(comment.author.name) or "someone",
            author_handle=one_line(comment.author.handle),
            author_url=author_url,
            avatar_url=web_url(comment.author.avatar) or None,
            html=clean_html(comment.html),
            url=web_url(comment.ref.url),
            kind=comment.kind if comment.kind in ("reply", "mention") else "reply",
            is_own=int(comment.is_own or own_site),
            likes=max(int(comment.likes), 0),
            reposts=max(int(comment.reposts), 0),
            created_at=iso(comment.created_at),
            edited_at=iso(comment.edited_at) if comment.edited_at else None,
            remote_extra=json.dumps(dict(comment.ref.extra), sort_keys=True),
        )

    def _merge_comments(
        self, conn: sqlite3.Connection, key: ThreadKey, snapshot: ThreadSnapshot, now: datetime
    ) -> MergeStats:
        stats = MergeStats()
        stamp = iso(now)
        roots = self._roots(key, snapshot)
        seen: set[str] = set()
        incoming = [
            self._values(key, c, roots)
            for c in snapshot.comments
            if (key.network, c.ref.id) not in self.own_posts  # our follow-ups are not comments
        ]
        stored = self._rows(conn, [v.id for v in incoming])
        for values in incoming:
            if values.id in seen:
                continue
            seen.add(values.id)
            row = stored.get(values.id)
            hidden = self._hidden(key.network, values)
            if row is None:
                self._insert(conn, key, values, hidden, stamp)
                if hidden:
                    stats.moderated += 1
                else:
                    stats.new += 1
                continue
            if values.edited_at is None and _edited_unreported(key.network, row, values):
                values.edited_at = row["edited_at"] or stamp
            moderated = bool(row["moderated"]) or hidden  # moderation is never undone here
            visible_before = not row["removed"] and not row["moderated"]
            changed = any(row[name] != getattr(values, name) for name in _Values.SHOWN)
            conn.execute(
                "UPDATE comment SET article=?, parent_id=?, author_name=?, author_handle=?,"
                " author_url=?, avatar_url=?, html=?, url=?, kind=?, is_own=?, likes=?,"
                " reposts=?, created_at=?, edited_at=?, remote_extra=?, last_seen=?,"
                " missing=0, removed=0, moderated=? WHERE id=?",
                (
                    key.article,
                    values.parent_id,
                    values.author_name,
                    values.author_handle,
                    values.author_url,
                    values.avatar_url,
                    values.html,
                    values.url,
                    values.kind,
                    values.is_own,
                    values.likes,
                    values.reposts,
                    values.created_at,
                    values.edited_at,
                    values.remote_extra,
                    stamp,
                    int(moderated),
                    values.id,
                ),
            )
            if moderated and visible_before:
                stats.removed += 1  # newly blocklisted: it leaves the page
            elif not moderated and (row["removed"] or changed):
                stats.updated += 1
        if snapshot.complete:
            stats.removed += self._count_missing(conn, key, seen)
        return stats

    def _hidden(self, network: str, values: _Values) -> bool:
        if values.is_own:  # the author's answers: only `engage hide` takes them down
            return values.id in self.moderation.comments
        return self.moderation.hides(
            values.id, network, values.author_handle, values.author_url, values.url
        )

    @staticmethod
    def _rows(conn: sqlite3.Connection, ids: list[str]) -> dict[str, sqlite3.Row]:
        found: dict[str, sqlite3.Row] = {}
        for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(f"SELECT * FROM comment WHERE id IN ({marks})", chunk):
                found[row["id"]] = row
        return found

    @staticmethod
    def _insert(
        conn: sqlite3.Connection, key: ThreadKey, values: _Values, hidden: bool, stamp: str
    ) -> None:
        conn.execute(
            "INSERT INTO comment (id, network, remote_id, article, parent_id, author_name,"
            " author_handle, author_url, avatar_url, html, url, kind, is_own, likes, reposts,"
            " created_at, edited_at, first_seen, last_seen, moderated, remote_extra)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                values.id,
                key.network,
                values.id.split(":", 1)[1],
                key.article,
                values.parent_id,
                values.author_name,
                values.author_handle,
                values.author_url,
                values.avatar_url,
                values.html,
                values.url,
                values.kind,
                values.is_own,
                values.likes,
                values.reposts,
                values.created_at,
                values.edited_at,
                stamp,
                stamp,
                int(hidden),
                values.remote_extra,
            ),
        )

    @staticmethod
    def _count_missing(conn: sqlite3.Connection, key: ThreadKey, seen: set[str]) -> int:
        """Count a miss for every stored comment of the thread the complete read lacked."""
        removed = 0
        rows = conn.execute(
            "SELECT id, missing, moderated FROM comment"
            " WHERE article = ? AND network = ? AND removed = 0",
            (key.article, key.network),
        ).fetchall()
        for row in rows:
            if row["id"] in seen:
                continue
            missing = row["missing"] + 1
            gone = missing >= MISSING_LIMIT
            conn.execute(
                "UPDATE comment SET missing = ?, removed = ? WHERE id = ?",
                (missing, int(gone), row["id"]),
            )
            removed += int(gone and not row["moderated"])
        return removed

    @staticmethod
    def _save_counts(conn: sqlite3.Connection, key: ThreadKey, counts: Counts) -> int:
        """Likes and reposts as the network counts them; replies as the page shows them.

        A network's reply count includes what the site never shows (hidden,
        blocked and private replies, our own follow-ups), and Mastodon's counts
        direct replies only, so the replies figure is the visible comments.
        """
        replies = conn.execute(
            "SELECT count(*) FROM comment WHERE article = ? AND network = ?"
            " AND removed = 0 AND moderated = 0",
            (key.article, key.network),
        ).fetchone()[0]
        new = (max(counts.likes, 0), max(counts.reposts, 0), int(replies))
        row = conn.execute(
            "SELECT likes, reposts, replies FROM engagement WHERE article = ? AND network = ?",
            (key.article, key.network),
        ).fetchone()
        if row is not None and tuple(row) == new:
            return 0
        conn.execute(
            "INSERT INTO engagement (article, network, likes, reposts, replies)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (article, network) DO UPDATE SET"
            " likes = excluded.likes, reposts = excluded.reposts, replies = excluded.replies",
            (key.article, key.network, *new),
        )
        return int(row is not None or any(new))

    @staticmethod
    def _save_success(
        conn: sqlite3.Connection,
        key: ThreadKey,
        snapshot: ThreadSnapshot,
        stats: MergeStats,
        *,
        full: bool,
        now: datetime,
    ) -> None:
        stamp = iso(now)
        previous = conn.execute(
            "SELECT last_success, last_change FROM sync_state"
            " WHERE article = ? AND network = ? AND remote_id = ?",
            key,
        ).fetchone()
        if previous is None or previous["last_success"] is None:
            # A first read finds old comments, not activity: date the change by the newest one.
            newest = max((c.created_at for c in snapshot.comments), default=None)
            change = iso(min(newest, now)) if newest else None
        else:
            change = stamp if stats.changed else previous["last_change"]
        conn.execute(
            "INSERT INTO sync_state (article, network, remote_id, last_attempt, last_success,"
            " last_full, last_change, cursor, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)"
            " ON CONFLICT (article, network, remote_id) DO UPDATE SET"
            " last_attempt = excluded.last_attempt, last_success = excluded.last_success,"
            " last_full = coalesce(excluded.last_full, last_full),"
            " last_change = excluded.last_change, cursor = excluded.cursor, last_error = NULL",
            (*key, stamp, stamp, stamp if full else None, change, snapshot.cursor),
        )

    def record_failure(self, key: ThreadKey, error: str, now: datetime | None = None) -> None:
        """A failed fetch: noted for the schedule and the report; no comment is touched."""
        stamp = iso(now or datetime.now(UTC))
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO sync_state (article, network, remote_id, last_attempt, last_error)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (article, network, remote_id) DO UPDATE SET"
                " last_attempt = excluded.last_attempt, last_error = excluded.last_error",
                (*key, stamp, error[:500]),
            )

    # -- moderation -----------------------------------------------------------------------
    def hide(self, cid: str, *, author: bool = False, now: datetime | None = None) -> int:
        """Hide a comment for good (and, with ``author``, everything its author writes).

        Returns how many stored comments this took off the page.
        """
        row = self.get(cid)
        stamp = iso(now or datetime.now(UTC))
        with self._tx() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO moderation (kind, value, created_at) VALUES (?, ?, ?)",
                ("comment", cid, stamp),
            )
            self.moderation.comments.add(cid)
            if author and row["author_handle"]:
                account = f"{row['network']}:{row['author_handle'].lower().lstrip('@')}"
                conn.execute(
                    "INSERT OR IGNORE INTO moderation (kind, value, created_at) VALUES (?, ?, ?)",
                    ("account", account, stamp),
                )
                self.moderation.accounts.add(account)
            return self._apply(conn, self._stored_matches(conn))

    def apply_moderation(self) -> int:
        """Hide stored comments the blocklist or moderation table names now; returns how many."""
        with self._tx() as conn:
            return self._apply(conn, self._stored_matches(conn))

    def _stored_matches(self, conn: sqlite3.Connection) -> list[str]:
        rows = conn.execute(
            "SELECT id, network, author_handle, author_url, url, is_own FROM comment"
            " WHERE moderated = 0"
        )
        return [
            r["id"]
            for r in rows
            if (r["id"] in self.moderation.comments)
            or (
                not r["is_own"]
                and self.moderation.hides(
                    r["id"], r["network"], r["author_handle"], r["author_url"], r["url"]
                )
            )
        ]

    @staticmethod
    def _apply(conn: sqlite3.Connection, ids: list[str]) -> int:
        hidden = 0
        for cid in ids:
            cursor = conn.execute(
                "UPDATE comment SET moderated = 1 WHERE id = ? AND moderated = 0", (cid,)
            )
            hidden += cursor.rowcount
        return hidden
