"""Worlds for the notification tests and the benchmark: one network, a store, some posts.

A :class:`World` publishes posts with the real adapter (on a stand-in, or on
mastodon-mock), records them in the ledger as syndication would, and drives
the conversation remotely (``reply``, ``like``), so a test can run real syncs
and count what they cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pelican.plugins.engage.backfeed.engine import SyncReport, Target, run_sync
from pelican.plugins.engage.backfeed.merge import ThreadKey, Threads
from pelican.plugins.engage.networks import build_adapter
from pelican.plugins.engage.networks.base import Adapter, AdapterContext, OutgoingPost, RemoteRef
from pelican.plugins.engage.sandbox import standin_class
from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication.ledger import Entry, Ledger

SITEURL = "https://blog.example.net"
CUTOFF = timedelta(days=90)


class World:
    """One network's server (a stand-in by default), its adapter, and our posts on it."""

    kind = "stand-in"

    def __init__(self, network: str, store: Store, state_dir: Any, **options: Any) -> None:
        self.network = network
        self.store = store
        self.state_dir = state_dir
        self.server = self.start()
        self.meter = store.shared_meter()  # X bills reads made on worker threads
        self.options = {**self.server_options(), "timeout": 5, **options}
        self.adapter = self.new_adapter()
        self.targets: list[Target] = []
        self.refs: list[RemoteRef] = []
        self.items: dict[str, str] = {}  # remote id of our post -> the server's item id

    # -- the server -----------------------------------------------------------------
    def start(self) -> Any:
        return standin_class(self.network)().start()

    def stop(self) -> None:
        self.adapter.close()
        self.meter.close()
        self.server.stop()

    def server_options(self) -> dict[str, Any]:
        return dict(self.server.network_options())

    def env(self) -> dict[str, str]:
        return dict(self.server.environment())

    def new_adapter(self) -> Adapter:
        ctx = AdapterContext(env=self.env(), meter=self.meter, state_dir=self.state_dir)
        return build_adapter(self.network, self.options, ctx)

    def served(self) -> int:
        """Requests the server has answered (for checking the adapters' own count)."""
        return len(self.server.requests)

    # -- our posts ------------------------------------------------------------------
    def publish(self, count: int, *, age: timedelta = timedelta(hours=1)) -> None:
        ledger = Ledger(self.store)
        start = datetime.now(UTC) - age
        for n in range(count):
            i = len(self.refs)
            when = start - timedelta(seconds=n)  # distinct: Bluesky derives record keys from it
            article = f"content/{self.network}-{i:05d}.md"
            link = f"{SITEURL}/{self.network}-{i:05d}.html"
            if self.network == "webmention":
                ref = RemoteRef("webmention", link, link)
            else:
                post = OutgoingPost(f"My take number {i} {link}", f"w-{self.network}-{i}",
                                    link=link, created_at=when)  # fmt: skip
                ref = self.adapter.publish(post)
                entry = Entry(article, self.network, 0, "t", link, when, post.idempotency_key, when)
                ledger.mark_posted(ledger.add(entry), ref)
            self.items[ref.id] = self.item_id(ref)
            self.refs.append(ref)
            key = ThreadKey(article, self.network, ref.id)
            self.targets.append(Target(key, ref, article, when))

    def item_id(self, ref: RemoteRef) -> str:
        return ref.id

    # -- the conversation ------------------------------------------------------------
    def reply(self, parent: str, who: str = "bob", text: str = "Nice post!", **kw: Any) -> str:
        """Someone answers ``parent`` (our post's remote id, or an earlier reply's)."""
        target = self.items.get(parent, parent)
        return str(self.server.add_reply(target, who, text, **kw).id)

    def like(self, ref: RemoteRef, who: str = "carol") -> None:
        self.server.like(self.items[ref.id], who)

    # -- syncing ----------------------------------------------------------------------
    def sync(self, *, now: datetime | None = None, **kw: Any) -> SyncReport:
        threads = Threads(self.store)
        return run_sync(
            threads, {self.network: self.adapter}, self.targets, cutoff=CUTOFF, now=now, **kw
        )


class MockWorld(World):
    """Mastodon on mastodon-mock, the independent server: alice is the author."""

    kind = "mastodon-mock"

    def start(self) -> Any:
        from mastodon_mock.testing.server import MockServer

        return MockServer().start()

    def server_options(self) -> dict[str, Any]:
        return {"base_url": self.server.base_url}

    def env(self) -> dict[str, str]:
        return {"MASTODON_ACCESS_TOKEN": "alice_token"}

    def served(self) -> int:
        raise NotImplementedError("mastodon-mock keeps no request log: use the adapter's count")

    def reply(self, parent: str, who: str = "bob", text: str = "Nice post!", **kw: Any) -> str:
        client = self.server.client(who)
        if kw.get("extra", {}).get("mention") is False:
            return str(client.status_post(text, in_reply_to_id=parent)["id"])
        return str(client.status_reply(client.status(parent), text)["id"])

    def like(self, ref: RemoteRef, who: str = "carol") -> None:
        self.server.client(who).status_favourite(ref.id)


def requests_of(report: SyncReport, network: str) -> int:
    return report.networks[network].requests


def comments(store: Store) -> Iterator[str]:
    for row in store.conn.execute("SELECT id FROM comment WHERE removed = 0 AND moderated = 0"):
        yield str(row["id"])
