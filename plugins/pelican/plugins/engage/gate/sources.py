"""Fetch the text of the article a post comments on, for the copy check.

Called only by commands (`engage check`), never by the Pelican build. A
``Source_Feed`` is read with feedparser and the entry whose link is the
post's ``Source`` gives the text (full content preferred; a summary alone
sends us to the page). Otherwise the page is fetched through the one HTTP
path (``http_client``) and its main text extracted; of a page longer than
``MAX_BYTES`` only the start is read. ``file:`` URLs (relative to the site folder)
let an author keep a saved copy of a source that is paywalled or gone.

The page and the feed are on someone else's server: they are read under the
one HTTP path's bounds (a total deadline, a size cap counted after decoding,
a decompression-ratio cap, at most MAX_REDIRECTS redirects), and a private
address is refused, on every hop and on the address connected, unless its
host is trusted (a configured base_url's, or any with
ENGAGE_ALLOW_PRIVATE_ADDRESSES).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser
import httpx
from bs4 import BeautifulSoup

from ..errors import SourceError
from ..http_client import Closing, Fault, HttpSession, Limits
from ..model import SourceText, now_iso

NOISE_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg")
MAX_BYTES = 5_000_000
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class SourceRequest:
    url: str
    feed_url: str | None = None


@dataclass(frozen=True)
class Fetched:
    source: SourceText
    via: str | None  # "feed", "feed+page", "page"


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


class SourceFetcher(Closing):
    def __init__(
        self,
        base_dir: Path,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        allow_private: bool = False,
        trusted_hosts: Collection[str] = (),
    ):
        self.base_dir = base_dir
        trusted = {*trusted_hosts, *(["*"] if allow_private else [])}
        self.http = HttpSession(
            "source",
            limits=Limits(timeout=timeout, max_bytes=MAX_BYTES, max_redirects=MAX_REDIRECTS),
            refuse_private=True,
            trusted_hosts=trusted,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def _read(self, url: str) -> tuple[bytes, str]:
        """The bytes at ``url`` and their content type; SourceError says why there are none."""
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
                raise SourceError(f"cannot read {path}: {exc.strerror}") from None
        answer = self.http.fetch("GET", url, follow_redirects=True, truncate=True)
        if isinstance(answer, Fault):
            raise SourceError(answer.reason)
        if answer.status_code >= 400:
            raise SourceError(f"HTTP {answer.status_code}")
        return answer.content, answer.headers.get("content-type", "")

    def _page_text(self, url: str) -> str:
        body, ctype = self._read(url)
        decoded = body.decode("utf-8", "replace")
        text = decoded if ctype.startswith("text/plain") else html_to_text(decoded)
        if not text.strip():
            raise SourceError("the page has no text")
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
        except SourceError as exc:
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
