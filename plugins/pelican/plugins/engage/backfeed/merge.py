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
* Moderation is permanent (see :mod:`.moderation`): a hidden or blocklisted
  comment is stored with ``moderated = 1`` and no later sync clears it.
* ``is_own`` marks the author's answers: the network says so, or the
  answer comes from the blog's own site (webmentions, comment feeds).
* HTML is sanitized before it is stored; links we print ourselves must be
  absolute http(s) URLs.

The rules live here; the SQL is the store's (``store.comments``,
``store.sync_states``). No network library, no Pelican.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from ..errors import EngageError
from ..networks.base import Counts, RemoteComment, ThreadSnapshot
from ..store import Store
from ..syndication.ledger import Ledger
from .moderation import Moderation, apply_moderation, hide_comment, host_of
from .sanitize import clean_html, one_line, web_url

__all__ = [
    "MergeStats",
    "Moderation",
    "SyncState",
    "ThreadKey",
    "Threads",
    "UnknownComment",
    "comment_id",
    "iso",
]

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
    def from_row(cls, row: Mapping[str, Any]) -> SyncState:
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


def _edited_unreported(network: str, row: Mapping[str, Any], values: _Values) -> bool:
    """Whether to date an edit the network does not report (Bluesky, Facebook and
    webmention.io give no edit time): the body changed since the last read.

    An answer `engage reply` recorded before any sync has no handle yet: its
    first read only brings the network's rendering of the same words.
    """
    if network not in EDITS_UNREPORTED or not row["author_handle"]:
        return False
    return bool(row["edited_at"]) or row["html"] != values.html


