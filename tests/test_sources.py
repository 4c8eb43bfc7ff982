"""Fetching the text of a post's Source: feeds, pages, summaries, failures."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pelican.plugins.engage.gate.sources import (
    MAX_BYTES,
    SourceFetcher,
    SourceRequest,
    html_to_text,
    same_article,
)
from pelican.plugins.engage.sandbox.base import Request, Response, StandIn, route

ARTICLE_TEXT = (
    "The whole article text, long and complete, about public libraries opening on Sundays."
)


def rss(items: str) -> str:
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>News</title><link>http://x/</link><description>d</description>{items}</channel></rss>"
    )


class SourceSite(StandIn):
    """A news site with an article page and feeds (full text, summary only, broken)."""

    network = "source-site"
    timeout_seconds = 1.0

    def article_url(self) -> str:
        return f"{self.base_url}/2026/story"

    @route("GET", r"/2026/story/?")
    def article(self, request: Request) -> Response:
        page = (
            "<html><head><title>Story</title><script>var tracking = 1;</script></head><body>"
            "<nav>Home | About | Subscribe</nav><article><h1>Story</h1>"
            f"<p>{ARTICLE_TEXT}</p></article><footer>Copyright</footer></body></html>"
        )
        return Response(200, page, content_type="text/html; charset=utf-8")

    @route("GET", r"/moved")
    def moved(self, request: Request) -> Response:
        return Response(301, b"", {"Location": "/2026/story"})

    @route("GET", r"/feed/full.xml")
    def full_feed(self, request: Request) -> Response:
        item = (
            f"<item><title>Story</title><link>{self.article_url()}/</link>"
            "<description>Short summary.</description>"
            "<content:encoded><![CDATA[<p>Feed full text: "
            f"{ARTICLE_TEXT}</p>]]></content:encoded></item>"
        )
        return Response(200, rss(item), content_type="application/rss+xml")

    @route("GET", r"/feed/summary.xml")
    def summary_feed(self, request: Request) -> Response:
        item = (
            f"<item><title>Story</title><link>{self.article_url()}</link>"
            "<description>Only a teaser.</description></item>"
        )
        return Response(200, rss(item), content_type="application/rss+xml")

    @route("GET", r"/feed/broken.xml")
    def broken_feed(self, request: Request) -> Response:
        return Response(200, "<rss><channel><item><title>oops", content_type="application/rss+xml")


@pytest.fixture
def news() -> Iterator[SourceSite]:
    with SourceSite() as site:
        yield site  # type: ignore[misc]


@pytest.fixture
def fetcher(tmp_path: Path) -> Iterator[SourceFetcher]:
    f = SourceFetcher(tmp_path, timeout=0.5, allow_private=True)  # the stand-in is on 127.0.0.1
    yield f
    f.close()


def test_full_feed_entry_is_preferred(news: SourceSite, fetcher: SourceFetcher) -> None:
    got = fetcher.fetch(SourceRequest(news.article_url(), f"{news.base_url}/feed/full.xml"))
    assert got.source.ok and got.via == "feed"
    assert got.source.text.startswith("Feed full text:")
    assert not news.calls("GET", "/2026/story")  # the page was not needed


def test_summary_only_feed_falls_back_to_the_page(news: SourceSite, fetcher: SourceFetcher) -> None:
    got = fetcher.fetch(SourceRequest(news.article_url(), f"{news.base_url}/feed/summary.xml"))
    assert got.source.ok and got.via == "feed+page"
    assert got.source.text == f"Story {ARTICLE_TEXT}"  # main text only: no nav, script, footer


def test_summary_only_feed_and_unreachable_page(
    tmp_path: Path, news: SourceSite, fetcher: SourceFetcher
) -> None:
    gone = "http://127.0.0.1:9/2026/story"
    feed = tmp_path / "feed.xml"
    feed.write_text(
        rss(f"<item><title>S</title><link>{gone}</link><description>Teaser.</description></item>")
    )
    got = fetcher.fetch(SourceRequest(gone, f"file:{feed.name}"))
    assert not got.source.ok
    assert got.source.error == "the feed entry carries only a summary; connection failed"


def test_page_without_feed_and_redirects(news: SourceSite, fetcher: SourceFetcher) -> None:
    got = fetcher.fetch(SourceRequest(f"{news.base_url}/moved"))
    assert got.source.ok and got.via == "page" and ARTICLE_TEXT in got.source.text


def test_broken_feed_falls_back_to_the_page(news: SourceSite, fetcher: SourceFetcher) -> None:
    got = fetcher.fetch(SourceRequest(news.article_url(), f"{news.base_url}/feed/broken.xml"))
    assert got.source.ok and got.via == "feed+page"


@pytest.mark.parametrize(
    ("path", "fault", "error"),
    [
        ("/nothing-here", None, "HTTP 404"),
        ("/2026/story", "500", "HTTP 500"),
        ("/2026/story", "timeout", "timed out"),
    ],
)
def test_failures_are_recorded_not_raised(
    news: SourceSite, fetcher: SourceFetcher, path: str, fault: str | None, error: str
) -> None:
    if fault:
        news.fail_next(1, fault)
    got = fetcher.fetch(SourceRequest(news.base_url + path))
    assert not got.source.ok and got.source.error == error and got.via is None


def test_unreachable_and_unresolvable_hosts(fetcher: SourceFetcher) -> None:
    refused = fetcher.fetch(SourceRequest("http://127.0.0.1:9/x"))
    assert refused.source.error == "connection failed"
    unknown = fetcher.fetch(SourceRequest("https://intranet.example.invalid/handbook"))
    assert unknown.source.error == "connection failed"


def test_pages_go_through_the_one_http_path(tmp_path: Path) -> None:
    """A huge page is read up to MAX_BYTES; a redirect loop and a compressed page."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/huge":
            page = f"<article><p>{ARTICLE_TEXT}</p>".encode() + b"x" * (MAX_BYTES * 2)
            return httpx.Response(200, content=page, headers={"Content-Type": "text/html"})
        if request.url.path == "/gzip":
            body = gzip.compress(f"<main>{ARTICLE_TEXT}</main>".encode())
            headers = {"Content-Type": "text/html", "Content-Encoding": "gzip"}
            return httpx.Response(200, content=body, headers=headers)
        return httpx.Response(302, headers={"Location": request.url.path})

    with SourceFetcher(tmp_path, transport=httpx.MockTransport(handler)) as fetcher:
        huge = fetcher.fetch(SourceRequest("https://news.example/huge"))
        assert huge.source.ok and ARTICLE_TEXT in huge.source.text
        assert len(huge.source.text) <= MAX_BYTES
        packed = fetcher.fetch(SourceRequest("https://news.example/gzip"))
        assert packed.source.ok and packed.source.text == ARTICLE_TEXT
        loop = fetcher.fetch(SourceRequest("https://news.example/loop"))
        assert loop.source.error == "too many redirects"


