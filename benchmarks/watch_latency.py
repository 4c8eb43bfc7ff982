"""How long until a reply written on a network is on the rebuilt page, under `engage watch`?

Usage::

    .venv/bin/python benchmarks/watch_latency.py [--replies 100] [--interval 1.0] [--write]

A measurement, not a test: it always exits 0. Everything runs on 127.0.0.1.

Method: a real Pelican site of ten posts, each syndicated to the Mastodon and
Bluesky stand-ins (the ledger written as syndication would), is watched by the
real loop (``backfeed.watch.Watcher`` with the steps `engage watch` uses:
``cli.watch.make_steps``), with short cycles: ``--interval`` seconds, the
debounce a quarter of it (as 30 s is of the default 2 minutes), the longest
delay one interval (the default). A second thread writes ``--replies`` replies
from other accounts in bursts of one to six, on random posts of both networks,
at random moments (inside cycles and between them), with quiet spells of two
to four intervals between bursts. After every rebuild the built pages are
searched for the replies' texts.

A reply's latency is from writing to the end of the rebuild that put it on
the page, in seconds and in intervals (cycles): the target is at most 2 (the
next cycle sees it through notifications, the debounced check after it finds
the burst over and rebuilds). The loop iterations between writing and the
rebuild are counted too: the debounced checks are iterations of their own.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reporting import run_section

REPO = Path(__file__).resolve().parent.parent
SITEURL = "https://blog.example.net"
NETWORKS = ("mastodon", "bluesky")
SEED = 1313
MARK = "watch_latency"


@dataclass
class Reply:
    text: str
    written: float
    started: int  # cycles started when it was written
    seen_cycle: int | None = None
    seen: float | None = None


def make_site(root: Path, running: dict[str, Any], interval: float) -> Path:
    from pelican.plugins.engage.networks import build_adapter
    from pelican.plugins.engage.networks.base import AdapterContext, OutgoingPost
    from pelican.plugins.engage.store import Store
    from pelican.plugins.engage.syndication.ledger import Entry, Ledger

    networks = {n: {**s.network_options(), "timeout": 5} for n, s in running.items()}
    settings = {
        "AUTHOR": "Ada Quill", "SITENAME": "Latency", "SITEURL": SITEURL, "PATH": "content",
        "OUTPUT_PATH": "output", "TIMEZONE": "UTC", "THEME": str(REPO / "theme"),
        "PLUGINS": ["engage"], "FEED_ALL_ATOM": None, "CATEGORY_FEED_ATOM": None,
        "AUTHOR_FEED_ATOM": None, "AUTHOR_FEED_RSS": None, "TRANSLATION_FEED_ATOM": None,
        "ENGAGE_NETWORKS": networks, "ENGAGE_STATE_DIR": str(root / "state"),
        "ENGAGE_WATCH_INTERVAL": interval, "ENGAGE_WATCH_DEBOUNCE": interval / 4,
    }  # fmt: skip
    (root / "content").mkdir(parents=True)
    (root / "pelicanconf.py").write_text(
        "".join(f"{k} = {v!r}\n" for k, v in settings.items()), encoding="utf-8"
    )
    rng = random.Random(SEED)
    words = ["server", "people", "feed", "small", "web", "blog", "reader", "note", "thread"]
    env = {k: v for s in running.values() for k, v in s.environment().items()}
    ctx = AdapterContext(env=env, state_dir=root / "state")
    when = datetime.now(UTC) - timedelta(hours=3)
    with Store.open(root / "engage.sqlite3") as store:
        ledger = Ledger(store)
        for i in range(10):
            take = " ".join(rng.choice(words) for _ in range(60)).capitalize() + "."
            (root / "content" / f"post-{i}.md").write_text(
                f"Title: Post {i}\nDate: {when:%Y-%m-%d %H:%M}\nSlug: post-{i}\n\n"
                f"Some words.\n\n## My take\n\n{take}\n",
                encoding="utf-8",
            )
            for network in NETWORKS:
                created = when - timedelta(seconds=i)
                with build_adapter(network, networks[network], ctx) as adapter:
                    ref = adapter.publish(
                        OutgoingPost(f"Post {i}", f"lat-{network}-{i}", created_at=created)
                    )
                entry = Entry(f"content/post-{i}.md", network, 0, "t", f"{SITEURL}/post-{i}.html",
                              created, f"lat-{network}-{i}", created)  # fmt: skip
                ledger.mark_posted(ledger.add(entry), ref)
    return root / "pelicanconf.py"


def measure(replies: int, interval: float, root: Path) -> dict[str, Any]:
    import os

    from pelican.plugins.engage import site
    from pelican.plugins.engage.backfeed.notify import MemoryNotifier
    from pelican.plugins.engage.backfeed.watch import Watcher
    from pelican.plugins.engage.cli.watch import SitePosts, make_steps
    from pelican.plugins.engage.sandbox import start_all

    running = start_all(names=NETWORKS)
    try:
        conf = make_site(root, running, interval)
        for server in running.values():
            os.environ.update(server.environment())
        site.build_site(site.load_settings(conf))
        posts = SitePosts(conf)
        notifier = MemoryNotifier()
        lines: list[str] = []
        steps = make_steps(posts, notifier, lines.append)
        watcher = Watcher(steps, posts.engage.watch, log=lines.append)
        written: list[Reply] = []
        state = {"started": 0, "builds": 0, "build_s": 0.0}
        lock = threading.Lock()
        first_sync, first_rebuild = steps.syndicate, steps.rebuild

        def syndicate() -> int:  # the first step of every cycle
            with lock:
                state["started"] += 1
            return first_sync()

        def rebuild() -> None:
            t0 = time.monotonic()
            first_rebuild()
            done = time.monotonic()
            state["builds"] += 1
            state["build_s"] += done - t0
            text = " ".join(
                p.read_text(encoding="utf-8") for p in (root / "output").glob("post-*.html")
            )
            with lock:
                for reply in written:
                    if reply.seen is None and reply.text in text:
                        reply.seen, reply.seen_cycle = done, state["started"]

        steps.syndicate, steps.rebuild = syndicate, rebuild
        roots = {n: [i.id for i in running[n].posts_by("author")] for n in NETWORKS}

        def write() -> None:
            rng = random.Random(SEED + 1)
            number = 0
            time.sleep(interval * 2)
            while number < replies and not watcher.stop.is_set():
                for _ in range(min(rng.randint(1, 6), replies - number)):
                    network = rng.choice(NETWORKS)
                    text = f"Benchmark reply number {number:03d} says hello"
                    with lock:
                        running[network].add_reply(rng.choice(roots[network]), "bob", text)
                        written.append(Reply(text, time.monotonic(), state["started"]))
                    number += 1
                    time.sleep(rng.uniform(0, interval / 2))
                time.sleep(interval * rng.uniform(2, 4))
            deadline = time.monotonic() + 60
            while any(r.seen is None for r in written) and time.monotonic() < deadline:
                time.sleep(interval)
            watcher.stop.set()

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        watcher.run()
        writer.join()
    finally:
        for server in running.values():
            server.stop()
    cycles = Counter(r.seen_cycle - r.started for r in written if r.seen_cycle is not None)
    seconds = sorted(r.seen - r.written for r in written if r.seen is not None)
    quiet = [c for c in watcher.cycles[1:] if not c.changed and not c.rebuilt]
    return {
        "within_2_intervals": sum(1 for t in seconds if t <= 2 * interval),
        "replies": len(written),
        "on_page": len(seconds),
        "cycles": dict(sorted(cycles.items())),
        "seconds": {
            "min": round(seconds[0], 2),
            "median": round(statistics.median(seconds), 2),
            "p90": round(seconds[int(len(seconds) * 0.9) - 1], 2),
            "max": round(seconds[-1], 2),
        }
        if seconds
        else {},
        "watch_cycles": len(watcher.cycles),
        "rebuilds": state["builds"],
        "build_s": round(state["build_s"] / max(state["builds"], 1), 2),
        "quiet_cycle_requests": sorted({sum(c.requests.values()) for c in quiet}),
        "messages": len(notifier.messages),
        "interval": interval,
    }


def report(result: dict[str, Any]) -> str:
    within, two = result["within_2_intervals"], 2 * result["interval"]
    spread = ", ".join(f"{k}: {n}" for k, n in result["cycles"].items())
    s = result["seconds"]
    seconds = f"min {s['min']}, median {s['median']}, p90 {s['p90']}, max {s['max']}"
    builds = f"{result['watch_cycles']}, {result['rebuilds']} ({result['build_s']} s)"
    rows = [
        "| | |\n|---|---|",
        f"| replies written | {result['replies']} |",
        f"| on the rebuilt page | {result['on_page']} |",
        f"| on the page within 2 cycles ({two:g} s) | **{within} of {result['replies']}** |",
        f"| loop iterations to the rebuild (debounced checks included) | {spread} |",
        f"| seconds, written to rebuilt (interval {result['interval']:g} s) | {seconds} |",
        f"| cycles, rebuilds (mean build) | {builds} |",
        f"| requests in a quiet cycle (2 networks) | {result['quiet_cycle_requests']} |",
        f"| messages to the author | {result['messages']} (one per cycle with comments) |",
    ]
    return "\n".join(rows)


def main() -> None:
    options = {"replies": (int, 100), "interval": (float, 1.0)}
    run_section(__doc__ or "", options, measure, report, mark=MARK)


if __name__ == "__main__":
    main()
