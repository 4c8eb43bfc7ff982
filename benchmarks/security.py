"""What can a stranger cost us? Peak memory against compressed bombs, time against nesting.

Usage::

    .venv/bin/python benchmarks/security.py [--bomb-mb 1024] [--json] [--before]

A measurement, not a test: it always exits 0 and prints whether each target
was met. Everything runs on 127.0.0.1: a stranger's server (tests/hostile_server.py)
in a process of its own, so its memory is not counted.

Method
------
1. **Memory.** Each fetch path runs in a fresh interpreter (a "victim"),
   which reports its peak resident set size (``ru_maxrss``) at the end. The
   server answers every fetch with a compressed bomb (``--bomb-mb`` of zeros,
   1 GB by default, as zstd, gzip or deflate: a few kilobytes to about a
   megabyte on the wire):

   * ``sync``: `engage sync` (the command, through click) on a blog whose
     webmention JF2 endpoint answers a zstd bomb and whose Comments_Feed
     answers a gzip bomb;
   * ``avatars``: `engage sync` with ENGAGE_AVATARS = "cache" and 60
     mentions whose avatars are bombs (zstd, gzip and deflate in turn);
   * ``sources``: `engage check` on a post whose Source page and Source_Feed
     are bombs;
   * ``draft``: `engage draft --from-feed` on a bomb;
   * ``webmention``: sending a webmention to a target page that is a bomb,
     and to an endpoint whose answer is one.

   A ``baseline`` victim does the same imports and an ordinary sync. Target:
   every peak under 300 MB.
2. **Time.** A victim syncs one webmention whose body is 1 MB of hostile
   nesting (100,000 ``<blockquote>``, and other shapes: ``<div>``,
   ``<ul><li>``, ``<p><b>``, ``<a>``), then loads and renders the article's
   conversation and lists the inbox, each step timed (the site is read
   first, untimed, as `engage sync` does). The same with a one-line comment
   gives the baseline. Target: sync + render of the 1 MB comment under 1 s.
   ``--before`` also times what the sanitizer cost before bodies were capped
   (nh3 over the whole 1.2 MB nesting), for comparison.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

BLOG = "https://blog.example.net"
ARTICLE_URL = f"{BLOG}/hello.html"
RSS_TARGET_MB = 300
TIME_TARGET_S = 1.0
PHASES = ("baseline", "sync", "avatars", "sources", "draft", "webmention")
SHAPES = {
    "blockquote": "<blockquote>",
    "div": "<div>",
    "ul-li": "<ul><li>",
    "p-b": "<p><b>",
    "a": "<a>",
}
TAKE = (
    "I have been running my own little server for three years now, and the thing that "
    "surprised me most is how little of the work is technical. Most of it is deciding "
    "what kind of place I want it to be, writing that down, and then actually answering "
    "the people who show up. That part never gets automated away, and I am glad."
)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the stranger's server (its own process) -------------------------------------------------


def _mention(n: int, avatar: str, html: str) -> dict[str, Any]:
    return {
        "type": "entry",
        "wm-id": 1000 + n,
        "wm-property": "in-reply-to",
        "wm-source": f"https://stranger{n}.example/post",
        "url": f"https://stranger{n}.example/post",
        "in-reply-to": ARTICLE_URL,
        "published": "2026-11-01T10:00:00Z",
        "author": {
            "name": f"Stranger {n}",
            "url": f"https://stranger{n}.example/",
            "photo": avatar,
        },
        "content": {"html": html},
    }


def serve(bomb_mb: int, pipe: Connection) -> None:
    """Run the stranger's server until the parent closes the pipe."""
    from hostile_corpus import bomb
    from hostile_server import HostileServer, Route, Seen

    size = bomb_mb * 1024 * 1024
    bombs = {encoding: bomb(encoding, size) for encoding in ("zstd", "gzip", "deflate")}
    server = HostileServer().start()

    def bomb_route(encoding: str, content_type: str, status: int = 200, **headers: str) -> Route:
        headers = {"Content-Type": content_type, "Content-Encoding": encoding, **headers}
        return Route(status=status, headers=headers, body=bombs[encoding])

    server.routes["/bomb/api/mentions.jf2"] = bomb_route("zstd", "application/json")
    server.routes["/bomb.atom"] = bomb_route("gzip", "application/atom+xml")
    server.routes["/bomb.html"] = bomb_route("zstd", "text/html")
    server.routes["/bomb.xml"] = bomb_route("deflate", "application/rss+xml")
    server.routes["/target"] = Route(
        headers={"Content-Type": "text/html", "Link": '</endpoint>; rel="webmention"'}, body=b""
    )
    server.routes["/endpoint"] = bomb_route("zstd", "text/plain", status=201, Location="/s/1")
    encodings = ("zstd", "gzip", "deflate")

    def avatar(seen: Seen) -> Route:
        n = int(seen.path.rsplit("/", 1)[1].split(".")[0])
        return bomb_route(encodings[n % 3], "image/png")

    for n in range(60):
        server.answer(f"/avatar/{n}.png", avatar)
    nested = "<blockquote>" * 100_000

    def jf2(children: list[dict[str, Any]]) -> Callable[[Seen], Route]:
        def respond(seen: Seen) -> Route:
            query = parse_qs(urlsplit(seen.path).query)
            page = int(query.get("page", ["0"])[0])
            body = {"type": "feed", "children": children[page * 100 : (page + 1) * 100]}
            return Route(
                headers={"Content-Type": "application/json"}, body=json.dumps(body).encode()
            )

        return respond

    server.answer(
        "/avatars/api/mentions.jf2",
        jf2([_mention(n, server.url(f"/avatar/{n}.png"), "<p>hi</p>") for n in range(60)]),
    )
    server.answer("/plain/api/mentions.jf2", jf2([_mention(0, "", "<p>a kind word</p>")]))
    for shape, unit in SHAPES.items():
        body = unit * (1_000_000 // len(unit))
        server.answer(f"/{shape}/api/mentions.jf2", jf2([_mention(0, "", body)]))
    server.answer("/nested/api/mentions.jf2", jf2([_mention(0, "", nested)]))
    feed = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>c</title>'
        "<id>tag:c</id><updated>2026-11-01T00:00:00Z</updated></feed>"
    )
    server.routes["/plain.atom"] = Route(
        headers={"Content-Type": "application/atom+xml"}, body=feed.encode()
    )
    wire = {encoding: len(data) for encoding, data in bombs.items()}
    pipe.send({"base": server.base, "wire": wire, "decoded": size})
    with contextlib.suppress(EOFError):
        pipe.recv()  # until the parent is done
    server.stop()


