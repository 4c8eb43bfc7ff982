"""Issue 11, finding by finding: what one stranger could do, each as a test.

Every test here failed before the fix. Servers are ours, on 127.0.0.1 only
(``hostile_server``); the private-address tests refuse before connecting.
No test measures wall-clock time: bounds are checked by what happened
(a fault's reason, what the server saw, tracemalloc's peak), never by how long it took.
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import jinja2
import pytest
import zstandard
from bs4 import BeautifulSoup
from click.testing import CliRunner
from hostile_server import HostileServer, hostile_server
from sitebuilder import TAKE, write_post, write_settings

from pelican.plugins.engage import plugin, site
from pelican.plugins.engage.answering import answers, drafts
from pelican.plugins.engage.backfeed import avatars, conversation
from pelican.plugins.engage.backfeed.merge import ThreadKey, Threads
from pelican.plugins.engage.cli import cli
from pelican.plugins.engage.errors import NetworkError, Transient, Unsupported
from pelican.plugins.engage.gate.sources import SourceFetcher, SourceRequest
from pelican.plugins.engage.http_client import Fault, HttpSession, Limits, is_private_host
from pelican.plugins.engage.model import Author, Counts, RemoteComment, RemoteRef, ThreadSnapshot
from pelican.plugins.engage.networks import build_adapter
from pelican.plugins.engage.networks.base import AdapterContext
from pelican.plugins.engage.settings import EngageSettings
from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication.ledger import Entry, Ledger

REPO = Path(__file__).resolve().parent.parent
SITEURL = "https://blog.example.net"
ARTICLE = "content/hello.md"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with hostile_server() as running:
        yield running


def remote(
    rid: str,
    text: str = "hello",
    *,
    parent: str = "root",
    name: str = "Eve Adler",
    url: str = "https://social.example/@eve",
    when: datetime = NOW - timedelta(hours=1),
    network: str = "mastodon",
    extra: dict[str, str] | None = None,
    **kw: Any,
) -> RemoteComment:
    return RemoteComment(
        ref=RemoteRef(network, rid, f"https://social.example/@eve/{rid}", extra or {}),
        parent_id=parent,
        author=Author(name, "@eve@social.example", url),
        html=text if text.startswith("<") else f"<p>{text}</p>",
        created_at=when,
        **kw,
    )


def merge(
    db: Path,
    network: str,
    comments: list[RemoteComment],
    *,
    article: str = ARTICLE,
    blocklist: tuple[str, ...] = (),
    now: datetime = NOW,
) -> None:
    with Store.open(db) as store:
        snapshot = ThreadSnapshot(RemoteRef(network, "root", ""), Counts(), comments)
        threads = Threads(store, blocklist=blocklist, site_url=SITEURL)
        threads.merge(ThreadKey(article, network, "root"), snapshot, full=True, now=now)


def stored(db: Path, cid: str) -> dict[str, Any]:
    with Store.open(db) as store:
        row = store.comments.get(cid)
    assert row is not None, cid
    return row


def blog(root: Path, **settings: Any) -> Path:
    """A one-post site whose conversation lives in ``root/engage.sqlite3``."""
    conf = write_settings(root, SITEURL=SITEURL, ENGAGE_SHOW_GATE=False, **settings)
    write_post(root / "content", "hello", f"## My take\n\n{TAKE}", Title="Hello", Slug="hello")
    return conf


def build(conf: Path) -> BeautifulSoup:
    site.build_site(site.load_settings(conf))
    page = conf.parent / "output" / "hello.html"
    return BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


# -- 1. script on the blog through the syndication link ------------------------------------------


def _endpoint_site(server: HostileServer, location: str) -> str:
    server.route(
        "/target",
        headers={"Content-Type": "text/html"},
        body=b'<html><head><link rel="webmention" href="/endpoint"></head></html>',
    )
    server.route("/endpoint", status=201, headers={"Location": location})
    return server.url("/target")


@pytest.mark.parametrize(
    "location",
    ["javascript:alert(document.domain)//", 'https://e.example/s"><script>alert(1)</script>'],
)
def test_1_a_webmention_status_location_is_never_a_script_link(
    server: HostileServer, location: str
) -> None:
    target = _endpoint_site(server, location)
    options = {"base_url": server.base, "timeout": 2, "allow_private_addresses": True}
    with build_adapter("webmention", options, AdapterContext(env={})) as adapter:
        ref = adapter.send(f"{SITEURL}/hello.html", target)  # type: ignore[attr-defined]
    assert ref.url.startswith(("https://", "http://"))
    assert not set('"<> ') & set(ref.url)


README_SNIPPET = re.compile(r"Ready to paste into an `article.html`.*?```jinja\n(.*?)```", re.S)


def readme_snippet() -> str:
    found = README_SNIPPET.search((REPO / "README.md").read_text(encoding="utf-8"))
    assert found, "the README's template snippet"
    return found.group(1)


def test_1_the_readme_snippet_is_safe_in_a_theme_without_autoescaping(tmp_path: Path) -> None:
    """Hostile syndication URLs, stored as an adapter returned them, rendered by the README's
    snippet in a Jinja environment that does not autoescape (Pelican's)."""
    conf = blog(tmp_path)
    hostile = [
        "javascript:alert(document.domain)//",
        'https://e.example/s"><script>alert(1)</script>',
        "https://e.example/ok",
    ]
    with Store.open(tmp_path / "engage.sqlite3") as store:
        ledger = Ledger(store)
        for n, url in enumerate(hostile):
            network = ("mastodon", "bluesky", "x")[n]
            entry = ledger.add(
                Entry(ARTICLE, network, 0, "t", f"{SITEURL}/hello.html", NOW, f"k{n}", NOW)
            )
            ledger.mark_posted(entry, RemoteRef(network, f"id{n}", url))
    settings = EngageSettings.from_pelican(site.load_settings(conf))
    state = plugin.read_state(settings)
    engage = SimpleNamespace(
        show_gate=True,
        eligible=False,
        reasons=[SimpleNamespace(message="<script>alert(2)</script>")],
        syndications=state.syndications.get(ARTICLE, []),
        comments=[],
        counts={},
    )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(plugin.TEMPLATES)), autoescape=False
    )
    html = env.from_string(readme_snippet()).render(
        article=SimpleNamespace(engage=engage, url="hello.html", slug="hello"), SITEURL=SITEURL
    )
    page = BeautifulSoup(html, "html.parser")
    assert page.select("script") == [], html
    hrefs = [a["href"] for a in page.select("a[href]")]
    assert hrefs and all(h.startswith(("https://", "http://")) for h in hrefs), hrefs
    assert "https://e.example/ok" in hrefs