class Threads:
    """The merge rules over the store's comment, engagement, moderation and sync_state rows.

    Every public method that writes does so in one transaction (or inside the
    caller's, see :meth:`batch`).
    """

    def __init__(self, store: Store, *, blocklist: Iterable[str] = (), site_url: str = "") -> None:
        self.store = store
        self.blocklist = tuple(blocklist)
        self.moderation = Moderation.load(store, self.blocklist)
        self.own_posts = Ledger(store).own_remote_ids()
        self.own_host = host_of(web_url(site_url))

    @contextlib.contextmanager
    def batch(self) -> Iterator[Threads]:
        """One transaction around several merges: a sync commits them in batches."""
        with self.store.transaction():
            yield self

    # -- reading --------------------------------------------------------------------------
    def states(self) -> dict[ThreadKey, SyncState]:
        return {s.key: s for s in map(SyncState.from_row, self.store.sync_states.all())}

    def newest_comments(self) -> dict[tuple[str, str], datetime]:
        """(article, network) -> when its newest visible comment was written."""
        return {(a, n): datetime.fromisoformat(at) for a, n, at in self.store.comments.newest()}

    def unconfirmed(self) -> set[tuple[str, str]]:
        """(article, network) with a comment missing once: read them again soon to settle it."""
        return self.store.comments.unconfirmed()

    def get(self, cid: str) -> Mapping[str, Any]:
        row = self.store.comments.get(cid)
        if row is None:
            raise UnknownComment(f"there is no comment {cid!r}; `engage inbox --json` lists ids")
        return row

    # -- merging --------------------------------------------------------------------------
    def merge(
        self, key: ThreadKey, snapshot: ThreadSnapshot, *, full: bool, now: datetime | None = None
    ) -> MergeStats:
        """Bring the stored conversation of ``key`` in line with ``snapshot``."""
        now = now or datetime.now(UTC)
        with self.store.atomic():
            stats = self._merge_comments(key, snapshot, now)
            stats.counts_changed = self._save_counts(key, snapshot.counts)
            self._save_success(key, snapshot, stats, full=full, now=now)
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
        own_site = bool(self.own_host) and host_of(author_url) == self.own_host
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
        self, key: ThreadKey, snapshot: ThreadSnapshot, now: datetime
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
        stored = self.store.comments.rows([v.id for v in incoming])
        for values in incoming:
            if values.id in seen:
                continue
            seen.add(values.id)
            row = stored.get(values.id)
            hidden = self._hidden(key.network, values)
            if row is None:
                self._save(key, values, hidden, stamp)
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
            self._save(key, values, moderated, stamp)
            if moderated and visible_before:
                stats.removed += 1  # newly blocklisted: it leaves the page
            elif not moderated and (row["removed"] or changed):
                stats.updated += 1
        if snapshot.complete:
            stats.removed += self._count_missing(key, seen)
        return stats

    def _hidden(self, network: str, values: _Values) -> bool:
        if values.is_own:  # the author's answers: only `engage hide` takes them down
            return values.id in self.moderation.comments
        return self.moderation.hides(
            values.id, network, values.author_handle, values.author_url, values.url
        )

    def _save(self, key: ThreadKey, values: _Values, moderated: bool, stamp: str) -> None:
        """Insert or refresh the comment; seen now, so no longer missing or removed."""
        row = {
            **vars(values),
            "network": key.network,
            "remote_id": values.id.split(":", 1)[1],
            "article": key.article,
            "moderated": int(moderated),
        }
        self.store.comments.save(row, seen=stamp)

    def _count_missing(self, key: ThreadKey, seen: set[str]) -> int:
        """Count a miss for every stored comment of the thread the complete read lacked."""
        removed = 0
        for row in self.store.comments.present(key.article, key.network):
            if row["id"] in seen:
                continue
            missing = row["missing"] + 1
            gone = missing >= MISSING_LIMIT
            self.store.comments.set_missing(row["id"], missing, removed=gone)
            removed += int(gone and not row["moderated"])
        return removed

    def _save_counts(self, key: ThreadKey, counts: Counts) -> int:
        """Likes and reposts as the network counts them; replies as the page shows them.

        A network's reply count includes what the site never shows (hidden,
        blocked and private replies, our own follow-ups), and Mastodon's counts
        direct replies only, so the replies figure is the visible comments.
        """
        replies = self.store.comments.visible_count(key.article, key.network)
        new = (max(counts.likes, 0), max(counts.reposts, 0), replies)
        old = self.store.comments.counts(key.article, key.network)
        if old is not None and tuple(old) == new:
            return 0
        self.store.comments.save_counts(key.article, key.network, *new)
        return int(old is not None or any(new))

    def _save_success(
        self,
        key: ThreadKey,
        snapshot: ThreadSnapshot,
        stats: MergeStats,
        *,
        full: bool,
        now: datetime,
    ) -> None:
        stamp = iso(now)
        previous = self.store.sync_states.get(*key)
        if previous is None or previous["last_success"] is None:
            # A first read finds old comments, not activity: date the change by the newest one.
            newest = max((c.created_at for c in snapshot.comments), default=None)
            change = iso(min(newest, now)) if newest else None
        else:
            change = stamp if stats.changed else previous["last_change"]
        self.store.sync_states.record_success(
            *key, at=stamp, full=full, change=change, cursor=snapshot.cursor
        )

    def record_failure(self, key: ThreadKey, error: str, now: datetime | None = None) -> None:
        """A failed fetch: noted for the schedule and the report; no comment is touched."""
        stamp = iso(now or datetime.now(UTC))
        self.store.sync_states.record_failure(*key, at=stamp, error=error[:500])

    # -- moderation -----------------------------------------------------------------------
    def hide(self, cid: str, *, author: bool = False, now: datetime | None = None) -> int:
        """Hide a comment for good (and, with ``author``, everything its author writes).

        Returns how many stored comments this took off the page.
        """
        row = self.get(cid)
        stamp = iso(now or datetime.now(UTC))
        return hide_comment(self.store, self.moderation, row, author=author, stamp=stamp)

    def apply_moderation(self) -> int:
        """Hide stored comments the blocklist or moderation table names now; returns how many."""
        return apply_moderation(self.store, self.moderation)