# -- the victims (fresh interpreters) ------------------------------------------------------------


def _blog(root: Path, **settings: Any) -> Path:
    from sitebuilder import write_post, write_settings

    meta = settings.pop("meta", {})
    conf = write_settings(root, SITEURL=BLOG, ENGAGE_SHOW_GATE=False, **settings)
    write_post(root / "content", "hello", f"## My take\n\n{TAKE}", Title="Hello", Slug="hello",
               **meta)  # fmt: skip
    return conf


def _cli(*args: str) -> Any:
    from click.testing import CliRunner

    from pelican.plugins.engage.cli import cli

    return CliRunner().invoke(cli, list(args))


def victim(phase: str, base: str) -> dict[str, Any]:
    """One fetch path against the bombs; returns the outcome and this process's peak RSS."""
    from pelican.plugins.engage.networks import build_adapter
    from pelican.plugins.engage.networks.base import AdapterContext

    root = Path(tempfile.mkdtemp(prefix=f"engage-security-{phase}-"))
    os.chdir(root)
    started = time.perf_counter()
    webmention = {"timeout": 10, "me": BLOG}
    outcome: Any
    if phase in ("baseline", "sync", "avatars"):
        where = {"baseline": "plain", "sync": "bomb", "avatars": "avatars"}[phase]
        feed = "/plain.atom" if phase != "sync" else "/bomb.atom"
        conf = _blog(
            root,
            ENGAGE_NETWORKS={
                "webmention": {**webmention, "base_url": f"{base}/{where}"},
                "feed": {"timeout": 10},
            },
            ENGAGE_AVATARS="cache" if phase == "avatars" else "initials",
            meta={"Comments_Feed": base + feed},
        )
        result = _cli("sync", "-s", str(conf), "--json")
        outcome = {"exit": result.exit_code, "report": _short(result.stdout)}
    elif phase == "sources":
        conf = _blog(
            root,
            ENGAGE_ALLOW_PRIVATE_ADDRESSES=True,
            meta={"Source": f"{base}/bomb.html", "Source_Feed": f"{base}/bomb.xml"},
        )
        result = _cli("check", "-s", str(conf), "--json")
        outcome = {"exit": result.exit_code, "report": _short(result.stdout)}
    elif phase == "draft":
        conf = _blog(root)
        result = _cli("draft", "-s", str(conf), "--from-feed", f"{base}/bomb.xml", "--list")
        outcome = {"exit": result.exit_code, "said": result.output.strip()[-160:]}
    else:  # webmention
        options = {**webmention, "allow_private_addresses": True, "base_url": base}
        said = []
        with build_adapter("webmention", options, AdapterContext(env={})) as adapter:
            for target in (f"{base}/bomb.html", f"{base}/target"):
                try:
                    adapter.send(ARTICLE_URL, target)  # type: ignore[attr-defined]
                    said.append("sent")
                except Exception as exc:  # noqa: BLE001 - the outcome is what we report
                    said.append(f"{type(exc).__name__}: {exc}"[:160])
        outcome = said
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    return {
        "phase": phase,
        "peak_rss_mb": round(peak, 1),
        "seconds": round(time.perf_counter() - started, 2),
        "outcome": outcome,
    }