# -- 2. stop every build --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "moment"),
    [
        ("Asia/Tokyo", "9999-12-31T23:59:59+00:00"),
        ("America/New_York", "0001-01-01T00:00:00+00:00"),
    ],
)
def test_2_dates_at_the_ends_of_time_never_stop_the_build(
    tmp_path: Path, zone: str, moment: str
) -> None:
    conf = blog(tmp_path, TIMEZONE=zone)
    db = tmp_path / "engage.sqlite3"
    merge(db, "mastodon", [remote("fine", "a fine comment")])
    row = {**stored(db, "mastodon:fine"), "id": "mastodon:odd", "remote_id": "odd"}
    with Store.open(db) as store:  # as an older version (or another tool) may have stored it
        row.update(created_at=moment, html="<p>dated at the end of time</p>")
        store.comments.save(row, seen=moment)
    page = build(conf)
    text = page.get_text(" ")
    assert "a fine comment" in text and "dated at the end of time" in text


def test_2_a_reply_chain_1000_deep_is_shown_flattened(tmp_path: Path) -> None:
    conf = blog(tmp_path)
    chain = [
        remote(f"c{i}", f"reply number {i}", parent="root" if i == 0 else f"c{i - 1}",
               when=NOW - timedelta(days=2) + timedelta(seconds=i))
        for i in range(1000)
    ]  # fmt: skip
    merge(tmp_path / "engage.sqlite3", "mastodon", chain)
    page = build(conf)
    bodies = page.select(".h-cite .e-content")
    assert len(bodies) == 1000
    depth = max(len(c.find_parents(class_="h-cite")) for c in page.select(".h-cite"))
    assert depth < conversation.MAX_DEPTH + 1
    assert "reply number 999" in page.get_text(" ")


