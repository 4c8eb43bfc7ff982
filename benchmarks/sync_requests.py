"""How many requests does `engage sync` make when nothing is new, and when a few things are?

Usage::

    .venv/bin/python benchmarks/sync_requests.py [--sizes 10 1000 10000] [--busy 5]
                                                 [--mock-sizes 10 1000 10000] [--write]

A measurement, not a test: it always exits 0. Everything runs on 127.0.0.1.

Method
------
For each size N and each mode, a fresh state database and fresh servers:

* **before**: ``notifications: false`` on every network, the decaying
  per-conversation schedule alone (what `engage sync` did before issue 13);
* **after**: notifications on (X asked on every run: ``notify_every: 0``).

The store rows are generated directly, not by building a site: N articles
dated evenly over the last 85 days (inside the 90-day cut-off), article *i*
syndicated to Mastodon, Bluesky, X or Facebook (*i* mod 4) and every article
a webmention target. Each syndicated post exists on its stand-in (created
there directly) and in the ledger; every conversation has a ``sync_state``
row saying it was read completely ten minutes ago (a site in its steady
state). Then, with the real engine (``backfeed.engine.run_sync``, what
`engage sync` runs after reading the site) and the real adapters:

1. a first sync (after: each network's first notification request only notes
   where its feed is, so this run keeps the decaying schedule);
2. **quiet**: a second sync right after, nothing new: its requests, per
   network, as the adapters counted their answers;
3. ``--busy`` conversations per network get a reply from someone else (the
   posts chosen at random over all ages, with a fixed seed), two more posts a
   like; **busy**: the next sync's requests, and how many of the new replies it
   found.

Against mastodon-mock (an independent Mastodon API server) the same for
Mastodon alone; there only the statuses a sync can read exist on the server
(those under a day old, which the decaying schedule reads on every run, and
the busy ones): the others are ledger rows no measured sync asks for.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reporting import publish, say

REPO = Path(__file__).resolve().parent.parent
SOCIAL = ("mastodon", "bluesky", "x", "facebook")
NETWORKS = (*SOCIAL, "webmention")
SITEURL = "https://blog.example.net"
SEED = 20261213
CUTOFF = timedelta(days=90)


@dataclass
class Post:
    article: str
    link: str
    date: datetime
    network: str
    ref: Any = None  # RemoteRef on its network
    item: str = ""  # the server's id of the post


@dataclass
class Result:
    server: str
    network: str
    posts: int  # syndicated to this network (articles, for webmentions)
    quiet: dict[str, int] = field(default_factory=dict)  # mode -> requests
    busy: dict[str, int] = field(default_factory=dict)
    found: dict[str, str] = field(default_factory=dict)  # mode -> "found/written"


def articles(count: int, now: datetime) -> list[Post]:
    return [
        Post(
            f"content/post-{i:05d}.md",
            f"{SITEURL}/post-{i:05d}.html",
            now - timedelta(days=85) * (i + 0.5) / count,
            SOCIAL[i % len(SOCIAL)],
        )
        for i in range(count)
    ]


# -- the servers ------------------------------------------------------------------------------


@contextmanager
def standins() -> Iterator[dict[str, Any]]:
    from pelican.plugins.engage.sandbox import start_all

    running = start_all(names=NETWORKS)
    # Keep the stand-ins' reported windows out of the way: this counts requests, not limits.
    running["mastodon"].rate_limit = 10**9
    running["bluesky"].window.limit = 10**9
    running["x"].window.limit = 10**9
    running["facebook"].window.limit = 10**9
    try:
        yield running
    finally:
        for server in running.values():
            server.stop()


def seed_standin(network: str, server: Any, post: Post) -> None:
    from pelican.plugins.engage.networks.base import RemoteRef

    item = server.add_post("author", f"My take on {post.link}", created_at=post.date)
    post.item = item.id
    if network == "bluesky":
        uri, cid = item.id, item.extra["cid"]
        extra = {"uri": uri, "cid": cid, "root_uri": uri, "root_cid": cid}
        post.ref = RemoteRef(network, uri, f"https://bsky.app/profile/author/{uri[-13:]}", extra)
    else:
        post.ref = RemoteRef(network, item.id, f"{server.base_url}/status/{item.id}")


# -- the store ----------------------------------------------------------------------------------


def seed_store(db: Path, posts: list[Post], networks: tuple[str, ...], now: datetime) -> list[Any]:
    """Ledger and sync_state rows written directly; returns the sync targets."""
    from pelican.plugins.engage.backfeed.engine import Target
    from pelican.plugins.engage.backfeed.merge import ThreadKey, iso
    from pelican.plugins.engage.store import Store

    read = iso(now - timedelta(minutes=10))
    targets = []
    with Store.open(db) as store:
        store.conn.execute("PRAGMA synchronous = OFF")  # seeding only
        with store.transaction() as conn:
            for number, post in enumerate(posts):
                keys = []
                if post.network in networks and post.ref is not None:
                    ref = post.ref
                    conn.execute(
                        "INSERT INTO entry (article, network, seq, text, link, due_at,"
                        " idempotency_key, created_at, state, remote_id, remote_url,"
                        " remote_extra, posted_at) VALUES (?,?,0,'t',?,?,?,?,'posted',?,?,?,?)",
                        (post.article, post.network, post.link, iso(post.date), f"k{number}",
                         iso(post.date), ref.id, ref.url, json.dumps(dict(ref.extra)),
                         iso(post.date)),
                    )  # fmt: skip
                    keys.append((ThreadKey(post.article, post.network, ref.id), ref))
                if "webmention" in networks:
                    from pelican.plugins.engage.networks.base import RemoteRef

                    ref = RemoteRef("webmention", post.link, post.link)
                    keys.append((ThreadKey(post.article, "webmention", post.link), ref))
                for key, ref in keys:
                    conn.execute(
                        "INSERT INTO sync_state (article, network, remote_id, last_attempt,"
                        " last_success, last_full) VALUES (?, ?, ?, ?, ?, ?)",
                        (*key, read, read, read),
                    )
                    targets.append(Target(key, ref, post.article, post.date))
    return targets


def sync(db: Path, adapters: dict[str, Any], targets: list[Any]) -> Any:
    from pelican.plugins.engage.backfeed.engine import run_sync
    from pelican.plugins.engage.backfeed.merge import Threads
    from pelican.plugins.engage.store import Store

    with Store.open(db) as store:
        return run_sync(Threads(store), adapters, targets, cutoff=CUTOFF)


def new_adapters(options: dict[str, dict[str, Any]], env: dict[str, str], state: Path, meter: Any,
                 mode: str) -> dict[str, Any]:  # fmt: skip
    from pelican.plugins.engage.networks import build_adapter
    from pelican.plugins.engage.networks.base import AdapterContext

    ctx = AdapterContext(env=env, meter=meter, state_dir=state)
    extra = {"notifications": mode == "after", "notify_every": "0", "timeout": 10}
    return {n: build_adapter(n, {**o, **extra}, ctx) for n, o in options.items()}


# -- one measurement -------------------------------------------------------------------------------


def measure_standins(size: int, busy: int, tmp: Path) -> list[Result]:
    from pelican.plugins.engage.networks.base import MemoryMeter

    results = {n: Result("stand-ins", n, 0) for n in NETWORKS}
    for mode in ("before", "after"):
        now = datetime.now(UTC)
        posts = articles(size, now)
        with standins() as running:
            for post in posts:
                seed_standin(post.network, running[post.network], post)
            db = tmp / f"standins-{size}-{mode}.sqlite3"
            targets = seed_store(db, posts, NETWORKS, now)
            env = {k: v for s in running.values() for k, v in s.environment().items()}
            options = {n: s.network_options() for n, s in running.items()}
            adapters = new_adapters(options, env, tmp / "state", MemoryMeter(), mode)
            sync(db, adapters, targets)  # 1: the first run (after: notes each feed's cursor)
            quiet = sync(db, adapters, targets)  # 2: nothing new
            written = activity(running, posts, busy)
            report = sync(db, adapters, targets)  # 3: a few new things
            for network in NETWORKS:
                result = results[network]
                result.posts = sum(1 for p in posts if p.network == network) or len(posts)
                result.quiet[mode] = quiet.networks[network].requests
                result.busy[mode] = report.networks[network].requests
                result.found[mode] = f"{report.networks[network].new}/{written[network]}"
            for adapter in adapters.values():
                adapter.close()
        say(f"  stand-ins, {size} posts, {mode}: done")
    return list(results.values())


def activity(running: dict[str, Any], posts: list[Post], busy: int) -> dict[str, int]:
    """Replies on ``busy`` posts per network, likes on two more; returns replies written."""
    rng = random.Random(SEED)
    written = {}
    for network in NETWORKS:
        mine = [p for p in posts if network in ("webmention", p.network)]
        chosen = rng.sample(mine, min(len(mine), busy + 2))
        server = running[network]
        for number, post in enumerate(chosen):
            target = post.link if network == "webmention" else post.item
            if number < busy:
                server.add_reply(target, "bob", f"A reply to {post.link}")
            else:
                server.like(target, "carol")
        written[network] = min(len(mine), busy)
    return written


def measure_mock(size: int, busy: int, tmp: Path) -> Result:
    from mastodon_mock.testing.server import MockServer

    from pelican.plugins.engage.networks.base import MemoryMeter, RemoteRef

    result = Result("mastodon-mock", "mastodon", 0)
    for mode in ("before", "after"):
        now = datetime.now(UTC)
        posts = [p for p in articles(size * 4, now) if p.network == "mastodon"][:size]
        rng = random.Random(SEED)
        chosen = rng.sample(posts, min(len(posts), busy + 2))
        with MockServer() as server:
            alice = server.client("alice")
            for number, post in enumerate(posts):
                if now - post.date < timedelta(days=1) or post in chosen:
                    status = alice.status_post(f"My take on {post.link}")
                    post.ref = RemoteRef("mastodon", str(status["id"]), str(status["url"]))
                else:  # never asked for by a measured sync: a ledger row is enough
                    post.ref = RemoteRef("mastodon", str(9 * 10**17 + number), post.link)
            db = tmp / f"mock-{size}-{mode}.sqlite3"
            targets = seed_store(db, posts, ("mastodon",), now)
            options = {"mastodon": {"base_url": server.base_url}}
            env = {"MASTODON_ACCESS_TOKEN": "alice_token"}
            adapters = new_adapters(options, env, tmp / "state", MemoryMeter(), mode)
            sync(db, adapters, targets)
            quiet = sync(db, adapters, targets)
            bob = server.client("bob")
            for number, post in enumerate(chosen):
                if number < busy:
                    bob.status_reply(bob.status(post.ref.id), "A reply")
                else:
                    server.client("carol").status_favourite(post.ref.id)
            report = sync(db, adapters, targets)
            result.posts = len(posts)
            result.quiet[mode] = quiet.networks["mastodon"].requests
            result.busy[mode] = report.networks["mastodon"].requests
            result.found[mode] = f"{report.networks['mastodon'].new}/{min(busy, len(posts))}"
            adapters["mastodon"].close()
        say(f"  mastodon-mock, {size} posts, {mode}: done")
    return result


# -- the report -------------------------------------------------------------------------------


def table(rows: list[tuple[int, Result]], busy: int) -> str:
    head = "| site | server | network | posts | quiet: before | quiet: after "
    lines = [
        head + f"| busy ({busy} replies): before | busy: after |",
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for size, r in rows:
        lines.append(
            f"| {size:,} | {r.server} | {r.network} | {r.posts:,} | {r.quiet['before']} "
            f"| **{r.quiet['after']}** | {r.busy['before']} (found {r.found['before']}) "
            f"| **{r.busy['after']}** (found {r.found['after']}) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1000, 10000])
    parser.add_argument("--mock-sizes", type=int, nargs="*", default=[10, 1000, 10000])
    parser.add_argument("--busy", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update benchmarks/SYNC.md")
    args = parser.parse_args()
    rows: list[tuple[int, Result]] = []
    with tempfile.TemporaryDirectory(prefix="engage-requests-") as tmp:
        for size in args.sizes:
            say(f"{size} articles on the stand-ins ...")
            rows += [(size, r) for r in measure_standins(size, args.busy, Path(tmp))]
        for size in args.mock_sizes:
            say(f"{size} Mastodon posts on mastodon-mock ...")
            rows.append((size, measure_mock(size, args.busy, Path(tmp))))
    publish(table(rows, args.busy), mark="sync_requests", write=args.write)


if __name__ == "__main__":
    main()
