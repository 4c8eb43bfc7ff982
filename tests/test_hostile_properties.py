"""Property-based tests over every stranger-controlled field (hypothesis).

hypothesis is pinned in requirements.lock (hypothesis==6.170.15); the module
is skipped where it is not installed. The deterministic tests of the same
properties are in test_hostile_findings.py and test_hostile_corpus.py.

Each example goes through the real pipeline in-process: merge into a state
database, load the conversation and render the thread, list the inbox and
print it the way the commands do.
"""

from __future__ import annotations

import io
import re
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from rich.console import Console

from pelican.plugins.engage.answering import answers, drafts
from pelican.plugins.engage.backfeed.conversation import MAX_DEPTH, load_conversations
from pelican.plugins.engage.backfeed.merge import ThreadKey, Threads, clamp_time
from pelican.plugins.engage.backfeed.sanitize import MAX_BODY_CHARS, MAX_NESTING, clean_comment
from pelican.plugins.engage.cli.common import say
from pelican.plugins.engage.model import (
    Author,
    Counts,
    RemoteComment,
    RemoteRef,
    ThreadSnapshot,
    web_url,
)
from pelican.plugins.engage.store import Store

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SITE = "https://blog.example.net"
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FRAGMENTS = [
    "<script>x()</script>", "<img src=x onerror=x()>", '<a href="javascript:x()">a</a>',
    "<blockquote>", "</blockquote>", "<a>", "<b><i>", "</b>", "<svg onload=x()>", "<p>",
    "\x1b]0;t\x07", "\x9b31m", "[/x]", "[link=https://e.example]", '"', "'", "<", "&",
    "<!--", "-->", "<style>", "<table>", "<li>", "\u202e", "\r\n",
]  # fmt: skip
URLS = [
    "javascript:x()", "data:text/html,x", 'https://e.example/"><script>x()</script>',
    f"{SITE}/", "https://blog.example.net.evil/", "https://blog.example.net@evil.example/",
    "//evil.example/", "https://[::1/", "https://e.example/ok", "", "http://127.0.0.1:1/",
]  # fmt: skip

hostile_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=20)), max_size=40
).map("".join)
hostile_url = st.one_of(st.sampled_from(URLS), st.text(max_size=40), hostile_text)
offsets = st.integers(min_value=-(14 * 60), max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
hostile_time = st.one_of(
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59), timezones=offsets
    ),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),  # naive
    st.sampled_from(
        [
            datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
            datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14))),
        ]
    ),
)
counts = st.integers(min_value=-(2**70), max_value=2**70)


@st.composite
def comments(draw: Any, network: str) -> list[RemoteComment]:
    """A thread of hostile comments, each answering the article or an earlier one."""
    found: list[RemoteComment] = []
    for n in range(draw(st.integers(min_value=1, max_value=8))):
        parent = draw(st.sampled_from(["root", *[c.ref.id for c in found]]))
        extra = {"source": draw(hostile_url)} if network == "webmention" else {}
        found.append(
            RemoteComment(
                ref=RemoteRef(network, draw(st.one_of(st.just(f"c{n}"), hostile_text)) or f"c{n}",
                              draw(hostile_url), extra),
                parent_id=parent,
                author=Author(draw(hostile_text), draw(hostile_text), draw(hostile_url),
                              draw(st.one_of(st.none(), hostile_url))),
                html=draw(hostile_text),
                created_at=draw(hostile_time),
                edited_at=draw(st.one_of(st.none(), hostile_time)),
                kind=draw(st.sampled_from(["reply", "mention", "<script>"])),
                likes=draw(counts),
                reposts=draw(counts),
            )
        )  # fmt: skip
    return found