# -- 3. stop every sync ---------------------------------------------------------------------------


def test_3_a_merge_survives_dates_no_calendar_can_hold(tmp_path: Path) -> None:
    db = tmp_path / "engage.sqlite3"
    plus14 = datetime.fromisoformat("0001-01-01T00:00:00+14:00")
    minus14 = datetime.fromisoformat("9999-12-31T23:59:59-14:00")
    merge(
        db,
        "mastodon",
        [
            remote("early", "before the calendar", when=plus14),
            remote("late", "after the calendar", when=minus14),
            remote("ahead", "from the future", when=NOW + timedelta(days=400)),
            remote("old", "from 1970", when=datetime(1970, 1, 1, tzinfo=UTC)),
            remote("fine", "an ordinary reply"),
        ],
    )
    received = NOW.isoformat(timespec="seconds")
    for rid in ("early", "late", "ahead", "old"):
        assert stored(db, f"mastodon:{rid}")["created_at"] == received, rid
    assert stored(db, "mastodon:fine")["created_at"] == (NOW - timedelta(hours=1)).isoformat()


ATOM_YEAR_ZERO = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>comments</title><id>tag:c</id>
<updated>2026-11-01T00:00:00Z</updated>
<entry><id>tag:c:1</id><title>zero</title><author><name>Zed</name></author>
<published>0000-01-01T00:00:00Z</published>
<content type="html">&lt;p&gt;year zero&lt;/p&gt;</content></entry>
<entry><id>tag:c:2</id><title>fine</title><author><name>Fay</name></author>
<published>2026-11-02T00:00:00Z</published>
<content type="html">&lt;p&gt;a normal comment&lt;/p&gt;</content></entry>
</feed>"""


def test_3_a_feed_dated_year_zero_does_not_stop_the_sync(
    tmp_path: Path, server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.route(
        "/comments.atom",
        headers={"Content-Type": "application/atom+xml"},
        body=ATOM_YEAR_ZERO.encode(),
    )
    conf = write_settings(
        tmp_path,
        SITEURL=SITEURL,
        ENGAGE_NETWORKS={"feed": {"timeout": 2}},
        ENGAGE_ALLOW_PRIVATE_ADDRESSES=True,
    )
    write_post(
        tmp_path / "content", "hello", f"## My take\n\n{TAKE}", Title="Hello",
        Comments_Feed=server.url("/comments.atom"),
    )  # fmt: skip
    monkeypatch.chdir(tmp_path)
    result = run("sync", "-s", str(conf), "--json")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    with Store.open(tmp_path / "engage.sqlite3") as store:
        rows = [store.comments.get(f"feed:tag:c:{n}") for n in (1, 2)]
    assert all(rows), rows
    assert "a normal comment" in str(rows[1]["html"])  # type: ignore[index]


# -- 4. pose as the author ------------------------------------------------------------------------


def test_4_an_author_page_on_the_blogs_host_is_a_claim_not_an_account(tmp_path: Path) -> None:
    db = tmp_path / "engage.sqlite3"
    merge(
        db,
        "webmention",
        [
            remote("1", "I am the author, trust me", url=f"{SITEURL}/about",
                   network="webmention", extra={"source": "https://evil.example/post"}),
            remote("2", "me too", url="https://blog.example.net.evil/",
                   network="webmention", extra={"source": "https://blog.example.net.evil/p"}),
            remote("3", "written on the blog itself", url="https://someone.example/",
                   network="webmention", extra={"source": f"{SITEURL}/replies/3.html"}),
        ],
    )  # fmt: skip
    assert stored(db, "webmention:1")["is_own"] == 0
    assert stored(db, "webmention:2")["is_own"] == 0
    assert stored(db, "webmention:3")["is_own"] == 1  # the source page is on the blog's host


def test_4_the_blocklist_applies_to_whoever_claims_the_blogs_host(tmp_path: Path) -> None:
    db = tmp_path / "engage.sqlite3"
    claim = remote("1", "spam", url=f"{SITEURL}/", network="webmention",
                   extra={"source": "https://spam.example/p"})  # fmt: skip
    claim.ref = RemoteRef("webmention", "1", "https://spam.example/p", claim.ref.extra)
    merge(db, "webmention", [claim], blocklist=("spam.example",))
    assert stored(db, "webmention:1")["moderated"] == 1


def test_4_a_stranger_cannot_answer_for_the_author(tmp_path: Path) -> None:
    db = tmp_path / "engage.sqlite3"
    asked = remote("q", "a real question", network="webmention",
                   extra={"source": "https://bob.example/q"})  # fmt: skip
    fake = remote("a", "answered!", parent="q", url=f"{SITEURL}/", network="webmention",
                  extra={"source": "https://mallory.example/a"})  # fmt: skip
    merge(db, "webmention", [asked, fake])
    with Store.open(db) as store:
        waiting = [w.id for w in answers.inbox(store, NOW)]
    assert "webmention:q" in waiting


def test_4_the_webmention_me_option_matches_the_source_host_exactly(
    server: HostileServer,
) -> None:
    entries = [
        {"type": "entry", "wm-id": 1, "wm-property": "in-reply-to",
         "wm-source": "https://blog.example.net.evil/p", "url": "https://blog.example.net.evil/p",
         "author": {"name": "Mallory", "url": "https://blog.example.net/"},
         "content": {"text": "hi"}, "published": "2026-11-01T00:00:00Z"},
        {"type": "entry", "wm-id": 2, "wm-property": "in-reply-to",
         "wm-source": "https://blog.example.net/notes/2", "url": "https://blog.example.net/notes/2",
         "author": {"name": "Ada"}, "content": {"text": "thanks"},
         "published": "2026-11-01T00:00:00Z"},
    ]  # fmt: skip
    server.route(
        "/api/mentions.jf2",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"type": "feed", "children": entries}).encode(),
    )
    options = {"base_url": server.base, "timeout": 2, "me": SITEURL}
    with build_adapter("webmention", options, AdapterContext(env={})) as adapter:
        snapshot = adapter.fetch_thread(RemoteRef("webmention", f"{SITEURL}/hello.html", ""))
    own = {c.ref.id: c.is_own for c in snapshot.comments}
    assert own == {"1": False, "2": True}


# -- 5. take over the terminal --------------------------------------------------------------------

HOSTILE_TEXT = "[/x] [link=https://evil.example]click me[/link] \x1b]0;pwned\x07\x1b[2J\x9b31m end"
HOSTILE_NAME = "Mallory [/x]\x1b[31m"


@pytest.fixture
def raw_blog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``blog`` (the cwd) with a comment stored raw, before names and bodies lost their
    control characters; returns its conf."""
    conf = blog(tmp_path)
    db = tmp_path / "engage.sqlite3"
    merge(db, "mastodon", [remote("t", "placeholder", name="Placeholder")])
    row = stored(db, "mastodon:t")
    with Store.open(db) as store:
        row.update(html=f"<p>{HOSTILE_TEXT}</p>", author_name=HOSTILE_NAME,
                   author_handle="@mallory[/x]@evil.example")  # fmt: skip
        store.comments.save(row, seen=row["last_seen"])
    monkeypatch.chdir(tmp_path)
    return conf


