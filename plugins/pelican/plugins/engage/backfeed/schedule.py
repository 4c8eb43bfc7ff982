"""Which conversations to read, and when: the sync schedule. Pure, apart from the ledger read.

A *conversation* is an article's syndicated post on one network, the
webmentions of the article's URL, or the article's ``Comments_Feed``. Each
run reads only the conversations that are due:

* Polling decays with age. The clock is the later of the post's
  publication, the last change we saw (a new, edited or removed reply) and
  the newest reply's own date: every run for a day, hourly for a week, daily
  for a month, weekly until ``ENGAGE_SYNC_CUTOFF`` after publication, then
  never unless ``--article`` or ``--all`` asks. The top post's reply count
  plays no part: replies to replies do not change it.
* A conversation with a comment missing from the last complete read is read
  again on the next run, so a deletion is settled (or refuted) quickly.
* A failed read is retried after at most an hour.
* Reads with a cursor (webmentions, X) are incremental; a full read (no
  cursor) happens at least daily, because only a full read notices
  deletions and edits there. A comment feed's cursor holds its validators
  (ETag, Last-Modified): every read of it is full, and a 304 costs nothing.

With notifications (:mod:`.notices`) a network tells in one request which
conversations changed; those are flagged and read on this run, whatever
their age. The decaying schedule then becomes a slow safety net for what
notifications miss (a reply that does not mention the author, a like X does
not report): ``SAFETY_SCHEDULE``, whose reads a day :func:`plan` estimates.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..networks.base import RemoteRef
from ..syndication.ledger import Ledger
from .merge import SyncState, ThreadKey
from .site_posts import SyncedPost

# (effective age below, read at most this often); older: LATE_INTERVAL until the cut-off.
SCHEDULE: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(days=1), timedelta(0)),
    (timedelta(days=7), timedelta(hours=1)),
    (timedelta(days=30), timedelta(days=1)),
)
LATE_INTERVAL = timedelta(days=7)
# For conversations a network's notifications cover: the safety net.
SAFETY_SCHEDULE: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(days=1), timedelta(hours=2)),
    (timedelta(days=7), timedelta(hours=12)),
    (timedelta(days=30), timedelta(days=3)),
)
SAFETY_LATE_INTERVAL = timedelta(days=14)
VALIDATED_NETWORKS = ("feed",)  # the cursor is a conditional GET's validators
RETRY_AFTER_FAILURE = timedelta(hours=1)
FULL_READ_EVERY = timedelta(days=1)
READ_ONLY_NETWORKS = ("webmention", "feed")  # conversations that come from the site itself


@dataclass(frozen=True)
class Target:
    """One conversation of one article."""

    key: ThreadKey
    ref: RemoteRef
    slug: str
    published: datetime  # when it went out (or the article's date): the age clock's start


@dataclass(frozen=True)
class Job:
    target: Target
    cursor: str | None  # None: a full read
    # A notification named this conversation: read it the light way (fetch_changed).
    triggered: bool = False
    validated: bool = False  # the cursor is only a conditional GET's validators

    @property
    def full(self) -> bool:
        return self.cursor is None or self.validated


def _aware(moment: Any) -> datetime | None:
    if not isinstance(moment, datetime):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def find_targets(
    posts: Iterable[SyncedPost], ledger: Ledger, networks: Collection[str]
) -> tuple[list[Target], list[str]]:
    """Every conversation of the site's published articles on the configured networks.

    Returns the targets and notes for the user (a Comments_Feed without the
    feed network configured, say).
    """
    articles = {p.key: p for p in posts if p.kind == "article" and p.status == "published"}
    targets: list[Target] = []
    notes: list[str] = []
    for entry in ledger.syndications():
        post = articles.get(entry.article)
        ref = entry.ref
        if post is None or ref is None or entry.network not in networks:
            continue
        if entry.network in READ_ONLY_NETWORKS:
            continue
        published = entry.posted_at or entry.due_at
        key = ThreadKey(entry.article, entry.network, ref.id)
        targets.append(Target(key, ref, post.slug, published))
    feeds_unread = 0
    for post in articles.values():
        date = _aware(post.date) or datetime.now(UTC)
        if "webmention" in networks and post.url.startswith(("http://", "https://")):
            ref = RemoteRef("webmention", post.url, post.url)
            key = ThreadKey(post.key, "webmention", post.url)
            targets.append(Target(key, ref, post.slug, date))
        feed = post.meta.comments_feed
        if feed and "feed" in networks:
            ref = RemoteRef("feed", feed, feed)
            targets.append(Target(ThreadKey(post.key, "feed", feed), ref, post.slug, date))
        elif feed:
            feeds_unread += 1
    if feeds_unread:
        notes.append(
            f"{feeds_unread} posts name a Comments_Feed, but the feed network is not in "
            "ENGAGE_NETWORKS; add ENGAGE_NETWORKS['feed'] = {} to read them"
        )
    return targets, notes


def interval_for(age: timedelta, *, safety: bool = False) -> timedelta:
    """How long to wait between reads of a conversation this old (since its last activity);
    ``safety``: the slower schedule for conversations notifications cover."""
    for below, every in SAFETY_SCHEDULE if safety else SCHEDULE:
        if age < below:
            return every
    return SAFETY_LATE_INTERVAL if safety else LATE_INTERVAL


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    waiting: dict[str, int] = field(default_factory=dict)  # network -> not due yet
    retired: dict[str, int] = field(default_factory=dict)  # network -> past the cut-off
    flagged: dict[str, int] = field(default_factory=dict)  # network -> named by notifications
    safety: dict[str, int] = field(default_factory=dict)  # network -> safety-net reads due now
    # network -> safety-net reads a day, at the conversations' present ages
    safety_per_day: dict[str, float] = field(default_factory=dict)


def plan(
    targets: Iterable[Target],
    states: Mapping[ThreadKey, SyncState],
    *,
    now: datetime,
    cutoff: timedelta,
    newest: Mapping[tuple[str, str], datetime] | None = None,
    unconfirmed: Collection[tuple[str, str]] = (),
    force: bool = False,
    covered: Mapping[str, frozenset[str] | None] | None = None,
) -> Plan:
    """The reads due ``now``: flagged conversations first, then the most recently active. Pure.

    ``covered``: network -> the remote ids its notifications covered on this run
    (None: all of them); those conversations follow the safety net's schedule.
    """
    newest = newest or {}
    covered = covered or {}
    result = Plan()
    ranked: list[tuple[tuple[bool, datetime], Job]] = []
    for target in targets:
        key = target.key
        state = states.get(key)
        network = key.network
        watched = covered.get(network, frozenset())
        safety = network in covered and (watched is None or key.remote_id in watched)
        activity = max(
            d
            for d in (
                target.published,
                state.last_change if state else None,
                newest.get((key.article, key.network)),
            )
            if d is not None
        )
        every = interval_for(now - activity, safety=safety)
        if safety and now - target.published < cutoff:
            per_day = timedelta(days=1) / max(every, timedelta(minutes=1))
            result.safety_per_day[network] = result.safety_per_day.get(network, 0.0) + per_day
        if state is not None and state.flagged is not None and not force:
            job = Job(target, state.cursor, triggered=True, validated=network in VALIDATED_NETWORKS)
            ranked.append(((True, state.flagged), job))
            result.flagged[network] = result.flagged.get(network, 0) + 1
            continue
        pair = (key.article, key.network)
        full = (
            force
            or state is None
            or state.last_full is None
            or now - state.last_full >= FULL_READ_EVERY
            or pair in unconfirmed
        )
        validated = network in VALIDATED_NETWORKS
        cursor = None if (full and not validated) or state is None else state.cursor
        job = Job(target, cursor, validated=validated)
        if force:
            ranked.append(((False, activity), job))
            continue
        if now - target.published >= cutoff:
            result.retired[network] = result.retired.get(network, 0) + 1
            continue
        if _due(state, now, every, pair in unconfirmed):
            ranked.append(((False, activity), job))
            if safety:
                result.safety[network] = result.safety.get(network, 0) + 1
        else:
            result.waiting[network] = result.waiting.get(network, 0) + 1
    ranked.sort(key=lambda pair: pair[0], reverse=True)
    result.jobs = [job for _, job in ranked]
    return result


def _due(state: SyncState | None, now: datetime, every: timedelta, unconfirmed: bool) -> bool:
    if state is None or state.last_success is None:
        if state is None or state.last_attempt is None:
            return True
        return now - state.last_attempt >= min(every, RETRY_AFTER_FAILURE)
    if unconfirmed:
        return True
    failed = state.last_attempt is not None and state.last_attempt > state.last_success
    if failed:
        assert state.last_attempt is not None
        return now - state.last_attempt >= min(every, RETRY_AFTER_FAILURE)
    return now - state.last_success >= every
