"""`engage watch`: the loop that keeps the conversation on the site, by itself.

Each cycle runs three steps, each to its end:

1. **post** what falls due (what `engage syndicate` would post);
2. **sync**: ask every network what changed (one request each), read what
   notifications named and what the safety net has due, merge it;
3. **rebuild** (and deploy) when the site changed, debounced: after a cycle
   that brought changes the next one comes after ``debounce`` seconds, and
   the site is rebuilt after the first cycle that brings nothing more (the
   burst is over), or ``max_delay`` (one interval by default) after the first
   unbuilt change, whichever comes first, so a reply is on the page within
   two cycles even while a burst goes on; a cycle that posted something rebuilds too (the
   article pages link to their copies).

New comments are announced to the author, one message per cycle (see
:mod:`.notify`). A log line per cycle says what was done and how many
requests each network cost.

Stopping (SIGTERM, Ctrl-C) sets :attr:`Watcher.stop`: the current step ends
as it would, no further step starts, the loop returns. Nothing is lost: the
store records each step's results as it goes, notification flags stay until
their conversation is read, and "the site needs a rebuild" is a mark in the
store (``watch:dirty``), so the next start rebuilds it.

The steps are given as functions (:class:`Steps`), so the loop knows nothing
of Pelican, adapters or the command line, and tests can drive it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from ..errors import EngageError
from ..settings import WatchSettings
from .report import SyncReport

T = TypeVar("T")
DIRTY = "watch:dirty"  # sync_cursor name: since when the site lacks a rebuild


@dataclass
class Steps:
    """What one cycle does; each may raise EngageError (logged, the loop goes on)."""

    syndicate: Callable[[], int]  # posts what is due; returns how many went out
    sync: Callable[[], SyncReport]
    rebuild: Callable[[], None]  # build and deploy
    announce: Callable[[list[str]], bool]  # tell the author of these new comments
    dirty_since: Callable[[], datetime | None]  # the store's mark
    set_dirty: Callable[[datetime | None], None]


@dataclass
class Cycle:
    """What one cycle did: the log line."""

    number: int
    posted: int = 0
    new: int = 0
    changed: bool = False
    rebuilt: bool = False
    announced: bool = False
    requests: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False

    def line(self) -> str:
        spent = ", ".join(f"{n} {c}" for n, c in sorted(self.requests.items())) or "none"
        parts = [
            f"cycle {self.number}: posted {self.posted}",
            f"{self.new} new comments" + (" (site changed)" if self.changed else ""),
            f"requests {sum(self.requests.values())} ({spent})",
        ]
        if self.rebuilt:
            parts.append("rebuilt")
        if self.announced:
            parts.append("author notified")
        parts += [f"error: {e}" for e in self.errors]
        if self.stopped:
            parts.append("stopping")
        return "; ".join(parts) + f"; {self.seconds:.1f} s"


class Watcher:
    """Runs :class:`Steps` on the intervals of :class:`WatchSettings` until :attr:`stop`."""

    def __init__(
        self,
        steps: Steps,
        settings: WatchSettings,
        *,
        log: Callable[[str], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.steps = steps
        self.settings = settings
        self.log = log
        self.clock = clock
        self.stop = threading.Event()
        self.cycles: list[Cycle] = []

    def run(self, cycles: int | None = None) -> None:
        """Cycle until stopped (or ``cycles`` have run)."""
        number = 0
        while not self.stop.is_set() and (cycles is None or number < cycles):
            number += 1
            cycle = self.cycle(number)
            self.cycles.append(cycle)
            self.log(cycle.line())
            if cycles is not None and number >= cycles:
                break
            wait = self.settings.debounce if cycle.changed else self.settings.interval
            self.stop.wait(wait)

    def cycle(self, number: int) -> Cycle:
        started = time.monotonic()
        cycle = Cycle(number)
        try:
            self._steps(cycle)
        finally:
            cycle.seconds = time.monotonic() - started
            cycle.stopped = self.stop.is_set()
        return cycle

    def _steps(self, cycle: Cycle) -> None:
        steps = self.steps
        cycle.posted = self._guarded(cycle, steps.syndicate) or 0
        if self.stop.is_set():
            return
        report = self._guarded(cycle, steps.sync)
        if report is not None:
            cycle.requests = {n: r.requests for n, r in report.networks.items() if r.requests}
            cycle.new = len(report.new_comments)
            cycle.changed = report.changed
            if report.changed:
                self._guarded(cycle, lambda: steps.set_dirty(steps.dirty_since() or self.clock()))
            if report.new_comments:
                cycle.announced = bool(
                    self._guarded(cycle, lambda: steps.announce(report.new_comments))
                )
        if self.stop.is_set():
            return
        dirty = self._guarded(cycle, steps.dirty_since)
        late = dirty is not None and (self.clock() - dirty).total_seconds() >= (
            self.settings.max_delay
        )
        due = cycle.posted or (dirty is not None and (not cycle.changed or late))
        if due and self._guarded(cycle, self._rebuild):
            cycle.rebuilt = True
            self._guarded(cycle, lambda: steps.set_dirty(None))

    def _rebuild(self) -> bool:
        self.steps.rebuild()
        return True

    def _guarded(self, cycle: Cycle, step: Callable[[], T]) -> T | None:
        """Run a step; an EngageError is noted in the cycle (None) and the loop goes on."""
        try:
            return step()
        except EngageError as exc:
            cycle.errors.append(str(exc))
            return None