def _short(stdout: str) -> Any:
    try:
        data = json.loads(stdout)
    except ValueError:
        return stdout[-200:]
    if "networks" in data:
        return {n: {k: v.get(k) for k in ("fetched", "errors", "new")}
                | {"messages": [m[:120] for m in v.get("messages", [])]}
                for n, v in data["networks"].items()}  # fmt: skip
    if "articles" in data:
        return [[r["code"], r["message"][:120]] for a in data["articles"] for r in a["reasons"]]
    return str(data)[:200]


def timing(base: str, shape: str) -> dict[str, Any]:
    """Sync, render and inbox of one webmention whose body is ``shape`` (or ``plain``)."""
    from pelican.plugins.engage import site
    from pelican.plugins.engage.answering import answers
    from pelican.plugins.engage.backfeed import engine
    from pelican.plugins.engage.backfeed.conversation import load_conversations
    from pelican.plugins.engage.store import Store

    root = Path(tempfile.mkdtemp(prefix=f"engage-security-time-{shape}-"))
    os.chdir(root)
    conf = _blog(
        root, ENGAGE_NETWORKS={"webmention": {"timeout": 10, "base_url": f"{base}/{shape}"}}
    )
    record = site.read_site(site.load_settings(conf))  # what `engage sync` does first: untimed
    started = time.perf_counter()
    report = engine.sync_posts(record.settings, record.posts, force=True)
    synced = time.perf_counter()
    with Store.open(record.settings.db_path) as store:
        conversations = load_conversations(store, record.settings)
        markup = conversations["content/hello.md"].comments.render(ARTICLE_URL, BLOG)
        rendered = time.perf_counter()
        waiting = answers.inbox(store)
        listed = time.perf_counter()
        stored = store.conn.execute("SELECT length(html) FROM comment").fetchone()[0]
    return {
        "shape": shape,
        "new": report.networks["webmention"].new,
        "sync_s": round(synced - started, 3),
        "render_s": round(rendered - synced, 3),
        "inbox_s": round(listed - rendered, 3),
        "stored_chars": stored,
        "page_chars": len(markup),
        "waiting": len(waiting),
    }


def before() -> float:
    """nh3 over the whole 1.2 MB of nesting: what a sync paid before bodies were capped."""
    from pelican.plugins.engage.backfeed.sanitize import clean_html

    body = "<blockquote>" * 100_000
    started = time.perf_counter()
    clean_html(body)
    return round(time.perf_counter() - started, 2)


