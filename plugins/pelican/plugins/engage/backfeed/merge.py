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
* ``is_own`` marks the author's answers, from accounts, never from claims:
  the adapter found the configured account on that network, or a
  webmention's source page is on the blog's own host (exact host match). A
  name, an h-card or an author page on the blog's host proves nothing, and
  the blocklist applies to everyone else.
* Everything is a stranger's: HTML is capped and sanitized before it is
  stored (:func:`.sanitize.clean_comment`), links we print ourselves must be
  absolute http(s) URLs (``model.web_url``), dates are clamped (before 1990,
  in the future or unreadable: the time we received the comment), counts are
  bounded, and a comment that cannot be read at all is logged and skipped,
  never fatal to the merge.

The rules live here; the SQL is the store's (``store.comments``,
``store.sync_states``). No network library, no Pelican.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from ..errors import EngageError
from ..networks import network_label
from ..networks.base import Counts, RemoteComment, ThreadSnapshot
from ..store import Store
from ..syndication.ledger import Ledger
from .moderation import Moderation, apply_moderation, hide_comment, host_of
from .sanitize import clean_comment, one_line, web_url

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
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)  # no reply is older: an earlier date is made up
MAX_COUNT = 1_000_000_000  # likes or reposts of one comment
MAX_REMOTE_ID = 256  # a longer (or unprintable) remote id is stored as its digest
# Failures of a comment whose fields are not what the adapter promised.
UNREADABLE = (AttributeError, TypeError, ValueError, OverflowError)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")

log = logging.getLogger(__name__)


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


def clamp_time(moment: object, received: datetime) -> datetime | None:
    """``moment`` in UTC when it is a time between 1990 and ``received``, else None.

    Total: a date no calendar holds in UTC (year 1 at +14:00, year 9999 at
    -14:00) is None too, never an OverflowError.
    """
    if not isinstance(moment, datetime):
        return None
    try:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        utc = aware.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return utc if EARLIEST <= utc <= received else None


def _remote_id(value: object) -> str:
    """A network's id for a comment as stored; a stranger's huge or unprintable one hashed."""
    text = str(value)
    if len(text) <= MAX_REMOTE_ID and not _CONTROL_RE.search(text):
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"sha256:{digest}"


def _count(value: object) -> int:
    return min(max(int(value), 0), MAX_COUNT)  # type: ignore[call-overload]