def test_saved_copy_relative_to_the_site(tmp_path: Path, fetcher: SourceFetcher) -> None:
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "feed.xml").write_text(
        rss(
            "<item><title>S</title><link>https://paywall.example/a</link><description>x</description>"
            "<content:encoded>&lt;p&gt;Saved full text.&lt;/p&gt;</content:encoded></item>"
        )
    )
    got = fetcher.fetch(SourceRequest("https://paywall.example/a", "file:sources/feed.xml"))
    assert got.source.ok and got.source.text == "Saved full text."
    missing = fetcher.fetch(SourceRequest("https://paywall.example/a", "file:sources/nope.xml"))
    assert not missing.source.ok and "cannot read" in (missing.source.error or "")


def test_fetch_all_reports_progress(news: SourceSite, fetcher: SourceFetcher) -> None:
    seen = []
    urls = [SourceRequest(news.article_url()), SourceRequest(f"{news.base_url}/missing")]
    results = fetcher.fetch_all(urls, progress=seen.append)
    assert [r.source.ok for r in results] == [True, False] and len(seen) == 2


def test_helpers() -> None:
    assert same_article("https://www.a.example/x/", "http://a.example/x#comments")
    assert not same_article("https://a.example/x", "https://a.example/y")
    assert html_to_text("<main><p>a</p><aside>b</aside></main>") == "a"
