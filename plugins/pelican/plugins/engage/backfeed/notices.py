"""The notification step of a sync: one cheap request per network says what changed.

Before any conversation is read, each network with a notification feed
(:meth:`Adapter.changes <pelican.plugins.engage.networks.base.Adapter.changes>`)
is asked what happened since its stored cursor. Each :class:`Notice` is mapped
onto a conversation through the ids it names: our syndicated posts and
follow-ups (the ledger), the comments already stored, and the other notices of
the same answer (a reply to a new reply). The conversations found are flagged
in ``sync_state``; like and repost figures the notifications carried are
stored at once, without a read; and the new cursor is saved, all in one
transaction. A flag stays until a read succeeds, so a run cut short (a rate
limit, SIGTERM, a crash) leaves the work for the next one instead of losing
it: the cursor never runs ahead of the flags.

A network whose feed answered ("on") has its other conversations on the slow
safety-net schedule; one asked for the first time ("baseline"), one whose
feed overflowed or failed keeps the decaying schedule for this run. X bills
every read, so its feed is asked at most every ``notify_every`` (15 minutes by
default; an option of every network).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import AuthFailed, BudgetExceeded, EngageError, RateLimited
from ..networks.base import Adapter
from ..networks.notices import Changes, Notice
from ..settings import parse_duration
from ..syndication.ledger import Ledger
from .merge import ThreadKey, Threads, iso
from .runner import MAX_RATE_LIMIT_WAIT
from .schedule import Target

NOTIFY_EVERY = {"x": timedelta(minutes=15)}  # X bills each read of its mentions timeline
TRUSTED = ("on", "not due")


@dataclass
class Outlook:
    """What one network's notifications said on this run."""

    state: str  # on | not due | baseline | overflow | failed | stopped | off
    covered: frozenset[str] | None = None  # remote ids the feed covers (None: all)
    notices: int = 0  # notices that named one of our conversations
    flagged: int = 0  # conversations newly flagged for a read
    counts: int = 0  # conversations whose figures the notifications moved
    message: str | None = None  # why it failed or stopped

    @property
    def trusted(self) -> bool:
        """Whether the network's other conversations can wait for the safety net."""
        return self.state in TRUSTED


def notify_every(adapter: Adapter) -> timedelta:
    """The least time between two asks of one network's feed (option ``notify_every``)."""
    value = adapter.options.get("notify_every")
    if value is None:
        return NOTIFY_EVERY.get(adapter.name, timedelta(0))
    if isinstance(value, timedelta):
        return value
    return parse_duration(str(value)) if str(value) not in ("0", "") else timedelta(0)


def check_notifications(
    threads: Threads, adapters: Mapping[str, Adapter], targets: Iterable[Target], *, now: datetime
) -> dict[str, Outlook]:
    """Ask every network what changed; flag, count and save the cursors. One per network."""
    by_network: dict[str, list[Target]] = {}
    for target in targets:
        by_network.setdefault(target.key.network, []).append(target)
    return {
        name: _check(threads, adapter, by_network.get(name, []), now)
        for name, adapter in adapters.items()
    }


def _check(threads: Threads, adapter: Adapter, targets: list[Target], now: datetime) -> Outlook:
    if not adapter.notifications:
        return Outlook("off")
    repo = threads.store.sync_states
    row = repo.cursor(adapter.name)
    every = notify_every(adapter)
    if row is not None and row["value"] and every:
        asked = datetime.fromisoformat(row["updated_at"])
        if now - asked < every:
            return Outlook("not due")
    try:
        changes = _ask(adapter, row["value"] if row else None, targets)
    except (RateLimited, AuthFailed, BudgetExceeded) as exc:
        return Outlook("stopped", message=str(exc))
    except EngageError as exc:
        return Outlook("failed", message=str(exc))
    if changes is None:
        return Outlook("off")
    state = "baseline" if changes.baseline else "overflow" if changes.overflow else "on"
    outlook = Outlook(state, covered=changes.watched)
    keys = Index(threads, adapter.name, targets)
    with threads.store.transaction():
        to_flag: set[ThreadKey] = set()
        for notice, found in keys.resolve(changes.notices):
            outlook.notices += 1
            for key in found:
                if not _counted(notice, key, changes):
                    to_flag.add(key)
        for remote_id, counts in changes.counts.items():
            for key in keys.roots.get(remote_id, ()):
                outlook.counts += int(threads.apply_counts(key, counts))
        outlook.flagged = repo.flag(sorted(to_flag), at=iso(now))
        repo.set_cursor(adapter.name, changes.cursor, at=iso(now))
    return outlook


def _ask(adapter: Adapter, cursor: str | None, targets: list[Target]) -> Changes | None:
    """``adapter.changes``, once more after a rate limit short enough to wait out."""
    try:
        return adapter.changes(cursor, [t.ref for t in targets])
    except RateLimited as exc:
        if exc.retry_after is None or exc.retry_after > MAX_RATE_LIMIT_WAIT:
            raise
        time.sleep(exc.retry_after)
    return adapter.changes(cursor, [t.ref for t in targets])


def _counted(notice: Notice, key: ThreadKey, changes: Changes) -> bool:
    """A like or repost of the post itself whose figures came along: no read needed."""
    return (
        notice.kind in ("like", "repost")
        and notice.subject == key.remote_id
        and notice.subject in changes.counts
    )


def _normal(remote_id: str) -> str:
    """URLs compare without fragment and trailing slash (webmention targets)."""
    if remote_id.startswith(("http://", "https://")):
        return remote_id.split("#", 1)[0].rstrip("/")
    return remote_id


class Index:
    """Remote ids -> the conversations they belong to, on one network."""

    def __init__(self, threads: Threads, network: str, targets: list[Target]) -> None:
        self.threads = threads
        self.network = network
        self.roots: dict[str, set[ThreadKey]] = {}  # the posts themselves
        self.by_article: dict[str, set[ThreadKey]] = {}
        for target in targets:
            key = target.key
            for remote_id in {key.remote_id, target.ref.id, target.ref.url}:
                if remote_id:
                    self.roots.setdefault(_normal(remote_id), set()).add(key)
            self.by_article.setdefault(key.article, set()).add(key)
        self.known: dict[str, set[ThreadKey]] = {k: set(v) for k, v in self.roots.items()}
        for entry in Ledger(threads.store).entries(network=network):
            if entry.seq > 0 and entry.remote_id and entry.article in self.by_article:
                self.known.setdefault(entry.remote_id, set()).update(self.by_article[entry.article])

    def resolve(self, notices: list[Notice]) -> list[tuple[Notice, set[ThreadKey]]]:
        """Each notice that names one of our conversations, with it (them)."""
        unknown = {_normal(i) for n in notices for i in n.ids} - set(self.known)
        self._look_up_comments(unknown)
        found: dict[int, set[ThreadKey]] = {}
        progress = True
        while progress:  # a reply to a reply of this batch is found through the first
            progress = False
            for number, notice in enumerate(notices):
                if number in found:
                    continue
                ids = map(_normal, notice.ids)
                keys = next((self.known[i] for i in ids if i in self.known), None)
                if keys:
                    found[number] = keys
                    self.known.setdefault(_normal(notice.subject), set()).update(keys)
                    progress = True
        return [(notices[number], keys) for number, keys in sorted(found.items())]

    def _look_up_comments(self, remote_ids: set[str]) -> None:
        ids = [f"{self.network}:{i}" for i in sorted(remote_ids)]
        for row in self.threads.store.comments.rows(ids).values():
            keys = self.by_article.get(row["article"])
            if keys:
                self.known.setdefault(str(row["remote_id"]), set()).update(keys)