def test_5_inbox_prints_strangers_text_as_text(raw_blog: Path) -> None:
    result = run("inbox", "-s", str(raw_blog))
    assert result.exit_code == 0, result.output
    assert "[link=https://evil.example]click me[/link]" in result.output.replace("\n", "")
    assert "[/x]" in result.output
    assert not CONTROL_RE.search(result.output), repr(result.output)
    result = run("inbox", "-s", str(raw_blog), "--json")
    assert result.exit_code == 0 and not CONTROL_RE.search(result.stdout)
    assert json.loads(result.stdout)[0]["author"]  # still JSON, escapes and all


def test_5_hide_prints_the_hidden_name_as_text(raw_blog: Path) -> None:
    result = run("hide", "-s", str(raw_blog), "mastodon:t", "--author")
    assert result.exit_code == 0, result.output
    assert "Mallory [/x]" in result.output
    assert not CONTROL_RE.search(result.output), repr(result.output)


def test_5_draft_lists_a_hostile_feed_title_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = blog(tmp_path)
    (tmp_path / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        "<title>Feed [/x] &#x1b;]0;pwned&#x7;&#x1b;[2J</title>"
        "<item><title>Post [/b] &#x9b;31m</title><link>https://news.example/a</link>"
        "<description>Something happened today. It was news.</description></item>"
        "</channel></rss>",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    result = run("draft", "-s", str(conf), "--from-feed", "feed.xml", "--list")
    assert result.exit_code == 0, result.output
    assert "Feed [/x]" in result.output and "Post [/b]" in result.output
    assert not CONTROL_RE.search(result.output), repr(result.output)


def test_5_check_prints_a_feeds_declared_encoding_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = write_settings(tmp_path, SITEURL=SITEURL)
    write_post(
        tmp_path / "content", "hello", f"## My take\n\n{TAKE}", Title="Hello",
        Source="http://127.0.0.1:9/gone", Source_Feed="file:feed.xml",
    )  # fmt: skip
    (tmp_path / "feed.xml").write_bytes(
        b'<?xml version="1.0" encoding="x\x1b]0;pwned\x07[/x]"?>'
        b'<rss version="2.0"><channel><title>t</title></channel></rss>'
    )
    monkeypatch.chdir(tmp_path)
    result = run("check", "-s", str(conf))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "declared as x" in result.output and "[/x]" in result.output
    assert not CONTROL_RE.search(result.output), repr(result.output)


# -- 6. exhaust memory ----------------------------------------------------------------------------

BOMB_SIZE = 200 * 1024 * 1024  # decoded; a few hundred kilobytes (zstd: a few) on the wire


def bomb(encoding: str, size: int = BOMB_SIZE) -> bytes:
    """``size`` zero bytes, compressed as ``encoding``, built a megabyte at a time."""
    block = b"\0" * (1024 * 1024)
    if encoding == "zstd":
        compressor = zstandard.ZstdCompressor(level=19).compressobj()
        parts = [compressor.compress(block) for _ in range(size // len(block))]
        return b"".join(parts) + compressor.flush()
    wbits = 31 if encoding == "gzip" else 15
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + packer.flush()


def peak_of(call: Any) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def bomb_transport(encoding: str, content_type: str = "text/html") -> httpx.MockTransport:
    body = bomb(encoding)
    headers = {"Content-Encoding": encoding, "Content-Type": content_type}
    # A stream, as from the network: httpx would decode a `content=` body in the mock itself.
    return httpx.MockTransport(
        lambda request: httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))
    )


@pytest.mark.parametrize("encoding", ["zstd", "gzip", "deflate"])
def test_6_a_compressed_bomb_never_decodes_past_the_cap(encoding: str) -> None:
    transport = bomb_transport(encoding)
    limits = Limits(timeout=5, max_bytes=5_000_000)
    with HttpSession("test", limits=limits, transport=transport) as http:
        answer, peak = peak_of(lambda: http.fetch("GET", "https://bomb.example/"))
    assert isinstance(answer, Fault) and answer.kind is NetworkError, answer
    assert peak < 40 * 1024 * 1024, f"{peak:,} bytes at the peak"


def test_6_a_bomb_as_a_source_page_or_an_avatar_stays_small(tmp_path: Path) -> None:
    with SourceFetcher(tmp_path, transport=bomb_transport("zstd")) as fetcher:
        fetched, peak = peak_of(lambda: fetcher.fetch(SourceRequest("https://bomb.example/a")))
    assert not fetched.source.ok and peak < 40 * 1024 * 1024, f"{peak:,}"
    db = tmp_path / "engage.sqlite3"
    merge(db, "mastodon", [remote("a", "hi")])
    row = stored(db, "mastodon:a")
    with Store.open(db) as store:
        store.comments.save(
            {**row, "avatar_url": "https://bomb.example/a.png"}, seen=NOW.isoformat()
        )
        report, peak = peak_of(
            lambda: avatars.cache_avatars(
                store, tmp_path / "avatars", transport=bomb_transport("zstd", "image/png")
            )
        )
    assert report.failed == 1 and peak < 40 * 1024 * 1024, f"{peak:,}"


# -- 7. hold a command forever --------------------------------------------------------------------


def test_7_a_server_dripping_its_headers_meets_the_total_deadline(server: HostileServer) -> None:
    """Every byte arrives well within the read timeout; the whole answer may not take
    longer than the deadline, headers included."""
    padding = "x" * 120
    server.route("/slow", headers={"X-Padding": padding}, body=b"ok", drip=(4, 0.15),
                 drip_headers=True)  # fmt: skip
    limits = Limits(timeout=1.0, deadline=1.5)
    with HttpSession("test", limits=limits) as http:
        answer = http.fetch("GET", server.url("/slow"))
    assert isinstance(answer, Fault) and answer.kind is Transient, answer
    assert "took longer than 1.5 s" in answer.detail


def test_7_no_database_write_lock_is_held_while_a_stranger_answers(
    tmp_path: Path, server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`engage sync` waits for a stranger's server with no transaction open: another
    writer could commit meanwhile (the writers' file lock only keeps two engage commands
    apart, and every wait under it is bounded by the deadline)."""
    db = tmp_path / "engage.sqlite3"
    writable: list[bool] = []

    def try_to_write(_: object) -> None:
        conn = sqlite3.connect(db, timeout=0)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            writable.append(True)
        except sqlite3.OperationalError:
            writable.append(False)
        finally:
            conn.close()

    server.on_request = try_to_write
    server.route("/comments.atom", headers={"Content-Type": "application/atom+xml"},
                 body=ATOM_YEAR_ZERO.encode())  # fmt: skip
    conf = write_settings(
        tmp_path, SITEURL=SITEURL, ENGAGE_NETWORKS={"feed": {"timeout": 2}},
        ENGAGE_ALLOW_PRIVATE_ADDRESSES=True,
    )  # fmt: skip
    write_post(tmp_path / "content", "hello", f"## My take\n\n{TAKE}", Title="Hello",
               Comments_Feed=server.url("/comments.atom"))  # fmt: skip
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        run("sync", "-s", str(conf), "--all")
    assert writable == [True, True]


# -- 8. reach inside the network ------------------------------------------------------------------


def _page(server: HostileServer) -> str:
    server.route("/page", headers={"Content-Type": "text/html"}, body=b"<p>inside</p>")
    return server.url("/page")


def test_8_webmentions_are_not_sent_to_private_addresses_by_default(server: HostileServer) -> None:
    target = _endpoint_site(server, "https://status.example/1")
    with (
        build_adapter("webmention", {"timeout": 2}, AdapterContext(env={})) as adapter,
        pytest.raises(Unsupported, match="private address"),
    ):
        adapter.send(f"{SITEURL}/hello.html", target)  # type: ignore[attr-defined]
    assert server.seen == []


def test_8_sources_and_comment_feeds_are_refused_at_private_addresses(
    tmp_path: Path, server: HostileServer
) -> None:
    page = _page(server)
    with SourceFetcher(tmp_path) as fetcher:
        fetched = fetcher.fetch(SourceRequest(page, feed_url=page))
    assert not fetched.source.ok and "private address" in str(fetched.source.error)
    with (
        build_adapter("feed", {"timeout": 2}, AdapterContext(env={})) as adapter,
        pytest.raises(Unsupported, match="private address"),
    ):
        adapter.fetch_thread(RemoteRef("feed", page, page))
    assert server.seen == []


def test_8_webmention_discovery_follows_few_redirects(server: HostileServer) -> None:
    for n in range(6):
        server.route(f"/r{n}", status=302, headers={"Location": f"/r{n + 1}"})
    _endpoint_site(server, "https://status.example/1")
    server.route("/r6", status=302, headers={"Location": "/target"})
    options = {"timeout": 2, "allow_private_addresses": True}
    with (
        build_adapter("webmention", options, AdapterContext(env={})) as adapter,
        pytest.raises(NetworkError, match="redirected too many times"),
    ):
        adapter.send(f"{SITEURL}/hello.html", server.url("/r0"))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of the cloud metadata address
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
        "::ffff:127.0.0.1",
        "ff02::1",
        "224.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
    ],
)
def test_8_every_form_of_an_inside_address_is_private(address: str) -> None:
    assert is_private_host(address)


def test_8_a_public_address_and_its_6to4_form_are_not() -> None:
    assert not is_private_host("93.184.215.14") and not is_private_host("2002:5db8:d70e::1")


def test_8_the_address_checked_is_the_address_connected(
    server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the first answer is public, the next one loopback. The name is
    resolved once; the connection goes to the address that was checked."""
    port = int(server.base.rsplit(":", 1)[1])
    answers_given = iter(["93.184.215.14", "127.0.0.1", "127.0.0.1", "127.0.0.1"])
    resolved: list[str] = []
    connected: list[Any] = []

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example":
            address = next(answers_given)
            resolved.append(address)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, args[0] or port))]
        raise socket.gaierror(socket.EAI_NONAME, "tests resolve rebind.example only")

    def connect(address: Any, *args: Any, **kwargs: Any) -> Any:
        connected.append(address)
        raise OSError("unreachable in tests")

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr("pelican.plugins.engage.http_client.addresses._connect", connect)
    _page(server)
    with HttpSession("test", limits=Limits(timeout=1), refuse_private=True) as http:
        answer = http.fetch("GET", f"http://rebind.example:{port}/page")
    assert server.seen == [], "the rebound (loopback) address was reached"
    assert isinstance(answer, Fault)
    assert resolved == ["93.184.215.14"] and connected and connected[0][0] == "93.184.215.14"


