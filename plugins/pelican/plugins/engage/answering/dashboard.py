"""The local answer dashboard: waiting comments, and how fast you answer, week by week.

Written by `engage inbox` beside the state database, never into the site's
output, so it is never deployed. Comment text is escaped by Jinja's
autoescape; the charts are inline SVG, so the page needs no script.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from ..networks import network_label
from ..store import Store
from .answers import Stats, Waiting, stats

WEEKS = 12


def duration(seconds: float | None) -> str:
    """``3h 20m``, ``2d 4h``, ``45s``: how long, for people."""
    if seconds is None:
        return "–"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


@dataclass
class Week:
    start: datetime
    stats: Stats

    @property
    def label(self) -> str:
        return f"{self.start:%d %b}"


def weekly(store: Store, until: datetime, weeks: int = WEEKS) -> list[Week]:
    first = until - timedelta(weeks=weeks)
    return [
        Week(
            first + timedelta(weeks=i),
            stats(store, first + timedelta(weeks=i), first + timedelta(weeks=i + 1)),
        )
        for i in range(weeks)
    ]


TEMPLATE = Path(__file__).parent.parent / "templates" / "engage" / "dashboard.html"


def render(
    waiting: Sequence[Waiting],
    period_stats: Stats,
    weeks: Sequence[Week],
    generated: datetime,
    period: str,
) -> str:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    medians = [w.stats.overall.as_json()["median_seconds"] or 0 for w in weeks]
    data = period_stats.as_json()
    rows = [
        *((name, rate) for name, rate in sorted(data["networks"].items())),
        ("overall", data["overall"]),
    ]
    # "</" cannot end the JSON island early: every "<" is escaped.
    stats_json = Markup(json.dumps(data).replace("<", "\\u003c"))
    return env.from_string(TEMPLATE.read_text(encoding="utf-8")).render(
        waiting=waiting,
        rows=rows,
        weeks=weeks,
        slowest=max(medians) or 1,
        network_label=network_label,
        duration=duration,
        generated=f"{generated:%Y-%m-%d %H:%M} UTC",
        period=period,
        stats_json=stats_json,
    )


def write(path: Path, page: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