def run_child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return {"error": done.stderr[-800:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the report ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bomb-mb", type=int, default=1024, help="decoded size of each bomb")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--before", action="store_true", help="time the uncapped sanitizer too")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--before-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.before_only:
        print(json.dumps({"before_s": before()}))
        return
    if args.phase:
        print(json.dumps(victim(args.phase, args.base)))
        return
    if args.shape:
        print(json.dumps(timing(args.base, args.shape)))
        return

    say(f"Building the bombs ({args.bomb_mb} MB each, decoded) and starting the server …")
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(args.bomb_mb, theirs), daemon=True)
    server.start()
    info = ours.recv()
    base = info["base"]
    try:
        memory = []
        for phase in PHASES:
            say(f"memory: {phase} …")
            memory.append(run_child("--phase", phase, "--base", base))
        times = []
        for shape in ("plain", "nested", *SHAPES):
            say(f"time: {shape} …")
            times.append(run_child("--shape", shape, "--base", base))
        before_s = run_child("--before-only")["before_s"] if args.before else None
    finally:
        ours.send("done")
        server.join(timeout=10)
    peaks = [m.get("peak_rss_mb", 0.0) for m in memory]
    hostile = [t for t in times if t.get("shape") != "plain" and "sync_s" in t]
    worst = max((t["sync_s"] + t["render_s"] for t in hostile), default=0.0)
    nested = next((t for t in times if t.get("shape") == "nested"), {})
    result = {
        "bomb_decoded_mb": args.bomb_mb,
        "bomb_wire_bytes": info["wire"],
        "bomb_ratio": {e: round(info["decoded"] / n) for e, n in info["wire"].items()},
        "memory": memory,
        "peak_rss_mb": max(peaks),
        "rss_target_mb": RSS_TARGET_MB,
        "meets_rss_target": max(peaks) < RSS_TARGET_MB,
        "times": times,
        "nested_sync_render_s": round(nested.get("sync_s", 0) + nested.get("render_s", 0), 3),
        "worst_sync_render_s": round(worst, 3),
        "time_target_s": TIME_TARGET_S,
        "meets_time_target": worst < TIME_TARGET_S,
        "uncapped_sanitize_s": before_s,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"Bombs: {args.bomb_mb} MB decoded; on the wire "
          + ", ".join(f"{e} {n:,} bytes (1:{result['bomb_ratio'][e]:,})"
                      for e, n in info["wire"].items()))  # fmt: skip
    print(f"{'path':<12}{'peak RSS':>10}{'seconds':>9}  outcome")
    for m in memory:
        print(f"{m.get('phase', '?'):<12}{m.get('peak_rss_mb', 0):>8.1f}MB{m.get('seconds', 0):>9}"
              f"  {json.dumps(m.get('outcome', m.get('error')))[:150]}")  # fmt: skip
    print(f"Peak RSS {max(peaks):.1f} MB (target < {RSS_TARGET_MB} MB): "
          + ("met" if result["meets_rss_target"] else "MISSED"))  # fmt: skip
    print(f"{'body':<12}{'sync':>8}{'render':>8}{'inbox':>8}{'stored':>9}{'page':>9}")
    for t in times:
        if "sync_s" not in t:
            print(f"{t}")
            continue
        print(f"{t['shape']:<12}{t['sync_s']:>8}{t['render_s']:>8}{t['inbox_s']:>8}"
              f"{t['stored_chars']:>9,}{t['page_chars']:>9,}")  # fmt: skip
    print(f"1 MB hostile comment, sync + render: nested {result['nested_sync_render_s']} s, "
          f"worst shape {result['worst_sync_render_s']} s (target < {TIME_TARGET_S} s): "
          + ("met" if result["meets_time_target"] else "MISSED"))  # fmt: skip
    if before_s is not None:
        print(f"Before bodies were capped, sanitizing the 1.2 MB nesting alone took {before_s} s.")


if __name__ == "__main__":
    main()