# -- 9. burn CPU ----------------------------------------------------------------------------------


def test_9_a_huge_nested_comment_is_capped_before_it_is_sanitized(tmp_path: Path) -> None:
    db = tmp_path / "engage.sqlite3"
    nested = "<blockquote>" * 20_000 + "deep" + "</blockquote>" * 20_000
    merge(db, "mastodon", [remote("big", nested)])
    html = stored(db, "mastodon:big")["html"]
    assert len(html) < 70_000
    depth = max(len(t.find_parents()) for t in BeautifulSoup(html, "html.parser").find_all(True))
    assert depth <= 32
    assert "https://social.example/@eve/big" in html  # "read the rest on …"


def test_9_a_page_shows_a_bounded_number_of_comments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conversation, "MAX_SHOWN", 10, raising=False)
    conf = blog(tmp_path)
    many = [
        remote(f"m{i}", f"comment {i}", when=NOW - timedelta(minutes=60 - i)) for i in range(30)
    ]
    merge(tmp_path / "engage.sqlite3", "mastodon", many)
    page = build(conf)
    assert len(page.select(".h-cite")) == 10
    more = page.select_one(".engage-more")
    assert more is not None and "20 more" in more.get_text(" ")


# -- 10. inject metadata into a draft -------------------------------------------------------------


