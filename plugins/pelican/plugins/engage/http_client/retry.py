"""Retry-After and rate-limit reset headers: the one parser of every form networks send."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

EPOCH_THRESHOLD = 1e9  # a bare number this large is a moment (epoch seconds), not a delay


def wait_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds until ``value`` says to try again, never negative; None if it is unreadable.

    Every form networks send: delta seconds (``120``), epoch seconds
    (``1795000000``), an HTTP date (``Tue, 01 Dec 2026 10:00:30 GMT``) and
    ISO 8601 (``2026-12-01T10:05:00.123Z``). ``now`` is the clock moments are
    measured from (epoch seconds; default: this machine's).
    """
    text = (value or "").strip()
    if not text:
        return None
    clock = time.time() if now is None else now
    try:
        number = float(text)
    except ValueError:
        moment = _moment(text)
        return None if moment is None else max(0.0, moment - clock)
    if not math.isfinite(number):
        return None
    return max(0.0, number - clock if number > EPOCH_THRESHOLD else number)


def retry_after(
    headers: Mapping[str, Any], names: Iterable[str] = ("retry-after",)
) -> float | None:
    """Seconds to wait from the first header of ``names`` with a readable value.

    Header names are case-insensitive. The server's ``Date`` header is the clock
    for moments, so a skewed local clock does not matter.
    """
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    now = _moment(lower.get("date", "")) if lower.get("date") else None
    for name in names:
        wait = wait_seconds(lower.get(name.lower()), now)
        if wait is not None:
            return wait
    return None


def _moment(text: str) -> float | None:
    """Epoch seconds of an HTTP date or an ISO 8601 date-time (UTC when no zone is given)."""
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
