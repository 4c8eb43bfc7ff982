"""Reading conversations concurrently, and merging what comes back on the calling thread.

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

import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import AuthFailed, ConfigError, EngageError, RateLimited
from ..networks.base import Adapter, ThreadSnapshot
from .merge import Threads
from .report import SyncReport
from .schedule import Job

DEFAULT_WORKERS = 6  # reads in flight per network: a few, never a flood
NETWORK_WORKERS = {"x": 2, "webmention": 4, "feed": 4}  # X bills every read: no hurry
MAX_WORKERS = 32
MAX_RATE_LIMIT_WAIT = 5.0  # seconds; a longer wait stops the network for this run
MAX_TRIES = 3  # per conversation and run, counting reads cut short by a rate limit
BATCH = 50  # merges per transaction
RATE_RESERVE = 10  # requests of a rate-limit window left for `engage reply` and friends


@dataclass
class Outcome:
    job: Job
    snapshot: ThreadSnapshot | None = None
    error: str | None = None
    deferred: bool = False  # not read: the network was stopped before its turn


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
        for name, gate in gates.items():  # the notification step may have spent the window
            self._pace(self.adapters[name], gate)
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
                read = adapter.fetch_changed if job.triggered else adapter.fetch_thread
                snapshot = read(job.target.ref, job.cursor)
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
                    # A light read after a notification is full when it saw everything.
                    full = outcome.snapshot.complete if outcome.job.triggered else outcome.job.full
                    stats = threads.merge(key, outcome.snapshot, full=full, now=now)
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