@dataclass
class MergeStats:
    """What one merge (or one sync) did to the conversation on the site."""

    new: int = 0
    updated: int = 0
    removed: int = 0
    moderated: int = 0  # arrived hidden: blocklisted or hidden before
    counts_changed: int = 0
    new_ids: list[str] = field(default_factory=list)  # the new visible comments

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated or self.removed or self.counts_changed)

    def add(self, other: MergeStats) -> None:
        self.new += other.new
        self.updated += other.updated
        self.removed += other.removed
        self.moderated += other.moderated
        self.counts_changed += other.counts_changed
        self.new_ids.extend(other.new_ids)


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
    flagged: datetime | None = None  # a notification named it: read it on this run

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
            flagged=_time(row.get("flagged_at")),
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
            if snapshot.unchanged:  # the server said nothing changed since the last read
                stats = MergeStats()
            else:
                stats = self._merge_comments(key, snapshot, now)
                stats.counts_changed = self._save_counts(
                    key, snapshot.counts, keep=snapshot.keep_counts
                )
            self._save_success(key, snapshot, stats, full=full, now=now)
        return stats

    def apply_counts(self, key: ThreadKey, counts: Counts) -> bool:
        """Like and repost figures a notification carried, without a read; True if they moved."""
        return bool(self._save_counts(key, counts))

    def _roots(self, key: ThreadKey, snapshot: ThreadSnapshot) -> set[str]:
        """Remote ids a reply may answer to hang directly under the article."""
        roots = {key.remote_id, snapshot.post.id}
        roots.update(rid for net, rid in self.own_posts if net == key.network)
        return roots

    def _values(
        self, key: ThreadKey, comment: RemoteComment, roots: set[str], now: datetime
    ) -> _Values:
        """The comment's row; ``created_at`` is "" when its date is not to be believed
        (the caller keeps the stored one, or takes the time it was received)."""
        network = key.network
        cid = comment_id(network, _remote_id(comment.ref.id))
        parent_id = str(comment.parent_id)
        parent = None if parent_id in roots else comment_id(network, _remote_id(parent_id))
        author_url = web_url(comment.author.url)
        # The blog's own site speaks through a webmention whose *source page* is on its
        # host; an author page (h-card url) is whatever the stranger wrote there.
        source = web_url(comment.ref.extra.get("source")) if network == "webmention" else ""
        own_site = bool(self.own_host) and bool(source) and host_of(source) == self.own_host
        created = clamp_time(comment.created_at, now)
        edited = clamp_time(comment.edited_at, now) if comment.edited_at else None
        return _Values(
            id=cid,
            parent_id=None if parent == cid else parent,
            author_name=one_line(comment.author.name) or "someone",
            author_handle=one_line(comment.author.handle),
            author_url=author_url,
            avatar_url=web_url(comment.author.avatar) or None,
            html=clean_comment(comment.html, comment.ref.url, network_label(network)),
            url=web_url(comment.ref.url),
            kind=comment.kind if comment.kind in ("reply", "mention") else "reply",
            is_own=int(comment.is_own is True or own_site),
            likes=_count(comment.likes),
            reposts=_count(comment.reposts),
            created_at=iso(created) if created else "",
            edited_at=iso(edited) if edited else None,
            remote_extra=json.dumps(dict(comment.ref.extra), sort_keys=True, default=str),
        )

    def _merge_comments(
        self, key: ThreadKey, snapshot: ThreadSnapshot, now: datetime
    ) -> MergeStats:
        stats = MergeStats()
        stamp = iso(now)
        roots = self._roots(key, snapshot)
        seen: set[str] = set()
        incoming: list[_Values] = []
        unreadable: set[str] = set()  # skipped this time: not counted missing either
        for c in snapshot.comments:
            try:
                if (key.network, c.ref.id) in self.own_posts:  # our follow-ups are not comments
                    continue
                incoming.append(self._values(key, c, roots, now))
            except UNREADABLE as exc:
                log.warning("engage: %s: skipped a comment that cannot be read: %r", key, exc)
                with contextlib.suppress(*UNREADABLE):
                    unreadable.add(comment_id(key.network, _remote_id(c.ref.id)))
        stored = self.store.comments.rows([v.id for v in incoming])
        for values in incoming:  # an unbelievable date: the stored one, else received now
            if not values.created_at:
                row = stored.get(values.id)
                values.created_at = row["created_at"] if row is not None else stamp
        # The orphan rule: a reply to a comment the site never stored (gone before it was
        # read, or out of the network's reach) hangs under the article instead of being
        # hidden with a parent that does not exist. A stored parent, even hidden, keeps it.
        known = {v.id for v in incoming} | set(stored)
        unknown = [v.parent_id for v in incoming if v.parent_id and v.parent_id not in known]
        known |= set(self.store.comments.rows(unknown))
        for values in incoming:
            if values.parent_id is not None and values.parent_id not in known:
                values.parent_id = None
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
                    stats.new_ids.append(values.id)
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
            stats.removed += self._count_missing(key, seen | unreadable)
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

    def _save_counts(self, key: ThreadKey, counts: Counts, *, keep: bool = False) -> int:
        """Likes and reposts as the network counts them; replies as the page shows them.

        A network's reply count includes what the site never shows (hidden,
        blocked and private replies, our own follow-ups), and Mastodon's counts
        direct replies only, so the replies figure is the visible comments.
        """
        replies = self.store.comments.visible_count(key.article, key.network)
        old = self.store.comments.counts(key.article, key.network)
        if keep:  # a light read: the like and repost figures were not asked for
            counts = Counts(old[0], old[1]) if old is not None else Counts()
        new = (_count(counts.likes), _count(counts.reposts), replies)  # a stranger's figures
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
            times = (clamp_time(getattr(c, "created_at", None), now) for c in snapshot.comments)
            newest = max((t for t in times if t is not None), default=None)
            change = iso(newest) if newest else None
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
