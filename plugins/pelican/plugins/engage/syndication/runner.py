"""Post what is due, exactly once, and say what remains.

For every due entry: a ``pending`` entry is first *recovered* (the previous
run may have posted it before it could record the answer): networks with
server-side idempotency simply get the same key again; the others are asked
to find the post among the account's recent ones. Then the entry is marked
pending (committed), the network is called, and the answer is recorded.

A network that answers 429, 5xx or times out keeps its entries queued with
the reason and is left alone for the rest of the run; the other networks
carry on. Entries whose previous post in the thread is not out yet wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..errors import AuthFailed, BudgetExceeded, Duplicate, NetworkError, RateLimited, Transient
from ..http_client import Fault, HttpSession, Limits
from ..networks.base import Adapter, OutgoingPost, RemoteRef
from .ledger import PENDING, POSTED, SCHEDULED, Entry, Ledger

log = logging.getLogger(__name__)

# Mastodon refuses scheduled_at less than 5 minutes ahead; keep a margin.
SCHEDULE_MARGIN = timedelta(minutes=6)
TRANSIENT_BACKOFF = timedelta(minutes=2)
URL_CHECK_TIMEOUT = 10.0


@dataclass
class NetworkResult:
    posted: int = 0
    scheduled: int = 0
    recovered: int = 0
    waiting: int = 0  # due but not done: faults, a thread parent not out yet
    error: str | None = None


@dataclass
class RunSummary:
    networks: dict[str, NetworkResult] = field(default_factory=dict)
    backlog: int = 0  # due entries still open after the run (faults, back-off, waiting threads)

    def result(self, network: str) -> NetworkResult:
        return self.networks.setdefault(network, NetworkResult())

    @property
    def remaining(self) -> int:
        return max(self.backlog, sum(r.waiting for r in self.networks.values()))

    @property
    def posted(self) -> int:
        return sum(r.posted for r in self.networks.values())


class Syndicator:
    def __init__(
        self,
        ledger: Ledger,
        adapters: Mapping[str, Adapter],
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        check_urls: bool = False,
        progress: Callable[[Entry], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.adapters = adapters
        self.now = now
        self.check_urls = check_urls
        self.progress = progress
        self.summary = RunSummary()
        self._blocked: dict[str, str] = {}
        self._url_ok: dict[str, bool] = {}

    def work(self) -> list[Entry]:
        """What this run will try: entries due now, and future ones to schedule natively."""
        now = self.now()
        due = self.ledger.due(now)
        ahead = [
            e
            for e in self.ledger.entries(states=["queued"])
            if e.seq == 0
            and e.due_at > now + SCHEDULE_MARGIN
            and e.network in self.adapters
            and self.adapters[e.network].can_schedule
            and (e.retry_at is None or e.retry_at <= now)
        ]
        return [e for e in due if e.network in self.adapters] + ahead

    def run(self) -> RunSummary:
        for entry in self.work():
            self._one(entry)
            if self.progress:
                self.progress(entry)
        self.summary.backlog = sum(
            1 for e in self.ledger.due_or_waiting(self.now()) if e.network in self.adapters
        )
        return self.summary

    # -- one entry ------------------------------------------------------------------
    def _one(self, entry: Entry) -> None:
        result = self.summary.result(entry.network)
        if entry.network in self._blocked:
            result.waiting += 1
            return
        adapter = self.adapters[entry.network]
        parent = None
        if entry.seq > 0:
            parent = self.ledger.get(entry.article, entry.network, entry.seq - 1)
            if parent is None or parent.state != POSTED or parent.ref is None:
                result.waiting += 1  # the thread's previous post is not out yet
                return
        if self.check_urls and entry.link and not self._answers(entry.link):
            self.ledger.mark_failed(
                entry, f"{entry.link} did not answer after the deploy", retry_at=None, sent=False
            )
            result.waiting += 1
            return
        post = self._outgoing(entry, parent.ref if parent else None)
        try:
            if entry.state == SCHEDULED:
                self._resolve_scheduled(entry, adapter, result)
                return
            if entry.state == PENDING and self._recover(entry, adapter, post, result):
                return
            self.ledger.mark_pending(entry)
            ref = self._send(adapter, entry, post)
        except NetworkError as exc:
            self._failed(entry, exc, adapter, post, result)
            return
        scheduled = ref.extra.get("scheduled") == "1"
        self.ledger.mark_posted(entry, ref, scheduled=scheduled)
        if scheduled:
            result.scheduled += 1
        else:
            result.posted += 1

    def _outgoing(self, entry: Entry, reply_to: RemoteRef | None) -> OutgoingPost:
        schedule = entry.seq == 0 and entry.due_at > self.now() + SCHEDULE_MARGIN
        return OutgoingPost(
            text=entry.text,
            idempotency_key=entry.idempotency_key,
            link=entry.link,
            reply_to=reply_to,
            scheduled_at=entry.due_at if schedule else None,
            created_at=entry.created_at,
        )

    def _send(self, adapter: Adapter, entry: Entry, post: OutgoingPost) -> RemoteRef:
        if entry.network == "webmention":
            send = getattr(adapter, "send")  # noqa: B009 - only the webmention adapter sends
            assert entry.link is not None
            ref: RemoteRef = send(entry.link, entry.text)
            return ref
        return adapter.publish(post)

    def _recover(
        self, entry: Entry, adapter: Adapter, post: OutgoingPost, result: NetworkResult
    ) -> bool:
        """After an interrupted attempt: is the post already there? Then record it."""
        if entry.network == "webmention":
            return False  # sending a webmention twice is harmless: receivers deduplicate
        found = adapter.find_published(post)
        if found is None:
            return False
        self.ledger.mark_posted(entry, found, scheduled=found.extra.get("scheduled") == "1")
        result.recovered += 1
        return True

    def _resolve_scheduled(self, entry: Entry, adapter: Adapter, result: NetworkResult) -> None:
        """A natively scheduled post is due: learn its real id once the server has posted it."""
        assert entry.ref is not None
        snapshot = adapter.fetch_thread(entry.ref)
        if snapshot.post.id != entry.remote_id and not snapshot.post.extra.get("scheduled"):
            self.ledger.mark_posted(entry, snapshot.post)
            result.posted += 1
        else:
            result.waiting += 1

    def _failed(
        self,
        entry: Entry,
        exc: NetworkError,
        adapter: Adapter,
        post: OutgoingPost,
        result: NetworkResult,
    ) -> None:
        now = self.now()
        message = str(exc)
        if isinstance(exc, Duplicate):
            found = adapter.find_published(post)
            if found is not None:
                self.ledger.mark_posted(entry, found)
                result.recovered += 1
                return
        if isinstance(exc, RateLimited):
            retry = now + timedelta(seconds=exc.retry_after or 60)
            self.ledger.mark_failed(entry, message, retry_at=retry, sent=False)
            self._block(entry.network, f"rate limited until {retry:%H:%M:%S} UTC", result)
        elif isinstance(exc, Transient):
            # The write may have reached the network: stay pending, recover next time.
            self.ledger.mark_failed(entry, message, retry_at=now + TRANSIENT_BACKOFF, sent=True)
            self._block(entry.network, message, result)
        elif isinstance(exc, AuthFailed | BudgetExceeded):
            self.ledger.mark_failed(entry, message, retry_at=None, sent=False)
            self._block(entry.network, message, result)
        else:
            self.ledger.mark_failed(entry, message, retry_at=None, sent=False)
            result.error = message
        result.waiting += 1
        log.warning("engage: %s", message)

    def _block(self, network: str, reason: str, result: NetworkResult) -> None:
        self._blocked[network] = reason
        result.error = reason

    def _answers(self, url: str) -> bool:
        """Whether the deployed article answers (below 400, after redirects)."""
        if url not in self._url_ok:
            # Only the status matters: the body is not read.
            limits = Limits(timeout=URL_CHECK_TIMEOUT, max_bytes=0)
            with HttpSession("url-check", limits=limits) as http:
                answer = http.fetch("GET", url, follow_redirects=True)
            self._url_ok[url] = not isinstance(answer, Fault) and answer.status_code < 400
        return self._url_ok[url]
