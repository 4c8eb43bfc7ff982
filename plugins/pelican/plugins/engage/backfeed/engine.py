"""The sync engine: which conversations to read, reading them concurrently, merging them.

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
  deletions and edits there.

Reads run in threads, a bounded number per network (option
``sync_workers`` in ``ENGAGE_NETWORKS``; the adapters are synchronous). The
first read of a network runs alone so logins and account look-ups happen
once. A rate limit (:class:`~pelican.plugins.engage.errors.RateLimited`,
computed by the adapter from the network's headers) pauses every worker of
that network when the wait is short and stops the network for this run when
it is long; what was not read stays due. All writes happen on the calling
thread (SQLite connections are not shared between threads), in batches of
merges per transaction.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import AuthFailed, ConfigError, EngageError, RateLimited
from ..gate.record import PostRecord
from ..networks import build_adapters
from ..networks.base import Adapter, RemoteRef, ThreadSnapshot
from ..settings import EngageSettings
from ..store import Store
from ..syndication.ledger import Ledger
from .conversation import avatar_dir, avatar_files, avatar_stem
from .merge import MergeStats, SyncState, ThreadKey, Threads

log = logging.getLogger(__name__)

# (effective age below, read at most this often); older: LATE_INTERVAL until the cut-off.
SCHEDULE: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(days=1), timedelta(0)),
    (timedelta(days=7), timedelta(hours=1)),
    (timedelta(days=30), timedelta(days=1)),
)
LATE_INTERVAL = timedelta(days=7)
RETRY_AFTER_FAILURE = timedelta(hours=1)
FULL_READ_EVERY = timedelta(days=1)

DEFAULT_WORKERS = 6  # reads in flight per network: a few, never a flood
NETWORK_WORKERS = {"x": 2, "webmention": 4, "feed": 4}  # X bills every read: no hurry
MAX_WORKERS = 32
MAX_RATE_LIMIT_WAIT = 5.0  # seconds; a longer wait stops the network for this run
MAX_TRIES = 3  # per conversation and run, counting reads cut short by a rate limit
BATCH = 50  # merges per transaction
RATE_RESERVE = 10  # requests of a rate-limit window left for `engage reply` and friends
READ_ONLY_NETWORKS = ("webmention", "feed")  # conversations that come from the site itself


# -- what to read ----------------------------------------------------------------------


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

    @property
    def full(self) -> bool:
        return self.cursor is None


def _aware(moment: Any) -> datetime | None:
    if not isinstance(moment, datetime):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def find_targets(
    posts: Iterable[PostRecord], ledger: Ledger, networks: Collection[str]
) -> tuple[list[Target], list[str]]:
    """Every conversation of the site's published articles on the configured networks.

    Returns the targets and notes for the user (a Comments_Feed without the
    feed network configured, say).
    """
    articles = {p.source_path: p for p in posts if p.kind == "article" and p.status == "published"}
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
            key = ThreadKey(post.source_path, "webmention", post.url)
            targets.append(Target(key, ref, post.slug, date))
        feed = post.meta.comments_feed
        if feed and "feed" in networks:
            ref = RemoteRef("feed", feed, feed)
            targets.append(Target(ThreadKey(post.source_path, "feed", feed), ref, post.slug, date))
        elif feed:
            feeds_unread += 1
    if feeds_unread:
        notes.append(
            f"{feeds_unread} posts name a Comments_Feed, but the feed network is not in "
            "ENGAGE_NETWORKS; add ENGAGE_NETWORKS['feed'] = {} to read them"
        )
    return targets, notes


def interval_for(age: timedelta) -> timedelta:
    """How long to wait between reads of a conversation this old (since its last activity)."""
    for below, every in SCHEDULE:
        if age < below:
            return every
    return LATE_INTERVAL


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    waiting: dict[str, int] = field(default_factory=dict)  # network -> not due yet
    retired: dict[str, int] = field(default_factory=dict)  # network -> past the cut-off


def plan(
    targets: Iterable[Target],
    states: Mapping[ThreadKey, SyncState],
    *,
    now: datetime,
    cutoff: timedelta,
    newest: Mapping[tuple[str, str], datetime] | None = None,
    unconfirmed: Collection[tuple[str, str]] = (),
    force: bool = False,
) -> Plan:
    """The reads due ``now``, most recently active conversations first. Pure."""
    newest = newest or {}
    result = Plan()
    ranked: list[tuple[datetime, Job]] = []
    for target in targets:
        key = target.key
        state = states.get(key)
        activity = max(
            d
            for d in (
                target.published,
                state.last_change if state else None,
                newest.get((key.article, key.network)),
            )
            if d is not None
        )
        pair = (key.article, key.network)
        full = (
            force
            or state is None
            or state.last_full is None
            or now - state.last_full >= FULL_READ_EVERY
            or pair in unconfirmed
        )
        job = Job(target, None if full or state is None else state.cursor)
        if force:
            ranked.append((activity, job))
            continue
        if now - target.published >= cutoff:
            result.retired[key.network] = result.retired.get(key.network, 0) + 1
            continue
        if _due(state, now, interval_for(now - activity), pair in unconfirmed):
            ranked.append((activity, job))
        else:
            result.waiting[key.network] = result.waiting.get(key.network, 0) + 1
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


# -- reading ------------------------------------------------------------------------------


class SharedMeter:
    """The store's persistent daily usage meter (X bills reads), usable from worker threads.

    The store's own connection belongs to the thread that opened it, so the
    meter keeps a second connection to the same file and serializes calls.
    """

    def __init__(self, path: Path) -> None:
        conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 10000")
        self._store = Store(path, conn, None)
        self._lock = threading.Lock()

    def spend(self, network: str, kind: str, limit: int | None) -> None:
        with self._lock:
            self._store.spend(network, kind, limit)

    def close(self) -> None:
        self._store.close()


def sync_adapters(
    settings: EngageSettings, meter: SharedMeter, names: Iterable[str]
) -> dict[str, Adapter]:
    """One adapter per network in ``names``, metered through ``meter``."""
    return build_adapters(settings.networks, state_dir=settings.state_dir, meter=meter, names=names)


@dataclass
class Outcome:
    job: Job
    snapshot: ThreadSnapshot | None = None
    error: str | None = None
    deferred: bool = False  # not read: the network was stopped before its turn


@dataclass
class NetworkReport:
    due: int = 0
    waiting: int = 0  # not due yet (the decay schedule)
    retired: int = 0  # past the cut-off
    fetched: int = 0
    new: int = 0
    updated: int = 0
    removed: int = 0
    counts: int = 0  # conversations whose like, repost or reply figures changed
    errors: int = 0
    deferred: int = 0  # due but not read: the network was stopped (rate limit, credentials)
    stopped: str | None = None
    messages: list[str] = field(default_factory=list)

    def count(self, stats: MergeStats) -> None:
        self.new += stats.new
        self.updated += stats.updated
        self.removed += stats.removed
        self.counts += stats.counts_changed


@dataclass
class SyncReport:
    networks: dict[str, NetworkReport] = field(default_factory=dict)
    moderated: int = 0  # stored comments newly hidden by the blocklist
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def network(self, name: str) -> NetworkReport:
        return self.networks.setdefault(name, NetworkReport())

    @property
    def ok(self) -> bool:
        """Everything due was read."""
        return not any(n.errors or n.deferred for n in self.networks.values())

    @property
    def changed(self) -> bool:
        """Whether the site would look different after a rebuild."""
        return bool(self.moderated) or any(
            n.new or n.updated or n.removed or n.counts for n in self.networks.values()
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "changed": self.changed,
            "seconds": round(self.seconds, 3),
            "moderated": self.moderated,
            "notes": self.notes,
            "networks": {name: asdict(n) for name, n in sorted(self.networks.items())},
        }


class _Gate:
    """One network's traffic light: a shared pause after a short rate limit, a stop after a
    long one or after the credentials were refused."""

    def __init__(self, max_wait: float) -> None:
        self.max_wait = max_wait
        self.resume_at = 0.0
        self.stopped: str | None = None
        self._lock = threading.Lock()

    def wait(self, stop: threading.Event) -> None:
        while not stop.is_set() and self.stopped is None:
            with self._lock:
                delay = self.resume_at - time.monotonic()
            if delay <= 0:
                return
            stop.wait(min(delay, 0.25))

    def rate_limited(self, exc: RateLimited) -> bool:
        """True when the caller should wait (already arranged) and try again."""
        wait = exc.retry_after
        with self._lock:
            if wait is None or wait > self.max_wait:
                self.stopped = self.stopped or str(exc)
                return False
            self.resume_at = max(self.resume_at, time.monotonic() + wait)
            return True

    def stop(self, reason: str) -> None:
        with self._lock:
            self.stopped = self.stopped or reason


_DONE = object()


class Syncer:
    """Reads conversations concurrently and merges them through :class:`Threads`.

    ``workers``: per network (an int for all, or a mapping; default from the
    network's ``sync_workers`` option). ``serial``: one read at a time across
    all networks (the baseline the benchmark compares against).
    """

    def __init__(
        self,
        threads: Threads,
        adapters: Mapping[str, Adapter],
        *,
        workers: int | Mapping[str, int] | None = None,
        serial: bool = False,
        max_wait: float = MAX_RATE_LIMIT_WAIT,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.threads = threads
        self.adapters = dict(adapters)
        self.serial = serial
        self.max_wait = max_wait
        self.on_outcome = on_outcome
        self.workers = {name: self._workers(name, workers) for name in self.adapters}
        self._stop = threading.Event()

    def _workers(self, network: str, given: int | Mapping[str, int] | None) -> int:
        if isinstance(given, int):
            return max(1, min(given, MAX_WORKERS))
        if isinstance(given, Mapping) and network in given:
            return max(1, min(int(given[network]), MAX_WORKERS))
        option = self.adapters[network].options.get("sync_workers")
        if option is None:
            return NETWORK_WORKERS.get(network, DEFAULT_WORKERS)
        try:
            count = int(option)
        except (TypeError, ValueError):
            count = 0
        if not 1 <= count <= MAX_WORKERS:
            raise ConfigError(
                f"ENGAGE_NETWORKS[{network!r}]['sync_workers'] must be a whole number "
                f"from 1 to {MAX_WORKERS}"
            )
        return count

    # -- the run --------------------------------------------------------------------------
    def run(self, jobs: Iterable[Job], report: SyncReport | None = None) -> SyncReport:
        report = report or SyncReport()
        started = time.monotonic()
        by_network: dict[str, list[Job]] = {}
        for job in jobs:
            network = job.target.key.network
            if network not in self.adapters:
                continue
            by_network.setdefault(network, []).append(job)
            report.network(network).due += 1
        gates = {name: _Gate(self.max_wait) for name in by_network}
        results: queue.Queue[Any] = queue.Queue()
        if self.serial:
            lanes = [[(n, j) for n, js in by_network.items() for j in js]]
            coordinators = [self._lane(lanes[0], gates, results, workers=1)]
        else:
            coordinators = [
                self._lane([(n, j) for j in js], gates, results, workers=self.workers[n])
                for n, js in by_network.items()
            ]
        running = [threading.Thread(target=c, daemon=True) for c in coordinators]
        for thread in running:
            thread.start()
        try:
            self._collect(results, len(running), report)
        except BaseException:
            self._stop.set()
            raise
        finally:
            for thread in running:
                thread.join()
        for name, gate in gates.items():
            report.network(name).stopped = gate.stopped
        report.seconds = time.monotonic() - started
        return report

    def _lane(
        self,
        jobs: list[tuple[str, Job]],
        gates: Mapping[str, _Gate],
        results: queue.Queue[Any],
        *,
        workers: int,
    ) -> Callable[[], None]:
        """A coordinator: the first read of each network alone, then the rest in a pool."""

        def run() -> None:
            try:
                warmed: set[str] = set()
                rest: list[tuple[str, Job]] = []
                for network, job in jobs:
                    if network in warmed:
                        rest.append((network, job))
                        continue
                    warmed.add(network)
                    results.put(self._read(job, gates[network]))
                with ThreadPoolExecutor(workers, thread_name_prefix="engage-sync") as pool:
                    futures = [pool.submit(self._read, job, gates[n]) for n, job in rest]
                    for future in as_completed(futures):
                        results.put(future.result())
            # A bug, not a network problem: the calling thread re-raises it.
            except BaseException as exc:  # noqa: BLE001
                self._stop.set()
                results.put(exc)
            finally:
                results.put(_DONE)

        return run

    def _read(self, job: Job, gate: _Gate) -> Outcome:
        adapter = self.adapters[job.target.key.network]
        for _ in range(MAX_TRIES):
            gate.wait(self._stop)
            if self._stop.is_set() or gate.stopped is not None:
                return Outcome(job, deferred=True)
            try:
                snapshot = adapter.fetch_thread(job.target.ref, job.cursor)
                self._pace(adapter, gate)
                return Outcome(job, snapshot)
            except RateLimited as exc:
                if not gate.rate_limited(exc):
                    return Outcome(job, deferred=True)
            except AuthFailed as exc:
                gate.stop(str(exc))  # every other read would be refused the same way
                return Outcome(job, error=str(exc))
            except EngageError as exc:
                return Outcome(job, error=str(exc))
        return Outcome(job, deferred=True)

    @staticmethod
    def _pace(adapter: Adapter, gate: _Gate) -> None:
        """Stop short of a 429 when the adapter can tell what its last answer's headers left.

        ``Adapter.rate_budget()`` gives (requests left, seconds to the window's reset)
        or None; a nearly spent window pauses the network (short reset) or ends
        its run (long reset), keeping a reserve for the author's own commands.
        """
        left = adapter.rate_budget()
        if left is None:
            return
        remaining, reset = left
        if remaining <= RATE_RESERVE:
            gate.rate_limited(
                RateLimited(
                    adapter.name,
                    f"{remaining} requests left in the rate-limit window, "
                    f"which resets in {reset:.0f} s",
                    retry_after=reset,
                )
            )

    def _collect(self, results: queue.Queue[Any], lanes: int, report: SyncReport) -> None:
        """Merge outcomes as they arrive, several per transaction."""
        done = 0
        while done < lanes:
            batch = [results.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(results.get_nowait())
                except queue.Empty:
                    break
            outcomes = []
            for item in batch:
                if item is _DONE:
                    done += 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    outcomes.append(item)
            if outcomes:
                self._merge(outcomes, report)

    def _merge(self, outcomes: list[Outcome], report: SyncReport) -> None:
        now = datetime.now(UTC)
        with self.threads.batch() as threads:
            for outcome in outcomes:
                key = outcome.job.target.key
                net = report.network(key.network)
                if outcome.snapshot is not None:
                    net.fetched += 1
                    stats = threads.merge(key, outcome.snapshot, full=outcome.job.full, now=now)
                    net.count(stats)
                elif outcome.error is not None:
                    net.errors += 1
                    if len(net.messages) < 5:
                        net.messages.append(f"{outcome.job.target.slug}: {outcome.error}")
                    threads.record_failure(key, outcome.error, now)
                else:
                    net.deferred += 1
        for outcome in outcomes:
            if self.on_outcome is not None:
                self.on_outcome(outcome)


def run_sync(
    threads: Threads,
    adapters: Mapping[str, Adapter],
    targets: list[Target],
    *,
    cutoff: timedelta,
    force: bool = False,
    serial: bool = False,
    workers: int | Mapping[str, int] | None = None,
    max_wait: float = MAX_RATE_LIMIT_WAIT,
    on_plan: Callable[[Plan], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    now: datetime | None = None,
) -> SyncReport:
    """Plan what is due, read it, merge it: one `engage sync` without the command line."""
    report = SyncReport()
    report.moderated = threads.apply_moderation()  # blocklist edits reach stored comments
    the_plan = plan(
        targets,
        threads.states(),
        now=now or datetime.now(UTC),
        cutoff=cutoff,
        newest=threads.newest_comments(),
        unconfirmed=threads.unconfirmed(),
        force=force,
    )
    for network in {t.key.network for t in targets}:
        net = report.network(network)
        net.waiting = the_plan.waiting.get(network, 0)
        net.retired = the_plan.retired.get(network, 0)
    if on_plan is not None:
        on_plan(the_plan)
    syncer = Syncer(
        threads, adapters, workers=workers, serial=serial, max_wait=max_wait, on_outcome=on_outcome
    )
    return syncer.run(the_plan.jobs, report)


def sync_posts(
    settings: EngageSettings,
    posts: Iterable[PostRecord],
    *,
    force: bool = False,
    serial: bool = False,
    workers: int | Mapping[str, int] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> SyncReport:
    """`engage sync` for the site's ``posts``: open the store, read what is due, merge it,
    cache avatars if asked. The command line and the benchmark both run this."""
    with Store.open(settings.db_path) as store:
        targets, notes = find_targets(posts, Ledger(store), settings.networks)
        threads = Threads(store, blocklist=settings.blocklist, site_url=settings.site_url)
        meter = SharedMeter(settings.db_path)
        adapters = sync_adapters(settings, meter, (t.key.network for t in targets))
        try:
            report = run_sync(
                threads,
                adapters,
                targets,
                cutoff=settings.sync_cutoff,
                force=force,
                serial=serial,
                workers=workers,
                on_plan=on_plan,
                on_outcome=on_outcome,
            )
        finally:
            for adapter in adapters.values():
                adapter.close()
            meter.close()
        report.notes.extend(notes)
        if settings.avatars == "cache":
            cached = cache_avatars(
                store.conn, avatar_dir(settings), trusted_hosts=trusted_hosts(settings.networks)
            )
            if cached.failed:
                report.notes.append(
                    f"{cached.failed} avatars could not be cached; initials show instead"
                )
    return report


# -- avatars --------------------------------------------------------------------------------

AVATAR_MAX_BYTES = 256 * 1024
AVATAR_TIMEOUT = 10.0
# Decided by the file's first bytes, never by what the server claims: no SVG (it can script).
AVATAR_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF87a", ".gif"),
    (b"GIF89a", ".gif"),
)


def image_suffix(data: bytes) -> str | None:
    """The file suffix of a PNG, JPEG, GIF or WebP image; None for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return next((suffix for magic, suffix in AVATAR_MAGIC if data.startswith(magic)), None)


@dataclass
class AvatarReport:
    fetched: int = 0
    failed: int = 0
    pruned: int = 0


def cache_avatars(
    conn: Any,
    folder: Path,
    *,
    trusted_hosts: Collection[str] = (),
    workers: int = 4,
    timeout: float = AVATAR_TIMEOUT,
) -> AvatarReport:
    """Download the avatars of visible comments into ``folder`` (one file per URL).

    Only images of a known raster type and at most AVATAR_MAX_BYTES are kept.
    Addresses on private networks are refused (a commenter chooses the URL)
    unless the host is one of ``trusted_hosts`` (the configured networks).
    Files no visible comment uses any more are removed.
    """
    from ..networks.webmention import is_private_host

    folder.mkdir(parents=True, exist_ok=True)
    rows = conn.execute(
        "SELECT DISTINCT avatar_url FROM comment"
        " WHERE removed = 0 AND moderated = 0 AND avatar_url IS NOT NULL"
    )
    wanted = {avatar_stem(r[0]): r[0] for r in rows if r[0]}
    have = avatar_files(folder)
    report = AvatarReport()
    for stem, name in have.items():
        if stem not in wanted:
            (folder / name).unlink(missing_ok=True)
            report.pruned += 1
    missing = [url for stem, url in wanted.items() if stem not in have]
    if not missing:
        return report
    trusted = {h.lower() for h in trusted_hosts}

    def guard(request: httpx.Request) -> None:
        host = request.url.host.lower()
        if host not in trusted and is_private_host(host):
            raise httpx.ConnectError(f"{host} is a private address", request=request)

    with (
        httpx.Client(
            timeout=timeout,
            follow_redirects=True,
            max_redirects=3,
            headers={"Accept": "image/png, image/jpeg, image/gif, image/webp"},
            event_hooks={"request": [guard]},
        ) as client,
        ThreadPoolExecutor(max(1, workers), thread_name_prefix="engage-avatar") as pool,
    ):
        for ok in pool.map(lambda url: _fetch_avatar(client, url, folder), missing):
            if ok:
                report.fetched += 1
            else:
                report.failed += 1
    return report


def _fetch_avatar(client: httpx.Client, url: str, folder: Path) -> bool:
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                return False
            data = b""
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > AVATAR_MAX_BYTES:
                    return False
    except (httpx.HTTPError, OSError) as exc:
        log.debug("engage: avatar %s not fetched: %s", _where(url), type(exc).__name__)
        return False
    suffix = image_suffix(data)
    if suffix is None:
        return False
    target = folder / (avatar_stem(url) + suffix)
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(target)
    return True


def _where(url: str) -> str:
    """An avatar URL without its query string (it may carry a signature)."""
    with contextlib.suppress(ValueError):
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"
    return "(unreadable URL)"


def trusted_hosts(networks: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """The hosts of the configured networks' base URLs (a sandbox on 127.0.0.1, say)."""
    hosts = set()
    for options in networks.values():
        host = urlsplit(str(options.get("base_url") or "")).hostname
        if host:
            hosts.add(host.lower())
    return hosts
