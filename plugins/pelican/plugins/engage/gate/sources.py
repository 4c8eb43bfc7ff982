"""Fetch the text of the article a post comments on, for the copy check.

Called only by commands (`engage check`), never by the Pelican build. A
``Source_Feed`` is read with feedparser and the entry whose link is the
post's ``Source`` gives the text (full content preferred; a summary alone
sends us to the page). Otherwise the page is fetched with httpx and its main
text extracted. ``file:`` URLs (relative to the site folder) let an author
keep a saved copy of a source that is paywalled or gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import feedparser
import httpx
from bs4 import BeautifulSoup

from ..model import SourceText, now_iso

USER_AGENT = "pelican-engage/0.1 (commentary check)"
NOISE_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg")
MAX_BYTES = 5_000_000


@dataclass(frozen=True)
class SourceRequest:
    url: str
    feed_url: str | None = None


@dataclass(frozen=True)
class Fetched:
    source: SourceText
    via: str | None  # "feed", "feed+page", "page"


class _Unreachable(Exception):
    pass


def html_to_text(html: str) -> str:
    """The readable text of an HTML fragment or page, main content preferred."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(NOISE_TAGS):
        tag.decompose()
    main = soup.find("article") or soup.find("main") or soup.find(None, {"role": "main"})
    root = main or soup.body or soup
    return " ".join(root.get_text(" ").split())


def same_article(a: str, b: str) -> bool:
    """URLs equal but for scheme, a trailing slash, a fragment or www."""

    def key(url: str) -> tuple[str, str, str]:
        parts = urlsplit(url.strip())
        host = parts.netloc.lower().removeprefix("www.")
        return host, parts.path.rstrip("/") or "/", parts.query

    return key(a) == key(b)


class SourceFetcher:
    def __init__(
        self, base_dir: Path, *, timeout: float = 10.0, client: httpx.Client | None = None
    ):
        self.base_dir = base_dir
        self.client = client or httpx.Client(
            timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT}
        )

    def close(self) -> None:
        self.client.close()

    def _read(self, url: str) -> tuple[bytes, str]:
        """The bytes at ``url`` and their content type."""
        parts = urlsplit(url)
        if parts.scheme == "file":
            path = Path(unquote(parts.path))
            path = path if path.is_absolute() else self.base_dir / path
            try:
                return path.read_bytes(), "application/xml" if path.suffix in {
                    ".xml",
                    ".rss",
                    ".atom",
                } else "text/html"
            except OSError as exc:
                raise _Unreachable(f"cannot read {path}: {exc.strerror}") from None
        try:
            response = self.client.get(url)
        except httpx.TimeoutException:
            raise _Unreachable("timed out") from None
        except httpx.HTTPError as exc:
            raise _Unreachable(_describe(exc)) from None
        if response.status_code >= 400:
            raise _Unreachable(f"HTTP {response.status_code}")
        return response.content[:MAX_BYTES], response.headers.get("content-type", "")

    def _page_text(self, url: str) -> str:
        body, ctype = self._read(url)
        decoded = body.decode("utf-8", "replace")
        text = decoded if ctype.startswith("text/plain") else html_to_text(decoded)
        if not text.strip():
            raise _Unreachable("the page has no text")
        return text

    def _feed_text(self, url: str, feed_url: str) -> tuple[str | None, str]:
        """The entry's full text, or (None, reason) when the feed cannot give it."""
        body, _ = self._read(feed_url)
        parsed = feedparser.parse(body)
        if not parsed.entries:
            problem = getattr(parsed, "bozo_exception", None)
            return (
                None,
                f"the feed has no entries ({problem})" if problem else "the feed has no entries",
            )
        for entry in parsed.entries:
            if not same_article(entry.get("link", ""), url):
                continue
            contents = [c.get("value", "") for c in entry.get("content", []) if c.get("value")]
            if contents:
                return html_to_text(max(contents, key=len)), "feed"
            return None, "the feed entry carries only a summary"
        return None, "the article is not in the feed"

    def fetch(self, request: SourceRequest) -> Fetched:
        notes = []
        try:
            if request.feed_url:
                text, why = self._feed_text(request.url, request.feed_url)
                if text:
                    return Fetched(SourceText(request.url, True, text, None, now_iso()), "feed")
                notes.append(why)
            text = self._page_text(request.url)
            via = "feed+page" if request.feed_url else "page"
            return Fetched(SourceText(request.url, True, text, None, now_iso()), via)
        except _Unreachable as exc:
            notes.append(str(exc))
        return Fetched(SourceText(request.url, False, "", "; ".join(notes), now_iso()), None)

    def fetch_all(
        self,
        requests: Iterable[SourceRequest],
        *,
        workers: int = 4,
        progress: Callable[[Fetched], None] | None = None,
    ) -> list[Fetched]:
        results = []
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for fetched in pool.map(self.fetch, requests):
                results.append(fetched)
                if progress:
                    progress(fetched)
        return results


def _describe(exc: httpx.HTTPError) -> str:
    """A short reason without the URL's query string (it may carry a token)."""
    name = type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects"
    return name


def redact(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