def test_10_every_draft_metadata_value_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = blog(tmp_path)
    injected = "Source_Feed: file:../../../../etc/passwd"
    (tmp_path / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>A&#10;Status: published</title><link>https://news.example/a</link>"
        "<description>Something happened today. It was news.</description></item>"
        f"<item><title>B</title><link>https://news.example/b&#10;{injected}</link>"
        "<description>Other news. It happened too.</description></item>"
        f"<item><title>C</title><link>https://news.example/c&#13;{injected}</link>"
        "<description>More news. It happened again.</description></item>"
        "</channel></rss>",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    for pick in ("1", "2", "3"):
        run("draft", "-s", str(conf), "--from-feed", "feed.xml", "--pick", pick)
    drafted = [p for p in (tmp_path / "content").glob("*.md") if p.name != "hello.md"]
    assert drafted
    for path in drafted:
        header = path.read_text(encoding="utf-8").split("\n\n", 1)[0]
        keys = [line.split(":", 1)[0] for line in header.splitlines()]
        assert keys.count("Source_Feed") == 1 and keys.count("Status") == 1, header
        assert "etc/passwd" not in header and "\r" not in header, header
    feed = drafts.parse_feed((tmp_path / "feed.xml").read_bytes(), "file:feed.xml")
    assert [e.title for e in feed.entries] == ["A Status: published"]