def _is_inert_link(href: str) -> bool:
    return href.startswith(("https://", "http://", "mailto:", "#"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network=st.sampled_from(["mastodon", "webmention", "feed"]), data=st.data())
def test_any_thread_merges_renders_and_prints_safely(network: str, data: Any) -> None:
    thread = data.draw(comments(network))
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "e.db") as store:
        snapshot = ThreadSnapshot(RemoteRef(network, "root", ""), Counts(), thread)
        threads = Threads(store, site_url=SITE)
        threads.merge(ThreadKey("a.md", network, "root"), snapshot, full=True, now=NOW)
        rows = store.conn.execute("SELECT * FROM comment").fetchall()
        # Only a webmention whose source page is on the blog's host may be the author's.
        sources = [c.ref.extra.get("source", "") for c in thread]
        own_source = network == "webmention" and any(
            urlsplit(web_url(s)).hostname == "blog.example.net" for s in sources
        )
        for row in rows:
            assert row["is_own"] == 0 or own_source
            assert "1990-01-01" <= row["created_at"] <= NOW.isoformat()
            for key in ("url", "author_url", "avatar_url"):
                assert not row[key] or web_url(row[key]) == row[key]
        conversations = load_conversations(store)
        markup = str(conversations["a.md"].comments.render(f"{SITE}/a.html")) if rows else ""
        waiting = answers.inbox(store, NOW)
    page = BeautifulSoup(markup, "html.parser")
    assert page.select("script, style, svg, img, iframe") == []
    assert all(_is_inert_link(a["href"]) for a in page.select("a[href]"))
    assert all(not a.startswith("on") for t in page.find_all(True) for a in t.attrs)
    depth = max((len(c.find_parents(class_="h-cite")) for c in page.select(".h-cite")), default=0)
    assert depth <= MAX_DEPTH
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=True, color_system="truecolor")
    for w in waiting:
        say(console, f"{w.ref} {w.author} on {w.network}: ", w.text, w.url)
    printed = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())  # Rich's own colours
    assert not CONTROL_RE.search(printed), repr(printed)


@given(st.one_of(st.text(), hostile_url))
def test_the_url_policy_passes_only_inert_http_urls(url: str) -> None:
    kept = web_url(url)
    assert kept == "" or kept.lower().startswith(("http://", "https://"))
    assert not set("\"'<> `") & set(kept) and not CONTROL_RE.search(kept)


@settings(max_examples=60, deadline=None)
@given(hostile_text, st.integers(min_value=0, max_value=3))
def test_any_body_is_capped_and_flat(body: str, repeat: int) -> None:
    big = body * (10**repeat)
    cleaned = clean_comment(big, "https://e.example/1", "Mastodon")
    assert len(cleaned) < 4 * MAX_BODY_CHARS + 500
    soup = BeautifulSoup(cleaned, "html.parser")
    assert max((len(t.find_parents()) for t in soup.find_all(True)), default=0) <= MAX_NESTING + 1
    assert soup.select("script, style, svg, img") == []
    assert not CONTROL_RE.search(cleaned.replace("\t", "").replace("\n", "").replace("\r", ""))


@given(hostile_time)
def test_a_date_is_clamped_never_raised(moment: datetime) -> None:
    clamped = clamp_time(moment, NOW)
    assert clamped is None or (datetime(1990, 1, 1, tzinfo=UTC) <= clamped <= NOW)


@given(title=hostile_text, link=hostile_url, author=hostile_text, feed=hostile_text)
def test_every_draft_metadata_value_is_one_line(
    title: str, link: str, author: str, feed: str
) -> None:
    entry = drafts.Entry(1, link or "https://e.example/", title or None, None, author or None, "")
    post = drafts.compose(
        entry,
        drafts.Feed(feed or "file:f.xml", None, [entry]),
        now=NOW,
        headings=["My take"],
        min_words=40,
        slugify=lambda s: re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-"),
    )
    header = post.text.split("\n\n", 1)[0]
    keys = [line.split(":", 1)[0] for line in header.split("\n")]
    assert keys == ["Title", "Date", "Slug", "Status", "Source", "Source_Feed"], header
    assert not re.search(r"[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", header)
