"""A rolling rate-limit window for the stand-ins: count calls, report them, refuse past the limit.

Each network words its headers its own way (Bluesky ``RateLimit-*`` with an
epoch reset, X ``x-rate-limit-*`` per endpoint, Facebook ``X-App-Usage`` as
percentages of an hour); the stand-ins render :meth:`HitWindow.state` in
their own words. Tests set ``limit`` low and turn ``enforcing`` on to see an
engine stop short of the 429.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class WindowState:
    limit: int
    used: int
    reset_in: float  # seconds until the oldest counted call leaves the window

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def reset_epoch(self) -> int:
        return int(time.time() + self.reset_in + 0.999)


class HitWindow:
    """Calls per key over the last ``seconds``; ``enforcing`` refuses the call past ``limit``."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.enforcing = False
        self.refusals = 0  # calls answered 429 (a test of pacing wants none)
        self._hits: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def enforce(self, limit: int | None) -> None:
        """Refuse calls past ``limit`` in the window (None: count and report only)."""
        with self._lock:
            if limit is not None:
                self.limit = limit
            self.enforcing = limit is not None

    def clear(self) -> None:
        """Forget the calls counted: as if the window had passed."""
        with self._lock:
            self._hits.clear()
            self.refusals = 0

    def _recent(self, key: str, now: float) -> list[float]:
        return [t for t in self._hits.get(key, []) if now - t < self.seconds]

    def refused(self, key: str) -> WindowState | None:
        """The window's state if this call must be refused (enforcing, limit reached)."""
        now = time.time()
        with self._lock:
            recent = self._recent(key, now)
            if not self.enforcing or len(recent) < self.limit:
                return None
            self.refusals += 1
            return WindowState(self.limit, len(recent), self.seconds - (now - recent[0]))

    def hit(self, key: str) -> WindowState:
        """Count one answered call and return the window as its headers report it."""
        now = time.time()
        with self._lock:
            recent = self._recent(key, now)
            recent.append(now)
            self._hits[key] = recent
            return WindowState(self.limit, len(recent), self.seconds - (now - recent[0]))


class WindowedStandIn:
    """Mixin for a stand-in: one :class:`HitWindow` as ``self.window``, a test control to
    enforce it, and a reset back to the network's default limit."""

    window_limit: ClassVar[int]
    window_seconds: ClassVar[float]
    lock: Any  # the stand-in's lock

    def __init__(self, **kw: Any) -> None:
        self.window = HitWindow(self.window_limit, self.window_seconds)
        super().__init__(**kw)

    def enforce_rate_limit(self, limit: int | None) -> None:
        """Answer 429 once a caller made ``limit`` calls in the window (None: only report)."""
        self.window.enforce(limit)

    def reset(self) -> None:
        with self.lock:
            super().reset()  # type: ignore[misc]
            self._restart_window()

    def _restart_window(self) -> None:
        self.window.clear()
        self.window.enforce(None)
        self.window.limit = self.window_limit
