"""Parse and check the engage metadata keys of one post.

Pelican lower-cases metadata keys and hands multi-line (or repeated) values to
us as lists, so every parser accepts a string or a list of strings. Each
problem becomes a MetadataError naming the file, the key and what is wrong;
parsing goes on so the author sees every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import MetadataError
from ..networks.registry import NAMES as NETWORK_NAMES

OFFSET_RE = re.compile(r"^\+((?:\d+[dhm])+)\s+(.+)$", re.IGNORECASE)
OFFSET_PART_RE = re.compile(r"(\d+)([dhm])", re.IGNORECASE)
DATETIME_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)\s+(.+)$"
)
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


@dataclass(frozen=True)
class Followup:
    text: str
    offset: timedelta | None = None  # after the first post
    at: datetime | None = None  # at a fixed time

    def due(self, first: datetime) -> datetime:
        return self.at if self.at is not None else first + (self.offset or timedelta())


@dataclass(frozen=True)
class PostMeta:
    syndicate: tuple[str, ...] | None = None  # None: every configured network
    source: str | None = None
    source_feed: str | None = None
    snippet: str | None = None
    snippets: Mapping[str, str] = field(default_factory=dict)
    schedule: datetime | None = None
    followups: tuple[Followup, ...] = ()
    comments_feed: str | None = None

    @property
    def opted_out(self) -> bool:
        return self.syndicate == ()


def _lines(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        out: list[str] = []
        for item in value:
            out.extend(_lines(item))
        return out
    return [line.strip() for line in str(value).splitlines() if line.strip()]


def _single(value: Any) -> str | None:
    lines = _lines(value)
    return " ".join(lines) if lines else None


def is_url(value: str, *, allow_file: bool = False) -> bool:
    parts = urlsplit(value)
    if parts.scheme in {"http", "https"}:
        return bool(parts.netloc)
    return allow_file and parts.scheme == "file" and bool(parts.path)


def parse_datetime(value: str, tz: ZoneInfo) -> datetime:
    """An aware datetime from ``2026-12-01 16:00`` (site time zone) or full ISO 8601."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def _parse_followup(line: str, tz: ZoneInfo) -> Followup:
    if match := OFFSET_RE.match(line):
        spec, text = match.groups()
        delta = timedelta(**{UNITS[u.lower()]: int(n) for n, u in OFFSET_PART_RE.findall(spec)})
        if not delta:
            raise ValueError("an offset of zero")
        return Followup(text=text.strip(), offset=delta)
    if match := DATETIME_RE.match(line):
        when, text = match.groups()
        return Followup(text=text.strip(), at=parse_datetime(when, tz))
    raise ValueError(
        f"line {line[:40]!r} does not start with an offset like +4h or a time like 2026-12-01 16:00"
    )


def site_zone(timezone: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_metadata(
    source_path: str, metadata: Mapping[str, Any], *, timezone: str | None = None
) -> tuple[PostMeta, list[MetadataError]]:
    """The engage keys of one post, and every problem found in them."""
    tz = site_zone(timezone)
    errors: list[MetadataError] = []
    fields: dict[str, Any] = {}

    def fail(key: str, problem: str) -> None:
        errors.append(MetadataError(source_path, key, problem))

    raw_syndicate = _single(metadata.get("syndicate"))
    if raw_syndicate is not None:
        names = [n.strip().lower() for n in raw_syndicate.split(",") if n.strip()]
        if names in ([], ["none"]):
            fields["syndicate"] = ()
        else:
            unknown = [n for n in names if n not in NETWORK_NAMES]
            if unknown:
                fail(
                    "Syndicate",
                    f"names unknown network {unknown[0]!r} (known: {', '.join(NETWORK_NAMES)})",
                )
            else:
                fields["syndicate"] = tuple(dict.fromkeys(names))

    for key, allow_file in (("source", False), ("source_feed", True), ("comments_feed", True)):
        value = _single(metadata.get(key))
        if value is None:
            continue
        if is_url(value, allow_file=allow_file):
            fields[key] = value
        else:
            fail(key.title().replace("_f", "_F"), f"is not an http(s) URL: {value[:60]!r}")
    if fields.get("source_feed") and not fields.get("source") and "source" not in metadata:
        fail("Source_Feed", "needs a Source naming the article in that feed")

    fields["snippet"] = _single(metadata.get("snippet"))
    fields["snippets"] = {
        key.removeprefix("snippet_"): text
        for key, value in metadata.items()
        if key.startswith("snippet_") and (text := _single(value))
    }
    for network in fields["snippets"]:
        if network not in NETWORK_NAMES:
            fail(f"Snippet_{network}", f"names unknown network {network!r}")

    schedule = _single(metadata.get("schedule"))
    if schedule is not None:
        try:
            fields["schedule"] = parse_datetime(schedule, tz)
        except ValueError:
            fail("Schedule", f"is not a date and time like 2026-12-01 08:00: {schedule!r}")

    followups = []
    for line in _lines(metadata.get("followup")):
        try:
            followups.append(_parse_followup(line, tz))
        except ValueError as exc:
            fail("Followup", str(exc))
    fields["followups"] = tuple(followups)
    return PostMeta(**fields), errors
