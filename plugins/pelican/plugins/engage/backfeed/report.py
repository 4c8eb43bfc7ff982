"""What a sync did, per network: the report `engage sync` prints (and prints as JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .merge import MergeStats


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
    requests: int = 0  # requests answered (notifications and reads)
    # Notifications: "on" (asked, and trusted), "not due" (asked recently), "baseline" (first
    # ask), "overflow" (too much to tell), "failed", "off" (no feed, or turned off).
    notifications: str = "off"
    notices: int = 0  # notifications that named one of our conversations
    flagged: int = 0  # conversations read because a notification named them
    safety: int = 0  # safety-net reads due on this run (the slow schedule)
    safety_per_day: float = 0.0  # safety-net reads a day at the conversations' present ages
    new_ids: list[str] = field(default_factory=list)  # the new visible comments

    def count(self, stats: MergeStats) -> None:
        self.new += stats.new
        self.updated += stats.updated
        self.removed += stats.removed
        self.counts += stats.counts_changed
        self.new_ids.extend(stats.new_ids)


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
    def requests(self) -> int:
        return sum(n.requests for n in self.networks.values())

    @property
    def new_comments(self) -> list[str]:
        """Ids of the comments this sync brought, every network."""
        return [cid for n in self.networks.values() for cid in n.new_ids]

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
            "requests": self.requests,
            "notes": self.notes,
            "networks": {name: asdict(n) for name, n in sorted(self.networks.items())},
        }
