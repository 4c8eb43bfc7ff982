"""Decide what each post sends where and when, and reconcile it with the ledger.

``plan_posts`` is pure: judged posts in, planned items and metadata errors out.
``reconcile`` compares the plan with the ledger and returns the changes;
``apply`` writes them. A dry run stops before ``apply``, so nothing is
recorded as posted or even queued.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ..errors import MetadataError
from ..gate.record import PostRecord
from ..networks.base import URL_RE
from . import compose
from .ledger import CANCELLED, QUEUED, SKIPPED, Entry, Ledger

# Networks that only read (the comment feed) never get a queue entry.
READ_ONLY = frozenset({"feed"})


class Measurer(Protocol):
    """What planning needs of an adapter: the network's own length measure."""

    def max_length(self) -> int: ...
    def measure(self, text: str) -> int: ...


class PreviewMeasurer:
    """For the plan shown before any network is configured: URLs as 23, 300 at most."""

    def max_length(self) -> int:
        return 300

    def measure(self, text: str) -> int:
        return len(URL_RE.sub("x" * 23, text))


@dataclass(frozen=True)
class PlannedItem:
    article: str
    title: str
    network: str
    seq: int
    text: str
    link: str | None
    due_at: datetime
    post_date: datetime | None
    length: int
    limit: int

    @property
    def kind(self) -> str:
        if self.network == "webmention":
            return "webmention"
        return "first post" if self.seq == 0 else f"follow-up {self.seq}"


@dataclass
class Plan:
    items: list[PlannedItem] = field(default_factory=list)
    errors: list[MetadataError] = field(default_factory=list)
    skipped_networks: dict[str, list[str]] = field(default_factory=dict)  # article -> names


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def plan_post(
    post: PostRecord, adapters: Mapping[str, Measurer], now: datetime
) -> tuple[list[PlannedItem], list[MetadataError], list[str]]:
    """The items of one eligible post, or its errors (then nothing of it is planned)."""
    meta = post.meta
    wanted = list(meta.syndicate) if meta.syndicate is not None else list(adapters)
    targets = [n for n in wanted if n in adapters and n not in READ_ONLY]
    unconfigured = [n for n in wanted if n not in adapters]
    if "webmention" in targets and not meta.source:
        targets.remove("webmention")  # a webmention goes to the Source; without one, nowhere
    post_date = _aware(post.date)
    first_due = meta.schedule or post_date or now
    items: list[PlannedItem] = []
    errors: list[MetadataError] = []
    commentary = post.verdict.analysis.commentary

    def planned(
        network: str, seq: int, text: str, link: str | None, due: datetime, length: int, limit: int
    ) -> PlannedItem:
        return PlannedItem(
            post.key, post.title, network, seq, text, link, due, post_date, length, limit
        )

    for network in targets:
        adapter = adapters[network]
        if network == "webmention":
            assert meta.source is not None
            items.append(planned(network, 0, meta.source, post.url, first_due, 0, 0))
            continue
        limit = adapter.max_length()
        override_key = f"Snippet_{network}" if network in meta.snippets else "Snippet"
        override = meta.snippets.get(network) or meta.snippet
        try:
            if override:
                text = compose.fit(override, post.url, adapter.measure, limit)
            else:
                text = compose.compose(
                    commentary.html if commentary else "", post.url, adapter.measure, limit
                )
        except compose.SnippetTooLong as exc:
            errors.append(MetadataError(post.source_path, override_key, f"for {network} {exc}"))
            continue
        except ValueError as exc:
            errors.append(
                MetadataError(
                    post.source_path, "Snippet", f"cannot be composed for {network}: {exc}"
                )
            )
            continue
        items.append(planned(network, 0, text, post.url, first_due, adapter.measure(text), limit))
        for seq, followup in enumerate(meta.followups, start=1):
            length = adapter.measure(followup.text)
            if length > limit:
                errors.append(
                    MetadataError(
                        post.source_path,
                        "Followup",
                        f"line {seq} is {length} characters long as {network} counts, "
                        f"{limit} allowed",
                    )
                )
                continue
            due = followup.due(first_due)
            items.append(planned(network, seq, followup.text, None, due, length, limit))
    if errors:
        return [], errors, unconfigured
    return items, [], unconfigured


def plan_posts(
    posts: Sequence[PostRecord], adapters: Mapping[str, Measurer], now: datetime
) -> Plan:
    plan = Plan()
    for post in posts:
        if not post.candidate or not post.verdict.eligible:
            continue
        items, errors, unconfigured = plan_post(post, adapters, now)
        plan.items.extend(items)
        plan.errors.extend(errors)
        if unconfigured:
            plan.skipped_networks[post.source_path] = unconfigured
    return plan


def idempotency_key(site_url: str, item: PlannedItem) -> str:
    """Stable per (site, article, network, position): the same write always has the same key."""
    raw = f"{site_url}|{item.article}|{item.network}|{item.seq}".encode()
    return "engage-" + hashlib.sha256(raw).hexdigest()[:32]


@dataclass
class Change:
    action: str  # add, update, revive, cancel
    entry: Entry
    item: PlannedItem | None = None


def reconcile(
    plan: Plan,
    ledger: Ledger,
    *,
    site_url: str,
    now: datetime,
    first_run_max_age: timedelta,
    backfill: bool,
) -> list[Change]:
    """What must change in the ledger for it to match ``plan``.

    Queued entries the plan no longer has (the post stopped qualifying, or the
    network was dropped) are cancelled; what was already posted stays posted,
    and a cancelled entry comes back if the post qualifies again.
    """
    changes: list[Change] = []
    planned_slots = {(i.article, i.network, i.seq) for i in plan.items}
    guard_open = {n for n in {i.network for i in plan.items} if ledger.first_publish(n) is None}
    for item in plan.items:
        existing = ledger.get(item.article, item.network, item.seq)
        if existing is None:
            entry = Entry(
                item.article,
                item.network,
                item.seq,
                item.text,
                item.link,
                item.due_at,
                idempotency_key(site_url, item),
                now,
            )
            old = item.post_date is not None and item.post_date < now - first_run_max_age
            if item.network in guard_open and old and not backfill:
                entry.state = SKIPPED
                entry.last_error = (
                    "older than ENGAGE_FIRST_RUN_MAX_AGE at the first publish to this network; "
                    "use --backfill to post it"
                )
            changes.append(Change("add", entry, item))
        elif existing.state == QUEUED and (existing.text, existing.link, existing.due_at) != (
            item.text,
            item.link,
            item.due_at,
        ):
            changes.append(Change("update", existing, item))
        elif existing.state == CANCELLED or (existing.state == SKIPPED and backfill):
            changes.append(Change("revive", existing, item))
    for entry in ledger.entries(states=[QUEUED]):
        slot = (entry.article, entry.network, entry.seq)
        if slot not in planned_slots:
            changes.append(Change("cancel", entry))
    return changes


def apply(
    changes: Sequence[Change], ledger: Ledger, networks: Sequence[str], now: datetime
) -> None:
    for change in changes:
        entry, item = change.entry, change.item
        if change.action == "add":
            ledger.add(entry)
        elif change.action in {"update", "revive"}:
            assert item is not None
            if change.action == "revive":
                ledger.set_state(entry, QUEUED)
            ledger.replan(entry, item.text, item.link, item.due_at)
        elif change.action == "cancel":
            ledger.set_state(entry, CANCELLED, "the post no longer qualifies for this network")
    for network in networks:
        ledger.record_first_publish(network, now)
